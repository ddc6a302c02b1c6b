"""benchmarks/cno_convs.py: a tiny CPU run times every convolution of a step by shape, and the
single-convolution sweep gives each mode a time and the same numbers as the plain call."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "cno_convs.py"


def test_tiny_cpu_run_tables_convolutions_and_sweeps_modes(tmp_path):
    args = ["--scale", "small", "--batch", "4", "--chunk", "8", "--n-samples", "8", "--steps", "1"]
    args += ["--dtype", "float32", "--variants", "default", "split"]
    args += ["--sweep", "--sweep-shapes", "2,32,16,256,7,2", "--reps", "1", "--out", str(tmp_path)]
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "cno_convs.json").read_text())
    assert set(result["variants"]) == {"default", "split"}
    for report in result["variants"].values():
        convs = report["convs"]
        assert convs and all(r["calls"] >= 1 and r["ms"] > 0 for r in convs)
        assert report["conv_ms"] == round(sum(r["ms"] for r in convs), 2)
        assert len(report["eager_step_ms_per_batch"]) == 2  # 8 samples in batches of 4
    modes = {r["mode"]: r for r in result["sweep"]}
    assert set(modes) >= {
        "deterministic",
        "heuristic",
        "split_cout_128",
        "split_cin_half",
        "channels_last",
        "gemm_im2col",
        "dense_loop",
    }
    for name, row in modes.items():
        assert row["ms"] > 0 and row["repeatable"], name
        # every way of running the convolution computes the same sums (fp32 rounding apart)
        assert row["max_abs_diff_vs_deterministic"] < 1e-4, name
