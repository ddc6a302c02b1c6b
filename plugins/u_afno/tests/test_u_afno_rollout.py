import attrs
import pytest
import torch
import torch.nn.functional as F

from spinlock_u_afno import UAFNOConfig, build_u_afno, rollout, rollout_loss_windows, tbptt_windows

T, WINDOW = 6, 2


def mse(pred, target, steps):
    return F.mse_loss(pred, target)


@pytest.fixture
def model(space):
    torch.manual_seed(0)
    cfg = UAFNOConfig(
        width=8, levels=1, blocks_per_level=1, afno_blocks=1, num_afno_blocks=2, cond_dim=16, theta_hidden=16
    )
    return build_u_afno(cfg, space)


@pytest.fixture
def data():
    torch.manual_seed(1)
    u0 = torch.randn(3, 1, 8, 8, requires_grad=True)
    return u0, torch.randn(3, T, 1, 8, 8)


def test_windows():
    assert tbptt_windows(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert tbptt_windows(8, 4) == [(0, 4), (4, 8)]
    assert tbptt_windows(3, 32) == [(0, 3)]
    with pytest.raises(ValueError):
        tbptt_windows(0, 4)


def _grads(loss, tensors):
    return torch.autograd.grad(loss, tensors, retain_graph=True, allow_unused=True)


@pytest.mark.parametrize("history", [1, 3])
def test_windowed_gradient_reaches_every_window_and_never_crosses_a_boundary(model, theta, data, history):
    u0, targets = data
    model = build_u_afno(attrs.evolve(model.config, history=history), model.parameter_space)
    params = list(model.parameters())
    items = list(rollout_loss_windows(model, u0, theta, targets, WINDOW, mse, history=history))
    assert [(i.start, i.stop) for i in items] == [(0, 2), (2, 4), (4, 6)]
    for k, item in enumerate(items):
        grads = _grads(item.loss, params)
        assert all(g is not None and g.abs().sum() > 0 for g in grads), f"window {k} misses parameters"
        (g_u0,) = _grads(item.loss, [u0])
        if k == 0:
            assert g_u0 is not None and g_u0.abs().sum() > 0
        else:  # the state entering window k was detached: no path back to u0
            assert g_u0 is None


def test_full_mode_is_one_graph(model, theta, data):
    u0, targets = data
    (item,) = rollout_loss_windows(model, u0, theta, targets, WINDOW, mse, mode="full")
    assert (item.start, item.stop) == (0, T)
    # the last step's prediction still depends on u0
    (g,) = _grads(item.pred[:, -1].sum(), [u0])
    assert g is not None and g.abs().sum() > 0


def test_last_mode_supervises_only_the_last_window(model, theta, data):
    u0, targets = data
    (item,) = rollout_loss_windows(model, u0, theta, targets, WINDOW, mse, mode="last")
    assert (item.start, item.stop) == (T - WINDOW, T)
    assert _grads(item.loss, [u0]) == (None,)
    torch.testing.assert_close(item.raw, F.mse_loss(item.pred, targets[:, T - WINDOW :]))
    assert torch.equal(item.loss, item.raw)  # weight 1: the only supervised window


def test_modes_agree_on_values_and_loss_scale(model, theta, data):
    u0, targets = data
    windowed = list(rollout_loss_windows(model, u0, theta, targets, 4, mse))  # windows of 4 and 2
    (full,) = rollout_loss_windows(model, u0, theta, targets, 4, mse, mode="full")
    (last,) = rollout_loss_windows(model, u0, theta, targets, 4, mse, mode="last")
    torch.testing.assert_close(torch.cat([w.pred for w in windowed], dim=1), full.pred)
    torch.testing.assert_close(last.pred, full.pred[:, 4:])
    # per-window losses are weighted so that they sum to the mean over the horizon
    torch.testing.assert_close(sum(w.loss for w in windowed), full.loss)
    with torch.no_grad():
        torch.testing.assert_close(rollout(model, u0, theta, T), full.pred)


def test_trainer_loop_backward_per_window(model, theta, data):
    u0, targets = data
    for item in rollout_loss_windows(model, u0.detach(), theta, targets, WINDOW, mse):
        item.loss.backward()  # frees this window's graph; the next window must not need it
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_noise_fn_is_called_once_per_step(space, theta, data):
    torch.manual_seed(0)
    cfg = UAFNOConfig(
        width=8, levels=1, blocks_per_level=1, afno_blocks=1, num_afno_blocks=2, noise_channels=1
    )
    model = build_u_afno(cfg, space)
    u0, targets = data
    calls = []

    def noise_fn(t):
        calls.append(t)
        return torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(t))

    list(rollout_loss_windows(model, u0, theta, targets, WINDOW, mse, mode="last", noise_fn=noise_fn))
    assert calls == list(range(T))


def test_bad_arguments(model, theta, data):
    u0, targets = data
    with pytest.raises(ValueError, match="mode"):
        next(rollout_loss_windows(model, u0, theta, targets, WINDOW, mse, mode="bogus"))
    with pytest.raises(ValueError, match="history=3"):
        next(
            rollout_loss_windows(model, u0[:, None].expand(3, 2, 1, 8, 8), theta, targets, 2, mse, history=3)
        )
