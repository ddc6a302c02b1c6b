"""Entry-point target of the ``codebook_alignment`` analysis (light: no torch import)."""

from __future__ import annotations

from spinlock_core.api import ComponentSpec

from .config import CodebookAlignmentConfig

__all__ = ["CODEBOOK_ALIGNMENT"]

CODEBOOK_ALIGNMENT = ComponentSpec(
    name="codebook_alignment",
    summary="Do two tokenizers' vocabularies correspond? Prototype matching, cross-encoding, geometry; each vs a null.",
    implementation="spinlock_alignment.analysis:CodebookAlignment",
    config_class=CodebookAlignmentConfig,
)
