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
    output = " ".join(result.output.split())
    assert "signed so that positive is better than chance" in output  # the signed z explained
    assert "descriptive" in output and "either" not in output  # the Markdown's word
    assert "columns A reads are not in B's table and were imputed" in output
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
    # categories named by their columns, imputed columns counted
    assert report["category_labels"]["A"][0].startswith(report["correspondence"]["rows_A"][0] + " (")
    assert report["notes"][0] in markdown


def test_scores_below_null_are_commented_and_mixed_says_what_next():
    from types import SimpleNamespace

    from spinlock_alignment.report import headline, notes
    from spinlock_core.interfaces import Score

    def score(name, value, draws, alternative="greater"):
        return Score(name=name, value=value, null_draws=draws, alternative=alternative)

    scores = [
        score("prototype distance L0", 0.1, [1.0, 1.1, 0.9, 1.05] * 10, "less"),
        score("token MI (L0)", 0.5, [0.1, 0.2, 0.15, 0.12] * 10),
        score("CKA", 0.01, [0.5, 0.6, 0.55, 0.52] * 10),
    ]
    comparison = SimpleNamespace(
        scores=scores,
        score=lambda name: next(s for s in scores if s.name == name),
        columns=SimpleNamespace(fed=["a"] * 89, absent=["b"] * 179, shared=["s"] * 12),
        a=SimpleNamespace(label="A"),
        b=SimpleNamespace(label="B"),
        warnings=["a warning"],
    )
    lines = notes(comparison)
    assert lines[0].startswith("179 of the 268 columns A reads are not in B's table and were imputed")
    assert len(lines) == 2 and lines[1].startswith("CKA is below its null (z = ")
    assert "(p ≈ 1: not one null draw did worse)" in lines[1]
    text = headline(comparison)
    assert (
        "mixed: 2 of 3" in text and "(not CKA). Next: run the same comparison on a same-domain pair" in text
    )


def test_default_folder_is_unique_when_both_runs_are_called_default(tmp_path):
    from spinlock_core.cli.compare_cmd import default_folder

    a, b = tmp_path / "fluids" / "default", tmp_path / "reaction_diffusion" / "default"
    assert (
        default_folder(a, b, "codebook_alignment").name == "codebook_alignment-vs-reaction_diffusion-default"
    )
    assert default_folder(a, tmp_path / "x" / "other", "c").name == "c-vs-other"
