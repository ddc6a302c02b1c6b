"""Verdicts: a model's error metrics read against trivial baselines, in one sentence.

A number alone ("rel. L2 1.072") does not say whether a model learned anything; beside what
predicting ``u(t) = u0`` (persistence), ``u(t) = 0`` (zero) or ``u(t) = spatial mean of u0``
(mean) scores, it does. Every metric here is an error: lower is better.

:func:`verdict` is pure (numbers in, ``(level, sentence)`` out) so it can be tested with known
answers; :func:`split_summary` reads the flat summaries the ``mno`` and ``validate`` stages
write (``rel_l2``, ``persistence_rel_l2``, ``zero_vrmse``, ``mean_field_vrmse`` ...), and
:func:`report` prints the comparison and warns when the model is no better than a baseline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = [
    "LEVELS",
    "METRICS",
    "BASELINES",
    "verdict",
    "split_summary",
    "summary_verdict",
    "comparison_lines",
    "report",
]

#: ``good``: better than every baseline on every metric by at least :data:`CLEAR_MARGIN`;
#: ``mixed``: better than some, not all (or than all, but one only narrowly);
#: ``poor``: better than none; ``unknown``: nothing to compare.
LEVELS = ("good", "mixed", "poor", "unknown")
#: Metric key -> how people call it.
METRICS = {"rel_l2": "rel. L2", "vrmse": "VRMSE"}
#: Baseline -> (key prefix in the stage summaries, how the sentence names it, what losing to it means).
BASELINES = {
    "persistence": ("persistence_", "persistence", "it does no better than holding u0"),
    "zero": ("zero_", "predicting zero", "it has not learned the decay"),
    "mean": ("mean_field_", "predicting the mean of u0", "it does no better than a flat field"),
}
#: Relative margins within this are a tie (a tie is "no better").
TOLERANCE = 0.01
#: A model that beats every baseline, but one of them by less than this, is "mixed", not "good":
#: 4% better than holding u0 is not a model that has learned the dynamics.
CLEAR_MARGIN = 0.10


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _join(parts: list[str]) -> str:
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def verdict(
    model: Mapping[str, float | None],
    baselines: Mapping[str, Mapping[str, float | None]],
    *,
    name: str = "MNO",
    tolerance: float = TOLERANCE,
) -> tuple[str, str]:
    """``(level, sentence)`` of ``model`` (metric -> error) against ``baselines``
    (baseline -> metric -> error), lower being better on every metric.

    The model beats a baseline on a metric when its error is lower by more than ``tolerance``
    (relative to the baseline's). Margins are ``(baseline - model) / baseline``. ``level`` is one
    of :data:`LEVELS`; the sentence names every win with its margin, every loss, and what the
    first loss (zero, then mean, then persistence) says about the model.
    """
    wins: dict[str, list[str]] = {}
    losses: dict[str, list[tuple[str, bool]]] = {}
    narrowest: tuple[float, str, str] | None = None  # (margin, baseline, metric label)
    for base in sorted(baselines, key=lambda b: list(BASELINES).index(b) if b in BASELINES else 99):
        for metric, label in METRICS.items():
            m, b = model.get(metric), (baselines[base] or {}).get(metric)
            if not (_finite(m) and _finite(b)) or b <= 0:
                continue
            margin = (b - m) / b
            if margin > tolerance:
                wins.setdefault(base, []).append(f"{100 * margin:.0f}% on {label}")
                if narrowest is None or margin < narrowest[0]:
                    narrowest = (margin, base, label)
            else:
                losses.setdefault(base, []).append((label, margin < -tolerance))
    if not wins and not losses:
        return "unknown", f"{name}: no baseline to compare with."

    def called(base: str) -> str:
        return BASELINES.get(base, (None, base))[1]

    win_text = _join([f"{called(b)} by {_join(parts)}" for b, parts in wins.items()])
    loss_parts = []
    for base, items in losses.items():
        word = "worse than" if all(worse for _, worse in items) else "no better than"
        loss_parts.append(f"{word} {called(base)} on {_join([label for label, _ in items])}")
    loss_text = _join(loss_parts)
    first = next((b for b in ("zero", "mean", "persistence") if b in losses), next(iter(losses), None))
    why = BASELINES[first][2] if first in BASELINES else f"it does no better than {first}"
    if not losses:
        margin, base, label = narrowest
        if margin < CLEAR_MARGIN:
            return "mixed", (
                f"{name} beats {win_text}: better than every trivial baseline, but {called(base)} "
                f"by only {100 * margin:.0f}% on {label}: it has barely learned more than that baseline."
            )
        return "good", f"{name} beats {win_text}: better than every trivial baseline."
    if not wins:
        return "poor", f"{name} is {loss_text}: {why}."
    return "mixed", f"{name} beats {win_text} but is {loss_text}: {why}."


def split_summary(summary: Mapping) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """``(model, baselines)`` from a stage summary with keys ``<metric>`` and ``<prefix><metric>``.

    Zero's relative L2 is 1 by definition (``||0 - u|| / ||u||``) when the summary lacks it.
    """
    model = {m: summary.get(m) for m in METRICS if _finite(summary.get(m))}
    baselines: dict[str, dict[str, float]] = {}
    for base, (prefix, _, _) in BASELINES.items():
        values = {m: summary.get(prefix + m) for m in METRICS if _finite(summary.get(prefix + m))}
        if base == "zero" and values:
            values.setdefault("rel_l2", 1.0)
        if values:
            baselines[base] = values
    return model, baselines


def summary_verdict(summary: Mapping | None, name: str = "MNO") -> tuple[str, str]:
    """:func:`verdict` of a stage summary (see :func:`split_summary`)."""
    model, baselines = split_summary(summary or {})
    return verdict(model, baselines, name=name)


def comparison_lines(summary: Mapping) -> list[str]:
    """One line per metric: the model's value beside each baseline's (4 significant digits)."""
    model, baselines = split_summary(summary)
    lines = []
    for metric, label in METRICS.items():
        if metric not in model:
            continue
        beside = [f"{b} {values[metric]:.4g}" for b, values in baselines.items() if metric in values]
        lines.append(
            f"{label} {model[metric]:.4g}" + (f" (baselines: {', '.join(beside)})" if beside else "")
        )
    return lines


def report(stage: str, summary: Mapping | None, name: str = "MNO") -> tuple[str, str]:
    """Print the comparison lines and the verdict; warn when the model loses to a baseline."""
    from .console import info, warn

    level, sentence = summary_verdict(summary, name)
    for line in comparison_lines(summary or {}):
        info(f"{stage}: {line}")
    if level in ("mixed", "poor"):
        warn(f"{stage}: {sentence}")
    else:
        info(f"{stage}: {sentence}")
    return level, sentence
