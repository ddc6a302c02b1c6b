"""The report's tokenizer section: metrics, the plugin's dashboards, and token usage on this run.

Generic over tokenizers (``spinlock.tokenizers``): the model is loaded through the plugin named
in its checkpoint metadata and used only through ``encode`` and ``token_names`` (plus
``codebook_sizes`` when the tokenizer has them). Dashboards are the PNGs the tokenizer stage
wrote with the plugin's ``dashboards`` extra (``tokenizer/dashboards/``); they are drawn
afresh into a temporary folder when the stage ran without them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .cells import fmt
from .model import Figure, RunArtefacts, Section, Table, Text
from .plotting import label_rows, rows_height, subplots, to_png

__all__ = ["tokenizer_section", "tokenizer_headline", "vocabulary_verdict"]

KEY, TITLE, ORDER = "tokenizer", "Tokenizer", 30
#: Shown first in the headline, when the tokenizer reports them. R² before quality (1 - MSE,
#: clamped at 0): on robust-scaled features the MSE can exceed 1 while R² still says how much
#: of the variance the tokens keep.
HEADLINE_METRICS = ("r2_overall", "utilization_mean", "quality", "perplexity_mean")
#: How the headline names them: every reported metric is measured on the test rows.
_LABELS = {
    "r2_overall": "test R²",
    "utilization_mean": "utilization (test rows)",
    "quality": "quality (test rows)",
    "perplexity_mean": "perplexity (test rows)",
}


def _load(model_path: Path, meta: dict):
    """The one tokenizer loader (:mod:`spinlock_core.tokenizers`); ``meta`` was checked by the caller."""
    from ..tokenizers import load_tokenizer_and_spec

    return load_tokenizer_and_spec(model_path, device="cpu")


def _dashboards(run: RunArtefacts, spec, model) -> list[Figure]:
    folder = run.path("tokenizer/dashboards")
    if sorted(folder.glob("*.png")):
        return [Figure.from_file(p) for p in sorted(folder.glob("*.png"))]
    if "dashboards" not in spec.extras:
        return []
    from ..specs import import_object

    with tempfile.TemporaryDirectory() as tmp:
        paths = import_object(spec.extras["dashboards"])(model, Path(tmp))
        return [Figure.from_file(p) for p in sorted(map(Path, paths))]


def _positions_sizes(model, n_positions: int) -> list[int | None]:
    sizes = getattr(model, "codebook_sizes", None)
    flat = [int(k) for per_category in sizes for k in per_category] if sizes else []
    return flat if len(flat) == n_positions else [None] * n_positions


def _usage(tokens: np.ndarray, names: list[str], sizes: list[int | None]) -> tuple[Table, Figure]:
    """Per token position: samples per code (heatmap) and the fraction of codes used (bars)."""
    width = int(max(max(s or 0 for s in sizes), tokens.max() + 1))
    counts = np.stack([np.bincount(tokens[:, p], minlength=width) for p in range(tokens.shape[1])]).astype(
        float
    )
    used = (counts > 0).sum(axis=1)
    share = counts / counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        perplexity = np.exp(-np.nansum(np.where(share > 0, share * np.log(share), 0.0), axis=1))
    known = np.array([s or np.nan for s in sizes], dtype=float)
    rows = [
        ("codes used per position", *(fmt(f(used)) for f in (np.min, np.median, np.max))),
        ("perplexity per position", *(fmt(f(perplexity)) for f in (np.min, np.median, np.max))),
        (
            "commonest code's share",
            *(f"{100 * f(share.max(axis=1)):.0f} %" for f in (np.min, np.median, np.max)),
        ),
    ]
    if np.isfinite(known).all():
        rows.insert(
            1, ("fraction of the codebook used", *(fmt(f(used / known)) for f in (np.min, np.median, np.max)))
        )
    table = Table(
        columns=("over the token positions", "min", "median", "max"),
        rows=rows,
        caption=f"Token usage on this run's {tokens.shape[0]} samples (all rows, training and validation); "
        f"with V samples at most V codes of a position can be used.",
    )
    height = rows_height(len(names))
    fig, axes = subplots(
        1,
        2,
        panel=(0, height),
        widths=(min(9.0, 2.5 + 0.1 * width), 2.5),
        margins=(0.25 + 0.065 * max(map(len, names), default=4), 0.3, 0.5, 0.2),
        gaps=(1.0, 0.5),
    )
    ax = axes[0, 0]
    image = ax.imshow(
        np.where(counts > 0, counts, np.nan), aspect="auto", cmap="viridis", interpolation="nearest"
    )
    label_rows(ax, names, height)
    ax.set_xlabel("code id")
    fig.colorbar(image, ax=ax, label="samples", fraction=0.06, pad=0.02)
    bars = axes[0, 1]
    fraction = used / np.where(np.isfinite(known), known, used.max())
    bars.barh(range(len(names)), fraction, color="tab:blue")
    bars.set_ylim(len(names) - 0.5, -0.5)
    bars.set_yticks([])
    bars.set_xlim(0, 1)
    bars.set_xlabel("codes used / codebook size" if np.isfinite(known).all() else "codes used (relative)")
    figure = Figure(
        png=to_png(fig),
        caption="Left: samples per code at each token position (blank: unused). Right: codes used.",
    )
    return table, figure


def column_flow(model) -> list:
    """Blocks saying how many feature columns reach the model and why the others were dropped.

    Read from the tokenizer's preprocessing state (``column_flow``, ``dropped``: column -> reason
    starting with its kind) or, for other tokenizers, ``metrics["dropped_columns"]``.
    """
    state = getattr(getattr(model, "preprocessor", None), "state", None) or {}
    dropped = state.get("dropped") or (getattr(model, "metrics", None) or {}).get("dropped_columns") or {}
    flow = state.get("column_flow")
    if not dropped and not flow:
        return []
    kinds: dict[str, list[str]] = {}
    for column, reason in dropped.items():
        kinds.setdefault(reason.split(":")[0].split(" of ")[0].strip(), []).append(column)
    by_kind = ", ".join(f"{len(cols)} {kind}" for kind, cols in kinds.items()) or "none"
    if flow:
        text = (
            f"Columns from features to tokens: {flow['table']} per-sample feature columns, "
            f"{flow['selected']} selected by the tokenizer's config, {flow['indicators']} missing-value "
            f"indicators added, {sum(flow['dropped'].values())} dropped ({by_kind}), "
            f"{flow['output']} model inputs (the count the dashboards show)."
        )
    else:
        text = f"{len(dropped)} columns dropped by the tokenizer's preprocessing ({by_kind})."
    rows = [
        (kind, fmt(len(cols)), ", ".join(cols[:4]) + (f" … (+{len(cols) - 4})" if len(cols) > 4 else ""))
        for kind, cols in kinds.items()
    ]
    blocks: list = [Text(text)]
    if rows:
        blocks.append(
            Table(
                columns=("dropped as", "columns", "e.g."),
                rows=rows,
                caption="Why the tokenizer's preprocessing dropped columns (all reasons: the "
                "tokenizer's metrics, `dropped_columns`).",
            )
        )
    return blocks


def vocabulary_verdict(metrics: dict) -> str | None:
    """One plain paragraph: test R², utilization, and the PCA + k-means baseline on the same rows."""
    r2, util = metrics.get("r2_overall"), metrics.get("utilization_mean")
    if r2 is None:
        return None
    rows = metrics.get("test_rows")
    where = f"{int(rows)} held-out test operators" if rows else "held-out rows"
    text = (
        f"How good the vocabulary is, on {where}: decoded tokens keep R² = {fmt(r2)} of the feature variance"
    )
    if util is not None:
        text += f", and {100 * util:.0f}% of the codes are used"
    base = metrics.get("pca_kmeans_r2_overall")
    if base is not None:
        codes = metrics.get("pca_kmeans_codes")
        word = "ahead of" if r2 > base else "behind"
        text += (
            f". PCA + k-means with the same code budget ({fmt(codes)} codes) on the same rows reaches "
            f"R² = {fmt(base)}: the tokenizer is {word} it by {fmt(abs(r2 - base))}"
        )
    linear = metrics.get("pca_only_r2_overall")
    if linear is not None:
        text += f"; the PCA alone, without codes, reaches {fmt(linear)} on these rows"
    return text + "."


def _metadata(model_path: Path) -> dict:
    from ..artefacts import ArtefactError, read_json
    from ..checkpoint import read_metadata
    from ..errors import CheckpointError

    if model_path.with_suffix(".json").is_file():
        read_json(
            model_path.with_suffix(".json"), "a checkpoint's metadata sidecar", ("schema", "kind", "name")
        )
    try:
        return read_metadata(model_path)
    except CheckpointError as exc:
        raise ArtefactError(f"expected a tokenizer checkpoint: {exc}") from None


def _metrics(meta: dict) -> dict:
    return {k: v for k, v in (meta.get("metrics") or {}).items() if isinstance(v, (int, float))}


def tokenizer_headline(run: RunArtefacts) -> dict[str, str]:
    """The section's headline numbers (the first two of :data:`HEADLINE_METRICS` the tokenizer
    reports), read from the checkpoint's metadata only: cheap enough for ``spinlock inspect``."""
    model_path = run.path("tokenizer/model.pt")
    if not model_path.is_file():
        return {}
    metrics = _metrics(_metadata(model_path))
    headline = {f"tokenizer {_LABELS.get(k, k)}": fmt(metrics[k]) for k in HEADLINE_METRICS if k in metrics}
    return dict(list(headline.items())[:2])


def tokenizer_section(run: RunArtefacts) -> Section:
    from ..artefacts import reading

    model_path = run.path("tokenizer/model.pt")
    if not model_path.is_file():
        return Section.not_run(KEY, TITLE, ORDER, "tokenizer")
    meta = _metadata(model_path)
    metrics = _metrics(meta)
    blocks: list = [
        Text(f"Tokenizer `{meta.get('name')}`, saved by spinlock {meta.get('spinlock_version', '?')}."),
        Table(
            columns=("metric", "value"),
            rows=[(k, fmt(v)) for k, v in metrics.items()],
            caption="Final metrics on the test rows (held-out operators that training, early stopping "
            "and the best-epoch choice never saw), from the checkpoint's metadata; `pca_kmeans_*`: the "
            "PCA + k-means baseline on the same rows.",
        ),
    ]
    verdict = vocabulary_verdict(metrics)
    if verdict:
        blocks.insert(1, Text(verdict))
    spec, model = _load(model_path, meta)
    blocks += column_flow(model)
    features = run.path("features/features.h5")
    if features.is_file():
        from ..stages.features import open_features
        from ..stages.tokenizer import feature_table

        open_features(features).close()
        with reading(features, "a spinlock feature table file (features.h5)"):
            table, columns = feature_table(features)
        tokens = np.asarray(model.encode(table, columns).cpu())
        names = list(getattr(model, "token_names", [f"t{p}" for p in range(tokens.shape[1])]))
        usage, heatmap = _usage(tokens, names, _positions_sizes(model, tokens.shape[1]))
        distinct = len({tuple(row) for row in tokens.tolist()})
        blocks += [
            Text(
                f"{tokens.shape[0]} samples map to {distinct} distinct token sequences of {tokens.shape[1]} tokens."
            ),
            usage,
            heatmap,
        ]
    else:
        blocks.append(
            Text("No feature tables in this run (`features/features.h5`): token usage not computed.")
        )
    blocks += _dashboards(run, spec, model)
    return Section(
        key=KEY,
        title=TITLE,
        order=ORDER,
        status="ok" if run.finished("tokenizer") else "partial",
        blocks=blocks,
        headline=tokenizer_headline(run),
    )
