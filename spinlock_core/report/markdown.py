"""Turn a stage's own Markdown summary (e.g. ``validate/report.md``) into report blocks.

Only the subset stages write: ``#`` headings, paragraphs, pipe tables and ``![alt](file.png)``
images beside the Markdown file, which are embedded so the page stays self-contained. Anything
else is kept as paragraph text.
"""

from __future__ import annotations

import re
from pathlib import Path

from .model import Block, Figure, Heading, Table, Text

__all__ = ["markdown_blocks"]

_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)\s]+)\)$")
_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def _cells(line: str) -> list[str]:
    return [c.strip().replace("**", "") for c in line.strip().strip("|").split("|")]


def markdown_blocks(text: str, base: Path, *, skip_title: bool = True) -> tuple[list[Block], set[Path]]:
    """``(blocks, embedded image paths)``; images that do not exist are named in a paragraph."""
    blocks: list[Block] = []
    images: set[Path] = set()
    lines = text.splitlines()
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Text(" ".join(paragraph).replace("**", "")))
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            flush()
        elif line.startswith("#"):
            flush()
            level = len(line) - len(line.lstrip("#"))
            if not (skip_title and level == 1):
                blocks.append(Heading(line.lstrip("#").strip()))
        elif (image := _IMAGE.match(line)) is not None:
            flush()
            path = base / image.group(2)
            if path.is_file() and path.suffix == ".png":
                blocks.append(Figure.from_file(path, caption=image.group(1)))
                images.add(path.resolve())
            else:
                blocks.append(Text(f"(figure `{image.group(2)}` not found)"))
        elif line.startswith("|") and i + 1 < len(lines) and _RULE.match(lines[i + 1].strip()):
            flush()
            header, rows = _cells(line), []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = _cells(lines[i])
                rows.append((cells + [""] * len(header))[: len(header)])
                i += 1
            blocks.append(Table(columns=header, rows=rows))
            continue
        else:
            paragraph.append(line)
        i += 1
    flush()
    return blocks, images
