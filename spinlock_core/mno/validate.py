"""The ``validate`` stage: does the trained MNO make the same *behaviour* as the operator family?

On θ the MNO never saw (a scrambled Sobol draw of the domain's parameter space with its own
seed, ``sample_seed(seed, validate.seed_offset, "validate")``, so neither the points nor the
ICs or operator weights repeat the dataset's), each sample's initial condition is rolled out
twice over the dataset's stored horizon: by the domain operator (ground truth, built and
seeded exactly as ``generate`` would with that seed) and by the trained backbone from
``mno/<validate.checkpoint>.pt`` (fields normalised with the checkpoint's normaliser, outputs
denormalised). Both go through the same code from there on:

* rollout relative L2 and VRMSE per horizon step against the persistence baseline
  (physical units, as the ``mno`` stage's evaluation);
* the enabled feature families on both trajectory sets, compared column by column with the
  two-sample KS statistic and the Wasserstein-1 distance (families of θ and u0 alone are
  identical by construction and skipped);
* the run's tokenizer (any ``spinlock.tokenizers`` plugin: the
  :class:`~spinlock_core.interfaces.Tokenizer` interface) on both feature tables: reconstruction error, per-codebook
  Jensen-Shannon divergence of the token histograms (bits) and paired token agreement.

Outputs in ``validate/``: ``report.json``, ``report.md`` and PNGs. A deterministic MNO run on a
stochastic family repeats its one rollout for every realization, so features of the spread
between realizations show it plainly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from .. import registry, verdicts
from ..checkpoint import load_checkpoint, read_metadata
from ..console import info, progress
from ..distributed import is_rank0
from ..errors import CheckpointError, StageError
from ..interfaces import FeatureBatch
from ..params import ParameterSpace
from ..sampling import sample_space
from ..seeding import generator_for, sample_seed
from ..stages.build import simulate_states
from ..stages.features import domain_info
from ..storage import Dataset
from ..verdicts import summary_verdict
from .loop import rollout as rollout_mno
from .validate_metrics import (
    codebook_usage,
    feature_distances,
    finite_or_none,
    reconstruction,
)

__all__ = ["run", "validate", "ValidationBatch", "load_mno", "fresh_theta"]


@attrs.define
class ValidationBatch:
    """One batch of fresh samples: what a predictor may read, and the ground truth."""

    indices: np.ndarray  # [B] sample indices within the validation draw
    theta: dict[str, np.ndarray]  # decoded θ, numpy [B] per parameter
    theta_tensors: dict[str, Any]  # the same as float64 tensors on the device (the backbone's input)
    u0: Any  # [B, C, H, W]
    truth: Any  # [B, M, T, C, H, W], state 0 = u0, physical units, NaN after a divergence
    truth_ok: np.ndarray  # [B] bool: the operator did not diverge


def fresh_theta(space: ParameterSpace, n: int, seed: int, offset: int):
    """``(validation seed, unit rows, decoded θ)``: a Sobol draw of its own seed stream."""
    vseed = sample_seed(seed, offset, "validate")
    unit, theta = sample_space(space, n, vseed)
    return vseed, unit, theta


def load_mno(path, device, space: ParameterSpace):
    """``(model in eval mode, metadata, mean [C], std [C])`` of an ``mno`` checkpoint.

    The backbone is rebuilt through its ``spinlock.backbones`` factory from the config saved in
    the checkpoint (not the current one), and must reproduce the saved ``model_config``.
    """

    import copy

    from ..config.compose import move_aliases
    from ..config.converter import structure

    state, meta = load_checkpoint(path, map_location=device)
    name, saved = meta.get("name"), copy.deepcopy(meta.get("config") or {})
    if not name or "mno" not in saved or "normaliser" not in state:
        raise CheckpointError(f"{path} is not an mno checkpoint (no backbone name, mno config or normaliser)")
    spec = registry.load("backbones", name)
    fields = {f.name for f in attrs.fields(spec.config_class)} if attrs.has(spec.config_class) else set()
    # a checkpoint of an earlier version keeps moved keys (mno.preset) where they were
    meta = {**meta, "config": move_aliases(saved, lambda key: key.removeprefix("backbone.") in fields)}
    options = {k: v for k, v in (saved.get("backbone") or {}).items() if k != "name"}
    options = structure(options, spec.config_class, "backbone") if spec.config_class else None
    if meta.get("parameter_space"):
        space = ParameterSpace.from_description(meta["parameter_space"])
    mean = state["normaliser"]["mean"].double().cpu().numpy()
    std = state["normaliser"]["std"].double().cpu().numpy()
    model, model_config = spec.load_implementation()(
        options,
        channels=len(mean),
        history=saved["mno"]["history"],
        parameter_space=space,
        device=device,
    )
    rebuilt = json.loads(json.dumps(attrs.asdict(model_config)))
    if meta.get("model_config") is not None and rebuilt != meta["model_config"]:
        raise CheckpointError(
            f"the {name!r} backbone rebuilt from {path}'s config differs from the one saved there "
            f"(saved {meta['model_config']}, rebuilt {rebuilt}); the plugin's presets changed since "
            f"training: retrain with `spinlock run stage=mno run.force=true`"
        )
    model.load_state_dict(state["model"])
    model.eval()
    return model, meta, mean, std


def _tokenizer(path):
    from ..tokenizers import load_tokenizer

    tokenizer = load_tokenizer(path, device="cpu")  # a checked spinlock_core.interfaces.Tokenizer
    return read_metadata(path)["name"], tokenizer


def _simulate(setup, indices: np.ndarray, theta: dict, seed: int, stride: int):
    """Ground truth as ``generate`` makes it, with the validation seed: ``(u0, states, ok)``."""
    _, u0, result = simulate_states(setup, indices, theta, seed=seed)
    ok = (result.diverged_step < 0).cpu().numpy()
    return u0.float(), result.states[:, :, ::stride].float(), ok


def mno_predictor(model, mean, std, history: int, bound: float, seed: int) -> Callable:
    """``predict(batch) -> [B, M, T, C, H, W]``: the backbone's rollout from each (θ, u0).

    A model with noise inputs (``make_noise`` returning a tensor) rolls out every realization
    with its own noise; a deterministic one rolls out once and repeats it. States after the
    first non-finite or out-of-bound one (``generate.divergence_bound``) are NaN, as for the
    ground truth.
    """
    import torch

    def predict(batch: ValidationBatch):
        b, m, t = batch.truth.shape[:3]
        device = batch.u0.device
        mu = torch.as_tensor(mean, dtype=torch.float32, device=device)[None, :, None, None]
        sd = torch.as_tensor(std, dtype=torch.float32, device=device)[None, :, None, None]
        u0 = (batch.u0 - mu) / sd
        make_noise = getattr(model, "make_noise", None)
        gen = generator_for(seed, int(batch.indices[0]), "validate.noise", device=device)
        stochastic = callable(make_noise) and make_noise(u0[:1], gen) is not None
        reps = m if stochastic else 1
        theta = {k: v.repeat_interleave(reps) for k, v in batch.theta_tensors.items()}
        u = u0.repeat_interleave(reps, dim=0)
        noise = (lambda _t: make_noise(u, gen)) if stochastic else None
        states = rollout_mno(model, u, theta, t - 1, history=history, noise=noise)
        pred = torch.cat([u[:, None], states], dim=1) * sd[:, None] + mu[:, None]  # [B*reps, T, C, H, W]
        bad = (~torch.isfinite(pred) | (pred.abs() > bound)).flatten(2).any(dim=2)  # [B*reps, T]
        after = bad.cumsum(dim=1) > 0
        pred = torch.where(after[:, :, None, None, None], torch.full_like(pred, float("nan")), pred)
        pred = pred.view(b, reps, *pred.shape[1:])
        return pred.expand(b, m, *pred.shape[2:]) if reps == 1 else pred

    return predict


def _families(config, info_):
    families = {
        name: registry.load("features", name).create(config.sections.get(f"feature.{name}"))
        for name in config.core.features
    }
    columns = {name: [c.name for c in fam.columns(info_)] for name, fam in families.items()}
    return families, columns


def _extract(families, info_, batch: ValidationBatch, states, derived) -> dict[str, np.ndarray]:
    import torch

    fb = FeatureBatch(
        domain=info_,
        theta=batch.theta,
        u0=batch.u0,
        trajectories=states,
        time=torch.arange(states.shape[2], device=states.device) * info_.dt,
        derived=derived,
    )
    with torch.no_grad():
        return {name: fam.extract(fb).float().cpu().numpy() for name, fam in families.items()}


def _errors(pred, truth, valid):
    """Per-step errors ``[N, T-1]`` of the valid trajectories and of the baselines (physical units)."""
    from .rollout_errors import rollout_errors

    p, t = pred[:, :, 1:].flatten(0, 1), truth[:, :, 1:].flatten(0, 1)
    u0 = truth[:, :, :1].flatten(0, 1)
    return {key: value[valid] for key, value in rollout_errors(p, t, u0).items()}


def validate(context, predict: Callable | None = None) -> dict:
    """Run the comparison and write ``validate/``; returns the report.

    ``predict(batch) -> [B, M, T, C, H, W]`` replaces the MNO's rollout (tests pass the ground
    truth itself: every distance must then be zero).
    """
    import torch

    from ..config import compose
    from ..config._yaml import load_yaml
    from ..stages.build import GenerationSetup
    from .validate_report import write_figures, write_markdown

    config, cfg, device = context.config, context.section("validate"), context.device
    out = context.path("validate")
    out.mkdir(parents=True, exist_ok=True)
    with Dataset(context.path("dataset")) as ds:
        info_ = domain_info(ds)
        made_with = compose(from_data=load_yaml(ds.attrs["config"]))
        stride = int(ds.attrs["trajectory_stride"])
    setup = GenerationSetup.from_config(made_with, device)
    setup.families = {}
    space = setup.operator.parameter_space
    model, meta, mean, std = load_mno(context.path("mno") / f"{cfg.checkpoint}.pt", device, space)
    vseed, _, theta_all = fresh_theta(space, cfg.n_samples, config.core.seed, cfg.seed_offset)
    if predict is None:
        history = int(meta["config"]["mno"]["history"])
        predict = mno_predictor(model, mean, std, history, setup.cfg.divergence_bound, vseed)
    tok_name, tokenizer = _tokenizer(context.path("tokenizer/model.pt"))
    families, columns = _families(config, info_)

    feats = {"truth": {n: [] for n in families}, "model": {n: [] for n in families}}
    curves: dict[str, list] = {}
    ok_all, diverged, frames = [], 0, {"truth": [], "model": [], "samples": []}
    with progress(cfg.n_samples, "validate", unit="samples") as advance:
        for start in range(0, cfg.n_samples, cfg.batch_size):
            idx = np.arange(start, min(start + cfg.batch_size, cfg.n_samples))
            theta = space.from_matrix(space.as_matrix({k: v[idx] for k, v in theta_all.items()}))
            u0, truth, ok = _simulate(setup, idx, theta, vseed, stride)
            batch = ValidationBatch(
                indices=idx,
                theta=theta,
                theta_tensors={
                    k: torch.as_tensor(np.asarray(v, dtype=np.float64), device=device)
                    for k, v in theta.items()
                },
                u0=u0,
                truth=truth,
                truth_ok=ok,
            )
            pred = predict(batch).float()
            if pred.shape != truth.shape:
                raise StageError(
                    f"the prediction is {list(pred.shape)}, the ground truth {list(truth.shape)}"
                )
            finite = torch.isfinite(pred).flatten(2).all(dim=2).cpu().numpy()  # [B, M]
            diverged += int((~finite[ok]).sum())
            valid = torch.as_tensor((ok[:, None] & finite).reshape(-1), device=truth.device)
            for key, value in _errors(pred, truth, valid).items():
                curves.setdefault(key, []).append(value.cpu())
            derived = setup.operator.derived_columns(theta, setup.grid)
            for side, states in (("truth", truth), ("model", pred)):
                for name, table in _extract(families, info_, batch, states, derived).items():
                    feats[side][name].append(table)
            ok_all.append(ok)
            for row in np.flatnonzero(ok)[: cfg.figure_samples - len(frames["samples"])]:
                frames["truth"].append(truth[row, 0, :, 0].cpu().numpy())
                frames["model"].append(pred[row, 0, :, 0].cpu().numpy())
                frames["samples"].append(int(idx[row]))
            advance(len(idx))
    ok = np.concatenate(ok_all)
    if not ok.any():
        raise StageError(
            f"the operator diverged on all {cfg.n_samples} validation samples; raise "
            f"validate.n_samples or check generate.divergence_bound"
        )
    tables = {side: {n: np.concatenate(v)[ok] for n, v in by.items()} for side, by in feats.items()}
    horizon = len(range(0, setup.cfg.steps + 1, stride)) - 1

    rollout_report = _rollout_summary(curves)
    token_report = _token_report(tok_name, tokenizer, tables, families, columns)
    feature_report, worst_values = _feature_report(tables, families, columns, cfg.worst_features)
    report = {
        "setup": {
            "backbone": meta["name"],
            "preset": (meta["config"].get("backbone") or {}).get("preset"),
            "checkpoint": f"mno/{cfg.checkpoint}.pt",
            "validate_seed": vseed,
            "seed_offset": cfg.seed_offset,
            "realizations": int(setup.realizations),
            "horizon": horizon,
            "trained_horizon": min(meta["config"]["mno"].get("steps") or horizon, horizon),
            "operator": setup.operator_name,
        },
        "samples": {
            "requested": cfg.n_samples,
            "truth_ok": int(ok.sum()),
            "truth_diverged": int((~ok).sum()),
            "trajectories": int(ok.sum()) * int(setup.realizations),
            "model_diverged": diverged,
        },
        "rollout": rollout_report,
        "tokenizer": token_report,
        "features": feature_report,
    }
    frames = {k: np.stack(v) if v and k != "samples" else v for k, v in frames.items()}
    report["figures"] = write_figures(out, report, feature_report["worst"], worst_values, frames)
    report = finite_or_none(report)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    write_markdown(out / "report.md", report)
    return report


def _rollout_summary(curves: dict) -> dict:
    import torch

    per_step = {k: torch.cat(v) for k, v in curves.items()}
    if not len(per_step["rel_l2"]):
        return {"summary": dict.fromkeys(_SUMMARY_KEYS), "per_step": {k: [] for k in per_step}}
    per_step = {k: v.double().mean(0).numpy() for k, v in per_step.items()}
    summary = {
        "rel_l2": per_step["rel_l2"].mean(),
        "rel_l2_final": per_step["rel_l2"][-1],
        "vrmse": per_step["vrmse"].mean(),
        "persistence_rel_l2": per_step["persistence_rel_l2"].mean(),
        "persistence_rel_l2_final": per_step["persistence_rel_l2"][-1],
        "persistence_vrmse": per_step["persistence_vrmse"].mean(),
        **{k: per_step[k].mean() for k in _BASELINE_KEYS if k in per_step},
    }
    summary = {k: float(v) for k, v in summary.items()}
    return {
        "summary": summary | {"verdict": list(summary_verdict(summary))},
        "per_step": {k: v.tolist() for k, v in per_step.items()},
    }


_BASELINE_KEYS = ("zero_rel_l2", "zero_vrmse", "mean_field_rel_l2", "mean_field_vrmse")
_SUMMARY_KEYS = (
    "rel_l2",
    "rel_l2_final",
    "vrmse",
    "persistence_rel_l2",
    "persistence_rel_l2_final",
    "persistence_vrmse",
    *_BASELINE_KEYS,
)


def _tokenizer_table(tables: dict, families, columns) -> tuple[np.ndarray, list[str]]:
    """Per-sample families side by side, named ``<family>/<column>`` as the tokenizer stage does."""
    names, parts = [], []
    for family in sorted(families):
        if families[family].scope != "sample":
            continue
        parts.append(tables[family])
        names += [f"{family}/{c}" for c in columns[family]]
    if not parts:
        raise StageError(
            "validate needs a per-sample feature family for the tokenizer (e.g. features=[summary])"
        )
    return np.concatenate(parts, axis=1), names


def _token_report(name: str, tokenizer, tables: dict, families, columns) -> dict:
    truth, names = _tokenizer_table(tables["truth"], families, columns)
    model, _ = _tokenizer_table(tables["model"], families, columns)
    try:
        scaled_truth = np.asarray(tokenizer.scale(truth, names))
        rec_truth = np.asarray(tokenizer.reconstruct(truth, names))
        rec_model = np.asarray(tokenizer.reconstruct(model, names))
        scaled_model = np.asarray(tokenizer.scale(model, names))
        tokens_truth = np.asarray(tokenizer.encode(truth, names))
        tokens_model = np.asarray(tokenizer.encode(model, names))
    except Exception as exc:
        raise StageError(
            f"tokenizer {name!r} could not read the features validate extracted "
            f"({type(exc).__name__}: {exc}); validate extracts the run's `features`, which must be "
            f"the ones the tokenizer was fit on"
        ) from exc
    sizes = getattr(tokenizer, "codebook_sizes", None)
    sizes = [k for row in sizes for k in row] if sizes is not None else None
    names_ = getattr(tokenizer, "token_names", None)
    books = codebook_usage(tokens_truth, tokens_model, sizes, names_)
    return {
        "name": name,
        "reconstruction": {
            "truth": reconstruction(scaled_truth, rec_truth),
            "model": reconstruction(scaled_model, rec_model),
            "model_vs_truth": reconstruction(scaled_truth, rec_model),
        },
        "codebooks": books,
        "mean_jsd_bits": float(np.mean([b["jsd_bits"] for b in books])) if books else None,
        "mean_agreement": float(np.mean([b["agreement"] for b in books])) if books else None,
    }


def _feature_report(tables: dict, families, columns, worst_k: int) -> tuple[dict, dict]:
    rows, skipped, values = [], [], {}
    for family in sorted(families):
        if not getattr(families[family], "needs_trajectories", True):
            skipped.append(family)
            continue
        names = [f"{family}/{c}" for c in columns[family]]
        t, m = tables["truth"][family], tables["model"][family]
        rows += feature_distances(t, m, names)
        flat_t, flat_m = t.reshape(-1, len(names)), m.reshape(-1, len(names))
        for j, n in enumerate(names):
            values[n] = (flat_t[:, j], flat_m[:, j])
    ranked = sorted(
        (r for r in rows if r["ks"] is not None),
        key=lambda r: (r["ks"], r["wasserstein_scaled"] or 0.0),
        reverse=True,
    )
    worst = ranked[:worst_k]
    report = {
        "columns": rows,
        "skipped_families": skipped,
        "mean_ks": float(np.mean([r["ks"] for r in ranked])) if ranked else None,
        "mean_wasserstein_scaled": float(np.mean([r["wasserstein_scaled"] for r in ranked]))
        if ranked
        else None,
        "worst": worst,
    }
    return report, {r["name"]: values[r["name"]] for r in worst}


def run(context) -> None:
    if not is_rank0():  # one process compares; under torchrun the others wait at the runner's barrier
        return
    report = validate(context)
    roll, tok = report["rollout"]["summary"], report["tokenizer"]
    info(
        f"validate: rollout rel. L2 {_g(roll['rel_l2'])} (persistence {_g(roll['persistence_rel_l2'])}), "
        f"token JSD {_g(tok['mean_jsd_bits'])} bits, agreement {_g(tok['mean_agreement'])}, "
        f"mean feature KS {_g(report['features']['mean_ks'])}; report in {context.path('validate')}"
    )
    verdicts.report("validate (fresh θ)", roll)


def _g(value) -> str:
    """Four significant digits for the console (the JSON keeps full precision)."""
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
