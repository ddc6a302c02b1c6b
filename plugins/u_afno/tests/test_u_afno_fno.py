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
