"""The training loop of the tokenizer, resumable to the bit.

AdamW on encoder and decoder weights only (codebooks are buffers moved by EMA), learning rate
per step: linear warmup over ``warmup_epochs`` then cosine decay to ``min_lr_ratio * lr`` at
``epochs`` (:func:`warmup_cosine`, torch's schedulers). Early stopping watches the validation
reconstruction MSE (not the total loss, whose commitment term shrinks as codes settle) with
``patience`` epochs; the best weights are restored at the end. bf16 autocast runs on CUDA only; quantizer distances stay float32.

Every random draw is ``generator_for(seed, index, stream)`` with the epoch or the step as the
index (shuffling, k-means, restarts), so no generator state has to be carried: the state of
:class:`Trainer` (weights, EMA buffers, optimizer, scheduler, step, epoch, best metric and weights,
patience counter, history) is all a resume needs to continue exactly.
"""

from __future__ import annotations

import copy
import math
import warnings

import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

from spinlock_core.api import generator_for

from .metrics import evaluate

__all__ = ["Trainer", "warmup_cosine"]


def warmup_cosine(optimizer, warmup: int, total: int, min_lr_ratio: float = 0.0):
    """Learning rate per optimizer step: linear from ``lr / warmup`` to ``lr`` over ``warmup``
    steps, then cosine decay to ``min_lr_ratio * lr`` at step ``total`` (torch's ``SequentialLR``
    of ``LinearLR`` and ``CosineAnnealingLR``; ``scheduler.step()`` after each optimizer step)."""
    eta_min = min_lr_ratio * optimizer.param_groups[0]["lr"]
    cosine = CosineAnnealingLR(optimizer, T_max=max(1, total - warmup), eta_min=eta_min)
    if warmup == 0:
        return cosine
    linear = LinearLR(optimizer, start_factor=1 / warmup, end_factor=1.0, total_iters=max(1, warmup - 1))
    return SequentialLR(optimizer, [linear, cosine], milestones=[warmup])


class Trainer:
    """Fits a :class:`~spinlock_vqvae.model.CategoricalRVQ` on scaled train/validation tensors."""

    def __init__(self, model, x_train: torch.Tensor, x_val: torch.Tensor, config, device: torch.device):
        self.model, self.config, self.device = model, config, device
        self.x_train, self.x_val = x_train, x_val
        n, bs = x_train.shape[0], config.batch_size
        self.batch = min(bs, n)
        self.steps_per_epoch = max(1, n // self.batch)
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.scheduler = warmup_cosine(
            self.optimizer,
            config.warmup_epochs * self.steps_per_epoch,
            config.epochs * self.steps_per_epoch,
            config.min_lr_ratio,
        )
        self.epoch, self.step, self.bad_epochs = 0, 0, 0
        self.best, self.best_epoch, self.best_state = math.inf, -1, None
        self.history: list[dict] = []
        self.stopped_early = False
        self.finished = False

    @property
    def autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda")

    def _init_codebooks(self, perm: torch.Tensor) -> None:
        rows = perm[: self.config.kmeans_init_batches * self.batch]
        gen = generator_for(self.config.seed, 0, "tokenizer/kmeans")
        self.model.init_codebooks(self.x_train[rows].to(self.device), gen, self.batch)

    def train_epoch(self) -> dict:
        """One pass over the training rows; returns the epoch's history record."""
        cfg, model = self.config, self.model
        model.train()
        perm = torch.randperm(
            self.x_train.shape[0], generator=generator_for(cfg.seed, self.epoch, "tokenizer/shuffle")
        )
        if not bool(model.quantizers[0].levels[0].initialized):
            self._init_codebooks(perm)
        sums = {"loss": 0.0, "mse": 0.0, "commit": 0.0, "independence": 0.0}
        restarts = 0  # losses accumulate as device tensors: no host sync per step for logging
        for b in range(self.steps_per_epoch):
            xb = self.x_train[perm[b * self.batch : (b + 1) * self.batch]].to(self.device)
            lr = self.optimizer.param_groups[0]["lr"]
            with self.autocast:
                out = model(xb)
                indep = (
                    model.independence(out["latents"]) if cfg.independence_weight > 0 else xb.new_zeros(())
                )
            mse = F.mse_loss(out["recon"].float(), xb)
            loss = mse + cfg.commitment * out["commit"] + cfg.independence_weight * indep
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            restarts += model.ema_update(out, generator_for(cfg.seed, self.step, "tokenizer/restart"))
            for key, val in (
                ("loss", loss),
                ("mse", mse),
                ("commit", out["commit"]),
                ("independence", indep),
            ):
                sums[key] = sums[key] + val.detach().float()
            self.step += 1
        val = evaluate(model, self.x_val, cfg, self.device)
        record = {"epoch": self.epoch, "lr": lr, "restarts": restarts}
        record.update({f"train_{k}": float(v) / self.steps_per_epoch for k, v in sums.items()})
        record.update({f"val_{k}": v for k, v in val.items()})
        self.history.append(record)
        if val["mse"] < self.best - cfg.min_delta:
            self.best, self.best_epoch, self.bad_epochs = val["mse"], self.epoch, 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.bad_epochs += 1
        self.epoch += 1
        if self.bad_epochs >= cfg.patience:
            self.stopped_early = True
        return record

    def run(self, stop_after: int | None = None, on_epoch_end=None) -> None:
        """Train until ``epochs``, early stop, or ``stop_after`` epochs (an interruption: no best restore)."""
        while self.epoch < self.config.epochs and not self.stopped_early:
            if stop_after is not None and self.epoch >= stop_after:
                return
            self.train_epoch()
            if on_epoch_end is not None:
                on_epoch_end(self)
        if not self.finished and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        self.finished = True

    def state_dict(self) -> dict:
        """Plain, ``weights_only``-loadable state of the run."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": {
                "kind": "warmup+cosine per step",
                "step": self.step,
                "steps_per_epoch": self.steps_per_epoch,
            },
            "scheduler": self.scheduler.state_dict(),
            "rng": {
                "scheme": "generator_for(seed, epoch|step, 'tokenizer/<stream>')",
                "seed": self.config.seed,
            },
            "epoch": self.epoch,
            "step": self.step,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
            "bad_epochs": self.bad_epochs,
            "history": self.history,
            "stopped_early": self.stopped_early,
            "finished": self.finished,
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        for key in ("epoch", "step", "best", "best_epoch", "best_state", "bad_epochs", "history"):
            setattr(self, key, state[key])
        if "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
        else:  # saved before the scheduler was kept: the rate depends on the step alone, replay it
            for group, lr in zip(self.optimizer.param_groups, self.scheduler.get_last_lr(), strict=True):
                group["lr"] = lr
            with warnings.catch_warnings():  # "scheduler.step() before optimizer.step()"
                warnings.simplefilter("ignore", UserWarning)
                for _ in range(self.step):
                    self.scheduler.step()
        self.stopped_early, self.finished = state["stopped_early"], state["finished"]
