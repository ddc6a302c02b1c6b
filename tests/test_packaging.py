"""The wheel holds every package and every config file: setuptools is told the package list by
hand (the layout maps folders to package names), so a new subpackage or config folder that is
not listed would import from a checkout and be missing from an installed wheel."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOL = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _folder(package: str) -> Path:
    """Where ``package`` lives, through ``package-dir`` (a top-level name maps to a folder)."""
    top, *rest = package.split(".")
    base = ROOT / TOOL.get("package-dir", {}).get(top, top)
    return base.joinpath(*rest)


def test_every_package_folder_is_listed():
    listed = set(TOOL["packages"])
    missing = []
    for top in {p.split(".")[0] for p in listed}:
        root = _folder(top)
        for init in root.rglob("__init__.py"):
            if "tests" in init.relative_to(root).parts:
                continue
            parts = init.parent.relative_to(root).parts
            name = ".".join((top, *parts))
            if name not in listed:
                missing.append(name)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_every_config_file_is_package_data():
    data = TOOL.get("package-data", {})
    missing = []
    for package in TOOL["packages"]:
        folder = _folder(package)
        for yaml in folder.rglob("*.yaml"):
            rel = yaml.relative_to(folder).as_posix()
            inner = [
                p for p in TOOL["packages"] if p.startswith(package + ".") and yaml.is_relative_to(_folder(p))
            ]
            if inner:
                continue  # belongs to a subpackage, checked there
            if not any(fnmatch.fnmatch(rel, pattern) for pattern in data.get(package, [])):
                missing.append(f"{package}: {rel}")
    assert not missing, f"add to [tool.setuptools.package-data] in pyproject.toml: {missing}"


def _copy_sources(dest: Path) -> None:
    """What a wheel is built from (pyproject, readme, the package folders), so the build's
    ``build/`` and ``*.egg-info`` land in ``dest``, not in the checkout."""
    import shutil

    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "tests")
    for top in {p.split(".")[0] for p in TOOL["packages"]}:
        src = _folder(top)
        shutil.copytree(src, dest / src.relative_to(ROOT), ignore=ignore)


def test_the_built_wheel_holds_every_package_module_and_config_file(tmp_path):
    """Build the wheel as an installer would (``pip wheel``, no dependencies, no build isolation,
    so no network) and read its file list."""
    import subprocess
    import sys
    import zipfile

    src, out = tmp_path / "src", tmp_path / "wheels"
    src.mkdir()
    _copy_sources(src)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("spinlock-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = []
    for package in TOOL["packages"]:
        folder = _folder(package)
        inside = package.replace(".", "/")
        expected += [f"{inside}/{py.name}" for py in folder.glob("*.py")]
        yamls = [y.relative_to(folder) for y in folder.rglob("*.yaml")]
        expected += [f"{inside}/{y.as_posix()}" for y in yamls if "tests" not in y.parts]
    assert any(name.endswith(".dist-info/entry_points.txt") for name in names)
    missing = sorted(set(expected) - names)
    assert not missing, f"the wheel lacks: {missing[:20]}"
