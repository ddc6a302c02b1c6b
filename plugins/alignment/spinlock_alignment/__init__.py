"""spinlock's ``codebook_alignment`` analysis: do the behavioural vocabularies (tokenizer
codebooks) of two runs correspond? ``spinlock compare-codebooks RUN_A RUN_B`` runs it.

Three families of measures, every score beside a permutation null: prototype matching on the
shared feature columns, cross-encoding of B's samples with A, and the representational geometry
of both vocabularies on the same samples (see ``docs/analyses.md``). Importing the package is
light; the analysis imports torch when it runs.
"""

from __future__ import annotations

from .config import CodebookAlignmentConfig

__all__ = ["CodebookAlignmentConfig"]
