"""Small static tables drawn as plain HTML tables.

A data grid (st.dataframe) is a canvas the browser draws cell by cell, and the
cells of st.table are each a Markdown component: for the short read-only tables of
a page (a budget by collectivity, milestones due, the figures behind a chart) both
cost the browser far more than the table is worth. One HTML ``<table>`` is drawn
at once, is read as a table by screen readers (header cells with ``scope``, a
caption) and wraps its text within the page's width. Every cell is escaped: text
typed by users is shown exactly as typed, never as HTML.
"""

from __future__ import annotations

import html
import numbers
import re
from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from tracker.formats import format_number

# Numbers, amounts, percentages and durations as the app formats them (12 500 €,
# 45,3 %, 16 j, +2 pts): aligned to the right so their digits line up.
_NUMERIC = re.compile(r"^[−\-+]?[\d\u202f\u00a0 ]+([,.]\d+)?(\u00a0?(€|%|j|pts))?$")

_STYLE = """<style>
.tk-table-box { overflow-x: auto; margin-bottom: 1rem; }
.tk-table-box.tk-scroll { overflow-y: auto; }
.tk-table { border-collapse: collapse; width: 100%; font-size: 0.875rem; line-height: 1.4; }
.tk-table caption { text-align: left; font-size: 0.875rem; opacity: 0.7; padding: 0 0 0.25rem; }
.tk-table th, .tk-table td {
  border: 1px solid rgba(49, 51, 63, 0.15); padding: 0.25rem 0.5rem; vertical-align: top;
  text-align: left;
}
.tk-table thead th { background: rgba(49, 51, 63, 0.05); font-weight: 600; }
.tk-table-box.tk-scroll thead th { position: sticky; top: 0; background: #F0F2F6; }
.tk-table td.tk-num, .tk-table th.tk-num { text-align: right; white-space: nowrap; }
</style>"""


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return format_number(value, 0 if float(value).is_integer() else 1)
    return str(value)


def table_html(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    max_height: int | None = None,
    links: Mapping[str, Sequence[str | None]] | None = None,
) -> str:
    """The table as escaped HTML (a scrolling box of ``max_height`` px if given).

    ``links``: for a column, the address each row's cell leads to (a real link: it
    opens with the keyboard, or in a new tab; None for no link)."""
    cells = [[_text(v) for v in row] for row in frame.itertuples(index=False)]
    targets = [list((links or {}).get(c) or [None] * len(cells)) for c in frame.columns]
    numeric = [
        bool(cells) and all(_NUMERIC.match(row[i]) or row[i] == "–" for row in cells)
        for i in range(len(frame.columns))
    ]

    def cls(i: int) -> str:
        return ' class="tk-num"' if numeric[i] else ""

    head = "".join(
        f'<th scope="col"{cls(i)}>{html.escape(str(c))}</th>' for i, c in enumerate(frame.columns)
    )

    def cell(i: int, r: int, value: str) -> str:
        text = html.escape(value)
        href = targets[i][r]
        if href:
            text = f'<a href="{html.escape(href, quote=True)}">{text}</a>'
        return f"<td{cls(i)}>{text}</td>"

    body = "".join(
        "<tr>" + "".join(cell(i, r, v) for i, v in enumerate(row)) + "</tr>"
        for r, row in enumerate(cells)
    )
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    box = "tk-table-box"
    style = ""
    if max_height is not None:
        box += " tk-scroll"
        style = f' style="max-height: {int(max_height)}px"'
    # A scrolling box must be reachable with the keyboard (tabindex) and named.
    focus = f' tabindex="0" role="region" aria-label="{html.escape(caption or "Tableau")}"'
    return (
        f'<div class="{box}"{style}{focus if max_height is not None else ""}>'
        f'<table class="tk-table">{title}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def table_block(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    scroll_after: int = 12,
    links: Mapping[str, Sequence[str | None]] | None = None,
) -> str:
    """What :func:`static_table` shows, as a string to keep in a cache: beyond
    ``scroll_after`` rows the table scrolls in a box. The style travels with each table
    (a few hundred bytes): a page may show any of them."""
    height = 420 if len(frame) > scroll_after else None
    return _STYLE + table_html(frame, caption=caption, max_height=height, links=links)


def static_table(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    scroll_after: int = 12,
    links: Mapping[str, Sequence[str | None]] | None = None,
) -> None:
    """Show a small read-only table; beyond ``scroll_after`` rows it scrolls in a box."""
    st.html(table_block(frame, caption=caption, scroll_after=scroll_after, links=links))
