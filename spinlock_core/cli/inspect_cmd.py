"""``spinlock inspect``: a readable summary of any spinlock artefact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..artefacts import ArtefactError, read_json, reading
from ..errors import CheckpointError
from ._common import guarded


def _check(path: Path) -> None:
    """Validate the JSON sidecars a description reads, so a broken one is named."""
    from ..runner import STATE_DIR

    if path.is_dir():
        if (path / "manifest.json").is_file():
            read_json(path / "manifest.json", "a dataset manifest", ("schema_version", "shards"))
        for stamp in sorted((path / STATE_DIR / "stages").glob("*.json")):
            read_json(stamp, "a stage stamp", ("stage",))
    elif path.suffix == ".pt" and path.with_suffix(".json").is_file():
        read_json(path.with_suffix(".json"), "a checkpoint's metadata sidecar", ("schema",))


#: Rich colour of each verdict level (:data:`spinlock_core.verdicts.LEVELS`).
LEVEL_STYLE = {"good": "green", "mixed": "yellow", "poor": "red"}


def _headline(path: Path):
    """The run's headline numbers (those ``spinlock run`` prints at its end) and its verdicts,
    or ``None`` when it has none yet."""
    from rich.console import Group
    from rich.table import Table

    from ..report.core import headline
    from ..report.model import RunArtefacts
    from ..report.run_section import verdicts

    run = RunArtefacts(path)
    rows = headline(run)
    if not rows:
        return None
    table = Table("headline", "value", title="headline numbers", title_justify="left")
    for name, value, level in rows:
        style = LEVEL_STYLE.get(level)
        table.add_row(name, f"[{style}]{value}[/{style}]" if style else value)
    sentences = [f"{card} ({level}): {sentence}" for card, level, sentence, _ in verdicts(run)]
    return Group(table, *sentences)


@guarded
def inspect(
    path: Annotated[Path, typer.Argument(help="A dataset, tokenizer, checkpoint or run directory.")],
) -> None:
    """Describe a dataset, tokenizer, checkpoint or run directory."""
    from rich.console import Console

    from ..plugins import get_plugin_manager

    if not path.exists():
        raise ArtefactError(f"no such file or directory: {path}")
    _check(path)
    try:
        with reading(path, "a spinlock artefact (dataset, feature table, checkpoint or run directory)"):
            described = get_plugin_manager().hook.describe_artefact(path=path)
    except CheckpointError as exc:
        raise ArtefactError(f"expected a spinlock checkpoint: {exc}") from None
    if described is None:
        raise ArtefactError(
            f"{path} is not an artefact any installed plugin recognises "
            f"(datasets, checkpoints, tokenizers and run directories are)"
        )
    console = Console()
    console.print(described)
    if path.is_dir() and (path / "config.yaml").is_file():
        with reading(path, "a run directory's artefacts"):
            summary = _headline(path)
        if summary is not None:
            console.print(summary)
