"""A griffe extension for the API reference: the core's docstrings as the reference shows them.

The core writes its docstrings for both readers of the source and this reference:

* Sphinx roles (``:class:`ParameterSpace` ``, ``:func:`~spinlock_core.seeding.generator_for` ``)
  become code spans, which Markdown renders (``~`` keeps the last name, as Sphinx does), and
  ``:pep:`562` `` becomes "PEP 562";
* an attribute documented by ``#:`` comments just above it (the attrs-field idiom the core
  uses beside docstrings under fields) gets that comment as its docstring.

Loaded by mkdocstrings (``extensions`` in ``mkdocs.yml``); not a page of the site.
"""

from __future__ import annotations

import re
from pathlib import Path

import griffe

_ROLE = re.compile(r":(?:py:)?(?:mod|class|func|meth|attr|data|exc|obj|const):`(~?)([^`]+)`")


_PEP = re.compile(r":pep:`(\d+)`")


def _code(match: re.Match) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


class SpinlockDocstrings(griffe.Extension):
    """Sphinx roles to code spans; ``#:`` comments to attribute docstrings."""

    def __init__(self) -> None:
        super().__init__()
        self._lines: dict[Path, list[str]] = {}

    def _comment_above(self, obj: griffe.Object) -> str | None:
        path = obj.filepath
        if isinstance(path, list) or path is None or obj.lineno is None:
            return None
        if path not in self._lines:
            self._lines[path] = Path(path).read_text(encoding="utf-8").splitlines()
        lines = self._lines[path]
        comment: list[str] = []
        i = obj.lineno - 2  # the line above the attribute (lineno counts from 1)
        while i >= 0 and lines[i].strip().startswith("#:"):
            comment.insert(0, lines[i].strip()[2:].strip())
            i -= 1
        return " ".join(comment) or None

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.is_alias:
            return
        if obj.docstring is None and obj.is_attribute:
            text = self._comment_above(obj)
            if text:
                obj.docstring = griffe.Docstring(text, parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = _PEP.sub(r"PEP \1", _ROLE.sub(_code, obj.docstring.value))
