"""Shared fixtures: the CLI runner, isolated run directories, throwaway distributions."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spinlock_core import registry
from spinlock_core.plugins import reset_plugin_manager

TOY = ["domain=toy", "features=[toy_stats]", "device=cpu"]

#: Distributions the tests need installed, registered for the test session only (never into
#: the user's environment): their entry points are what the tests exercise.
FIXTURE_DISTRIBUTIONS = (
    Path(__file__).parent / "fixtures" / "testplugin",
    Path(__file__).parents[1] / "examples" / "custom_feature_family",
)


def register_fixture_distributions(projects=FIXTURE_DISTRIBUTIONS) -> Path | None:
    """Make ``projects`` (folders with a ``pyproject.toml``) importable and discoverable as
    installed distributions, for this process and its subprocesses: one throwaway folder on
    ``sys.path`` and ``PYTHONPATH`` holds a ``.dist-info`` (metadata, entry points) per project
    and a link to each of its packages. A project already installed is left as it is.

    Returns the folder, or ``None`` when every project was installed already.
    """
    import atexit
    import importlib.metadata
    import shutil
    import tempfile
    import tomllib

    root = None
    for project in projects:
        meta = tomllib.loads((project / "pyproject.toml").read_text())
        name, version = meta["project"]["name"], meta["project"]["version"]
        try:
            importlib.metadata.distribution(name)
            continue  # installed (e.g. pip install -e): use that
        except importlib.metadata.PackageNotFoundError:
            pass
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="spinlock-test-dists-"))
            atexit.register(shutil.rmtree, root, True)
        info = root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = []
        for group, eps in meta["project"].get("entry-points", {}).items():
            lines += [f"[{group}]", *(f"{k} = {v}" for k, v in eps.items()), ""]
        (info / "entry_points.txt").write_text("\n".join(lines))
        for package in meta["tool"]["setuptools"]["packages"]:
            (root / package).symlink_to(project / package, target_is_directory=True)
    if root is not None:
        sys.path.insert(0, str(root))
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
        registry.clear_cache()
    return root


register_fixture_distributions()


@pytest.fixture(autouse=True)
def _fresh_plugins(monkeypatch, tmp_path):
    """Each test discovers plugins afresh and writes events and runs under its own tmp dir."""
    monkeypatch.setenv("SPINLOCK_TEST_EVENTS", str(tmp_path / "events.log"))
    monkeypatch.delenv("SPINLOCK_PLUGINS", raising=False)
    monkeypatch.delenv("SPINLOCK_CONFIG_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    registry.clear_cache()
    reset_plugin_manager()
    yield
    registry.clear_cache()
    reset_plugin_manager()


@pytest.fixture
def cli():
    """Invoke the real CLI app in-process: ``cli("run", "domain=toy")`` -> result."""
    from typer.testing import CliRunner

    from spinlock_core.cli import build_app

    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(build_app(), list(args))

    return invoke


def run_spinlock(*args, env=None, cwd=None, timeout=300):
    """Run ``spinlock`` in a subprocess (for import-time checks and extra distributions)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "spinlock_core", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )


@pytest.fixture
def make_dist(tmp_path):
    """Create an installed-looking distribution (a ``.dist-info`` on a path entry).

    ``make_dist(name, entry_points={group: {name: target}}, modules={"mod.py": source})``
    returns the directory to put on ``PYTHONPATH``; importlib.metadata (and so stevedore)
    discovers it exactly as it discovers a pip-installed distribution.
    """

    def make(name: str, entry_points: dict, modules: dict | None = None) -> Path:
        root = tmp_path / f"dist-{name}"
        info = root / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        lines = []
        for group, eps in entry_points.items():
            lines.append(f"[{group}]")
            lines += [f"{k} = {v}" for k, v in eps.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for filename, source in (modules or {}).items():
            (root / filename).write_text(textwrap.dedent(source))
        return root

    return make
