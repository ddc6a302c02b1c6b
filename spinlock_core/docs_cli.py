"""Generate ``docs/cli.md`` from the command line itself: ``python -m spinlock_core.docs_cli``.

Every command, argument and option is read from the typer app, so the page cannot drift from
the code (``tests/core/test_docs_cli.py`` fails when it is stale). Commands that installed
plugins add through ``register_commands`` are left out: the page documents spinlock alone.
"""

from __future__ import annotations

import os
import sys

HEADER = """# Command line

Generated from the typer app by `python -m spinlock_core.docs_cli > docs/cli.md`; do not edit
by hand. Plugins can add commands (`register_commands` hook, see [hooks](hooks.md)); `spinlock
--help` lists those installed.

## Overrides

`spinlock run`, `spinlock config show` and `spinlock visualize` take the same overrides as
positional arguments, Hydra's grammar without Hydra (details in [configuration](configuration.md)):

| form | meaning | example |
|---|---|---|
| `group=option` | select an option of a config group; for `domain`, `operator`, `backbone`, `tokenizer` the option is an installed plugin's name | `domain=reaction_diffusion`, `operator=gray_scott`, `scale=production` |
| `a.b.c=value` | set a value, typed by the schema (YAML 1.2 scalars) | `generate.n_samples=64`, `mno.tbptt.window=8`, `run.dir=null` |
| `key=[a,b]` | a list | `features=[initial,summary]`, `pipeline=[generate,features]` |

Later overrides win. A bad key or value exits with code 2 and names the key, the value and what
is valid (`unknown key 'n_sample'; did you mean 'n_samples'? @ generate`). Runtime failures exit
with code 1. `SPINLOCK_DEBUG=1` shows tracebacks; `-v` / `-q` before the command give more or
less output.

Every run directory keeps its resolved `config.yaml`; `spinlock run --from RUN_DIR` re-runs it
and `spinlock config show` prints what a set of overrides resolves to, with every default.

## Locking, force and resume

- **One run per run directory.** `spinlock run` holds an exclusive lock on
  `RUN_DIR/.spinlock/lock` (`flock`) from planning to the report. A second run on the same
  directory exits with code 2 and names the holder (pid, host, start time, command). The lock is
  released on any exit (normal, error, Ctrl-C, SIGTERM, and by the kernel on `kill -9`); a lock
  file left by a run that did not finish cleanly, or still held by a child of a dead run on the
  same host, is taken over with a warning. Under `torchrun` rank 0 holds it for every rank.
  `--dry-run` takes no lock.
- **`run.force=true` re-makes a stage from nothing.** Every artefact and checkpoint of the stage
  (its whole folder: `tokenizer/` with `checkpoint.pt`, `mno/` with `checkpoints/`, `dataset/`,
  `features/`, ...) and its stamp are moved to `RUN_DIR/.spinlock/replaced/<time>/`, so nothing of
  the old run is resumed. When the stage then rejects its new config (exit 2, e.g. backbone
  overrides its preset cannot take), what it began is removed and the old artefacts are put back.
- **Resume only what belongs to this run.** A stage that was interrupted resumes from its
  checkpoint when the same command runs again: generation from its finished chunks, the
  tokenizer (it says `tokenizer: resuming from ... after epoch N of M`) and the MNO (`resuming
  from step_...`). A checkpoint is resumed only when it records the same stage fingerprint (the
  stage's config and its upstream stages') and the same input (tokenizer: a digest of the feature
  table; MNO: a digest of `dataset/manifest.json`). Any other checkpoint is not an error: it is
  moved to `.spinlock/replaced/`, a warning says why, and training starts afresh.
- **`config.yaml`** is written when the run directory is new and after each stage that ran. A
  run that only skipped stages, or that stopped on an error before a stage finished (e.g. an
  interrupted dataset of another config), leaves it as it was, so `--from RUN_DIR` replays the
  config that made the artefacts.
- **Interruptions.** Ctrl-C and SIGTERM print one line saying what was kept and how to resume,
  then exit 130 / 143. Generation keeps every finished chunk (`generate.chunk_size: null` makes
  about eight per rank); the MNO saves a resumable checkpoint at least every
  `mno.checkpoint_minutes` (5) of wall time.

## Bad input, divergence and the disk

- **Values.** Every numeric config field is checked for finiteness and range, free-form maps
  against what their owner accepts, sizes against bounds before anything is allocated, and run
  names stay inside `runs/`. A bad value exits 2 naming the key, the value and what is valid.
- **Files.** Every reader of a dataset, feature table, token file, checkpoint or JSON sidecar
  checks what it opens; a file that is not what it should be (not HDF5, a foreign HDF5 file, a
  truncated shard, garbage JSON) exits 2 naming the file, what was expected and what was found.
  A report of an incomplete run says so in its dataset section.
- **Divergence.** A sample whose state turns non-finite or exceeds `generate.divergence_bound` is
  stored with status `diverged` (and NaN rows in the families that read its trajectory); the
  other samples of its batch are stored exactly as in a run without it. No operator or feature
  family lets one sample fail a batch.
- **Disk.** Before the first sample, `generate` prints the bytes it will write and the free
  space, and exits 2 having written nothing when the disk cannot hold them (the message names
  `generate.n_samples`, `generate.store_trajectories`, `generate.stored_realizations`,
  `generate.trajectory_stride` and `run.dir`). Room and the file-size limit are checked again before each batch is written; a
  write that cannot fit, or a read-only directory, ends with one line naming the file and the
  fix (exit 1), removes its temporary file and keeps every complete part, from which the same
  command resumes.

## Commands
"""


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _param_rows(command, ctx) -> list[str]:
    """``| names | help |`` rows from each parameter's own help record (as ``--help`` shows it)."""
    rows = []
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False) or param.name == "help":
            continue
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, text = record
        names = ", ".join(f"`{n.strip()}`" for n in names.split(",")).replace("|", "\\|")
        rows.append(f"| {names} | {_cell(text)} |")
    return rows


def _walk(command, path: list[str], parent=None):
    """``(full name, command, context)`` of every leaf command, in registration order.

    Duck-typed (``list_commands``, ``context_class``): typer ships its own copy of Click.
    """
    ctx = command.context_class(command, info_name=path[-1], parent=parent)
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), [*path, name], ctx)
    else:
        yield " ".join(path), command, ctx


def render() -> str:
    """The page, from the app built with no hook plugins loaded."""
    import typer

    from .cli import build_app
    from .plugins import reset_plugin_manager

    saved = os.environ.get("SPINLOCK_PLUGINS")
    os.environ["SPINLOCK_PLUGINS"] = ""
    reset_plugin_manager()
    try:
        root = typer.main.get_command(build_app())
    finally:
        if saved is None:
            os.environ.pop("SPINLOCK_PLUGINS")
        else:
            os.environ["SPINLOCK_PLUGINS"] = saved
        reset_plugin_manager()
    parts = [HEADER]
    root_ctx = root.context_class(root, info_name="spinlock")
    parts.append("| option | what it does |\n|---|---|")
    parts.append("\n".join(_param_rows(root, root_ctx)) + "\n")
    parts.append("Options of `spinlock` itself go before the command: `spinlock -v run ...`.\n")
    for name, command, ctx in _walk(root, ["spinlock"]):
        if command is root:
            continue
        usage = " ".join(command.collect_usage_pieces(ctx))
        doc = (command.help or "").strip()
        parts.append(f"### `{name}`\n\n```\n{name} {usage}\n```\n\n{' '.join(doc.split())}\n")
        rows = _param_rows(command, ctx)
        if rows:
            parts.append("| argument / option | what it is |\n|---|---|\n" + "\n".join(rows) + "\n")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
