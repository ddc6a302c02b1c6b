"""The FNO paper's FNO-2D (``fno2d_paper``): size, shape, kept modes, registry, benchmark smoke run."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

from spinlock_core.api import load_plugin
from spinlock_u_afno.fno2d_paper import FNO2dPaper, FourierLayer, SpectralConv2d

BENCHMARK = Path(__file__).parents[3] / "domains" / "fluids" / "benchmarks" / "fno_paper.py"


def _real_count(model: torch.nn.Module) -> int:
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())


def _paper_count(width: int, modes: int, layers: int, history: int = 10, hidden: int = 128) -> int:
    """By hand: lifting, per layer 2 complex blocks (2 reals each) + a 1x1 conv, projection."""
    lift = (history + 2) * width + width
    spectral = 2 * (width * width * modes * modes) * 2
    pointwise = width * width + width
    project = width * hidden + hidden + hidden * 1 + 1
    return lift + layers * (spectral + pointwise) + project


def test_parameter_count_known_answer():
    assert _paper_count(20, 12, 4) == 926_357
    assert _real_count(FNO2dPaper()) == 926_357
    # the paper's table (414,517) is the 8-mode network plus one affine BatchNorm2d(20) per layer
    assert _real_count(FNO2dPaper(modes=8)) + 4 * 2 * 20 == 414_517


def test_output_shape_and_defaults():
    model = FNO2dPaper()
    assert model.lift.in_features == 12 and model.lift.out_features == 20
    assert (model.project_hidden.out_features, model.project_out.out_features) == (128, 1)
    assert len(model.layers) == 4
    out = model(torch.randn(2, 10, 32, 32), None)
    assert out.shape == (2, 1, 32, 32)
    with pytest.raises(ValueError, match="state must be"):
        model(torch.randn(2, 9, 32, 32), None)


def _wave(k1: int, k2: int, n: int = 32, channels: int = 3) -> torch.Tensor:
    """``cos 2π(k1 i + k2 j)/n`` on every channel: one rfft2 coefficient at row ``k1 mod n``,
    column ``k2`` (``0 < k2 < n/2``), or rows ``±k1`` at ``k2 = 0``."""
    i = torch.arange(n, dtype=torch.float32)
    phase = 2 * math.pi * (k1 * i[:, None] + k2 * i[None, :]) / n
    return torch.cos(phase).expand(1, channels, n, n).contiguous()


@pytest.mark.parametrize(
    ("k1", "k2", "kept"),
    [
        (0, 11, True),  # last kept real-FFT column
        (0, 12, False),  # first dropped one
        (11, 3, True),  # last kept positive row
        (12, 3, False),  # +12 is not kept (rows 0..11) ...
        (-12, 3, True),  # ... but -12 is (rows -12..-1)
        (-13, 3, False),
        (5, 13, False),
    ],
)
def test_spectral_conv_keeps_exactly_the_stated_modes(k1, k2, kept):
    torch.manual_seed(0)
    conv = SpectralConv2d(3, 4, modes=12)
    x = _wave(k1, k2)
    out = conv(x)
    if kept:
        assert out.abs().max() > 1e-4
    else:
        assert out.abs().max() < 1e-6
    # the Fourier layer: a dropped mode leaves only the pointwise path W x
    layer = FourierLayer(3, modes=12)
    pointwise_only = torch.allclose(layer(x), layer.pointwise(x), atol=1e-6)
    assert pointwise_only is not kept


def test_grid_channels_and_theta_ignored():
    model = FNO2dPaper(history=2)
    g = model.grid(1, 4, 5, torch.zeros(1))
    assert torch.equal(g[0, 0, :, 0], torch.linspace(0, 1, 4))  # first axis, end points included
    assert torch.equal(g[0, 1, 0, :], torch.linspace(0, 1, 5))
    x = torch.randn(2, 2, 16, 16)
    theta = {"nu": torch.tensor([1e-3, 1e-4])}
    assert torch.equal(model(x, theta), model(x, None))


def test_loads_through_the_registry():
    spec = load_plugin("backbones", "fno2d_paper")
    assert spec.name == "fno2d_paper"
    model, config = spec.load_implementation()(
        spec.config_class(), channels=1, history=10, parameter_space=None, device="cpu"
    )
    assert isinstance(model, FNO2dPaper) and _real_count(model) == 926_357
    assert (config.width, config.modes, config.n_layers, config.history) == (20, 12, 4, 10)
    small, _ = spec.load_implementation()(
        spec.config_class(width=8, modes=4), channels=2, history=3, parameter_space=None
    )
    assert small(torch.randn(1, 6, 16, 16), None).shape == (1, 2, 16, 16)


def test_benchmark_smoke_writes_the_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = importlib.util.spec_from_file_location("fno_paper_benchmark", BENCHMARK)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "fno"
    result = script.main(
        [
            "--device=cpu",
            "--models=fno2d_paper",
            "--n-train=4",
            "--n-test=2",
            "--grid=16",
            "--dt=0.01",
            "--t-in=2",
            "--t-out=3",
            "--minutes=0.002",
            "--paper-batch-size=2",
            "--eval-every=1",
            f"--out={out}",
        ]
    )
    assert json.loads((out / "fno_paper.json").read_text()) == result
    (entry,) = result["models"]
    assert "error" not in entry, entry.get("traceback")
    assert entry["model"] == "fno2d_paper" and entry["entry_point"] == "spinlock.backbones:fno2d_paper"
    assert entry["config"]["history"] == 2 and entry["optimizer_steps"] >= 1
    assert entry["recipe"]["optimizer"] == "Adam" and entry["recipe"]["weight_decay"] == 1e-4
    assert len(entry["test_rel_l2_per_frame"]) == 3 and 0 < entry["test_rel_l2_full"] < 10
    curve = entry["test_curve"]
    assert curve and all("epoch" in c and "test_rel_l2_full" in c for c in curve)
    assert curve[-1]["test_rel_l2_full"] == entry["test_rel_l2_full"]
