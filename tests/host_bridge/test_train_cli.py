"""`soundloom train`'s options: what is not given takes the stage dataclass's default, its one home."""

from __future__ import annotations

from pathlib import Path

from soundloom.engine.training.clap import ClapTraining
from soundloom.engine.training.ldm import LDMTraining
from soundloom.engine.training.vae import VAETraining
from soundloom.host_bridge.cli import build_parser
from soundloom.host_bridge.cli.train import stage_settings


def test_the_train_command_takes_its_defaults_from_the_stage_dataclasses(tmp_path: Path) -> None:
    def settings(*words: str):
        return stage_settings(build_parser().parse_args(["train", *words, "--data", "d", "--out", "o"]))

    assert settings("vae") == VAETraining()  # norm groups 16, as the dataclass says (the CLI once said 32)
    assert settings("clap") == ClapTraining()
    assert settings("ldm", "--vae", "v", "--vocoder", "w", "--clap", "c") == LDMTraining()
    given = settings("vae", "--steps", "7", "--batch", "3", "--channels", "8", "24", "--kl-weight", "0.5")
    assert (given.steps, given.batch_size, given.kl_weight) == (7, 3, 0.5)
    assert (given.model.block_out_channels, given.model.norm_num_groups) == ([8, 24], 8)
    assert settings("clap", "--alignment", "3", "--freeze-audio").alignment == 3.0
