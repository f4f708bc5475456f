"""The steering committee's report: a PDF to print and hand out, and the same
content as a workbook (.xlsx) for those who want the numbers.

Everything comes from one snapshot (services.reviews.take_snapshot): the frozen
snapshot of a closed review, so that its report never changes however the plan
is edited later; or, for an open review or no review, one taken now. The charts
are the app's own plotly figures (tracker.charts), fed with frames shaped as the
overview page shapes them and rendered to PNG by kaleido (headless Chromium):
one chart code path for the screen and the paper.

Printed in black and white, nothing relies on colour: statuses, health and flags
carry a symbol and a word, the charts have patterns beside their colours.
"""

from __future__ import annotations

import functools
import io
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd
import plotly.graph_objects as go
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as pdf_canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from sqlmodel import Session

from tracker import charts, strings
from tracker.charts import format_value
from tracker.errors import NotFoundError
from tracker.formats import format_date, format_eur, format_number, format_percent
from tracker.io.budget_export import PERCENT_FORMAT
from tracker.io.export import DATE_FORMAT, EURO_FORMAT, HEADER_FILL
from tracker.models import (
    ActionStatus,
    DecisionStatus,
    Health,
    IndicatorStatus,
    Review,
    ReviewStatus,
)
from tracker.services import reviews as review_service
from tracker.services.overview import ON_TRACK_INDICATORS
from tracker.services.reviews import Comparison

# Binary image streams: reportlab's default ASCII85 text encoding of the charts is
# pure Python and would cost more than the rest of the PDF together.
rl_config.useA85 = 0

OPEN_DECISIONS = review_service.OPEN_DECISIONS


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# --------------------------------------------------------------------------
# Content: what the report says, whatever its format
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Meeting:
    """A steering-committee meeting, as the report names it."""

    id: int
    title: str
    date: date
    attendees: str
    agenda: str
    closed: bool

    @classmethod
    def of(cls, review: Review) -> Meeting:
        return cls(
            id=review.id,
            title=review.title,
            date=review.date,
            attendees=review.attendees or "",
            agenda=review.agenda or "",
            closed=ReviewStatus(review.status) == ReviewStatus.CLOSED,
        )

    @property
    def label(self) -> str:
        return f"{self.title} ({format_date(self.date)})"


@dataclass(frozen=True)
class Headline:
    """The overview's headline figures, computed from a snapshot."""

    status_counts: dict[ActionStatus, int]
    progress: float | None
    expected: float | None
    year: int
    requested_cents: int
    arbitrated_cents: int
    spent_cents: int
    indicators_on_track: int
    indicators: int

    @property
    def actions(self) -> int:
        return sum(self.status_counts.values())

    @property
    def execution(self) -> float | None:
        """Spent as a share of arbitrated, in % (None when nothing was arbitrated)."""
        if not self.arbitrated_cents:
            return None
        return 100 * self.spent_cents / self.arbitrated_cents


def status_counts(snapshot: dict[str, Any]) -> dict[ActionStatus, int]:
    """Actions per status in a snapshot (every status, zero included)."""
    counts = Counter(ActionStatus(a["status"]) for a in snapshot["actions"])
    return {s: counts.get(s, 0) for s in ActionStatus}


@dataclass(frozen=True)
class ReportContent:
    """Everything the report shows: one snapshot, the meeting, and the comparison
    with the previous closed review (``before`` is that review's snapshot)."""

    snapshot: dict[str, Any]
    meeting: Meeting | None
    previous: Meeting | None
    before: dict[str, Any] | None

    @property
    def at(self) -> date:
        return date.fromisoformat(self.snapshot["at"])

    @property
    def plan(self) -> dict[str, Any]:
        return self.snapshot["plan"]

    @property
    def frozen(self) -> bool:
        """True for a closed review: the figures are its frozen snapshot."""
        return self.meeting is not None and self.meeting.closed

    @property
    def year(self) -> int:
        """The budget year shown: the snapshot's year, within the plan's years."""
        plan = self.plan
        return min(max(self.at.year, plan["first_year"]), plan["last_year"])

    @functools.cached_property
    def comparison(self) -> Comparison | None:
        if self.before is None:
            return None
        return review_service.compare(self.before, self.snapshot)

    @functools.cached_property
    def headline(self) -> Headline:
        snapshot = self.snapshot
        budget = snapshot["budget"].get(str(self.year), {})
        return Headline(
            status_counts=status_counts(snapshot),
            progress=snapshot["progress"],
            expected=snapshot["expected"],
            year=self.year,
            requested_cents=budget.get("requested", 0),
            arbitrated_cents=budget.get("arbitrated", 0),
            spent_cents=budget.get("spent", 0),
            indicators_on_track=sum(
                1
                for i in snapshot["indicators"]
                if IndicatorStatus(i["status"]) in ON_TRACK_INDICATORS
            ),
            indicators=len(snapshot["indicators"]),
        )

    def actions_of(self, objective: str) -> list[dict[str, Any]]:
        return [a for a in self.snapshot["actions"] if a["objective"] == objective]

    def overdue_milestones(self, codes: set[str] | None = None) -> list[dict[str, Any]]:
        """Milestones due before the snapshot's date and not done (of some actions)."""
        return [
            m
            for m in self.snapshot["milestones"]
            if m["due"]
            and not m["done"]
            and _day(m["due"]) < self.at
            and (codes is None or m["action"] in codes)
        ]

    def indicators_with(self, *statuses: IndicatorStatus) -> list[dict[str, Any]]:
        return [i for i in self.snapshot["indicators"] if IndicatorStatus(i["status"]) in statuses]

    def overdue(self, decision: dict[str, Any]) -> bool:
        due = _day(decision["due"])
        return (
            due is not None
            and due < self.at
            and DecisionStatus(decision["status"]) in OPEN_DECISIONS
        )

    def open_decisions(self) -> list[dict[str, Any]]:
        """Decisions still to follow (to do or in progress), by due date (none last)."""
        rows = [
            d for d in self.snapshot["decisions"] if DecisionStatus(d["status"]) in OPEN_DECISIONS
        ]
        return sorted(rows, key=lambda d: (d["due"] is None, d["due"] or "", d["id"]))

    @property
    def file_stem(self) -> str:
        """A file name for the report, without extension (« comite-2026-03-12 »)."""
        if self.meeting is not None:
            return f"comite-{self.meeting.date.isoformat()}"
        return f"etat-du-plan-{self.at.isoformat()}"


def report_content(
    session: Session, plan_id: int, review_id: int | None, at: date
) -> ReportContent:
    """What the committee's report shows.

    A closed review: its frozen snapshot, compared with the previous closed
    review (if any). An open review, or no review: the plan now (a snapshot
    taken at ``at``), compared with the last closed review before it.
    """
    review = None
    if review_id is not None:
        review = review_service.get_review(session, review_id)
        if review.plan_id != plan_id:
            raise NotFoundError(f"Le comité n°{review_id} n'appartient pas à ce plan.")
    if review is not None and ReviewStatus(review.status) == ReviewStatus.CLOSED:
        snapshot = review.snapshot
        previous = review_service.previous_closed(session, review)
    else:
        snapshot = review_service.take_snapshot(session, plan_id, at)
        previous = (
            review_service.previous_closed(session, review)
            if review is not None
            else review_service.last_closed(session, plan_id)
        )
    if previous is not None and not previous.snapshot:
        previous = None
    return ReportContent(
        snapshot=snapshot,
        meeting=Meeting.of(review) if review is not None else None,
        previous=Meeting.of(previous) if previous is not None else None,
        before=previous.snapshot if previous is not None else None,
    )


# --------------------------------------------------------------------------
# French texts shared by the PDF and the workbook
# --------------------------------------------------------------------------


def _signed_points(value: float) -> str:
    sign = "+" if round(value) >= 0 else "−"
    return f"{sign}{format_number(abs(value))}\u00a0pts"


def change_value(field: str, value: Any) -> str:
    """A compared field's value, in French (as the reviews page shows it)."""
    if value is None:
        return "–"
    if field in ("status", "new", "removed"):
        return strings.status_label(value)
    if field == "weather":
        return strings.weather_label(value)
    if field == "progress":
        return format_percent(value)
    if field == "planned_end":
        return format_date(_day(value))
    return str(value)


def change_label(field: str) -> str:
    return {"new": "Nouvelle action", "removed": "Action retirée"}.get(
        field, review_service.COMPARED_FIELDS.get(field, field)
    )


def _measure_text(value: float | None, unit: str, when: str | None) -> str:
    if value is None:
        return "–"
    text = format_value(value, unit)
    return f"{text} ({format_date(_day(when))})" if when else text


def _link_text(decision: dict[str, Any]) -> str:
    parts = []
    if decision["action"]:
        parts.append(f"Action {decision['action']}")
    if decision["objective"]:
        parts.append(f"Objectif {decision['objective']}")
    return ", ".join(parts) or "–"


def _state_sentence(content: ReportContent) -> str:
    at = format_date(content.at)
    if content.meeting is None:
        return f"État du plan au {at}."
    if content.frozen:
        return f"Comité clos : chiffres de l'instantané du plan figé au {at}."
    return f"Comité ouvert : état du plan au {at} (figé à la clôture du comité)."


def _comparison_sentence(content: ReportContent) -> str:
    if content.previous is None:
        return "Aucun comité clos auparavant : pas encore de comparaison."
    return (
        f"Évolutions comparées au comité « {content.previous.title} » du "
        f"{format_date(content.previous.date)}."
    )


def change_counts(c: Comparison) -> pd.DataFrame:
    """How many things changed, by kind: the frame of charts.changes_summary."""
    return pd.DataFrame(
        {
            "quoi": [
                "Actions modifiées",
                "Jalons réalisés",
                "Jalons passés en retard",
                "Lignes budgétaires",
                "Nouvelles mesures d'indicateurs",
                "Décisions ouvertes",
                "Décisions closes",
            ],
            "nombre": [
                len({ch.code for ch in c.actions}),
                len(c.completed_milestones),
                len(c.newly_late_milestones),
                len(c.budget),
                len(c.indicators),
                len(c.decisions_opened),
                len(c.decisions_closed),
            ],
        }
    )


# --------------------------------------------------------------------------
# Charts: the app's figures, fed from the snapshot
# --------------------------------------------------------------------------


def report_figures(content: ReportContent) -> dict[str, go.Figure]:
    """The report's charts, built by tracker.charts from the snapshot (frames
    shaped as the overview page shapes them)."""
    snapshot, at = content.snapshot, content.at
    figures: dict[str, go.Figure] = {}

    objectives = pd.DataFrame(
        [
            {
                "objectif": f"{o['code']} : {o['title']}",
                "actions": o["actions"],
                "avancement": o["progress"],
                "attendu": o["expected"],
            }
            for o in snapshot["objectives"]
        ],
        columns=["objectif", "actions", "avancement", "attendu"],
    )
    figures["progress"] = charts.progress_by_objective(objectives)

    splits = pd.DataFrame(
        [
            {
                "year": int(year),
                "requested_cents": t["requested"],
                "arbitrated_cents": t["arbitrated"],
                "spent_cents": t["spent"],
            }
            for year, t in snapshot["budget"].items()
        ],
        columns=["year", "requested_cents", "arbitrated_cents", "spent_cents"],
    )
    budget = charts.budget_per_year(splits)
    budget.update_layout(height=340)
    figures["budget"] = budget

    actions = pd.DataFrame(
        [
            {
                "id": a["id"],
                "code": a["code"],
                "label": f"{a['code']} {strings.HEALTH_SYMBOLS[Health(a['health'])]}",
                "start": _day(a["start"]),
                "end": _day(a["planned_end"]),
                "health": a["health"],
                "health_label": strings.health_label(a["health"]),
                "dates": f"{format_date(_day(a['start']))} → {format_date(_day(a['planned_end']))}",
                "title": a["title"],
            }
            for a in snapshot["actions"]
        ],
        columns=["id", "code", "label", "start", "end", "health", "health_label", "dates", "title"],
    )
    milestones = pd.DataFrame(
        [
            {
                "code": m["action"],
                "due": _day(m["due"]),
                "title": m["title"],
                "done": bool(m["done"]),
                "overdue": not m["done"] and _day(m["due"]) < at,
                "when": f"Échéance : {format_date(_day(m['due']))}"
                + (f" · réalisé le {format_date(_day(m['done']))}" if m["done"] else ""),
            }
            for m in snapshot["milestones"]
            if m["due"]
        ],
        columns=["code", "due", "title", "done", "overdue", "when"],
    )
    figures["timeline"] = charts.actions_timeline(actions, milestones, today=at)

    series = []
    for i in snapshot["indicators"]:
        measures = pd.DataFrame(
            [{"date": _day(d), "valeur": v} for d, v in i["series"]], columns=["date", "valeur"]
        ).sort_values("date")
        path = pd.DataFrame(
            [{"date": _day(d), "valeur": v} for d, v in i["path"]], columns=["date", "valeur"]
        )
        series.append(
            {
                "title": f"{i['code']} · "
                f"{strings.indicator_status_label(IndicatorStatus(i['status']))}",
                "unit": i["unit"],
                "measures": measures,
                "path": path,
            }
        )
    figures["indicators"] = charts.indicator_multiples(series)

    c = content.comparison
    if c is not None and not c.empty:
        figures["changes"] = charts.changes_summary(change_counts(c))
    return figures


CHART_WIDTH_PX = 800  # at 2x: about 225 dpi across the page
CHART_SCALE = 2
CHART_TIMEOUT_SECONDS = 60
# kaleido's rendering server is one per process: two reports at once take turns.
_RENDERING = threading.Lock()


class ChartsUnavailable(Exception):
    """The charts could not be rendered (no Chromium, or it failed)."""


def charts_problem() -> str | None:
    """Why the charts cannot be drawn here (no Chromium for kaleido), or None."""
    from choreographer.browsers.chromium import Chromium  # noqa: PLC0415

    if Chromium.find_browser(skip_local=False) is None:
        return (
            "aucun navigateur Chromium trouvé pour dessiner les graphiques "
            "(sous Debian : apt install chromium)"
        )
    return None


@contextmanager
def chart_renderer() -> Iterator[Callable[[go.Figure], bytes]]:
    """One headless Chromium (kaleido's server) for every chart of a report.

    The browser starts in the background as soon as the block is entered, so
    the figures can be built meanwhile. Raises ChartsUnavailable (French
    message) when no browser is found or a rendering fails.
    """
    import kaleido  # noqa: PLC0415

    problem = charts_problem()
    if problem:
        # Checked first: a server started without a browser would wait forever.
        raise ChartsUnavailable(problem)
    with _RENDERING:
        # No MathJax: the figures need none, and its default is a CDN (offline servers).
        kaleido.start_sync_server(
            n=1, timeout=CHART_TIMEOUT_SECONDS, mathjax=False, silence_warnings=True
        )
        try:
            yield _png
        finally:
            kaleido.stop_sync_server(silence_warnings=True)


def _png(fig: go.Figure) -> bytes:
    import plotly.io as pio  # noqa: PLC0415

    try:
        with warnings.catch_warnings():
            # plotly passes its default HTTP headers, which a running server ignores.
            warnings.filterwarnings("ignore", message="The kopts argument is ignored")
            return pio.to_image(
                fig,
                format="png",
                scale=CHART_SCALE,
                width=CHART_WIDTH_PX,
                height=int(fig.layout.height or 450),
            )
    except Exception as exc:  # noqa: BLE001 - the report stays readable without charts
        raise ChartsUnavailable(f"le rendu des graphiques a échoué ({exc})") from exc


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian: fonts-dejavu-core
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
PAGE_MARGIN = 15 * mm
FOOTER_HEIGHT = 10 * mm
FOOTER_FONT_SIZE = 7.5
INK = colors.HexColor("#1F1F1F")
RULE = colors.HexColor("#8C8C8C")
HEADER_GREY = colors.HexColor("#E3E3E3")
ZEBRA_GREY = colors.HexColor("#F4F4F4")

# Without DejaVu Sans, Helvetica (Windows-1252 only) gets ASCII stand-ins.
_ASCII_SYMBOLS = str.maketrans(
    {
        "✓": "v",
        "▲": "^",
        "●": "*",
        "✕": "x",
        "○": "o",
        "◐": "~",
        "‖": "||",
        "■": "#",
        "☀": "*",
        "☁": "~",
        "⚡": "!",
        "→": "->",
        "\u202f": "\u00a0",
        "−": "-",
    }
)


@dataclass(frozen=True)
class _Fonts:
    regular: str
    bold: str
    unicode: bool

    def text(self, value: Any) -> str:
        """Plain text made safe for a Paragraph (and for the font)."""
        text = "" if value is None else str(value)
        if not self.unicode:
            text = text.translate(_ASCII_SYMBOLS)
            text = text.encode("cp1252", errors="replace").decode("cp1252")
        return escape(text)


@functools.cache
def _fonts() -> _Fonts:
    """DejaVu Sans (every symbol the report prints), else Helvetica."""
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
            pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
            pdfmetrics.registerFontFamily(
                "DejaVuSans",
                normal="DejaVuSans",
                bold="DejaVuSans-Bold",
                italic="DejaVuSans",
                boldItalic="DejaVuSans-Bold",
            )
            return _Fonts("DejaVuSans", "DejaVuSans-Bold", True)
    warnings.warn(
        "Police DejaVu Sans introuvable (paquet Debian fonts-dejavu-core) : le rapport "
        "utilise Helvetica et remplace les symboles par des caractères simples.",
        RuntimeWarning,
        stacklevel=2,
    )
    return _Fonts("Helvetica", "Helvetica-Bold", False)


class _Styles:
    def __init__(self, fonts: _Fonts) -> None:
        def style(name: str, size: float, *, bold: bool = False, **extra: Any) -> ParagraphStyle:
            return ParagraphStyle(
                name,
                fontName=fonts.bold if bold else fonts.regular,
                fontSize=size,
                leading=round(size * 1.3, 1),
                **{"textColor": INK, **extra},
            )

        self.body = style("body", 9.5, spaceAfter=4)
        self.note = style("note", 8.5, textColor=colors.HexColor("#404040"), spaceAfter=4)
        self.cell = style("cell", 8)
        self.cell_right = style("cell_right", 8, alignment=TA_RIGHT)
        self.cell_bold = style("cell_bold", 8, bold=True)
        self.cell_bold_right = style("cell_bold_right", 8, bold=True, alignment=TA_RIGHT)
        # (reportlab skips spaceBefore at the top of a page)
        self.h1 = style("h1", 17, bold=True, spaceBefore=16, spaceAfter=8, keepWithNext=1)
        self.h2 = style("h2", 12.5, bold=True, spaceBefore=10, spaceAfter=5, keepWithNext=1)
        self.h3 = style("h3", 10.5, bold=True, spaceBefore=8, spaceAfter=4, keepWithNext=1)
        self.cover_small = style("cover_small", 11, textColor=colors.HexColor("#404040"))
        self.cover_title = style("cover_title", 28, bold=True, spaceBefore=18, spaceAfter=10)
        self.cover_plan = style("cover_plan", 16, spaceAfter=18)
        self.cover_meeting = style("cover_meeting", 14, bold=True, spaceAfter=4)
        self.banner = style("banner", 12, bold=True, spaceAfter=3)
        self.figure_label = style("figure_label", 8.5)
        self.figure_value = style("figure_value", 17, bold=True, spaceBefore=2, spaceAfter=2)


class _NumberedCanvas(pdf_canvas.Canvas):
    """Pages are kept until the end, then drawn with « Page N / M » in the footer."""

    def __init__(self, *args: Any, footer: str = "", font: str = "Helvetica", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []
        self._footer = footer
        self._footer_font = font

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for page in self._pages:
            self.__dict__.update(page)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        width, _ = self._pagesize
        y = PAGE_MARGIN - 6 * mm
        self.saveState()
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        self.line(PAGE_MARGIN, y + 4 * mm, width - PAGE_MARGIN, y + 4 * mm)
        self.setFillColor(INK)
        self.setFont(self._footer_font, FOOTER_FONT_SIZE)
        self.drawString(PAGE_MARGIN, y, self._footer)
        self.drawRightString(width - PAGE_MARGIN, y, f"Page {self._pageNumber} / {total}")
        self.restoreState()


class _Report:
    """Builds the story (the list of flowables) of one report."""

    def __init__(
        self,
        content: ReportContent,
        images: dict[str, bytes],
        heights: dict[str, int],
        problem: str | None,
    ) -> None:
        self.c = content
        self.images = images  # PNG per chart name
        self.heights = heights  # each figure's height in pixels (its width: CHART_WIDTH_PX)
        self.problem = problem
        self.fonts = _fonts()
        self.s = _Styles(self.fonts)
        self.width = A4[0] - 2 * PAGE_MARGIN
        self.height = A4[1] - 2 * PAGE_MARGIN - FOOTER_HEIGHT

    # -- small builders ----------------------------------------------------

    def p(self, text: Any, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(self.fonts.text(text), style or self.s.body)

    def lines(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        """A multi-line text, its line breaks kept."""
        return Paragraph(
            "<br/>".join(self.fonts.text(line) for line in text.splitlines()),
            style or self.s.body,
        )

    def cell(self, value: Any, *, right: bool = False, bold: bool = False) -> Paragraph:
        if isinstance(value, list):  # several lines in one cell
            text = "<br/>".join(self.fonts.text(v) for v in value if v)
        else:
            text = self.fonts.text(value)
        style = {
            (False, False): self.s.cell,
            (True, False): self.s.cell_right,
            (False, True): self.s.cell_bold,
            (True, True): self.s.cell_bold_right,
        }[(right, bold)]
        return Paragraph(text, style)

    def table(
        self,
        header: list[str],
        rows: list[list[Any]],
        widths: list[float],
        *,
        right: set[int] = frozenset(),
        bold_last: bool = False,
        width: float | None = None,
    ) -> Table:
        """A table with a repeated header row, wrapped cells, grey zebra lines;
        ``widths`` are relative, the table spans ``width`` (default: the page)."""
        scale = (width or self.width) / sum(widths)
        data = [[self.cell(h, bold=True, right=n in right) for n, h in enumerate(header)]]
        for r, row in enumerate(rows):
            last = bold_last and r == len(rows) - 1
            data.append([self.cell(v, right=n in right, bold=last) for n, v in enumerate(row)])
        table = Table(data, colWidths=[w * scale for w in widths], repeatRows=1)
        style = [
            ("BACKGROUND", (0, 0), (-1, 0), HEADER_GREY),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        style += [("BACKGROUND", (0, r), (-1, r), ZEBRA_GREY) for r in range(2, len(data), 2)]
        if bold_last and rows:
            style.append(("LINEABOVE", (0, -1), (-1, -1), 0.8, INK))
        table.setStyle(TableStyle(style))
        return table

    def chart(self, name: str, alt: str) -> list[Flowable]:
        """A chart as an image, fitted to the page; its description under it."""
        png = self.images.get(name)
        if png is None:
            return []
        fig_height = self.heights[name]
        width = self.width
        height = width * fig_height / CHART_WIDTH_PX
        limit = self.height - 20 * mm
        if height > limit:
            width, height = width * limit / height, limit
        # Opaque: the charts' paper is white, no alpha mask (smaller, faster PDF).
        image = Image(io.BytesIO(png), width=width, height=height, mask=None)
        image.hAlign = "CENTER"
        return [KeepTogether([image, self.p(alt, self.s.note)]), Spacer(1, 4 * mm)]

    # -- sections ----------------------------------------------------------

    def cover(self) -> list[Flowable]:
        c, s = self.c, self.s
        story: list[Flowable] = [
            Spacer(1, 20 * mm),
            self.p(strings.APP_SUBTITLE, s.cover_small),
            self.p(strings.APP_TITLE, s.cover_small),
            self.p("Comité de pilotage", s.cover_title),
            self.p(c.plan["name"], s.cover_plan),
        ]
        if c.meeting is not None:
            story += [
                self.p(c.meeting.title, s.cover_meeting),
                self.p(f"Réunion du {format_date(c.meeting.date)}"),
            ]
        story += [self.p(_state_sentence(c)), self.p(_comparison_sentence(c))]
        if c.plan["is_example"]:
            banner = Table(
                [
                    [self.p(strings.EXAMPLE_BANNER, s.banner)],
                    [self.p(strings.EXAMPLE_BANNER_DETAIL, s.note)],
                ],
                colWidths=[self.width],
            )
            banner.setStyle(
                TableStyle(
                    [
                        ("BOX", (0, 0), (-1, -1), 2, INK),
                        ("BACKGROUND", (0, 0), (-1, -1), ZEBRA_GREY),
                        ("LEFTPADDING", (0, 0), (-1, -1), 8),
                        ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                        ("TOPPADDING", (0, 0), (0, 0), 8),
                        ("BOTTOMPADDING", (0, -1), (-1, -1), 8),
                    ]
                )
            )
            story += [Spacer(1, 8 * mm), banner]
        if c.meeting is not None and c.meeting.attendees:
            story += [self.p("Participants", s.h3), self.lines(c.meeting.attendees)]
        if c.meeting is not None and c.meeting.agenda:
            story += [self.p("Ordre du jour", s.h3), self.lines(c.meeting.agenda)]
        story += [
            self.p("Contenu du rapport", s.h3),
            self.lines(
                "Chiffres clés et graphiques\n"
                "Une page par objectif : ses actions, leur statut et leur santé\n"
                "Depuis le comité précédent\n"
                f"Budget de l'année {c.year}\n"
                "Indicateurs en retard\n"
                "Décisions à suivre"
            ),
        ]
        return story

    def headline(self) -> list[Flowable]:
        h, s = self.c.headline, self.s
        expected = (
            f"attendu {format_percent(h.expected)} ({_signed_points(h.progress - h.expected)})"
            if h.progress is not None and h.expected is not None
            else "attendu : –"
        )
        figures = [
            ("Avancement moyen", format_percent(h.progress) or "–", expected),
            (
                f"Arbitré {h.year}",
                format_eur(h.arbitrated_cents),
                f"demandé {format_eur(h.requested_cents)}",
            ),
            (
                f"Réalisé {h.year}",
                format_eur(h.spent_cents),
                f"exécution {format_percent(h.execution) if h.execution is not None else '–'}",
            ),
            (
                "Indicateurs en bonne voie",
                f"{h.indicators_on_track} / {h.indicators}",
                "atteints ou en bonne voie",
            ),
        ]
        boxes = Table(
            [
                [
                    [
                        self.p(label, s.figure_label),
                        self.p(value, s.figure_value),
                        self.p(detail, s.figure_label),
                    ]
                    for label, value, detail in figures
                ]
            ],
            colWidths=[self.width / 4] * 4,
        )
        boxes.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 0.8, INK),
                    ("LINEAFTER", (0, 0), (-2, -1), 0.5, RULE),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 6),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ]
            )
        )
        then = status_counts(self.c.before) if self.c.before is not None else None
        header = ["Statut", "Actions"]
        if then is not None:
            header += [f"Au comité du {format_date(self.c.previous.date)}", "Évolution"]
        rows = []
        for status, now in h.status_counts.items():
            row: list[Any] = [strings.status_label(status), format_number(now)]
            if then is not None:
                row += [format_number(then[status]), _delta(now, then[status])]
            rows.append(row)
        total: list[Any] = ["Total", format_number(h.actions)]
        if then is not None:
            total += [format_number(sum(then.values())), _delta(h.actions, sum(then.values()))]
        rows.append(total)
        widths = [60, 20, 35, 20] if then is not None else [60, 20]
        statuses = self.table(
            header,
            rows,
            widths,
            right=set(range(1, 4)),
            bold_last=True,
            width=self.width * (0.8 if then is not None else 0.5),
        )
        statuses.hAlign = "LEFT"
        return [
            self.p("Chiffres clés", s.h1),
            self.p(
                f"{h.actions} actions suivies. Avancement moyen des actions (hors abandonnées) "
                "face à l'avancement attendu selon leurs dates ; budget de l'année "
                f"{h.year}, toutes collectivités ; indicateurs atteints ou en bonne voie."
            ),
            boxes,
            self.p("Les actions par statut", s.h2),
            statuses,
        ]

    def graphs(self) -> list[Flowable]:
        story: list[Flowable] = [self.p("Le plan en graphiques", self.s.h2)]
        if self.problem:
            story.append(self.p(f"Graphiques non disponibles : {self.problem}.", self.s.note))
            return story
        story += self.chart("progress", "Avancement réel et attendu de chaque objectif.")
        story += self.chart("budget", "Crédits demandés, arbitrés et réalisés par année.")
        story += self.chart(
            "timeline",
            "Calendrier des actions, de leur début à leur fin prévue ; symbole de santé : "
            "✓ dans les temps, ▲ en retard sur le calendrier, ! à risque, ● terminée, "
            "✕ arrêtée ; losanges : jalons (pleins si réalisés).",
        )
        story += self.chart(
            "indicators", "Chaque indicateur : ses mesures et sa trajectoire vers la cible."
        )
        return story

    def objective(self, o: dict[str, Any]) -> list[Flowable]:
        s = self.s
        actions = self.c.actions_of(o["code"])
        health = Counter(Health(a["health"]) for a in actions)
        summary = [f"{len(actions)} action(s)"]
        if o["progress"] is not None:
            summary.append(f"avancement moyen {format_percent(o['progress'])}")
        if o["expected"] is not None:
            summary.append(f"attendu selon le calendrier {format_percent(o['expected'])}")
        rows = []
        for a in actions:
            flags = []
            if a["late"]:
                flags.append("▲ en retard")
            if a["update_due"]:
                flags.append("mise à jour attendue")
            rows.append(
                [
                    a["code"],
                    a["title"],
                    [strings.status_label(a["status"]), strings.weather_label(a["weather"])],
                    strings.health_label(a["health"]),
                    format_percent(a["progress"]),
                    format_date(_day(a["planned_end"])) or "–",
                    a["pilot"] or "–",
                    flags or "–",
                ]
            )
        story: list[Flowable] = [
            PageBreak(),
            self.p(f"Objectif {o['code']} — {o['title']}", s.h1),
            self.p(" · ".join(summary) + "."),
            self.p(
                " · ".join(
                    f"{strings.HEALTH_SYMBOLS[h]} {n} {strings.HEALTH_LABELS[h].lower()}"
                    for h, n in ((h, health.get(h, 0)) for h in Health)
                    if n
                ),
                s.note,
            ),
        ]
        if rows:
            story.append(
                self.table(
                    [
                        "Code",
                        "Action",
                        "Statut et météo",
                        "Santé",
                        "Avanc.",
                        "Fin prévue",
                        "Pilote",
                        "Alertes",
                    ],
                    rows,
                    [32, 110, 62, 68, 42, 46, 78, 52],
                    right={4},
                )
            )
        else:
            story.append(self.p("Aucune action dans cet objectif."))
        codes = {a["code"] for a in actions}
        overdue = self.c.overdue_milestones(codes)
        if overdue:
            story += [
                self.p("Jalons en retard", s.h3),
                self.table(
                    ["Action", "Jalon", "Échéance", "Retard"],
                    [
                        [
                            m["action"],
                            m["title"],
                            format_date(_day(m["due"])),
                            f"{(self.c.at - _day(m['due'])).days} j",
                        ]
                        for m in overdue
                    ],
                    [20, 110, 35, 20],
                    right={3},
                ),
            ]
        indicators = [i for i in self.c.snapshot["indicators"] if i["objective"] == o["code"]]
        if indicators:
            story += [
                self.p("Indicateurs de l'objectif", s.h3),
                self.table(
                    ["Code", "Indicateur", "Dernière mesure", "Cible", "Statut"],
                    [
                        [
                            i["code"],
                            i["name"],
                            _measure_text(i["value"], i["unit"], i["date"]),
                            _measure_text(i["target"], i["unit"], i["target_date"]),
                            strings.indicator_status_label(IndicatorStatus(i["status"])),
                        ]
                        for i in indicators
                    ],
                    [22, 100, 48, 48, 40],
                ),
            ]
        return story

    def changes(self) -> list[Flowable]:
        s, c = self.s, self.c
        story: list[Flowable] = [PageBreak(), self.p("Depuis le comité précédent", s.h1)]
        comparison = c.comparison
        if comparison is None:
            story.append(
                self.p("Aucun comité clos avant celui-ci : pas encore de comparaison possible.")
            )
            return story
        after = (
            f"celui du {format_date(comparison.after_at)}"
            if c.frozen
            else f"l'état du plan au {format_date(comparison.after_at)}"
        )
        story.append(
            self.p(
                f"Changements entre l'instantané du {format_date(comparison.before_at)} "
                f"(comité « {c.previous.title} ») et {after}."
            )
        )
        if comparison.empty:
            story.append(self.p("Aucun changement entre ces deux dates."))
            return story
        if self.problem is None:
            story += self.chart("changes", "Nombre de changements de chaque sorte.")
        titles = {o["code"]: o["title"] for o in c.snapshot["objectives"]}
        order = {o["code"]: n for n, o in enumerate(c.snapshot["objectives"])}
        grouped = comparison.by_objective
        if grouped:
            story.append(self.p("Actions, par objectif", s.h2))
        for code in sorted(grouped, key=lambda k: (order.get(k, len(order)), k)):
            story += [
                self.p(f"Objectif {code} : {titles.get(code, '')}", s.h3),
                self.table(
                    ["Action", "Changement", "Avant", "Après"],
                    [
                        [
                            f"{ch.code} — {ch.title}",
                            change_label(ch.field),
                            change_value(ch.field, ch.old),
                            change_value(ch.field, ch.new),
                        ]
                        for ch in grouped[code]
                    ],
                    [90, 30, 35, 35],
                ),
            ]
        if comparison.completed_milestones or comparison.newly_late_milestones:
            rows = [
                [m["action"], m["title"], format_date(_day(m["due"])) or "–", done_text(m)]
                for m in comparison.completed_milestones
            ] + [
                [m["action"], m["title"], format_date(_day(m["due"])), "▲ passé en retard"]
                for m in comparison.newly_late_milestones
            ]
            story += [
                self.p("Jalons", s.h2),
                self.table(["Action", "Jalon", "Échéance", "Changement"], rows, [18, 100, 30, 40]),
            ]
        if comparison.budget:
            story += [
                self.p("Budget", s.h2),
                self.table(
                    ["Année", "Montant", "Avant", "Après", "Écart"],
                    [
                        [year, what, format_eur(old), format_eur(new), _signed_eur(new - old)]
                        for year, what, old, new in comparison.budget
                    ],
                    [18, 30, 40, 40, 40],
                    right={2, 3, 4},
                ),
            ]
        if comparison.indicators:
            story += [
                self.p("Indicateurs : nouvelles mesures", s.h2),
                self.table(
                    ["Indicateur", "Avant", "Après", "Statut"],
                    [
                        [
                            f"{new['code']} — {new['name']}",
                            _measure_text(old["value"], new["unit"], old["date"])
                            if old and old.get("date")
                            else "–",
                            _measure_text(new["value"], new["unit"], new["date"]),
                            strings.indicator_status_label(IndicatorStatus(new["status"])),
                        ]
                        for old, new in comparison.indicators
                    ],
                    [80, 40, 40, 35],
                ),
            ]
        if comparison.decisions_opened or comparison.decisions_closed:
            rows = [
                [
                    d["text"],
                    "ouverte",
                    f"{d['review_title']} ({format_date(_day(d['review_date']))})",
                ]
                for d in comparison.decisions_opened
            ] + [
                [
                    d["text"],
                    strings.DECISION_STATUS_LABELS[DecisionStatus(d["status"])],
                    f"{d['review_title']} ({format_date(_day(d['review_date']))})",
                ]
                for d in comparison.decisions_closed
            ]
            story += [
                self.p("Décisions", s.h2),
                self.table(["Décision", "Changement", "Comité"], rows, [100, 25, 55]),
            ]
        return story

    def budget(self) -> list[Flowable]:
        s, c = self.s, self.c
        year = str(c.year)
        story: list[Flowable] = [CondPageBreak(60 * mm), self.p(f"Budget de l'année {year}", s.h1)]
        by_collectivity = c.snapshot["budget_by_collectivity"].get(year, {})
        total = c.snapshot["budget"].get(year)
        if not by_collectivity or total is None:
            story.append(self.p(f"Aucune ligne budgétaire pour {year}."))
            return story
        rows = [
            _budget_row(name, t)
            for name, t in sorted(by_collectivity.items(), key=lambda item: item[0])
        ]
        rows.append(_budget_row("Total", total))
        story += [
            self.p(
                "Crédits demandés lors de la préparation budgétaire, arbitrés, et réalisés "
                f"(dépensés) au {format_date(c.at)} ; exécution : réalisé rapporté à l'arbitré."
            ),
            self.table(
                ["Collectivité", "Demandé", "Arbitré", "Réalisé", "Exécution"],
                rows,
                [50, 35, 35, 35, 25],
                right={1, 2, 3, 4},
                bold_last=True,
            ),
        ]
        return story

    def indicators(self) -> list[Flowable]:
        s, c = self.s, self.c
        h = c.headline
        late = c.indicators_with(IndicatorStatus.LATE)
        stale = c.indicators_with(IndicatorStatus.NO_RECENT)
        story: list[Flowable] = [
            CondPageBreak(60 * mm),
            self.p("Indicateurs en retard", s.h1),
            self.p(
                f"{h.indicators_on_track} indicateur(s) sur {h.indicators} atteints ou en bonne "
                f"voie ; {len(late)} en retard ; {len(stale)} sans mesure récente."
            ),
        ]
        if late:
            story.append(
                self.table(
                    ["Code", "Indicateur", "Dernière mesure", "Attendu à cette date", "Cible"],
                    [
                        [
                            i["code"],
                            i["name"],
                            _measure_text(i["value"], i["unit"], i["date"]),
                            format_value(i["expected"], i["unit"]) or "–",
                            _measure_text(i["target"], i["unit"], i["target_date"]),
                        ]
                        for i in late
                    ],
                    [18, 80, 45, 40, 45],
                )
            )
        else:
            story.append(self.p("Aucun indicateur en retard sur sa trajectoire."))
        if stale:
            story += [
                self.p("Sans mesure récente", s.h3),
                self.table(
                    ["Code", "Indicateur", "Dernière mesure"],
                    [
                        [i["code"], i["name"], _measure_text(i["value"], i["unit"], i["date"])]
                        for i in stale
                    ],
                    [20, 120, 45],
                ),
            ]
        return story

    def decisions(self) -> list[Flowable]:
        s, c = self.s, self.c
        rows = c.open_decisions()
        late = sum(1 for d in rows if c.overdue(d))
        story: list[Flowable] = [CondPageBreak(60 * mm), self.p("Décisions à suivre", s.h1)]
        if not rows:
            story.append(self.p("Aucune décision en cours de suivi."))
            return story
        story += [
            self.p(
                f"{len(rows)} décision(s) à faire ou en cours, dont {late} en retard sur leur "
                "échéance (▲)."
            ),
            self.table(
                ["Échéance", "Décision", "Responsable", "Lien", "Statut", "Comité"],
                [
                    [
                        [format_date(_day(d["due"])) or "–", "▲ en retard" if c.overdue(d) else ""],
                        d["text"],
                        d["owner"] or "–",
                        _link_text(d),
                        strings.DECISION_STATUS_LABELS[DecisionStatus(d["status"])],
                        [d["review_title"], format_date(_day(d["review_date"]))],
                    ]
                    for d in rows
                ],
                [26, 74, 38, 26, 20, 40],
            ),
        ]
        return story

    def story(self) -> list[Flowable]:
        story = self.cover()
        story += [PageBreak(), *self.headline(), *self.graphs()]
        for o in self.c.snapshot["objectives"]:
            story += self.objective(o)
        story += self.changes()
        story += self.budget()
        story += self.indicators()
        story += self.decisions()
        return story


def _delta(now: int, then: int) -> str:
    return "=" if now == then else f"{now - then:+d}".replace("-", "−")


def _signed_eur(cents: int) -> str:
    return ("+" if cents >= 0 else "−") + format_eur(abs(cents))


def done_text(m: dict[str, Any]) -> str:
    return f"● réalisé le {format_date(_day(m['done']))}"


def _budget_row(name: str, t: dict[str, int]) -> list[str]:
    execution = 100 * t["spent"] / t["arbitrated"] if t["arbitrated"] else None
    return [
        name,
        format_eur(t["requested"]),
        format_eur(t["arbitrated"]),
        format_eur(t["spent"]),
        format_percent(execution) if execution is not None else "–",
    ]


def _footer_text(content: ReportContent, fonts: _Fonts) -> str:
    parts = [content.plan["name"]]
    if content.meeting is not None:
        parts.append(f"comité « {content.meeting.title} » du {format_date(content.meeting.date)}")
    else:
        parts.append(f"état au {format_date(content.at)}")
    if content.plan["is_example"]:
        parts.append("données illustratives")
    text = " — ".join(parts)
    if not fonts.unicode:
        text = text.encode("cp1252", errors="replace").decode("cp1252")
    # Cut to leave room for « Page N / M » on the right.
    room = A4[0] - 2 * PAGE_MARGIN - 30 * mm
    while pdfmetrics.stringWidth(text, fonts.regular, FOOTER_FONT_SIZE) > room:
        text = text[:-2] + "…"
    return text


def report_pdf(content: ReportContent, *, with_charts: bool = True) -> bytes:
    """The committee's report as an A4 PDF (French, readable in black and white).

    The charts are rendered once per report by one headless Chromium; when it
    cannot be found or fails, the report says so and is built without them.
    """
    figures: dict[str, go.Figure] = {}
    images: dict[str, bytes] = {}
    problem = None if with_charts else "rapport demandé sans graphiques"
    if with_charts:
        try:
            with chart_renderer() as render:
                figures = report_figures(content)  # while the browser starts
                images = {name: render(fig) for name, fig in figures.items()}
        except ChartsUnavailable as exc:
            problem = str(exc)
    heights = {name: int(fig.layout.height or 450) for name, fig in figures.items()}
    report = _Report(content, images, heights, problem)
    buffer = io.BytesIO()
    title = "Comité de pilotage — " + content.plan["name"]
    if content.meeting is not None:
        title += f" — {content.meeting.label}"
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=PAGE_MARGIN,
        rightMargin=PAGE_MARGIN,
        topMargin=PAGE_MARGIN,
        bottomMargin=PAGE_MARGIN + FOOTER_HEIGHT,
        title=title,
        author=f"{strings.APP_TITLE} — {strings.APP_SUBTITLE}",
        subject="Rapport du comité de pilotage",
        creator=strings.APP_TITLE,
        lang="fr-FR",
        invariant=True,  # no timestamp nor random id: the same content gives the same file
    )
    story = report.story()
    doc.build(
        story,
        canvasmaker=functools.partial(
            _NumberedCanvas,
            footer=_footer_text(content, report.fonts),
            font=report.fonts.regular,
        ),
    )
    return buffer.getvalue()


# --------------------------------------------------------------------------
# Workbook
# --------------------------------------------------------------------------

SHEETS = ("Synthèse", "Actions", "Changements", "Budget", "Indicateurs", "Décisions")
_BOLD = Font(bold=True)


def _euros(cents: int | None) -> float | None:
    return None if cents is None else cents / 100


def _share(percent: float | None) -> float | None:
    """A percentage (45.3) as the fraction a percent format shows (0.453)."""
    return None if percent is None else percent / 100


def _write_table(ws: Worksheet, header: list[str], rows: list[list[Any]], first: int = 1) -> None:
    """A header row, then the rows; euros, percentages and dates get their format
    from the header (« (€) », « (%) ») or the value's type."""
    for n, name in enumerate(header, start=1):
        cell = ws.cell(first, n, name)
        cell.font = _BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r, row in enumerate(rows, start=first + 1):
        for n, value in enumerate(row, start=1):
            cell = ws.cell(r, n, value)
            name = header[n - 1]
            if isinstance(value, date):
                cell.number_format = DATE_FORMAT
            elif isinstance(value, int | float) and name.endswith("(€)"):
                cell.number_format = EURO_FORMAT
            elif isinstance(value, int | float) and name.endswith("(%)"):
                cell.number_format = PERCENT_FORMAT
    widths = [max(len(name), 10) for name in header]
    for row in rows:
        for n, value in enumerate(row):
            text = format_date(value) if isinstance(value, date) else str(value or "")
            widths[n] = max(widths[n], min(len(text), 60))
    for n, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width + 2
    ws.freeze_panes = ws.cell(first + 1, 1)
    if rows:
        ws.auto_filter.ref = f"A{first}:{get_column_letter(len(header))}{first + len(rows)}"


def _summary_sheet(ws: Worksheet, content: ReportContent) -> None:
    h = content.headline
    rows: list[list[Any]] = []
    if content.plan["is_example"]:
        rows.append([strings.EXAMPLE_BANNER, strings.EXAMPLE_BANNER_DETAIL])
    rows += [
        ["Plan", content.plan["name"]],
        ["Comité", content.meeting.title if content.meeting else "–"],
        ["Date du comité", content.meeting.date if content.meeting else None],
        ["Chiffres au", content.at],
        ["État", _state_sentence(content)],
        ["Comparé au comité", content.previous.label if content.previous else "–"],
        ["Actions suivies", h.actions],
        *[[f"Actions : {strings.status_label(s)}", n] for s, n in h.status_counts.items()],
        ["Avancement moyen", _share(h.progress)],
        ["Avancement attendu selon le calendrier", _share(h.expected)],
        [f"Demandé {h.year}", _euros(h.requested_cents)],
        [f"Arbitré {h.year}", _euros(h.arbitrated_cents)],
        [f"Réalisé {h.year}", _euros(h.spent_cents)],
        [f"Exécution {h.year}", _share(h.execution)],
        ["Indicateurs atteints ou en bonne voie", h.indicators_on_track],
        ["Indicateurs suivis", h.indicators],
    ]
    _write_table(ws, ["Rubrique", "Valeur"], rows)
    for r, (label, value) in enumerate(rows, start=2):
        cell = ws.cell(r, 2)
        if isinstance(value, date):
            cell.number_format = DATE_FORMAT
        elif label.startswith(("Demandé", "Arbitré", "Réalisé")):
            cell.number_format = EURO_FORMAT
        elif label.startswith(("Avancement", "Exécution")):
            cell.number_format = PERCENT_FORMAT
    ws.column_dimensions["B"].width = 60


def report_xlsx(content: ReportContent) -> bytes:
    """The report's content as a workbook: numbers as numbers, dates as dates."""
    snapshot, c = content.snapshot, content.comparison
    titles = {o["code"]: o["title"] for o in snapshot["objectives"]}
    wb = Workbook()
    ws = wb.active
    ws.title = SHEETS[0]
    _summary_sheet(ws, content)

    _write_table(
        wb.create_sheet(SHEETS[1]),
        [
            "Objectif",
            "Titre de l'objectif",
            "Code",
            "Action",
            "Statut",
            "Météo",
            "Santé",
            "Avancement (%)",
            "Attendu (%)",
            "En retard",
            "Mise à jour attendue",
            "Début",
            "Fin prévue",
            "Pilote",
        ],
        [
            [
                a["objective"],
                titles.get(a["objective"], ""),
                a["code"],
                a["title"],
                strings.status_label(a["status"]),
                strings.weather_label(a["weather"]),
                strings.health_label(a["health"]),
                _share(a["progress"]),
                _share(a["expected"]),
                "Oui" if a["late"] else "Non",
                "Oui" if a["update_due"] else "Non",
                _day(a["start"]),
                _day(a["planned_end"]),
                a["pilot"],
            ]
            for a in snapshot["actions"]
        ],
    )

    changes: list[list[Any]] = []
    if c is not None:
        for ch in c.actions:
            changes.append(
                [
                    "Action",
                    ch.objective,
                    f"{ch.code} — {ch.title}",
                    change_label(ch.field),
                    change_value(ch.field, ch.old),
                    change_value(ch.field, ch.new),
                ]
            )
        for m in c.completed_milestones:
            changes.append(["Jalon", "", f"{m['action']} — {m['title']}", "réalisé", "", m["done"]])
        for m in c.newly_late_milestones:
            changes.append(
                ["Jalon", "", f"{m['action']} — {m['title']}", "passé en retard", "", m["due"]]
            )
        for year, what, old, new in c.budget:
            changes.append(["Budget", "", year, what, _euros(old), _euros(new)])
        for old, new in c.indicators:
            changes.append(
                [
                    "Indicateur",
                    new["objective"] or "",
                    f"{new['code']} — {new['name']}",
                    "nouvelle mesure",
                    old["value"] if old and old.get("date") else None,
                    new["value"],
                ]
            )
        for d in c.decisions_opened:
            changes.append(["Décision", d["objective"] or "", d["text"], "ouverte", "", ""])
        for d in c.decisions_closed:
            changes.append(
                [
                    "Décision",
                    d["objective"] or "",
                    d["text"],
                    strings.DECISION_STATUS_LABELS[DecisionStatus(d["status"])],
                    "",
                    "",
                ]
            )
    ws = wb.create_sheet(SHEETS[2])
    _write_table(ws, ["Rubrique", "Objectif", "Élément", "Changement", "Avant", "Après"], changes)
    for r, row in enumerate(changes, start=2):
        for n in (5, 6):
            value = row[n - 1]
            if row[0] == "Budget":
                ws.cell(r, n).number_format = EURO_FORMAT
            elif row[0] == "Jalon" and value:
                ws.cell(r, n).value = _day(value)
                ws.cell(r, n).number_format = DATE_FORMAT

    budget_rows: list[list[Any]] = []
    for year, total in snapshot["budget"].items():
        for name, t in sorted(snapshot["budget_by_collectivity"].get(year, {}).items()):
            budget_rows.append(_budget_numbers(int(year), name, t))
        budget_rows.append(_budget_numbers(int(year), "Total", total))
    ws = wb.create_sheet(SHEETS[3])
    _write_table(
        ws,
        ["Année", "Collectivité", "Demandé (€)", "Arbitré (€)", "Réalisé (€)", "Exécution (%)"],
        budget_rows,
    )
    for r, row in enumerate(budget_rows, start=2):
        if row[1] == "Total":
            for n in range(1, 7):
                ws.cell(r, n).font = _BOLD

    _write_table(
        wb.create_sheet(SHEETS[4]),
        [
            "Code",
            "Indicateur",
            "Objectif",
            "Unité",
            "Dernière valeur",
            "Date de la mesure",
            "Attendu à cette date",
            "Cible",
            "Date cible",
            "Statut",
        ],
        [
            [
                i["code"],
                i["name"],
                i["objective"] or "",
                i["unit"],
                i["value"],
                _day(i["date"]),
                i["expected"],
                i["target"],
                _day(i["target_date"]),
                strings.indicator_status_label(IndicatorStatus(i["status"])),
            ]
            for i in snapshot["indicators"]
        ],
    )

    _write_table(
        wb.create_sheet(SHEETS[5]),
        [
            "Comité",
            "Date du comité",
            "Décision",
            "Action",
            "Objectif",
            "Responsable",
            "Échéance",
            "Statut",
            "En retard",
        ],
        [
            [
                d["review_title"],
                _day(d["review_date"]),
                d["text"],
                d["action"] or "",
                d["objective"] or "",
                d["owner"],
                _day(d["due"]),
                strings.DECISION_STATUS_LABELS[DecisionStatus(d["status"])],
                "Oui" if content.overdue(d) else "Non",
            ]
            for d in snapshot["decisions"]
        ],
    )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _budget_numbers(year: int, name: str, t: dict[str, int]) -> list[Any]:
    return [
        year,
        name,
        _euros(t["requested"]),
        _euros(t["arbitrated"]),
        _euros(t["spent"]),
        t["spent"] / t["arbitrated"] if t["arbitrated"] else None,
    ]
