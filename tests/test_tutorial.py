"""The domain tutorial (docs/tutorial-domain.md) runs as written: its code blocks, each titled with
its path, are written into a folder, registered as an installed distribution for a subprocess
only (a throwaway ``.dist-info``, as ``tests/conftest.py`` does for the fixture plugins), and
``spinlock run domain=kpp`` makes a dataset and its feature tables."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

from spinlock_core.storage import Dataset

from .conftest import run_spinlock

TUTORIAL = Path(__file__).parents[1] / "docs" / "tutorial-domain.md"
#: A fenced block titled with the path of the file it holds: ```python title="pkg/mod.py"
BLOCK = re.compile(r'^```[\w-]+ title="(?P<path>[^"]+)"\n(?P<body>.*?)^```\s*$', re.M | re.S)
#: Small and fast: 4 samples of 16x16, 8 states.
SMALL = ["generate.n_samples=4", "generate.grid=16", "generate.steps=7", "generate.batch_size=4"]


def tutorial_files(text: str) -> dict[str, str]:
    """``{path: content}`` of every titled code block (a path given twice is an error)."""
    files: dict[str, str] = {}
    for match in BLOCK.finditer(text):
        path = match["path"]
        assert path not in files, f"{path} is given twice in the tutorial"
        files[path] = match["body"]
    return files


def register(project: Path, root: Path) -> None:
    """Make ``project`` importable and discoverable from ``root`` (a folder for PYTHONPATH)."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    name, version = meta["project"]["name"], meta["project"]["version"]
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, eps in meta["project"]["entry-points"].items():
        lines += [f"[{group}]", *(f"{k} = {v}" for k, v in eps.items()), ""]
    (info / "entry_points.txt").write_text("\n".join(lines))
    for package in meta["tool"]["setuptools"]["packages"]:
        (root / package).symlink_to(project / package, target_is_directory=True)


@pytest.fixture
def kpp(tmp_path):
    """The tutorial's package built from its code blocks; the PYTHONPATH that installs it."""
    files = tutorial_files(TUTORIAL.read_text())
    for path, body in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(body)
    register(tmp_path / "kpp-domain", tmp_path / "site")
    path = os.pathsep.join(filter(None, [str(tmp_path / "site"), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


def test_tutorial_gives_every_file_of_its_package():
    files = tutorial_files(TUTORIAL.read_text())
    package = {
        "pyproject.toml",
        "spinlock_kpp/__init__.py",
        "spinlock_kpp/specs.py",
        "spinlock_kpp/domain.py",
        "spinlock_kpp/operator.py",
        "spinlock_kpp/hooks.py",
        "spinlock_kpp/configs/domain/kpp.yaml",
        "spinlock_kpp/configs/operator/fisher_kpp.yaml",
    }
    assert set(files) == {f"kpp-domain/{p}" for p in package}


def test_tutorial_domain_generates_and_extracts_features(kpp, tmp_path):
    run_dir = tmp_path / "run"
    args = ["run", "domain=kpp", "device=cpu", f"run.dir={run_dir}", *SMALL]
    result = run_spinlock(*args, "stage=generate", env=kpp, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    dataset = Dataset(run_dir / "dataset")
    try:
        assert (len(dataset), dataset.attrs["domain"], dataset.attrs["operator"]) == (4, "kpp", "fisher_kpp")
        assert float(dataset.attrs["time_per_state"]) == pytest.approx(0.25)  # read from the operator
    finally:
        dataset.close()

    result = run_spinlock(*args, "stage=features", env=kpp, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (run_dir / "features" / "features.h5").is_file()


def test_tutorial_domain_config_error_exits_2(kpp, tmp_path):
    """The tutorial's own validation is a ConfigError: one line and exit code 2, no traceback."""
    result = run_spinlock(
        "run", "domain=kpp", "device=cpu", "stage=generate", f"run.dir={tmp_path / 'run'}",
        "operator.dt=0.03", *SMALL, env=kpp, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "whole number of operator.dt" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
