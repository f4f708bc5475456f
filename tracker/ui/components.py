"""Small widgets shared by the pages."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal, TypeVar

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import streamlit as st

from tracker import strings

T = TypeVar("T")

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<$:])")


def md_escape(text: str) -> str:
    """Text escaped for Markdown (no formatting, no HTML).

    Streamlit's Markdown still turns "--" into a dash, so text typed by users
    is shown with :func:`plain` instead; this is for short labels only.
    """
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def plain(text: str) -> None:
    """Text typed by a user, shown exactly as typed: never Markdown, never HTML."""
    st.text(text)


def example_banner(is_example: bool) -> None:
    """The visible warning that the plan shown is an illustrative example."""
    if is_example:
        st.warning(f"**{strings.EXAMPLE_BANNER}**. {strings.EXAMPLE_BANNER_DETAIL}", icon="⚠️")


def saved_message(key: str) -> None:
    """The message a page left before its rerun (« … enregistré »), shown once.

    It sits in a slot that is there on every run, so whether it shows or not never
    shifts the elements below (an expander would otherwise close on the next rerun).
    """
    slot = st.empty()
    text = st.session_state.pop(key, None)
    if text:
        slot.success(text)


class FrozenFigure(go.Figure):
    """A figure built once and shown many times: a cached figure, shared by every session.

    Streamlit turns a figure into a dict on every display (``to_dict``: a deep copy
    of all its data, milliseconds for a few hundred points); this one does it once,
    when it is built. So it must never be changed afterwards, nor the dict it gives
    (st.plotly_chart only reads it).
    """

    def __init__(self, fig: go.Figure) -> None:
        super().__init__(fig)
        self._shown = super().to_dict()

    def to_dict(self) -> dict:
        return self._shown


def frozen_figure(fig: go.Figure) -> FrozenFigure:
    """``fig``, ready for a cache: complete, and serialised once for every display."""
    return FrozenFigure(fig)


# A table to show: an Arrow table, or a DataFrame Arrow could not take as it is.
Table = pa.Table | pd.DataFrame


def arrow_table(frame: pd.DataFrame) -> Table:
    """``frame`` ready for a cache of tables to show: converted to Arrow once.

    st.dataframe converts a DataFrame to Arrow on every run (milliseconds for a few
    hundred rows); given the Arrow table, it sends it as it is: the same bytes, the
    same page. A frame Arrow cannot take as it is (a column of mixed types) is left
    for st.dataframe to fix, as before.
    """
    try:
        return pa.Table.from_pandas(frame)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return frame


def lazy_section(label: str, key: str, *, expanded: bool = False):  # noqa: ANN201
    """A collapsible section whose content is built and sent only while it is open.

    Returns the section to write into (``with box:``), or None while it is closed.
    Opening or closing it reruns the page (``on_change="rerun"``), so what it holds
    (a form, an editable table, a long table) costs nothing on the runs of readers
    who never open it. Its state lives in ``st.session_state[key]`` (True: open), so
    it stays open across the reruns that follow a save.
    """
    box = st.expander(label, key=key, on_change="rerun", expanded=expanded)
    return box if box.open else None


def stale_form_warning(changed: str, shown: str) -> None:
    """The warning of an edit form whose object was saved by someone else since it was
    opened (see :func:`opened_on`): ``changed`` says what (« Ce comité a été modifié »),
    ``shown`` where its saved version is on the page."""
    st.warning(
        f"{changed} par quelqu'un d'autre depuis que vous avez ouvert ce formulaire ({shown}) "
        ": enregistrer vos changements sera refusé. Repliez puis rouvrez la section pour "
        "repartir de sa version enregistrée."
    )


def opened_on(name: str, owner: int, current: T, widgets: Sequence[str]) -> T:
    """What an edit form showed when it was opened on ``owner`` (an id), kept in the
    session under ``name`` while it stays open: ``current`` the first time (and the
    form's ``widgets`` keys are cleared, so they start from it). The form shows these
    values, with stable keys, even if someone saves meanwhile, and saves with them as
    what it expects to replace (``expected=`` of the services): what has no version
    number is then never overwritten unseen."""
    kept = st.session_state.get(name)
    if kept is None or kept[0] != owner:
        kept = (owner, current)
        st.session_state[name] = kept
        for key in widgets:
            st.session_state.pop(key, None)
    return kept[1]


def forget_opened(name: str, widgets: Callable[[int], Sequence[str]]) -> None:
    """Drop what :func:`opened_on` kept (the form was saved, or folded): opened again,
    it starts from the saved values. ``widgets(owner)``: the form's widget keys."""
    kept = st.session_state.pop(name, None)
    if kept is not None:
        for key in widgets(kept[0]):
            st.session_state.pop(key, None)


def applied_filters(chosen: Iterable[tuple[str, Sequence[str]]], flags: Iterable[str] = ()) -> None:
    """« Filtres appliqués : Statut : En cours, Bloqué · En retard seulement », under a
    folded filters section (nothing when no filter applies). ``chosen``: (label, the
    values chosen, as shown); values may be text typed by users (a pilot's name, a
    code): they are escaped, a caption being Markdown."""
    parts = [
        f"{label} : {', '.join(md_escape(v) for v in values)}" for label, values in chosen if values
    ]
    parts += list(flags)
    if parts:
        st.caption("Filtres appliqués : " + " · ".join(parts))


# What a grid shows for a missing value: an empty cell (Streamlit writes the English
# « None » otherwise, which every reader of a table sees).
MISSING = ""


def grid(data: object, **options: object) -> object:
    """A read-only table (``st.dataframe``), missing values shown as empty cells."""
    return st.dataframe(data, placeholder=MISSING, **options)


def editor(data: object, **options: object) -> object:
    """An editable table (``st.data_editor``), missing values shown as empty cells.

    Every editable table of the app is saved by its page's button, and nothing on a page
    is computed from edits not yet saved: the edits stay in the browser until that click
    (or another interaction) instead of rerunning the whole page at each cell left (on
    500 actions, the table read and sent again each time). A reload before the save
    loses them, as it did before."""
    return st.data_editor(data, placeholder=MISSING, on_change="ignore", **options)


EDITOR_GENERATIONS = "_editor_generations"  # session: editable table name -> generation


def editor_key(name: str, generations: Mapping[str, int] | None = None) -> str:
    """The widget key of the editable table ``name`` in this session: the name and a
    generation number, raised by :func:`reset_editor` (``generations``: this session's,
    read from ``st.session_state`` unless given, as tests do)."""
    if generations is None:
        generations = st.session_state.get(EDITOR_GENERATIONS, {})
    return f"{name}#{generations.get(name, 0)}"


def reset_editor(name: str) -> None:
    """Show the editable table ``name`` afresh on the next run (after its save, or to drop
    the edits), under a new key: the browser keeps a table's edits as long as its key stays
    the same, even once the server forgot them. Seen in Chromium: after « Recharger le
    tableau » the edits were still shown and saved by the next click; after a save, a
    second click recorded the same comment again."""
    st.session_state.pop(editor_key(name), None)
    generations = st.session_state.setdefault(EDITOR_GENERATIONS, {})
    generations[name] = generations.get(name, 0) + 1


def chart_with_table(fig: go.Figure, table: Table, *, key: str, alt: str) -> None:
    """A chart, then the same figures as a table in a collapsible section (accessibility),
    sent once that section is opened (``{key}_data`` in the session state)."""
    st.plotly_chart(fig, key=key, alt=alt, config={"displaylogo": False})
    if (box := lazy_section("Voir les données du graphique", f"{key}_data")) is not None:
        with box:
            grid(table, hide_index=True, key=f"{key}_table")


@dataclass(frozen=True)
class Metric:
    """A key figure: its label, its value as shown, and optionally how it moved.

    ``tone``: how the change reads: « good » (green, ▲ or ▼ as the sign says), « bad »
    (red), « off » (grey: a fact, neither good nor bad). ``help``: one short sentence
    shown under the figure (a tablet has no tooltips)."""

    label: str
    value: str
    delta: str | None = None
    tone: Literal["good", "bad", "off"] = "off"
    help: str | None = None


_METRIC_STYLE = """<style>
dl.tk-metrics { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr));
  gap: 0.75rem 1.5rem; margin: 0 0 1rem; padding: 0; }
dl.tk-metrics .tk-metric { margin: 0; padding: 0; }
dl.tk-metrics dt { font-size: 0.875rem; line-height: 1.4; margin: 0; padding: 0; }
dl.tk-metrics dd { margin: 0; padding: 0; }
.tk-metric .tk-value { font-size: 2rem; line-height: 1.25; white-space: nowrap; }
.tk-metric .tk-delta { font-size: 0.875rem; display: inline-block; padding: 0 0.4rem;
  border-radius: 0.5rem; }
.tk-metric .tk-good { color: #177233; background: rgba(33, 195, 84, 0.1); }
.tk-metric .tk-bad { color: #a51d1d; background: rgba(255, 43, 43, 0.09); }
.tk-metric .tk-off { color: rgba(49, 51, 63, 0.75); background: rgba(49, 51, 63, 0.06); }
.tk-metric .tk-help { font-size: 0.8rem; line-height: 1.35; color: rgba(49, 51, 63, 0.7);
  margin-top: 0.15rem; }
</style>"""


def _arrow(delta: str) -> str:
    text = delta.strip()
    if text.startswith(("-", "−")):
        return "▼ "
    if text.startswith("+"):
        return "▲ "
    return ""


def metric_cards_html(metrics: Sequence[Metric]) -> str:
    """:func:`metric_cards` as a string (to keep in a cache). Everything is escaped."""
    cards = []
    for m in metrics:
        parts = [
            f'<dt data-testid="tkMetricLabel">{html.escape(m.label)}</dt>',
            f'<dd class="tk-value" data-testid="tkMetricValue">{html.escape(m.value)}</dd>',
        ]
        if m.delta:
            parts.append(
                f'<dd class="tk-delta tk-{m.tone}" data-testid="tkMetricDelta">'
                f"{_arrow(m.delta)}{html.escape(m.delta)}</dd>"
            )
        if m.help:
            parts.append(f'<dd class="tk-help">{html.escape(m.help)}</dd>')
        cards.append(f'<div class="tk-metric" data-testid="tkMetric">{"".join(parts)}</div>')
    return f'{_METRIC_STYLE}<dl class="tk-metrics">{"".join(cards)}</dl>'


class _MetricReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cards: list[list[str | None]] = []
        self._part: int | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        testid = dict(attrs).get("data-testid")
        if testid == "tkMetric":
            self.cards.append(["", "", None])
        elif testid in _METRIC_PARTS and self.cards:
            self._part = _METRIC_PARTS.index(testid)
            self.cards[-1][self._part] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("dt", "dd"):
            self._part = None

    def handle_data(self, data: str) -> None:
        if self._part is not None:
            self.cards[-1][self._part] += data


_METRIC_PARTS = ("tkMetricLabel", "tkMetricValue", "tkMetricDelta")


def read_metric_cards(fragment: str) -> list[tuple[str, str, str | None]]:
    """The key figures of an HTML fragment as a reader sees them, in order: (label,
    value, change with its arrow or None): what :func:`metric_cards_html` wrote. For the
    page tests and benchmarks, which read a page as it is sent."""
    reader = _MetricReader()
    reader.feed(fragment)
    return [(label or "", value or "", delta) for label, value, delta in reader.cards]


def metric_cards(metrics: Sequence[Metric]) -> None:
    """Key figures side by side (as many per row as the width allows), in one element.

    st.metric costs one element per figure plus a column each (about 0.6 ms of server
    time per figure, measured with AppTest: six metrics in columns 4.0 ms, the same
    six as one HTML block 0.6 ms); a page that opens on ten figures pays it on every
    rerun. One ``<dl>`` is drawn at once and read by screen readers as label/value
    pairs; a change carries its sign and an arrow, not only a colour."""
    st.html(metric_cards_html(metrics))
