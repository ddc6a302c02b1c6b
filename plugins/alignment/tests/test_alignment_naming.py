"""Issue #20, point 8: categories named by their strongest columns, and a same-domain control
line beside a cross-domain result."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from spinlock_alignment.report import SAME_DOMAIN_CONTROL, category_label, control_line, headline
from spinlock_core.interfaces import Score


def test_categories_are_named_by_the_columns_that_drive_their_encoder(same_domain):
    view = same_domain[0].view
    i = next(i for i in range(len(view.categories)) if len(view.category_columns(i)) >= 3)
    columns = view.category_columns(i)
    first = view.tokenizer.model.encoders[i][0]
    saved = first.weight.detach().clone()
    try:
        with torch.no_grad():  # the last column drives the encoder most, the first least
            first.weight.copy_(torch.linspace(0.1, 1.0, len(columns)).expand_as(first.weight))
        ranked = view.top_columns(i)
        assert [c for c, _ in ranked] == columns[::-1]
        strongest = columns[-1].split("/", 1)[-1]
        label = category_label(view, i, k=1)
        assert label.startswith(f"{view.categories[i]} ({strongest}, +"), label
    finally:
        with torch.no_grad():
            first.weight.copy_(saved)


def _comparison(domain_a: str, domain_b: str):
    scores = [
        Score(name="prototype distance L0", value=0.1, null_draws=[1.0, 1.1] * 20, alternative="less"),
        Score(name="token MI (L0)", value=0.5, null_draws=[0.1, 0.2] * 20),
        Score(name="CKA", value=0.01, null_draws=[0.5, 0.6] * 20),
    ]
    return SimpleNamespace(
        scores=scores,
        score=lambda name: next(s for s in scores if s.name == name),
        columns=SimpleNamespace(fed=["a"], absent=[], shared=["s"] * 12),
        a=SimpleNamespace(label="A (x, reaction_diffusion)", domain=domain_a, path="runs/rd"),
        b=SimpleNamespace(label="B (y, fluids)", domain=domain_b, path="runs/fl"),
        warnings=[],
    )


def test_a_cross_domain_headline_carries_a_same_domain_control_line():
    cross = headline(_comparison("reaction_diffusion", "fluids"))
    assert "Same-domain control" in cross and SAME_DOMAIN_CONTROL in cross
    assert "spinlock run domain=reaction_diffusion seed=1" in cross
    assert control_line(_comparison("fluids", "fluids")) is None
    assert "Same-domain control" not in headline(_comparison("fluids", "fluids"))
    assert control_line(_comparison("?", "fluids")) is None  # an unknown domain claims nothing
