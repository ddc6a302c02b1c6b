"""Pseudo-spectral 2-D incompressible Navier-Stokes in vorticity form on the unit torus.

    ∂t w + u·∇w = ν Δw + f,   u = (∂y ψ, -∂x ψ),   -Δψ = w,   (x, y) ∈ [0, 1)²

Coordinates follow :class:`spinlock_core.interfaces.Grid`: ``x`` along the last array axis,
``y`` along the one before it. The time stepping is the FNO paper's generator
(Li et al. 2021, ``data_generation/navier_stokes/ns_2d.py``): Crank-Nicolson for diffusion,
the advection term ``u·∇w`` computed in physical space and dealiased with the 2/3 rule, and
(``scheme="euler"``) explicit Euler for advection and forcing:

    ŵ ← ((1 - ½ dt ν |κ|²) ŵ + dt (f̂ - N̂(ŵ))) / (1 + ½ dt ν |κ|²),   κ = 2π k.

``scheme="heun"`` replaces the explicit Euler part with Heun's predictor-corrector (second
order in dt). One solver state is the ``rfft2`` of the vorticity, ``[B, N, N//2 + 1]``; every
sample of a batch carries its own ν and forcing, so a step is one batched ``irfft2`` of four
fields and one ``rfft2``, whatever the batch holds.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["TorusSolver", "complex_dtype", "velocity_channels"]


def complex_dtype(dtype):
    import torch

    return torch.complex128 if dtype == torch.float64 else torch.complex64


class TorusSolver:
    """The spectral operators of an ``n x n`` grid on the unit torus, in one real ``dtype``.

    ``dtype`` is float32 or float64 (the FFT precision). Batched methods take spectral fields
    ``[..., n, n//2 + 1]``.
    """

    def __init__(self, n: int, device=None, dtype=None):
        import torch

        if n < 4 or n % 2:
            raise ValueError(f"the solver grid needs an even size >= 4, got {n}")
        dtype = dtype or torch.float32
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"solver dtype must be float32 or float64, got {dtype}")
        self.n, self.device, self.dtype = n, torch.device(device or "cpu"), dtype
        iy = torch.fft.fftfreq(n, d=1.0 / n, dtype=torch.float64, device=self.device).view(-1, 1)
        ix = torch.fft.rfftfreq(n, d=1.0 / n, dtype=torch.float64, device=self.device).view(1, -1)
        k2 = (2 * math.pi) ** 2 * (iy**2 + ix**2)  # |κ|², the Laplacian's symbol (Nyquist included)
        # A derivative of a real field has no Nyquist mode (i k_N has no real interpolant): the
        # velocity and gradients leave out the Nyquist row and column, so ∇·u = 0 and
        # ∇×u = w hold exactly on what they keep.
        resolved = (iy.abs() < n // 2) & (ix < n // 2)
        ky, kx = 2 * math.pi * iy * resolved, 2 * math.pi * ix * resolved
        inv_k2 = torch.where(k2 > 0, 1.0 / k2.clamp_min(1e-300), 0.0)  # ψ̂ = ŵ / |κ|², mean mode 0
        ikx, iky = 1j * kx, 1j * ky
        cdtype = complex_dtype(dtype)
        #: Multipliers taking ŵ to (û, v̂, ∂x ŵ, ∂y ŵ), ``[4, n, n//2 + 1]``.
        self.to_advection = torch.stack((iky * inv_k2, -ikx * inv_k2, ikx, iky)).to(cdtype)
        #: 2/3 rule: keep |k_x|, |k_y| <= n/3 (the paper's ``<= (2/3) k_max``).
        self.dealias = ((iy.abs() <= n / 3) & (ix <= n / 3)).to(dtype)
        self.k2 = k2.to(dtype)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.n)

    # --- transforms -------------------------------------------------------------------------

    def to_spectral(self, w: torch.Tensor) -> torch.Tensor:
        """``rfft2`` of real fields ``[..., n, n]``."""
        import torch

        return torch.fft.rfft2(w.to(self.dtype))

    def to_physical(self, w_hat: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.fft.irfft2(w_hat, s=self.shape)

    def lift(self, w: torch.Tensor) -> torch.Tensor:
        """Spectral state of the solver grid from real fields ``[..., m, m]`` (``n`` a multiple
        of ``m``): the trigonometric interpolant, so the lifted field takes the given values at
        the coarse points. A coarse Nyquist mode is split evenly between ``+m/2`` and ``-m/2``
        (the real interpolant); ``m = n`` is the plain ``rfft2``."""
        import torch

        m = w.shape[-1]
        if w.shape[-2] != m or self.n % m or m % 2:
            raise ValueError(f"cannot lift a {list(w.shape[-2:])} field to {self.n}² (need an even divisor)")
        coarse = torch.fft.rfft2(w.to(self.dtype))
        if m == self.n:
            return coarse
        coarse = coarse * (self.n / m) ** 2
        h, n = m // 2, self.n
        out = coarse.new_zeros(*coarse.shape[:-2], n, n // 2 + 1)
        out[..., :h, : h + 1] = coarse[..., :h, :]
        out[..., n - h + 1 :, : h + 1] = coarse[..., h + 1 :, :]
        out[..., h, : h + 1] = out[..., n - h, : h + 1] = coarse[..., h, :] / 2
        out[..., :, h] /= 2
        return out

    def observe(self, w_hat: torch.Tensor, stride: int, velocity: bool) -> torch.Tensor:
        """Stored fields ``[..., C, n/stride, n/stride]``: the vorticity on the solver grid at
        every ``stride``-th point (as the paper subsamples) and, with ``velocity``, the velocity
        *of that stored vorticity* on the stored grid, so that ∇·u = 0 and ∇×u = w hold
        discretely there (subsampling the fine velocity would alias)."""
        w = self.to_physical(w_hat)[..., ::stride, ::stride]
        if not velocity:
            return w.unsqueeze(-3)
        return velocity_channels(w)

    # --- dynamics -----------------------------------------------------------------------------

    def velocity(self, w_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Physical ``(u, v)`` = ``(∂y ψ, -∂x ψ)`` of spectral vorticity ``[..., n, n//2+1]``."""
        uv = self.to_physical(w_hat.unsqueeze(-3) * self.to_advection[:2])
        return uv[..., 0, :, :], uv[..., 1, :, :]

    def advection(self, w_hat: torch.Tensor) -> torch.Tensor:
        """Dealiased spectral ``u·∇w`` of spectral vorticity ``[B, n, n//2+1]``."""
        import torch

        u, v, wx, wy = self.to_physical(w_hat.unsqueeze(-3) * self.to_advection).unbind(-3)
        return torch.fft.rfft2(u * wx + v * wy) * self.dealias

    def crank_nicolson(self, nu: torch.Tensor, dt: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample factors ``(1 - ½ dt ν|κ|², 1 / (1 + ½ dt ν|κ|²))``, each ``[B, n, n//2+1]``."""
        half = 0.5 * dt * nu.to(self.dtype).view(-1, 1, 1) * self.k2
        return 1 - half, 1 / (1 + half)

    def advance(
        self,
        w_hat: torch.Tensor,
        steps: int,
        dt: float,
        explicit: torch.Tensor,
        implicit: torch.Tensor,
        forcing_dt: torch.Tensor,
        scheme: str = "euler",
    ) -> torch.Tensor:
        """``steps`` steps from ``w_hat [B, n, n//2+1]``; ``explicit``/``implicit`` from
        :meth:`crank_nicolson`, ``forcing_dt = dt * f̂`` (``[B or 1, n, n//2+1]``)."""
        if scheme == "euler":
            for _ in range(steps):
                w_hat = (explicit * w_hat + forcing_dt - dt * self.advection(w_hat)) * implicit
        elif scheme == "heun":
            for _ in range(steps):
                rest = explicit * w_hat + forcing_dt
                first = self.advection(w_hat)
                guess = (rest - dt * first) * implicit
                w_hat = (rest - (0.5 * dt) * (first + self.advection(guess))) * implicit
        else:
            raise ValueError(f"unknown scheme {scheme!r}; valid: euler, heun")
        return w_hat

    def forcing(self, amplitude, kx, ky) -> torch.Tensor:
        """Spectral ``f = A (sin 2π(k_x x + k_y y) + cos 2π(k_x x + k_y y))``, ``[B, n, n//2+1]``,
        from per-sample ``amplitude [B]`` and integer wave vectors ``kx, ky [B]``."""
        import torch

        grid = (torch.arange(self.n, device=self.device, dtype=torch.float64) / self.n).view(1, -1)
        x, y = grid.view(1, 1, -1), grid.view(1, -1, 1)

        def col(a):
            return torch.as_tensor(a, device=self.device, dtype=torch.float64).view(-1, 1, 1)

        phase = 2 * math.pi * (col(kx) * x + col(ky) * y)
        f = col(amplitude) * (torch.sin(phase) + torch.cos(phase))
        return self.to_spectral(f)


def velocity_channels(w: torch.Tensor) -> torch.Tensor:
    """``[..., 3, m, m]``: vorticity ``w [..., m, m]`` and its velocity ``(u, v)`` on its own grid."""
    import torch

    grid = TorusSolver(
        w.shape[-1], device=w.device, dtype=torch.float64 if w.dtype == torch.float64 else torch.float32
    )
    u, v = grid.velocity(grid.to_spectral(w))
    return torch.stack((w.to(u.dtype), u, v), dim=-3)
