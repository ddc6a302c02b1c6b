import sys
import types

import pytest
import torch
from torch import nn

from spinlock_core.errors import PluginError
from spinlock_u_afno.fno import FNOBaseline, FNOConfig, MissingExtraError, theta_channel_count


def test_missing_neuralop_names_the_extra(space, monkeypatch):
    monkeypatch.setitem(sys.modules, "neuralop", None)  # import fails even if it is installed
    monkeypatch.setitem(sys.modules, "neuralop.models", None)
    with pytest.raises(MissingExtraError, match=r"pip install spinlock\[neuralop\]") as info:
        FNOBaseline(FNOConfig(), space)
    assert isinstance(info.value, PluginError) and isinstance(info.value, ImportError)


class _StubFNO(nn.Module):
    """Stands in for neuralop's FNO: records its arguments, maps channels with a 1x1 conv."""

    def __init__(self, n_modes, in_channels, out_channels, hidden_channels, n_layers):
        super().__init__()
        self.kwargs = dict(n_modes=n_modes, in_channels=in_channels, hidden_channels=hidden_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, 1)
        self.seen = None

    def forward(self, x):
        self.seen = x
        return self.conv(x)


def test_wrapper_appends_theta_channels(space, theta, monkeypatch):
    pkg, models = types.ModuleType("neuralop"), types.ModuleType("neuralop.models")
    models.FNO = _StubFNO
    monkeypatch.setitem(sys.modules, "neuralop", pkg)
    monkeypatch.setitem(sys.modules, "neuralop.models", models)
    model = FNOBaseline(FNOConfig(history=2, noise_channels=1, n_modes=8), space)
    # 4 numeric (continuous x2, integer, boolean) + 3 one-hot choices
    assert theta_channel_count(space) == 7
    assert model.fno.kwargs["in_channels"] == 2 + 1 + 7
    state, noise = torch.randn(3, 2, 16, 16), torch.randn(3, 1, 16, 16)
    out = model(state, theta, noise)
    assert out.shape == (3, 1, 16, 16)
    seen = model.fno.seen
    assert torch.equal(seen[:, :2], state)
    # θ channels are constant in space; the categorical one-hot sits at the end
    assert torch.equal(seen[:, 3:], seen[:, 3:, :1, :1].expand_as(seen[:, 3:]))
    assert seen[:, -3:, 0, 0].argmax(dim=1).tolist() == theta["kernel"].tolist()


@pytest.fixture
def stub_neuralop(monkeypatch):
    """neuralop.models.FNO replaced by :class:`_StubFNO` (the real one is an optional extra)."""
    pkg, models = types.ModuleType("neuralop"), types.ModuleType("neuralop.models")
    models.FNO = _StubFNO
    monkeypatch.setitem(sys.modules, "neuralop", pkg)
    monkeypatch.setitem(sys.modules, "neuralop.models", models)


def test_fno_is_a_registered_backbone_with_the_u_afno_factory_signature(space, stub_neuralop):
    import inspect

    from spinlock_core import registry
    from spinlock_u_afno.specs import FNOOptions

    spec = registry.load("backbones", "fno")
    factory = spec.load_implementation()
    u_afno = registry.load("backbones", "u_afno").load_implementation()
    assert inspect.signature(factory) == inspect.signature(u_afno)
    model, config = factory(
        FNOOptions(preset="base", overrides={"n_modes": 4}), channels=2, history=3, parameter_space=space
    )
    assert isinstance(model, FNOBaseline) and isinstance(config, FNOConfig)
    # the preset's width and depth, the data's channels and history, the override on top
    assert (config.hidden_channels, config.n_layers, config.n_modes) == (128, 4, 4)
    assert (config.in_channels, config.out_channels, config.history) == (2, 2, 3)
    assert model.fno.kwargs["in_channels"] == 2 * 3 + theta_channel_count(space)


@pytest.mark.parametrize(
    ("preset_name", "overrides", "match"),
    [
        pytest.param("huge", {}, r"unknown preset 'huge'; valid: base, large, small", id="preset"),
        pytest.param("small", {"width": 8}, "unknown backbone option .width.*valid", id="unknown-field"),
        pytest.param("small", {"n_modes": 0}, "fno.n_modes must be >= 1", id="modes"),
    ],
)
def test_bad_fno_options_raise(space, preset_name, overrides, match):
    from spinlock_core.errors import ConfigError
    from spinlock_u_afno.backbone import build_fno
    from spinlock_u_afno.specs import FNOOptions

    with pytest.raises(ConfigError, match=match):
        build_fno(
            FNOOptions(preset=preset_name, overrides=overrides),
            channels=1,
            history=1,
            parameter_space=space,
        )


def test_presets_grow_and_share_the_u_afno_names():
    from spinlock_u_afno import FNO_PRESETS, PRESETS

    assert list(FNO_PRESETS) == list(PRESETS)
    sizes = [c.hidden_channels**2 * c.n_modes**2 * c.n_layers for c in FNO_PRESETS.values()]
    assert sizes == sorted(sizes)


def test_backbone_fno_selects_its_config_group(tmp_path, monkeypatch):
    """``backbone=fno`` resolves through the plugin's config path (configs/backbone/fno.yaml)."""
    from spinlock_core import registry
    from spinlock_core.config import compose, search_paths
    from spinlock_core.plugins import reset_plugin_manager
    from spinlock_u_afno.specs import FNOOptions

    monkeypatch.chdir(tmp_path)
    registry.clear_cache()
    reset_plugin_manager()
    assert any((p / "backbone" / "fno.yaml").is_file() for p in search_paths())
    config = compose(["backbone=fno", "backbone.overrides={n_modes: 12}"])
    assert config.get("backbone.name") == "fno"
    assert config.section("backbone") == FNOOptions(overrides={"n_modes": 12})


def test_missing_neuralop_from_the_factory_names_the_extra(space, monkeypatch):
    from spinlock_u_afno.backbone import build_fno
    from spinlock_u_afno.specs import FNOOptions

    monkeypatch.setitem(sys.modules, "neuralop", None)
    monkeypatch.setitem(sys.modules, "neuralop.models", None)
    with pytest.raises(MissingExtraError, match=r"spinlock\[neuralop\]"):
        build_fno(FNOOptions(), channels=1, history=1, parameter_space=space)


def test_complex_parameters_count_as_two_real_scalars():
    from spinlock_u_afno.model import parameter_report

    class Spectral(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(3, dtype=torch.cfloat))

        def forward(self, x):
            # only w[0] and w[1] are used; w[1] only through its real part
            return x * self.w[0].real + x * self.w[0].imag + x * self.w[1].real

    report = parameter_report(Spectral(), (torch.ones(2),))
    assert (report.total, report.effective, report.dead) == (6, 3, ("w",))
