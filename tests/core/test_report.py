"""The run report: sections from real (toy) artefacts, missing stages marked, a self-contained page."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from spinlock_core.checkpoint import save_checkpoint
from spinlock_core.config import compose
from spinlock_core.report import Figure, RunArtefacts, Section, Table, Text, collect_sections, write_report
from spinlock_core.report.html import render_html
from spinlock_core.runner import Runner

from ..conftest import TOY

CORE_KEYS = ["run", "generate", "features", "tokenizer", "mno", "validate"]


def _png(seed: int = 0) -> bytes:
    from spinlock_core.report.plotting import subplots, to_png

    fig, axes = subplots(1, 1, panel=(1, 1))
    axes[0, 0].plot([0, 1], [seed, 1])
    return to_png(fig)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A toy dataset and its feature tables (made once: the report only reads them)."""
    run_dir = tmp_path_factory.mktemp("toy-run")
    Runner(compose([*TOY, "stage=features", "generate.n_samples=8", f"run.dir={run_dir}"])).run()
    return run_dir


def _copy(run_dir, to, *parts):
    """A run directory holding only ``parts`` of ``run_dir`` (sections of the others are cheap)."""
    import shutil

    to.mkdir(parents=True, exist_ok=True)
    for part in ("config.yaml", ".spinlock", *parts):
        source = run_dir / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, to / part)
    return to


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_report_of_a_partial_run_has_every_section_and_marks_missing_stages(toy_run):
    path, sections = write_report(toy_run, toy_run / "partial.html")
    status = {s.key: s.status for s in sections}
    assert [s.key for s in sections if s.key in CORE_KEYS] == CORE_KEYS  # page order
    assert status == {**status, "run": "ok", "generate": "ok", "features": "ok"}
    assert all(status[k] == "not run" for k in ("tokenizer", "mno", "validate"))
    page = path.read_text()
    for key in CORE_KEYS:
        assert f'<section id="{key}">' in page
    assert page.count("Stage not run") >= 3 and "spinlock run stage=mno" in page
    images = _images(page)
    assert len(images) >= 5 and all(png.startswith(b"\x89PNG") for png in images)
    assert not re.search(r'(src|href)="(https?:|//|[^#d])', page), "the page must not load anything"
    assert "samples ok" in page and "8/8" in page  # headline numbers


def _fake_tokenizer(monkeypatch, run_dir):
    """A tokenizer checkpoint of a fake plugin: the section must work through the generic API only."""
    from spinlock_core import registry

    class Fake:
        token_names = ["a/L0", "b/L0"]
        codebook_sizes = [[4], [4]]

        @classmethod
        def load(cls, path, device=None):
            return cls()

        def encode(self, table, columns):
            import torch

            return torch.as_tensor(np.stack([np.arange(len(table)) % 2, np.zeros(len(table), int)], 1))

    class Spec:
        extras: dict = {}

        def load_implementation(self):
            return Fake

    real_load = registry.load
    monkeypatch.setattr(
        registry, "load", lambda kind, name: Spec() if name == "fake" else real_load(kind, name)
    )
    meta = {"kind": "tokenizer", "name": "fake", "metrics": {"quality": 0.75, "utilization_mean": 0.5}}
    save_checkpoint(run_dir / "tokenizer" / "model.pt", {"x": 1}, meta, notify=False)
    (run_dir / "tokenizer" / "dashboards").mkdir()
    (run_dir / "tokenizer" / "dashboards" / "training_curves.png").write_bytes(_png())


def test_report_reads_tokenizer_mno_and_validation_artefacts(toy_run, tmp_path, monkeypatch):
    run_dir = _copy(toy_run, tmp_path, "features")
    _fake_tokenizer(monkeypatch, run_dir)
    history = [
        {"epoch": 1, "train_loss": 0.5, "val_rel_l2": 0.30, "persistence_rel_l2": 0.2},
        {"epoch": 2, "train_loss": 0.25, "val_rel_l2": 0.125, "persistence_rel_l2": 0.2},
    ]
    (run_dir / "mno" / "figures").mkdir(parents=True)
    (run_dir / "mno" / "metrics.json").write_text(json.dumps(history))
    (run_dir / "mno" / "evaluation.json").write_text(json.dumps({"headline": {"rollout rel. L2": 0.2}}))
    (run_dir / "mno" / "figures" / "rollout_vs_true.png").write_bytes(_png(1))
    (run_dir / "validate").mkdir()
    (run_dir / "validate" / "report.json").write_text(json.dumps({"tokens": {"agreement": 0.625}}))
    (run_dir / "validate" / "feature_shift.png").write_bytes(_png(2))

    sections = {s.key: s for s in collect_sections(RunArtefacts(run_dir))}
    tokenizer, mno, validate = sections["tokenizer"], sections["mno"], sections["validate"]
    # no stage stamps for these three: their artefacts are shown, marked partial
    assert (tokenizer.status, mno.status, validate.status) == ("partial", "partial", "partial")
    text = " ".join(b.text for b in tokenizer.blocks if isinstance(b, Text))
    assert "8 samples map to 2 distinct token sequences of 2 tokens" in text
    usage = next(b for b in tokenizer.blocks if isinstance(b, Table) and "min" in b.columns)
    assert usage.rows[0] == ("codes used per position", "1", "1.5", "2")
    assert tokenizer.headline == {
        "tokenizer quality (test rows)": "0.75",
        "tokenizer utilization (test rows)": "0.5",
    }
    assert mno.headline == {
        "MNO val rel. L2": "0.125",
        "persistence rel. L2": "0.2",
        "MNO rollout rel. L2": "0.2",
    }
    assert [b.caption for b in mno.blocks if isinstance(b, Figure)][-1] == "rollout vs true"
    assert ("tokens.agreement", "0.625") in next(b for b in validate.blocks if isinstance(b, Table)).rows
    assert any(isinstance(b, Figure) and b.caption == "feature shift" for b in validate.blocks)


def test_report_of_a_run_with_no_stage_yet(tmp_path):
    (tmp_path / "config.yaml").write_text("seed: 0\npipeline: [generate]\n")
    _, sections = write_report(tmp_path)
    assert {s.key: s.status for s in sections if s.key in CORE_KEYS} == dict.fromkeys(CORE_KEYS, "not run")


def test_a_failing_section_is_shown_as_an_error_not_a_lost_report(toy_run, tmp_path, monkeypatch):
    run_dir = _copy(toy_run, tmp_path, "features")
    (run_dir / "mno").mkdir()
    (run_dir / "mno" / "metrics.json").write_text("[{not json")
    path, sections = write_report(run_dir)
    mno = next(s for s in sections if s.key == "mno")
    assert mno.status == "error" and "JSONDecodeError" in mno.blocks[0].text
    assert "features" in path.read_text()
    monkeypatch.setenv("SPINLOCK_DEBUG", "1")
    with pytest.raises(json.JSONDecodeError):
        write_report(run_dir)


def test_page_escapes_text():
    sections = [Section(key="x", title="<script>alert(1)</script>", blocks=[Text("a `b<c>` d")])]
    page = render_html("t", "s", sections)
    assert "<script>" not in page and "&lt;script&gt;" in page and "<code>b&lt;c&gt;</code>" in page


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda: Table(columns=("a", "b"), rows=[("1",)]), "has 1 cells for 2 columns", id="short-row"
        ),
        pytest.param(lambda: Figure(png=b"GIF89a"), "is not a PNG", id="not-png"),
        pytest.param(lambda: Section(key="k", title="t", status="done"), "status", id="bad-status"),
    ],
)
def test_report_blocks_refuse_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_report_command(cli, toy_run, tmp_path):
    run_dir = _copy(toy_run, tmp_path / "run")
    result = cli("report", str(run_dir), "--out", str(tmp_path / "page.html"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "page.html").read_text().startswith("<!DOCTYPE html>")
    missing = cli("report", str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "no run directory" in missing.output
    extra = cli("report", str(run_dir), "more")
    assert extra.exit_code == 2 and "spinlock report tokenizer PATH" in extra.output


def test_spinlock_run_writes_the_report_and_a_failure_only_warns(cli, tmp_path, monkeypatch):
    run_dir = tmp_path / "runs" / "toy" / "default"
    assert cli("run", *TOY, "stage=t_make").exit_code == 0
    assert (run_dir / "report.html").is_file()
    (run_dir / "report.html").unlink()
    assert cli("run", *TOY, "stage=t_make", "--no-report").exit_code == 0
    assert not (run_dir / "report.html").exists()

    def broken(*args, **kwargs):
        raise RuntimeError("no figures today")

    monkeypatch.setattr("spinlock_core.report.write_report", broken)
    result = cli("run", *TOY, "stage=t_make")
    assert result.exit_code == 0 and "no figures today" in " ".join(result.output.split())


def test_markdown_summary_becomes_blocks_with_its_figures_embedded(tmp_path):
    from spinlock_core.report.markdown import markdown_blocks
    from spinlock_core.report.model import Heading

    (tmp_path / "frames.png").write_bytes(_png())
    text = (
        "# Title\n\nSome **bold** text\nover two lines.\n\n## Rollout\n\n| | MNO | persistence |\n"
        "|---|---|---|\n| rel. L2 | 0.1 | 0.2 |\n\n![frames](frames.png)\n![gone](gone.png)\n"
    )
    blocks, embedded = markdown_blocks(text, tmp_path)
    assert blocks[:3] == [
        Text("Some bold text over two lines."),
        Heading("Rollout"),
        Table(columns=("", "MNO", "persistence"), rows=[("rel. L2", "0.1", "0.2")]),
    ]
    assert isinstance(blocks[3], Figure) and blocks[3].caption == "frames"
    assert blocks[4] == Text("(figure `gone.png` not found)")
    assert embedded == {(tmp_path / "frames.png").resolve()}


def test_a_domain_gallery_that_cannot_be_drawn_is_noted_not_fatal(toy_run, monkeypatch):
    from spinlock_core.report import dataset_section

    def missing_plugin(run, size):
        raise ImportError("no module named spinlock_toy")

    monkeypatch.setattr(dataset_section, "_domain_gallery", missing_plugin)
    section = dataset_section.dataset_section(RunArtefacts(toy_run))
    notes = [b.text for b in section.blocks if isinstance(b, Text)]
    assert section.status == "ok" and any("no module named spinlock_toy" in n for n in notes)
    assert any(isinstance(b, Figure) and "Stored initial conditions" in b.caption for b in section.blocks)


def test_a_figure_takes_its_caption_from_its_folders_captions_json(tmp_path):
    (tmp_path / "curves.png").write_bytes(_png())
    (tmp_path / "other_plot.png").write_bytes(_png())
    assert Figure.from_file(tmp_path / "curves.png").caption == "curves"  # no sidecar: the name
    (tmp_path / "captions.json").write_text('{"curves.png": "Loss per epoch."}')
    assert Figure.from_file(tmp_path / "curves.png").caption == "Loss per epoch."
    assert Figure.from_file(tmp_path / "other_plot.png").caption == "other plot"  # not listed
    assert Figure.from_file(tmp_path / "curves.png", caption="given").caption == "given"
    (tmp_path / "captions.json").write_text("{not json")
    assert Figure.from_file(tmp_path / "curves.png").caption == "curves"
