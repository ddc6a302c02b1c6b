"""The frozen-tokenizer path shared by the ``commit`` and ``latent`` losses.

For one TBPTT window of normalised fields ``[B, w, C, H, W]``::

    physical trajectory [B, M=1, T, C, H, W]     x * std + mean; the state before the window
                                                 first when the stage gives it (T = w + 1, else
                                                 w); evenly spaced states if latent_sample_steps
    per-sample families (summary, ...)           the feature plugins' own torch code, with grad
    + the sample's stored feature row            columns that do not depend on the rollout
    -> the tokenizer's input row [B, D_in]       in the order its preprocessing reads
    -> Preprocessor.torch_transform              imputation, indicators, robust scaling, clip
    -> per-category encoders                     frozen (no grad to their weights, eval mode)
    -> z = [z_c]  (and q(z) from the quantizers)

What this aligns is *window-level* behaviour: the tokenizer was fit on features of whole
samples (every stored step, every realization), while a window holds ``w`` steps of one
realization, so its features are those of a short single-realization trajectory. Columns that
need several realizations (``__std`` aggregates, ensemble columns) are undefined (NaN) for a
window; the tokenizer's imputation fills them, identically for prediction and truth, and they
carry no gradient.

Gradient hygiene: the feature code returns NaN where a quantity is undefined and guards its
divisions, but a few degenerate inputs (a field constant in space, two identical consecutive
states) still give ``0 * inf`` in the backward pass. An identity with a guarded backward sits
at the entry of the feature path: a sample whose gradient there is not finite contributes none
(its row is zeroed), so one degenerate window never poisons the backbone's update. How many
rows were zeroed is counted in :attr:`WindowLatents.guarded`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from spinlock_core.api import (
    CheckpointError,
    ConfigError,
    DatasetError,
    FeatureBatch,
    LossContext,
    LossSetup,
    StageError,
    feature_table,
    load_plugin,
    load_tokenizer,
    load_yaml,
    structure,
    warn,
)

__all__ = ["WindowLatents", "kept_states", "load_frozen_tokenizer"]


def kept_states(n_states: int, sample_steps: int | None) -> torch.Tensor:
    """Indices of ``sample_steps`` evenly spaced states of ``n_states`` (first and last kept)."""
    if sample_steps is None or sample_steps >= n_states:
        return torch.arange(n_states)
    return torch.linspace(0, n_states - 1, sample_steps).round().long().unique()


def load_frozen_tokenizer(path, device, loss: str):
    """The run's tokenizer (through its ``spinlock.tokenizers`` plugin), frozen on ``device``."""
    if path is None or not Path(path).is_file():
        raise StageError(
            f"loss {loss} needs a trained tokenizer: run stage=tokenizer first / add tokenizer to "
            f"the pipeline (no tokenizer checkpoint{'' if path is None else f' at {path}'})"
        )
    try:
        tokenizer = load_tokenizer(path, device=str(device))
    except CheckpointError as exc:
        raise StageError(f"loss {loss}: {exc}") from exc
    name = tokenizer.name
    for attribute in ("preprocessor", "model"):
        if getattr(tokenizer, attribute, None) is None:
            raise StageError(
                f"loss {loss}: tokenizer {name!r} has no {attribute}; it cannot be used as a loss"
            )
    pre, model = tokenizer.preprocessor, tokenizer.model
    missing = [
        need
        for need, obj in (("preprocessor.torch_transform", pre), ("model.encode_latents", model))
        if not hasattr(obj, need.split(".")[1])
    ]
    if missing or not hasattr(model, "quantizers"):
        raise StageError(
            f"loss {loss}: tokenizer {name!r} has no differentiable latent path "
            f"(needs {', '.join(missing + ['model.quantizers'])})"
        )
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return tokenizer


class _GuardedEntry(torch.autograd.Function):
    """Identity; in backward, rows (samples) whose gradient is not finite are zeroed and counted."""

    @staticmethod
    def forward(ctx, x, owner):
        ctx.owner = owner
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        bad = ~torch.isfinite(grad).flatten(1).all(1)
        ctx.owner._guarded = ctx.owner._guarded + bad.sum()
        mask = bad.view(-1, *([1] * (grad.ndim - 1)))
        return torch.where(mask, torch.zeros_like(grad), grad), None


class WindowLatents:
    """Tokenizer latents of TBPTT windows (see the module docstring). Not an ``nn.Module``:
    the frozen tokenizer must stay out of the loss's parameters and checkpoints."""

    def __init__(self, families, setup: LossSetup, loss: str):
        self.loss, self.setup = loss, setup
        self.device = torch.device(setup.device)
        self.tokenizer = load_frozen_tokenizer(setup.tokenizer_path, self.device, loss)
        self.model = self.tokenizer.model
        self.pre = self.tokenizer.preprocessor
        self.sample_steps = setup.latent_sample_steps
        path = Path(setup.run_dir) / "features" / "features.h5"
        if not path.is_file():
            raise StageError(
                f"loss {loss} needs {path} (the feature table the tokenizer was fit on): run stage=features"
            )
        inputs = list(self.pre.input_columns)
        self.families = self._families(path, families, inputs)
        # each recomputed input column: (family, position in the family's output)
        computed = [(i, c) for i, c in enumerate(inputs) if c.split("/", 1)[0] in self.families]
        names = {f: [c.name for c in fam.columns(setup.domain)] for f, fam in self.families.items()}
        self._picks = {
            f: torch.tensor(
                [names[f].index(c.split("/", 1)[1]) for _, c in computed if c.split("/", 1)[0] == f],
                device=self.device,
            )
            for f in self.families
        }
        stored = [(i, c) for i, c in enumerate(inputs) if c.split("/", 1)[0] not in self.families]
        table, columns = feature_table(path)
        pos = {c: j for j, c in enumerate(columns)}
        lacking = [c for _, c in stored if c not in pos]
        if lacking:
            raise DatasetError(f"{path} lacks {len(lacking)} column(s) the tokenizer reads: {lacking[:5]}")
        self._stored = torch.as_tensor(
            table[:, [pos[c] for _, c in stored]], dtype=torch.float32, device=self.device
        )
        layout = [i for f in self.families for i, c in computed if c.split("/", 1)[0] == f]
        layout += [i for i, _ in stored]
        self._to_inputs = torch.argsort(torch.tensor(layout, device=self.device))
        import h5py

        with h5py.File(path, "r") as f:
            index = f["index"][...].astype(np.int64)
        self._row_of = np.full(int(index.max()) + 1 if len(index) else 0, -1, dtype=np.int64)
        self._row_of[index] = np.arange(len(index))
        norm = setup.normaliser
        self._mean = torch.as_tensor(np.asarray(norm["mean"]), dtype=torch.float32, device=self.device)
        self._std = torch.as_tensor(np.asarray(norm["std"]), dtype=torch.float32, device=self.device)
        self._guarded = torch.zeros((), dtype=torch.long, device=self.device)
        self._taken = 0

    # ---------------------------------------------------------------- setup
    def _families(self, path: Path, wanted, inputs: list[str]) -> dict:
        """The recomputed families, built with the options ``features.h5`` was made with."""
        import h5py

        with h5py.File(path, "r") as f:
            stored = {k: json.loads(f[k].attrs["columns"]) for k in f if k != "index"}
            made = load_yaml(f.attrs["config"]) if "config" in f.attrs else {}
        options = (made or {}).get("feature") or {}
        used = {c.split("/", 1)[0] for c in inputs}
        where = f"loss.{self.loss}.families"
        if wanted is None:
            wanted = [n for n in sorted(stored) if n in used and self._is_rollout_family(n)]
            if not wanted:
                raise ConfigError(
                    f"{where}: no per-sample family computed from trajectories feeds the tokenizer "
                    f"(its input families: {sorted(used)}); nothing of the rollout reaches the tokenizer"
                )
        families = {}
        for name in wanted:
            spec = load_plugin("features", name)
            family = spec.create(
                structure(options.get(name), spec.config_class, f"feature.{name}")
                if spec.config_class
                else None
            )
            if not family.needs_trajectories:
                raise ConfigError(
                    f"{where}: {name!r} does not depend on the rollout (it reads θ and u0 only); its "
                    f"columns are taken from the stored feature row already: drop it"
                )
            if family.scope != "sample":
                raise ConfigError(
                    f"{where}: {name!r} is a per-timestep family; the tokenizer reads per-sample tables "
                    f"only, so none of its inputs comes from it: drop it"
                )
            if name not in used:
                raise ConfigError(
                    f"{where}: none of {name!r}'s columns is a tokenizer input (its input families: "
                    f"{sorted(used)}; see tokenizer.families / include_columns / exclude_columns)"
                )
            declared = [c.name for c in family.columns(self.setup.domain)]
            if declared != [c["name"] for c in stored.get(name, [])]:
                raise DatasetError(
                    f"loss {self.loss}: family {name!r} now declares other columns than {path} holds; "
                    f"its options changed since the features stage ran: rerun stage=features and tokenizer"
                )
            families[name] = family
        return families

    @staticmethod
    def _is_rollout_family(name: str) -> bool:
        spec = load_plugin("features", name)
        cls = spec.load_implementation()
        return bool(getattr(cls, "needs_trajectories", False)) and getattr(cls, "scope", "") == "sample"

    # ------------------------------------------------------------- compute
    @property
    def latent_dim(self) -> int:
        """Width of the concatenated category latents."""
        return int(sum(self.model.spec["latent_dims"]))

    @property
    def guarded(self) -> int:
        """Rows whose non-finite gradient was zeroed at the feature path's entry, so far."""
        return int(self._guarded)

    def take_guarded(self) -> int:
        """Rows zeroed since the previous call (the first time, also a warning)."""
        total = self.guarded
        new, self._taken = total - self._taken, total
        if new and total == new:
            warn(
                f"loss {self.loss}: the feature path of a window gave a non-finite gradient (a degenerate "
                f"field); that sample's gradient was dropped (counted in the {self.loss}_guarded log)"
            )
        return new

    def _trajectory(
        self, window: torch.Tensor, before: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Physical ``[B, 1, T, C, H, W]`` trajectory of a window and its times ``[T]``."""
        states = window.float()
        if before is not None:
            states = torch.cat([before.float().unsqueeze(1).to(states.device), states], dim=1)
        keep = kept_states(states.shape[1], self.sample_steps).to(states.device)
        states = states.index_select(1, keep)
        phys = states * self._std.view(1, 1, -1, 1, 1) + self._mean.view(1, 1, -1, 1, 1)
        times = keep.double() * float(self.setup.domain.dt)
        return phys.unsqueeze(1), times

    def _rows(self, samples) -> torch.Tensor:
        samples = np.asarray(samples, dtype=np.int64)
        if samples.min(initial=0) < 0 or samples.max(initial=-1) >= len(self._row_of):
            raise DatasetError(f"loss {self.loss}: samples {samples.tolist()} are outside the feature table")
        rows = self._row_of[samples]
        if (rows < 0).any():
            raise DatasetError(f"loss {self.loss}: samples {samples[rows < 0].tolist()} have no feature row")
        return torch.as_tensor(rows, device=self.device)

    def inputs(self, window: torch.Tensor, before: torch.Tensor | None, ctx: LossContext) -> torch.Tensor:
        """Raw tokenizer input rows ``[B, D_in]`` of a window (with a graph to ``window``)."""
        traj, times = self._trajectory(window, before)
        if traj.requires_grad:
            traj = _GuardedEntry.apply(traj, self)
        u0 = ctx.u0.float() * self._std.view(1, -1, 1, 1) + self._mean.view(1, -1, 1, 1)
        theta = {k: torch.as_tensor(v).detach().cpu().numpy() for k, v in (ctx.theta or {}).items()}
        batch = FeatureBatch(domain=self.setup.domain, theta=theta, u0=u0, trajectories=traj, time=times)
        with torch.autocast(traj.device.type, enabled=False):
            parts = [family.extract(batch).float()[:, self._picks[n]] for n, family in self.families.items()]
        parts.append(self._stored[self._rows(ctx.samples)])
        return torch.cat(parts, dim=1)[:, self._to_inputs]

    def latents(self, window: torch.Tensor, before: torch.Tensor | None, ctx: LossContext) -> torch.Tensor:
        """Continuous tokenizer latent ``z [B, latent_dim]`` (categories side by side)."""
        with torch.autocast(self.device.type, enabled=False):
            scaled = self.pre.torch_transform(self.inputs(window, before, ctx))
            return torch.cat(self.model.encode_latents(scaled), dim=1)

    @torch.no_grad()
    def quantize(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(q(z) [B, latent_dim], codes [B, categories * levels])`` by the frozen codebooks."""
        qs, codes, start = [], [], 0
        for vq, dim in zip(self.model.quantizers, self.model.spec["latent_dims"], strict=True):
            zq, c, _, _ = vq(z[:, start : start + dim])
            qs.append(zq)
            codes.append(c)
            start += dim
        return torch.cat(qs, dim=1), torch.cat(codes, dim=1)
