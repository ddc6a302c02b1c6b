"""Building blocks of the U-AFNO: θ-conditioned norms, conv residual blocks, the AFNO2D mixer.

Every block takes ``(x [B, C, H, W], c [B, D])`` where ``c`` is the θ conditioning vector, so
θ reaches every block of the network. Two conditioning styles:

* ``"adanorm"`` (adaptive group norm, Dhariwal & Nichol 2021): every norm is a GroupNorm without
  its own affine whose per-channel scale and shift come from θ: ``GN(x) * (1 + γ(c)) + β(c)``.
* ``"film"`` (Perez et al. 2018): norms are plain GroupNorms with learned affine, and the block's
  hidden activation is modulated: ``h * (1 + γ(c)) + β(c)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "group_count",
    "FiLM",
    "CondNorm",
    "ConvResBlock",
    "Downsample",
    "Upsample",
    "AFNO2D",
    "AFNOBlock",
    "kept_mode_indices",
    "kept_mode_mask",
]


def group_count(channels: int, max_groups: int = 32) -> int:
    """GroupNorm groups: a divisor of ``channels``, <= ``max_groups``, with >= 2 channels per group.

    One channel per group (instance norm) would remove every per-channel constant, so the bias
    of any conv feeding it would get exactly zero gradient: a dead parameter.
    """
    return math.gcd(channels, max(1, min(max_groups, channels // 2)))


class FiLM(nn.Module):
    """``x [B, C, H, W] * (1 + γ(c)) + β(c)`` with ``γ, β = Linear(c)`` per channel.

    The projection starts small (std 0.02), not zero: θ must already change the output at
    initialisation (a zero init makes the model θ-blind until the first update) while the
    modulation stays close to identity.
    """

    def __init__(self, cond_dim: int, channels: int):
        super().__init__()
        self.proj = nn.Linear(cond_dim, 2 * channels)
        nn.init.normal_(self.proj.weight, std=0.02)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.proj(c).to(x.dtype)[:, :, None, None].chunk(2, dim=1)
        return x * (1 + gamma) + beta


class CondNorm(nn.Module):
    """GroupNorm, θ-adaptive (``adaptive=True``: affine from θ only) or plain with learned affine."""

    def __init__(self, channels: int, cond_dim: int, adaptive: bool, max_groups: int = 32):
        super().__init__()
        self.norm = nn.GroupNorm(group_count(channels, max_groups), channels, affine=not adaptive)
        self.film = FiLM(cond_dim, channels) if adaptive else None

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        return self.film(x, c) if self.film is not None else x


def conv3x3(cin: int, cout: int, padding_mode: str, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, padding_mode=padding_mode)


class ConvResBlock(nn.Module):
    """Pre-norm residual conv block: ``skip(x) + conv(act(norm(conv(act(norm(x, c)))), c))``.

    Shapes: ``x [B, cin, H, W]``, ``c [B, cond_dim]`` -> ``[B, cout, H, W]``. With
    ``conditioning="film"`` the hidden activation after the first conv is FiLM-modulated; with
    ``"adanorm"`` both norms are θ-adaptive.
    """

    def __init__(
        self, cin: int, cout: int, cond_dim: int, conditioning: str, padding_mode: str, max_groups: int
    ):
        super().__init__()
        adaptive = conditioning == "adanorm"
        self.norm1 = CondNorm(cin, cond_dim, adaptive, max_groups)
        self.conv1 = conv3x3(cin, cout, padding_mode)
        self.norm2 = CondNorm(cout, cond_dim, adaptive, max_groups)
        self.film = None if adaptive else FiLM(cond_dim, cout)
        self.conv2 = conv3x3(cout, cout, padding_mode)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.gelu(self.norm1(x, c)))
        h = self.norm2(h, c)
        if self.film is not None:
            h = self.film(h, c)
        h = self.conv2(F.gelu(h))
        return self.skip(x) + h


class Downsample(nn.Module):
    """Strided 3x3 conv, ``[B, cin, H, W] -> [B, cout, H/2, W/2]`` (a learned, padded-aware pool)."""

    def __init__(self, cin: int, cout: int, padding_mode: str):
        super().__init__()
        self.conv = conv3x3(cin, cout, padding_mode, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """Nearest x2 then 3x3 conv, ``[B, cin, H, W] -> [B, cout, 2H, 2W]``.

    Nearest + conv rather than bilinear (which clamps at the border, breaking periodicity) or a
    transposed conv (checkerboard artefacts); with circular padding it commutes with even shifts.
    """

    def __init__(self, cin: int, cout: int, padding_mode: str):
        super().__init__()
        self.conv = conv3x3(cin, cout, padding_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


def _max_wavenumber(n: int, keep: float) -> int:
    # largest |k| kept along an axis of n points; the Nyquist |k| = n // 2 only when keep == 1
    return int(math.floor(keep * (n // 2) + 1e-9))


def kept_mode_indices(h: int, w: int, keep: float) -> tuple[torch.Tensor, int]:
    """Which ``rfft2`` entries of an ``h x w`` grid the AFNO keeps: ``(row indices, n columns)``.

    Kept: integer wavenumbers ``|ky| <= Ky`` and ``0 <= kx <= Kx`` with
    ``Ky = floor(keep * (h // 2))``, ``Kx = floor(keep * (w // 2))``: the lowest modes in both
    dimensions (a box in ``(ky, kx)``). In the rfft layout that is rows ``0..Ky`` and
    ``h-Ky..h-1`` (negative ky) and columns ``0..Kx``. For ``Ky < h/2`` the set is closed under
    ``k -> -k``, so the truncation is a real-valued low-pass filter.
    """
    ky, kx = _max_wavenumber(h, keep), _max_wavenumber(w, keep)
    rows = torch.cat([torch.arange(0, min(ky, h - 1) + 1), torch.arange(max(h - ky, ky + 1), h)])
    return rows, min(kx, w // 2) + 1


def kept_mode_mask(h: int, w: int, keep: float) -> torch.Tensor:
    """Boolean ``[h, w // 2 + 1]`` mask of the kept ``rfft2`` entries (see :func:`kept_mode_indices`)."""
    rows, ncols = kept_mode_indices(h, w, keep)
    mask = torch.zeros(h, w // 2 + 1, dtype=torch.bool)
    mask[rows, :ncols] = True
    return mask


class AFNO2D(nn.Module):
    """Adaptive Fourier neural operator token mixer (Guibas et al. 2021), ``[B, C, H, W] -> same``.

    ``rfft2`` (orthonormal, fp32 even under autocast) -> keep the low modes of
    :func:`kept_mode_indices` -> block-diagonal complex two-layer MLP ``W2 σ(W1 z + b1) + b2``
    with ``num_blocks`` blocks of ``C / num_blocks`` channels, the same weights for every mode
    (σ = GELU or ReLU on real and imaginary parts; GELU has no dead units) ->
    soft-shrinkage ``S_λ`` on real and imaginary parts (sparsifies the spectrum) -> zero the
    dropped modes -> ``irfft2``. Returns the spectral branch only; the residual is added by
    :class:`AFNOBlock`. Parameters: ``4 C^2 hidden_factor / num_blocks + O(C)``, independent of
    the grid, so every weight gets a gradient at any resolution (unlike per-mode FNO weights).
    """

    def __init__(
        self,
        channels: int,
        num_blocks: int,
        mode_keep: float,
        sparsity_threshold: float,
        hidden_factor: int,
        activation: str = "gelu",
    ):
        super().__init__()
        if channels % num_blocks:
            raise ValueError(f"AFNO channels {channels} not divisible by num_afno_blocks {num_blocks}")
        self.channels, self.num_blocks, self.block = channels, num_blocks, channels // num_blocks
        self.mode_keep, self.lam = mode_keep, sparsity_threshold
        self.act = {"relu": F.relu, "gelu": F.gelu}[activation]
        hid, bs = self.block * hidden_factor, self.block
        # [re/im, block, in, out]: complex weights stored as real pairs (optimizer-friendly).
        # Variance-preserving init (complex fan-in) instead of the reference code's
        # fixed 0.02: with 0.02 the MLP output sits below λ = 0.01 for most modes, so
        # soft-shrinkage zeroes it and much of the spectral branch gets no gradient at init.
        self.w1 = nn.Parameter(torch.randn(2, num_blocks, bs, hid) * (1.0 / (2 * bs)) ** 0.5)
        self.b1 = nn.Parameter(torch.zeros(2, num_blocks, hid))
        self.w2 = nn.Parameter(torch.randn(2, num_blocks, hid, bs) * (1.0 / hid) ** 0.5)
        self.b2 = nn.Parameter(torch.zeros(2, num_blocks, bs))

    @staticmethod
    def _cmul(xr, xi, w, b):
        # (xr + i xi) @ (w0 + i w1) + (b0 + i b1), per block; x: [..., nb, in], w: [2, nb, in, out]
        yr = torch.einsum("...bi,bio->...bo", xr, w[0]) - torch.einsum("...bi,bio->...bo", xi, w[1])
        yi = torch.einsum("...bi,bio->...bo", xi, w[0]) + torch.einsum("...bi,bio->...bo", xr, w[1])
        return yr + b[0], yi + b[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype, (bsz, ch, h, w) = x.dtype, x.shape
        with torch.autocast(device_type=x.device.type, enabled=False):
            spec = torch.fft.rfft2(x.float(), norm="ortho")  # [B, C, h, w//2+1] complex64
            rows, ncols = kept_mode_indices(h, w, self.mode_keep)
            rows = rows.to(x.device)
            z = spec.index_select(2, rows)[..., :ncols]  # [B, C, r, k] kept modes only
            z = z.permute(0, 2, 3, 1).reshape(bsz, len(rows), ncols, self.num_blocks, self.block)
            hr, hi = self._cmul(z.real, z.imag, self.w1, self.b1)
            hr, hi = self.act(hr), self.act(hi)
            yr, yi = self._cmul(hr, hi, self.w2, self.b2)
            y = torch.complex(F.softshrink(yr, self.lam), F.softshrink(yi, self.lam))
            y = y.reshape(bsz, len(rows), ncols, ch).permute(0, 3, 1, 2)
            out = torch.zeros_like(spec)
            out[:, :, rows, :ncols] = y
            res = torch.fft.irfft2(out, s=(h, w), norm="ortho")
        return res.to(dtype)


class AFNOBlock(nn.Module):
    """Transformer-style AFNO block, ``x [B, C, h, w], c [B, D] -> [B, C, h, w]``.

    ``x = x + AFNO2D(norm1(x, c))``; ``x = x + MLP(norm2(x, c))`` with a 1x1-conv channel MLP
    (``C -> mlp_ratio C -> C``). With ``film`` conditioning the MLP's hidden activation is
    FiLM-modulated; with ``adanorm`` both norms are θ-adaptive.
    """

    def __init__(
        self,
        channels: int,
        cond_dim: int,
        conditioning: str,
        num_blocks: int,
        mode_keep: float,
        sparsity_threshold: float,
        hidden_factor: int,
        mlp_ratio: int,
        max_groups: int,
        spectral_activation: str = "gelu",
    ):
        super().__init__()
        adaptive = conditioning == "adanorm"
        self.norm1 = CondNorm(channels, cond_dim, adaptive, max_groups)
        self.mixer = AFNO2D(
            channels, num_blocks, mode_keep, sparsity_threshold, hidden_factor, spectral_activation
        )
        self.norm2 = CondNorm(channels, cond_dim, adaptive, max_groups)
        self.fc1 = nn.Conv2d(channels, mlp_ratio * channels, 1)
        self.film = None if adaptive else FiLM(cond_dim, mlp_ratio * channels)
        self.fc2 = nn.Conv2d(mlp_ratio * channels, channels, 1)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        x = x + self.mixer(self.norm1(x, c))
        h = self.fc1(self.norm2(x, c))
        if self.film is not None:
            h = self.film(h, c)
        return x + self.fc2(F.gelu(h))
