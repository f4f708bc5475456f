"""From files to an import report: read the workbook or CSV files, then compare or apply.

Shared by the app's import page and ``python -m tracker import``.
"""

from __future__ import annotations

from sqlmodel import Session, select

from tracker.errors import ValidationError
from tracker.io.template import REQUIRED_SHEETS, SheetRow, plan_data_from_rows
from tracker.io.workbook import InputFile, SheetsRead, read_sheets
from tracker.models import Collectivity, Plan, User
from tracker.services.imports import SHEET_ORDER, ImportReport, import_plan
from tracker.services.plans import PlanData


def _plan_row(session: Session, plan: Plan) -> SheetRow:
    """The Plan sheet's row for an existing plan (files that update only some sheets)."""
    names = session.exec(
        select(Collectivity.name)
        .where(Collectivity.plan_id == plan.id)
        .order_by(Collectivity.position)
    ).all()
    return SheetRow(
        number=2,
        cells={
            "name": plan.name,
            "collectivities": "; ".join(names),
            "adopted_on": plan.adopted_on,
            "deliberation_ref": plan.deliberation_ref,
            "first_year": plan.first_year,
            "last_year": plan.last_year,
            "is_example": "oui" if plan.is_example else "non",
            "description": plan.description,
        },
    )


def read_import(
    session: Session,
    files: list[InputFile],
    *,
    sheet: str | None = None,
    plan_name: str | None = None,
) -> tuple[PlanData, dict[str, int], SheetsRead]:
    """Read the files into a plan's data and the action versions they carry.

    Files without a « Plan » sheet (e.g. a single Budget.csv) update an existing
    plan named by ``plan_name``.
    """
    read = read_sheets(files, sheet=sheet)
    rows = dict(read.rows)
    if "Plan" not in rows:
        plan = (
            session.exec(select(Plan).where(Plan.name == plan_name)).first() if plan_name else None
        )
        if plan is None:
            raise ValidationError(
                "Sans feuille « Plan », indiquez le plan existant à mettre à jour "
                "(option --plan, ou choix du plan dans l'application)."
            )
        rows["Plan"] = [_plan_row(session, plan)]
        # Sheets the file does not hold are simply not touched.
    else:
        missing = [s for s in REQUIRED_SHEETS if s not in rows]
        if missing:
            raise ValidationError(
                "Le fichier ne peut pas être importé ; rien n'a été enregistré.",
                details=[
                    f"Feuille « {s} » absente (obligatoire pour un plan complet)." for s in missing
                ],
            )
    data = plan_data_from_rows(rows)
    versions: dict[str, int] = {}
    for row in rows.get("Actions", []):
        raw = row.cells.get("version")
        code = str(row.cells.get("code") or "").strip()
        try:
            if raw not in (None, "") and code:
                versions[code] = int(float(raw))
        except (TypeError, ValueError):
            raise ValidationError(
                f"Feuille « Actions », ligne {row.number}, colonne « Version » : nombre entier "
                f"attendu, pas « {raw} »."
            ) from None
    return data, versions, read


def run_import(
    session: Session,
    actor: User | None,
    files: list[InputFile],
    *,
    sheet: str | None = None,
    plan_name: str | None = None,
    apply: bool = False,
) -> tuple[ImportReport, SheetsRead]:
    """Read the files and compare them with the database, or apply them (one transaction)."""
    data, versions, read = read_import(session, files, sheet=sheet, plan_name=plan_name)
    source = ", ".join(f.name for f in files)
    report = import_plan(
        session, actor, data, versions=versions, plan_name=plan_name, apply=apply, source=source
    )
    return report, read


def report_lines(report: ImportReport, read: SheetsRead | None = None) -> list[str]:
    """The report in French, for the command line."""
    lines = [
        ("Nouveau plan" if report.new_plan else "Mise à jour du plan") + f" « {report.plan_name} »"
    ]
    for sheet in SHEET_ORDER:
        c = report.counts[sheet]
        if c.created or c.updated or c.unchanged:
            lines.append(
                f"  {sheet} : {c.created} à créer, {c.updated} à modifier, "
                f"{c.unchanged} inchangé(s)"
            )
    if read is not None:
        for sheet, columns in read.ignored_columns.items():
            lines.append(f"  Feuille « {sheet} » : colonne(s) ignorée(s) : {', '.join(columns)}")
        if read.ignored_sheets:
            lines.append(f"  Feuille(s) ignorée(s) : {', '.join(read.ignored_sheets)}")
    if report.changes and not report.new_plan:
        lines.append("Changements :")
        lines.extend(f"  - {change}" for change in report.changes)
    if report.conflicts:
        lines.append("Conflits :")
        lines.extend(f"  - {c}" for c in report.conflicts)
    if report.problems:
        lines.append("Problèmes :")
        lines.extend(f"  - {p}" for p in report.problems)
    if report.ok and not report.total_changes and not report.new_plan:
        lines.append("Rien à changer : le fichier correspond déjà à la base.")
    return lines
