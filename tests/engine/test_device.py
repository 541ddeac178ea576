"""Where the engine runs: the device and dtype choice for machines this one is not (a GPU box, a Mac),
one-line device errors, and what half precision keeps in float32."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from soundloom.engine import EngineError, GenerationRequest
from soundloom.engine.device import Hardware, on_device, resolve_device, resolve_dtype
from soundloom.engine.loader import load_model
from soundloom.engine.parts.schedule import NoiseSchedule, ScheduleConfig
from soundloom.engine.samplers import SAMPLERS, sampler
from soundloom.engine.text_sequence import T5TextEncoder

ONE_GPU = Hardware(cuda_devices=1, cuda_bf16=True)
OLD_GPU = Hardware(cuda_devices=2, cuda_bf16=False)
MAC = Hardware(mps=True)
BF16_CPU = Hardware(cpu_bf16=True)
PLAIN_CPU = Hardware()


def test_auto_takes_cuda_then_mps_then_the_cpu() -> None:
    assert resolve_device("auto", ONE_GPU) == torch.device("cuda")
    assert resolve_device("auto", MAC) == torch.device("mps")
    assert resolve_device("auto", PLAIN_CPU) == torch.device("cpu")
    assert resolve_device("cuda:1", OLD_GPU) == torch.device("cuda:1")


@pytest.mark.parametrize(
    ("name", "hardware", "message"),
    [
        ("cuda:7", ONE_GPU, "--device cuda:7: this machine has 1 CUDA GPU(s) (cuda:0)"),
        ("cuda:x", ONE_GPU, "unknown device 'cuda:x'"),
        ("cuda:-1", ONE_GPU, "unknown device 'cuda:-1'"),
        ("cuda", PLAIN_CPU, "--device cuda was asked for but PyTorch sees no CUDA GPU here"),
        ("mps", PLAIN_CPU, "no Apple Metal (MPS) device here"),
        ("gpu", ONE_GPU, "unknown device 'gpu' (choose auto"),
    ],
)
def test_a_device_that_is_not_here_is_one_clear_error(name: str, hardware: Hardware, message: str) -> None:
    with pytest.raises(EngineError) as error:
        resolve_device(name, hardware)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_auto_dtype_is_native_bfloat16_then_float16_on_gpus_else_float32() -> None:
    cuda, mps, cpu = torch.device("cuda"), torch.device("mps"), torch.device("cpu")
    assert resolve_dtype("auto", cuda, ONE_GPU) == torch.bfloat16
    assert resolve_dtype("auto", cuda, OLD_GPU) == torch.float16
    assert resolve_dtype("auto", mps, MAC) == torch.float16
    assert resolve_dtype("auto", cpu, BF16_CPU) == torch.bfloat16
    assert resolve_dtype("auto", cpu, PLAIN_CPU) == torch.float32
    assert resolve_dtype() == torch.float32  # the default stays the exact one
    with pytest.raises(EngineError, match="unknown dtype 'float64'"):
        resolve_dtype("float64")


def test_this_machine_is_read_without_error() -> None:
    here = Hardware.here()
    assert resolve_device("auto", here).type in ("cpu", "cuda", "mps")
    assert resolve_dtype("auto", resolve_device("auto", here), here) in (
        torch.float32,
        torch.bfloat16,
        torch.float16,
    )


def test_running_out_of_device_memory_is_one_line() -> None:
    with pytest.raises(EngineError) as error, on_device(torch.device("cpu")):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB\n(long story)")
    assert "ran out of memory; try a shorter clip" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(RuntimeError, match="a CPU bug"), on_device(torch.device("cpu")):
        raise RuntimeError("a CPU bug")  # not a device failure: left as it is, for the log's trace


def test_float16_keeps_t5s_feed_forward_output_in_float32(tiny_audioldm2: Path) -> None:
    encoder = T5TextEncoder.load(tiny_audioldm2).to(torch.device("cpu"), torch.float16)
    dtypes = {name: param.dtype for name, param in encoder.model.named_parameters()}
    assert {dtype for name, dtype in dtypes.items() if ".wo." in name} == {torch.float32}
    assert {dtype for name, dtype in dtypes.items() if ".wo." not in name} == {torch.float16}
    states, mask = encoder.encode(["a dog barks while rain falls"])
    assert torch.isfinite(states).all() and mask.sum() > 0


def test_samplers_keep_their_state_in_float32_and_cast_only_the_unet_input() -> None:
    schedule = NoiseSchedule.from_config(ScheduleConfig())
    seen: list[torch.dtype] = []

    def model(latent: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        seen.append(latent.dtype)
        return (0.1 * latent).to(torch.bfloat16)

    start = torch.randn(1, 4, 8, 4, generator=torch.Generator().manual_seed(0))
    for name in SAMPLERS:
        sample, rule = sampler(name)
        timesteps = schedule.timesteps(rule, 10)
        seen.clear()
        exact = sample(lambda x, t: 0.1 * x, start, schedule, timesteps)
        half = sample(model, start.to(torch.bfloat16), schedule, timesteps)
        assert set(seen) == {torch.bfloat16} and half.dtype == torch.bfloat16
        # Rounded once at the end (and in the UNet's input), not at every step.
        assert (half.float() - exact).abs().max() <= 0.02 * exact.abs().max()


def test_a_float16_model_decodes_in_float32(tiny_checkpoint: Path) -> None:
    model = load_model(str(tiny_checkpoint), device="cpu", dtype="float16")
    codec = model.model.codec
    assert next(model.model.denoiser.unet.parameters()).dtype == torch.float16
    assert {next(m.parameters()).dtype for m in (codec.vae, codec.vocoder)} == {torch.float32}
    [take] = model.generate(GenerationRequest("rain", duration_s=0.3, steps=2, seed=3))
    assert take.audio.dtype.name == "float32" and abs(take.audio).max() > 0
