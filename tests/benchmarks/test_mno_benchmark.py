"""benchmarks/mno.py: its FLOP decomposition is exact, its variants are isolated, and the CPU
smoke run writes every artefact."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import attrs
import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "mno.py"
torch.set_num_threads(1)  # tiny models on shared CPUs: more threads only contend


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("mno_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("steps", "window", "mode"), [(7, 3, "windowed"), (7, 3, "last")])
def test_flop_decomposition_equals_counting_the_whole_step(bench, steps, window, mode):
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    space, device = bench.parameter_space(), torch.device("cpu")
    model, _ = bench.build("u_afno", "small", space, device)
    step = bench.Step(model, "fp32", device)
    params = list(model.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    u0, targets = torch.randn(2, 1, 8, 8), torch.randn(2, steps, 1, 8, 8)
    theta = bench.theta_batch(space, 2, device)
    with FlopCounterMode(display=False) as counter:
        bench.train_step(step, params, optimizer, u0, theta, targets, window, mode)
    assert bench.step_flops(step, u0, theta, targets, window, mode) == counter.get_total_flops() > 0


def test_fno_width_matching_and_theta_cover_every_choice(bench, monkeypatch):
    space = bench.parameter_space()
    theta = bench.theta_batch(space, 5, "cpu")
    for p in space.params:
        if p.kind == "categorical":
            assert set(theta[p.name].long().tolist()) == set(range(min(5, len(p.choices))))
    calls = []

    def fake_build(backbone, preset, space_, device, hidden=None):
        calls.append(hidden)
        return torch.nn.Linear(hidden, hidden, bias=False), None  # hidden**2 parameters

    monkeypatch.setattr(bench, "build", fake_build)
    assert bench.matched_fno_width("large", 1000**2 + 30, space) == 1000
    assert bench.matched_fno_width("large", 1001**2 - 30, space) == 1001


def test_a_failing_variant_is_recorded_and_an_oom_halves_the_batch(bench, monkeypatch):
    seen = []

    def fake_measure(v, *args):
        seen.append(v.batch)
        if v.preset == "broken":
            raise ValueError("no such thing")
        if v.batch > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return {"samples_per_s": 1.0}

    monkeypatch.setattr(bench, "measure", fake_measure)
    args = type("Args", (), {"device_name": "test"})()
    ok = bench.run_variant(bench.Variant(label="x", batch=8), args, None, torch.device("cpu"), {}, {})
    assert (ok["status"], ok["batch"], seen) == ("ok", 2, [8, 4, 2])
    bad = bench.run_variant(
        bench.Variant(label="y", preset="broken"), args, None, torch.device("cpu"), {}, {}
    )
    assert bad["status"] == "error" and "no such thing" in bad["error"]


def test_quick_plan_puts_the_prototype_baseline_first(bench):
    args = bench.parse(["--quick", "--out", "x", "--no-fno"])
    variants = bench.plan(args)
    base = variants[0]
    assert (base.role, base.mode, base.batch, base.precision, base.compile) == (
        "baseline",
        "last",
        4,
        "fp32",
        False,
    )
    assert (base.preset, base.steps, base.window) == ("large", 256, 32)
    headline = variants[1]
    assert (headline.preset, headline.mode, headline.precision, headline.compile) == (
        "large",
        "windowed",
        "bf16",
        True,
    )
    assert {(v.precision, v.resolution) for v in variants} >= {("fp32", 64), ("bf16", 128)}
    assert all(attrs.asdict(v)["steps"] == 256 for v in variants)


def test_tiny_cpu_run_writes_rows_summary_and_chart(bench, tmp_path):
    rows = bench.main(["--tiny", "--no-fno", "--seconds-per-variant", "0", "--out", str(tmp_path)])
    train = [r for r in rows if r["benchmark"] == "mno_train"]
    assert [r["status"] for r in train] == ["ok"] * 3 and train[0]["role"] == "baseline"
    for r in train:
        assert r["samples_per_s"] > 0 and r["flops_per_step"] > 0 and 0 < r["mfu"] < 1
    windowed = train[1]
    assert windowed["supervised_steps_per_s"] == pytest.approx(windowed["samples_per_s"] * 8)
    (params,) = [r for r in rows if r["benchmark"] == "mno_params"]
    assert params["params_effective"] == params["params_total"] > 0
    lines = (tmp_path / "mno.jsonl").read_text().splitlines()
    assert [json.loads(line)["benchmark"] for line in lines] == [r["benchmark"] for r in rows]
    assert "| prototype pattern" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "throughput.png").is_file()
