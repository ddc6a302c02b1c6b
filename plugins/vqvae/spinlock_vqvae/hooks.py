"""Hook implementations of the tokenizer plugin: its config groups, and `spinlock inspect`."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from spinlock_core.api import hookimpl


@hookimpl
def register_config_paths(register):
    register(files(__package__) / "configs")


@hookimpl
def describe_artefact(path):
    path = Path(path)
    if path.is_dir() and (path / "model.pt").is_file():
        path = path / "model.pt"
    sidecar = path.with_suffix(".json")
    if path.suffix != ".pt" or not sidecar.is_file() or '"kind": "tokenizer"' not in sidecar.read_text():
        return None
    from .tokenizer import CategoricalVQVAE

    return CategoricalVQVAE.load(path, device="cpu").describe()
