"""Helpers for page tests (AppTest)."""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT
from tracker import strings
from tracker.models import ActionStatus
from tracker.ui.components import EDITOR_GENERATIONS, editor_key, read_metric_cards

APP = str(PROJECT_ROOT / "dashboard.py")
SESSION_KEY = "auth_session"


def run_app(token: str | None = None, at: AppTest | None = None) -> AppTest:
    """Run the app (logged in with a session token if given); fail on any exception."""
    if at is None:
        at = AppTest.from_file(APP, default_timeout=60)
        if token is not None:
            at.session_state[SESSION_KEY] = token
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_sections(at: AppTest, *keys: str) -> AppTest:
    """Open collapsible sections of the page (what a click on their titles sends), then
    rerun: a section's content (a form, an editable table, the table behind a chart) is
    built and sent only once it is open (``components.lazy_section``)."""
    for key in keys:
        at.session_state[key] = True
    return run_app(at=at)


def editor_state_key(at: AppTest, name: str) -> str:
    """The widget key the page gives its editable table ``name`` at this point (what
    ``components.editor_key`` returns: the name and its generation), to set its edits."""
    kept = EDITOR_GENERATIONS
    generations = at.session_state[kept] if kept in at.session_state.keys() else {}  # noqa: SIM118
    return editor_key(name, generations)


def page_titles(at: AppTest) -> list[str]:
    """The pages the navigation offers (what st.navigation registered for this session)."""
    return [page["page_name"] for page in at._registered_pages.values()]


def actions_table(at: AppTest):
    tables = [df.value for df in at.dataframe if "Porteur" in df.value.columns]
    assert len(tables) == 1
    return tables[0]


def metric_cards(node) -> list[tuple[str, str, str | None]]:  # noqa: ANN001
    """The key figures under an AppTest node, in order: (label, value, change as shown,
    with its arrow, or None): the components.metric_cards blocks (the app has no
    st.metric left)."""
    return [card for element in node.get("html") for card in read_metric_cards(element.proto.body)]


def metrics(at: AppTest) -> dict[str, str]:
    """The key figures shown, by label (their values as displayed)."""
    return {label: value for label, value, _ in metric_cards(at)}


def status_total(at: AppTest) -> int:
    """The overview's actions, summed over its status metrics (one per status)."""
    shown = metrics(at)
    return sum(int(shown[strings.status_label(s)]) for s in ActionStatus)


def open_page(at: AppTest, title: str) -> AppTest:
    """Go to a page by its navigation title, as a click in the sidebar would.

    AppTest.switch_page only knows file pages; this sets the same page hash.
    """
    at._page_hash = next(h for h, p in at._registered_pages.items() if p["page_name"] == title)
    return run_app(at=at)


class _TableReader(HTMLParser):
    """The header and rows of the HTML tables in a fragment (tracker.ui.tables)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[list[str], list[list[str]]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append(([], []))
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            header, rows = self.tables[-1]
            if self._in_head:
                header.extend(self._row)
            else:
                rows.append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_tables(node) -> list[pd.DataFrame]:  # noqa: ANN001
    """The HTML tables (tracker.ui.tables) under an AppTest node, as the reader sees them:
    text unescaped, every cell a string."""
    found = []
    for element in node.get("html"):
        reader = _TableReader()
        reader.feed(element.proto.body)
        found += [pd.DataFrame(rows, columns=header) for header, rows in reader.tables]
    return found
