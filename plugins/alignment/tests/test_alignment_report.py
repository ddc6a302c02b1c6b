"""`spinlock compare-codebooks` end to end on two run directories: Markdown, JSON and PNGs."""

from __future__ import annotations

import json

import h5py
import numpy as np
from typer.testing import CliRunner

from spinlock_core.cli import build_app


def _run_dir(path, run, domain: str):
    """A run directory as the pipeline lays it out: features/features.h5, tokenizer/model.pt, config."""
    (path / "features").mkdir(parents=True)
    with h5py.File(path / "features" / "features.h5", "w") as f:
        f.create_dataset("index", data=np.arange(len(run.table)))
        for family in ("summary", "architecture", "initial"):
            idx = [j for j, c in enumerate(run.columns) if c.startswith(family + "/")]
            group = f.create_group(family)
            group.create_dataset("table", data=run.table[:, idx])
            group.attrs["columns"] = json.dumps([{"name": run.columns[j].split("/", 1)[1]} for j in idx])
    run.view.tokenizer.save(path / "tokenizer" / "model.pt")
    (path / "config.yaml").write_text(f"domain:\n  name: {domain}\n")
    return path


def test_compare_codebooks_writes_the_report(same_domain, tmp_path):
    ra = _run_dir(tmp_path / "ra", same_domain[0], "toy_a")
    rb = _run_dir(tmp_path / "rb", same_domain[1], "toy_b")
    out = tmp_path / "cmp"
    args = ["compare-codebooks", str(ra), str(rb), "--out", str(out), "-n", "8", "--seed", "3"]
    for option in ("probe_samples=64", "rsa_samples=32", "space=pooled", "profiles=2"):
        args += ["--set", option]
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    assert "prototype distance L0" in result.output and "Verdict" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["A"]["domain"] == "toy_a" and report["config"]["space"] == "pooled"
    assert report["columns"]["shared_by_family"] == {"summary": 12, "temporal": 0} and report["probes"] == 64
    assert len(report["scores"]) == 7 and all(len(s["null_draws"]) == 8 for s in report["scores"])
    pngs = [f for f in report["files"] if f.endswith(".png")]
    assert len(pngs) == 4
    for name in pngs:
        head = (out / name).read_bytes()[:8]
        assert head == b"\x89PNG\r\n\x1a\n" and (out / name).stat().st_size > 20_000
    markdown = (out / "report.md").read_text()
    assert "| token MI (L0) |" in markdown and "12 shared columns (summary: 12, temporal: 0)" in markdown
    assert all(f"![{name}]({name})" in markdown for name in pngs)
