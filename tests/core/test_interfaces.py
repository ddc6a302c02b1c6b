"""Every plugin kind has an interface, checked when its implementation loads (issue #24), and a
plugin whose implementation fails to import is reported in one line naming it."""

import json
import os

import pytest

from spinlock_core import registry
from spinlock_core.errors import PluginError
from spinlock_core.interfaces import INTERFACES, Tokenizer, missing_members

from ..conftest import run_spinlock

#: One minimal implementation per kind, each lacking what the message names.
FAKES = """
from spinlock_core.interfaces import Operator


class BadDomain:
    name = "bad"

    def grid(self, size, operator): ...


class BadOperator(Operator):  # subclassing the ABC does not excuse a missing method
    name = "bad"
    parameter_space = None
    channels = ("u",)


class BadFeatures:
    def columns(self, domain): ...


def bad_backbone(options, *, channels, history): ...


class BadTokenizer:
    def fit(self, table, columns): ...
    def scale(self, table, columns=None): ...
    def decode(self, tokens, levels=None): ...
    def reconstruct(self, table, columns=None, raw=False): ...
    def save(self, path): ...


class BadLoss:
    def __init__(self, config, setup=None): ...


def bad_stage(): ...


class BadAnalysis:
    def __init__(self, config): ...


class GoodTokenizer(BadTokenizer):
    def encode(self, table, columns=None): ...

    @classmethod
    def load(cls, path, device=None): ...
"""

CASES = {
    "domains": ("BadDomain", "Domain", "initial_conditions"),
    "operators": ("BadOperator", "Operator", "build"),
    "features": ("BadFeatures", "FeatureFamily", "extract"),
    "backbones": ("bad_backbone", "Backbone", "parameter parameter_space, parameter device"),
    "tokenizers": ("BadTokenizer", "Tokenizer", "encode, load"),
    "losses": ("BadLoss", "Loss", "forward"),
    "stages": ("bad_stage", "Stage", "positional argument context"),
    "analyses": ("BadAnalysis", "Analysis", "run"),
}


def _spec(kind, target):
    cls = "StageSpec" if kind == "stages" else "ComponentSpec"
    return f"{kind.upper()} = {cls}(name='my_{kind}', implementation='fake_contract_impl:{target}')\n"


@pytest.fixture
def fakes(make_dist, monkeypatch):
    specs = "from spinlock_core.specs import ComponentSpec, StageSpec\n" + "".join(
        _spec(kind, target) for kind, (target, _, _) in CASES.items()
    )
    specs += (
        "GOOD_TOKENIZER = ComponentSpec(name='good', implementation='fake_contract_impl:GoodTokenizer')\n"
    )
    eps = {f"spinlock.{kind}": {f"my_{kind}": f"fake_contract_specs:{kind.upper()}"} for kind in CASES}
    eps["spinlock.tokenizers"]["good"] = "fake_contract_specs:GOOD_TOKENIZER"
    root = make_dist("fake-plugins", eps, {"fake_contract_specs.py": specs, "fake_contract_impl.py": FAKES})
    monkeypatch.syspath_prepend(str(root))
    registry.clear_cache()
    return root


def test_every_kind_has_an_interface():
    assert set(INTERFACES) == set(registry.KINDS) == set(CASES)


@pytest.mark.parametrize("kind", list(CASES))
def test_a_plugin_missing_a_method_is_refused_by_name(fakes, kind):
    _, interface, missing = CASES[kind]
    spec = registry.load(kind, f"my_{kind}")  # the spec itself is light and loads
    with pytest.raises(PluginError) as info:
        spec.load_implementation()
    assert str(info.value) == (
        f"plugin 'my_{kind}' (distribution fake-plugins 1.0) of kind {kind} "
        f"does not implement {interface}: missing {missing}"
    )


def test_a_complete_plugin_loads_without_subclassing(fakes):
    assert registry.load("tokenizers", "good").load_implementation().__name__ == "GoodTokenizer"


def test_the_shipped_tokenizer_implements_the_interface():
    from spinlock_vqvae.tokenizer import CategoricalVQVAE

    assert issubclass(CategoricalVQVAE, Tokenizer) and missing_members(Tokenizer, CategoricalVQVAE) == []


def _with_path(root) -> str:
    """``root`` in front of the PYTHONPATH the test session has (the fixture plugins live there)."""
    return os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)


BROKEN_IMPL = {"spinlock.analyses": {"brk": "brk_specs:SPEC"}}
BROKEN_MODULES = {
    "brk_specs.py": "from spinlock_core.specs import ComponentSpec\n"
    "SPEC = ComponentSpec(name='brk', implementation='brk_impl:Analysis')\n",
    "brk_impl.py": "import no_such_dependency_xyz\n",
}


def test_an_implementation_that_fails_to_import_is_one_line_at_use(make_dist, monkeypatch, cli, tmp_path):
    root = make_dist("brk-dist", BROKEN_IMPL, BROKEN_MODULES)
    monkeypatch.syspath_prepend(str(root))
    registry.clear_cache()
    for name in ("ra", "rb"):
        (tmp_path / name).mkdir()
    monkeypatch.delenv("SPINLOCK_DEBUG", raising=False)
    result = cli("compare-codebooks", "ra", "rb", "-a", "brk")
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        "error: plugin 'brk' (distribution brk-dist 1.0) of kind analyses failed to import "
        "brk_impl:Analysis: ModuleNotFoundError: No module named 'no_such_dependency_xyz'"
    ], result.output


def test_plugins_list_imports_honestly_and_shows_the_error(make_dist):
    root = make_dist("brk-dist", BROKEN_IMPL, BROKEN_MODULES)
    listing = run_spinlock("plugins", "list", "--json", env={"PYTHONPATH": _with_path(root)})
    assert listing.returncode == 0, listing.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(listing.stdout)}
    assert rows[("analyses", "brk")]["status"] == (
        "error: ModuleNotFoundError: No module named 'no_such_dependency_xyz'"
    )
    assert rows[("analyses", "brk")]["distribution"] == "brk-dist"
    assert rows[("domains", "toy")]["status"] == "ok"


def test_a_domain_whose_hook_module_is_broken_is_one_clear_error(make_dist):
    root = make_dist(
        "dom-broken",
        {
            "spinlock.domains": {"domb": "domb_pkg.specs:SPEC"},
            "spinlock.plugins": {"domb": "domb_pkg.hooks"},
        },
    )
    (root / "domb_pkg").mkdir()
    (root / "domb_pkg" / "__init__.py").write_text("")
    (root / "domb_pkg" / "specs.py").write_text("from spinlock_testplugin.specs import TOY_DOMAIN as SPEC\n")
    (root / "domb_pkg" / "hooks.py").write_text("import no_such_hook_dependency\n")
    result = run_spinlock("run", "domain=domb", env={"PYTHONPATH": _with_path(root)})
    assert result.returncode != 0
    assert "pass domain=NAME" not in result.stderr and "Traceback" not in result.stderr
    assert (
        "error: domain 'domb' (distribution dom-broken 1.0) cannot be used: its hook module "
        "domb_pkg.hooks failed to import: ModuleNotFoundError: No module named 'no_such_hook_dependency'"
    ) in result.stderr
