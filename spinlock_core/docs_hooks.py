"""Generate ``docs/hooks.md`` from the hook specifications: ``python -m spinlock_core.docs_hooks``."""

from __future__ import annotations

import inspect
import sys

from . import hookspecs

HEADER = """# Hooks

Generated from `spinlock_core/hookspecs.py` by `python -m spinlock_core.docs_hooks > docs/hooks.md`;
do not edit by hand. A hook plugin is a module registered in the `spinlock.plugins` entry-point
group whose functions are decorated with `spinlock_core.hookspecs.hookimpl`:

```toml
[project.entry-points."spinlock.plugins"]
my_plugin = "my_package.hooks"
```

```python
from spinlock_core.hookspecs import hookimpl


@hookimpl
def on_stage_end(stage, context, seconds):
    print(f"{stage} took {seconds:.1f} s")
```

Hooks are called with keyword arguments; an implementation may accept any subset of them.
`SPINLOCK_PLUGINS=a,b` loads only the named hook plugins; `SPINLOCK_TRACE_HOOKS=1` prints every call.
"""


def render() -> str:
    parts = [HEADER]
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if not hasattr(fn, "spinlock_spec"):
            continue
        opts = fn.spinlock_spec
        flag = " (first result wins)" if opts.get("firstresult") else ""
        doc = inspect.cleandoc(fn.__doc__ or "")
        parts.append(f"## `{name}{inspect.signature(fn)}`{flag}\n\n{doc}\n")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
