"""Synthetic domains, batches and fields for the feature tests."""

from __future__ import annotations

import math

import numpy as np
import torch

from spinlock_core.interfaces import DomainInfo, FeatureBatch, Grid
from spinlock_core.params import BooleanParam, CategoricalParam, ContinuousParam, IntegerParam, ParameterSpace

SPACE = ParameterSpace(
    [
        ContinuousParam(name="diffusion", low=1e-3, high=1e-1, log=True),
        ContinuousParam(name="rate", low=0.0, high=2.0),
        IntegerParam(name="layers", low=1, high=6),
        CategoricalParam(name="activation", choices=("relu", "gelu", "tanh")),
        BooleanParam(name="residual"),
    ]
)


def make_domain(
    channels=("u", "v", "w"), shape=(16, 16), extent=((0.0, 1.0), (0.0, 1.0)), dt=0.1, periodic=True
):
    return DomainInfo(
        name="synthetic",
        channels=channels,
        grid=Grid(shape=shape, extent=extent, periodic=periodic),
        dt=dt,
        parameter_space=SPACE,
    )


def make_batch(domain, traj=None, u0=None, theta=None, time=None, derived=None):
    """A FeatureBatch from trajectories ``[B, M, T, C, H, W]`` (u0 = state 0 of realization 0)."""
    if u0 is None:
        u0 = traj[:, 0, 0]
    b = u0.shape[0]
    if theta is None:
        rng = np.random.default_rng(0)
        theta = SPACE.decode(rng.random((b, SPACE.dim)))
    if time is None and traj is not None:
        time = np.arange(traj.shape[2]) * domain.dt
    return FeatureBatch(
        domain=domain, theta=theta, u0=u0, trajectories=traj, time=time, derived=derived or {}
    )


def smooth_field(gen, shape, length, channels=1):
    """Periodic random field with a Gaussian spectrum of correlation length ``length`` (unit box)."""
    h, w = shape
    ky = torch.fft.fftfreq(h, d=1 / h).view(-1, 1) * 2 * math.pi
    kx = torch.fft.rfftfreq(w, d=1 / w).view(1, -1) * 2 * math.pi
    amp = torch.exp(-0.25 * (ky**2 + kx**2) * length**2)
    noise = torch.randn(channels, h, w, generator=gen, dtype=torch.float64)
    f = torch.fft.irfft2(torch.fft.rfft2(noise) * amp, s=shape)
    f = f - f.mean((-2, -1), keepdim=True)
    return (f / f.square().mean((-2, -1), keepdim=True).sqrt()).float()


def varied_dataset(n=8, m=2, t=12, channels=3, shape=(16, 16), seed=0):
    """Trajectories with varied amplitude, length scale, growth, oscillation, bursts and noise."""
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    out = torch.zeros(n, m, t, channels, *shape)
    times = torch.arange(t).float() * 0.1
    for i in range(n):
        base = smooth_field(gen, shape, rng.uniform(0.05, 0.3), channels)
        mix = torch.eye(channels) + rng.uniform(-0.8, 0.8) * torch.rand(channels, channels, generator=gen)
        base = torch.einsum("cd,dhw->chw", mix, base)
        second = smooth_field(gen, shape, rng.uniform(0.05, 0.3), channels)
        amp, growth = rng.uniform(0.5, 3.0), rng.uniform(-2.0, 2.0)
        freq, offset = rng.uniform(0.5, 4.0), rng.uniform(-1.0, 1.0)
        envelope = amp * torch.exp(growth * times)
        osc = torch.sin(2 * math.pi * freq * times + rng.uniform(0, 6))
        clean = envelope.view(-1, 1, 1, 1) * (base + rng.uniform(0.2, 1.0) * osc.view(-1, 1, 1, 1) * second)
        clean = clean + offset * torch.rand(channels, 1, 1, generator=gen)
        for j in range(m):
            noise = rng.uniform(0.01, 0.3) * torch.randn(t, channels, *shape, generator=gen).cumsum(0)
            kick = torch.zeros(t, 1, 1, 1)
            k = int(rng.integers(1, max(t - 1, 2)))
            size = float(envelope.abs().max()) * rng.uniform(1.0, 3.0) * (rng.random() < 0.6)
            kick[k:] = size
            kick[k + 1 :] += size * (rng.random() < 0.5)  # sometimes a burst of two jumps
            out[i, j] = clean + noise + kick * second
    return out
