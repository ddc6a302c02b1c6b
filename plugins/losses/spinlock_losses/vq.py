"""Behavioural losses through the run's frozen tokenizer: ``commit`` and ``latent``.

Both read the tokenizer latent of a TBPTT window through
:class:`~spinlock_losses._window_latents.WindowLatents` (features of the window, computed
differentiably, the tokenizer's stored preprocessing in torch, its per-category encoders).
They align *window-level* behaviour (see that module: the tokenizer was fit on whole samples).
Neither trains the tokenizer: its weights are frozen and kept out of ``parameters()`` and
``state_dict()``; only the ``latent`` projector is trained, with the backbone.
"""

from __future__ import annotations

import torch
from torch import nn

from spinlock_core.api import Loss, LossContext, LossSetup, PluginError, StageError

from ._window_latents import WindowLatents

__all__ = ["CommitLoss", "LatentLoss", "backbone_latent"]


class CommitLoss(nn.Module, Loss):
    """Pull the tokenizer latent of the predicted window onto the true window's codes.

    ``loss = mean_{b,d} (z_pred - sg(q(z_true)))^2`` where ``z = E(P(F(window)))`` is the
    frozen tokenizer's continuous latent (``F`` features, ``P`` preprocessing, ``E`` encoders,
    categories side by side), ``q`` its residual quantization and ``sg`` stop-gradient; the mean
    runs over the batch and the latent coordinates. With ``target=continuous`` the goal is
    ``sg(z_true)`` instead. The gradient reaches ``pred`` through ``F``; the tokenizer gets none.

    With the quantized goal a perfect prediction still costs the truth's own quantization error
    ``mean (z_true - q(z_true))^2``, logged as ``floor``; ``token_agreement`` is the fraction of
    tokens (categories x levels) of the prediction equal to the truth's.
    """

    name = "commit"

    def __init__(self, options, *, setup: LossSetup):
        super().__init__()
        self.options = options
        self.latents = WindowLatents(options.families, setup, self.name)

    def forward(self, pred: torch.Tensor, target: torch.Tensor, ctx: LossContext):
        both = ctx.state is not None and ctx.target_state is not None
        with torch.no_grad():
            z_true = self.latents.latents(target, ctx.target_state if both else None, ctx)
            q_true, codes_true = self.latents.quantize(z_true)
        z_pred = self.latents.latents(pred, ctx.state if both else None, ctx)
        goal = q_true if self.options.target == "quantized" else z_true
        loss = (z_pred - goal).square().mean()
        _, codes_pred = self.latents.quantize(z_pred.detach())
        logs = {
            "token_agreement": float((codes_pred == codes_true).float().mean()),
            "floor": float((z_true - q_true).square().mean()),
            "guarded": float(self.latents.take_guarded()),
        }
        return loss, logs


def backbone_latent(model: nn.Module) -> tuple[nn.Module, int]:
    """``(module, width)``: the backbone's latent module (its output, ``[B, width, ...]``, is the
    latent; called once per step) and the latent's width."""
    module, dim = getattr(model, "latent_module", None), getattr(model, "latent_dim", None)
    if not isinstance(module, nn.Module) or not isinstance(dim, int):
        raise PluginError(
            f"loss latent: the backbone {type(model).__name__} exposes no latent; it needs "
            f"`latent_module` (a module called once per step whose output [B, D, ...] is the latent) "
            f"and `latent_dim` (D), as the shipped u_afno and fno backbones have"
        )
    return module, dim


class LatentLoss(nn.Module, Loss):
    """Train a projector from the backbone's latent to the tokenizer latent of the true window.

    ``loss = mean_{b,d} (P(h) - sg(z_true))^2`` where ``h`` is the backbone latent
    (``latent_module``'s output, averaged over space, then over the window's ``w`` steps),
    ``P`` a two-layer MLP (``hidden`` wide) trained with the backbone, and ``z_true`` the frozen
    tokenizer's continuous latent of the true window. The gradient reaches the projector and,
    through ``h``, the backbone, so its latent is shaped to carry the window's behaviour.

    ``h`` is read by a forward hook on the backbone's latent module: the stage calls the model
    once per predicted step, so the window's latents are the last ``w`` the hook saw (it keeps at
    most ``horizon`` of them, and is emptied at every call of this loss).
    """

    name = "latent"

    def __init__(self, options, *, setup: LossSetup):
        super().__init__()
        self.options = options
        self.latents = WindowLatents(options.families, setup, self.name)
        module, dim = backbone_latent(setup.model)
        self.projector = nn.Sequential(
            nn.Linear(dim, options.hidden),
            nn.GELU(),
            nn.Dropout(options.dropout),
            nn.Linear(options.hidden, self.latents.latent_dim),
        ).to(setup.device)
        self._seen: list[torch.Tensor] = []
        self._keep = max(1, int(setup.horizon))
        self._hook = module.register_forward_hook(self._capture)

    def _capture(self, _module, _args, output) -> None:
        h = output.float()
        self._seen.append(h.flatten(2).mean(-1) if h.ndim > 2 else h)
        if len(self._seen) > self._keep:
            del self._seen[0]

    def forward(self, pred: torch.Tensor, target: torch.Tensor, ctx: LossContext):
        w = pred.shape[1]
        seen, self._seen = self._seen[-w:], []
        if len(seen) < w:
            raise StageError(
                f"loss latent: the backbone's latent was seen {len(seen)} times since the last window, "
                f"fewer than the window's {w} predictions; the loss must be called after the window's "
                f"rollout, which calls the backbone once per step"
            )
        h = torch.stack(seen).mean(0)
        if h.shape[0] != pred.shape[0]:
            raise StageError(
                f"loss latent: backbone latent batch {h.shape[0]} != predictions' {pred.shape[0]}"
            )
        both = ctx.state is not None and ctx.target_state is not None
        with torch.no_grad():
            z_true = self.latents.latents(target, ctx.target_state if both else None, ctx)
        err = (self.projector(h) - z_true).square().mean()
        rel = err.detach() / z_true.square().mean().clamp_min(1e-12)
        return err, {"relative": float(rel)}

    def remove_hook(self) -> None:
        """Detach from the backbone (the hook is otherwise kept for the module's lifetime)."""
        self._hook.remove()
