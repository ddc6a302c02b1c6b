"""The report of a comparison: ``report.json`` (everything, plain values) and ``report.md``
(what a person reads: every score beside its null, what each measure and null is, the best
correspondences, the warnings), next to the figures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["to_json", "write_report", "headline", "ALIGNMENT_P"]

#: Significance level used in the headline and the figures' colours.
ALIGNMENT_P = 0.05

MEASURES = """\
**What each measure is, and its null.**

1. *Prototype matching* (`prototype distance L<l>`): every code used on its own run is decoded
   to its feature-space prototype (the code's latent on top of the usage-weighted mean of the
   category's other levels, every other category at its mean), z-scaled, restricted to the
   shared columns; A's and B's codes of one level are matched one to one (Hungarian assignment)
   on RMS distance. Score: mean matched distance (lower is better). Null: B's prototypes with
   their shared columns permuted (each codebook's geometry kept, the meaning of the columns lost).
2. *Cross-encoding* (`cross-encoding R²`, `A token entropy on B`, `token MI (L0)`): B's probe
   samples are encoded by A and by B from the same fed columns (each through its own
   preprocessing; every column a tokenizer reads that is not fed is held at its imputation
   value). R²: A's reconstruction of what it saw; entropy: spread of A's token usage (descriptive,
   two-sided); MI: mutual information between A's and B's level-0 tokens, mean over a Hungarian
   matching of categories. Null: the fed columns permuted before A reads them.
3. *Geometry* (`CKA`, `RSA`): linear CKA, and the Spearman correlation of the probe-distance
   matrices (RSA), between A's and B's decoded representations of the same probes. Same null as 2.

z is in null standard deviations, positive = better than chance; p is the permutation p-value
(1 + draws at least as good) / (1 + draws), so its smallest possible value is 1 / (draws + 1).
Beating this null says the two vocabularies agree on which features go together and how; part of
that agreement can come from the feature definitions themselves (norms or statistics of one field
that move together in any domain), so across domains compare with a same-domain pair too.
"""


def _num(x: Any) -> Any:
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


def _matrix(m: np.ndarray) -> list[list[float | None]]:
    return [[_num(float(v)) for v in row] for row in np.asarray(m, dtype=float)]


#: One score per measure family, in the headline's order.
KEY_SCORES = ("prototype distance L0", "token MI (L0)", "CKA")


def headline(comparison) -> str:
    """One score per measure family and a verdict: all three at p < 0.01 is "aligned", none at
    p < ALIGNMENT_P is "no alignment beyond chance", anything else "mixed"."""
    key = [comparison.score(name) for name in KEY_SCORES]
    parts = ", ".join(f"{s.name} z = {s.z:.2f} (p = {s.p_value:.2g})" for s in key)
    ps = [s.p_value for s in key]
    if all(p < 0.01 for p in ps):
        verdict = "aligned: every measure family is far above its null"
    elif not any(p < ALIGNMENT_P for p in ps):
        verdict = "no alignment beyond chance"
    else:
        verdict = f"mixed: {sum(p < ALIGNMENT_P for p in ps)} of 3 measure families beat chance at p < {ALIGNMENT_P}"
    n = len(comparison.warnings)
    warned = f" ({n} warning{'s' if n > 1 else ''} in the report.)" if n else ""
    return (
        f"{comparison.a.label} vs {comparison.b.label} over {len(comparison.columns.shared)} shared columns: "
        f"{parts}. Verdict: {verdict}.{warned}"
    )


def to_json(comparison, config, files: list[Path]) -> dict[str, Any]:
    """Everything in the comparison as plain JSON values."""
    cols = comparison.columns

    def side(run):
        v = run.view
        return {
            "label": run.label,
            "run_dir": str(run.path),
            "domain": run.domain,
            "tokenizer": v.tokenizer.name,
            "categories": {name: v.category_columns(i) for i, name in enumerate(v.categories)},
            "codebook_sizes": v.sizes,
            "samples": int(run.table.shape[0]),
        }

    return {
        "analysis": "codebook_alignment",
        "headline": headline(comparison),
        "A": side(comparison.a),
        "B": side(comparison.b),
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in _asdict(config).items()},
        "columns": {
            "families": list(cols.families),
            "shared": cols.shared,
            "fed": cols.fed,
            "absent_in_A": cols.absent,
            "empty_in_B": cols.empty,
            "shared_by_family": cols.counts("shared"),
            "fed_by_family": cols.counts("fed"),
        },
        "probes": comparison.n_probes,
        "scores": [s.to_dict() for s in comparison.scores],
        "references": {k: _num(v) for k, v in comparison.references.items()},
        "prototype_matching": [
            {
                "level": p.level,
                "codes": {"A": len(p.codes_a), "B": len(p.codes_b)},
                "spread": {k: _num(v) for k, v in p.spread().items()},
                "centred": comparison.centred[p.level].to_dict() if comparison.centred else None,
                "left_out": p.left_out,
                "pairs": [{"A": ca.label, "B": cb.label, "distance": _num(c)} for ca, cb, c in p.matching()],
            }
            for p in comparison.prototypes
        ],
        "correspondence": {
            "rows_A": comparison.a.view.categories,
            "columns_B": comparison.b.view.categories,
            **{k: _matrix(m) for k, m in comparison.correspondence.items()},
        },
        "warnings": comparison.warnings,
        "files": [p.name for p in files],
    }


def _asdict(config) -> dict[str, Any]:
    import attrs

    return attrs.asdict(config)


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}g}"


def _markdown(data: dict[str, Any], comparison) -> str:
    a, b, cols = data["A"], data["B"], data["columns"]
    lines = [
        "# Codebook alignment",
        "",
        f"**{data['headline']}**",
        "",
        "| | run | domain | tokenizer | samples | categories |",
        "|---|---|---|---|---|---|",
    ]
    for key, s in (("A", a), ("B", b)):
        lines.append(
            f"| {key} | `{s['run_dir']}` | {s['domain']} | {s['tokenizer']} | {s['samples']} | {len(s['categories'])} |"
        )
    fams = ", ".join(f"{k}: {v}" for k, v in cols["shared_by_family"].items())
    lines += [
        "",
        f"**Common ground.** {len(cols['shared'])} shared columns ({fams}) of the families "
        f"{', '.join(cols['families'])} are reconstructed by both tokenizers (prototype space); "
        f"{len(cols['fed'])} columns A reads have values in B's table and feed cross-encoding; the other "
        f"{len(cols['absent_in_A'])} columns A reads are held at A's imputation value"
        + (f" ({len(cols['empty_in_B'])} of them in B's table but only as NaN)" if cols["empty_in_B"] else "")
        + ". "
        f"{data['probes']} probe samples of B; space `{data['config']['space']}`.",
        "",
        "## Scores beside their nulls",
        "",
        "| measure | value | null mean ± std | z | p | better |",
        "|---|---:|---:|---:|---:|---|",
    ]
    better = {"greater": "higher", "less": "lower", "two-sided": "descriptive"}
    for s in data["scores"]:
        lines.append(
            f"| {s['name']} | {_fmt(s['value'])} {s['unit']} | {_fmt(s['null_mean'])} ± {_fmt(s['null_std'], 2)} "
            f"| {_fmt(s['z'])} | {_fmt(s['p_value'], 2)} | {better[s['alternative']]} |"
        )
    centred = [p["centred"] for p in data["prototype_matching"] if p.get("centred")]
    if centred:
        lines += [
            "",
            "Check of the prototype scores, each codebook's mean prototype removed (same null draws; "
            "where the score beats its null and this does not, the agreement is only in the mean profiles):",
            "",
        ]
        lines += [
            f"- {c['name']}: {_fmt(c['value'])} vs null {_fmt(c['null_mean'])} ± {_fmt(c['null_std'], 2)}, "
            f"z = {_fmt(c['z'])}, p = {_fmt(c['p_value'], 2)}"
            for c in centred
        ]
    lines += ["", "References (no null: what each tokenizer achieves on its own ground):", ""]
    lines += [f"- {k}: {_fmt(v)}" for k, v in data["references"].items()]
    lines += ["", MEASURES]
    nmi = np.asarray(comparison.correspondence["token NMI"], dtype=float)
    lines += ["## Category correspondence", ""]
    if np.isfinite(nmi).any():
        lines.append("A category → the B category sharing most level-0 token information (NMI):")
        lines.append("")
        silent = []
        for i, name in enumerate(comparison.a.view.categories):
            row = nmi[i]
            if not np.isfinite(row).any():
                continue
            j = int(np.nanargmax(row))
            if row[j] > 0:
                lines.append(f"- `{name}` → `{comparison.b.view.categories[j]}` (NMI {row[j]:.2f})")
            else:
                silent.append(f"`{name}`")
        if silent:
            lines.append(f"- constant level-0 token on the probes (no information): {', '.join(silent)}")
        lines.append("")
    for p in data["prototype_matching"][:1]:
        pairs = sorted(p["pairs"], key=lambda q: q["distance"])[:10]
        out = {k: ", ".join(f"{n} {why}" for why, n in v.items()) for k, v in p["left_out"].items()}
        lines += [
            f"Best-matched level-{p['level']} codes ({p['codes']['A']} x {p['codes']['B']} compared; "
            f"left out of A: {out['A']}; of B: {out['B']}):",
            "",
            "| A code | B code | RMS distance (z) |",
            "|---|---|---:|",
        ]
        lines += [f"| `{q['A']}` | `{q['B']}` | {_fmt(q['distance'])} |" for q in pairs]
        lines.append("")
    if data["warnings"]:
        lines += ["## Warnings", ""] + [f"- {w}" for w in data["warnings"]] + [""]
    lines += ["## Figures", ""] + [f"![{f}]({f})" for f in data["files"] if f.endswith(".png")]
    return "\n".join(lines) + "\n"


def write_report(comparison, config, out_dir: Path, figures: list[Path]) -> list[Path]:
    """Write ``report.json`` and ``report.md`` into ``out_dir``; returns every file of the report."""
    out_dir = Path(out_dir)
    data = to_json(comparison, config, figures)
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    md_path.write_text(_markdown(data, comparison))
    return [md_path, json_path, *figures]
