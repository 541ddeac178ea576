"""The OSC bridge, driven by liblo's oscsend/oscdump (clients not written here) against `soundloom serve`."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from soundloom.host_bridge.osc_codec import decode, encode, slip_encode

from ..helpers.bridge_process import OscDump, free_port, oscsend, start_bridge
from ..helpers.fuzz import fuzz_packets

LONG_JOB = ("steps", 1000, "duration", 10.0)  # seconds of work on the tiny model: time to cancel or kill


@pytest.fixture(scope="module")
def bridge(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    process = start_bridge(tiny_checkpoint, tmp_path_factory.mktemp("bridge"), "--queue-size", "4")
    yield process
    assert process.stop() == 0, "".join(process.log)


@pytest.fixture
def dump():
    listener = OscDump()
    yield listener
    listener.close()


def wav_files(folder: Path) -> set[Path]:
    return set(folder.rglob("*.wav")) if folder.exists() else set()


def test_ping_answers_with_the_version(bridge, dump) -> None:
    oscsend(bridge.port, "/soundloom/ping", "si", "reply_port", dump.port)
    assert dump.wait_for("/soundloom/pong") == ["/soundloom/pong", "s", "0.1.0"]


def test_generate_replies_accepted_progress_results_and_done(bridge, dump) -> None:
    oscsend(
        bridge.port,
        "/soundloom/generate",
        "sssfsisisisisi",
        "gen-1",
        "metal door slam",
        "duration", 0.5, "steps", 3, "seed", 7, "variations", 2, "rate", 48000, "reply_port", dump.port,
    )  # fmt: skip
    assert dump.wait_for("/soundloom/accepted", "gen-1")[:3] == ["/soundloom/accepted", "si", "gen-1"]
    done = dump.wait_for("/soundloom/done", "gen-1")
    paths = [Path(path) for path in done[3:]]
    assert len(paths) == 2 and done[1] == "sss"
    progress = [reply for reply in dump.replies("gen-1") if reply[0] == "/soundloom/progress"]
    assert [float(reply[3]) for reply in progress] == pytest.approx([1 / 3, 2 / 3, 1.0], abs=1e-5)
    results = [reply for reply in dump.replies("gen-1") if reply[0] == "/soundloom/result"]
    assert [Path(reply[3]) for reply in results] == paths
    for reply, path in zip(results, paths, strict=True):
        assert path.parent == bridge.output
        info = sf.info(path)
        assert (info.samplerate, info.frames) == (48000, 24000)
        assert (float(reply[4]), int(reply[5]), int(reply[6])) == (0.5, 48000, 7)
        audio, _ = sf.read(path)
        assert np.isfinite(audio).all() and np.abs(audio).max() > 0


def test_cancel_stops_a_running_job_and_writes_nothing(bridge, dump) -> None:
    before = wav_files(bridge.output)
    oscsend(
        bridge.port, "/soundloom/generate", "sssisfsi", "long-1", "drone", *LONG_JOB, "reply_port", dump.port
    )
    dump.wait_for("/soundloom/progress", "long-1")
    oscsend(bridge.port, "/soundloom/cancel", "ssi", "long-1", "reply_port", dump.port)
    error = dump.wait_for("/soundloom/error", "long-1")
    assert error[3] == "cancelled"
    assert not any(reply[0] == "/soundloom/done" for reply in dump.replies("long-1"))
    assert wav_files(bridge.output) == before


BAD_REQUESTS = [
    # (address, oscsend types, values, expected error code)
    ("/soundloom/explode", "s", ["x"], "unknown_address"),
    ("/elsewhere/generate", "ss", ["x", "y"], "bad_message"),
    ("/soundloom/generate", "", [], "bad_arguments"),
    ("/soundloom/generate", "i", [5], "bad_arguments"),
    ("/soundloom/generate", "s", ["no-prompt"], "bad_arguments"),
    ("/soundloom/generate", "ss", ["empty-prompt", "  "], "bad_value"),
    ("/soundloom/generate", "sss", ["odd", "rain", "duration"], "bad_arguments"),
    ("/soundloom/generate", "sssf", ["unknown-key", "rain", "volume", 1.0], "bad_arguments"),
    ("/soundloom/generate", "ssss", ["typed", "rain", "steps", "many"], "bad_arguments"),
    ("/soundloom/generate", "sssf", ["float-steps", "rain", "steps", 2.5], "bad_arguments"),
    ("/soundloom/generate", "sssf", ["too-long", "rain", "duration", 500.0], "bad_value"),
    ("/soundloom/generate", "sssfsf", ["both", "rain", "duration", 1.0, "bars", 1.0], "bad_arguments"),
    ("/soundloom/generate", "ssss", ["sampler", "rain", "sampler", "heun"], "bad_value"),
    ("/soundloom/generate", "ssss", ["fx", "rain", "fx", "No Such Chain"], "bad_value"),
    ("/soundloom/generate", "ssss", ["fx-file", "rain", "fx", "/etc/passwd.toml"], "bad_value"),
    ("/soundloom/generate", "sssi", ["rate", "rain", "rate", 12345], "bad_value"),
    ("/soundloom/generate", "ssss", ["priority", "rain", "priority", "urgent"], "bad_value"),
    ("/soundloom/transfer", "sss", ["outside", "/etc/passwd", "rain"], "bad_path"),
    ("/soundloom/transfer", "sss", ["relative", "clip.wav", "rain"], "bad_path"),
    ("/soundloom/transfer", "sss", ["missing", "/nonexistent/clip.wav", "rain"], "bad_path"),
    ("/soundloom/inpaint", "sss", ["no-region", "/tmp/x.wav", "rain"], "bad_arguments"),
    ("/soundloom/extend", "sss", ["no-seconds", "/tmp/x.wav", "rain"], "bad_arguments"),
    ("/soundloom/cancel", "s", ["never-sent"], "not_found"),
    ("/soundloom/status", "s", ["never-sent"], "not_found"),
    ("/soundloom/tempo", "f", [1000.0], "bad_value"),
    ("/soundloom/tempo", "fii", [120.0, 6, 3], "bad_value"),
    ("/soundloom/generate", "sssfsi", ["beat-unit", "rain", "bars", 1.0, "beat_unit", 6], "bad_value"),
    ("/soundloom/presets", "s", ["colours"], "bad_value"),
]


@pytest.mark.parametrize(
    ("address", "types", "values", "code"),
    BAD_REQUESTS,
    ids=[r[2][0] if r[2] else r[0] for r in BAD_REQUESTS],
)
def test_each_bad_request_gets_an_error_reply(bridge, dump, address, types, values, code) -> None:
    oscsend(bridge.port, address, types + "si", *values, "reply_port", dump.port)
    error = dump.wait_for("/soundloom/error", timeout=10)
    assert error[1] == "sss" and error[3] == code, error
    assert len(error[4]) > 10  # a human message


def test_edit_inputs_come_only_from_the_roots_and_are_never_touched(bridge, dump, tmp_path) -> None:
    clip_path = bridge.media / "take.wav"
    sf.write(clip_path, 0.1 * np.sin(np.arange(16000) / 10), 16000, subtype="PCM_24")
    digest = hashlib.sha256(clip_path.read_bytes()).hexdigest()
    outside = Path("/var/tmp") / f"soundloom-outside-{os.getpid()}.wav"  # /tmp is a root; /var/tmp is not
    sf.write(outside, np.zeros(1600), 16000)
    (bridge.media / "escape.wav").symlink_to(outside)
    try:
        for request_id, path in (
            ("escape-symlink", bridge.media / "escape.wav"),
            ("escape-dots", f"{bridge.media}/../../../../var/tmp/{outside.name}"),
        ):
            oscsend(
                bridge.port, "/soundloom/transfer", "ssssi", request_id, path, "rain", "reply_port", dump.port
            )
            assert dump.wait_for("/soundloom/error", request_id)[3] == "bad_path"
    finally:
        outside.unlink()
    oscsend(
        bridge.port, "/soundloom/inpaint", "ssssfsfsisi", "inpaint-1", clip_path, "glass",
        "start", 0.25, "end", 0.5, "steps", 2, "reply_port", dump.port,
    )  # fmt: skip
    done = dump.wait_for("/soundloom/done", "inpaint-1")
    result = Path(done[3])
    assert result.parent == bridge.output and sf.info(result).frames == 16000
    assert hashlib.sha256(clip_path.read_bytes()).hexdigest() == digest


def test_tcp_with_liblo_framing_and_with_slip(bridge) -> None:
    # liblo frames OSC over TCP with a length prefix (OSC 1.0); replies go to oscdump's TCP port.
    listener = OscDump(tcp=True)
    try:
        oscsend(bridge.port, "/soundloom/ping", "si", "reply_port", listener.port, tcp=True)
        assert listener.wait_for("/soundloom/pong", timeout=10)[2] == "0.1.0"
    finally:
        listener.close()
    # SLIP (OSC 1.1): replies on the same connection, SLIP-framed; two packets in one write.
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=10) as connection:
        connection.sendall(
            slip_encode(encode("/soundloom/ping", [])) + slip_encode(encode("/soundloom/status", []))
        )
        received = b""
        while received.count(b"\xc0") < 4:
            received += connection.recv(65536)
    frames = [frame for frame in received.split(b"\xc0") if frame]
    assert [decode(frame)[0][0] for frame in frames] == ["/soundloom/pong", "/soundloom/status"]


def test_bars_render_to_the_exact_sample_count_at_the_osc_tempo(bridge, dump) -> None:
    oscsend(bridge.port, "/soundloom/tempo", "fisi", 90.0, 3, "reply_port", dump.port)
    assert dump.wait_for("/soundloom/tempo")[2:4] == ["90.000000", "3"]
    oscsend(
        bridge.port, "/soundloom/generate", "sssfsisisi", "bars-1", "pulse",
        "bars", 1.0, "steps", 1, "rate", 44100, "reply_port", dump.port,
    )  # fmt: skip
    path = Path(dump.wait_for("/soundloom/done", "bars-1")[3])
    assert sf.info(path).frames == round(3 * 60 / 90 * 44100)  # 88200: one 3/4 bar at 90 BPM
    six_eight = OscDump()
    try:
        oscsend(bridge.port, "/soundloom/tempo", "fiisi", 90.0, 6, 8, "reply_port", six_eight.port)
        assert six_eight.wait_for("/soundloom/tempo")[2:6] == ["90.000000", "6", "osc", "8"]
    finally:
        six_eight.close()
    oscsend(
        bridge.port, "/soundloom/generate", "sssfsisisi", "bars-68", "pulse",
        "bars", 1.0, "steps", 1, "rate", 44100, "reply_port", dump.port,
    )  # fmt: skip
    path = Path(dump.wait_for("/soundloom/done", "bars-68")[3])
    assert sf.info(path).frames == 88200  # a 6/8 bar is three quarter notes: as long as the 3/4 one
    oscsend(
        bridge.port, "/soundloom/generate", "sssfsisisfsisisi", "bars-78", "pulse", "bars", 1.0, "steps", 1,
        "rate", 44100, "bpm", 90.0, "beats_per_bar", 7, "beat_unit", 8, "reply_port", dump.port,
    )  # fmt: skip
    path = Path(dump.wait_for("/soundloom/done", "bars-78")[3])
    assert sf.info(path).frames == round(3.5 * 60 / 90 * 44100)  # the request's own 7/8
    oscsend(bridge.port, "/soundloom/tempo", "fisi", 120.0, 4, "reply_port", dump.port)


def _udp_client() -> socket.socket:
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    client.bind(("127.0.0.1", 0))
    return client


def _collect(client: socket.socket, until, timeout: float) -> list[tuple[str, list]]:
    replies, deadline = [], time.monotonic() + timeout
    client.settimeout(0.2)
    while time.monotonic() < deadline and not until(replies):
        try:
            replies += decode(client.recv(65536))
        except TimeoutError:
            continue
    return replies


def test_a_burst_of_1000_requests_all_get_accepted_or_busy(bridge) -> None:
    client = _udp_client()
    ids = [f"burst-{i}" for i in range(1000)]
    started = time.monotonic()
    for request_id in ids:
        client.sendto(
            encode("/soundloom/generate", [request_id, "tick", "steps", 1, "duration", 0.1]),
            ("127.0.0.1", bridge.port),
        )
    sent_s = time.monotonic() - started

    def answered(replies):
        return len({args[0] for address, args in replies if address.endswith(("accepted", "error"))}) >= 1000

    replies = _collect(client, answered, 120)
    answers = {}
    for address, args in replies:
        if address in ("/soundloom/accepted", "/soundloom/error") and args[0] not in answers:
            answers[args[0]] = address if address.endswith("accepted") else args[1]
    accepted = [i for i, answer in answers.items() if answer == "/soundloom/accepted"]
    busy = [i for i, answer in answers.items() if answer == "busy"]
    print(f"\nburst: 1000 sent in {sent_s:.3f} s, {len(accepted)} accepted, {len(busy)} busy, "
          f"all answered {time.monotonic() - started:.2f} s after the first")  # fmt: skip
    assert set(answers) == set(ids), f"{1000 - len(answers)} requests got no answer"
    assert len(accepted) + len(busy) == 1000 and busy and accepted
    finished = sum(address == "/soundloom/done" for address, _ in replies)
    more = _collect(
        client, lambda r: finished + sum(a == "/soundloom/done" for a, _ in r) >= len(accepted), 120
    )
    assert finished + sum(address == "/soundloom/done" for address, _ in more) == len(accepted)
    client.close()


def test_100000_malformed_packets_neither_crash_nor_hang_nor_write_outside(bridge, dump) -> None:
    before = wav_files(bridge.output)
    data_before = {p for p in bridge.data.rglob("*") if p.is_file() and p.suffix != ".wav"}
    client = _udp_client()
    packets = fuzz_packets(100_000, seed=6)
    started = time.monotonic()
    for i, packet in enumerate(packets):
        client.sendto(packet, ("127.0.0.1", bridge.port))
        if i % 500 == 499:
            time.sleep(0.005)  # pace, so the count measures handling rather than the kernel dropping
    sent_s = time.monotonic() - started
    # A ping after the flood must be answered. UDP under overload may drop (the bridge answers `busy`
    # when its inbox is full), so ask again every few seconds rather than once.
    for _attempt in range(40):
        oscsend(bridge.port, "/soundloom/ping", "si", "reply_port", dump.port)
        try:
            dump.wait_for("/soundloom/pong", timeout=3)
            break
        except AssertionError:
            continue
    else:
        pytest.fail("the bridge stopped answering after the flood:\n" + "".join(bridge.log[-30:]))
    handled_s = time.monotonic() - started
    print(f"\nfuzz: 100000 packets sent in {sent_s:.1f} s; ping answered {handled_s:.1f} s after the first")
    assert bridge.process.poll() is None, "".join(bridge.log)
    assert not any("Traceback" in line for line in bridge.log), "".join(bridge.log)
    new_files = wav_files(bridge.output) - before
    assert all(path.is_relative_to(bridge.output) for path in new_files)
    # Some flipped bits turn the valid `rain` template into a real job (say 512 steps of 25 s): cancel
    # whatever the flood left queued or running, so it neither leaves files behind nor slows later tests.
    _cancel_unfinished_jobs(bridge, client)
    data_after = {p for p in bridge.data.rglob("*") if p.is_file() and p.suffix != ".wav"}
    assert {p.name for p in data_after - data_before} <= {"jobs.sqlite-shm", "jobs.sqlite-wal"}
    client.close()


def _cancel_unfinished_jobs(bridge, client: socket.socket, timeout: float = 60) -> None:
    """Cancel every job the journal holds as queued or running, and wait until none is left."""
    deadline = time.monotonic() + timeout
    while unfinished := _unfinished_request_ids(bridge.data):
        assert time.monotonic() < deadline, f"still unfinished {timeout} s after cancelling: {unfinished}"
        for request_id in unfinished:
            client.sendto(encode("/soundloom/cancel", [request_id]), ("127.0.0.1", bridge.port))
        time.sleep(0.5)


def _unfinished_request_ids(data: Path) -> list[str]:
    with closing(sqlite3.connect(data / "jobs.sqlite")) as journal:
        rows = journal.execute("SELECT request_id FROM jobs WHERE state IN ('queued', 'running')").fetchall()
    return [request_id for (request_id,) in rows]


def test_the_journal_reports_or_reruns_jobs_after_kill_9(tiny_checkpoint, tmp_path) -> None:
    data = tmp_path / "data"
    listener = OscDump()
    started = []  # every bridge this test starts, killed at the end whatever happens

    def start(*flags: str, port: int | None = None):
        started.append(start_bridge(tiny_checkpoint, data, *flags, port=port))
        return started[-1]

    try:
        bridge = start()
        send = bridge.port
        oscsend(
            send,
            "/soundloom/generate",
            "sssisfsi",
            "killed-running",
            "drone",
            *LONG_JOB,
            "reply_port",
            listener.port,
        )
        oscsend(
            send,
            "/soundloom/generate",
            "sssisfsi",
            "killed-queued",
            "hum",
            "steps",
            2,
            "duration",
            0.5,
            "reply_port",
            listener.port,
        )
        listener.wait_for("/soundloom/progress", "killed-running")
        listener.wait_for("/soundloom/accepted", "killed-queued")
        bridge.stop(signal.SIGKILL)

        restarted = start("--on-restart", "fail", port=send)
        for request_id in ("killed-running", "killed-queued"):
            error = listener.wait_for("/soundloom/error", request_id)
            assert error[3] == "interrupted" and "stopped while" in error[4]
        oscsend(send, "/soundloom/status", "ssi", "killed-running", "reply_port", listener.port)
        assert listener.wait_for("/soundloom/status", "killed-running")[3] == "failed"
        oscsend(
            send,
            "/soundloom/generate",
            "sssisfsi",
            "rerun-me",
            "hum",
            "steps",
            60,  # about 10 s on the tiny model: still running when the kill comes right after step 1
            "duration",
            5.0,
            "reply_port",
            listener.port,
        )
        listener.wait_for("/soundloom/progress", "rerun-me")
        restarted.stop(signal.SIGKILL)

        rerun = start("--on-restart", "rerun", port=send)
        done = listener.wait_for("/soundloom/done", "rerun-me", timeout=180)
        assert sf.info(done[3]).frames == 5 * 16000
        assert rerun.stop() == 0
    finally:
        listener.close()
        for process in started:
            process.stop(signal.SIGKILL)
    with closing(sqlite3.connect(data / "jobs.sqlite")) as journal:
        rows = journal.execute("SELECT request_id, state FROM jobs ORDER BY job_id").fetchall()
    assert [list(row) for row in rows] == [
        ["killed-running", "failed"],
        ["killed-queued", "failed"],
        ["rerun-me", "done"],
    ]


def test_soundloom_send_waits_prints_paths_and_fails_clearly(bridge, tmp_path) -> None:
    from ..helpers.cli import soundloom

    run = soundloom(
        "send", "generate", "wind", "--port", bridge.port, "--duration", "0.3", "--steps", "2", "--wait"
    )
    assert run.returncode == 0, run.stderr
    path = Path(run.stdout.strip())
    assert path.parent == bridge.output and sf.info(path).frames == 4800
    assert "accepted" in run.stderr and "progress" in run.stderr
    bad = soundloom("send", "generate", "wind", "--port", bridge.port, "--duration", "90", "--wait")
    assert bad.returncode == 1 and "bad_value" in bad.stderr and "duration" in bad.stderr
    nobody = soundloom("send", "ping", "--port", free_port())
    assert (
        nobody.returncode == 2 and "soundloom: error:" in nobody.stderr and "Traceback" not in nobody.stderr
    )


def test_the_model_key_runs_a_job_on_either_family(tiny_checkpoint, tiny_audioldm2, tmp_path) -> None:
    """`serve --model A --model B`: each request may pick its model; an unlisted one is refused."""
    from soundloom.host_bridge.delivery.wav_metadata import read_provenance

    bridge = start_bridge(tiny_checkpoint, tmp_path / "two-models", "--model", str(tiny_audioldm2))
    dump = OscDump()
    try:
        oscsend(bridge.port, "/soundloom/models", "si", "reply_port", dump.port)
        assert dump.wait_for("/soundloom/models")[2:] == [str(tiny_checkpoint), str(tiny_audioldm2)]
        for request_id, model in (("on-v2", tiny_audioldm2), ("on-v1", tiny_checkpoint)):
            oscsend(
                bridge.port, "/soundloom/generate", "sssssfsisi", request_id, "rain on a tin roof",
                "model", str(model), "duration", 0.5, "steps", 2, "reply_port", dump.port,
            )  # fmt: skip
            path = Path(dump.wait_for("/soundloom/done", request_id)[3])
            assert Path(read_provenance(path.read_bytes())["model_id"]).name == model.name
            assert sf.info(path).frames == 8000
        oscsend(
            bridge.port, "/soundloom/generate", "sssssi", "elsewhere", "rain",
            "model", "/etc/passwd", "reply_port", dump.port,
        )  # fmt: skip
        error = dump.wait_for("/soundloom/error", "elsewhere")
        assert error[3] == "bad_value" and "unknown model '/etc/passwd'" in error[4]
    finally:
        dump.close()
        assert bridge.stop() == 0, "".join(bridge.log)
