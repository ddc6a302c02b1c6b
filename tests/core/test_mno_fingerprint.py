"""The mno stage's fingerprint holds every key that changes its result: a change re-runs it."""

from __future__ import annotations

import pytest

from spinlock_core.config import compose
from spinlock_core.runner import Runner

BASE = ["stage=mno", "backbone=u_afno"]


def _runner(tmp_path, *args):
    return Runner(compose([*BASE, *args, f"run.dir={tmp_path}"]))


def _stamped(tmp_path, *args) -> Runner:
    """A run directory whose mno artefacts were made with ``args`` (stamp and outputs faked)."""
    runner = _runner(tmp_path, *args)
    for output in runner.spec("mno").outputs:
        (tmp_path / output).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / output).write_bytes(b"")
    runner._write_stamp("mno", 0.0)
    return runner


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(["loss.traj.weighting=exponential"], id="loss-option"),
        pytest.param(["loss.traj.gamma=0.9"], id="loss-option-2"),
        pytest.param(["mno.loss.ic=0.5"], id="added-loss"),
        pytest.param(["mno.loss.traj=2.0"], id="loss-weight"),
        pytest.param(["mno.tbptt.mode=full"], id="tbptt"),
        pytest.param(["mno.noise_std=0.01"], id="state-noise"),
        pytest.param(["backbone.overrides={width: 8}"], id="backbone"),
        pytest.param(["seed=7"], id="seed"),
        pytest.param(["generate.n_samples=33"], id="upstream-dataset"),
    ],
)
def test_changing_a_key_that_changes_the_result_reruns_mno(tmp_path, change):
    base = _stamped(tmp_path)
    assert base.state("mno") == "current"
    changed = _runner(tmp_path, *change)
    assert changed.fingerprint("mno") != base.fingerprint("mno")
    assert changed.state("mno") == "stale"


def test_the_tokenizer_is_part_of_the_fingerprint_only_for_losses_that_read_it(tmp_path):
    plain = _runner(tmp_path)
    assert "tokenizer" not in plain.requires("mno")
    # traj alone reads no tokenizer: the tokenizer's config does not reach the mno fingerprint
    assert _runner(tmp_path, "tokenizer.codebook_size=4").fingerprint("mno") == plain.fingerprint("mno")

    vq = _runner(tmp_path, "mno.loss.commit=0.1")
    assert vq.requires("mno") == ("generate", "tokenizer")
    order = vq.order(["mno"])
    assert order.index("tokenizer") < order.index("mno")  # the tokenizer is made first
    stamped = _stamped(tmp_path, "mno.loss.commit=0.1")
    assert stamped.state("mno") == "current"
    retuned = _runner(tmp_path, "mno.loss.commit=0.1", "tokenizer.codebook_size=4")
    assert retuned.fingerprint("tokenizer") != stamped.fingerprint("tokenizer")
    assert retuned.state("mno") == "stale"  # the tokenizer the loss reads changed
    assert "(stage tokenizer)" in retuned.differences("mno")


def test_a_zero_weight_vq_loss_reads_no_tokenizer(tmp_path):
    assert "tokenizer" not in _runner(tmp_path, "mno.loss.commit=0").requires("mno")
