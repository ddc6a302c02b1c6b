"""Figure captions: a ``captions.json`` beside the figures of a folder (file name -> caption).

Whoever draws a folder's figures (a stage, a plugin's dashboards) says what they show with
:func:`write_captions`; the run report reads them back with :func:`caption_of`. It lives below
both, so a stage that draws figures does not import the report.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["CAPTIONS", "write_captions", "caption_of"]

#: A figure folder's captions: ``{"file.png": "what the figure shows"}``.
CAPTIONS = "captions.json"


def write_captions(folder: Path, captions: dict[str, str]) -> Path:
    """Write ``folder/captions.json`` (file name -> caption), which
    :meth:`spinlock_core.report.model.Figure.from_file` reads: whoever draws a folder's figures
    says what they show."""
    path = Path(folder) / CAPTIONS
    path.write_text(json.dumps(captions, indent=1))
    return path


def caption_of(path: Path) -> str:
    """The caption ``captions.json`` beside ``path`` gives it, else its name without ``_``."""
    sidecar = path.parent / CAPTIONS
    if sidecar.is_file():
        try:
            known = json.loads(sidecar.read_text())
        except ValueError:
            known = {}
        if isinstance(known, dict) and isinstance(known.get(path.name), str):
            return known[path.name]
    return path.stem.replace("_", " ")
