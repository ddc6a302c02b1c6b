"""benchmarks/tokenizer_cno.py: its table is the real pipeline's, its budget stops cleanly, and its
three-model comparison runs on a given table with the same split and matched capacity."""

from __future__ import annotations

import importlib.util
import json
import math
import types
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "tokenizer_cno.py"
# A CNO generation small enough for a unit test: 4 samples, 16x16, 3 steps, 2 realizations.
SMALL = ["generate.steps=3", "generate.grid=16", "generate.batch_size=4", "device=cpu"]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("tokenizer_cno_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_index_ranges(bench):
    assert bench.index_ranges(np.array([5, 0, 1, 2, 7, 6, 9])) == [[0, 2], [5, 7], [9, 9]]
    assert bench.index_ranges(np.array([], dtype=int)) == []


def test_codebook_stats_known_answer(bench):
    s = bench.codebook_stats(np.array([0, 0, 1, 3]), 4)
    assert (s["used"], s["dead"], s["utilization"]) == (3, 1, 0.75)
    assert s["perplexity"] == pytest.approx(math.exp(-(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))))
    assert s["uniform_utilization"] == pytest.approx(1 - 0.75**4)


def test_spec_deviations_name_every_difference(bench):
    made = {"operator": {"name": "cno"}, "generate": {"grid": 64, "steps": 255, "realizations": 5}}
    assert bench.spec_deviations(made, 4096) == []
    made["generate"]["realizations"] = 1
    assert bench.spec_deviations(made, 1024) == [
        "realizations=1 (issue: 5)",
        "1024 samples (issue: at least 4096)",
    ]


def test_pca_kmeans_reconstructs_exactly_when_every_row_has_a_code(bench):
    rng = np.random.default_rng(0)
    train = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 3))  # rank 2 in 3-D
    val = train[[4, 1, 1, 0]]
    out = bench.pca_kmeans(train, val, k=6, variance=0.999999, seed=0)
    assert out["components"] == 2
    np.testing.assert_allclose(out["recon"], val, atol=1e-9)
    assert bench.reconstruction_stats(out["recon"], val, {"all": [0, 1, 2]})["quality"] == pytest.approx(1.0)
    assert bench.pca_kmeans(train, val, k=50, variance=0.99, seed=0)["k"] == 6  # capped to training rows


def test_time_budget_stops_before_a_chunk_that_would_overrun(bench, monkeypatch):
    clock = {"t": 0.0}
    made = []

    def fake_chunk(setup, indices, parts_dir, advance):
        made.append(int(indices[0]))
        clock["t"] += 10.0 * len(indices) / 4

    import spinlock_core.stages.build as build

    monkeypatch.setattr(build, "generate_chunk", fake_chunk)
    monkeypatch.setattr(
        bench, "time", types.SimpleNamespace(time=lambda: clock["t"], perf_counter=lambda: clock["t"])
    )
    setup = types.SimpleNamespace(device=types.SimpleNamespace(type="cpu"))
    chunks = [range(i, i + 4) for i in range(0, 16, 4)]
    report = bench.generate_chunks(setup, chunks, Path("unused"), deadline=25.0, label="")
    assert made == [0, 4]  # the third chunk would end at 30 > 25: not started
    assert report["stopped_by_budget"] and report["not_made"] == [[8, 11], [12, 15]]


def test_generated_table_is_the_features_stage_table(bench, tmp_path):
    from spinlock_core.runner import Runner
    from spinlock_core.stages.tokenizer import feature_table

    argv = ["--scale", "small", "--n-samples", "4", "--design-samples", "4", "--out", str(tmp_path / "out")]
    argv += ["--generate-only", "--dashboards", "--override", *SMALL]
    report = bench.main(argv)
    assert report["data"]["samples_used"] == 4 and report["data"]["index_ranges"] == [[0, 3]]
    ours, our_cols = feature_table(tmp_path / "out" / "features.h5")

    # The stage run stores trajectories: with none stored, `features` cannot rebuild the
    # architecture table, whose inline manifest it fails to match (derived-column order).
    stage_args = bench.parse_args([*argv, "stage=features", "generate.store_trajectories=true"])
    Runner(bench.compose_config(stage_args), tmp_path / "run").run()
    theirs, their_cols = feature_table(tmp_path / "run" / "features" / "features.h5")
    assert sorted(our_cols) == sorted(their_cols)
    pos = {c: j for j, c in enumerate(their_cols)}
    # bitwise, NaNs in the same places
    np.testing.assert_array_equal(ours, theirs[:, [pos[c] for c in our_cols]])

    again = bench.main(argv)  # every chunk is already a part: nothing is made again
    assert again["data"]["generation_this_call"]["samples_made_this_call"] == 0


def _synthetic_features(n: int = 96) -> tuple[dict, dict, dict]:
    rng = np.random.default_rng(1)
    blocks = [rng.standard_normal((n, 1)) @ rng.uniform(0.5, 1.5, (1, w)) for w in (4, 3, 3)]
    x = np.concatenate(blocks, 1) + 0.1 * rng.standard_normal((n, 10))
    data = {
        "index": np.arange(n),
        "status": np.zeros(n, np.int8),
        "tables": {"summary": x[:, :7].astype(np.float32), "initial": x[:, 7:].astype(np.float32)},
    }
    mans = {
        "summary": [{"name": f"s{i}"} for i in range(7)],
        "initial": [{"name": f"i{i}"} for i in range(3)],
    }
    data["status"][-1] = 2  # a failed sample: dropped before fitting
    data["tables"]["summary"][-1] = np.nan
    data["tables"]["initial"][-1] = np.nan
    attrs = {"config": "", "generation_fingerprint": "synthetic"}
    return data, mans, attrs


def test_three_models_on_a_given_table(bench, tmp_path):
    data, mans, attrs = _synthetic_features()
    bench.write_features(tmp_path / "f.h5", data, mans, attrs)
    out = tmp_path / "out"
    argv = ["--features-h5", str(tmp_path / "f.h5"), "--scale", "small", "--out", str(out), "--epochs", "1"]
    # 32 codes per level: more codes (6 codebooks x 32) than the 76 training rows, so k-means is capped
    overrides = ["device=cpu", "tokenizer.device=cpu", "tokenizer.codebook_size=32"]
    report = bench.main([*argv, "--dashboards", "--override", *overrides])
    assert report["data"]["samples_used"] == 95 and report["data"]["status"]["failed"] == 1
    models = report["models"]
    assert list(models) == ["categorical_vqvae", "flat_vqvae", "pca_kmeans"]
    assert all("error" not in m for m in models.values()), models
    cat, flat, pk = models["categorical_vqvae"], models["flat_vqvae"], models["pca_kmeans"]
    assert flat["codebooks"] == pk["codebooks"] == 1
    assert flat["total_codes"] == cat["total_codes"]
    assert pk["codes_requested"] == cat["total_codes"] and pk["codes_capped_to_training_rows"]
    assert flat["parameters"] == pytest.approx(cat["parameters"], rel=0.02)
    for m in models.values():  # one validation set for all: the same categories scored
        assert set(m["r2_by_category"]) == set(cat["r2_by_category"])
    assert sorted(p.name for p in out.iterdir()) == ["features.h5", "results.json", "table.md"]
    saved = json.loads((out / "results.json").read_text())
    assert saved["goals"]["test_rows"] == report["split"]["test_rows"]
    assert "| flat_vqvae | 1 |" in (out / "table.md").read_text()


def test_extend_refuses_a_table_of_another_config(bench, tmp_path):
    data, mans, attrs = _synthetic_features()
    bench.write_features(tmp_path / "f.h5", data, mans, attrs)
    argv = [
        "--features-h5",
        str(tmp_path / "f.h5"),
        "--extend",
        "--scale",
        "small",
        "--out",
        str(tmp_path / "o"),
    ]
    with pytest.raises(SystemExit, match="generation fingerprint synthetic"):
        bench.main(argv)
