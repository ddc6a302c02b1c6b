"""One error hierarchy for spinlock.

Every message says what failed, where, what is valid and how to fix it. The CLI maps the
kinds to exit codes through one table (:data:`EXIT_CODES`): usage and configuration errors
exit 2, runtime failures exit 1.
"""

from __future__ import annotations

__all__ = [
    "SpinlockError",
    "ConfigError",
    "PluginError",
    "UnknownPluginError",
    "DuplicatePluginError",
    "StageError",
    "DatasetError",
    "CheckpointError",
    "StorageError",
    "exit_code_for",
]


class SpinlockError(Exception):
    """Base class of every error spinlock raises on purpose."""


class ConfigError(SpinlockError):
    """A configuration value, key or override is invalid."""


class PluginError(SpinlockError):
    """A plugin could not be loaded or used."""


class UnknownPluginError(PluginError):
    """A name was asked for that no installed plugin of that kind provides."""


class DuplicatePluginError(PluginError):
    """Two distributions register the same name in one kind."""


class StageError(SpinlockError):
    """A stage cannot run: a prerequisite is missing or artefacts disagree with the config."""


class DatasetError(SpinlockError):
    """A dataset is missing, malformed or of an unsupported schema version."""


class CheckpointError(SpinlockError):
    """A checkpoint is missing, malformed or of an incompatible version."""


class StorageError(SpinlockError):
    """A write failed for lack of room or permission (the message names the file and the fix)."""


#: Usage and configuration problems exit 2, everything else 1.
EXIT_CODES: dict[type[SpinlockError], int] = {
    ConfigError: 2,
    UnknownPluginError: 2,
    DuplicatePluginError: 2,
    StageError: 2,
    PluginError: 1,
    DatasetError: 1,
    CheckpointError: 1,
    StorageError: 1,
    SpinlockError: 1,
}


def exit_code_for(error: BaseException) -> int:
    """Exit code for ``error``: the most specific entry of :data:`EXIT_CODES`."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1
