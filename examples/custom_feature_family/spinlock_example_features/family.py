"""The ``gradient_energy`` family: per sample, pure, batched, any channel count."""

from __future__ import annotations

import torch

from spinlock_core.interfaces import Column, FeatureFamily


class GradientEnergy(FeatureFamily):
    name = "gradient_energy"
    scope = "sample"
    needs_trajectories = True

    def __init__(self, config=None):
        from . import GradientEnergyConfig

        self.config = config or GradientEnergyConfig()

    def columns(self, domain):
        unit = "(field unit / domain unit)^2"
        return [
            Column(name="initial_energy", unit=unit, aggregate="mean", doc="mean |grad u|^2 of the IC"),
            Column(
                name="final_energy", unit=unit, aggregate="mean", doc="mean |grad u|^2 over the last states"
            ),
            Column(name="log_growth", unit="1", aggregate="mean", doc="log(final / initial energy)"),
        ]

    def extract(self, batch):
        u = batch.trajectories  # [B, M, T, C, H, W]
        dy, dx = batch.domain.grid.spacing
        gy = (torch.roll(u, -1, -2) - torch.roll(u, 1, -2)) / (2 * dy)
        gx = (torch.roll(u, -1, -1) - torch.roll(u, 1, -1)) / (2 * dx)
        energy = (gy.square() + gx.square()).mean(dim=(-3, -2, -1))  # [B, M, T]
        last = max(1, int(round(self.config.final_fraction * energy.shape[-1])))
        initial, final = energy[..., 0], energy[..., -last:].mean(-1)
        growth = torch.log(final / initial)  # NaN/inf where undefined, never zeroed
        growth = torch.where(torch.isfinite(growth), growth, torch.full_like(growth, float("nan")))
        return torch.stack([initial, final, growth], dim=-1).mean(dim=1)  # mean over realizations
