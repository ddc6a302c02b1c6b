"""The report's MNO and validation sections, read from the artefacts those stages write.

MNO: ``mno/metrics.json`` (one record per epoch), ``mno/model.json`` (checkpoint metadata),
``mno/evaluation.json`` (``summary`` of rollout errors against baselines) and
``mno/figures/*.png``. Validation: ``validate/report.md`` (rendered, its figures embedded),
else ``validate/report.json`` as a table, and every ``validate/*.png``. A JSON artefact may
hold a ``headline`` mapping (name -> number or text) whose entries join the page's headline.
"""

from __future__ import annotations

from typing import Any

from .cells import fmt, json_rows
from .markdown import markdown_blocks
from .model import Figure, RunArtefacts, Section, Table, Text
from .plotting import subplots, to_png

__all__ = ["mno_section", "validate_section", "mno_headline", "validate_headline"]

MNO = ("mno", "MNO training", 40)
VALIDATE = ("validate", "Validation", 50)
#: Figures shown first, in this order; the others follow by name.
FIRST_FIGURES = ("training_curves", "error_vs_horizon")


def _get(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _headline(data: Any, prefix: str, known: dict[str, str]) -> dict[str, str]:
    """The artefact's own ``headline`` mapping, else the ``known`` dotted keys that it has."""
    own = _get(data, "headline")
    if isinstance(own, dict):
        return {f"{prefix} {k}": fmt(v) for k, v in own.items()}
    return {name: fmt(value) for name, dotted in known.items() if (value := _get(data, dotted)) is not None}


def mno_headline(run: RunArtefacts) -> dict[str, str]:
    """The MNO section's headline numbers, from its JSON artefacts only (no figure drawn):
    the last epoch's validation rel. L2 and persistence, overridden by ``mno/evaluation.json``."""
    headline: dict[str, str] = {}
    history = run.json("mno/metrics.json")
    if history:
        headline = _headline(
            history[-1], "MNO", {"MNO val rel. L2": "val_rel_l2", "persistence rel. L2": "persistence_rel_l2"}
        )
    evaluation = run.json("mno/evaluation.json")
    if evaluation is not None:
        headline.update(
            _headline(
                evaluation,
                "MNO",
                {
                    "MNO val rel. L2": "summary.rel_l2",
                    "persistence rel. L2": "summary.persistence_rel_l2",
                    "MNO VRMSE": "summary.vrmse",
                },
            )
        )
    return headline


def validate_headline(run: RunArtefacts) -> dict[str, str]:
    """The validation section's headline numbers, from ``validate/report.json`` only."""
    return _headline(
        run.json("validate/report.json"),
        "validation",
        {
            "fresh-θ rel. L2": "rollout.summary.rel_l2",
            "fresh-θ token agreement": "tokenizer.mean_agreement",
            "fresh-θ mean feature KS": "features.mean_ks",
        },
    )


def _pngs(run: RunArtefacts, folder: str, skip=frozenset()) -> list[Figure]:
    paths = [p for p in run.path(folder).glob("*.png") if p.resolve() not in skip]
    rank = {name: i for i, name in enumerate(FIRST_FIGURES)}
    paths.sort(key=lambda p: (rank.get(p.stem, len(rank)), p.name))
    return [Figure.from_file(p) for p in paths]


def _curves(history: list[dict]) -> Figure:
    """Loss-like metrics on the left; errors (relative L2 ...) on the right, log scale."""
    from matplotlib.ticker import MaxNLocator

    keys = [k for k in history[-1] if k != "epoch" and isinstance(history[-1][k], (int, float))]
    losses = [k for k in keys if "loss" in k]
    errors = [k for k in keys if k not in losses]
    panels = [p for p in (losses, errors) if p]
    fig, axes = subplots(1, len(panels), panel=(4.2, 2.6), gaps=(0.7, 0.5), margins=(0.6, 0.2, 0.5, 0.15))
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    for ax, group in zip(axes[0], panels, strict=True):
        for key in group:
            values = [h.get(key) for h in history]
            style = "--" if "persistence" in key or "baseline" in key else "-"
            ax.plot(epochs, [float("nan") if v is None else v for v in values], style, marker="o", label=key)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    return Figure(
        png=to_png(fig),
        caption="Training curves per epoch (`mno/metrics.json`); dashed: the persistence baseline (u(t) = u0).",
    )


def mno_section(run: RunArtefacts) -> Section:
    key, title, order = MNO
    history = run.json("mno/metrics.json")
    meta = run.json("mno/model.json")
    if not history and meta is None:
        return Section.not_run(key, title, order, "mno")
    blocks: list = []
    if meta:
        # the size preset is the backbone's option (mno.preset in runs of earlier versions)
        preset = _get(meta, "config.backbone.preset") or _get(meta, "config.mno.preset")
        size = f", preset `{preset}`" if preset else ""
        blocks.append(
            Text(
                f"Backbone `{meta.get('name')}`{size}, "
                f"{meta.get('epoch', '?')} epochs ({meta.get('step', '?')} optimizer steps)."
            )
        )
    if history:
        last = history[-1]
        if not run.path("mno/figures/training_curves.png").is_file():
            blocks.append(_curves(history))
        blocks.append(
            Table(columns=("metric", "last epoch"), rows=[(k, fmt(v)) for k, v in last.items()], caption="")
        )
    evaluation = run.json("mno/evaluation.json")
    if evaluation is not None:
        shown = evaluation.get("summary", evaluation) if isinstance(evaluation, dict) else evaluation
        blocks.append(
            Table(
                columns=("evaluation on the validation split", "value"),
                rows=json_rows(shown),
                caption="`mno/evaluation.json`: rollout errors over the horizon, with the baselines.",
            )
        )
    blocks += _pngs(run, "mno/figures")
    if meta and meta.get("model_config"):
        blocks.append(
            Table(
                columns=("model config", "value"),
                rows=json_rows(meta["model_config"]),
                caption="`mno/model.json`",
            )
        )
    return Section(
        key=key,
        title=title,
        order=order,
        status="ok" if run.finished("mno") else "partial",
        blocks=blocks,
        headline=mno_headline(run),
    )


def validate_section(run: RunArtefacts) -> Section:
    key, title, order = VALIDATE
    report = run.json("validate/report.json")
    markdown = run.path("validate/report.md")
    if report is None and not markdown.is_file():
        return Section.not_run(key, title, order, "validate")
    embedded: set = set()
    if markdown.is_file():
        blocks, embedded = markdown_blocks(markdown.read_text(), markdown.parent)
    else:
        blocks = [
            Table(
                columns=("result", "value"),
                rows=json_rows(report, limit=80),
                caption="`validate/report.json`",
            )
        ]
    return Section(
        key=key,
        title=title,
        order=order,
        status="ok" if run.finished("validate") else "partial",
        blocks=[*blocks, *_pngs(run, "validate", skip=embedded)],
        headline=validate_headline(run),
    )
