"""benchmarks/generate.py: a tiny CPU run records every variant (failures with their error),
the old and the current exact stepper agree bitwise, and Gray-Scott ICs are timed apart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "generate.py"
TINY = [
    "--quick",
    "--scale",
    "small",
    "--dtypes",
    "float32",
    "--configs",
    "4:8",
    "--n-samples",
    "8",
    "--variants",
    "graph",
    "eager",
    "legacy",
    "--warm",
    "1",
    "--timed",
    "1",
    "--verify-samples",
    "3",
    "--verify-steps",
    "2",
    "--baseline-samples",
    "1",
    "--gs-batches",
    "2",
    "--gs-grid",
    "16",
    "--gs-steps",
    "1",
    "--e2e-samples",
    "4",
    "--e2e-compressions",
    "none",
]


def test_tiny_cpu_run_records_every_variant(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *TINY, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "generate.jsonl").read_text().splitlines()]
    cno = {r["variant"]: r for r in rows if r["benchmark"] == "cno"}
    assert "needs a CUDA device" in cno["graph"]["error"]  # a failing variant is recorded, not fatal
    for name in ("eager", "legacy"):
        assert cno[name]["operators"] == 8 and cno[name]["operators_per_s"] > 0
        assert cno[name]["agreement"]["bitwise"], name
    assert (
        cno["eager"]["dispatch_ops_per_step"]["non_view"] < cno["legacy"]["dispatch_ops_per_step"]["non_view"]
    )
    (gs,) = [r for r in rows if r["benchmark"] == "gray_scott"]
    assert gs["ic_seconds"] > 0 and gs["eager"]["trajectory_solver_steps_per_s"] > 0
    assert {r["variant"] for r in rows if r["benchmark"] == "cno_one_at_a_time"} == {"legacy", "eager"}
    stage = {r["variant"]: r for r in rows if r["benchmark"] == "stage_end_to_end"}
    assert set(stage) == {"no_trajectories", "trajectories_none"}, stage
    assert all(r["operators_per_s"] > 0 for r in stage.values())
    assert stage["trajectories_none"]["bytes_written"] > stage["no_trajectories"]["bytes_written"]
    assert "summary" in done.stdout
