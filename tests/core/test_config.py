import pytest
from hypothesis import given
from hypothesis import strategies as st

from spinlock_core.config import coerce, compose, config_from_file, parse_overrides
from spinlock_core.config._yaml import dump_yaml, load_yaml
from spinlock_core.errors import ConfigError, UnknownPluginError

from ..conftest import TOY


def test_defaults_chain_selects_the_domains_operator():
    config = compose(["domain=toy"])
    assert config.get("operator.name") == "toy_diffusion"
    assert config.choices["domain"] == "toy"


def test_dotted_override_typed_by_schema_and_later_wins():
    config = compose([*TOY, "generate.n_samples=8", "generate.n_samples=16", "operator.noise_max=1e-3"])
    assert config.section("generate").n_samples == 16
    assert config.section("operator").noise_max == pytest.approx(1e-3)


def test_list_override():
    assert compose(["domain=toy", "features=[toy_stats]"]).core.features == ("toy_stats",)


def test_plugin_config_path_contributes_a_group():
    config = compose([*TOY, "toy_group=alpha"])
    assert config.section("t_make").value == 7


def test_command_line_beats_group_file_for_the_same_key():
    assert compose([*TOY, "toy_group=alpha", "t_make.value=9"]).section("t_make").value == 9


@pytest.mark.parametrize(
    "override, messages",
    [
        pytest.param("generate.n_samples=abc", ["expected int", "generate.n_samples"], id="type"),
        pytest.param("generate.n_sample=4", ["unknown key 'n_sample'", "n_samples"], id="typo-key"),
        pytest.param("generat.n_samples=4", ["unknown config key", "generate"], id="typo-section"),
        pytest.param("generate.n_samples=0", ["n_samples", ">= 1"], id="validator"),
        pytest.param("generate.dtype=float64", ["float32", "bfloat16"], id="literal"),
        pytest.param("run.force=yes", ["expected bool"], id="bool"),
        pytest.param("device=gpu", ["device must be"], id="device"),
        pytest.param("generate=3", ["section"], id="section-as-value"),
        pytest.param("domain.name=x", ["domain=NAME"], id="name-via-dots"),
        pytest.param("scale=huge", ["unknown scale 'huge'", "small"], id="unknown-group-option"),
        pytest.param("notakey", ["expected key=value"], id="malformed"),
    ],
)
def test_bad_overrides_name_the_key_and_the_fix(override, messages):
    with pytest.raises(ConfigError) as info:
        compose([*TOY, override])
    for message in messages:
        assert message in str(info.value)


def test_unknown_domain_lists_installed_and_closest():
    with pytest.raises(UnknownPluginError, match=r"did you mean 'toy'\?.*Installed domains: .*toy"):
        compose(["domain=tyo"])


def test_unknown_feature_family_lists_installed():
    with pytest.raises(UnknownPluginError, match="toy_stats"):
        compose(["domain=toy", "features=[nope]"])


def test_unknown_key_in_group_file_is_reported_with_path(tmp_path, monkeypatch):
    (tmp_path / "cfg" / "scale").mkdir(parents=True)
    (tmp_path / "cfg" / "scale" / "broken.yaml").write_text("generate:\n  n_samplez: 3\n")
    monkeypatch.setenv("SPINLOCK_CONFIG_PATH", str(tmp_path / "cfg"))
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['n_samplez'\].*@ generate"):
        compose([*TOY, "scale=broken"])


def test_round_trip_resolve_save_load(tmp_path):
    config = compose([*TOY, "generate.n_samples=8", "seed=3", "run.name=x"])
    (tmp_path / "config.yaml").write_text(config.to_yaml())
    again = config_from_file(tmp_path)
    assert again.data == config.data
    assert again.sections == config.sections and again.core == config.core


def test_saved_config_rejects_group_changes_but_takes_overrides(tmp_path):
    (tmp_path / "config.yaml").write_text(compose(TOY).to_yaml())
    assert config_from_file(tmp_path, ["seed=5"]).core.seed == 5
    with pytest.raises(ConfigError, match="groups are fixed"):
        config_from_file(tmp_path, ["domain=toy"])


def test_yaml_reads_exponent_floats_and_strict_booleans():
    data = load_yaml("a: 1e-3\nb: no\nc: true\nd: 2\n")
    assert data == {"a": 1e-3, "b": "no", "c": True, "d": 2}
    assert load_yaml(dump_yaml(data)) == data


def test_strict_structuring_refuses_silent_coercion(tmp_path, monkeypatch):
    (tmp_path / "cfg" / "scale").mkdir(parents=True)
    (tmp_path / "cfg" / "scale" / "odd.yaml").write_text("generate:\n  n_samples: 2.7\n")
    monkeypatch.setenv("SPINLOCK_CONFIG_PATH", str(tmp_path / "cfg"))
    with pytest.raises(ConfigError, match=r"expected int, got 2.7 .*@ generate.n_samples"):
        compose([*TOY, "scale=odd"])


@given(st.integers(-(10**12), 10**12))
def test_int_overrides_round_trip(value):
    assert coerce(str(value), int, "k") == value


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_overrides_round_trip(value):
    assert coerce(repr(value), float, "k") == value


@given(st.lists(st.integers(0, 1000), max_size=6))
def test_list_overrides_round_trip(values):
    assert coerce("[" + ",".join(map(str, values)) + "]", list[int], "k") == values


@given(
    st.text(alphabet=st.characters(blacklist_characters="=\n\r", blacklist_categories=("Cs",)), min_size=1)
)
def test_string_overrides_are_kept_verbatim(text):
    overrides = parse_overrides([f"run.name={text}"])
    assert overrides[0].raw == text
    value = coerce(text, str, "run.name")
    assert value == text.strip() or (len(text.strip()) >= 2 and text.strip()[0] in "'\"")


def test_optional_null_override():
    assert coerce("null", str | None, "run.dir") is None
    assert compose([*TOY, "run.dir=null"]).core.run.dir is None


def test_option_refines_a_size_preset_with_by_scale(tmp_path, monkeypatch):
    (tmp_path / "cfg" / "toy_group").mkdir(parents=True)
    (tmp_path / "cfg" / "toy_group" / "beta.yaml").write_text(
        "t_make:\n  value: 3\nby_scale:\n  small:\n    t_make:\n      value: 4\n"
    )
    monkeypatch.setenv("SPINLOCK_CONFIG_PATH", str(tmp_path / "cfg"))
    assert compose([*TOY, "toy_group=beta"]).section("t_make").value == 4
    assert compose([*TOY, "toy_group=beta", "scale=production"]).section("t_make").value == 3
    assert compose([*TOY, "toy_group=beta", "t_make.value=9"]).section("t_make").value == 9


def test_shipped_small_preset_narrows_the_cno_family_only_for_cno():
    small = compose(["domain=reaction_diffusion"]).section("operator")
    production = compose(["domain=reaction_diffusion", "scale=production"]).section("operator")
    assert small.base_channels == (8, 16) and production.base_channels == (16, 64)
    compose(["domain=reaction_diffusion", "operator=gray_scott"])  # no CNO keys leak into Gray-Scott
