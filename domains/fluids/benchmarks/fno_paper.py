"""The FNO paper's Navier-Stokes benchmark (ν = 1e-3) at equal GPU time: U-AFNO MNO vs FNO-2D.

Data: the ``fno_ns_1e-3`` preset (the shipped ``preset/fno_ns_1e-3.yaml``), generated in-process
on the device with the ``navier_stokes`` operator: ``--n-train`` + ``--n-test`` trajectories
(paper: 1000 + 200, the first ones for training), 64x64 stored, one state per time unit.
Task (paper): input the vorticity at t = 1..10, predict t = 11..50 autoregressively.
Loss and metric (paper's ``fourier_2d_time.py``): relative L2 ``||pred - true|| / ||true||``;
training sums it over the predicted steps (full backpropagation through the rollout); the
reported figure is its mean over test trajectories with the norm taken over all 40 predicted
frames together (``test_l2_full``), beside the per-frame curve.

Each model trains for the same wall-clock budget on the device (``--minutes``; time spent in
evaluation is not counted), AdamW with a time-based cosine learning rate, batch 20 (paper):

* ``u_afno``: the MNO backbone (``spinlock.backbones:u_afno``, preset ``--preset``), history 10;
* ``fno``: ``spinlock.backbones:fno`` (neuraloperator's FNO) with the paper's FNO-2D shape:
  4 Fourier layers, width 20, 12 modes per direction = neuralop ``n_modes=24`` (it counts
  positive and negative frequencies), the grid as 2 extra input channels (neuralop's default).
* ``fno2d_paper`` (not in the default ``--models``): ``spinlock.backbones:fno2d_paper``, the
  paper's FNO-2D as published (:mod:`spinlock_u_afno.fno2d_paper`), trained with the paper's own
  recipe instead of the one above: Adam (lr 1e-3, L2 weight decay 1e-4), StepLR halving the rate
  every 100 epochs (stepped per epoch), batch 20, no clipping, fp32 (TF32 off unless ``--tf32``),
  the loss summed over the batch and the 40 steps (the paper's ``LpLoss(size_average=False)``:
  with Adam's L2 term the loss scale matters), on the raw vorticity (the paper normalises
  nothing; the relative L2 is the same either way). It stops at ``--minutes`` or after
  ``--paper-epochs`` (500, the paper's) epochs, and its test error is recorded every
  ``--eval-every`` epochs (``test_curve``, with ``epoch``) to compare with the paper's curve.

Results go to ``--out``: ``fno_paper.json`` (config, device, data time, per model: parameters,
steps, epochs, test relative L2 full/per-frame, learning curves, errors) and ``fno_paper.png``
(error vs predicted time, learning curves). The paper's converged table (500 epochs):
FNO-3D 0.0086, FNO-2D 0.0128, U-Net 0.0245.

GPU (H100; data ~0.5 min, then --minutes per model, evaluation ~10 s each):
    python domains/fluids/benchmarks/fno_paper.py --minutes 4 --out $OUT/fno_paper
CPU smoke test:
    python domains/fluids/benchmarks/fno_paper.py --n-train 8 --n-test 4 --minutes 0.05 --grid 32 \\
        --out /tmp/fno_paper
The paper's FNO-2D with its recipe, beside the others (GPU, then CPU smoke):
    python domains/fluids/benchmarks/fno_paper.py --models u_afno,fno,fno2d_paper --minutes 4 \\
        --out $OUT/fno_paper
    python domains/fluids/benchmarks/fno_paper.py --models fno2d_paper --n-train 8 --n-test 4 \\
        --minutes 0.05 --grid 32 --paper-batch-size 4 --eval-every 1 --out /tmp/fno_paper
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
import traceback
from pathlib import Path

import numpy as np
import torch

from spinlock_core.mno.loop import autocast_for, train_step

PAPER = {"FNO-3D": 0.0086, "FNO-2D": 0.0128, "U-Net": 0.0245, "TF-Net": 0.0225, "ResNet": 0.0701}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --- data ---------------------------------------------------------------------------------------


def preset_setup(args):
    """Domain, operator and stored grid of the ``fno_ns_1e-3`` preset, with this run's overrides."""
    from spinlock_core.api import compose, load_plugin

    preset = compose(["domain=fluids", "preset=fno_ns_1e-3"])
    # The preset's solver grid at the preset's stored grid; else solve on the stored grid.
    same = args.grid == preset.section("generate").grid
    solver = args.solver_grid or (preset.section("operator").solver_grid if same else args.grid)
    overrides = ["domain=fluids", "preset=fno_ns_1e-3", f"generate.grid={args.grid}"]
    overrides.append(f"operator.solver_grid={solver}")
    if args.dt is not None:
        overrides.append(f"operator.dt={args.dt}")
    config = compose(overrides)
    domain = load_plugin("domains", "fluids").create(config.section("domain"))
    operator = load_plugin("operators", "navier_stokes").create(config.section("operator"))
    return domain, operator, domain.grid(args.grid, operator), config


def generate(args, device):
    """``(vorticity [N, 1 + t_in + t_out, H, W]`` (state k at t = k), θ of one sample (all are
    equal), a description with timings, the parameter space)``."""
    from spinlock_core.api import rollout

    domain, operator, grid, config = preset_setup(args)
    n = args.n_train + args.n_test
    space = operator.parameter_space
    theta_all = space.decode(np.full((n, space.dim), 0.5))  # every range of the preset is a point
    steps = args.t_in + args.t_out
    sampler = domain.initial_conditions(operator)
    chunks = []
    _sync(device)
    start = time.perf_counter()
    with torch.no_grad():
        for lo in range(0, n, args.gen_batch):
            idx = list(range(lo, min(n, lo + args.gen_batch)))
            theta = {k: v[lo : lo + len(idx)] for k, v in theta_all.items()}
            _, u0 = sampler.sample(args.seed, idx, 1, grid, device, torch.float32)
            stepper = operator.build(theta, idx, args.seed, grid, device, torch.float32)
            states = rollout(stepper, u0, steps=steps, realizations=1, bound=1e6).states
            chunks.append(states[:, 0, :, 0])
    _sync(device)
    seconds = time.perf_counter() - start
    traj = torch.cat(chunks)
    if not torch.isfinite(traj).all():
        raise RuntimeError("the solver produced non-finite values; check --dt")
    op = config.section("operator")
    info = {
        "seconds": seconds,
        "trajectories": n,
        "stored_grid": args.grid,
        "solver_grid": op.solver_grid,
        "dt": op.dt,
        "scheme": op.scheme,
        "time_per_state": op.time_per_state,
        "states": steps + 1,
        "vorticity_rms": traj.pow(2).mean().sqrt().item(),
    }
    return traj, {k: v[0] for k, v in theta_all.items()}, info, space


# --- models ---------------------------------------------------------------------------------------


def build_model(name: str, args, space, device):
    """``(model, description)`` through the ``spinlock.backbones`` entry point of ``name``."""
    from spinlock_core.api import load_plugin

    if name == "u_afno":
        overrides = dict(_key_value(kv) for kv in args.u_afno_set)
        preset = args.preset
    elif name == "fno":
        overrides = {
            "n_modes": args.fno_modes,
            "hidden_channels": args.fno_width,
            "n_layers": args.fno_layers,
            "residual": args.fno_residual,
        }
        preset = "small"  # every size field is overridden
    elif name == "fno2d_paper":
        preset = None  # no presets: the defaults are the paper's sizes
    else:
        raise ValueError(f"unknown model {name!r}; valid: u_afno, fno, fno2d_paper")
    spec = load_plugin("backbones", name)
    if preset is None:
        options = spec.config_class()
    else:
        options = spec.config_class(preset=preset, overrides=overrides)
    model, config = spec.load_implementation()(
        options, channels=1, history=args.t_in, parameter_space=space, device=device
    )
    import attrs

    return model.to(device), {
        "entry_point": f"spinlock.backbones:{name}",
        "preset": preset,
        "config": attrs.asdict(config),
    }


def _key_value(text: str) -> tuple[str, object]:
    """``width=32`` -> ``("width", 32)``: the value read as YAML (numbers, booleans, strings)."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise SystemExit(f"--u-afno-set takes KEY=VALUE, got {text!r}")
    return key, yaml.safe_load(value)


def rollout_model(model, x, theta, steps: int, checkpoint: bool = False, autocast=None):
    """Autoregressive prediction ``[B, steps, H, W]`` from the ``t_in`` frames ``x [B, t_in, H, W]``
    (the core's one rollout loop, :func:`spinlock_core.mno.loop.rollout_windows`, as one window
    with a graph over the whole horizon when gradients are on)."""
    from spinlock_core.mno.loop import rollout_windows

    (only,) = rollout_windows(
        model,
        x[:, :, None],
        theta,
        steps,
        window=steps,
        mode="full",
        history=x.shape[1],
        autocast=autocast,
        checkpoint=checkpoint,
    )
    return only.pred[:, :, 0]


def _sum_rel_l2(pred, true, _ctx):
    """The paper's training loss: relative L2 per frame, averaged over the batch, summed over steps."""
    return relative_l2(pred[:, :, 0], true[:, :, 0], (2, 3)).mean(0).sum(), {}


def relative_l2(pred, true, dims) -> torch.Tensor:
    """``||pred - true|| / ||true||`` over ``dims``, per remaining index."""
    return (pred - true).float().pow(2).sum(dims).sqrt() / true.float().pow(2).sum(dims).sqrt().clamp_min(
        1e-30
    )


def evaluate(model, x, y, theta_of, args, precision: str | None = None) -> dict:
    """Paper metrics on the test set: full-trajectory relative L2 (mean over samples) and per frame
    (``precision``: ``fp32`` or ``bf16``; default from ``--bf16``)."""
    _sync(x.device)
    start = time.perf_counter()
    model.eval()
    full, per_frame = [], []
    autocast = autocast_for(precision or ("bf16" if args.bf16 else "fp32"), x.device)
    with torch.no_grad():
        for lo in range(0, x.shape[0], args.eval_batch):
            xb, yb = x[lo : lo + args.eval_batch], y[lo : lo + args.eval_batch]
            pred = rollout_model(model, xb, theta_of(xb.shape[0]), yb.shape[1], autocast=autocast)
            full.append(relative_l2(pred, yb, (1, 2, 3)))
            per_frame.append(relative_l2(pred, yb, (2, 3)))
    model.train()
    full_t, frame_t = torch.cat(full), torch.cat(per_frame)
    return {
        "test_rel_l2_full": full_t.mean().item(),
        "test_rel_l2_per_frame": frame_t.mean(0).tolist(),
        "test_rel_l2_step_mean": frame_t.mean().item(),
        "eval_seconds": time.perf_counter() - start,
    }


def train_one(name: str, data: dict, args, device) -> dict:
    """Train ``name`` for ``--minutes`` of device time; returns its results."""
    if name == "fno2d_paper":
        return train_paper(name, data, args, device)
    space, theta_of = data["space"], data["theta_of"]
    torch.manual_seed(args.seed)
    model, described = build_model(name, args, space, device)
    out: dict = {"model": name, **described}
    out["parameters"] = sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())
    checkpointed = name in args.grad_checkpoint.split(",") or args.grad_checkpoint == "all"
    out["gradient_checkpointing"] = checkpointed
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    autocast = autocast_for("bf16" if args.bf16 else "fp32", device)
    budget = args.minutes * 60.0
    x, y = data["x_train"], data["y_train"]
    n, bs = x.shape[0], min(args.batch_size, x.shape[0])
    order = torch.Generator().manual_seed(args.seed)
    eval_every = budget / max(1, args.evals)
    next_eval, trained, steps, epochs = 0.0, 0.0, 0, 0
    curve, losses = [], []
    peak = None
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    while trained < budget:
        perm = torch.randperm(n, generator=order)
        for lo in range(0, n, bs):
            if trained >= next_eval:
                curve.append(
                    {
                        "minutes": trained / 60,
                        "step": steps,
                        **evaluate(model, data["x_test"], data["y_test"], theta_of, args),
                    }
                )
                curve[-1].pop("test_rel_l2_per_frame")
                next_eval += eval_every
            if trained >= budget:
                break
            frac = trained / budget
            warm = min(1.0, (steps + 1) / max(1, args.warmup_steps))
            for group in opt.param_groups:
                group["lr"] = args.lr * warm * 0.5 * (1 + math.cos(math.pi * frac))
            idx = perm[lo : lo + bs].to(x.device)
            _sync(device)
            t0 = time.perf_counter()
            result = train_step(  # the mno stage's step: one graph over the horizon (paper)
                model,
                x[idx][:, :, None],
                y[idx][:, :, None],
                theta_of(len(idx)),
                {"rel_l2": (1.0, _sum_rel_l2)},
                window=y.shape[1],
                mode="full",
                history=x.shape[1],
                optimizer=opt,
                params=params,
                grad_clip=args.grad_clip or None,
                autocast=autocast,
                checkpoint=checkpointed,
            )
            loss = result.loss
            _sync(device)
            trained += time.perf_counter() - t0
            steps += 1
            losses.append({"minutes": trained / 60, "loss_per_step": loss / y.shape[1]})
        epochs += 1
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**30
    final = evaluate(model, data["x_test"], data["y_test"], theta_of, args)
    out.update(
        train_minutes=trained / 60,
        optimizer_steps=steps,
        epochs=epochs,
        samples_per_second=steps * bs / max(trained, 1e-9),
        peak_memory_gib=peak,
        **final,
        test_curve=curve
        + [
            {
                "minutes": trained / 60,
                "step": steps,
                **{k: v for k, v in final.items() if k != "test_rel_l2_per_frame"},
            }
        ],
        train_curve=losses[:: max(1, len(losses) // 400)],
    )
    return out


def _paper_loss(pred, true, _ctx):
    """The paper's training loss: relative L2 per frame, summed over the batch and the steps."""
    return relative_l2(pred[:, :, 0], true[:, :, 0], (2, 3)).sum(), {}


def train_paper(name: str, data: dict, args, device) -> dict:
    """``fno2d_paper`` with the paper's recipe (module docstring) for ``--minutes`` of device time
    or ``--paper-epochs`` epochs, whichever ends first; the test error every ``--eval-every`` epochs."""
    theta_of = data["theta_of"]
    torch.manual_seed(args.seed)
    model, described = build_model(name, args, data["space"], device)
    out: dict = {"model": name, **described}
    out["parameters"] = sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())
    out["recipe"] = {
        "optimizer": "Adam",
        "lr": args.paper_lr,
        "weight_decay": args.paper_weight_decay,
        "scheduler": f"StepLR(step_size={args.paper_step_epochs} epochs, gamma={args.paper_gamma})",
        "batch_size": args.paper_batch_size,
        "max_epochs": args.paper_epochs,
        "loss": "relative L2 per step, summed over batch and steps",
        "precision": "fp32" + (", TF32" if args.tf32 else ""),
        "data": "raw vorticity (not normalised)",
        "gradient_clipping": None,
    }
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=args.paper_lr, weight_decay=args.paper_weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=args.paper_step_epochs, gamma=args.paper_gamma)
    fp32 = autocast_for("fp32", device)
    scale = data["scale"]  # undo the benchmark's normalisation: the paper trains on raw vorticity
    x, y = data["x_train"], data["y_train"]
    x_test, y_test = data["x_test"] * scale, data["y_test"] * scale
    budget = args.minutes * 60.0
    n, bs, steps_out = x.shape[0], min(args.paper_batch_size, x.shape[0]), y.shape[1]
    order = torch.Generator().manual_seed(args.seed)
    trained, steps, epochs, seen = 0.0, 0, 0, 0
    curve, losses = [], []

    def test_point() -> dict:
        point = evaluate(model, x_test, y_test, theta_of, args, precision="fp32")
        point.pop("test_rel_l2_per_frame")
        lr = opt.param_groups[0]["lr"]
        return {"epoch": epochs, "minutes": trained / 60, "step": steps, "lr": lr, **point}

    tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    # fp32 as the paper (its V100s had no TF32); PyTorch's default TF32 convolutions would touch W
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = bool(args.tf32)
    try:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        while trained < budget and epochs < args.paper_epochs:
            perm = torch.randperm(n, generator=order)
            epoch_loss, epoch_samples = 0.0, 0
            for lo in range(0, n, bs):
                if trained >= budget:
                    break
                idx = perm[lo : lo + bs].to(x.device)
                _sync(device)
                t0 = time.perf_counter()
                result = train_step(
                    model,
                    (x[idx] * scale)[:, :, None],
                    (y[idx] * scale)[:, :, None],
                    theta_of(len(idx)),
                    {"rel_l2": (1.0, _paper_loss)},
                    window=steps_out,
                    mode="full",
                    history=x.shape[1],
                    optimizer=opt,
                    params=params,
                    grad_clip=None,
                    autocast=fp32,
                )
                _sync(device)
                trained += time.perf_counter() - t0
                steps += 1
                seen += len(idx)
                epoch_loss += result.loss
                epoch_samples += len(idx)
                losses.append(
                    {"minutes": trained / 60, "loss_per_step": result.loss / (len(idx) * steps_out)}
                )
            else:  # a whole epoch
                epochs += 1
                sched.step()
                if epochs % max(1, args.eval_every) == 0:
                    curve.append(test_point())
                    curve[-1]["train_rel_l2_step_mean"] = epoch_loss / (epoch_samples * steps_out)
        peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
        final = evaluate(model, x_test, y_test, theta_of, args, precision="fp32")
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
    out.update(
        train_minutes=trained / 60,
        optimizer_steps=steps,
        epochs=epochs,
        epochs_fractional=seen / n,
        samples_per_second=seen / max(trained, 1e-9),
        peak_memory_gib=peak,
        **final,
        test_curve=curve
        + (
            []
            if curve and curve[-1]["step"] == steps  # the last epoch's evaluation is the final one
            else [
                {
                    "epoch": epochs,
                    "minutes": trained / 60,
                    "step": steps,
                    "lr": opt.param_groups[0]["lr"],
                    **{k: v for k, v in final.items() if k != "test_rel_l2_per_frame"},
                }
            ]
        ),
        train_curve=losses[:: max(1, len(losses) // 400)],
    )
    return out


def _plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    t0 = result["task"]["t_in"] + 1
    for i, m in enumerate(result["models"]):
        if "test_rel_l2_per_frame" not in m:
            continue
        color = f"C{i}"
        frames = np.arange(t0, t0 + len(m["test_rel_l2_per_frame"]))
        a.plot(
            frames,
            m["test_rel_l2_per_frame"],
            label=f"{m['model']} (full {m['test_rel_l2_full']:.4f})",
            color=color,
        )
        curve = m["test_curve"]
        b.semilogy(
            [c["minutes"] for c in curve],
            [c["test_rel_l2_full"] for c in curve],
            marker="o",
            ms=3,
            color=color,
            label=f"{m['model']} test",
        )
        train = m["train_curve"]
        b.semilogy(
            [c["minutes"] for c in train],
            [c["loss_per_step"] for c in train],
            alpha=0.4,
            lw=0.8,
            color=color,
            label=f"{m['model']} train (per step)",
        )
    for label, value in (("paper FNO-3D", PAPER["FNO-3D"]), ("paper FNO-2D", PAPER["FNO-2D"])):
        b.axhline(value, ls="--", lw=0.8, color="gray")
        b.text(0, value, f" {label} {value}", fontsize=7, va="bottom", color="gray")
    a.set(
        xlabel="predicted time t", ylabel="test relative L2 (mean over trajectories)", title="error vs time"
    )
    b.set(xlabel="training minutes (device time)", ylabel="relative L2", title="learning curves")
    for ax in (a, b):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(
        f"FNO paper NS ν=1e-3, {result['device']}, {result['budget_minutes_per_model']} min per model"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--models",
        default="u_afno,fno,fno2d_paper",
        help="comma-separated: u_afno, fno, fno2d_paper (paper's recipe)",
    )
    p.add_argument("--minutes", type=float, default=4.0, help="device minutes of training per model")
    p.add_argument("--n-train", type=int, default=1000)
    p.add_argument("--n-test", type=int, default=200)
    p.add_argument("--grid", type=int, default=64, help="stored grid (paper: 64)")
    p.add_argument(
        "--solver-grid", type=int, default=None, help="default: the preset's (64) at --grid 64, else --grid"
    )
    p.add_argument("--dt", type=float, default=None, help="solver step (default: the preset's 1e-3)")
    p.add_argument("--t-in", type=int, default=10)
    p.add_argument("--t-out", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gen-batch", type=int, default=1200)
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--eval-batch", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup-steps", type=int, default=50)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--evals", type=int, default=4, help="test evaluations during training (time not counted)")
    p.add_argument(
        "--preset",
        default=None,
        help="u_afno size preset: small, base, large (default: base on CUDA, else small)",
    )
    p.add_argument(
        "--u-afno-set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="u_afno config fields over the preset, e.g. width=32 levels=2",
    )
    p.add_argument(
        "--fno-modes", type=int, default=24, help="neuralop n_modes (24 = the paper's 12 per sign)"
    )
    p.add_argument("--fno-width", type=int, default=20)
    p.add_argument("--fno-layers", type=int, default=4)
    p.add_argument("--fno-residual", action="store_true", help="predict u_t + scale * FNO (paper: off)")
    paper = p.add_argument_group("fno2d_paper", "the paper's FNO-2D and its training recipe")
    paper.add_argument("--paper-lr", type=float, default=1e-3)
    paper.add_argument("--paper-weight-decay", type=float, default=1e-4, help="Adam's L2 term")
    paper.add_argument("--paper-step-epochs", type=int, default=100, help="StepLR step_size, in epochs")
    paper.add_argument("--paper-gamma", type=float, default=0.5, help="StepLR gamma")
    paper.add_argument("--paper-batch-size", type=int, default=20)
    paper.add_argument("--paper-epochs", type=int, default=500, help="at most this many epochs")
    paper.add_argument(
        "--eval-every", type=int, default=5, help="test evaluation every this many epochs (time not counted)"
    )
    p.add_argument(
        "--bf16",
        action="store_true",
        help="bf16 autocast for the models (FFTs stay fp32 where the model says)",
    )
    p.add_argument("--tf32", action="store_true", help="TF32 matmuls and convolutions on CUDA (both models)")
    p.add_argument(
        "--grad-checkpoint",
        default="u_afno",
        help="models whose rollout steps are recomputed in backward (comma-separated, all, none): same "
        "gradients, far less memory (u_afno base keeps ~155 MiB per sample-step: 121 GiB at batch 20 x 40)",
    )
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    if args.preset is None:
        args.preset = "base" if device.type == "cuda" else "small"
    if args.tf32:  # else PyTorch's defaults (TF32 convolutions, fp32 matmuls)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    args.out.mkdir(parents=True, exist_ok=True)
    result: dict = {
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else (platform.processor() or "cpu"),
        "torch": torch.__version__,
        "budget_minutes_per_model": args.minutes,
        "task": {
            "t_in": args.t_in,
            "t_out": args.t_out,
            "n_train": args.n_train,
            "n_test": args.n_test,
            "grid": args.grid,
        },
        "paper_converged_rel_l2": PAPER,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "models": [],
    }
    path = args.out / "fno_paper.json"
    traj, theta_one, result["data"], space = generate(args, device)
    print(f"data: {traj.shape[0]} trajectories in {result['data']['seconds']:.1f} s", flush=True)
    scale = traj[: args.n_train].std().item()  # one scalar: relative L2 is unchanged by it
    traj = traj / scale
    result["data"]["normalisation_scale"] = scale
    a, b = 1, 1 + args.t_in
    data = {
        "space": space,
        "scale": scale,
        "x_train": traj[: args.n_train, a:b].contiguous(),
        "y_train": traj[: args.n_train, b : b + args.t_out].contiguous(),
        "x_test": traj[args.n_train :, a:b].contiguous(),
        "y_test": traj[args.n_train :, b : b + args.t_out].contiguous(),
    }

    def theta_of(batch: int) -> dict:
        """Decoded θ for a batch (constant: the preset fixes every parameter)."""
        out = {}
        for k, v in theta_one.items():
            floating = np.asarray(v).dtype.kind == "f"
            value, dtype = (float(v), torch.float64) if floating else (int(v), torch.int64)
            out[k] = torch.full((batch,), value, device=device, dtype=dtype)
        return out

    data["theta_of"] = theta_of
    persistence = (
        relative_l2(data["x_test"][:, -1:].expand_as(data["y_test"]), data["y_test"], (1, 2, 3)).mean().item()
    )
    result["persistence_test_rel_l2_full"] = persistence
    for name in filter(None, (m.strip() for m in args.models.split(","))):
        print(f"training {name} for {args.minutes:g} min ...", flush=True)
        try:
            entry = train_one(name, data, args, device)
            print(
                f"{name}: test rel L2 {entry['test_rel_l2_full']:.4f} after {entry['optimizer_steps']} steps "
                f"({entry['epochs']} epochs, {entry['parameters'] / 1e6:.2f} M parameters)",
                flush=True,
            )
        except Exception as exc:  # one failing model must not lose the other
            entry = {
                "model": name,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=8),
            }
            print(f"{name}: FAILED {entry['error']}", flush=True)
        result["models"].append(entry)
        path.write_text(json.dumps(result, indent=2))
    try:
        _plot(result, args.out / "fno_paper.png")
    except Exception as exc:
        result["plot_error"] = f"{type(exc).__name__}: {exc}"
    path.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
