"""The core's report sections, one per core stage, each built on its own (see :func:`guarded`)."""

from __future__ import annotations

from . import dataset_section, features_section, run_section, tokenizer_section, training_sections
from .build import guarded
from .model import RunArtefacts

__all__ = ["register_core_sections", "CORE_SECTIONS"]

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
