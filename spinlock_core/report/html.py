"""Render report sections as one self-contained HTML page (inline CSS, figures as base64 PNG).

No scripts and no external assets: the file can be mailed, archived next to the run, or
opened from a cluster's scratch disk without a server.
"""

from __future__ import annotations

import base64
import html
import re

from .model import Figure, Heading, Section, Table, Text

__all__ = ["render_html"]

_CSS = """
:root { --fg:#1f2328; --muted:#656d76; --line:#d0d7de; --bg:#f6f8fa; --accent:#0969da; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color:var(--fg); }
nav { position:fixed; top:0; left:0; bottom:0; width:220px; padding:18px 14px; background:var(--bg);
      border-right:1px solid var(--line); overflow-y:auto; }
nav a { display:block; padding:3px 0; color:var(--fg); text-decoration:none; font-size:14px; }
nav a:hover { color:var(--accent); }
main { margin-left:220px; padding:18px 32px 60px; max-width:1280px; }
h1 { font-size:24px; margin:0 0 4px; } h3 { font-size:16px; margin:22px 0 6px; } h2 { font-size:20px; border-bottom:1px solid var(--line);
     padding-bottom:4px; margin-top:36px; }
.sub { color:var(--muted); margin:0 0 14px; }
.badge { display:inline-block; font-size:11px; font-weight:600; padding:1px 7px; border-radius:10px;
         vertical-align:middle; margin-left:6px; color:#fff; }
.s-ok { background:#1a7f37; } .s-not-run { background:#8c959f; } .s-partial { background:#9a6700; }
.s-error { background:#cf222e; } .s-warning { background:#bc4c00; }
table { border-collapse:collapse; margin:8px 0 4px; font-size:13px; }
th, td { border:1px solid var(--line); padding:3px 9px; text-align:left; vertical-align:top; }
th { background:var(--bg); } td.num { text-align:right; font-variant-numeric:tabular-nums; }
.caption { color:var(--muted); font-size:13px; margin:2px 0 14px; }
figure { margin:10px 0 18px; } figure img { max-width:100%; border:1px solid var(--line); }
code { background:var(--bg); padding:0 4px; border-radius:4px; font-size:13px; }
.headline { display:flex; flex-wrap:wrap; gap:10px; margin:12px 0; }
.headline div { border:1px solid var(--line); border-radius:6px; padding:6px 12px; background:var(--bg); }
.headline div.v-good { border-color:#1a7f37; background:#dafbe1; } .headline div.v-mixed { border-color:#9a6700; background:#fff8c5; }
.headline div.v-poor { border-color:#cf222e; background:#ffebe9; }
.headline b { display:block; font-size:18px; } .headline span { color:var(--muted); font-size:12px; }
details pre { background:var(--bg); padding:10px; overflow-x:auto; font-size:12px; }
"""

_NUMBER = re.compile(r"^[-+]?(\d[\d,]*\.?\d*(e[-+]?\d+)?|nan|inf)( ?%| s)?$", re.I)


def _inline(text: str) -> str:
    """Escape ``text``; spans in backticks become ``<code>``."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = "".join(
            f'<td class="num">{html.escape(c)}</td>' if _NUMBER.match(c.strip()) else f"<td>{_inline(c)}</td>"
            for c in row
        )
        body.append(f"<tr>{cells}</tr>")
    caption = f'<div class="caption">{_inline(table.caption)}</div>' if table.caption else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{caption}"


def _figure(figure: Figure) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    alt = html.escape(figure.caption or "figure", quote=True)
    caption = f'<figcaption class="caption">{_inline(figure.caption)}</figcaption>' if figure.caption else ""
    return f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">{caption}</figure>'


def _block(block) -> str:
    if isinstance(block, Text):
        return "".join(f"<p>{_inline(p.strip())}</p>" for p in block.text.split("\n\n") if p.strip())
    if isinstance(block, Heading):
        return f"<h3>{_inline(block.text)}</h3>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Figure):
        return _figure(block)
    raise TypeError(f"a report block must be Text, Heading, Table or Figure, got {type(block).__name__}")


def _badge(status: str) -> str:
    return f'<span class="badge s-{status.replace(" ", "-")}">{html.escape(status)}</span>'


def _headline(sections: list[Section]) -> str:
    cells = [
        f'<div class="v-{html.escape(section.headline_levels.get(name, "none"), quote=True)}">'
        f"<b>{html.escape(value)}</b><span>{html.escape(name)}</span></div>"
        for section in sections
        for name, value in section.headline.items()
    ]
    return f'<div class="headline">{"".join(cells)}</div>' if cells else ""


def render_html(title: str, subtitle: str, sections: list[Section], config_yaml: str = "") -> str:
    """The page: a navigation column, the headline numbers, then every section in order."""
    nav = "".join(
        f'<a href="#{html.escape(s.key, quote=True)}">{html.escape(s.title)}{_badge(s.status)}</a>'
        for s in sections
    )
    body = []
    for s in sections:
        blocks = "".join(_block(b) for b in s.blocks)
        body.append(
            f'<section id="{html.escape(s.key, quote=True)}"><h2>{html.escape(s.title)}{_badge(s.status)}</h2>'
            f"{blocks}</section>"
        )
    config = (
        f"<details><summary>Resolved config (<code>config.yaml</code>)</summary>"
        f"<pre>{html.escape(config_yaml)}</pre></details>"
        if config_yaml
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<nav><b>spinlock report</b>{nav}</nav><main><h1>{html.escape(title)}</h1>"
        f'<p class="sub">{_inline(subtitle)}</p>{_headline(sections)}{"".join(body)}{config}'
        "</main></body></html>\n"
    )
