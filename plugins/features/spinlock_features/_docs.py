"""The column reference of ``docs/features.md``, generated from the declarations.

Run ``python -m spinlock_features._docs`` to print it; a test fails when the page is stale, so
names, units and definitions in the docs cannot drift from the code.
"""

from __future__ import annotations

__all__ = ["reference_markdown"]


def _table(rows) -> list[str]:
    lines = ["| column | unit | definition |", "|---|---|---|"]
    lines += [f"| `{n}` | {u or '-'} | {d} |" for n, u, d in rows]
    return lines


def reference_markdown() -> str:
    """Markdown tables: one line per column (pattern) of each family, default configs."""
    from .initial import INITIAL_FEATURES
    from .summary import ENSEMBLE_FEATURES, SummaryConfig, trajectory_features
    from .temporal import TemporalConfig, curve_features

    out = ["### INITIAL (`initial`, per sample)", ""]
    rows = [(f"{{c}}__{n}", u.replace("field", "[c]"), d) for n, u, d in INITIAL_FEATURES]
    rows.append(("{a}__{b}__corr", "1", "Pearson correlation of channels a and b (pairs a before b)"))
    out += _table(rows) + ["", "### ARCHITECTURE (`architecture`, per sample)", ""]
    out += _table(
        [
            ("{name}", "as θ", "continuous (linear) or integer parameter value"),
            ("log10_{name}", "log10", "log10 of a continuous parameter sampled log-uniform"),
            ("{name}", "0/1", "boolean parameter, 1 = true"),
            ("{name}=={choice}", "0/1", "one-hot indicator of each choice of a categorical parameter"),
            ("derived__{name}", "config", "domain-derived value listed in `architecture.derived`"),
        ]
    )
    agg = ", ".join(SummaryConfig().aggregates)
    out += ["", f"### SUMMARY (`summary`, per sample; `{{feature}}__{{stat}}`, stat in: {agg})", ""]
    out += _table(trajectory_features(SummaryConfig().n_bands()))
    out += ["", "Ensemble columns (not reduced over realizations):", ""]
    out += _table(ENSEMBLE_FEATURES)
    agg = ", ".join(TemporalConfig().aggregates)
    out += ["", f"### TEMPORAL (`temporal`, per timestep; `{{feature}}__{{stat}}`, stat in: {agg})", ""]
    out += _table(curve_features(TemporalConfig().n_bands()))
    out += _table(
        [
            (
                "ensemble_spread",
                "field",
                "sqrt(mean over pixels, channels of the variance over realizations); NaN if M=1",
            )
        ]
    )[2:]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(reference_markdown(), end="")
