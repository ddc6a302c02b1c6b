"""The ``codebook_alignment`` analysis: load two runs, compare, write the report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from spinlock_core.api import Analysis, AnalysisResult, info

from .compare import compare
from .config import CodebookAlignmentConfig
from .plots import write_figures
from .report import headline, to_json, write_report
from .runs import load_run

__all__ = ["CodebookAlignment"]


class CodebookAlignment(Analysis):
    """Do the behavioural vocabularies of two runs' tokenizers correspond? Every score beside its null."""

    name = "codebook_alignment"
    runs = 2

    def __init__(self, config: CodebookAlignmentConfig | None = None):
        self.config = config or CodebookAlignmentConfig()

    def run(self, runs: Sequence[Path], out_dir: Path) -> AnalysisResult:
        run_a, run_b = (Path(r) for r in runs)
        a, b = load_run(run_a, "A"), load_run(run_b, "B")
        info(
            f"codebook_alignment: {a.label} vs {b.label}, {self.config.permutations} null draws, "
            f"space {self.config.space}"
        )
        comparison = compare(a, b, self.config)
        figures = write_figures(comparison, out_dir, self.config.profiles)
        files = write_report(comparison, self.config, out_dir, figures)
        return AnalysisResult(
            name=self.name,
            scores=comparison.scores,
            summary=to_json(comparison, self.config, files),
            files=files,
            headline=headline(comparison),
        )
