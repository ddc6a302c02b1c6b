"""The core's report sections, one per core stage, each built on its own (see :func:`guarded`)."""

from __future__ import annotations

from . import dataset_section, features_section, run_section, tokenizer_section, training_sections
from .build import guarded
from .model import RunArtefacts

__all__ = ["register_core_sections", "CORE_SECTIONS", "headline"]

#: ``(builder, (key, title, order))``: the sections the core contributes, in page order.
CORE_SECTIONS = (
    (run_section.run_section, (run_section.KEY, run_section.TITLE, run_section.ORDER)),
    (dataset_section.dataset_section, (dataset_section.KEY, dataset_section.TITLE, dataset_section.ORDER)),
    (
        features_section.features_section,
        (features_section.KEY, features_section.TITLE, features_section.ORDER),
    ),
    (
        tokenizer_section.tokenizer_section,
        (tokenizer_section.KEY, tokenizer_section.TITLE, tokenizer_section.ORDER),
    ),
    (training_sections.mno_section, training_sections.MNO),
    (training_sections.validate_section, training_sections.VALIDATE),
)


def register_core_sections(register, run: RunArtefacts) -> None:
    for build, (key, title, order) in CORE_SECTIONS:
        register(guarded(build, key, title, order)(run))


def headline(run: RunArtefacts) -> list[tuple[str, str, str]]:
    """``[(name, value, verdict level or "")]``: the core sections' headline numbers, the ones
    ``spinlock run`` prints at its end, computed from the run's JSON artefacts and checkpoint
    metadata only (no figure drawn, no model loaded), for ``spinlock inspect RUN_DIR``."""
    numbers, levels = run_section.run_headline(run)
    for part in (
        dataset_section.dataset_headline,
        tokenizer_section.tokenizer_headline,
        training_sections.mno_headline,
        training_sections.validate_headline,
    ):
        numbers |= part(run)
    return [(name, value, levels.get(name, "")) for name, value in numbers.items()]
