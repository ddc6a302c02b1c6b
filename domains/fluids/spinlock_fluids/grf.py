"""The FNO paper's Gaussian random field for the initial vorticity.

``w0 ~ N(0, C)`` with ``C = σ² (-Δ + τ² I)^(-α)`` on the unit torus, zero mean, drawn exactly as
``data_generation/navier_stokes/random_fields.py`` (``GaussianRF(2, s, alpha=2.5, tau=7)``) does:

    √λ_k = s² √2 σ (4π²|k|² + τ²)^(-α/2),   √λ_0 = 0,
    w0 = Re(ifft2(√λ ⊙ (ξ + iη))),          ξ, η ~ N(0, 1) i.i.d. on the full s x s grid,

so each sample is real, has zero mean and a spectrum falling as ``|k|^(-2α)`` (energy per
mode) at large ``|k|``. The ``s²`` cancels ``ifft2``'s ``1/s²``, so the point statistics do not
depend on ``s``; the paper draws at ``s = 256`` and subsamples to 64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["GaussianRandomField"]


class GaussianRandomField:
    """Draws ``[s, s]`` fields of the paper's law on ``device`` (float32, as the paper)."""

    def __init__(
        self, size: int, alpha: float = 2.5, tau: float = 7.0, sigma: float | None = None, device=None
    ):
        import torch

        self.size, self.alpha, self.tau = size, alpha, tau
        self.sigma = tau ** (0.5 * (2 * alpha - 2)) if sigma is None else sigma
        self.device = torch.device(device or "cpu")
        k = torch.fft.fftfreq(size, d=1.0 / size, dtype=torch.float64, device=self.device)
        k2 = k.view(-1, 1) ** 2 + k.view(1, -1) ** 2
        sqrt_eig = size**2 * math.sqrt(2.0) * self.sigma * (4 * math.pi**2 * k2 + tau**2) ** (-alpha / 2)
        sqrt_eig[0, 0] = 0.0
        self.sqrt_eig = sqrt_eig.to(torch.float32)

    def sample(self, generators: Sequence[torch.Generator]) -> torch.Tensor:
        """One field per generator, ``[B, s, s]`` float32; field ``b`` depends on generator ``b`` only."""
        import torch

        s = self.size
        if not generators:
            return torch.zeros(0, s, s, device=self.device)
        coeff = torch.stack(
            [torch.randn(2, s, s, generator=g, device=self.device, dtype=torch.float32) for g in generators]
        )
        spectrum = torch.complex(coeff[:, 0], coeff[:, 1]) * self.sqrt_eig
        return torch.fft.ifft2(spectrum).real

    def spectrum(self, k: torch.Tensor) -> torch.Tensor:
        """Expected ``|fft2(w0)_k|²`` at integer wavenumber magnitude ``|k| > 0``:
        ``2 s⁴ σ² (4π²|k|² + τ²)^(-α)`` (taking the real part halves the power of the complex
        draw, whose ``E|ξ + iη|² = 2``; the two halves from ``k`` and ``-k`` add back)."""
        return 2 * self.size**4 * self.sigma**2 * (4 * math.pi**2 * k**2 + self.tau**2) ** (-self.alpha)
