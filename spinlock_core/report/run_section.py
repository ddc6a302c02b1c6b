"""The report's first section: what the run is (its config) and what ran (stage stamps)."""

from __future__ import annotations

from ..verdicts import summary_verdict
from .cells import fmt
from .model import RunArtefacts, Section, Table, Text

__all__ = ["run_section", "run_headline", "verdicts"]

KEY, TITLE, ORDER = "run", "Run", 0


def _choice(run: RunArtefacts, group: str) -> str:
    value = run.config_get(f"{group}.name")
    return str(value) if value else "—"


#: (artefact, dotted path to its rollout summary, headline card, what the figures are measured on)
VERDICT_SOURCES = (
    (
        "mno/evaluation.json",
        "summary",
        "MNO vs baselines (validation split)",
        "the `mno` stage's held-out split of the training θ, over the trained horizon",
    ),
    (
        "validate/report.json",
        "rollout.summary",
        "MNO vs baselines (fresh θ)",
        "θ the MNO never saw (the `validate` stage's own Sobol draw), over the whole stored horizon",
    ),
)


def verdicts(run: RunArtefacts) -> list[tuple[str, str, str, str]]:
    """``[(card name, level, sentence, measured on)]`` of each rollout summary the run has."""
    found = []
    for artefact, dotted, card, measured_on in VERDICT_SOURCES:
        data = run.json(artefact)
        for part in dotted.split("."):
            data = data.get(part) if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("rel_l2") is None:
            continue
        level, sentence = summary_verdict(data)
        found.append((card, level, sentence, measured_on))
    return found


def run_headline(run: RunArtefacts, found=None) -> tuple[dict[str, str], dict[str, str]]:
    """``(headline, levels)``: the stages' total time and one verdict card per rollout summary
    (``found``: :func:`verdicts` of the run, computed when not given)."""
    found = verdicts(run) if found is None else found
    stamps = run.stamps()
    total = sum(float(s.get("seconds", 0)) for s in stamps.values())
    headline = {"stage time": f"{total:.1f} s"} if stamps else {}
    levels = {card: level for card, level, _, _ in found}
    return headline | levels, levels


def _verdict_blocks(found) -> list:
    if not found:
        return []
    text = "\n\n".join(f"{card} ({level}): {sentence}" for card, level, sentence, _ in found)
    if len(found) > 1:
        text += "\n\n" + (
            "The two rel. L2 figures measure different things: "
            + "; ".join(f"{card.split('(')[-1].rstrip(')')} is measured on {on}" for card, _, _, on in found)
            + "."
        )
    return [Text(text)]


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
    found = verdicts(run)
    blocks[1:1] = _verdict_blocks(found)
    if not run.config:
        blocks.insert(0, Text("No `config.yaml` here: this directory was not made by `spinlock run`."))
    headline, levels = run_headline(run, found)
    return Section(
        key=KEY,
        title=TITLE,
        order=ORDER,
        status="ok" if stamps else "not run",
        blocks=blocks,
        headline=headline,
        headline_levels=levels,
    )
