import attrs
import pytest
import yaml

from spinlock_core.errors import ConfigError
from spinlock_u_afno import PRESETS, UAFNOConfig, preset


def test_presets_round_trip_through_yaml():
    for name, cfg in PRESETS.items():
        text = yaml.safe_dump(attrs.asdict(cfg))
        assert UAFNOConfig(**yaml.safe_load(text)) == cfg, name


def test_every_field_has_a_docstring():
    import inspect

    source = inspect.getsource(UAFNOConfig)
    for field in attrs.fields(UAFNOConfig):
        after = source.split(f"    {field.name}:", 1)[1].splitlines()[1].strip()
        assert after.startswith('"""'), field.name


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"mode_keep": 0.0}, "mode_keep"),
        ({"mode_keep": 1.5}, "mode_keep"),
        ({"padding": "periodic"}, "circular"),
        ({"conditioning": "concat"}, "adanorm"),
        ({"in_channels": 2}, "residual"),
        ({"num_afno_blocks": 5}, "divide"),
        ({"history": 0}, "history"),
    ],
)
def test_invalid_configs_raise(overrides, match):
    with pytest.raises(ConfigError, match=match):
        preset("small", **overrides)


def test_unknown_preset_and_field():
    with pytest.raises(ConfigError, match="valid"):
        preset("huge")
    with pytest.raises(ConfigError, match="valid fields"):
        preset("small", depth=3)
