"""The public API: everything a plugin or a domain may import from the core, in one place.

Plugins (``plugins/``, ``domains/`` and third-party packages) import from this module only::

    from spinlock_core.api import ConfigError, ContinuousParam, ParameterSpace, generator_for

Every other ``spinlock_core`` module is internal and may change without notice; an
import-linter contract (``pyproject.toml``) keeps the shipped plugins to this module. The
names are resolved lazily (:pep:`562`), so a plugin's light ``specs.py`` can import from here
without pulling in numpy, h5py or torch. ``docs/api.md`` lists every name with one line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> ``"module"`` (same name there) or ``"module:attribute"``.
_EXPORTS: dict[str, str] = {
    # interfaces of the plugin kinds
    "Grid": "spinlock_core.interfaces",
    "DomainInfo": "spinlock_core.interfaces",
    "Domain": "spinlock_core.interfaces",
    "Operator": "spinlock_core.interfaces",
    "Stepper": "spinlock_core.interfaces",
    "ICGenerator": "spinlock_core.interfaces",
    "ICSampler": "spinlock_core.interfaces",
    "Column": "spinlock_core.interfaces",
    "FeatureBatch": "spinlock_core.interfaces",
    "FeatureFamily": "spinlock_core.interfaces",
    "Loss": "spinlock_core.interfaces",
    "LossContext": "spinlock_core.interfaces",
    "LossSetup": "spinlock_core.interfaces",
    "Score": "spinlock_core.interfaces",
    "AnalysisResult": "spinlock_core.interfaces",
    "Analysis": "spinlock_core.interfaces",
    "Tokenizer": "spinlock_core.interfaces",
    "CodebookLayout": "spinlock_core.interfaces",
    "CodebookTokenizer": "spinlock_core.interfaces",
    "Backbone": "spinlock_core.interfaces",
    "Stage": "spinlock_core.interfaces",
    "load_tokenizer": "spinlock_core.tokenizers",
    # entry-point targets and hooks
    "ComponentSpec": "spinlock_core.specs",
    "StageSpec": "spinlock_core.specs",
    "PluginSections": "spinlock_core.specs",
    "hookimpl": "spinlock_core.hookspecs",
    "load_plugin": "spinlock_core.registry:load",
    "available_plugins": "spinlock_core.registry:available",
    # parameter spaces
    "IntegerParam": "spinlock_core.params",
    "ContinuousParam": "spinlock_core.params",
    "CategoricalParam": "spinlock_core.params",
    "BooleanParam": "spinlock_core.params",
    "ParameterSpec": "spinlock_core.params",
    "ParameterSpace": "spinlock_core.params",
    # seeding
    "sample_seed": "spinlock_core.seeding",
    "generator_for": "spinlock_core.seeding",
    "sample_keys": "spinlock_core.seeding",
    "counter_uniform": "spinlock_core.seeding",
    "counter_normal": "spinlock_core.seeding",
    # errors
    "SpinlockError": "spinlock_core.errors",
    "ConfigError": "spinlock_core.errors",
    "PluginError": "spinlock_core.errors",
    "StageError": "spinlock_core.errors",
    "DatasetError": "spinlock_core.errors",
    "CheckpointError": "spinlock_core.errors",
    "StorageError": "spinlock_core.errors",
    "ArtefactError": "spinlock_core.artefacts",
    # configuration
    "checks": "spinlock_core.config.checks:",
    "FieldError": "spinlock_core.config.checks",
    "ExtendedFloat": "spinlock_core.config.checks",
    "above": "spinlock_core.config.checks",
    "optional": "spinlock_core.config.checks",
    "structure": "spinlock_core.config.converter",
    "unstructure": "spinlock_core.config.converter",
    "load_yaml": "spinlock_core.config._yaml",
    "dump_yaml": "spinlock_core.config._yaml",
    "compose": "spinlock_core.config.compose",
    "config_from_file": "spinlock_core.config.compose",
    "ResolvedConfig": "spinlock_core.config.compose",
    # artefacts: datasets, feature tables, checkpoints, JSON
    "Dataset": "spinlock_core.storage",
    "open_features": "spinlock_core.stages.features",
    "feature_table": "spinlock_core.stages.tokenizer",
    "open_h5": "spinlock_core.artefacts",
    "read_json": "spinlock_core.artefacts",
    "reading": "spinlock_core.artefacts",
    "save_checkpoint": "spinlock_core.checkpoint",
    "load_checkpoint": "spinlock_core.checkpoint",
    "read_metadata": "spinlock_core.checkpoint",
    "write_captions": "spinlock_core.captions",
    # running operators
    "rollout": "spinlock_core.rollout",
    "RolloutResult": "spinlock_core.rollout",
    "one_thread_if_small": "spinlock_core.threads",
    "SMALL_WORK": "spinlock_core.threads",
    # rolling a backbone out (the one truncated-BPTT loop)
    "TBPTT_MODES": "spinlock_core.mno.loop:MODES",
    "tbptt_windows": "spinlock_core.mno.loop",
    "initial_state": "spinlock_core.mno.loop",
    "rollout_windows": "spinlock_core.mno.loop",
    # console output
    "info": "spinlock_core.console",
    "detail": "spinlock_core.console",
    "warn": "spinlock_core.console",
    "progress": "spinlock_core.console",
}

__all__ = [
    "SMALL_WORK",
    "TBPTT_MODES",
    "Analysis",
    "AnalysisResult",
    "ArtefactError",
    "Backbone",
    "BooleanParam",
    "CategoricalParam",
    "CheckpointError",
    "CodebookLayout",
    "CodebookTokenizer",
    "Column",
    "ComponentSpec",
    "ConfigError",
    "ContinuousParam",
    "Dataset",
    "DatasetError",
    "Domain",
    "DomainInfo",
    "ExtendedFloat",
    "FeatureBatch",
    "FeatureFamily",
    "FieldError",
    "Grid",
    "ICGenerator",
    "ICSampler",
    "IntegerParam",
    "Loss",
    "LossContext",
    "LossSetup",
    "Operator",
    "ParameterSpace",
    "ParameterSpec",
    "PluginError",
    "PluginSections",
    "ResolvedConfig",
    "RolloutResult",
    "Score",
    "SpinlockError",
    "Stage",
    "StageError",
    "StageSpec",
    "Stepper",
    "StorageError",
    "Tokenizer",
    "above",
    "available_plugins",
    "checks",
    "compose",
    "config_from_file",
    "counter_normal",
    "counter_uniform",
    "detail",
    "dump_yaml",
    "feature_table",
    "generator_for",
    "hookimpl",
    "info",
    "initial_state",
    "load_checkpoint",
    "load_plugin",
    "load_tokenizer",
    "load_yaml",
    "one_thread_if_small",
    "open_features",
    "open_h5",
    "optional",
    "progress",
    "read_json",
    "read_metadata",
    "reading",
    "rollout",
    "rollout_windows",
    "sample_keys",
    "sample_seed",
    "save_checkpoint",
    "structure",
    "tbptt_windows",
    "unstructure",
    "warn",
    "write_captions",
]


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}; see docs/api.md")
    module_name, sep, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    value = module if sep and not attribute else getattr(module, attribute or name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # for type checkers and API reference tools; at run time names load lazily
    from .artefacts import ArtefactError, open_h5, read_json, reading
    from .captions import write_captions
    from .checkpoint import load_checkpoint, read_metadata, save_checkpoint
    from .config import checks
    from .config._yaml import dump_yaml, load_yaml
    from .config.checks import ExtendedFloat, FieldError, above, optional
    from .config.compose import ResolvedConfig, compose, config_from_file
    from .config.converter import structure, unstructure
    from .console import detail, info, progress, warn
    from .errors import (
        CheckpointError,
        ConfigError,
        DatasetError,
        PluginError,
        SpinlockError,
        StageError,
        StorageError,
    )
    from .hookspecs import hookimpl
    from .interfaces import (
        Analysis,
        AnalysisResult,
        Backbone,
        CodebookLayout,
        CodebookTokenizer,
        Column,
        Domain,
        DomainInfo,
        FeatureBatch,
        FeatureFamily,
        Grid,
        ICGenerator,
        ICSampler,
        Loss,
        LossContext,
        LossSetup,
        Operator,
        Score,
        Stage,
        Stepper,
        Tokenizer,
    )
    from .mno.loop import MODES as TBPTT_MODES
    from .mno.loop import initial_state, rollout_windows, tbptt_windows
    from .params import (
        BooleanParam,
        CategoricalParam,
        ContinuousParam,
        IntegerParam,
        ParameterSpace,
        ParameterSpec,
    )
    from .registry import available as available_plugins
    from .registry import load as load_plugin
    from .rollout import RolloutResult, rollout
    from .seeding import counter_normal, counter_uniform, generator_for, sample_keys, sample_seed
    from .specs import ComponentSpec, PluginSections, StageSpec
    from .stages.features import open_features
    from .stages.tokenizer import feature_table
    from .storage import Dataset
    from .threads import SMALL_WORK, one_thread_if_small
    from .tokenizers import load_tokenizer
