"""The stage runner: like ``make`` for a run directory.

Stages (``spinlock.stages`` entry points) declare the stages they need and the artefacts
they make. Running a stage first makes any prerequisite whose artefacts are missing. A stage
whose artefacts exist and were made from the same config (its ``config_keys`` plus its
prerequisites' configs) is skipped. Artefacts made from a different config are never reused
silently: that is an error naming the differing keys unless ``run.force=true``, which moves
the old artefacts aside (``.spinlock/replaced/<time>/``: the stage's whole output folders,
checkpoints included, so nothing of the old run is resumed) and makes them anew; a stage that
rejects its new config gets its old artefacts back. A stage may declare that some changes of
its config update its artefacts in place (``StageSpec.updates_when``: ``features`` adding a
family keeps the tables it has and extracts the new one): such a change, with its prerequisites
unchanged, is planned as ``update`` and run without ``run.force`` and without moving anything
aside; the stages reading it are then stale as for any change. ``run.only=true`` runs just the
named stage and refuses when a prerequisite's artefacts are missing.

A stamp is compared with the stage's current ``config_keys`` only: a key a stamp holds that
the stage no longer reads (a stamp written by an older version) is ignored, and a stage whose
prerequisite is current under that rule reads the artefacts its stamp names, so it is current
too.

A run holds the run directory's lock (:mod:`spinlock_core.runlock`) from planning to the end.
``config.yaml`` is written when the run directory is new and after each stage that ran, never
by a run that only skipped stages or before a stage has accepted the config.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from . import registry
from .config import ResolvedConfig
from .console import info, pipeline_display, warn
from .distributed import barrier, is_rank0
from .errors import ConfigError, PluginError, StageError
from .specs import StageSpec

__all__ = ["StageContext", "Runner", "run_dir_for", "move_to_replaced", "STATE_DIR"]

STATE_DIR = ".spinlock"


def run_dir_for(config: ResolvedConfig) -> Path:
    """``run.dir`` if set, else ``runs/<domain>/<run.name>``."""
    if config.core.run.dir:
        return Path(config.core.run.dir)
    domain = config.get("domain.name", "nodomain")
    return Path("runs") / str(domain) / config.core.run.name


@attrs.define
class StageContext:
    """What a stage implementation receives: the config, the run directory and helpers."""

    config: ResolvedConfig
    run_dir: Path
    stage: str
    fingerprint: str = ""
    _device: Any = None
    action: str = "run"
    """``run``, ``rerun`` (old artefacts moved aside) or ``update`` (the artefacts are there,
    made with ``previous``: keep what the new config keeps)."""
    previous: dict[str, Any] | None = None
    """For an ``update``: the stage's config its artefacts were made with (``{key: value}``)."""

    @property
    def device(self):
        if self._device is None:
            from .device import select_device

            self._device = select_device(self.config.core.device)
        return self._device

    def path(self, relative: str) -> Path:
        return self.run_dir / relative

    def section(self, name: str) -> Any:
        return self.config.section(name)


def _short(value: Any, width: int = 24) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _jsonable(value: Any) -> Any:
    """``value`` as its stamp holds it (JSON, non-JSON values as strings)."""
    return json.loads(json.dumps(value, default=str))


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


class Runner:
    """Plans and runs stages for one resolved config."""

    def __init__(self, config: ResolvedConfig, run_dir: Path | None = None):
        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else run_dir_for(config)
        self._specs: dict[str, StageSpec] = {}
        self._fingerprints: dict[str, str] = {}

    # --- stage graph ------------------------------------------------------------------

    def spec(self, name: str) -> StageSpec:
        if name not in self._specs:
            self._specs[name] = registry.load("stages", name)
        return self._specs[name]

    def requires(self, name: str) -> tuple[str, ...]:
        """The stages ``name`` reads under this config: its spec's, and those its config adds."""
        return self.spec(name).requires_under(self.config)

    def order(self, targets: list[str]) -> list[str]:
        """Targets and their prerequisites, prerequisites first; cycles are errors."""
        ordered: list[str] = []
        visiting: list[str] = []

        def visit(name: str) -> None:
            if name in ordered:
                return
            if name in visiting:
                cycle = " -> ".join([*visiting[visiting.index(name) :], name])
                raise StageError(f"stage dependency cycle: {cycle}")
            visiting.append(name)
            for req in self.requires(name):
                visit(req)
            visiting.pop()
            ordered.append(name)

        for target in targets:
            visit(target)
        return ordered

    def targets(self) -> list[str]:
        stage = self.config.core.stage
        return list(self.config.core.pipeline) if stage == "all" else [stage]

    # --- artefact state ---------------------------------------------------------------

    def _stamp_path(self, name: str) -> Path:
        return self.run_dir / STATE_DIR / "stages" / f"{name}.json"

    def stage_config(self, name: str) -> dict[str, Any]:
        return self.config.subset(self.spec(name).config_keys)

    def fingerprint(self, name: str) -> str:
        if name not in self._fingerprints:
            payload = {
                "config": self.stage_config(name),
                "upstream": {req: self.fingerprint(req) for req in self.requires(name)},
            }
            blob = json.dumps(payload, sort_keys=True, default=str).encode()
            self._fingerprints[name] = hashlib.sha256(blob).hexdigest()[:16]
        return self._fingerprints[name]

    def stamp(self, name: str) -> dict | None:
        path = self._stamp_path(name)
        return json.loads(path.read_text()) if path.is_file() else None

    def missing_outputs(self, name: str) -> list[str]:
        return [o for o in self.spec(name).outputs if not (self.run_dir / o).exists()]

    def stamped_config(self, name: str) -> dict[str, Any]:
        """The config the stamp of ``name`` records, for the keys the stage reads now (a key of
        an older version's stamp that is no longer in ``config_keys`` is not its identity)."""
        recorded = (self.stamp(name) or {}).get("config") or {}
        return {k: v for k, v in recorded.items() if k in self.spec(name).config_keys}

    def state(self, name: str) -> str:
        """``missing``, ``current``, ``update`` (made with a config the stage updates in place
        to this one: :meth:`StageSpec.updates_in_place`) or ``stale``."""
        stamp = self.stamp(name)
        if stamp is None or self.missing_outputs(name):
            return "missing"
        if stamp.get("fingerprint") == self.fingerprint(name):
            return "current"
        config_keys, upstream = self._changes(name)
        if not config_keys and not upstream:
            return "current"  # equal for the keys the stage reads now
        if not upstream and self.spec(name).updates_in_place(
            self.stamped_config(name), _jsonable(self.stage_config(name))
        ):
            return "update"
        return "stale"

    def differences(self, name: str) -> list[str]:
        """Dotted config keys (and upstream stages) that differ from the stamped artefacts."""
        config_keys, upstream = self._changes(name)
        return config_keys + upstream

    def _changes(self, name: str) -> tuple[list[str], list[str]]:
        """(differing dotted config keys, ``(stage X)`` per prerequisite changed since the stamp).

        A prerequisite is unchanged when the stamp names its current fingerprint, or when it is
        current and its own stamp is the one this stamp names (the same artefacts, stamped by an
        older version under another fingerprint). One this stage did not read then is a change.
        """
        stamp = self.stamp(name) or {}
        old = _flatten(self.stamped_config(name))
        new = _flatten(_jsonable(self.stage_config(name)))
        keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        upstream = []
        for req in self.requires(name):
            read = (stamp.get("upstream") or {}).get(req)
            same_artefacts = read is not None and read == (self.stamp(req) or {}).get("fingerprint")
            if read == self.fingerprint(req) or (same_artefacts and self.state(req) == "current"):
                continue
            upstream.append(f"(stage {req})")
        return keys, upstream

    def summarise_differences(self, name: str, shown: int = 4) -> str:
        """``differs in: a.b (old -> new), ... and N more``: the first few keys with their values."""
        old = _flatten(self.stamped_config(name))
        new = _flatten(_jsonable(self.stage_config(name)))
        keys = self.differences(name)
        if not keys:
            return "differs in: (unknown)"

        def show(k: str) -> str:
            if k.startswith("(stage"):
                return f"{k[1:-1]} was re-made"
            a, b = old.get(k), new.get(k)
            if isinstance(a, list) and isinstance(b, list):  # say what was added and removed
                added = [x for x in b if x not in a]
                removed = [x for x in a if x not in b]
                change = [f"+{x}" for x in added] + [f"-{x}" for x in removed]
                return f"{k}: {' '.join(change) if change else 'reordered'}"
            return f"{k}: {_short(old.get(k, '(unset)'))} -> {_short(new.get(k, '(unset)'))}"

        text = "differs in " + "; ".join(show(k) for k in keys[:shown])
        return text + (f"; and {len(keys) - shown} more keys" if len(keys) > shown else "")

    def suggested_name(self, name: str) -> str:
        """A run name for this config that does not clash: the current name and a config digest."""
        base = self.config.core.run.name
        return f"{base}-{self.fingerprint(name)[:6]}"

    # --- planning and running ---------------------------------------------------------

    def plan(self) -> list[tuple[str, str]]:
        """``[(stage, action)]`` with action ``run``, ``rerun`` (forced), ``update`` (in place)
        or ``skip``."""
        targets = self.targets()
        only = self.config.core.run.only
        names = targets if only else self.order(targets)
        plan = []
        for name in names:
            if only:
                self._check_prerequisites(name)
            state = self.state(name)
            if state == "current":
                plan.append((name, "skip"))
            elif state == "missing":
                plan.append((name, "run"))
            elif state == "update":  # run.force or not: nothing is lost by updating
                plan.append((name, "update"))
            elif self.config.core.run.force:
                plan.append((name, "rerun"))
            else:
                raise StageError(
                    f"artefacts of stage {name!r} in {self.run_dir} were made with a different config "
                    f"({self.summarise_differences(name)}). To keep both, add "
                    f"run.name={self.suggested_name(name)}; to re-make them here, pass run.force=true "
                    f"(the old ones are moved to {STATE_DIR}/replaced/)."
                )
        self._check_requirements(plan)
        return plan

    def _check_requirements(self, plan: list[tuple[str, str]]) -> None:
        """Refuse, before any stage runs, a plugin that a stage about to run selects (the
        ``name`` of a config group among its ``config_keys``, or a name its ``plugin_sections``
        enable) while an optional module it declares (``extras["requires"]``) is not installed."""
        from .config.compose import SELECTABLE, _enabled_names

        for name, action in plan:
            if action == "skip":
                continue
            spec = self.spec(name)
            chosen = [
                (kind, self.config.get(f"{group}.name"), group)
                for group, kind in SELECTABLE.items()
                if any(k == group or k.startswith(group + ".") for k in spec.config_keys)
            ]
            for decl in spec.plugin_sections:
                chosen += [
                    (decl.kind, n, decl.label) for n in _enabled_names(self.config.get(decl.enabled_by))
                ]
            for kind, plugin, what in chosen:
                missing = registry.missing_requirements(registry.load(kind, str(plugin))) if plugin else {}
                if missing:
                    need = "; ".join(
                        f"{module} (install it with `{hint}`)" for module, hint in missing.items()
                    )
                    raise ConfigError(
                        f"stage {name!r} would use {registry.namespace(kind)}:{plugin}, which needs {need}, "
                        f"not installed here; install it, or choose another {what}."
                    )

    def _check_prerequisites(self, name: str) -> None:
        for req in self.requires(name):
            state = self.state(req)
            if state != "current":
                what = "missing" if state == "missing" else "made with a different config"
                raise StageError(
                    f"stage {name!r} needs the artefacts of stage {req!r}, which are {what} in "
                    f"{self.run_dir}; run `spinlock run stage={req}` first, or drop run.only=true"
                )

    def run(self) -> list[tuple[str, str, float]]:
        """Run the plan under the run directory's lock; returns ``[(stage, action, seconds)]``."""
        from .runlock import run_lock

        with run_lock(self.run_dir):
            return self._run_plan()

    def _run_plan(self) -> list[tuple[str, str, float]]:
        from .plugins import get_plugin_manager

        plan = self.plan()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not (self.run_dir / "config.yaml").exists():
            self._write_config()  # a new run directory: recorded up front, so `--from` can resume it
        hook = get_plugin_manager().hook
        done = []
        to_run = [name for name, action in plan if action != "skip"]
        with pipeline_display(to_run) as enter:
            for name, action in plan:
                if action == "skip":
                    info(f"[dim]• {name}: up to date, skipped[/dim]")
                    done.append((name, "skip", 0.0))
                    continue
                position = to_run.index(name)
                enter(position)
                numbered = f"[{position + 1}/{len(to_run)}] {name}" if len(to_run) > 1 else name
                done.append(self._run_stage(name, action, numbered, hook))
                self._write_config()  # only once a stage made artefacts with this config
        return done

    def _write_config(self) -> None:
        if is_rank0():
            path = self.run_dir / "config.yaml"
            tmp = path.with_name(".config.yaml.tmp")
            tmp.write_text(self.config.to_yaml())
            tmp.replace(path)

    def _run_stage(self, name: str, action: str, numbered: str, hook) -> tuple[str, str, float]:
        """Run one stage of the plan (``action`` run, rerun or update) and stamp its artefacts.

        For a rerun (``run.force``) every artefact and checkpoint of the stage is moved aside
        first; when the stage then rejects its config (a config or plugin error, exit code 2)
        what it began is removed and the old artefacts are put back.
        """
        context = StageContext(
            config=self.config,
            run_dir=self.run_dir,
            stage=name,
            fingerprint=self.fingerprint(name),
            action=action,
            previous=self.stamped_config(name) if action == "update" else None,
        )
        moved = self._move_aside(name) if action == "rerun" else None
        info(f"[bold cyan]▶ {numbered}[/bold cyan]")
        hook.on_stage_start(stage=name, context=context)
        start = time.perf_counter()
        try:
            self.spec(name).load_implementation()(context)
        except (ConfigError, PluginError):
            if moved is not None:
                self._put_back(name, moved)
            raise
        seconds = time.perf_counter() - start
        barrier()
        missing = self.missing_outputs(name)
        if missing:
            raise StageError(f"stage {name!r} finished but did not make {missing} in {self.run_dir}")
        if is_rank0():
            self._write_stamp(name, seconds)
        hook.on_stage_end(stage=name, context=context, seconds=seconds)
        info(f"[green]✓ {numbered}[/green] ({seconds:.1f} s)")
        return (name, action, seconds)

    def _write_stamp(self, name: str, seconds: float) -> None:
        stamp = {
            "stage": name,
            "fingerprint": self.fingerprint(name),
            "config": self.stage_config(name),
            "upstream": {req: self.fingerprint(req) for req in self.requires(name)},
            "outputs": list(self.spec(name).outputs),
            "seconds": round(seconds, 3),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        path = self._stamp_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stamp, indent=2, default=str))
        tmp.replace(path)

    def stage_folders(self, name: str) -> list[str]:
        """What ``run.force`` moves aside for ``name``: the top folder of each of its outputs
        (``tokenizer/`` with its checkpoint, ``mno/`` with ``checkpoints/``...), or the output
        itself where the folder is the run directory or is shared with another known stage."""
        others = {
            o.split("/")[0] for other, spec in self._specs.items() if other != name for o in spec.outputs
        }
        folders: list[str] = []
        for output in self.spec(name).outputs:
            top = output.split("/")[0]
            chosen = top if "/" in output and top not in others and top != STATE_DIR else output
            if chosen not in folders:
                folders.append(chosen)
        return folders

    def _move_aside(self, name: str) -> Path | None:
        """Move every artefact of ``name`` (and its stamp) to ``.spinlock/replaced/<time>/``."""
        target = None
        if is_rank0():
            paths = [*self.stage_folders(name), f"{STATE_DIR}/stages/{name}.json"]
            target = move_to_replaced(self.run_dir, paths)
            warn(f"run.force: every artefact and checkpoint of {name!r} moved to {target}")
        barrier()
        return target

    def _put_back(self, name: str, target: Path) -> None:
        """Undo :meth:`_move_aside` after the stage rejected its new config."""
        if is_rank0():
            for relative in [*self.stage_folders(name), f"{STATE_DIR}/stages/{name}.json"]:
                saved, live = target / relative, self.run_dir / relative
                if not saved.exists():
                    continue
                if live.is_dir():
                    shutil.rmtree(live)
                else:
                    live.unlink(missing_ok=True)
                live.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(saved), str(live))
            with contextlib.suppress(OSError):
                target.rmdir()
            warn(f"run.force: the new config of {name!r} was rejected; its previous artefacts were kept")


def move_to_replaced(run_dir: Path, relative_paths: list[str]) -> Path:
    """Move each existing ``run_dir/<path>`` to ``run_dir/.spinlock/replaced/<time>/<path>``."""
    run_dir = Path(run_dir)
    when = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    base = run_dir / STATE_DIR / "replaced"
    target, n = base / when, 1
    while any((target / p).exists() for p in relative_paths):
        target, n = base / f"{when}-{n}", n + 1
    for relative in relative_paths:
        source = run_dir / relative
        if source.exists():
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), str(destination))
    return target
