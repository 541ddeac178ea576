"""Time to first sound outside the engine: `generate --preview` writes a playable rough take while it is
denoised, and the bridge sends `/soundloom/preview request_id path fraction` (OSC and spool) for a
generate asked with `preview 1`, with real processes and liblo's tools."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..helpers.bridge_process import OscDump, oscsend, start_bridge
from ..helpers.cli import generate


def test_the_cli_writes_a_preview_beside_the_take_and_never_over_a_users_file(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rain.wav"
    run = generate("rain", tiny_checkpoint, out, "--preview", duration=1.0, steps=12, seed=3)
    assert run.returncode == 0, run.stderr
    preview = tmp_path / "rain.preview.wav"
    assert " written to " + str(preview) in run.stderr and "removed now that the take is here" in run.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["rain.wav"]  # the take supersedes it

    mine = tmp_path / "mine.preview.wav"
    mine.write_bytes(b"the user's own file")
    refused = generate("rain", tiny_checkpoint, tmp_path / "mine.wav", "--preview", steps=4)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert f"--preview: {mine} already exists" in refused.stderr
    assert mine.read_bytes() == b"the user's own file" and not (tmp_path / "mine.wav").exists()

    folder = tmp_path / "takes"
    folder.mkdir()
    into_folder = generate("wind", tiny_checkpoint, folder, "--preview", steps=8, variations=2)
    assert into_folder.returncode == 0, into_folder.stderr
    assert "removed now" in into_folder.stderr and not (folder / "preview.wav").exists()
    assert len(list(folder.glob("wind_*.wav"))) == 2


def test_a_preview_never_goes_over_minus_1_dbfs(engine_model) -> None:
    """Griffin-Lim's phase guess overshoots on a loud latent; the preview is held under -1 dBFS."""
    import torch
    from soundloom.engine.preview import PREVIEW_PEAK

    codec = engine_model.model.parts.codec
    latent_frames, samples = codec.frames_for(1.0)
    shape = codec.latent_shape(1, latent_frames)
    latent = torch.randn(shape, generator=torch.Generator().manual_seed(0)) * 40
    waveform = codec.preview(latent, samples, bfloat16=False)
    assert 0.5 * PREVIEW_PEAK < float(np.abs(waveform).max()) <= PREVIEW_PEAK + 1e-6


def test_the_bridge_sends_previews_over_osc_and_the_spool_then_removes_them(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    bridge = start_bridge(tiny_checkpoint, tmp_path / "data")
    dump = OscDump()
    try:
        oscsend(
            bridge.port, "/soundloom/generate", "sssfsisisi", "job 1/a", "rain",
            "duration", 1.0, "steps", 12, "preview", 1, "reply_port", dump.port,
        )  # fmt: skip
        dump.wait_for("/soundloom/done", "job 1/a")
        replies = dump.replies("job 1/a")
        previews = [fields for fields in replies if fields[0] == "/soundloom/preview"]
        assert previews, replies
        addresses = [fields[0] for fields in replies]
        assert addresses.index("/soundloom/preview") > addresses.index("/soundloom/accepted")
        assert max(i for i, a in enumerate(addresses) if a == "/soundloom/preview") < addresses.index(
            "/soundloom/done"
        )
        for fields in previews:
            assert fields[1] == "ssf" and 0.25 <= float(fields[4]) < 1.0
            path = Path(fields[3])
            assert path.parent == bridge.output.resolve() / "previews" and path.name.startswith("job_1_a-")
        assert not Path(previews[0][3]).exists()  # removed when the job ended: the take supersedes it

        # Without `preview 1` nothing changes for old clients; edits refuse the option.
        oscsend(
            bridge.port,
            "/soundloom/generate",
            "sssisi",
            "plain",
            "rain",
            "steps",
            12,
            "reply_port",
            dump.port,
        )
        dump.wait_for("/soundloom/done", "plain")
        assert all(fields[0] != "/soundloom/preview" for fields in dump.replies("plain"))
        oscsend(
            bridge.port,
            "/soundloom/vary",
            "sssisi",
            "v",
            "/nowhere.wav",
            "preview",
            1,
            "reply_port",
            dump.port,
        )
        error = dump.wait_for("/soundloom/error", "v")
        assert error[3:] == ["bad_arguments", "vary: previews are made for generate only"]

        # Another length: a shape whose preview cost this model has not measured yet is previewed blind
        # (a measured one is previewed only within the budget, which the tiny model's cheap steps leave
        # no room for).
        request = bridge.spool / "requests" / "spooled.json"
        request.parent.mkdir(parents=True, exist_ok=True)
        request.with_suffix(".tmp").write_text(
            json.dumps(["/soundloom/generate", "spooled", "rain", "duration", 1.5, "steps", 12, "preview", 1])
        )
        request.with_suffix(".tmp").rename(request)
        replies_file = bridge.spool / "replies" / "spooled.json"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            spooled = json.loads(replies_file.read_text()) if replies_file.exists() else []
            if spooled and spooled[-1][0] == "/soundloom/done":
                break
            time.sleep(0.1)
        kinds = [reply[0] for reply in spooled]
        assert kinds[-1] == "/soundloom/done" and "/soundloom/preview" in kinds, spooled
        preview = spooled[kinds.index("/soundloom/preview")]
        assert preview[1] == "spooled" and Path(preview[2]).parent.name == "previews"
    finally:
        dump.close()
        assert bridge.stop() == 0, "".join(bridge.log)
