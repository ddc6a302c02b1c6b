"""spinlock's ``u_afno`` backbone: a θ-conditioned U-Net with an AFNO bottleneck (the MNO).

Public API::

    UAFNOConfig, preset, PRESETS          # configuration and named sizes
    UAFNO, build_u_afno                   # the one-step model
    ThetaEmbedding, ThetaEncoder          # θ -> conditioning vector
    AFNO2D, AFNOBlock, kept_mode_mask     # the spectral mixer and its mode set
    effective_parameter_count, parameter_report
    tbptt_windows, rollout_loss_windows, rollout, WindowLoss
    FNOConfig, FNOBaseline                # neuraloperator baseline (optional extra)
"""

from .conditioning import ThetaEmbedding, ThetaEncoder
from .config import UAFNOConfig
from .fno import FNOBaseline, FNOConfig, MissingExtraError
from .layers import AFNO2D, AFNOBlock, kept_mode_indices, kept_mode_mask
from .model import UAFNO, ParameterReport, build_u_afno, effective_parameter_count, parameter_report
from .presets import PRESETS, preset
from .rollout import WindowLoss, rollout, rollout_loss_windows, tbptt_windows

__all__ = [
    "AFNO2D",
    "AFNOBlock",
    "FNOBaseline",
    "FNOConfig",
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
    "kept_mode_indices",
    "kept_mode_mask",
    "parameter_report",
    "preset",
    "rollout",
    "rollout_loss_windows",
    "tbptt_windows",
]
