"""Options of the ``codebook_alignment`` analysis (``spinlock compare-codebooks --set KEY=VALUE``)."""

from __future__ import annotations

from typing import Literal

import attrs
from attrs import validators as v

__all__ = ["CodebookAlignmentConfig"]


@attrs.frozen(kw_only=True)
class CodebookAlignmentConfig:
    """What is compared, in which space, and how many null draws each score gets."""

    permutations: int = attrs.field(default=200, validator=v.ge(2))
    """Null draws per score (random permutations of the shared columns); p-values are >= 1/(n+1)."""
    seed: int = attrs.field(default=0, validator=v.ge(0))
    """Seed of the null permutations and of the probe subsample."""
    families: tuple[str, ...] = attrs.field(
        default=("summary", "temporal"), converter=tuple, validator=v.min_len(1)
    )
    """Feature families whose columns may be shared (defined for any channel count)."""
    space: Literal["domain", "pooled"] = attrs.field(default="domain", validator=v.in_(("domain", "pooled")))
    """"domain": each run's values as robust z-scores within its own feature table (behaviour
    relative to its domain); "pooled": both runs standardised by the pooled table (raw units
    compared, one scale per column)."""
    probe_samples: int = attrs.field(default=2048, validator=v.ge(8))
    """Most rows of RUN_B's feature table used as probes for cross-encoding (seeded subsample)."""
    rsa_samples: int = attrs.field(default=256, validator=v.ge(4))
    """Probes used for RSA (its distance matrices grow as the square of this)."""
    profiles: int = attrs.field(default=6, validator=v.ge(1))
    """Matched level-0 prototype pairs drawn in prototype_profiles.png."""
