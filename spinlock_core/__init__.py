"""spinlock core: interfaces, registries, hooks, config, sampling, storage, stages and CLI.

The core never imports a plugin or a domain; shipped plugins are found through the same
entry points as third-party ones.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spinlock")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
