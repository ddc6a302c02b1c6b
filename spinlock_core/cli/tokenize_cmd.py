"""``spinlock tokenize`` and ``spinlock report tokenizer`` (wired by ``report_cmd``): use a trained tokenizer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..artefacts import ArtefactError, read_json, reading
from ..errors import CheckpointError, DatasetError
from ._common import guarded


def _model_path(path: Path) -> Path:
    for candidate in (path, path / "model.pt", path / "tokenizer" / "model.pt"):
        if candidate.is_file():
            return candidate
    raise CheckpointError(
        f"no tokenizer at {path} (looked for model.pt and tokenizer/model.pt); run stage=tokenizer"
    )


def _features_path(path: Path) -> Path:
    for candidate in (path, path / "features.h5", path / "features" / "features.h5"):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"no feature tables at {path} (looked for features.h5 and features/features.h5)")


def load_tokenizer(path: Path):
    """The tokenizer saved at ``path``, through the plugin named in its metadata."""
    from ..checkpoint import read_metadata
    from ..tokenizers import load_tokenizer_and_spec

    model = _model_path(path)
    kind = "a tokenizer checkpoint (model.pt)"
    if model.with_suffix(".json").is_file():
        read_json(model.with_suffix(".json"), "a checkpoint's metadata sidecar", ("schema", "kind", "name"))
    try:
        meta = read_metadata(model)
    except CheckpointError as exc:
        raise ArtefactError(f"expected {kind}: {exc}") from None
    if meta.get("kind") != "tokenizer":
        raise ArtefactError(f"{model}: expected {kind}, found a {meta.get('kind')!r} checkpoint")
    try:
        with reading(model, kind):
            spec, loaded = load_tokenizer_and_spec(model, device="cpu")
            return spec, loaded, model
    except CheckpointError as exc:
        raise ArtefactError(f"expected {kind}: {exc}") from None


@guarded
def tokenize(
    dataset: Annotated[Path, typer.Argument(help="A run directory, its features/ folder or a features.h5.")],
    tokenizer: Annotated[
        Path, typer.Option("--tokenizer", "-t", help="A run directory or tokenizer model.pt.")
    ],
) -> None:
    """Encode a run's feature tables with a trained tokenizer; writes tokens.h5 next to them."""
    import h5py
    import numpy as np

    from ..stages.features import open_features
    from ..stages.tokenizer import feature_table
    from ..storage import temporary_name

    _, model, model_path = load_tokenizer(tokenizer)
    features = _features_path(dataset)
    open_features(features).close()  # a clear error for a file that is not a feature table
    with reading(features, "a spinlock feature table file (features.h5)"):
        table, columns = feature_table(features)
    tokens = model.encode(table, columns)
    out = features.with_name("tokens.h5")
    tmp = temporary_name(out)
    with h5py.File(tmp, "w") as f:
        f.create_dataset("tokens", data=np.asarray(tokens.cpu()), compression="gzip")
        f.create_dataset("global", data=np.asarray(model.global_ids(tokens).cpu()), compression="gzip")
        f.attrs["token_names"] = json.dumps(list(model.token_names))
        f.attrs["tokenizer"] = str(model_path.resolve())
        f.attrs["features"] = str(features.resolve())
    tmp.replace(out)
    typer.echo(f"wrote {out}: {tokens.shape[0]} samples x {tokens.shape[1]} tokens")


@guarded
def report_tokenizer(
    run_dir: Annotated[Path, typer.Argument(help="A run directory or tokenizer model.pt.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the PNGs.")] = None,
) -> None:
    """Write the tokenizer's dashboards (training curves, utilization, categories...) as PNGs."""
    from ..specs import import_object

    spec, model, model_path = load_tokenizer(run_dir)
    if "dashboards" not in spec.extras:
        raise CheckpointError(f"tokenizer {spec.name!r} provides no dashboards")
    folder = out or model_path.parent / "dashboards"
    paths = import_object(spec.extras["dashboards"])(model, folder)
    typer.echo(f"wrote {len(paths)} figures to {folder}")
