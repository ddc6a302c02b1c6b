"""The ``fno`` baseline: neuraloperator's FNO behind the U-AFNO's forward signature.

Every accuracy and speed figure of the U-AFNO should stand next to the field's standard model.
neuraloperator is an optional extra (``pip install spinlock[neuralop]``) and is imported only
when a model is built. θ enters as constant input channels: the numeric encoding of
:class:`~spinlock_u_afno.conditioning.ThetaEncoder` plus a one-hot per categorical parameter
(FNO has no conditioning pathway of its own).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from spinlock_core.api import ParameterSpace, PluginError

from .conditioning import ThetaEncoder
from .config import FNOConfig

__all__ = ["FNOConfig", "FNOBaseline", "MissingExtraError", "theta_channel_count"]


class MissingExtraError(PluginError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def _import_fno():
    try:
        return importlib.import_module("neuralop.models").FNO
    except ImportError as e:
        raise MissingExtraError(
            "the 'fno' backbone needs neuraloperator, which is not installed; install the extra "
            f"with `pip install spinlock[neuralop]` (or `pip install neuraloperator`). ({e})"
        ) from e


def theta_channel_count(space: ParameterSpace | None) -> int:
    """Constant θ channels appended to the input: numeric parameters + one per categorical choice."""
    enc = ThetaEncoder(space)
    return enc.n_numeric + sum(n for _, n in enc.categorical)


class FNOBaseline(nn.Module):
    """``forward(state [B, C*history, H, W], theta {name: [B]}, noise) -> [B, out_channels, H, W]``.

    Raises :class:`MissingExtraError` at construction when neuraloperator is missing.
    """

    def __init__(self, config: FNOConfig, parameter_space: ParameterSpace | None):
        super().__init__()
        fno_cls = _import_fno()
        self.config = cfg = config
        self.theta_encoder = ThetaEncoder(parameter_space)
        n_in = cfg.in_channels * cfg.history + cfg.noise_channels + theta_channel_count(parameter_space)
        self.fno = fno_cls(
            n_modes=(cfg.n_modes, cfg.n_modes),
            in_channels=n_in,
            out_channels=cfg.out_channels,
            hidden_channels=cfg.hidden_channels,
            n_layers=cfg.n_layers,
        )
        #: identity on FNO's last hidden state (the input of its projection): :attr:`latent_module`
        self.latent_tap = nn.Identity()
        projection = getattr(self.fno, "projection", None)
        self._has_latent = isinstance(projection, nn.Module)
        if self._has_latent:
            projection.register_forward_pre_hook(self._tap_latent)
        if cfg.residual:
            self.residual_scale = nn.Parameter(torch.full((cfg.out_channels,), cfg.residual_scale_init))
        else:
            self.register_parameter("residual_scale", None)

    def _tap_latent(self, _module, args):
        return (self.latent_tap(args[0]), *args[1:])

    @property
    def latent_module(self) -> nn.Module:
        """A module called once per step whose output is FNO's last hidden state
        ``[B, hidden_channels, H, W]`` (before the projection); a forward hook on it reads it."""
        if not self._has_latent:
            raise PluginError(
                "fno: this neuraloperator FNO has no `projection` module, so its hidden state cannot "
                "be read (the latent loss needs it); use neuraloperator>=1.0 or backbone=u_afno"
            )
        return self.latent_tap

    @property
    def latent_dim(self) -> int:
        """Channels of :attr:`latent_module`'s output."""
        return self.config.hidden_channels

    def make_noise(self, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """Standard normal noise ``[B, noise_channels, H, W]`` matching ``like`` (``None`` if unused)."""
        n = self.config.noise_channels
        if not n:
            return None
        b, _, h, w = like.shape
        return torch.randn(b, n, h, w, generator=generator, device=like.device, dtype=like.dtype)

    def theta_channels(self, theta: Mapping[str, torch.Tensor] | None, like: torch.Tensor) -> torch.Tensor:
        """θ as constant maps ``[B, theta_channel_count, H, W]``."""
        b, _, h, w = like.shape
        if not self.theta_encoder.space.dim:
            return like.new_zeros(b, 0, h, w)
        numeric, categorical = self.theta_encoder(theta)
        parts = [numeric.to(like.device)] + [
            F.one_hot(categorical[:, j].to(like.device), n).float()
            for j, (_, n) in enumerate(self.theta_encoder.categorical)
        ]
        vec = torch.cat(parts, dim=1)
        return vec.to(like.dtype)[:, :, None, None].expand(-1, -1, h, w)

    def forward(
        self,
        state: torch.Tensor,
        theta: Mapping[str, torch.Tensor] | None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Same contract as :meth:`spinlock_u_afno.model.UAFNO.forward`."""
        cfg = self.config
        if state.ndim != 4 or state.shape[1] != cfg.in_channels * cfg.history:
            raise ValueError(
                f"state must be [B, {cfg.in_channels * cfg.history}, H, W], got {list(state.shape)}"
            )
        if bool(cfg.noise_channels) != (noise is not None):
            raise ValueError(f"noise must be given iff noise_channels > 0 (= {cfg.noise_channels})")
        parts = [state] + ([noise.to(state.dtype)] if noise is not None else [])
        parts.append(self.theta_channels(theta, state))
        out = self.fno(torch.cat(parts, dim=1))
        if self.residual_scale is None:
            return out
        newest = state[:, -cfg.in_channels :]
        return newest + self.residual_scale.to(out.dtype)[None, :, None, None] * out
