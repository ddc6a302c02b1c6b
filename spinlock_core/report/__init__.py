"""Run reports: one self-contained HTML page per run directory (``spinlock report RUN_DIR``).

The page is a list of :class:`Section` objects contributed through the
``register_report_sections`` hook: the core contributes one per core stage, and any plugin
can add its own. This module is light (attrs only); figures import matplotlib when drawn.
"""

from __future__ import annotations

from .build import REPORT_NAME, collect_sections, write_report
from .model import STATUSES, Block, Figure, RunArtefacts, Section, Table, Text

__all__ = [
    "REPORT_NAME",
    "STATUSES",
    "Block",
    "Figure",
    "RunArtefacts",
    "Section",
    "Table",
    "Text",
    "collect_sections",
    "write_report",
]
