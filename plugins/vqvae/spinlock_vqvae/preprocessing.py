"""One preprocessing object, fit on the training split and saved with the model.

Order of operations (the same at fit and at ``transform``):

1. select columns by family (prefix before ``/``) and by name globs;
2. treat non-finite values as missing; impute with the training median and add a
   ``<column>#missing`` 0/1 indicator for every column that had missing values in training;
3. robust scaling ``(x - median) / (IQR / 1.349)`` (std when the IQR is zero), clipped to
   ``[-clip, clip]``; all statistics come from the training rows only;
4. drop near-constant columns and near-duplicates (|Spearman r| > threshold to an earlier kept
   column), decided on the training rows;
5. divide each kept column by its training standard deviation after clipping, so every model
   input has unit variance on the training rows. Robust scaling alone leaves heavy-tailed columns
   with variances far above 1; with unit variances, 1 - MSE is the prototype's "quality" on
   z-scored targets and no column dominates the reconstruction loss by its tails.

Every dropped column has a reason that starts with its kind (``all-NaN``, ``constant``,
``near-duplicate``; ``dropped``, also in the tokenizer's metrics as ``dropped_columns``), and
``column_flow`` counts the columns at each step: table, selected, indicators added, dropped by
kind, model inputs.

The whole state is plain lists and dicts, so it lives inside a ``weights_only`` checkpoint and
``transform`` replays it exactly on any raw table that has the input columns by name;
``torch_transform`` replays it in torch with gradients (for losses through the tokenizer).
"""

from __future__ import annotations

from fnmatch import fnmatch
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from spinlock_core.api import ConfigError, DatasetError

__all__ = ["Preprocessor", "family_of", "spearman_matrix", "as_numpy", "drop_kind", "drop_summary"]

MISSING_SUFFIX = "#missing"


def family_of(column: str) -> str:
    """The family of a column name: its prefix before the first ``/`` ("" when there is none)."""
    return column.split("/", 1)[0] if "/" in column else ""


def as_numpy(table) -> np.ndarray:
    """A float64 ``[N, D]`` numpy copy of a tensor or array-like."""
    if hasattr(table, "detach"):
        table = table.detach().cpu().numpy()
    arr = np.array(table, dtype=np.float64)
    if arr.ndim != 2:
        raise DatasetError(f"feature table must be 2-D [N, D], got shape {arr.shape}")
    return arr


def spearman_matrix(x: np.ndarray) -> np.ndarray:
    """Spearman correlation of the columns of ``x`` (average ranks for ties; 0 for constant columns).

    scipy's ``spearmanr`` on the non-constant columns (on a constant one it returns NaN for the
    whole matrix, and a scalar for two columns); the diagonal is 1."""
    x = np.asarray(x, dtype=np.float64)
    r = np.zeros((x.shape[1], x.shape[1]))
    ok = np.flatnonzero(np.ptp(x, axis=0) > 0)  # NaN in a column: ptp is NaN, treated as constant
    if len(ok) > 1:
        rho = spearmanr(x[:, ok]).statistic
        r[np.ix_(ok, ok)] = rho if len(ok) > 2 else [[1.0, rho], [rho, 1.0]]
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0)


def select_columns(columns: list[str], config) -> list[str]:
    """The input columns the config asks for, in table order."""
    chosen = []
    for col in columns:
        if config.families is not None and family_of(col) not in config.families:
            continue
        if config.include_columns is not None and not any(fnmatch(col, p) for p in config.include_columns):
            continue
        if any(fnmatch(col, p) for p in config.exclude_columns):
            continue
        chosen.append(col)
    if not chosen:
        families = sorted({family_of(c) for c in columns})
        raise ConfigError(
            f"tokenizer: no column left after selection (families={config.families}, "
            f"include={config.include_columns}, exclude={list(config.exclude_columns)}); "
            f"the table has families {families}"
        )
    return chosen


#: Why a column is dropped: the reason strings start with one of these.
DROP_KINDS = ("all-NaN", "constant", "near-duplicate")


def drop_kind(reason: str) -> str:
    """The kind of a drop reason (:data:`DROP_KINDS`), ``other`` for a reason of no known kind."""
    return next((k for k in DROP_KINDS if reason.startswith(k)), "other")


def drop_summary(dropped: dict[str, str]) -> dict[str, int]:
    """``{kind: count}`` of dropped columns, kinds in :data:`DROP_KINDS` order, zero counts left out."""
    kinds = [drop_kind(r) for r in dropped.values()]
    return {k: kinds.count(k) for k in (*DROP_KINDS, "other") if kinds.count(k)}


class Preprocessor:
    """Column selection, imputation with indicators, robust scaling and column pruning."""

    def __init__(self, state: dict[str, Any]):
        self.state = state

    @property
    def input_columns(self) -> list[str]:
        """Raw columns read from a table, in order."""
        return self.state["input_columns"]

    @property
    def output_columns(self) -> list[str]:
        """Names of the scaled features the model sees (indicators end in ``#missing``)."""
        return self.state["output_columns"]

    @property
    def dropped(self) -> dict[str, str]:
        """Column -> reason, for every selected column (or indicator) that was removed."""
        return self.state["dropped"]

    @classmethod
    def fit(cls, table, columns, train_rows, corr_rows, config) -> Preprocessor:
        """Fit on ``table[train_rows]``; ``corr_rows`` (a subset) is used for the duplicate check."""
        x = as_numpy(table)
        columns = [str(c) for c in columns]
        if x.shape[1] != len(columns):
            raise DatasetError(f"table has {x.shape[1]} columns but {len(columns)} names were given")
        if len(set(columns)) != len(columns):
            raise DatasetError("column names must be unique")
        selected = select_columns(columns, config)
        pos = {c: i for i, c in enumerate(columns)}
        train = x[np.asarray(train_rows)][:, [pos[c] for c in selected]]
        train[~np.isfinite(train)] = np.nan
        dropped: dict[str, str] = {}

        all_missing = np.isnan(train).all(axis=0)
        for j in np.flatnonzero(all_missing):
            dropped[selected[j]] = "all-NaN: missing in every training row"
        inputs = [c for j, c in enumerate(selected) if not all_missing[j]]
        train = train[:, ~all_missing]
        impute = np.nanmedian(train, axis=0) if train.size else np.zeros(0)
        indicator_for = [c for j, c in enumerate(inputs) if np.isnan(train[:, j]).any()]

        state = {"input_columns": inputs, "impute": impute.tolist(), "indicator_for": indicator_for}
        expanded, names = _expand(train, state)
        center = np.median(expanded, axis=0)
        q75, q25 = np.percentile(expanded, [75, 25], axis=0)
        scale = (q75 - q25) / 1.349
        std = expanded.std(axis=0)
        tol = config.constant_tolerance * np.maximum(1.0, np.abs(center))
        constant = std <= tol
        scale = np.where(scale > tol, scale, std)
        for j in np.flatnonzero(constant):
            dropped[names[j]] = "constant: near-constant in training split"
        scale = np.where(constant, 1.0, scale)
        scaled = np.clip((expanded - center) / scale, -config.clip, config.clip)

        keep = [j for j in range(len(names)) if not constant[j]]
        local = {int(r): i for i, r in enumerate(np.asarray(train_rows))}
        sub = scaled[[local[int(r)] for r in corr_rows]][:, keep]
        r = np.abs(spearman_matrix(sub)) if len(keep) > 1 else np.ones((len(keep), len(keep)))
        kept_local: list[int] = []
        for a in range(len(keep)):
            dup = [b for b in kept_local if r[a, b] > config.duplicate_threshold]
            if dup:
                b = dup[0]
                dropped[names[keep[a]]] = f"near-duplicate of {names[keep[b]]} (|spearman r|={r[a, b]:.4f})"
            else:
                kept_local.append(a)
        kept = [keep[a] for a in kept_local]
        if not kept:
            raise DatasetError("tokenizer: every selected column is constant, missing or duplicated")
        unit = scaled[:, kept].std(axis=0)
        state.update(
            expanded_index=kept,
            output_columns=[names[j] for j in kept],
            center=center[kept].tolist(),
            scale=scale[kept].tolist(),
            clip=float(config.clip),
            unit=np.where(unit > 0, unit, 1.0).tolist(),
            dropped=dropped,
            column_flow={
                "table": len(columns),
                "selected": len(selected),
                "indicators": len(indicator_for),
                "dropped": drop_summary(dropped),
                "output": len(kept),
            },
        )
        return cls(state)

    def transform(self, table, columns=None) -> np.ndarray:
        """Scaled features ``[N, len(output_columns)]`` (float32) of a raw table.

        ``columns`` names the table's columns; when omitted the table must hold exactly
        ``input_columns`` in order. Extra columns are ignored; a missing one is an error.
        """
        x = as_numpy(table)
        if columns is None:
            if x.shape[1] != len(self.input_columns):
                raise DatasetError(
                    f"table has {x.shape[1]} columns; pass `columns` or give exactly the "
                    f"{len(self.input_columns)} input columns in order"
                )
            raw = x
        else:
            pos = {str(c): i for i, c in enumerate(columns)}
            missing = [c for c in self.input_columns if c not in pos]
            if missing:
                raise DatasetError(f"table lacks {len(missing)} column(s) the tokenizer needs: {missing[:5]}")
            raw = x[:, [pos[c] for c in self.input_columns]]
        raw = raw.copy()
        raw[~np.isfinite(raw)] = np.nan
        expanded, _ = _expand(raw, self.state)
        idx = self.state["expanded_index"]
        out = (expanded[:, idx] - np.asarray(self.state["center"])) / np.asarray(self.state["scale"])
        out = np.clip(out, -self.state["clip"], self.state["clip"]) / self._unit()
        return out.astype(np.float32)

    def _unit(self) -> np.ndarray:
        """Step 5's per-column divisor (ones for a state saved before that step existed)."""
        return np.asarray(self.state.get("unit", np.ones(len(self.state["center"]))))

    def torch_transform(self, x):
        """:meth:`transform` in torch, differentiable: ``x [N, len(input_columns)]`` -> scaled ``[N, D']``.

        ``x`` holds exactly :attr:`input_columns` in order (raw units). The arithmetic is the
        numpy path's, in float64 (so the values are equal), returned as float32. The gradient
        is zero where a value is imputed (non-finite input) or clipped, and ``torch.where``
        keeps a non-finite input from turning it into NaN.
        """
        import torch

        if x.ndim != 2 or x.shape[1] != len(self.input_columns):
            raise DatasetError(
                f"torch_transform takes [N, {len(self.input_columns)}] (the input columns in order), "
                f"got {list(x.shape)}"
            )
        t = self._torch_state(x.device)
        xd = x.double()
        missing = ~torch.isfinite(xd)
        values = torch.where(missing, t["impute"], xd)
        expanded = torch.cat([values, missing[:, t["indicator"]].double()], dim=1)
        out = (expanded[:, t["index"]] - t["center"]) / t["scale"]
        clip = self.state["clip"]
        return (out.clamp(-clip, clip) / t["unit"]).float()

    def _torch_state(self, device) -> dict:
        """The statistics as float64 tensors on ``device`` (built once per device)."""
        import torch

        cache = self.__dict__.setdefault("_torch_cache", {})
        key = str(device)
        if key not in cache:
            st = self.state
            pos = {c: i for i, c in enumerate(st["input_columns"])}

            def f64(values):
                return torch.tensor(values, dtype=torch.float64, device=device).reshape(-1)

            cache[key] = {
                "impute": f64(st["impute"]),
                "indicator": torch.tensor(
                    [pos[c] for c in st["indicator_for"]], dtype=torch.long, device=device
                ),
                "index": torch.tensor(st["expanded_index"], dtype=torch.long, device=device),
                "center": f64(st["center"]),
                "scale": f64(st["scale"]),
                "unit": f64(self._unit()),
            }
        return cache[key]

    def unscale(self, scaled) -> np.ndarray:
        """Scaled features back to raw units (indicators come back as 0/1 probabilities-ish values;
        clipped values stay clipped)."""
        s = as_numpy(scaled) * self._unit()
        return s * np.asarray(self.state["scale"]) + np.asarray(self.state["center"])


def _expand(raw: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, list[str]]:
    """Imputed input columns followed by missing indicators, with their names."""
    inputs = state["input_columns"]
    missing = np.isnan(raw)
    values = np.where(missing, np.asarray(state["impute"])[None, :], raw)
    pos = {c: i for i, c in enumerate(inputs)}
    ind = [pos[c] for c in state["indicator_for"]]
    indicators = missing[:, ind].astype(np.float64)
    names = list(inputs) + [c + MISSING_SUFFIX for c in state["indicator_for"]]
    return np.concatenate([values, indicators], axis=1), names
