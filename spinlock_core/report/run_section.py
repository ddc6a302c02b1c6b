"""The report's first section: what the run is (its config) and what ran (stage stamps)."""

from __future__ import annotations

from .cells import fmt
from .model import RunArtefacts, Section, Table, Text

__all__ = ["run_section"]

KEY, TITLE, ORDER = "run", "Run", 0


def _choice(run: RunArtefacts, group: str) -> str:
    value = run.config_get(f"{group}.name")
    return str(value) if value else "—"


def run_section(run: RunArtefacts) -> Section:
    stamps = run.stamps()
    pipeline = list(run.config_get("pipeline", []) or [])
    stages = pipeline + [s for s in stamps if s not in pipeline]
    rows = []
    for name in stages:
        stamp = stamps.get(name)
        if stamp is None:
            rows.append((name, "not run", "—", "—", "—"))
            continue
        missing = [o for o in stamp.get("outputs", ()) if not run.path(o).exists()]
        state = f"outputs missing: {', '.join(missing)}" if missing else "done"
        rows.append(
            (
                name,
                state,
                f"{stamp.get('seconds', 0):.1f}",
                stamp.get("finished", "?"),
                stamp.get("fingerprint", "?"),
            )
        )
    total = sum(float(s.get("seconds", 0)) for s in stamps.values())
    config_rows = [
        ("domain / operator", f"{_choice(run, 'domain')} / {_choice(run, 'operator')}"),
        ("scale", fmt(run.config_get("scale"))),
        ("seed", fmt(run.config_get("seed"))),
        ("device", fmt(run.config_get("device"))),
        ("last command's stage", fmt(run.config_get("stage"))),
        ("pipeline (stage=all)", " → ".join(pipeline) or "—"),
        ("features", ", ".join(run.config_get("features", []) or []) or "—"),
        ("tokenizer / backbone", f"{_choice(run, 'tokenizer')} / {_choice(run, 'backbone')}"),
    ]
    blocks = [
        Text(f"Run directory `{run.dir.resolve()}`. Re-run it with `spinlock run --from {run.dir}`."),
        Table(
            columns=("config", "value"), rows=config_rows, caption="The full resolved config is at the end."
        ),
        Table(
            columns=("stage", "state", "seconds", "finished (UTC)", "fingerprint"),
            rows=rows,
            caption="From the stage stamps (`.spinlock/stages/`); a stage skipped as up to date keeps its "
            "first run's time.",
        ),
    ]
    if not run.config:
        blocks.insert(0, Text("No `config.yaml` here: this directory was not made by `spinlock run`."))
    return Section(
        key=KEY,
        title=TITLE,
        order=ORDER,
        status="ok" if stamps else "not run",
        blocks=blocks,
        headline={"stage time": f"{total:.1f} s"} if stamps else {},
    )
