"""Feature health: all-NaN and constant columns counted per family, warned, and badged in the report."""

from __future__ import annotations

import json

import numpy as np

from spinlock_core.feature_health import column_health, health, mostly_nan, problems, warn_unhealthy
from spinlock_core.report import RunArtefacts, Text
from spinlock_core.report.features_section import features_section


def _tables():
    rng = np.random.default_rng(0)
    summary = rng.normal(size=(6, 5))
    summary[:, :3] = np.nan  # 3 of 5 all NaN: mostly NaN
    summary[0, 3] = np.nan  # one NaN in a varying column
    temporal = rng.normal(size=(6, 4, 3))
    temporal[..., 1] = 2.5  # constant
    temporal[..., 2] = 7.0
    temporal[0, 0, 2] = np.nan  # constant apart from one NaN
    return {"summary": summary, "temporal": temporal}, {
        "summary": [f"s{j}" for j in range(5)],
        "temporal": ["t0", "t1", "t2"],
    }


def test_counts_per_family_are_known():
    tables, columns = _tables()
    by_family = health(tables, columns)
    s, t = by_family["summary"], by_family["temporal"]
    assert (s["columns"], s["with_nan"], s["all_nan"], s["constant"], s["varying"]) == (
        5,
        4,
        ["s0", "s1", "s2"],
        [],
        [3, 4],
    )
    assert (t["all_nan"], t["constant"], t["with_nan"], t["varying"]) == ([], ["t1", "t2"], 1, [0])
    assert mostly_nan(s) and not mostly_nan(t)
    assert column_health(np.zeros((0, 2)), ["a", "b"])["all_nan"] == ["a", "b"]
    assert problems(by_family) == [
        "summary: 3 of 5 columns are all NaN (mostly NaN); they carry no information and the "
        "tokenizer drops them (e.g. s0, s1, s2)",
        "temporal: 2 of 3 columns are constant; they carry no information and the tokenizer drops "
        "them (e.g. t1, t2)",
    ]


def test_warned_on_the_console(capsys):
    tables, columns = _tables()
    manifests = {n: [{"name": c} for c in cols] for n, cols in columns.items()}
    assert len(warn_unhealthy(tables, manifests)) == 2
    captured = capsys.readouterr()
    err = " ".join((captured.out + captured.err).split())
    assert "warning: features: summary: 3 of 5 columns are all NaN (mostly NaN)" in err


def test_report_badge_is_not_ok_for_a_mostly_nan_family(tmp_path):
    import h5py

    tables, columns = _tables()
    (tmp_path / "features").mkdir()
    with h5py.File(tmp_path / "features" / "features.h5", "w") as f:
        f.create_dataset("index", data=np.arange(6))
        for name, table in tables.items():
            f.create_group(name).create_dataset("table", data=table.astype(np.float32))
            f[name].attrs["columns"] = json.dumps([{"name": c} for c in columns[name]])
    (tmp_path / ".spinlock" / "stages").mkdir(parents=True)
    stamp = {"stage": "features", "outputs": ["features/features.h5"], "finished": "x"}
    (tmp_path / ".spinlock" / "stages" / "features.json").write_text(json.dumps(stamp))
    section = features_section(RunArtefacts(tmp_path))
    assert section.status == "warning"
    text = " ".join(b.text for b in section.blocks if isinstance(b, Text))
    assert "Mostly NaN" in text and "summary" in text
    assert "8 feature columns in all; the tokenizer reads the 5 per-sample ones" in text


def test_tokenizer_section_explains_where_columns_drop():
    from types import SimpleNamespace

    from spinlock_core.report import Table
    from spinlock_core.report.tokenizer_section import column_flow

    dropped = {
        "summary/a": "all-NaN: missing in every training row",
        "summary/b": "all-NaN: missing in every training row",
        "summary/c": "constant: near-constant in training split",
        "summary/d": "near-duplicate of summary/e (|spearman r|=0.9990)",
    }
    flow = {
        "table": 10,
        "selected": 10,
        "indicators": 1,
        "dropped": {"all-NaN": 2, "constant": 1, "near-duplicate": 1},
        "output": 7,
    }
    model = SimpleNamespace(preprocessor=SimpleNamespace(state={"dropped": dropped, "column_flow": flow}))
    text, table = column_flow(model)
    assert text.text == (
        "Columns from features to tokens: 10 per-sample feature columns, 10 selected by the tokenizer's "
        "config, 1 missing-value indicators added, 4 dropped (2 all-NaN, 1 constant, 1 near-duplicate), "
        "7 model inputs (the count the dashboards show)."
    )
    assert isinstance(table, Table) and table.rows[0] == ("all-NaN", "2", "summary/a, summary/b")
