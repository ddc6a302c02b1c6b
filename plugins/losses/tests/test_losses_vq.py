"""The ``commit`` and ``latent`` losses through a frozen tokenizer fit on a tiny run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from losses_fixtures import DOMAIN, MEAN, STD, T, make_setup, window
from torch import nn

from spinlock_core.config import structure
from spinlock_core.errors import ConfigError, PluginError, StageError
from spinlock_core.interfaces import FeatureBatch
from spinlock_losses._window_latents import kept_states
from spinlock_losses.specs import CommitOptions, LatentOptions
from spinlock_losses.vq import CommitLoss, LatentLoss, backbone_latent


@pytest.fixture(scope="module")
def commit(vq_run):
    return CommitLoss(CommitOptions(), setup=make_setup(vq_run[0]))


def _reference_inputs(loss, traj, samples, start=0, stop=None, dt=DOMAIN.dt):
    """Raw tokenizer input rows of realization 0's states ``start..stop`` (physical, ``dt`` apart),
    assembled by hand from the summary family and the stored table."""
    from spinlock_core.stages.tokenizer import feature_table
    from spinlock_features.summary import SummaryFeatures

    states = torch.as_tensor(traj[samples, 0, start : None if stop is None else stop + 1])
    batch = FeatureBatch(
        domain=DOMAIN,
        theta={},
        u0=states[:, 0],
        trajectories=states.unsqueeze(1),
        time=torch.arange(states.shape[1]) * dt,
    )
    family = SummaryFeatures()
    names = [f"summary/{c.name}" for c in family.columns(DOMAIN)]
    columns = dict(zip(names, family.extract(batch).T.numpy(), strict=True))
    stored, stored_names = feature_table(loss.latents.setup.run_dir / "features" / "features.h5")
    columns |= {n: stored[samples, j] for j, n in enumerate(stored_names) if n.startswith("architecture/")}
    return np.stack([columns[c] for c in loss.latents.pre.input_columns], axis=1)


def _reference_latents(loss, traj, samples, start, stop):
    """``(z, q(z))`` of the states ``start..stop`` through the tokenizer's *numpy* preprocessing."""
    tok = loss.latents.tokenizer
    out = tok.model(tok.scale(_reference_inputs(loss, traj, samples, start, stop)))
    return torch.cat(out["latents"], 1), torch.cat(out["quantized"], 1)


def test_no_tokenizer_is_a_clear_error(vq_run):
    with pytest.raises(StageError, match=r"needs a trained tokenizer: run stage=tokenizer first"):
        CommitLoss(CommitOptions(), setup=make_setup(vq_run[0], tokenizer=False))
    with pytest.raises(StageError, match=r"run stage=tokenizer first"):
        LatentLoss(LatentOptions(), setup=make_setup(vq_run[0], tokenizer=False))


def test_commit_at_the_truth_equals_the_tokenizers_own_quantization_error(vq_run, commit):
    _, traj = vq_run
    samples = [0, 3, 7]
    target, ctx = window(traj, samples, 2, 6)
    z, q = _reference_latents(commit, traj, samples, 2, 6)
    value, logs = commit(target.clone(), target, ctx)
    floor = (z - q).square().mean()
    assert torch.allclose(value, floor, rtol=1e-5, atol=1e-7)
    assert logs["floor"] == pytest.approx(float(floor), rel=1e-5)
    assert logs["token_agreement"] == 1.0
    assert float(floor) > 0  # the quantized goal: a perfect prediction still pays the floor


def test_continuous_commit_is_zero_at_the_truth_and_positive_elsewhere(vq_run):
    _, traj = vq_run
    loss = CommitLoss(CommitOptions(target="continuous"), setup=make_setup(vq_run[0]))
    target, ctx = window(traj, [1, 2], 0, 8)
    assert float(loss(target.clone(), target, ctx)[0]) == 0.0
    pred = (
        target + 0.3 * torch.randn_like(target, generator=torch.Generator().manual_seed(0))
    ).requires_grad_()
    value, _ = loss(pred, target, ctx)
    assert value.item() > 0
    value.backward()
    assert torch.isfinite(pred.grad).all() and (pred.grad.flatten(1).abs().sum(1) > 0).all()


def test_commit_gradient_reaches_pred_and_the_tokenizer_stays_frozen(vq_run, commit):
    _, traj = vq_run
    target, ctx = window(traj, [4, 5], 0, 8)
    tokenizer = commit.latents.model
    before = {k: v.clone() for k, v in tokenizer.state_dict().items()}
    shift = nn.Parameter(0.3 * torch.randn_like(target, generator=torch.Generator().manual_seed(1)))
    assert list(commit.parameters()) == [] and commit.state_dict() == {}
    optimizer = torch.optim.AdamW([shift, *commit.parameters()], lr=0.1)
    value, logs = commit(target + shift, target, ctx)
    assert value.item() > logs["floor"]
    value.backward()
    assert torch.isfinite(shift.grad).all() and shift.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in tokenizer.parameters())
    optimizer.step()
    assert not tokenizer.training
    after = tokenizer.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_a_degenerate_window_does_not_poison_the_gradient(vq_run, commit):
    _, traj = vq_run
    target, ctx = window(traj, [0, 1, 2], 0, 8)
    pred = target.clone()
    pred[0] = 0.0  # a field constant in space and time: std = 0, sqrt(0) in the backward
    pred.requires_grad_()
    seen = commit.latents.guarded
    value, _ = commit(pred, target, ctx)
    value.backward()
    assert torch.isfinite(pred.grad).all()
    assert pred.grad[0].abs().sum() == 0 and (pred.grad[1:].flatten(1).abs().sum(1) > 0).all()
    assert commit.latents.guarded == seen + 1
    assert commit(pred.detach(), target, ctx)[1]["guarded"] == 1.0  # logged at the next window


def test_window_without_start_states_uses_its_own_steps(vq_run, commit):
    _, traj = vq_run
    target, ctx = window(traj, [6], 3, 8, with_states=False)
    z, _ = _reference_latents(commit, traj, [6], 4, 8)  # states 4..8: the window's steps only
    assert torch.allclose(commit.latents.latents(target, None, ctx), z, atol=1e-5)


def test_kept_states_are_evenly_spaced_with_both_ends():
    assert kept_states(9, 3).tolist() == [0, 4, 8]
    assert kept_states(33, 5).tolist() == [0, 8, 16, 24, 32]
    assert kept_states(5, None).tolist() == [0, 1, 2, 3, 4]
    assert kept_states(5, 9).tolist() == [0, 1, 2, 3, 4]


def test_latent_sample_steps_subsample_the_window(vq_run):
    _, traj = vq_run
    loss = CommitLoss(CommitOptions(), setup=make_setup(vq_run[0], sample_steps=3))
    target, ctx = window(traj, [2, 9], 0, 8)
    got = loss.latents.inputs(target, ctx.target_state, ctx).numpy()
    # states 0, 4, 8 of the window (0: the state before it), 4 dt apart
    ref = _reference_inputs(loss, traj[:, :, [0, 4, 8]], [2, 9], dt=4 * DOMAIN.dt)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5, equal_nan=True)


@pytest.mark.parametrize(
    ("families", "error", "message"),
    [
        pytest.param(("temporal",), ConfigError, "'temporal' is a per-timestep family", id="per-timestep"),
        pytest.param(("initial",), ConfigError, "'initial' does not depend on the rollout", id="theta-only"),
        pytest.param(("nosuch",), PluginError, "unknown feature 'nosuch'", id="unknown"),
    ],
)
def test_bad_families_are_named(vq_run, families, error, message):
    with pytest.raises(error, match=message):
        CommitLoss(CommitOptions(families=families), setup=make_setup(vq_run[0]))


@pytest.mark.parametrize(
    ("cls", "raw", "message"),
    [
        pytest.param(CommitOptions, {"families": []}, "at least one family", id="no-families"),
        pytest.param(CommitOptions, {"target": "soft"}, "soft not in literal", id="bad-target"),
        pytest.param(LatentOptions, {"hidden": 0}, "'hidden' must be >= 1", id="no-width"),
        pytest.param(LatentOptions, {"dropout": 1.0}, "'dropout' must be < 1", id="dropout-one"),
    ],
)
def test_bad_options_are_config_errors(cls, raw, message):
    with pytest.raises(ConfigError, match=message):
        structure(raw, cls, "loss.x")


def test_options_from_config_values():
    options = structure({"families": ["summary"], "target": "continuous"}, CommitOptions, "loss.commit")
    assert options == CommitOptions(families=("summary",), target="continuous")
    assert structure({}, LatentOptions, "loss.latent") == LatentOptions(
        families=None, hidden=128, dropout=0.0
    )


# ------------------------------------------------------------------ latent
def _backbone():
    from spinlock_core.params import ContinuousParam, ParameterSpace
    from spinlock_u_afno import build_u_afno, preset

    space = ParameterSpace([ContinuousParam(name="rate", low=0.0, high=1.0)])
    torch.manual_seed(0)
    config = preset("small", width=4, levels=1, blocks_per_level=1, afno_blocks=1, cond_dim=8, theta_hidden=8)
    return build_u_afno(config, space)


def _rollout(model, u0, steps):
    theta = {"rate": torch.full((u0.shape[0],), 0.5)}
    state, preds = u0, []
    for _ in range(steps):
        state = model(state, theta)
        preds.append(state)
    return torch.stack(preds, 1)


def test_latent_projector_is_trained_with_the_backbone(vq_run):
    _, traj = vq_run
    model = _backbone()
    loss = LatentLoss(LatentOptions(hidden=16), setup=make_setup(vq_run[0], model=model))
    target, ctx = window(traj, [0, 1], 0, 8)
    params = list(loss.parameters())
    assert params and all(any(p is q for q in loss.projector.parameters()) for p in params)
    assert set(loss.state_dict()) == {f"projector.{k}" for k in loss.projector.state_dict()}
    value, logs = loss(_rollout(model, ctx.u0, 8), target, ctx)
    value.backward()
    assert value.item() > 0 and logs["relative"] > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in params)
    assert model.stem.weight.grad is not None and model.stem.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.latents.model.parameters())


def test_latent_reads_the_last_window_calls_averaged(vq_run):
    _, traj = vq_run
    model = _backbone()
    loss = LatentLoss(LatentOptions(hidden=16), setup=make_setup(vq_run[0], model=model))
    target, ctx = window(traj, [3, 4], 0, 4)
    pooled = []
    model.latent_module.register_forward_hook(lambda _m, _a, out: pooled.append(out.mean((-2, -1))))
    seen_by_projector = []
    loss.projector.register_forward_pre_hook(lambda _m, args: seen_by_projector.append(args[0]))
    with torch.no_grad():
        _rollout(model, torch.randn_like(ctx.u0), 5)  # e.g. a validation rollout before the window
    pred = _rollout(model, ctx.u0, 4)
    loss(pred, target, ctx)
    assert len(pooled) == 9 and pooled[0].shape == (2, model.latent_dim)
    assert torch.allclose(seen_by_projector[0], torch.stack(pooled[-4:]).mean(0))
    with pytest.raises(StageError, match="seen 0 times"):
        loss(pred, target, ctx)  # the window's latents were used up


def test_latent_follows_train_and_eval(vq_run):
    _, traj = vq_run
    model = _backbone()
    loss = LatentLoss(LatentOptions(hidden=16, dropout=0.5), setup=make_setup(vq_run[0], model=model))
    target, ctx = window(traj, [0], 0, 2)
    loss.eval()
    assert not loss.projector.training
    with torch.no_grad():
        pred = _rollout(model, ctx.u0, 2)
        first = loss(pred, target, ctx)[0]
        _rollout(model, ctx.u0, 2)
        assert torch.equal(first, loss(pred, target, ctx)[0])  # no dropout in eval
    loss.train()
    assert loss.projector.training


def test_backbones_expose_their_latent(monkeypatch):
    model = _backbone()
    module, dim = backbone_latent(model)
    assert module is model.latent_module and dim == model.config.channels(model.config.levels)
    with pytest.raises(PluginError, match="backbone Linear exposes no latent"):
        backbone_latent(nn.Linear(2, 2))


class _StubFNO(nn.Module):
    """neuraloperator's FNO layout: lifting -> hidden layers -> projection."""

    def __init__(self, n_modes, in_channels, out_channels, hidden_channels, n_layers):
        super().__init__()
        self.lifting = nn.Conv2d(in_channels, hidden_channels, 1)
        self.projection = nn.Conv2d(hidden_channels, out_channels, 1)

    def forward(self, x):
        return self.projection(torch.tanh(self.lifting(x)))


def test_fno_latent_is_its_hidden_state(monkeypatch):
    import sys
    import types

    from spinlock_core.params import ContinuousParam, ParameterSpace
    from spinlock_u_afno.fno import FNOBaseline, FNOConfig

    pkg, models = types.ModuleType("neuralop"), types.ModuleType("neuralop.models")
    models.FNO = _StubFNO
    monkeypatch.setitem(sys.modules, "neuralop", pkg)
    monkeypatch.setitem(sys.modules, "neuralop.models", models)
    model = FNOBaseline(
        FNOConfig(hidden_channels=6), ParameterSpace([ContinuousParam(name="r", low=0, high=1)])
    )
    module, dim = backbone_latent(model)
    seen = []
    module.register_forward_hook(lambda _m, _a, out: seen.append(out))
    x = torch.randn(2, 1, 8, 8)
    out = model(x, {"r": torch.tensor([0.1, 0.9])})
    assert dim == 6 and seen[0].shape == (2, 6, 8, 8)
    assert torch.allclose(out, x + model.residual_scale.view(1, -1, 1, 1) * model.fno.projection(seen[0]))

    models.FNO = lambda **kw: nn.Conv2d(kw["in_channels"], kw["out_channels"], 1)
    bare = FNOBaseline(FNOConfig(), ParameterSpace([ContinuousParam(name="r", low=0, high=1)]))
    with pytest.raises(PluginError, match="fno: this neuraloperator FNO has no `projection`"):
        backbone_latent(bare)


def test_normaliser_is_undone_before_the_features(vq_run, commit):
    # the fixture's normaliser is not the identity: features of normalised fields would differ
    assert not np.allclose(MEAN, 0) and not np.allclose(STD, 1)
    _, traj = vq_run
    target, ctx = window(traj, [8], 0, T - 1)
    z, _ = _reference_latents(commit, traj, [8], 0, T - 1)
    assert torch.allclose(commit.latents.latents(target, ctx.target_state, ctx), z, atol=1e-5)


def test_stale_or_missing_feature_table_is_named(vq_run, tmp_path):
    import shutil

    import h5py

    from spinlock_core.config._yaml import dump_yaml
    from spinlock_core.errors import DatasetError

    run = tmp_path / "run"
    shutil.copytree(vq_run[0], run)
    with h5py.File(run / "features" / "features.h5", "a") as f:  # summary options changed since
        f.attrs["config"] = dump_yaml({"feature": {"summary": {"aggregates": ["mean"]}}})
    with pytest.raises(DatasetError, match="rerun stage=features and tokenizer"):
        CommitLoss(CommitOptions(), setup=make_setup(run))
    (run / "features" / "features.h5").unlink()
    with pytest.raises(StageError, match="features.h5 .* run stage=features"):
        CommitLoss(CommitOptions(), setup=make_setup(run))
