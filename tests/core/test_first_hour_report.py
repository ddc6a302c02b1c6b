"""Issue #20, point 9: `inspect RUN_DIR` shows the run's headline numbers; the report's 45-row
heatmap is readable; the MNO's |error| panels have colour bars; `backbone=fno` without
neuraloperator is refused when the run is planned."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from spinlock_core.config import compose
from spinlock_core.errors import ConfigError
from spinlock_core.runner import Runner

from ..conftest import TOY


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_inspect_run_dir_prints_the_headline_numbers_and_verdicts(cli, tmp_path):
    run = tmp_path / "run"
    (run).mkdir()
    (run / "config.yaml").write_text("domain:\n  name: toy\n")
    for stage in ("tokenizer", "mno", "validate"):
        _write(run / ".spinlock" / "stages" / f"{stage}.json",
               {"stage": stage, "fingerprint": "f", "finished": "2026-01-01T00:00:00", "seconds": 2.0})  # fmt: skip
    (run / "tokenizer" / "model.pt").parent.mkdir()
    (run / "tokenizer" / "model.pt").write_bytes(b"not read")  # the metadata sidecar is
    _write(run / "tokenizer" / "model.json",
           {"schema": "1.0", "kind": "tokenizer", "name": "categorical_vqvae",
            "metrics": {"r2_overall": 0.391, "utilization_mean": 0.739}})  # fmt: skip
    summary = {"rel_l2": 1.072, "persistence_rel_l2": 1.17, "vrmse": 1.293, "persistence_vrmse": 1.44,
               "zero_vrmse": 1.071, "mean_field_vrmse": 1.071}  # fmt: skip
    _write(run / "mno" / "evaluation.json", {"summary": summary})
    _write(run / "validate" / "report.json",
           {"rollout": {"summary": {**summary, "rel_l2": 0.623}}, "tokenizer": {"mean_agreement": 0.678}})  # fmt: skip
    result = cli("inspect", str(run))
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    for shown in ("tokenizer test R² │ 0.391", "tokenizer utilization (test rows) │ 0.739",
                  "MNO val rel. L2 │ 1.072", "persistence rel. L2 │ 1.17", "fresh-θ rel. L2 │ 0.623",
                  "fresh-θ token agreement │ 0.678", "stage time │ 6.0 s"):  # fmt: skip
        assert shown in out, shown
    assert "MNO vs baselines (validation split) │ mixed" in out
    assert "MNO vs baselines (validation split) (mixed): MNO beats persistence" in out


def test_a_45_row_token_heatmap_grows_with_its_rows_and_labels_them_readably(monkeypatch):
    from spinlock_core.report import plotting, tokenizer_section

    drawn = []
    real = tokenizer_section.to_png
    monkeypatch.setattr(tokenizer_section, "to_png", lambda fig: drawn.append(fig) or real(fig))
    names = [f"cat{c:02d}_summary/L{level}" for c in range(15) for level in range(3)]
    tokens = np.random.default_rng(0).integers(0, 8, (64, len(names)))
    tokenizer_section._usage(tokens, names, [8] * len(names))
    heatmap = drawn[0].axes[0]
    labels = [t for t in heatmap.get_yticklabels() if t.get_text()]
    assert [t.get_text() for t in labels] == names
    assert min(t.get_fontsize() for t in labels) >= 8
    inches = heatmap.get_position().height * drawn[0].get_size_inches()[1]
    assert inches / len(names) >= 0.95 * plotting.ROW_INCHES  # room for each label


def test_label_rows_thins_labels_when_the_figure_cannot_grow():
    from spinlock_core.report.plotting import label_rows, subplots

    fig, axes = subplots(1, 1, panel=(3, 2))
    label_rows(axes[0, 0], [f"r{i}" for i in range(100)], height=2.0)
    assert len(axes[0, 0].get_yticks()) == 10 and "every 10th of 100 rows" in axes[0, 0].get_ylabel()


def test_mno_rollout_figure_has_a_colour_bar_per_row_with_the_error_scale():
    from spinlock_core.mno.evaluate import rollout_figure

    true = np.random.default_rng(0).normal(size=(8, 16, 16))
    fig = rollout_figure(true, true[:1].repeat(8, 0), [0, 3, 7], "sample 0")
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 3 and len(fig.axes) == 3 * 3 + 3
    assert [b.get_ylabel() for b in bars] == ["value", "value", "|MNO - true|"]
    low, high = bars[2].get_ylim()
    assert low == 0 and high == pytest.approx(np.abs(true - true[:1]).max())


@pytest.mark.skipif(importlib.util.find_spec("neuralop") is not None, reason="neuraloperator is installed")
def test_fno_without_neuraloperator_is_refused_when_planned_unless_its_stage_is_not_run(tmp_path):
    config = compose([*TOY, "backbone=fno", f"run.dir={tmp_path / 'r'}"])
    with pytest.raises(ConfigError) as info:
        Runner(config).plan()
    message = str(info.value)
    assert "stage 'mno'" in message and "spinlock.backbones:fno" in message
    assert "pip install 'spinlock[neuralop]'" in message
    assert not (tmp_path / "r").exists()  # nothing ran
    generate_only = compose([*TOY, "backbone=fno", "stage=generate", f"run.dir={tmp_path / 'g'}"])
    assert Runner(generate_only).plan() == [("generate", "run")]
