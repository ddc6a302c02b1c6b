"""The docs site: the CLI page is generated from the app, and every page is in the navigation."""

from pathlib import Path

import yaml

ROOT = Path(__file__).parents[2]


def test_cli_doc_is_generated_from_the_app():
    from spinlock_core.docs_cli import render

    docs = (ROOT / "docs" / "cli.md").read_text()
    assert docs == render(), "regenerate: python -m spinlock_core.docs_cli > docs/cli.md"


def test_cli_doc_documents_every_command_and_option():
    from spinlock_core.docs_cli import render

    page = render()
    for heading in ("### `spinlock run`", "### `spinlock report`", "### `spinlock config show`"):
        assert heading in page
    assert "`--report / --no-report`" in page and "`-o`, `--out <path>`" in page
    assert "hello" not in page  # commands of installed plugins (the test plugin's) are left out


def _nav_pages(entries) -> set[str]:
    pages = set()
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages |= _nav_pages(value) if isinstance(value, list) else {value}
    return pages


def test_every_docs_page_is_in_the_navigation():
    nav = _nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])
    docs = ROOT / "docs"
    pages = {p.relative_to(docs).as_posix() for p in docs.rglob("*.md")}
    assert pages - nav == set(), "add these pages to the nav of mkdocs.yml"
    assert nav - pages == set(), "mkdocs.yml names pages that do not exist"
