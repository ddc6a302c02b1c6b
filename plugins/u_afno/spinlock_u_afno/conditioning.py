"""θ -> conditioning vector, built from the domain's :class:`~spinlock_core.params.ParameterSpace`.

The backbone must know which member of the operator family it imitates, so every block is
conditioned on an embedding of the *decoded* θ (the prototype never passed θ at all). The
encoding follows the spec of each parameter, so the same network can read any domain:

* :class:`ContinuousParam` -> min-max scaled to ``[-1, 1]`` by the spec's ``low``/``high``, in
  log space when ``log=True`` (a log-uniform parameter spans decades; linear scaling would
  crush all but the largest decade to ``-1``);
* :class:`IntegerParam` -> min-max scaled to ``[-1, 1]``;
* :class:`BooleanParam` -> ``0.0`` / ``1.0``;
* :class:`CategoricalParam` -> a learned ``nn.Embedding`` row per choice (index = choice index).

A degenerate range (``low == high``) encodes as ``0``. Values outside the range are not
clipped: they extrapolate linearly, which keeps θ-sweeps beyond the training box meaningful.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from spinlock_core.api import ConfigError, ParameterSpace

__all__ = ["ThetaEncoder", "ThetaEmbedding"]


class ThetaEncoder(nn.Module):
    """Parameter-free encoding of decoded θ: numeric features and categorical indices.

    ``forward(theta)`` returns ``(numeric [B, n_numeric], categorical [B, n_categorical] int64)``,
    numeric columns in the space's order (continuous, integer, boolean), categorical columns in
    the space's order too. Keys of ``theta`` not in the space are ignored (a trainer may pass
    derived columns along); missing keys raise.
    """

    def __init__(self, space: ParameterSpace | None):
        super().__init__()
        self.space = space if space is not None else ParameterSpace(())
        # encoded = (value' - offset) * scale + shift, value' = log(value) for log-scale params
        numeric, offsets, scales, shifts, logs = [], [], [], [], []
        self.categorical: list[tuple[str, int]] = []
        for p in self.space.params:
            if p.kind == "categorical":
                self.categorical.append((p.name, len(p.choices)))
                continue
            numeric.append(p.name)
            log = bool(getattr(p, "log", False))
            if p.kind == "boolean":
                lo, scale, shift = 0.0, 1.0, 0.0
            else:
                lo, hi = (math.log(p.low), math.log(p.high)) if log else (float(p.low), float(p.high))
                scale, shift = (2.0 / (hi - lo), -1.0) if hi > lo else (0.0, 0.0)
            offsets.append(lo)
            scales.append(scale)
            shifts.append(shift)
            logs.append(log)
        self.numeric = numeric
        self.register_buffer("offset", torch.tensor(offsets, dtype=torch.float64), persistent=False)
        self.register_buffer("scale", torch.tensor(scales, dtype=torch.float64), persistent=False)
        self.register_buffer("shift", torch.tensor(shifts, dtype=torch.float64), persistent=False)
        self.register_buffer("is_log", torch.tensor(logs, dtype=torch.bool), persistent=False)

    @property
    def n_numeric(self) -> int:
        return len(self.numeric)

    def _column(self, theta: Mapping[str, torch.Tensor], name: str) -> torch.Tensor:
        if name not in theta:
            raise ConfigError(
                f"θ is missing parameter {name!r}; the parameter space needs {self.space.names}, "
                f"got {sorted(theta)}"
            )
        return torch.as_tensor(theta[name], device=self.offset.device)

    def batch_size(self, theta: Mapping[str, torch.Tensor] | None) -> int | None:
        for name in self.space.names:
            if theta is not None and name in theta:
                return int(torch.as_tensor(theta[name]).shape[0])
        return None

    def forward(self, theta: Mapping[str, torch.Tensor] | None) -> tuple[torch.Tensor, torch.Tensor]:
        theta = theta or {}
        b = self.batch_size(theta) or 0
        dev = self.offset.device
        if self.numeric:
            # [B, n_numeric] in float64 so log and min-max stay exact for wide ranges
            x = torch.stack([self._column(theta, n).to(torch.float64) for n in self.numeric], dim=1)
            x = torch.where(self.is_log, torch.log(x.clamp_min(1e-300)), x)
            numeric = ((x - self.offset) * self.scale + self.shift).float()
        else:
            numeric = torch.zeros(b, 0, device=dev)
        if self.categorical:
            idx = []
            for name, n in self.categorical:
                v = self._column(theta, name).to(torch.int64)
                # eager only: the check reads values back to the host, which would break a
                # compiled graph (and then recompile per parameter name); θ is checked eagerly
                # before training starts, so the compiled steps lose nothing
                if (
                    not torch.compiler.is_compiling()
                    and v.numel()
                    and (int(v.min()) < 0 or int(v.max()) >= n)
                ):
                    raise ConfigError(
                        f"categorical θ {name!r} must be a choice index in [0, {n}), got {v.tolist()}"
                    )
                idx.append(v)
            categorical = torch.stack(idx, dim=1)
        else:
            categorical = torch.zeros(b, 0, dtype=torch.int64, device=dev)
        return numeric, categorical


class ThetaEmbedding(nn.Module):
    """Decoded θ -> conditioning vector ``c [B, dim]`` (numeric encoding + embeddings, then an MLP).

    Args:
        space: the domain's parameter space (``None`` or empty: a learned constant vector, so a
            family without parameters still gets a well-defined conditioning input).
        dim: size of the conditioning vector fed to every block.
        hidden: hidden width of the two-layer MLP.
        categorical_dim: embedding size of each categorical parameter.

    Note: an embedding row only receives gradient when its choice occurs in the batch.
    """

    def __init__(self, space: ParameterSpace | None, dim: int, hidden: int, categorical_dim: int = 8):
        super().__init__()
        self.encoder = ThetaEncoder(space)
        self.dim = dim
        self.embeddings = nn.ModuleList(nn.Embedding(n, categorical_dim) for _, n in self.encoder.categorical)
        n_in = self.encoder.n_numeric + categorical_dim * len(self.embeddings)
        if n_in == 0:
            self.constant = nn.Parameter(torch.zeros(dim))
            self.mlp = None
        else:
            self.constant = None
            self.mlp = nn.Sequential(nn.Linear(n_in, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(
        self, theta: Mapping[str, torch.Tensor] | None, batch_size: int | None = None
    ) -> torch.Tensor:
        """``theta``: ``{name: Tensor [B]}`` decoded values -> ``c [B, dim]``."""
        if self.mlp is None:
            if batch_size is None:
                raise ConfigError("an empty parameter space needs an explicit batch size")
            return self.constant.unsqueeze(0).expand(batch_size, -1)
        numeric, categorical = self.encoder(theta)
        parts = [numeric] + [emb(categorical[:, j]) for j, emb in enumerate(self.embeddings)]
        return self.mlp(torch.cat(parts, dim=1))
