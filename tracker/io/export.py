"""Writing a plan in the import template (.xlsx): what the import reads back.

Amounts are numbers with a euro format, dates are dates, every sheet has a
frozen header row and set column widths, and a sheet « À lire » explains each
column (from tracker.io.template.COLUMN_HELP).
"""

from __future__ import annotations

import io
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from tracker import strings
from tracker.io.columns import COLUMN_HELP
from tracker.io.template import SHEETS
from tracker.services.plans import PlanData

DATE_FORMAT = "DD/MM/YYYY"
EURO_FORMAT = '#,##0.00\\ "€"'
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")

_LABELS: dict[type, dict] = {
    strings.ActionStatus: strings.STATUS_LABELS,
    strings.Weather: strings.WEATHER_LABELS,
    strings.ProgressMode: strings.PROGRESS_MODE_LABELS,
    strings.Priority: strings.PRIORITY_LABELS,
    strings.BudgetSection: strings.SECTION_LABELS,
    strings.FundingStatus: strings.FUNDING_STATUS_LABELS,
    strings.Direction: strings.DIRECTION_LABELS,
    strings.SourceType: strings.SOURCE_TYPE_LABELS,
}


def _cell(value: Any) -> Any:
    if isinstance(value, Enum):
        return _LABELS[type(value)][value]
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return "; ".join(value)
    return value


def _euros(cents: int | None) -> float | None:
    return None if cents is None else cents / 100


def sheet_rows(data: PlanData, versions: dict[str, int]) -> dict[str, list[list[Any]]]:
    """Each sheet's data rows, in the template's column order."""
    return {
        "Plan": [
            [
                data.name,
                "; ".join(data.collectivities),
                data.adopted_on,
                data.deliberation_ref,
                data.first_year,
                data.last_year,
                "oui" if data.is_example else "non",
                data.description,
            ]
        ],
        "Enjeux": [[s.code, s.title, s.description] for s in data.stakes],
        "Objectifs": [[o.code, o.title, o.description, o.stake_codes] for o in data.objectives],
        "Actions": [
            [
                a.code,
                a.title,
                a.objective_code,
                a.carriers,
                a.pilot_name,
                a.pilot_function,
                a.service,
                a.elected_referent,
                a.partners,
                a.status,
                a.weather,
                a.progress,
                a.progress_mode,
                a.priority,
                a.start_date,
                a.planned_end_date,
                a.actual_end_date,
                a.update_period_days,
                a.description,
                versions.get(a.code),
            ]
            for a in data.actions
        ],
        "Jalons": [
            [m.action_code, m.title, m.due_date, m.done_date, m.weight] for m in data.milestones
        ],
        "Budget": [
            [
                b.action_code,
                b.year,
                b.collectivity,
                b.section,
                _euros(b.requested_cents),
                _euros(b.arbitrated_cents),
                _euros(b.spent_cents),
                b.comment,
            ]
            for b in data.budget_lines
        ],
        "Financements": [
            [f.action_code, f.financer, _euros(f.amount_cents), f.status] for f in data.fundings
        ],
        "Indicateurs": [
            [
                i.code,
                i.name,
                i.definition,
                i.unit,
                i.direction,
                i.source_type,
                i.source,
                i.baseline_value,
                i.baseline_date,
                i.intermediate_target,
                i.intermediate_target_date,
                i.target_value,
                i.target_date,
                i.update_period_days,
                i.objective_code,
                i.action_codes,
                i.survey_question,
                i.survey_values,
                i.survey_filter_question,
                i.survey_filter_values,
            ]
            for i in data.indicators
        ],
        "Mesures": [
            [
                m.indicator_code,
                m.date,
                m.value,
                m.source,
                m.sample_size,
                m.ci_low,
                m.ci_high,
                m.comment,
            ]
            for m in data.measurements
        ],
        "Références": [[r.indicator_code, r.date, r.value, r.source] for r in data.references],
    }


def headers(sheet: str) -> list[str]:
    return [c.header for c in SHEETS[sheet]]


def _write_readme(wb: Workbook, is_example: bool) -> None:
    ws = wb.create_sheet("À lire", 0)
    ws.append(
        ["Modèle d'import du suivi de la stratégie digitale (Ville de Cahors et Grand Cahors)"]
    )
    ws["A1"].font = Font(bold=True, size=13)
    if is_example:
        ws.append(["Plan d'exemple : données illustratives (ce n'est pas le plan réel)."])
        ws["A2"].font = Font(bold=True, color="9C0006")
    ws.append(
        [
            "Une feuille par partie du plan ; la première ligne de chaque feuille porte les "
            "en-têtes. Les codes servent de clés : réimporter le fichier ne modifie que ce qui "
            "a changé et ne supprime rien."
        ]
    )
    ws.append([])
    ws.append(["Feuille", "Colonne", "Obligatoire", "Signification", "Valeurs et format"])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    for sheet in SHEETS:
        for header in headers(sheet):
            meaning, values, required = COLUMN_HELP[sheet][header]
            ws.append([sheet, header, "oui" if required else "non", meaning, values])
    for letter, width in zip("ABCDE", (14, 26, 12, 60, 70), strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=5):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def build_workbook(data: PlanData | None, versions: dict[str, int] | None = None) -> Workbook:
    """The template workbook, filled with ``data`` (or empty when ``data`` is None)."""
    wb = Workbook()
    wb.remove(wb.active)
    rows = sheet_rows(data, versions or {}) if data is not None else {}
    for sheet in SHEETS:
        ws = wb.create_sheet(sheet)
        names = headers(sheet)
        ws.append(names)
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = HEADER_FILL
        for row in rows.get(sheet, []):
            ws.append([_cell(v) for v in row])
        ws.freeze_panes = "A2"
        for index, name in enumerate(names, start=1):
            letter = get_column_letter(index)
            values = [name] + [
                str(r[index - 1]) for r in rows.get(sheet, [])[:200] if r[index - 1] is not None
            ]
            ws.column_dimensions[letter].width = min(max(len(v) for v in values) + 2, 60)
            money = name.endswith("(€)")
            for cell in ws[letter][1:]:
                if money:
                    cell.number_format = EURO_FORMAT
                elif isinstance(cell.value, date):
                    cell.number_format = DATE_FORMAT
                if isinstance(cell.value, str) and "\n" in cell.value:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    _write_readme(wb, bool(data and data.is_example))
    return wb


def write_workbook(
    target: str | Path | BinaryIO, data: PlanData | None, versions: dict[str, int] | None = None
) -> None:
    """Write the template (filled or empty) to a path or a binary stream."""
    build_workbook(data, versions).save(target)


def workbook_bytes(data: PlanData | None, versions: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    write_workbook(buffer, data, versions)
    return buffer.getvalue()
