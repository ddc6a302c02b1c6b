"""The size preset is the backbone's own option (``backbone.preset``); ``mno.preset`` is its
deprecated alias, moved during composition with one warning line (issue #24)."""

from __future__ import annotations

import copy

import pytest

from spinlock_core.api import dump_yaml
from spinlock_core.config import compose, config_from_file
from spinlock_core.config.compose import move_aliases
from spinlock_core.errors import ConfigError
from spinlock_core.interfaces import Backbone, missing_members


def _warnings(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]


def test_the_default_run_is_small_and_production_is_large():
    assert compose([]).section("backbone").preset == "small"
    assert compose(["scale=production"]).section("backbone").preset == "large"
    assert compose(["scale=production", "backbone.preset=base"]).section("backbone").preset == "base"
    assert "preset" not in compose([]).data["mno"]


def test_backbone_preset_picks_the_size(space):
    from spinlock_u_afno import preset
    from spinlock_u_afno.backbone import build_backbone

    options = compose(["backbone.preset=base"]).section("backbone")
    assert options.preset == "base"
    _, config = build_backbone(options, channels=1, history=1, parameter_space=space, device="meta")
    assert config.width == preset("base").width


def test_mno_preset_is_a_deprecated_alias_with_one_warning_line(capsys):
    new = compose(["backbone.preset=base"])
    assert _warnings(capsys) == []
    old = compose(["mno.preset=base"])
    (line,) = _warnings(capsys)
    assert "mno.preset" in line and "backbone.preset=base" in line
    assert old.data == new.data and old.section("backbone") == new.section("backbone")


def test_the_alias_on_the_command_line_wins_over_the_scale():
    assert compose(["scale=production", "mno.preset=base"]).section("backbone").preset == "base"


@pytest.mark.parametrize("key", ["backbone.preset", "mno.preset"])
def test_an_unknown_preset_lists_the_valid_ones(key):
    with pytest.raises(
        ConfigError, match=r"unknown preset 'huge'; valid: base, large, small @ backbone.preset"
    ):
        compose([f"{key}=huge"])


def test_a_config_saved_before_the_move_is_read_with_its_preset(tmp_path, capsys):
    data = copy.deepcopy(compose(["scale=production"]).data)
    del data["backbone"]["preset"]
    data["mno"]["preset"] = "base"  # what a run of an earlier version saved
    (tmp_path / "config.yaml").write_text(dump_yaml(data))
    capsys.readouterr()
    config = config_from_file(tmp_path)
    assert config.section("backbone").preset == "base" and "preset" not in config.data["mno"]
    assert len(_warnings(capsys)) == 1


def test_a_moved_value_the_plugin_cannot_take_is_dropped(capsys):
    data = {"mno": {"preset": "small", "epochs": 2}, "backbone": {"name": "mine"}}
    assert move_aliases(data, accepts=lambda key: False) == {
        "mno": {"epochs": 2},
        "backbone": {"name": "mine"},
    }
    (line,) = _warnings(capsys)
    assert "dropped" in line


def test_a_backbone_that_still_requires_preset_name_is_refused_by_name():
    def old_style(options, *, preset_name, channels, history, parameter_space, device=None): ...

    def new_style(options, *, channels, history, parameter_space, device=None): ...

    assert missing_members(Backbone, old_style) == [
        "a default for parameter preset_name (not passed by the core)"
    ]
    assert missing_members(Backbone, new_style) == []
