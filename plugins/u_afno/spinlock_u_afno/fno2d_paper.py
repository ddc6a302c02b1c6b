"""FNO-2D as published: the 2-D, recurrent-in-time network of the FNO paper's Navier-Stokes study.

Why a second FNO: the ``fno`` backbone wraps neuraloperator's current ``FNO``, which is not the
network the paper measured (its lifting and projection are channel MLPs of 40 hidden channels,
every block adds a channel MLP and a soft-gated skip, neuralop's ``n_modes=24`` keeps 13 columns
of the real FFT instead of 12, and θ arrives as constant channels). A baseline that is compared
with the paper's numbers has to be the paper's network, so this module writes it down from the
paper's description (Li et al. 2021, "Fourier Neural Operator for Parametric Partial Differential
Equations", ICLR; ``fourier_2d_time.py`` of its code):

* input: the last ``history`` (10) vorticity frames and the two grid coordinates, each in
  ``[0, 1]`` end points included (12 channels);
* lifting: ``Linear(12, width=20)`` applied at every grid point;
* 4 Fourier layers ``v <- σ(K v + W v)``: ``K`` multiplies the ``rfft2`` of ``v`` by complex
  weights on the lowest ``modes`` (12) rows of each sign (frequencies ``0..11`` and
  ``-12..-1`` along the first spatial axis) and the first ``modes`` (``0..11``) columns of the
  real-FFT axis, and zeroes the rest; ``W`` is a 1x1 convolution (with bias); ``σ`` is GELU,
  left out after the last layer;
* projection: ``Linear(20, 128)``, GELU, ``Linear(128, 1)``.

No normalisation layers, no residual on the input state, no θ. Initialisation follows the paper's
code: PyTorch's defaults for the linear layers, and each spectral weight drawn with real and
imaginary parts uniform on ``[0, 1 / (width * width))``.

Parameters (complex weights counted as 2 reals, as the paper's code counted its then-real
``[..., 2]`` tensors): ``12*20+20 + 4*(2*2*20*20*12*12 + 20*20+20) + 20*128+128 + 128+1 =
926,357`` for the defaults. The paper's table lists 414,517 for FNO-2D; that is exactly this
network with **8** modes per corner plus one affine ``BatchNorm2d(20)`` per Fourier layer (40
parameters each), which an earlier version of the paper's code declared:
``260 + 4*(102,400 + 420 + 40) + 2,688 + 129 = 414,517``. So the table's count comes from an
8-mode model, while the paper's text and code use 12; the defaults here stay at 12 modes, width 20
(the published script), and the BatchNorm layers are left out (the published forward pass does
not use them).

The paper's converged test relative L2 for ν = 1e-3, N = 1000 training trajectories, 10 frames in
and 40 predicted (500 epochs of Adam, lr 1e-3, weight decay 1e-4, step decay 0.5 every 100
epochs, batch 20): FNO-2D 0.0128, FNO-3D 0.0086, U-Net 0.0245.

Backbone contract (:class:`spinlock_core.interfaces.Backbone`): ``forward(state [B, C*history,
H, W], theta, noise=None) -> [B, C, H, W]``. θ is accepted and ignored: the paper's network has
no θ input, and its experiment (like the ``fno_ns_1e-3`` preset) fixes ν and the forcing, so
every sample has the same θ. On data whose θ varies this backbone cannot tell operators apart;
use ``fno`` or ``u_afno`` there.

On grids too coarse for the modes (fewer than ``2 * modes`` rows or ``modes`` real-FFT columns)
only the modes the grid has are used, and the weights of the rest get no gradient; at 64x64 and
the defaults every weight is used, as in the paper.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FNO2dPaperConfig", "SpectralConv2d", "FourierLayer", "FNO2dPaper", "build_fno2d_paper"]


@attrs.frozen(kw_only=True)
class FNO2dPaperConfig:
    """What builds one :class:`FNO2dPaper` (saved in checkpoints; channels and history come from
    the data, the rest from :class:`~spinlock_u_afno.specs.FNO2DPaperOptions`)."""

    channels: int = 1
    history: int = 10
    width: int = 20
    modes: int = 12
    n_layers: int = 4
    projection_width: int = 128


class SpectralConv2d(nn.Module):
    """The Fourier integral operator ``K``: ``irfft2(R · rfft2(v))`` with ``R`` nonzero only on
    rows ``0..modes-1`` and ``-modes..-1`` and real-FFT columns ``0..modes-1``.

    Two complex weight blocks ``[in, out, modes, modes]`` (positive and negative rows). No bias.
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int):
        super().__init__()
        self.in_channels, self.out_channels, self.modes = in_channels, out_channels, modes
        scale = 1.0 / (in_channels * out_channels)
        shape = (in_channels, out_channels, modes, modes)
        self.weight_pos = nn.Parameter(scale * torch.rand(shape, dtype=torch.cfloat))
        self.weight_neg = nn.Parameter(scale * torch.rand(shape, dtype=torch.cfloat))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        spec = torch.fft.rfft2(x.float())
        m1 = min(self.modes, h // 2)  # rows per sign the grid has (the two corners never overlap)
        m2 = min(self.modes, w // 2 + 1)  # real-FFT columns the grid has
        out = spec.new_zeros(b, self.out_channels, h, w // 2 + 1)
        out[:, :, :m1, :m2] = torch.einsum(
            "bixy,ioxy->boxy", spec[:, :, :m1, :m2], self.weight_pos[:, :, :m1, :m2]
        )
        out[:, :, h - m1 :, :m2] = torch.einsum(
            "bixy,ioxy->boxy", spec[:, :, h - m1 :, :m2], self.weight_neg[:, :, -m1:, :m2]
        )
        return torch.fft.irfft2(out, s=(h, w)).to(x.dtype)


class FourierLayer(nn.Module):
    """``K v + W v`` (the activation is the caller's: the last layer has none)."""

    def __init__(self, width: int, modes: int):
        super().__init__()
        self.spectral = SpectralConv2d(width, width, modes)
        self.pointwise = nn.Conv2d(width, width, 1)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.spectral(v) + self.pointwise(v)


class FNO2dPaper(nn.Module):
    """The paper's FNO-2D: ``forward(state [B, channels*history, H, W], theta=None, noise=None)
    -> [B, channels, H, W]`` (θ ignored; see the module docstring)."""

    def __init__(
        self,
        *,
        channels: int = 1,
        history: int = 10,
        width: int = 20,
        modes: int = 12,
        n_layers: int = 4,
        projection_width: int = 128,
    ):
        super().__init__()
        self.config = FNO2dPaperConfig(
            channels=channels,
            history=history,
            width=width,
            modes=modes,
            n_layers=n_layers,
            projection_width=projection_width,
        )
        self.lift = nn.Linear(channels * history + 2, width)
        self.layers = nn.ModuleList(FourierLayer(width, modes) for _ in range(n_layers))
        self.project_hidden = nn.Linear(width, projection_width)
        self.project_out = nn.Linear(projection_width, channels)
        #: identity on the last Fourier layer's output ``[B, width, H, W]`` (:attr:`latent_module`)
        self.latent_tap = nn.Identity()

    @property
    def latent_module(self) -> nn.Module:
        """Called once per step; its output is the hidden state before the projection."""
        return self.latent_tap

    @property
    def latent_dim(self) -> int:
        return self.config.width

    @staticmethod
    def grid(b: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
        """``[B, 2, H, W]``: the first spatial axis's coordinate, then the second's, on ``[0, 1]``."""
        ys = torch.linspace(0, 1, h, device=like.device, dtype=like.dtype)
        xs = torch.linspace(0, 1, w, device=like.device, dtype=like.dtype)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        return torch.stack([gy, gx])[None].expand(b, -1, -1, -1)

    def forward(
        self,
        state: torch.Tensor,
        theta: Mapping[str, torch.Tensor] | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        cfg = self.config
        if state.ndim != 4 or state.shape[1] != cfg.channels * cfg.history:
            raise ValueError(
                f"state must be [B, {cfg.channels * cfg.history}, H, W], got {list(state.shape)}"
            )
        if noise is not None:
            raise ValueError("fno2d_paper takes no noise input")
        b, _, h, w = state.shape
        v = torch.cat([state, self.grid(b, h, w, state)], dim=1)
        v = self.lift(v.movedim(1, -1)).movedim(-1, 1)  # the pointwise Linear(12, width)
        for i, layer in enumerate(self.layers):
            v = layer(v)
            if i < len(self.layers) - 1:
                v = F.gelu(v)
        v = self.latent_tap(v).movedim(1, -1)
        return self.project_out(F.gelu(self.project_hidden(v))).movedim(-1, 1)


def build_fno2d_paper(options, *, channels: int, history: int, parameter_space=None, device=None):
    """The ``fno2d_paper`` backbone factory: ``(FNO2dPaper, FNO2dPaperConfig)``.

    ``options`` is a :class:`~spinlock_u_afno.specs.FNO2DPaperOptions` (``None``: the paper's
    sizes); ``parameter_space`` is not used (the network takes no θ).
    """
    sizes = attrs.asdict(options) if options is not None else {}
    model = FNO2dPaper(channels=channels, history=history, **sizes)
    return model.to(device=device), model.config
