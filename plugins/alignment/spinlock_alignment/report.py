"""The report of a comparison: ``report.json`` (everything, plain values) and ``report.md``
(what a person reads: every score beside its null, what each measure and null is, the best
correspondences, the warnings), next to the figures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .views import MISSING_SUFFIX

__all__ = [
    "to_json",
    "write_report",
    "headline",
    "notes",
    "category_label",
    "control_line",
    "SAME_DOMAIN_CONTROL",
    "ALIGNMENT_P",
    "BETTER",
    "Z_MEANING",
]

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


#: Direction of a better score, in the words of the report and the console.
BETTER = {"greater": "higher", "less": "lower", "two-sided": "descriptive"}
#: What the signed z means, said once beside every table of scores.
Z_MEANING = (
    "z: the score's distance from its null in null standard deviations, signed so that positive is "
    "better than chance whichever way the score runs (for a lower-is-better distance, z > 0 means "
    "below the null); p: permutation p-value; 'descriptive' scores have no better direction."
)
#: What a score below its null says, per measure (the first matching prefix).
_BELOW = {
    "prototype distance": "A's and B's codes sit further apart than after shuffling B's columns",
    "cross-encoding": "A reconstructs B's probes worse than probes with their columns shuffled",
    "token MI": "A's and B's tokens share less information than with shuffled columns",
    "CKA": "the two representations of the probes are less alike than with shuffled columns",
    "RSA": "the two tokenizers rank probe distances less alike than with shuffled columns",
}


def category_label(view, i: int, k: int = 2) -> str:
    """``cat05_summary (energy_max, spread, +12)``: a category's name with its top ``k`` columns,
    ranked by their weight in the category's encoder (:meth:`CodebookView.top_columns`; family
    prefix and missing-value indicators dropped), and how many more it has."""
    columns = [c.split("/", 1)[-1] for c, _ in view.top_columns(i) if not c.endswith(MISSING_SUFFIX)]
    more = f", +{len(columns) - k}" if len(columns) > k else ""
    return f"{view.categories[i]} ({', '.join(columns[:k])}{more})" if columns else view.categories[i]


def notes(comparison) -> list[str]:
    """Plain-language lines for the console and the report: imputed columns, and every directed
    score below its null, with what it says."""
    cols = comparison.columns
    reads = len(cols.fed) + len(cols.absent)
    lines = [
        f"{len(cols.absent)} of the {reads} columns A reads are not in B's table and were imputed "
        f"(held at A's imputation value) when A encoded B's probes"
        + ("; cross-encoding scores rest on the other columns only." if cols.absent else ".")
    ]
    for s in comparison.scores:
        if s.alternative == "two-sided" or s.z is None or not math.isfinite(s.z) or s.z >= 0:
            continue
        what = next((v for k, v in _BELOW.items() if s.name.startswith(k)), "it is worse than chance")
        near_one = (
            " (p ≈ 1: not one null draw did worse)" if s.p_value is not None and s.p_value > 0.95 else ""
        )
        lines.append(
            f"{s.name} is below its null (z = {s.z:.2f}, p = {s.p_value:.2g}){near_one}: {what}. "
            "That is no evidence of alignment; a score far below chance usually means the two tokenizers "
            "organise the shared features differently, or read different feature definitions."
        )
    return lines


#: What a same-domain pair scores, for a cross-domain result to be read against: measured, not
#: computed here (a control of these runs would need a second run of A's domain with another
#: seed, minutes of generation and training). From docs/analyses.md, "Sanity, as tests".
SAME_DOMAIN_CONTROL = (
    "two reaction-diffusion seeds at scale=small (docs/analyses.md, measured 2026-12-04 at commit "
    "172203e, 200 draws) scored prototype distance L0 z = 10.2, token MI (L0) z = 9.8, CKA z = 4.7, "
    "every p = 1/201"
)


def control_line(comparison) -> str | None:
    """For runs of different domains: what a same-domain pair scores, and how to measure one."""
    a, b = comparison.a, comparison.b
    da, db = getattr(a, "domain", "?"), getattr(b, "domain", "?")
    if da == db or "?" in (da, db):
        return None
    return (
        f"Same-domain control (not run here; a published measurement): {SAME_DOMAIN_CONTROL}. "
        f"For a control of these runs, compare {a.label} with a run of domain {da} under "
        f"another seed (`spinlock run domain={da} seed=1 run.name=seed1`, then "
        f"`spinlock compare-codebooks {a.path} runs/{da}/seed1`)."
    )


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
        failing = ", ".join(s.name for s in key if s.p_value >= ALIGNMENT_P)
        verdict = (
            f"mixed: {sum(p < ALIGNMENT_P for p in ps)} of 3 measure families beat chance at p < {ALIGNMENT_P} "
            f"(not {failing}). Next: run the same comparison on a same-domain pair (two seeds of one "
            "domain) as a control for what the feature definitions alone give, and raise --permutations "
            "where p sits near the threshold"
        )
    n = len(comparison.warnings)
    warned = f" ({n} warning{'s' if n > 1 else ''} in the report.)" if n else ""
    control = control_line(comparison)
    return (
        f"{comparison.a.label} vs {comparison.b.label} over {len(comparison.columns.shared)} shared columns: "
        f"{parts}. Verdict: {verdict}.{warned}" + (f" {control}" if control else "")
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
        "notes": notes(comparison),
        "category_labels": {
            "A": [category_label(comparison.a.view, i) for i in range(len(comparison.a.view.categories))],
            "B": [category_label(comparison.b.view, j) for j in range(len(comparison.b.view.categories))],
        },
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
    better = BETTER
    for s in data["scores"]:
        lines.append(
            f"| {s['name']} | {_fmt(s['value'])} {s['unit']} | {_fmt(s['null_mean'])} ± {_fmt(s['null_std'], 2)} "
            f"| {_fmt(s['z'])} | {_fmt(s['p_value'], 2)} | {better[s['alternative']]} |"
        )
    lines += [""] + [f"- {n}" for n in data["notes"]]
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
                lab_a, lab_b = data["category_labels"]["A"][i], data["category_labels"]["B"][j]
                lines.append(f"- `{lab_a}` → `{lab_b}` (NMI {row[j]:.2f})")
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
