"""The report's dataset section: what was generated, θ coverage, ICs and sample trajectories.

Figures come from the stored arrays, so they show what this run made. The domain's own IC
gallery (``Domain.ic_gallery``, found through the registry) is added when the domain has one:
it shows every IC type the run's library can draw, stored or not.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from ..disk import human_bytes
from .cells import fmt
from .model import Figure, RunArtefacts, Section, Table, Text
from .plotting import field_image, subplots, to_png

__all__ = ["dataset_section", "dataset_headline"]

KEY, TITLE, ORDER = "generate", "Dataset and trajectories", 10
#: Samples whose trajectories are read for the figures (each read is one whole sample).
MAX_TRAJECTORY_SAMPLES = 4
MAX_IC_TYPES, IC_EXAMPLES = 8, 4


def _summary(ds, status, run: RunArtefacts) -> Table:
    from ..storage import STATUS

    attrs = ds.attrs
    grid = json.loads(attrs["grid"])
    files = ds.paths
    rows = [
        ("samples", fmt(len(status))),
        *((f"  {name}", fmt(int((status == code).sum()))) for name, code in STATUS.items()),
        ("domain / operator", f"{attrs['domain']} / {attrs['operator']}"),
        ("channels", ", ".join(json.loads(attrs["channels"]))),
        ("grid", f"{grid['shape'][0]} x {grid['shape'][1]}, extent {grid['extent']}"),
        (
            "steps / stride / realizations",
            f"{attrs['steps']} / {attrs['trajectory_stride']} / {attrs['realizations']}",
        ),
        ("trajectories", str(list(ds.shape("trajectories"))) if ds.has("trajectories") else "not stored"),
        ("storage", f"{human_bytes(sum(f.stat().st_size for f in files))} in {len(files)} file(s)"),
        ("centred L2 discrepancy of θ", fmt(float(attrs["centered_l2_discrepancy"]))),
        ("device, dtype", f"{attrs['device']}, {attrs['dtype']} (stored {attrs['trajectory_dtype']})"),
    ]
    return Table(columns=("what", "value"), rows=rows)


def _theta_figure(ds) -> Figure:
    """One histogram per θ parameter of the decoded values; categoricals as counts per choice."""
    space = json.loads(ds.attrs["parameter_space"])
    values = ds.read("theta/values")
    cols = min(4, len(space))
    rows = -(-len(space) // cols)
    fig, axes = subplots(rows, cols, panel=(2.6, 1.6), gaps=(0.4, 0.9), margins=(0.4, 0.2, 0.6, 0.55))
    for ax in axes.flat[len(space) :]:
        ax.axis("off")
    for j, (ax, p) in enumerate(zip(axes.flat, space, strict=False)):
        column = values[:, j]
        if p["kind"] == "categorical":
            choices = [str(c) for c in p["choices"]]
            counts = np.bincount(column.astype(int), minlength=len(choices))
            ax.bar(range(len(choices)), counts, color="tab:blue")
            ax.set_xticks(range(len(choices)), choices, fontsize=7, rotation=30)
        else:
            log = p.get("log") and np.all(column > 0)
            ax.hist(
                np.log10(column) if log else column, bins=min(20, max(4, len(column) // 2)), color="tab:blue"
            )
            ax.set_xlabel(f"log10 {p['name']}" if log else p["name"], fontsize=8)
            ax.locator_params(axis="x", nbins=4)
        ax.set_title(p["name"], fontsize=9)
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
    fig.suptitle(f"θ of {len(values)} samples (scrambled Sobol)", fontsize=10)
    return Figure(png=to_png(fig), caption="Decoded θ per parameter: the family the dataset covers.")


def _stored_ic_figure(ds, status) -> Figure | None:
    """Stored ICs, one row per IC type that occurs, a few examples each."""
    types = json.loads(ds.attrs.get("ic_types", "[]"))
    kinds = ds.read("samples/ic_type")
    present = [t for t in range(len(types)) if np.any(kinds == t)][:MAX_IC_TYPES]
    if not present:
        return None
    picks = {t: np.flatnonzero(kinds == t)[:IC_EXAMPLES] for t in present}
    ics = ds.read("ic", np.concatenate(list(picks.values())))
    fig, axes = subplots(
        len(present), IC_EXAMPLES, panel=(1.5, 1.5), margins=(0.45, 0.1, 0.1, 0.3), gaps=(0.1, 0.3)
    )
    at = 0
    for r, t in enumerate(present):
        for c in range(IC_EXAMPLES):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(picks[t]):
                ax.axis("off")
                continue
            image, cmap = field_image(ics[at])
            ax.imshow(image, cmap=cmap, origin="lower", interpolation="nearest")
            ax.set_title(f"#{picks[t][c]}", fontsize=8)
            at += 1
        axes[r, 0].set_ylabel(types[t], fontsize=9, fontweight="bold")
    channels = json.loads(ds.attrs["channels"])
    shown = "channels 0-2 as RGB" if len(channels) >= 3 else f"channel {channels[0]}"
    return Figure(png=to_png(fig), caption=f"Stored initial conditions by IC type ({shown}); #sample index.")


def _domain_gallery(run: RunArtefacts, size: int) -> Figure | None:
    """The domain's own IC gallery for this run's config, or ``None`` when it has none."""
    from .. import registry
    from ..config import config_from_file

    config = config_from_file(run.dir)
    domain = registry.load("domains", config.get("domain.name")).create(config.sections.get("domain"))
    operator = registry.load("operators", config.get("operator.name")).create(config.sections.get("operator"))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = domain.ic_gallery(
                operator, Path(tmp) / "gallery.png", size=size, per_type=3, seed=config.core.seed
            )
        except NotImplementedError:
            return None
        return Figure.from_file(
            path, caption=f"The IC library of domain `{domain.name}`: every type, 3 seeded examples each."
        )


def _trajectory_figures(ds, status) -> list[Figure]:
    """Frames of a few samples over time, and the spatial RMS of those samples against time."""
    from ..storage import STATUS

    ok = np.flatnonzero(status == STATUS["ok"])
    if not ds.has("trajectories") or len(ok) == 0:
        return []
    picks = ok[
        np.unique(np.linspace(0, len(ok) - 1, min(MAX_TRAJECTORY_SAMPLES, len(ok))).round().astype(int))
    ]
    trajs = [ds.read("trajectories", [int(i)])[0, 0] for i in picks]  # realization 0: [T, C, H, W]
    times = trajs[0].shape[0]
    frames = np.unique(np.linspace(0, times - 1, min(6, times)).round().astype(int))
    stride = float(ds.attrs["time_per_state"]) * int(ds.attrs["trajectory_stride"])
    fig, axes = subplots(
        len(picks), len(frames), panel=(1.5, 1.5), margins=(0.45, 0.1, 0.1, 0.3), gaps=(0.1, 0.15)
    )
    for r, (index, traj) in enumerate(zip(picks, trajs, strict=True)):
        for c, t in enumerate(frames):
            ax = axes[r, c]
            image, cmap = field_image(traj[t])
            limits = {}
            if cmap is not None:  # one colour scale per sample, so its evolution is visible
                finite = traj[:, 0][np.isfinite(traj[:, 0])]
                limits = {"vmin": finite.min(), "vmax": finite.max()} if finite.size else {}
            ax.imshow(image, cmap=cmap, origin="lower", interpolation="nearest", **limits)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t = {t * stride:g}", fontsize=8)
        axes[r, 0].set_ylabel(f"sample {index}", fontsize=8)
    frames_fig = Figure(
        png=to_png(fig),
        caption="Sample trajectories (realization 0), evenly spaced in time; one colour scale per row.",
    )
    fig, axes = subplots(1, 1, panel=(5.5, 2.4), margins=(0.7, 0.2, 0.5, 0.15))
    ax = axes[0, 0]
    for index, traj in zip(picks, trajs, strict=True):
        rms = np.sqrt(np.nanmean(traj.astype(np.float64) ** 2, axis=(1, 2, 3)))
        ax.plot(np.arange(times) * stride, rms, label=f"sample {index}")
    ax.set_xlabel("time")
    ax.set_ylabel("spatial RMS")
    ax.legend(fontsize=7)
    return [frames_fig, Figure(png=to_png(fig), caption="Spatial RMS over time of the same samples.")]


def _no_dataset(run: RunArtefacts) -> Section:
    """No ``manifest.json``: never generated, or interrupted / truncated (said, and warned)."""
    from ..console import warn

    root = run.path("dataset")
    found = (
        sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        if root.is_dir()
        else []
    )
    if not found and run.stamp("generate") is None:
        return Section.not_run(KEY, TITLE, ORDER, "generate")
    if found:
        what = f"the dataset in `{root}` is incomplete: no `manifest.json`, only {', '.join(found[:6])}"
        what += f" (+{len(found) - 6} more)" if len(found) > 6 else ""
    else:
        what = f"the dataset is missing: `generate` finished here but `{root}` holds nothing"
    hint = "re-run `spinlock run stage=generate` with the same config to resume or remake it"
    warn(f"report: {what}; {hint}")
    return Section(
        key=KEY,
        title=TITLE,
        order=ORDER,
        status="warning",
        blocks=[Text(f"Dataset incomplete: {what}; {hint}.")],
    )


def _samples_ok(status) -> dict[str, str]:
    from ..storage import STATUS

    return {"samples ok": f"{int((status == STATUS['ok']).sum())}/{len(status)}"}


def dataset_headline(run: RunArtefacts) -> dict[str, str]:
    """The section's headline (samples that finished ok), read from the sample status only."""
    from ..storage import Dataset

    if not run.path("dataset/manifest.json").is_file():
        return {}
    with Dataset(run.path("dataset")) as ds:
        return _samples_ok(ds.read("samples/status"))


def dataset_section(run: RunArtefacts) -> Section:
    from ..storage import STATUS, Dataset

    if not run.path("dataset/manifest.json").is_file():
        return _no_dataset(run)
    with Dataset(run.path("dataset")) as ds:
        status = ds.read("samples/status")
        blocks = [_summary(ds, status, run), _theta_figure(ds)]
        try:
            gallery = _domain_gallery(run, size=json.loads(ds.attrs["grid"])["shape"][0])
        except Exception as exc:  # optional: e.g. the run's domain plugin is not installed here
            gallery = Text(f"The domain's IC gallery could not be drawn here: `{type(exc).__name__}: {exc}`.")
        blocks += [f for f in (gallery, _stored_ic_figure(ds, status)) if f is not None]
        trajectories = _trajectory_figures(ds, status)
        if not trajectories:
            blocks.append(
                Text("No trajectories stored (`generate.store_trajectories=false`) or no sample ok.")
            )
        blocks += trajectories
    failed = int((status != STATUS["ok"]).sum())
    if failed:
        blocks.insert(
            1, Text(f"{failed} of {len(status)} samples diverged or failed (see `samples/reason`).")
        )
    return Section(
        key=KEY,
        title=TITLE,
        order=ORDER,
        status="ok" if run.finished("generate") else "partial",
        blocks=blocks,
        headline=_samples_ok(status),
    )
