"""Measured numbers in the docs point at their raw output: every ``benchmarks/results/...`` path a
page names exists, and every measured section (a heading naming a device and a date) names at
least one result file, or says in so many words that it is not reproducible from one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(
    {
        ROOT / "docs" / "benchmarks.md",
        ROOT / "docs" / "analyses.md",
        ROOT / "docs" / "domain-fluids.md",
        ROOT / "docs" / "tokenizer.md",
        *(ROOT / "docs").glob("operators-*.md"),
    }
)
RESULT = re.compile(r"benchmarks/results/[\w.*/-]*")
RESULT_FILE = re.compile(r"benchmarks/results/[\w.*-]+")
DEVICE = re.compile(r"\b(H100|H200|A100|B200|CPU|GPU)\b")
DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")
#: What a measured section says instead of a result file when its raw output was not kept.
NOT_REPRODUCIBLE = "not reproducible from a result file"


def _lines(page: Path) -> list[str]:
    """The page's lines with fenced code blocks blanked (a ``#`` there is no heading)."""
    out, fenced = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append("")
        else:
            out.append("" if fenced else line)
    return out


def _sections(page: Path) -> list[tuple[str, str]]:
    """``(heading, body)`` per heading; the body runs to the next heading of the same or a higher
    level, so it includes the section's subsections."""
    lines = _lines(page)
    heads = [
        (i, len(m.group(1)), m.group(2))
        for i, line in enumerate(lines)
        if (m := re.match(r"(#+)\s+(.*)", line))
    ]
    out = []
    for n, (i, level, title) in enumerate(heads):
        end = next((j for j, lv, _ in heads[n + 1 :] if lv <= level), len(lines))
        out.append((title, "\n".join(lines[i + 1 : end])))
    return out


def _measured(page: Path) -> list[tuple[str, str]]:
    return [(t, body) for t, body in _sections(page) if DEVICE.search(t) and DATE.search(t)]


def _ids(pages):
    return [p.name for p in pages]


def test_the_pages_are_there_and_some_sections_count_as_measured():
    assert all(p.is_file() for p in PAGES), [str(p) for p in PAGES if not p.is_file()]
    assert len(_measured(ROOT / "docs" / "benchmarks.md")) >= 5  # the parser still finds them


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_every_named_result_file_exists(page):
    text = page.read_text(encoding="utf-8")
    missing = []
    for ref in RESULT.findall(text):
        ref = ref.rstrip(".")  # a sentence's full stop
        if "*" in ref:
            if not list(ROOT.glob(ref)):
                missing.append(ref)
        elif not (ROOT / ref).exists():
            missing.append(ref)
    assert not missing, f"{page.name} names result files that are not in the repository: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_every_measured_section_names_its_raw_output(page):
    bare = [
        title
        for title, body in _measured(page)
        if not RESULT_FILE.search(body) and NOT_REPRODUCIBLE not in " ".join(body.split())
    ]
    assert not bare, (
        f"{page.name}: measured sections without a file in benchmarks/results/ "
        f"(name one, or say '{NOT_REPRODUCIBLE}' and why): {bare}"
    )


def test_a_section_without_its_raw_output_is_caught(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## Speed — H100, 2026-01-02\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "```bash\n# H100 2026-01-02 inside a code block is no heading\n```\n\n"
        "## Other — CPU, 2026-01-03\n\nRaw output: `benchmarks/results/x.json`.\n",
        encoding="utf-8",
    )
    measured = _measured(page)
    assert [t for t, _ in measured] == ["Speed — H100, 2026-01-02", "Other — CPU, 2026-01-03"]
    assert [bool(RESULT_FILE.search(body)) for _, body in measured] == [False, True]
