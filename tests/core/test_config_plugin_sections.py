"""A third-party plugin's config sections compose with no core change (issue #24, contracts)."""

from __future__ import annotations

import pytest

from spinlock_core import registry
from spinlock_core.api import ConfigError, compose

SPECS = """
import attrs
from spinlock_core.api import ComponentSpec, PluginSections, StageSpec


@attrs.frozen(kw_only=True)
class ProbeConfig:
    probes: dict = attrs.Factory(dict)
    '''Probe name -> weight.'''


@attrs.frozen(kw_only=True)
class WobbleOptions:
    amplitude: float = 1.0
    '''How much to wobble.'''


PROBE = StageSpec(
    name="probe",
    implementation="third_party_probe:run",
    config_section="probe",
    config_class=ProbeConfig,
    plugin_sections=(
        PluginSections(
            kind="losses", enabled_by="probe.probes", prefix="probe_opts", label="probe",
            enable_hint="probe.probes.{name}=WEIGHT",
        ),
    ),
)
WOBBLE = ComponentSpec(name="wobble", implementation="third_party_probe:Wobble", config_class=WobbleOptions)
"""


@pytest.fixture
def third_party(make_dist, monkeypatch):
    eps = {
        "spinlock.stages": {"probe": "third_party_specs:PROBE"},
        "spinlock.losses": {"wobble": "third_party_specs:WOBBLE"},
    }
    root = make_dist("third-party-probe", eps, {"third_party_specs.py": SPECS})
    monkeypatch.syspath_prepend(str(root))
    registry.clear_cache()
    yield
    registry.clear_cache()


def test_a_third_party_stage_declares_sections_for_the_plugins_it_enables(third_party):
    config = compose(["probe.probes.wobble=2", "probe_opts.wobble.amplitude=0.5"])
    assert config.section("probe_opts.wobble").amplitude == 0.5
    assert config.get("probe_opts.wobble.amplitude") == 0.5  # saved with every artefact
    assert "loss.wobble" not in config.sections  # the mno stage did not enable it


def test_options_of_a_plugin_the_third_party_stage_did_not_enable_name_how_to_enable_it(third_party):
    with pytest.raises(
        ConfigError, match=r"probe 'wobble', which is not in probe.probes.*probe.probes.wobble=WEIGHT"
    ):
        compose(["probe_opts.wobble.amplitude=0.5"])
    with pytest.raises(ConfigError, match=r"unknown probe 'wobbel' \(did you mean 'wobble'\?\)"):
        compose(["probe_opts.wobbel.amplitude=0.5"])


def test_the_core_stages_declare_their_plugin_sections_like_any_stage():
    features = registry.load("stages", "features").plugin_sections
    mno = registry.load("stages", "mno").plugin_sections
    assert [(d.kind, d.enabled_by, d.prefix) for d in features] == [("features", "features", "feature")]
    assert [(d.kind, d.enabled_by, d.prefix) for d in mno] == [("losses", "mno.loss", "loss")]


def test_the_public_api_lists_every_name_it_exports_and_each_resolves():
    import spinlock_core.api as api

    assert sorted(api.__all__) == sorted(api._EXPORTS)
    for name in api.__all__:
        assert getattr(api, name) is not None, name
