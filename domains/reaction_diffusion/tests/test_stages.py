"""The reaction-diffusion domain through the real stages: generate, replay, resume, features."""

from __future__ import annotations

import numpy as np
import pytest

from spinlock_core import registry
from spinlock_core.config import compose
from spinlock_core.plugins import reset_plugin_manager
from spinlock_core.replay import compare_replay
from spinlock_core.runner import Runner
from spinlock_core.stages import build
from spinlock_core.stages.features import read_table
from spinlock_core.storage import STATUS, Dataset

SMALL = ["domain=reaction_diffusion", "device=cpu", "generate.grid=16", "generate.steps=8"]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    registry.clear_cache()
    reset_plugin_manager()


def _run(run_dir, *extra):
    config = compose([*SMALL, f"run.dir={run_dir}", *extra])
    Runner(config).run()
    return run_dir


def _arrays(path):
    with Dataset(path) as ds:
        return {n: ds.read(n) for n in ds.array_names()}


@pytest.mark.parametrize("operator", ["cno", "gray_scott"])
def test_generate_then_replay_is_bitwise(tmp_path, operator):
    run = _run(
        tmp_path / "r",
        f"operator={operator}",
        "stage=generate",
        "generate.n_samples=8",
        "generate.batch_size=3",
    )
    with Dataset(run / "dataset") as ds:
        assert (ds.read("samples/status") == STATUS["ok"]).all()
        assert ds.read("trajectories").shape[:3] == (8, 2 if operator == "cno" else 1, 9)
    for index in (0, 5):
        assert compare_replay(run / "dataset", index)["identical"]


def test_interrupted_generate_resumes_to_identical_contents(tmp_path, monkeypatch):
    extra = ["stage=generate", "generate.n_samples=8", "generate.batch_size=2", "generate.chunk_size=2"]
    reference = _arrays(_run(tmp_path / "ref", *extra) / "dataset")
    calls = {"n": 0}
    original = build.generate_chunk

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C in the third chunk
        return original(*args, **kwargs)

    monkeypatch.setattr("spinlock_core.stages.generate.generate_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "b", *extra)
    monkeypatch.setattr("spinlock_core.stages.generate.generate_chunk", original)
    resumed = _arrays(_run(tmp_path / "b", *extra) / "dataset")
    assert reference.keys() == resumed.keys()
    for name in reference:
        assert np.array_equal(reference[name], resumed[name], equal_nan=reference[name].dtype.kind == "f"), (
            name
        )


def test_features_stage_writes_four_named_tables_with_no_constant_column(tmp_path):
    run = _run(tmp_path / "r", "stage=features", "generate.n_samples=64", "generate.steps=31")
    constant = []
    for family in ("initial", "architecture", "summary", "temporal"):
        table, columns = read_table(run / "features" / "features.h5", family)
        assert table.shape[-1] == len(columns) > 0
        flat = table.reshape(-1, table.shape[-1]) if table.ndim == 2 else table.mean(axis=1)
        for j, column in enumerate(columns):
            values = flat[:, j][np.isfinite(flat[:, j])]
            if len(values) < 2 or np.ptp(values) == 0:
                constant.append(f"{family}/{column['name']}")
    assert constant == [], f"constant or undefined across a varied dataset: {constant}"


def test_offline_features_equal_inline(tmp_path):
    common = ["stage=features", "generate.n_samples=8", "features=[initial,architecture,summary,temporal]"]
    inline = _run(tmp_path / "a", *common)
    offline = _run(tmp_path / "b", *common, "generate.inline_features=false", "extract.batch_size=3")
    for family in ("initial", "architecture", "summary", "temporal"):
        a, columns_a = read_table(inline / "features" / "features.h5", family)
        b, columns_b = read_table(offline / "features" / "features.h5", family)
        assert columns_a == columns_b
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True, err_msg=family)


@pytest.mark.parametrize("operator", ["cno", "gray_scott"])
def test_visualize_ic_gallery_writes_a_png(tmp_path, operator):
    from typer.testing import CliRunner

    from spinlock_core.cli import build_app

    out = tmp_path / "g.png"
    result = CliRunner().invoke(
        build_app(),
        [
            "visualize",
            "ic-gallery",
            f"operator={operator}",
            "--out",
            str(out),
            "--per-type",
            "1",
            "--size",
            "16",
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
