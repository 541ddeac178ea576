"""The vocoder's FFT convolution: the same numbers as PyTorch's direct one, wherever it is used."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from soundloom.engine.models import vocoder
from soundloom.engine.models.fft_conv import block_size, fft_conv1d, pays_on, worth_it

from ..helpers.reference_checkpoint import PUBLISHED_CONFIGS


@pytest.mark.parametrize("kernel", [3, 7, 11])
@pytest.mark.parametrize("dilation", [1, 3, 5])
@pytest.mark.parametrize(
    ("batch", "in_channels", "out_channels", "length"), [(1, 8, 8, 1000), (2, 5, 3, 37), (1, 4, 6, 1)]
)
def test_equals_the_direct_convolution(
    kernel: int, dilation: int, batch: int, in_channels: int, out_channels: int, length: int
) -> None:
    generator = torch.Generator().manual_seed(kernel * 10 + dilation)
    x = torch.randn(batch, in_channels, length, generator=generator)
    weight = torch.randn(out_channels, in_channels, kernel, generator=generator)
    bias = torch.randn(out_channels, generator=generator)
    expected = F.conv1d(x, weight, bias, dilation=dilation, padding=(kernel - 1) * dilation // 2)
    got = fft_conv1d(x, weight, bias, dilation)
    assert got.shape == expected.shape
    assert (got - expected).abs().max() <= 1e-5 * expected.abs().max()
    assert torch.allclose(fft_conv1d(x, weight, None, dilation) + bias[None, :, None], got, atol=1e-5)


def test_block_sizes_and_where_the_fft_is_used() -> None:
    assert [block_size(3, 1), block_size(11, 1), block_size(7, 5), block_size(11, 5)] == [64, 64, 128, 256]
    assert worth_it(256, 11, 5) and worth_it(512, 11, 1) and not worth_it(512, 11, 5)
    assert worth_it(128, 7, 3) and not worth_it(64, 7, 1) and not worth_it(512, 7, 1)
    assert not any(worth_it(channels, 3, 1) for channels in (32, 128, 512))


def published_sized_vocoder(channels: int) -> vocoder.HifiGan:
    """The published vocoder's layout (kernels 3/7/11, dilations 1/3/5) at a width whose stages reach
    the channel counts where the FFT is chosen."""
    raw = json.loads((PUBLISHED_CONFIGS / "audioldm.vocoder.json").read_text())
    config = vocoder.VocoderConfig.from_dict({**raw, "upsample_initial_channel": channels})
    torch.manual_seed(0)
    return vocoder.HifiGan(config).eval()


def test_the_vocoder_gives_the_same_waveform_with_and_without_it(monkeypatch) -> None:
    model = published_sized_vocoder(512)  # stages of 256, 128, 64, 32, 16 channels
    mel = torch.randn(1, 40, 64) - 4
    used = []
    real = vocoder.fft_conv1d
    monkeypatch.setattr(vocoder, "FFT_ON_THIS_CPU", True)  # as on a CPU without AVX-512
    monkeypatch.setattr(vocoder, "fft_conv1d", lambda *a: used.append(a[1].shape) or real(*a))
    with torch.inference_mode():
        with_fft = model(mel)
        assert used, "the FFT path was never taken"
        monkeypatch.setattr(vocoder, "worth_it", lambda *_: False)
        direct = model(mel)
    assert (with_fft - direct).abs().max() <= 1e-5 * direct.abs().max()


def test_an_avx512_cpu_keeps_the_direct_convolution(monkeypatch) -> None:
    assert not pays_on("AVX512") and not pays_on("AVX512_VNNI") and pays_on("AVX2") and pays_on("DEFAULT")
    monkeypatch.setattr(vocoder, "FFT_ON_THIS_CPU", False)
    monkeypatch.setattr(vocoder, "fft_conv1d", lambda *_: pytest.fail("FFT used where it does not pay"))
    with torch.inference_mode():
        published_sized_vocoder(512)(torch.randn(1, 8, 64))


def test_training_keeps_the_direct_convolution(monkeypatch) -> None:
    model = published_sized_vocoder(512).train()
    monkeypatch.setattr(vocoder, "FFT_ON_THIS_CPU", True)
    monkeypatch.setattr(vocoder, "fft_conv1d", lambda *_: pytest.fail("FFT used with gradients on"))
    model(torch.randn(1, 8, 64)).sum().backward()
    assert model.conv_pre.weight.grad is not None


def test_a_long_mel_vocoded_in_chunks_equals_it_whole() -> None:
    model = published_sized_vocoder(64)  # the published kernels and dilations: its receptive field
    mel = torch.randn(1, 300, 64) - 4
    with torch.inference_mode():
        whole = model(mel)
        chunked = model.vocode(mel, chunk_frames=64, context_frames=32)
        too_little = model.vocode(mel, chunk_frames=64, context_frames=2)
    assert chunked.shape == whole.shape
    assert (chunked - whole).abs().max() <= 1e-5 * whole.abs().max()
    assert (too_little - whole).abs().max() > 1e-3 * whole.abs().max()  # the context is what makes it exact
    assert torch.equal(model.vocode(mel[:, :50], chunk_frames=64), model(mel[:, :50]))  # short: one call
