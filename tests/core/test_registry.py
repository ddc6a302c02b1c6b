import json
import os

import pytest

from spinlock_core import registry
from spinlock_core.errors import PluginError, UnknownPluginError

from ..conftest import run_spinlock


def test_load_returns_the_spec_of_an_installed_distribution():
    spec = registry.load("domains", "toy")
    assert spec.name == "toy" and spec.config_class.__name__ == "ToyDomainConfig"
    assert "toy" in registry.available("domains") and "generate" in registry.available("stages")


def test_unknown_name_lists_installed_and_closest_match():
    with pytest.raises(UnknownPluginError) as info:
        registry.load("operators", "toy_difusion")
    assert "did you mean 'toy_diffusion'" in str(info.value)
    assert "Installed operators:" in str(info.value)


def test_unknown_kind():
    with pytest.raises(UnknownPluginError, match="valid kinds"):
        registry.available("widgets")


BROKEN = {
    "spinlock.analyses": {"broken": "broken_plugin:SPEC"},
}


def _pythonpath(*dirs):
    return os.pathsep.join([*map(str, dirs), os.environ.get("PYTHONPATH", "")])


def test_broken_plugin_is_reported_by_name_and_distribution_and_others_keep_working(make_dist):
    root = make_dist("broken-dist", BROKEN, {"broken_plugin.py": "raise ImportError('libfoo.so missing')\n"})
    env = {"PYTHONPATH": _pythonpath(root)}
    listing = run_spinlock("plugins", "list", "--json", env=env)
    assert listing.returncode == 0, listing.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(listing.stdout)}
    assert rows[("analyses", "broken")]["status"].startswith("failed: ImportError: libfoo.so missing")
    assert rows[("analyses", "broken")]["distribution"] == "broken-dist"
    assert rows[("domains", "toy")]["status"] == "ok"
    code = "from spinlock_core import registry; registry.load('analyses', 'broken')"
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}
    )
    assert "PluginError" in out.stderr
    assert (
        "spinlock.analyses:broken (from broken-dist) failed to load: ImportError: libfoo.so missing"
        in out.stderr
    )
    ok = run_spinlock("config", "show", "domain=toy", env=env)
    assert ok.returncode == 0, ok.stderr


def test_two_distributions_with_one_name_is_an_error_naming_both(make_dist):
    a = make_dist("dist-a", {"spinlock.domains": {"twin": "spinlock_testplugin.specs:TOY_DOMAIN"}})
    b = make_dist("dist-b", {"spinlock.domains": {"twin": "spinlock_testplugin.specs:TOY_DOMAIN"}})
    result = run_spinlock("run", "domain=twin", env={"PYTHONPATH": _pythonpath(a, b)})
    assert result.returncode == 2
    assert "spinlock.domains:twin is registered by more than one distribution" in result.stderr
    assert "dist-a" in result.stderr and "dist-b" in result.stderr
    listing = run_spinlock("plugins", "list", "--json", env={"PYTHONPATH": _pythonpath(a, b)})
    statuses = {r["status"] for r in json.loads(listing.stdout) if r["name"] == "twin"}
    assert statuses == {"conflict: dist-a, dist-b"} or statuses == {"conflict: dist-b, dist-a"}


def test_load_failure_in_process_raises_plugin_error(monkeypatch, make_dist):
    root = make_dist("bad-inproc", {"spinlock.losses": {"bad": "no_such_module_xyz:SPEC"}})
    monkeypatch.syspath_prepend(str(root))
    registry.clear_cache()
    with pytest.raises(PluginError, match=r"spinlock.losses:bad \(from bad-inproc\) failed to load"):
        registry.load("losses", "bad")
