"""What a run report is made of: sections of text, tables and figures, and a view of the run.

Plugins build :class:`Section` objects in the ``register_report_sections`` hook; the page
renderer (:mod:`spinlock_core.report.html`) knows nothing about stages. Everything here is
plain data so a section can be built, tested and rendered without matplotlib or torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from ..captions import caption_of

__all__ = [
    "Text",
    "Heading",
    "Table",
    "Figure",
    "Section",
    "Block",
    "RunArtefacts",
    "STATUSES",
]

#: What a section's badge says: made, the stage has not run, only some artefacts, or it failed;
#: ``warning``: made, but what it made is suspect (a feature family mostly NaN).
STATUSES = ("ok", "not run", "partial", "error", "warning")


@attrs.frozen
class Text:
    """A paragraph. ``text`` is plain text; spans in backticks are shown as code."""

    text: str


@attrs.frozen
class Heading:
    """A sub-heading inside a section."""

    text: str


@attrs.frozen(kw_only=True)
class Table:
    """A small table; cells are shown as given (format numbers before)."""

    columns: tuple[str, ...] = attrs.field(converter=tuple)
    rows: tuple[tuple[str, ...], ...] = attrs.field(converter=lambda rows: tuple(tuple(r) for r in rows))
    caption: str = ""

    def __attrs_post_init__(self):
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"table row {row!r} has {len(row)} cells for {len(self.columns)} columns")


@attrs.frozen(kw_only=True)
class Figure:
    """A PNG image (its bytes), embedded in the page as base64."""

    png: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    caption: str = ""

    def __attrs_post_init__(self):
        if not self.png.startswith(b"\x89PNG"):
            raise ValueError(f"Figure({self.caption!r}) is not a PNG image")

    @classmethod
    def from_file(cls, path, caption: str | None = None) -> Figure:
        """The PNG at ``path``; without a ``caption``, the one its folder's ``captions.json``
        (file name -> caption, written by whoever drew the figures) gives, else its name."""
        path = Path(path)
        return cls(png=path.read_bytes(), caption=caption if caption is not None else caption_of(path))


Block = Text | Heading | Table | Figure


@attrs.frozen(kw_only=True)
class Section:
    """One part of the page, usually about one stage's artefacts."""

    key: str
    """Anchor of the section in the page (``tokenizer``); unique."""
    title: str
    order: int = 100
    """Position on the page, smaller first; the core uses 0 (run) to 50 (validate)."""
    status: str = attrs.field(default="ok", validator=attrs.validators.in_(STATUSES))
    blocks: tuple[Block, ...] = attrs.field(default=(), converter=tuple)
    headline: dict[str, str] = attrs.Factory(dict)
    """A few numbers worth reading first (``{"val rel. L2": "0.086"}``), shown in the summary."""
    headline_levels: dict[str, str] = attrs.Factory(dict)
    """Headline name -> a verdict level (:data:`spinlock_core.verdicts.LEVELS`: ``good``, ``mixed``,
    ``poor``, ``unknown``) that colours its card; cards not named here stay neutral."""

    @classmethod
    def not_run(cls, key: str, title: str, order: int, stage: str, why: str = "") -> Section:
        """The section of a stage whose artefacts are not in the run directory."""
        hint = why or f"no artefacts of stage `{stage}` here; make them with `spinlock run stage={stage}`"
        return cls(
            key=key, title=title, order=order, status="not run", blocks=[Text(f"Stage not run: {hint}.")]
        )


def _read_json(path: Path) -> Any:
    from ..artefacts import read_json

    return read_json(path, f"a JSON artefact ({path.name})", container=object) if path.is_file() else None


@attrs.define
class RunArtefacts:
    """Read-only view of a run directory for report sections: its config and stage stamps."""

    dir: Path = attrs.field(converter=Path)
    _cache: dict[str, Any] = attrs.field(factory=dict, init=False, repr=False)

    def path(self, relative: str) -> Path:
        return self.dir / relative

    @property
    def problems(self) -> list[str]:
        """Messages of the artefacts sections could not read (``ArtefactError``), in order."""
        return self._cache.setdefault("problems", [])

    @property
    def config(self) -> dict[str, Any]:
        """The resolved config saved by ``spinlock run`` (``config.yaml``), as plain data; ``{}`` if none."""
        if "config" not in self._cache:
            from ..artefacts import ArtefactError, reading
            from ..config._yaml import load_yaml

            path = self.dir / "config.yaml"
            with reading(path, "a run's resolved config.yaml (a YAML mapping)"):
                config = load_yaml(path.read_text()) if path.is_file() else {}
            if not isinstance(config, dict):
                raise ArtefactError(f"{path}: expected a YAML mapping, found a {type(config).__name__}")
            self._cache["config"] = config
        return self._cache["config"]

    def config_get(self, dotted: str, default: Any = None) -> Any:
        value: Any = self.config
        for part in dotted.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return value

    def stamps(self) -> dict[str, dict]:
        """``{stage: stamp}`` of every finished stage (``.spinlock/stages/*.json``), oldest first."""
        from ..runner import STATE_DIR

        found = [_read_json(p) for p in (self.dir / STATE_DIR / "stages").glob("*.json")]
        found = [s for s in found if isinstance(s, dict) and "stage" in s]
        return {s["stage"]: s for s in sorted(found, key=lambda s: s.get("finished", ""))}

    def stamp(self, stage: str) -> dict | None:
        return self.stamps().get(stage)

    def finished(self, stage: str, *outputs: str) -> bool:
        """Whether ``stage`` has a stamp and every one of its stamped (or given) outputs exists."""
        stamp = self.stamp(stage)
        if stamp is None:
            return False
        return all((self.dir / o).exists() for o in (outputs or stamp.get("outputs", ())))

    def json(self, relative: str) -> Any:
        """A JSON artefact, or ``None`` when it does not exist."""
        return _read_json(self.dir / relative)
