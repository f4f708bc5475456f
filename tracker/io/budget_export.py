"""The budget workbook for the finance department (.xlsx).

A first sheet « Synthèse » (per year and collectivity, then the grand total),
then one sheet per year listing every budget line with its totals row.
Amounts are numbers in euros with a euro format, never text, and totals are
values computed here rather than formulas, so that any reader (a viewer, a
script, a spreadsheet that does not recalculate) sees the same figures.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session

from tracker import strings
from tracker.errors import ValidationError
from tracker.formats import format_date
from tracker.io.export import DATE_FORMAT, EURO_FORMAT, HEADER_FILL
from tracker.models import Plan
from tracker.services import budgets
from tracker.services import plans as plan_service

PERCENT_FORMAT = "0.0\\ %"
SUMMARY_SHEET = "Synthèse"
EXAMPLE_NOTICE = "Plan d'exemple : données illustratives (ce n'est pas le plan réel)."

LINE_HEADERS = [
    "Code action",
    "Action",
    "Objectif",
    "Collectivité",
    "Section",
    "Demandé (€)",
    "Arbitré (€)",
    "Réalisé (€)",
    "Écart arbitré − demandé (€)",
    "Taux de réalisation",
    "Date de décision",
    "Commentaire",
]
SUMMARY_HEADERS = [
    "Année",
    "Collectivité",
    "Demandé (€)",
    "Arbitré (€)",
    "Réalisé (€)",
    "Taux de réalisation",
]
RATE_HEADER = "Taux de réalisation"

_BOLD = Font(bold=True)
_TOTAL_BORDER = Border(top=Side(style="thin"))


def _euros(cents: int | None) -> float | None:
    return None if cents is None else cents / 100


def _rate(spent: int | float, arbitrated: int | float | None) -> float | None:
    """Spent as a share of arbitrated (0.85 shows as 85,0 %); empty when nothing was."""
    return spent / arbitrated if arbitrated else None


@dataclass
class _Sums:
    """Column totals of the lines written, in cents (exact; euros only when written)."""

    requested: int = 0
    arbitrated: int = 0
    spent: int = 0
    difference: int = 0

    def add(self, line: budgets.LineView) -> None:
        self.requested += line.requested_cents
        self.spent += line.spent_cents
        if line.arbitrated_cents is not None:
            self.arbitrated += line.arbitrated_cents
            self.difference += line.arbitrated_cents - line.requested_cents


def _years(session: Session, plan: Plan, year: int | None) -> list[int]:
    """The years to export: the plan's period, plus any year that holds lines outside
    it (so no money is left out); only ``year`` when given, if it holds lines."""
    with_lines = {s.year for s in budgets.budget_by_year(session, plan.id)}
    if year is None:
        return sorted(set(range(plan.first_year, plan.last_year + 1)) | with_lines)
    if not plan.first_year <= year <= plan.last_year:
        raise ValidationError(
            f"L'année {year} est hors de la période du plan ({plan.first_year}-{plan.last_year})."
        )
    if year not in with_lines:
        raise ValidationError(f"Aucune ligne budgétaire pour {year} dans ce plan.")
    return [year]


def _header_row(ws: Worksheet, headers: list[str]) -> None:
    ws.append(headers)
    for cell in ws[ws.max_row]:
        cell.font = _BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")


def _format_columns(ws: Worksheet, headers: list[str], first_row: int) -> None:
    """Number formats by column (euros, percentages, dates) and widths from the content."""
    for index, header in enumerate(headers, start=1):
        letter = get_column_letter(index)
        cells = [row[0] for row in ws.iter_rows(min_row=first_row, min_col=index, max_col=index)]
        for cell in cells:
            if header.endswith("(€)"):
                cell.number_format = EURO_FORMAT
            elif header == RATE_HEADER:
                cell.number_format = PERCENT_FORMAT
            elif isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT
        if header.endswith("(€)"):
            width = max(len(header) * 0.8, 16)
        else:
            texts = [str(c.value) for c in cells[:300] if isinstance(c.value, str)]
            width = max([len(header)] + [len(t) for t in texts]) + 2
        ws.column_dimensions[letter].width = min(max(width, 10), 60)


def _print_header(ws: Worksheet, plan_name: str, is_example: bool) -> None:
    """Name the plan (and say it is illustrative) on every printed page."""
    text = plan_name + (" — Plan d'exemple : données illustratives" if is_example else "")
    ws.oddHeader.center.text = text.replace("&", "&&")
    ws.oddFooter.right.text = "Page &P / &N"


def _write_year(
    wb: Workbook,
    year: int,
    lines: list[budgets.LineView],
    titles: dict[str, tuple[str, str]],
) -> None:
    ws = wb.create_sheet(str(year))
    _header_row(ws, LINE_HEADERS)
    sums = _Sums()
    pending = 0
    for line in lines:
        action_title, objective = titles.get(line.action_code, ("", ""))
        arbitrated = line.arbitrated_cents
        sums.add(line)
        pending += arbitrated is None
        ws.append(
            [
                line.action_code,
                action_title,
                objective,
                line.collectivity,
                strings.SECTION_LABELS[strings.BudgetSection(line.section)],
                _euros(line.requested_cents),
                _euros(arbitrated),
                _euros(line.spent_cents),
                None if arbitrated is None else _euros(arbitrated - line.requested_cents),
                _rate(line.spent_cents, arbitrated),
                line.decision_date,
                line.comment or None,
            ]
        )
    ws.append(
        [
            f"Total {year}",
            None,
            None,
            None,
            None,
            _euros(sums.requested),
            _euros(sums.arbitrated),
            _euros(sums.spent),
            _euros(sums.difference),
            _rate(sums.spent, sums.arbitrated),
        ]
    )
    for cell in ws[ws.max_row]:
        cell.font = _BOLD
        cell.border = _TOTAL_BORDER
    _format_columns(ws, LINE_HEADERS, first_row=2)
    for row in ws.iter_rows(min_row=2, min_col=12, max_col=12):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    if pending:  # after the widths: this long note must not widen the code column
        ws.append(
            [
                f"{pending} ligne(s) pas encore arbitrée(s) : leurs arbitré, écart et taux "
                "restent vides et n'entrent pas dans ces totaux (leur demandé et leur "
                "réalisé y entrent)."
            ]
        )
        ws.cell(ws.max_row, 1).font = Font(italic=True)
    ws.freeze_panes = "B2"


def _write_summary(
    wb: Workbook, plan: Plan, per_year: list[tuple[int, budgets.YearBudget]]
) -> None:
    ws = wb.create_sheet(SUMMARY_SHEET, 0)
    ws.append([f"Budget du plan « {plan.name} »"])
    ws.cell(1, 1).font = Font(bold=True, size=13)
    if plan.is_example:
        ws.append([EXAMPLE_NOTICE])
        ws.cell(ws.max_row, 1).font = Font(bold=True, color="9C0006")
    ws.append(
        [
            f"Période du plan : {plan.first_year}-{plan.last_year}. Montants en euros, "
            f"état au {format_date(date.today())}. Une feuille par année détaille chaque ligne."
        ]
    )
    ws.append([])
    _header_row(ws, SUMMARY_HEADERS)
    header_row = ws.max_row
    grand = budgets.Totals()
    for year, data in per_year:
        for name, t in data.by_collectivity.items():
            ws.append(_summary_row(year, name, t))
        ws.append(_summary_row(year, f"Total {year}", data.total))
        for cell in ws[ws.max_row]:
            cell.font = _BOLD
        grand = budgets.Totals(
            grand.requested_cents + data.total.requested_cents,
            grand.arbitrated_cents + data.total.arbitrated_cents,
            grand.spent_cents + data.total.spent_cents,
        )
    years = [y for y, _ in per_year]
    period = f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
    ws.append(_summary_row(None, f"Total général {period}", grand))
    for cell in ws[ws.max_row]:
        cell.font = _BOLD
        cell.fill = HEADER_FILL
        cell.border = _TOTAL_BORDER
    _format_columns(ws, SUMMARY_HEADERS, first_row=header_row + 1)
    ws.column_dimensions["A"].width = 10
    ws.freeze_panes = ws.cell(header_row + 1, 1).coordinate


def _summary_row(year: int | None, label: str, t: budgets.Totals) -> list[Any]:
    return [
        year,
        label,
        _euros(t.requested_cents),
        _euros(t.arbitrated_cents),
        _euros(t.spent_cents),
        _rate(t.spent_cents, t.arbitrated_cents),
    ]


def build_finance_workbook(session: Session, plan_id: int, year: int | None = None) -> Workbook:
    """The finance workbook of a plan (every year, or only ``year``).

    Raises ValidationError for a year outside the plan's period or without
    any budget line.
    """
    plan = plan_service.get_plan(session, plan_id)
    years = _years(session, plan, year)
    wb = Workbook()
    wb.remove(wb.active)
    per_year = []
    for y in years:
        data = budgets.year_budget(session, plan_id, y)
        titles = {r.code: (r.title, f"{r.objective_code}. {r.objective_title}") for r in data.rows}
        _write_year(wb, y, budgets.year_lines(session, plan_id, y), titles)
        per_year.append((y, data))
    _write_summary(wb, plan, per_year)
    for ws in wb.worksheets:
        _print_header(ws, plan.name, plan.is_example)
    wb.active = 0
    return wb


def finance_workbook(session: Session, plan_id: int, year: int | None = None) -> bytes:
    """The finance workbook of a plan as .xlsx bytes (see ``build_finance_workbook``)."""
    buffer = io.BytesIO()
    build_finance_workbook(session, plan_id, year).save(buffer)
    return buffer.getvalue()
