"""spinlock's ``u_afno`` backbone: a θ-conditioned U-Net with an AFNO bottleneck (the MNO).

Public API::

    UAFNOConfig, preset, PRESETS          # configuration and named sizes
    FNOConfig, fno_preset, FNO_PRESETS    # the fno baseline's configuration and sizes
    UAFNO, build_u_afno                   # the one-step model
    ThetaEmbedding, ThetaEncoder          # θ -> conditioning vector
    AFNO2D, AFNOBlock, kept_mode_mask     # the spectral mixer and its mode set
    effective_parameter_count, parameter_report, real_numel
    tbptt_windows, rollout_loss_windows, rollout, WindowLoss
    FNOBaseline                           # neuraloperator baseline (optional extra)
"""

import importlib

from .config import FNOConfig, UAFNOConfig

_WHERE = {
    "ThetaEmbedding": "conditioning",
    "ThetaEncoder": "conditioning",
    "FNOBaseline": "fno",
    "MissingExtraError": "fno",
    "AFNO2D": "layers",
    "AFNOBlock": "layers",
    "kept_mode_indices": "layers",
    "kept_mode_mask": "layers",
    "UAFNO": "model",
    "ParameterReport": "model",
    "build_u_afno": "model",
    "effective_parameter_count": "model",
    "parameter_report": "model",
    "real_numel": "model",
    "FNO_PRESETS": "presets",
    "PRESETS": "presets",
    "fno_preset": "presets",
    "preset": "presets",
    "WindowLoss": "tbptt",
    "rollout": "tbptt",
    "rollout_loss_windows": "tbptt",
    "tbptt_windows": "tbptt",
}


def __getattr__(name: str):
    """Import on first use: listing plugins must not import torch."""
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AFNO2D",
    "AFNOBlock",
    "FNOBaseline",
    "FNOConfig",
    "FNO_PRESETS",
    "MissingExtraError",
    "PRESETS",
    "ParameterReport",
    "ThetaEmbedding",
    "ThetaEncoder",
    "UAFNO",
    "UAFNOConfig",
    "WindowLoss",
    "build_u_afno",
    "effective_parameter_count",
    "fno_preset",
    "kept_mode_indices",
    "kept_mode_mask",
    "parameter_report",
    "preset",
    "real_numel",
    "rollout",
    "rollout_loss_windows",
    "tbptt_windows",
]
