"""The plan template: its sheets and French columns, and reading it into PlanData.

The same template serves the example plan shipped in data/exemple (one CSV
file per sheet) and the import of the real plan. Reading collects every
problem with its sheet, row number (as a spreadsheet shows it) and column,
and returns nothing if there is any.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker import strings
from tracker.errors import ValidationError
from tracker.io import parsing
from tracker.io.parsing import CellError
from tracker.models import (
    ActionStatus,
    Direction,
    FundingStatus,
    Priority,
    ProgressMode,
    SourceType,
    Weather,
)
from tracker.services.plans import (
    ActionData,
    BudgetLineData,
    FundingData,
    IndicatorData,
    MeasurementData,
    MilestoneData,
    ObjectiveData,
    PlanData,
    ReferenceData,
    StakeData,
)


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool = False


def _cols(*specs: tuple[str, str] | tuple[str, str, bool]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


SHEETS: dict[str, tuple[Column, ...]] = {
    "Plan": _cols(
        ("Nom", "name", True),
        ("Collectivités", "collectivities", True),
        ("Date d'adoption", "adopted_on"),
        ("Délibération", "deliberation_ref"),
        ("Première année", "first_year", True),
        ("Dernière année", "last_year", True),
        ("Exemple", "is_example"),
        ("Description", "description"),
    ),
    "Enjeux": _cols(
        ("Code", "code", True), ("Titre", "title", True), ("Description", "description")
    ),
    "Objectifs": _cols(
        ("Code", "code", True),
        ("Titre", "title", True),
        ("Description", "description"),
        ("Enjeux", "stakes"),
    ),
    "Actions": _cols(
        ("Code", "code", True),
        ("Titre", "title", True),
        ("Objectif", "objective", True),
        ("Porteur", "carriers", True),
        ("Pilote", "pilot_name"),
        ("Fonction du pilote", "pilot_function"),
        ("Service", "service"),
        ("Élu référent", "elected_referent"),
        ("Partenaires", "partners"),
        ("Statut", "status"),
        ("Météo", "weather"),
        ("Avancement (%)", "progress"),
        ("Mode d'avancement", "progress_mode"),
        ("Priorité", "priority"),
        ("Début", "start_date"),
        ("Fin prévue", "planned_end_date"),
        ("Fin réelle", "actual_end_date"),
        ("Périodicité (jours)", "update_period_days"),
        ("Description", "description"),
        # Written by the export, read back to detect edits made after it (never required).
        ("Version", "version"),
    ),
    "Jalons": _cols(
        ("Action", "action", True),
        ("Titre", "title", True),
        ("Échéance", "due_date"),
        ("Réalisé le", "done_date"),
        ("Poids", "weight"),
    ),
    "Budget": _cols(
        ("Action", "action", True),
        ("Année", "year", True),
        ("Collectivité", "collectivity", True),
        ("Section", "section", True),
        ("Demandé (€)", "requested"),
        ("Arbitré (€)", "arbitrated"),
        ("Réalisé (€)", "spent"),
        ("Commentaire", "comment"),
    ),
    "Financements": _cols(
        ("Action", "action", True),
        ("Financeur", "financer", True),
        ("Montant (€)", "amount", True),
        ("Statut", "status"),
    ),
    "Indicateurs": _cols(
        ("Code", "code", True),
        ("Nom", "name", True),
        ("Définition", "definition"),
        ("Unité", "unit"),
        ("Sens", "direction"),
        ("Source", "source_type"),
        ("Précision de la source", "source"),
        ("Valeur de référence", "baseline_value"),
        ("Date de référence", "baseline_date"),
        ("Cible intermédiaire", "intermediate_target"),
        ("Date cible intermédiaire", "intermediate_target_date"),
        ("Cible", "target_value"),
        ("Date cible", "target_date"),
        ("Périodicité (jours)", "update_period_days"),
        ("Objectif", "objective"),
        ("Actions", "actions"),
        ("Question d'enquête", "survey_question"),
        ("Réponses comptées", "survey_values"),
        ("Question de filtre", "survey_filter_question"),
        ("Réponses du filtre", "survey_filter_values"),
    ),
    "Mesures": _cols(
        ("Indicateur", "indicator", True),
        ("Date", "date", True),
        ("Valeur", "value", True),
        ("Source", "source"),
        ("Effectif", "sample_size"),
        ("Borne basse", "ci_low"),
        ("Borne haute", "ci_high"),
        ("Commentaire", "comment"),
    ),
    "Références": _cols(
        ("Indicateur", "indicator", True),
        ("Date", "date", True),
        ("Valeur", "value", True),
        ("Source", "source", True),
    ),
}
REQUIRED_SHEETS = ("Plan", "Enjeux", "Objectifs", "Actions")


@dataclass
class SheetRow:
    """One spreadsheet row: its number as the spreadsheet shows it, and its cells by key."""

    number: int
    cells: dict[str, Any]


class Problems:
    """Problems found while reading, each located by sheet, row and column."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, sheet: str, row: int | None, column: str | None, reason: str) -> None:
        where = f"Feuille « {sheet} »"
        if row is not None:
            where += f", ligne {row}"
        if column is not None:
            where += f", colonne « {column} »"
        self.items.append(f"{where} : {reason}")

    def add_file(self, name: str, reason: str, *, tab: str | None = None) -> None:
        """A problem with a whole file or workbook tab, before any sheet is known."""
        where = f"Fichier « {name} »" + (f", onglet « {tab} »" if tab is not None else "")
        self.items.append(f"{where} : {reason}")

    def __bool__(self) -> bool:
        return bool(self.items)


def map_headers(
    sheet: str, headers: list[Any], problems: Problems
) -> tuple[dict[int, Column], list[str]]:
    """Match a sheet's headers (any case, accents, spacing, order) to its columns.

    Returns the column of each header position and the ignored headers.
    Missing required columns are reported.
    """
    by_key = {parsing.normalise_key(c.header): c for c in SHEETS[sheet]}
    mapping: dict[int, Column] = {}
    ignored: list[str] = []
    for position, header in enumerate(headers):
        if parsing.is_blank(header):
            continue
        column = by_key.get(parsing.normalise_key(header))
        if column is None:
            ignored.append(str(header).strip())
        elif column in mapping.values():
            problems.add(sheet, 1, str(header).strip(), "colonne présente deux fois")
        else:
            mapping[position] = column
    present = set(mapping.values())
    for column in SHEETS[sheet]:
        if column.required and column not in present:
            problems.add(sheet, None, column.header, "colonne obligatoire absente")
    return mapping, ignored


def rows_from_table(
    sheet: str, table: list[list[Any]], problems: Problems, first_row: int = 1
) -> tuple[list[SheetRow], list[str]]:
    """Turn a table (header row first) into keyed rows, skipping blank rows.

    A row is blank when every column of the template is: what remains in an
    ignored column (a note, a formula dragged down) does not make a row.
    """
    if not table:
        problems.add(sheet, None, None, "feuille vide (aucune ligne d'en-tête)")
        return [], []
    mapping, ignored = map_headers(sheet, list(table[0]), problems)
    rows = []
    for offset, raw in enumerate(table[1:], start=1):
        cells = {col.key: raw[pos] if pos < len(raw) else None for pos, col in mapping.items()}
        if all(parsing.is_blank(v) for v in cells.values()):
            continue
        rows.append(SheetRow(number=first_row + offset, cells=cells))
    return rows, ignored


def decode_csv(content: bytes) -> list[list[str]]:
    """Decode a CSV file: UTF-8 (with or without BOM) or Windows-1252, `;` or `,`."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="strict")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def sheet_named(name: str) -> str | None:
    """The template sheet a name stands for, in any case, with or without accents."""
    key = parsing.normalise_key(name)
    for sheet in SHEETS:
        if parsing.normalise_key(sheet) == key:
            return sheet
    return None


def sheet_for_filename(path: Path) -> str | None:
    """The template sheet a CSV file stands for, from its name (``Actions.csv``...)."""
    return sheet_named(path.stem)


# --------------------------------------------------------------------------
# From rows to PlanData
# --------------------------------------------------------------------------


class _Reader:
    """Parses cells of one row, recording problems instead of raising."""

    def __init__(self, sheet: str, row: SheetRow, problems: Problems) -> None:
        self.sheet, self.row, self.problems = sheet, row, problems
        self.headers = {c.key: c.header for c in SHEETS[sheet]}
        self.ok = True

    def get(self, key: str, parser: Callable[[Any], Any], *, required: bool = False) -> Any:
        raw = self.row.cells.get(key)
        if required and parsing.is_blank(raw):
            self._fail(key, "valeur obligatoire manquante")
            return None
        try:
            return parser(raw)
        except CellError as exc:
            self._fail(key, str(exc))
            return None

    def _fail(self, key: str, reason: str) -> None:
        self.ok = False
        self.problems.add(self.sheet, self.row.number, self.headers[key], reason)

    def text(self, key: str, *, required: bool = False) -> str:
        return self.get(key, parsing.parse_text, required=required) or ""


def _plan_from_rows(rows: dict[str, list[SheetRow]], problems: Problems) -> PlanData | None:
    plan_rows = rows.get("Plan", [])
    if len(plan_rows) != 1:
        problems.add("Plan", None, None, "la feuille doit contenir exactement une ligne de plan")
        return None
    r = _Reader("Plan", plan_rows[0], problems)
    data = PlanData(
        name=r.text("name", required=True),
        collectivities=r.get("collectivities", parsing.parse_list, required=True) or [],
        first_year=r.get("first_year", parsing.parse_int, required=True) or 0,
        last_year=r.get("last_year", parsing.parse_int, required=True) or 0,
        adopted_on=r.get("adopted_on", parsing.parse_date),
        deliberation_ref=r.text("deliberation_ref"),
        description=r.text("description"),
        is_example=bool(r.get("is_example", parsing.parse_bool)),
    )
    return data if r.ok else None


def plan_data_from_rows(rows: dict[str, list[SheetRow]]) -> PlanData:
    """Build PlanData from the template's rows, or raise ValidationError listing every problem."""
    problems = Problems()
    data = _plan_from_rows(rows, problems)
    canonical = {parsing.normalise_key(c): c for c in (data.collectivities if data else [])}

    def collectivity(value: Any) -> str:
        name = parsing.parse_text(value)
        # An unreadable Plan sheet is reported once; checking against no collectivity
        # would flag every carrier and budget line too.
        if name and canonical and parsing.normalise_key(name) not in canonical:
            raise CellError(f"collectivité inconnue « {name} » (voir la feuille « Plan »)")
        return canonical.get(parsing.normalise_key(name), name)

    def collectivities(value: Any) -> list[str]:
        return [collectivity(v) for v in parsing.parse_list(value)]

    def enum(labels: dict) -> Callable[[Any], Any]:
        return lambda value: parsing.parse_enum(value, labels)

    stakes, objectives, actions, milestones = [], [], [], []
    budget, fundings, indicators, measurements, references = [], [], [], [], []
    for row in rows.get("Enjeux", []):
        r = _Reader("Enjeux", row, problems)
        item = StakeData(
            r.text("code", required=True), r.text("title", required=True), r.text("description")
        )
        if r.ok:
            stakes.append(item)
    for row in rows.get("Objectifs", []):
        r = _Reader("Objectifs", row, problems)
        item = ObjectiveData(
            r.text("code", required=True),
            r.text("title", required=True),
            r.text("description"),
            r.get("stakes", parsing.parse_list),
        )
        if r.ok:
            objectives.append(item)
    for row in rows.get("Actions", []):
        r = _Reader("Actions", row, problems)
        progress = r.get("progress", parsing.parse_percent)
        if progress is not None and not 0 <= progress <= 100:
            r._fail("progress", f"avancement {progress} hors de 0 à 100")
        item = ActionData(
            code=r.text("code", required=True),
            title=r.text("title", required=True),
            objective_code=r.text("objective", required=True),
            carriers=r.get("carriers", collectivities, required=True) or [],
            pilot_name=r.text("pilot_name"),
            pilot_function=r.text("pilot_function"),
            service=r.text("service"),
            elected_referent=r.text("elected_referent"),
            partners=r.text("partners"),
            status=r.get("status", enum(strings.STATUS_LABELS)) or ActionStatus.A_VENIR,
            weather=r.get("weather", enum(strings.WEATHER_LABELS)) or Weather.SOLEIL,
            progress=progress or 0,
            progress_mode=r.get("progress_mode", enum(strings.PROGRESS_MODE_LABELS))
            or ProgressMode.ENTERED,
            priority=r.get("priority", enum(strings.PRIORITY_LABELS)) or Priority.NORMALE,
            start_date=r.get("start_date", parsing.parse_date),
            planned_end_date=r.get("planned_end_date", parsing.parse_date),
            actual_end_date=r.get("actual_end_date", parsing.parse_date),
            update_period_days=r.get("update_period_days", parsing.parse_int) or 90,
            description=r.text("description"),
        )
        if item.start_date and item.planned_end_date and item.planned_end_date < item.start_date:
            r._fail("planned_end_date", "la fin prévue précède le début")
        if item.start_date and item.actual_end_date and item.actual_end_date < item.start_date:
            r._fail("actual_end_date", "la fin réelle précède le début")
        if r.ok:
            actions.append(item)
    for row in rows.get("Jalons", []):
        r = _Reader("Jalons", row, problems)
        weight = r.get("weight", parsing.parse_int)
        if weight is not None and weight < 0:
            r._fail("weight", "poids négatif")
        item = MilestoneData(
            r.text("action", required=True),
            r.text("title", required=True),
            r.get("due_date", parsing.parse_date),
            r.get("done_date", parsing.parse_date),
            1 if weight is None else weight,
        )
        if r.ok:
            milestones.append(item)
    for row in rows.get("Budget", []):
        r = _Reader("Budget", row, problems)
        item = BudgetLineData(
            action_code=r.text("action", required=True),
            year=r.get("year", parsing.parse_int, required=True) or 0,
            collectivity=r.get("collectivity", collectivity, required=True) or "",
            section=r.get("section", enum(strings.SECTION_LABELS), required=True),
            requested_cents=r.get("requested", parsing.parse_amount_cents) or 0,
            arbitrated_cents=r.get("arbitrated", parsing.parse_amount_cents),
            spent_cents=r.get("spent", parsing.parse_amount_cents) or 0,
            comment=r.text("comment"),
        )
        if data and item.year and not data.first_year <= item.year <= data.last_year:
            r._fail(
                "year", f"année hors de la période du plan ({data.first_year}-{data.last_year})"
            )
        if r.ok:
            budget.append(item)
    for row in rows.get("Financements", []):
        r = _Reader("Financements", row, problems)
        item = FundingData(
            r.text("action", required=True),
            r.text("financer", required=True),
            r.get("amount", parsing.parse_amount_cents, required=True) or 0,
            r.get("status", enum(strings.FUNDING_STATUS_LABELS)) or FundingStatus.SOLLICITE,
        )
        if r.ok:
            fundings.append(item)
    for row in rows.get("Indicateurs", []):
        r = _Reader("Indicateurs", row, problems)
        item = IndicatorData(
            code=r.text("code", required=True),
            name=r.text("name", required=True),
            definition=r.text("definition"),
            unit=r.text("unit") or "%",
            direction=r.get("direction", enum(strings.DIRECTION_LABELS)) or Direction.HIGHER,
            source_type=r.get("source_type", enum(strings.SOURCE_TYPE_LABELS)) or SourceType.SURVEY,
            source=r.text("source"),
            baseline_value=r.get("baseline_value", parsing.parse_float),
            baseline_date=r.get("baseline_date", parsing.parse_date),
            intermediate_target=r.get("intermediate_target", parsing.parse_float),
            intermediate_target_date=r.get("intermediate_target_date", parsing.parse_date),
            target_value=r.get("target_value", parsing.parse_float),
            target_date=r.get("target_date", parsing.parse_date),
            update_period_days=r.get("update_period_days", parsing.parse_int),
            objective_code=r.text("objective") or None,
            action_codes=r.get("actions", parsing.parse_list) or [],
            survey_question=r.text("survey_question") or None,
            survey_values=r.get("survey_values", parsing.parse_answers) or None,
            survey_filter_question=r.text("survey_filter_question") or None,
            survey_filter_values=r.get("survey_filter_values", parsing.parse_answers) or None,
        )
        if r.ok:
            indicators.append(item)
    for row in rows.get("Mesures", []):
        r = _Reader("Mesures", row, problems)
        item = MeasurementData(
            indicator_code=r.text("indicator", required=True),
            date=r.get("date", parsing.parse_date, required=True),
            value=r.get("value", parsing.parse_float, required=True),
            source=r.text("source"),
            sample_size=r.get("sample_size", parsing.parse_int),
            ci_low=r.get("ci_low", parsing.parse_float),
            ci_high=r.get("ci_high", parsing.parse_float),
            comment=r.text("comment"),
        )
        if r.ok:
            measurements.append(item)
    for row in rows.get("Références", []):
        r = _Reader("Références", row, problems)
        item = ReferenceData(
            indicator_code=r.text("indicator", required=True),
            date=r.get("date", parsing.parse_date, required=True),
            value=r.get("value", parsing.parse_float, required=True),
            source=r.text("source", required=True),
        )
        if r.ok:
            references.append(item)

    if problems or data is None:
        raise ValidationError(
            "Le fichier contient des erreurs ; rien n'a été enregistré.", details=problems.items
        )
    data.stakes, data.objectives, data.actions = stakes, objectives, actions
    data.milestones, data.budget_lines, data.fundings = milestones, budget, fundings
    data.indicators, data.measurements, data.references = indicators, measurements, references
    return data


def read_csv_folder(folder: Path) -> PlanData:
    """Read a plan stored as one CSV file per template sheet (like data/exemple)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValidationError(f"Le dossier {folder} n'existe pas.")
    problems = Problems()
    rows: dict[str, list[SheetRow]] = {}
    for path in sorted(folder.glob("*.csv")):
        sheet = sheet_for_filename(path)
        if sheet is None:
            continue
        try:
            table = decode_csv(path.read_bytes())
        except UnicodeDecodeError:
            problems.add(sheet, None, None, "encodage illisible (attendu : UTF-8 ou Windows-1252)")
            rows[sheet] = []  # present, so not also reported as a missing sheet
            continue
        rows[sheet], _ignored = rows_from_table(sheet, table, problems)
    for sheet in REQUIRED_SHEETS:
        if sheet not in rows:
            problems.add(sheet, None, None, f"feuille obligatoire absente ({sheet}.csv)")
    if problems:
        raise ValidationError(
            "Le plan ne peut pas être lu ; rien n'a été enregistré.", details=problems.items
        )
    return plan_data_from_rows(rows)
