"""Everything ``generate`` and ``replay`` derive from a resolved config, and one batch's work."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from .. import registry
from ..config import ResolvedConfig
from ..console import warn
from ..interfaces import DomainInfo, FeatureBatch, FeatureFamily, Grid, Operator
from ..rollout import rollout
from ..sampling import centered_l2_discrepancy, sample_space
from ..seeding import sample_seed
from ..storage import SCHEMA_VERSION, STATUS
from .config import GenerateConfig
from .features import extract_guarded, family_options

__all__ = ["GenerationSetup", "generate_chunk", "chunk_batches", "simulate", "simulate_states"]

#: Rows of the θ sample the centred L2 discrepancy is computed on (it costs O(n^2)).
DISCREPANCY_ROWS = 8192

_REASONS = {0: "", 1: "non-finite value", 2: "|u| above generate.divergence_bound"}


def _versions() -> dict[str, str]:
    import h5py
    import torch

    from .. import __version__

    return {
        "spinlock": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
    }


@attrs.define
class GenerationSetup:
    """Domain, operator, grid, IC sampler, θ sample and feature families of one config."""

    config: ResolvedConfig
    cfg: GenerateConfig
    device: Any
    dtype: Any
    domain: Any
    operator: Operator
    operator_name: str
    grid: Grid
    ics: Any
    realizations: int
    unit: np.ndarray
    theta: dict[str, np.ndarray]
    families: dict[str, FeatureFamily]
    info: DomainInfo
    _root_attrs: dict[str, Any] | None = attrs.field(default=None, init=False)

    @property
    def stored_realizations(self) -> int:
        """Realizations whose trajectories are stored: the first ``generate.stored_realizations``."""
        wanted = self.cfg.stored_realizations
        return self.realizations if wanted is None else min(wanted, self.realizations)

    @classmethod
    def from_context(cls, context) -> GenerationSetup:
        return cls.from_config(context.config, context.device)

    @classmethod
    def from_config(cls, config: ResolvedConfig, device) -> GenerationSetup:
        import torch

        cfg: GenerateConfig = config.section("generate")
        if not config.get("domain.name") or not config.get("operator.name"):
            raise registry.UnknownPluginError(
                f"generate needs a domain and an operator: pass domain=NAME (installed: "
                f"{', '.join(registry.available('domains'))}) and, if the domain has no default, operator=NAME"
            )
        domain_spec = registry.load("domains", config.get("domain.name"))
        domain = domain_spec.create(config.sections.get("domain"))
        operator_name = config.get("operator.name")
        if domain.operators and operator_name not in domain.operators:
            raise registry.UnknownPluginError(
                f"operator {operator_name!r} is not an operator of domain {domain.name!r}; "
                f"valid: {', '.join(domain.operators)}"
            )
        operator = registry.load("operators", operator_name).create(config.sections.get("operator"))
        grid = domain.grid(cfg.grid, operator)
        realizations = cfg.realizations if operator.stochastic else 1
        if realizations != cfg.realizations:
            warn(
                f"operator {operator_name!r} is deterministic: storing 1 realization, not {cfg.realizations}"
            )
        unit, theta = sample_space(operator.parameter_space, cfg.n_samples, config.core.seed)
        families = {}
        if cfg.inline_features:
            for name in config.core.features:
                families[name] = registry.load("features", name).create(
                    config.sections.get(f"feature.{name}")
                )
        if cfg.deterministic and torch.device(device).type == "cuda":
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        info = DomainInfo(
            name=domain.name,
            channels=operator.channels,
            grid=grid,
            dt=domain.time_per_state(operator),
            parameter_space=operator.parameter_space,
            operator=operator_name,
            derived=operator.derived_names,
        )
        return cls(
            config=config,
            cfg=cfg,
            device=torch.device(device),
            dtype=getattr(torch, cfg.dtype),
            domain=domain,
            operator=operator,
            operator_name=operator_name,
            grid=grid,
            ics=domain.initial_conditions(operator, cfg.ic_weights),
            realizations=realizations,
            unit=unit,
            theta=theta,
            families=families,
            info=info,
        )

    def feature_columns(self) -> dict[str, list[dict]]:
        return {
            name: [attrs.asdict(c) for c in family.columns(self.info)]
            for name, family in self.families.items()
        }

    def feature_options(self) -> dict[str, Any]:
        """``{family: options}`` of the families computed inline (see :func:`family_options`)."""
        return {name: family_options(self.config, name) for name in self.families}

    def root_attrs(self) -> dict[str, Any]:
        """The dataset's attributes, written into every part (computed once per setup)."""
        if self._root_attrs is None:
            self._root_attrs = self._make_root_attrs()
        return self._root_attrs

    def _make_root_attrs(self) -> dict[str, Any]:
        g = self.grid
        # The discrepancy is O(n^2): beyond this many rows it is taken on the first ones.
        rows = min(len(self.unit), DISCREPANCY_ROWS)
        return {
            "schema_version": SCHEMA_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": self.config.to_yaml(),
            "versions": json.dumps(_versions()),
            "domain": self.info.name,
            "operator": self.operator_name,
            "channels": json.dumps(list(self.info.channels)),
            "grid": json.dumps(
                {"shape": list(g.shape), "extent": [list(e) for e in g.extent], "periodic": g.periodic}
            ),
            "parameter_space": json.dumps(self.operator.parameter_space.describe()),
            "ic_types": json.dumps(list(self.ics.names)),
            "seed": self.config.core.seed,
            "steps": self.cfg.steps,
            "trajectory_stride": self.cfg.trajectory_stride,
            "realizations": self.realizations,
            "stored_realizations": self.stored_realizations,
            "time_per_state": self.info.dt,
            "dtype": self.cfg.dtype,
            "trajectory_dtype": self.cfg.trajectory_dtype,
            "device": str(self.device),
            "batch_size": self.cfg.batch_size,
            "centered_l2_discrepancy": centered_l2_discrepancy(self.unit[:rows]),
            "centered_l2_discrepancy_rows": rows,
            "feature_columns": json.dumps(self.feature_columns()),
            "feature_options": json.dumps(self.feature_options()),
            "derived_names": json.dumps(list(self.info.derived)),
        }

    def summary(self, shards: list[Path]) -> dict[str, Any]:
        import h5py

        status = []
        for s in shards:
            with h5py.File(s, "r") as f:
                status.append(f["samples/status"][...])
        codes = np.concatenate(status)
        return {"status": {name: int((codes == code).sum()) for name, code in STATUS.items()}}


def simulate_states(
    setup: GenerationSetup, indices: np.ndarray, theta: dict[str, np.ndarray], seed: int | None = None
):
    """``(ic types, u0, rollout result)`` of one batch, left on the device (no grad).

    The samples' own seeds make every value; ``simulate`` stores them, the ``mno`` stage's
    online mode trains on them without touching the disk, and ``validate`` makes its ground
    truth with its own ``seed`` (default: the run's).
    """
    import torch

    seed = setup.config.core.seed if seed is None else seed
    with torch.no_grad():
        types, u0 = setup.ics.sample(
            seed, indices, len(setup.operator.channels), setup.grid, setup.device, torch.float32, theta=theta
        )
        stepper = setup.operator.build(theta, indices, seed, setup.grid, setup.device, setup.dtype)
        result = rollout(
            stepper,
            u0.to(setup.dtype),
            steps=setup.cfg.steps,
            realizations=setup.realizations,
            stride=1,
            bound=setup.cfg.divergence_bound,
        )
    return types, u0, result


def simulate(setup: GenerationSetup, indices: np.ndarray, theta: dict[str, np.ndarray]) -> dict[str, Any]:
    """One batch's arrays (sample axis first), as stored in a part file."""
    import torch

    cfg = setup.cfg
    with torch.no_grad():
        types, u0, result = simulate_states(setup, indices, theta)
        states = result.states.float()
        features = {}
        if setup.families:
            time_axis = torch.arange(states.shape[2], device=states.device) * setup.info.dt
            batch = FeatureBatch(
                domain=setup.info,
                theta=theta,
                u0=u0,
                trajectories=states,
                time=time_axis,
                derived=setup.operator.derived_columns(theta, setup.grid),
            )
            # a diverged sample gets NaN rows; the others are as in a batch without it
            diverged = result.diverged_step.cpu().numpy() >= 0
            features = extract_guarded(setup.families, batch, diverged=diverged)
        step = result.diverged_step.cpu().numpy()
        reason = result.diverged_reason.cpu().numpy()
    arrays: dict[str, Any] = {
        "ic": u0.float().cpu().numpy(),
        "samples": {
            "ic_type": np.asarray(types, dtype=np.int16),
            "status": np.where(step >= 0, STATUS["diverged"], STATUS["ok"]).astype(np.int8),
            "diverged_step": step.astype(np.int32),
            "reason": np.array([_REASONS[int(c)] for c in reason], dtype=object),
        },
    }
    if cfg.store_trajectories:
        stored = states[:, : setup.stored_realizations, :: cfg.trajectory_stride]
        arrays["trajectories"] = stored.to(getattr(torch, cfg.trajectory_dtype)).cpu().numpy()
    if features:
        arrays["features"] = features
    return arrays


def _failed(setup: GenerationSetup, indices: np.ndarray, exc: BaseException) -> dict[str, Any]:
    """Placeholder arrays for samples that raised: NaN data, status failed with the reason."""
    b, c, n = len(indices), len(setup.operator.channels), setup.grid.shape
    reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    t = setup.cfg.steps // setup.cfg.trajectory_stride + 1
    arrays: dict[str, Any] = {
        "ic": np.full((b, c, *n), np.nan, np.float32),
        "samples": {
            "ic_type": np.full(b, -1, np.int16),
            "status": np.full(b, STATUS["failed"], np.int8),
            "diverged_step": np.full(b, -1, np.int32),
            "reason": np.array([reason] * b, dtype=object),
        },
    }
    if setup.cfg.store_trajectories:
        shape = (b, setup.stored_realizations, t, c, *n)
        arrays["trajectories"] = np.full(shape, np.nan, dtype=setup.cfg.trajectory_dtype)
    if setup.families:
        columns = setup.feature_columns()
        arrays["features"] = {}
        for name, family in setup.families.items():
            d = len(columns[name])
            shape = (b, t, d) if family.scope == "timestep" else (b, d)
            arrays["features"][name] = np.full(shape, np.nan, np.float32)
    return arrays


def _concat(parts: list[dict]) -> dict:
    out = {}
    for key, value in parts[0].items():
        if isinstance(value, dict):
            out[key] = _concat([p[key] for p in parts])
        else:
            out[key] = np.concatenate([p[key] for p in parts])
    return out


def _subset(theta: dict[str, np.ndarray], rows) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in theta.items()}


def chunk_batches(
    setup: GenerationSetup, indices: np.ndarray, theta: dict[str, np.ndarray]
) -> list[np.ndarray]:
    """The batches a chunk is cut into: rows sorted (stably) by the operator's batch key.

    A function of the chunk's θ alone, so resume and replay cut the same batches.
    """
    key = np.asarray(setup.operator.batch_order_key(theta))
    order = np.argsort(key, kind="stable")
    size = setup.cfg.batch_size
    return [order[i : i + size] for i in range(0, len(order), size)]


def _simulate_batch(setup, indices, theta, rows, batch_id):
    """One batch (chunk rows ``rows``); a batch that raises is retried sample by sample."""
    try:
        arrays = simulate(setup, indices[rows], _subset(theta, rows))
        return arrays, np.full(len(rows), batch_id, dtype=np.int64)
    except Exception as exc:
        if len(rows) == 1:
            raise  # nothing to isolate: a lone sample that raises is a bug or a setup problem
        warn(
            f"a batch of samples {sorted(indices[rows].tolist())[:4]}... raised {type(exc).__name__}; retrying one by one"
        )
        pieces, errors = [], []
        for r in rows:
            try:
                pieces.append(simulate(setup, indices[[r]], _subset(theta, [r])))
            except Exception as single:
                errors.append(single)
                pieces.append(_failed(setup, indices[[r]], single))
        if len(errors) == len(rows):
            raise errors[0] from exc  # every sample fails alike: a bug or a setup problem, not data
        return _concat(pieces), np.full(len(rows), -1, dtype=np.int64)  # -1: made alone


def generate_chunk(setup: GenerationSetup, indices: np.ndarray, parts_dir: Path, advance=None) -> Path:
    """Make and store one aligned chunk of samples (``indices`` contiguous).

    Each batch is handed to a :class:`~spinlock_core.part_writer.PartStream` as soon as it is
    made, so the device never waits on the disk and the host holds a few batches, not a chunk.
    """
    from ..part_writer import PartStream

    theta = _subset(setup.theta, indices)
    stream = PartStream(
        parts_dir, int(indices[0]), int(indices[-1]), compression=setup.cfg.compression, depth=2
    )
    try:
        for batch_id, rows in enumerate(chunk_batches(setup, indices, theta)):
            arrays, ids = _simulate_batch(setup, indices, theta, rows, batch_id)
            arrays["samples"]["batch"] = ids
            stream.put(rows, arrays)
            if advance is not None:
                advance(len(rows))
        space = setup.operator.parameter_space
        seed = setup.config.core.seed
        whole: dict[str, Any] = {"theta": {"unit": setup.unit[indices], "values": space.as_matrix(theta)}}
        derived = setup.operator.derived_columns(theta, setup.grid)
        if derived:
            whole["theta"]["derived"] = {k: np.asarray(v, dtype=np.float64) for k, v in derived.items()}
        chunk = np.tile([indices[0], indices[-1]], (len(indices), 1)).astype(np.int64)
        whole["samples"] = {"chunk": chunk}
        whole["seeds"] = {
            stream_name: np.array([sample_seed(seed, int(i), stream_name) for i in indices], dtype=np.int64)
            for stream_name in ("ic", "operator")
        }
        return stream.finish(whole, setup.root_attrs())
    except BaseException:
        stream.abort()
        raise
