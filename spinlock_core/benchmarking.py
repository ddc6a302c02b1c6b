"""The benchmark convention: one JSON line per benchmark with its figures, the device string
and a baseline measured in the same run, so figures are read as ratios, never as wall-clock
promises. Scripts live in ``benchmarks/`` and run on the GPU (see docs/benchmarks.md)."""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["report"]


def report(name: str, *, device: str, figures: dict[str, Any], baseline: dict[str, Any], stream=None) -> dict:
    """Print (and return) ``{"benchmark", "device", "figures", "baseline", "ratios"}`` as one JSON line.

    ``ratios`` divides every numeric figure by the baseline figure of the same name.
    """
    ratios = {
        k: round(v / baseline[k], 3)
        for k, v in figures.items()
        if isinstance(v, (int, float)) and isinstance(baseline.get(k), (int, float)) and baseline[k]
    }
    row = {"benchmark": name, "device": device, "figures": figures, "baseline": baseline, "ratios": ratios}
    print(json.dumps(row), file=stream or sys.stdout, flush=True)
    return row
