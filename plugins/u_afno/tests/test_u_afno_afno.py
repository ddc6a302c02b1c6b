import math

import pytest
import torch

from spinlock_u_afno import AFNO2D, kept_mode_mask


def _wavenumbers(h, w):
    ky = torch.fft.fftfreq(h, d=1 / h).round().long().abs().view(-1, 1)
    kx = torch.fft.rfftfreq(w, d=1 / w).round().long().view(1, -1)
    return ky.expand(h, w // 2 + 1), kx.expand(h, w // 2 + 1)


@pytest.mark.parametrize(
    ("h", "w", "keep"), [(8, 8, 0.5), (8, 16, 0.5), (16, 16, 0.25), (8, 8, 1.0), (6, 10, 0.7)]
)
def test_kept_modes_are_the_lowest_box(h, w, keep):
    ky, kx = _wavenumbers(h, w)
    kmax_y, kmax_x = math.floor(keep * (h // 2)), math.floor(keep * (w // 2))
    expect = (ky <= kmax_y) & (kx <= kmax_x)
    assert torch.equal(kept_mode_mask(h, w, keep), expect)
    if keep == 1.0:
        assert expect.all()


def _plane_wave(h, w, ky, kx):
    y = torch.arange(h).view(-1, 1) / h
    x = torch.arange(w).view(1, -1) / w
    return torch.cos(2 * math.pi * (ky * y + kx * x))


def test_dropped_modes_do_not_reach_the_output():
    torch.manual_seed(0)
    mixer = AFNO2D(8, num_blocks=2, mode_keep=0.5, sparsity_threshold=0.0, hidden_factor=1)
    x = torch.randn(2, 8, 16, 16)
    base = mixer(x)
    # |k| <= 4 kept per axis at 16x16 with keep 0.5
    dropped = x + 3 * _plane_wave(16, 16, ky=5, kx=1)
    dropped_x = x + 3 * _plane_wave(16, 16, ky=0, kx=6)
    kept = x + 3 * _plane_wave(16, 16, ky=-4, kx=4)
    torch.testing.assert_close(mixer(dropped), base, atol=1e-5, rtol=0)
    torch.testing.assert_close(mixer(dropped_x), base, atol=1e-5, rtol=0)
    assert (mixer(kept) - base).abs().max() > 1e-2
    # and the output itself has no energy outside the kept set
    spec = torch.fft.rfft2(base, norm="ortho").abs()
    assert spec[..., ~kept_mode_mask(16, 16, 0.5)].max() < 1e-5


def test_soft_shrink_zeroes_small_values():
    mixer = AFNO2D(4, num_blocks=1, mode_keep=1.0, sparsity_threshold=0.1, hidden_factor=1)
    with torch.no_grad():
        mixer.w2.zero_()  # spectral output = b2 exactly, at every mode
        mixer.b2.fill_(0.05)  # below λ: shrunk to zero
    x = torch.randn(1, 4, 8, 8)
    assert torch.count_nonzero(mixer(x)) == 0
    with torch.no_grad():
        mixer.b2.zero_()
        mixer.b2[0, 0, 0] = 0.3  # real part of channel 0 above λ: survives as 0.3 - 0.1 at every mode
    out = mixer(x)
    spectrum = torch.full((8, 5), 0.2, dtype=torch.complex64)
    torch.testing.assert_close(out[0, 0], torch.fft.irfft2(spectrum, s=(8, 8), norm="ortho"))
    assert torch.count_nonzero(out[0, 1:]) == 0


def test_fft_runs_in_fp32_under_bf16_autocast():
    torch.manual_seed(0)
    mixer = AFNO2D(8, num_blocks=2, mode_keep=1.0, sparsity_threshold=0.01, hidden_factor=1)
    x = torch.randn(2, 8, 8, 8)
    ref = mixer(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = mixer(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref)


def test_parameters_do_not_depend_on_the_grid():
    mixer = AFNO2D(64, num_blocks=8, mode_keep=1.0, sparsity_threshold=0.01, hidden_factor=1)
    # 4 C^2 hidden_factor / num_blocks weights + 2 (hidden + C) biases
    assert sum(p.numel() for p in mixer.parameters()) == 4 * 64 * 64 // 8 + 2 * (64 + 64)
