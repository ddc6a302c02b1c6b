"""Verdicts: a model's errors against trivial baselines, in words, on the console and in the report."""

from __future__ import annotations

import json

import pytest

from spinlock_core.report import RunArtefacts
from spinlock_core.report.html import render_html
from spinlock_core.report.run_section import run_section
from spinlock_core.verdicts import comparison_lines, report, split_summary, summary_verdict, verdict

#: The default run of issue #20: validation VRMSE 1.293 against zero's 1.071, rel. L2 1.072
#: against persistence's 1.170.
DEFAULT_RUN = {
    "rel_l2": 1.072,
    "vrmse": 1.293,
    "persistence_rel_l2": 1.170,
    "persistence_vrmse": 1.40,
    "zero_vrmse": 1.071,
}


def test_mixed_verdict_names_the_win_the_losses_and_what_they_mean():
    model, baselines = split_summary(DEFAULT_RUN)
    assert baselines["zero"] == {"rel_l2": 1.0, "vrmse": 1.071}  # zero's rel. L2 is 1 by definition
    assert verdict(model, baselines) == (
        "mixed",
        "MNO beats persistence by 8% on rel. L2 and 8% on VRMSE but is worse than predicting zero "
        "on rel. L2 and VRMSE: it has not learned the decay.",
    )


def test_good_poor_tie_and_unknown_verdicts():
    base = {"persistence": {"rel_l2": 1.0}, "zero": {"rel_l2": 1.0, "vrmse": 2.0}}
    assert verdict({"rel_l2": 0.5, "vrmse": 1.0}, base) == (
        "good",
        "MNO beats persistence by 50% on rel. L2 and predicting zero by 50% on rel. L2 and 50% on "
        "VRMSE: better than every trivial baseline.",
    )
    # fluids in issue #20: rel. L2 0.910 against persistence 0.906 (within 1 %: no better)
    assert verdict({"rel_l2": 0.910}, {"persistence": {"rel_l2": 0.906}}, name="model") == (
        "poor",
        "model is no better than persistence on rel. L2: it does no better than holding u0.",
    )
    assert verdict({"rel_l2": 0.95}, {"persistence": {"rel_l2": 0.9}})[1] == (
        "MNO is worse than persistence on rel. L2: it does no better than holding u0."
    )
    # within 1 % is a tie, and a tie is no better
    assert verdict({"rel_l2": 0.995}, {"mean": {"rel_l2": 1.0}}) == (
        "poor",
        "MNO is no better than predicting the mean of u0 on rel. L2: it does no better than a flat field.",
    )
    assert verdict({"rel_l2": None}, {"zero": {"rel_l2": 1.0}})[0] == "unknown"
    assert summary_verdict({})[0] == "unknown"


def test_comparison_lines_and_console_warning(capsys):
    assert comparison_lines(DEFAULT_RUN) == [
        "rel. L2 1.072 (baselines: persistence 1.17, zero 1)",
        "VRMSE 1.293 (baselines: persistence 1.4, zero 1.071)",
    ]
    level, _ = report("validate", DEFAULT_RUN)
    captured = capsys.readouterr()
    out = " ".join((captured.out + captured.err).split())
    assert level == "mixed"
    assert "warning:" in out and "it has not learned the decay" in out
    assert "validate: VRMSE 1.293 (baselines: persistence 1.4, zero 1.071)" in out


@pytest.fixture
def run_dir(tmp_path):
    (tmp_path / "mno").mkdir()
    (tmp_path / "validate").mkdir()
    (tmp_path / "mno" / "evaluation.json").write_text(json.dumps({"summary": DEFAULT_RUN}))
    fresh = {"rel_l2": 0.62, "persistence_rel_l2": 1.0, "zero_rel_l2": 1.0}
    (tmp_path / "validate" / "report.json").write_text(json.dumps({"rollout": {"summary": fresh}}))
    return tmp_path


def test_report_headline_cards_are_coloured_by_the_verdict(run_dir):
    section = run_section(RunArtefacts(run_dir))
    assert section.headline_levels == {
        "MNO vs baselines (validation split)": "mixed",
        "MNO vs baselines (fresh θ)": "good",
    }
    assert section.headline["MNO vs baselines (validation split)"] == "mixed"
    text = " ".join(b.text for b in section.blocks if hasattr(b, "text"))
    assert "it has not learned the decay" in text
    # the two rel. L2 figures are said to be measured on different things
    assert "The two rel. L2 figures measure different things" in text
    assert "θ the MNO never saw" in text and "held-out split of the training θ" in text
    page = render_html("t", "", [section])
    assert '<div class="v-mixed"><b>mixed</b><span>MNO vs baselines (validation split)</span>' in page
    assert '<div class="v-good"><b>good</b>' in page


def test_validate_computes_zero_and_mean_baselines_with_known_values():
    import torch

    from spinlock_core.mno.validate import _errors, _rollout_summary

    u0 = torch.ones(1, 1, 1, 1, 4, 4)
    u0[..., :2] = 3.0  # spatial mean 2, values 1 and 3
    truth = torch.cat([u0, 0.5 * u0], dim=2)  # [B=1, M=1, T=2, C, H, W]: halves in one step
    pred = truth.clone()
    errors = _errors(pred, truth, torch.tensor([True]))
    assert float(errors["rel_l2"][0, 0]) == 0.0
    assert float(errors["zero_rel_l2"][0, 0]) == pytest.approx(1.0)
    assert float(errors["persistence_rel_l2"][0, 0]) == pytest.approx(1.0)  # ||u0 - u0/2|| / ||u0/2||
    # the mean of u0 (2 everywhere) against 0.5 * u0 (0.5 and 1.5): |error| 1.5 and 0.5, var 0.25
    assert float(errors["mean_field_vrmse"][0, 0]) == pytest.approx(
        ((1.5**2 + 0.5**2) / 2 / 0.25) ** 0.5, rel=1e-5
    )
    summary = _rollout_summary({k: [v] for k, v in errors.items()})["summary"]
    assert summary["verdict"][0] == "good" and summary["zero_vrmse"] == pytest.approx(
        5**0.5, rel=1e-5
    )  # mse 1.25, var 0.25


def test_a_narrow_win_over_every_baseline_is_mixed_not_good():
    """The default run's fresh-θ numbers: 4% better than persistence is not a model that learned."""
    from spinlock_core.verdicts import verdict

    level, sentence = verdict(
        {"rel_l2": 0.6229, "vrmse": 0.6993},
        {"persistence": {"rel_l2": 0.6461, "vrmse": 0.7348}, "zero": {"rel_l2": 1.0, "vrmse": 1.036}},
    )
    assert level == "mixed"
    assert "persistence by only 4% on rel. L2" in sentence and "barely learned" in sentence
    clear, _ = verdict({"rel_l2": 0.5}, {"persistence": {"rel_l2": 0.6461}, "zero": {"rel_l2": 1.0}})
    assert clear == "good"  # 23% and 50%
