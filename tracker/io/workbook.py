"""Reading the plan template from uploaded files: an .xlsx workbook or CSV files.

A workbook's tabs, and CSV files by their names, are matched to the template's
sheets (any case, with or without accents). Cells reach the parsers as the
spreadsheet shows them: formulas by their last calculated value (never
evaluated here), numbers in a percentage cell as ``45 %``. Every problem is
collected, located by sheet, row and column, and nothing is returned if there
is any.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter

from tracker.errors import ValidationError
from tracker.io import parsing
from tracker.io.template import (
    REQUIRED_SHEETS,
    SHEETS,
    Problems,
    SheetRow,
    decode_csv,
    plan_data_from_rows,
    rows_from_table,
    sheet_named,
)
from tracker.services.plans import PlanData

REFUSED = "Le fichier ne peut pas être lu ; rien n'a été enregistré."
# The tab of explanations the template ships with: skipped without a word.
README_TAB = "À lire"

_ZIP_SIGNATURE = b"PK\x03\x04"
# Compound document: what Excel writes for a password-protected workbook, and an old .xls.
_OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
_WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
# Control characters never found in a text file (tab, line feed and carriage return are).
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# An <f> element, with or without a namespace prefix; found in charts too, which is harmless.
_FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[\s>/]")
# A workbook is compressed XML; past this, an upload is a zip bomb, not a plan.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024

_NOT_A_TABLE = (
    "ni un classeur Excel (.xlsx) ni un fichier CSV : "
    "enregistrez le tableau au format .xlsx ou .csv"
)
_PROTECTED = (
    "classeur protégé par mot de passe ou au format .xls : "
    "enregistrez-le au format .xlsx sans mot de passe"
)
_DAMAGED = (
    "onglet illisible, le classeur semble endommagé : "
    "ouvrez-le et enregistrez-le de nouveau au format .xlsx"
)
_UTF16 = "encodage UTF-16 non pris en charge : enregistrez-le en « CSV UTF-8 » ou en .xlsx"
_UNCALCULATED = (
    "formule sans valeur calculée : ouvrez et enregistrez le fichier dans Excel ou LibreOffice"
)


@dataclass(frozen=True)
class InputFile:
    """An uploaded file: its name as the user's computer gave it, and its bytes."""

    name: str
    content: bytes


@dataclass
class SheetsRead:
    """The template rows found in the files, and what was left aside."""

    rows: dict[str, list[SheetRow]] = field(default_factory=dict)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    ignored_sheets: list[str] = field(default_factory=list)


def read_sheets(files: list[InputFile], *, sheet: str | None = None) -> SheetsRead:
    """Read an .xlsx workbook, or one or more CSV files (one per sheet), into template rows.

    ``sheet`` names the template sheet of a CSV file, or of a workbook's only
    tab, whose name does not say it. Raises ValidationError listing every
    problem, located by sheet, row and column; nothing is returned partially.
    """
    problems = Problems()
    read, _all_opened = _read(files, sheet, problems)
    if problems:
        raise ValidationError(REFUSED, details=problems.items)
    return read


def read_plan_file(
    files: list[InputFile], *, sheet: str | None = None
) -> tuple[PlanData, SheetsRead]:
    """Read a whole plan (its required sheets at least) from a workbook or CSV files.

    Raises ValidationError listing every problem; the plan's cross-references
    (duplicate codes...) are checked later, when it is created.
    """
    problems = Problems()
    read, all_opened = _read(files, sheet, problems)
    # A file that could not be opened would make every sheet look missing.
    if all_opened:
        for name in REQUIRED_SHEETS:
            if name not in read.rows:
                problems.add(
                    name,
                    None,
                    None,
                    f"feuille obligatoire absente (onglet « {name} » ou fichier {name}.csv)",
                )
    if problems:
        raise ValidationError(REFUSED, details=problems.items)
    return plan_data_from_rows(read.rows), read


# --------------------------------------------------------------------------
# Files to tables
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """Where one template sheet comes from, and how to load its table (header row first)."""

    sheet: str
    label: str
    load: Callable[[], list[list[Any]] | None]


@dataclass(frozen=True)
class _Unreadable:
    """A cell whose value cannot be known: reported where it lies, if its column is read."""

    reason: str


def _read(files: list[InputFile], sheet: str | None, problems: Problems) -> tuple[SheetsRead, bool]:
    chosen = _chosen_sheet(sheet)
    if not files:
        raise ValidationError("Aucun fichier n'a été reçu.")
    read = SheetsRead()
    all_opened = True
    with ExitStack() as stack:
        sources: list[_Source] = []
        for file in files:
            found = _sources(file, chosen, problems, read.ignored_sheets, stack)
            if found is None:
                all_opened = False
            else:
                sources.extend(found)
        by_sheet: dict[str, list[_Source]] = {}
        for source in sources:
            by_sheet.setdefault(source.sheet, []).append(source)
        for name in SHEETS:
            given = by_sheet.get(name, [])
            if len(given) > 1:
                labels = ", ".join(s.label for s in given)
                problems.add(name, None, None, f"feuille fournie plusieurs fois : {labels}")
                read.rows[name] = []  # present, so not also reported as missing
            elif given:
                table = given[0].load()
                if table is None:
                    all_opened = False
                    continue
                rows, ignored = rows_from_table(
                    name, _checked_headers(name, table, problems), problems
                )
                read.rows[name] = _checked_rows(name, rows, problems)
                if ignored:
                    read.ignored_columns[name] = ignored
    return read, all_opened


def _chosen_sheet(sheet: str | None) -> str | None:
    if sheet is None:
        return None
    chosen = sheet_named(sheet)
    if chosen is None:
        raise ValidationError(
            f"Feuille inconnue « {sheet} » : les feuilles du modèle sont {', '.join(SHEETS)}."
        )
    return chosen


def _sources(
    file: InputFile,
    chosen: str | None,
    problems: Problems,
    ignored_sheets: list[str],
    stack: ExitStack,
) -> list[_Source] | None:
    """The sheets a file holds, or None (with the problem recorded) if it cannot be opened."""
    content = file.content
    if not content.removeprefix(b"\xef\xbb\xbf").strip():
        problems.add_file(file.name, "fichier vide")
        return None
    if content.startswith(_OLE_SIGNATURE):
        problems.add_file(file.name, _PROTECTED)
        return None
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        # What Excel's « Texte Unicode » writes.
        problems.add_file(file.name, _UTF16)
        return None
    if content.startswith(_ZIP_SIGNATURE):
        workbook = _open_workbook(file, problems)
        if workbook is None:
            return None
        stack.callback(workbook.close)
        return _workbook_sources(file, workbook, chosen, problems, ignored_sheets)
    if Path(file.name).suffix.lower() in _WORKBOOK_SUFFIXES or _BINARY.search(content):
        problems.add_file(file.name, _NOT_A_TABLE)
        return None
    named = sheet_named(Path(file.name).stem)
    if named is None and chosen is None:
        problems.add_file(
            file.name,
            "son nom ne désigne aucune feuille du modèle : nommez-le comme la feuille "
            f"(par exemple Actions.csv) ou choisissez la feuille ({', '.join(SHEETS)})",
        )
        return None
    target = _target(named, chosen, file.name, None, problems)
    if target is None:
        return None
    label = f"fichier « {file.name} »"
    return [_Source(target, label, lambda: _csv_table(file, target, problems))]


def _target(
    named: str | None, chosen: str | None, name: str, tab: str | None, problems: Problems
) -> str | None:
    """The sheet a lone table stands for: the one its name says, else the one chosen."""
    if named and chosen and named != chosen:
        problems.add_file(
            name,
            f"son nom désigne la feuille « {named} », pas la feuille « {chosen} » choisie",
            tab=tab,
        )
        return None
    return named or chosen


def _csv_table(file: InputFile, sheet: str, problems: Problems) -> list[list[Any]] | None:
    try:
        return decode_csv(file.content)
    except UnicodeDecodeError:
        problems.add(sheet, None, None, "encodage illisible (attendu : UTF-8 ou Windows-1252)")
        return None


# --------------------------------------------------------------------------
# Workbooks
# --------------------------------------------------------------------------


class _Workbook:
    """An .xlsx file opened twice: for its cached values, and to see which cells hold formulas.

    openpyxl gives a formula's cached value only when it drops the formula, and
    a formula never calculated (a file written by a program, never opened in
    a spreadsheet) has no cached value: it must be reported, not taken as empty.
    """

    def __init__(self, content: bytes, *, has_formulas: bool) -> None:
        self.values = openpyxl.load_workbook(BytesIO(content), read_only=True, data_only=True)
        self.formulas = None
        if has_formulas:
            try:
                self.formulas = openpyxl.load_workbook(
                    BytesIO(content), read_only=True, data_only=False
                )
            except BaseException:
                self.values.close()
                raise
        self.tabs: list[str] = list(self.values.sheetnames)

    def close(self) -> None:
        self.values.close()
        if self.formulas is not None:
            self.formulas.close()

    def table(self, tab: str) -> list[list[Any]]:
        formulas = set()
        if self.formulas is not None:
            formulas = {
                (row, column)
                for row, cells in _rows(self.formulas, tab)
                for column, cell in enumerate(cells, start=1)
                if cell.data_type == "f"
            }
        table: list[list[Any]] = []
        for row, cells in _rows(self.values, tab):
            table.append(
                [
                    _cell_value(cell, (row, column) in formulas)
                    for column, cell in enumerate(cells, start=1)
                ]
            )
        return table


def _rows(workbook: Any, tab: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """Every row from row 1, missing rows included (empty), so positions are row numbers."""
    worksheet = workbook[tab]
    # The size a file declares may be wrong: read the cells that are there.
    worksheet.reset_dimensions()
    return enumerate(worksheet.iter_rows(min_row=1), start=1)


def _open_workbook(file: InputFile, problems: Problems) -> _Workbook | None:
    with _reading(problems, file.name, _NOT_A_TABLE):
        with zipfile.ZipFile(BytesIO(file.content)) as archive:
            parts = archive.infolist()
            if sum(part.file_size for part in parts) > MAX_UNPACKED_BYTES:
                problems.add_file(file.name, "classeur trop volumineux une fois décompressé")
                return None
            # Most workbooks hold no formula: they are then read once, not twice.
            has_formulas = any(
                _FORMULA_ELEMENT.search(archive.read(part))
                for part in parts
                if part.filename.endswith(".xml")
            )
        return _Workbook(file.content, has_formulas=has_formulas)
    return None


@contextmanager
def _reading(problems: Problems, name: str, reason: str, tab: str | None = None) -> Iterator[None]:
    """Turn whatever a damaged file makes openpyxl raise into a located problem."""
    try:
        yield
    # A file sent by a user can break the reader at any point of its format.
    except Exception:  # noqa: BLE001
        problems.add_file(name, reason, tab=tab)


def _workbook_sources(
    file: InputFile,
    workbook: _Workbook,
    chosen: str | None,
    problems: Problems,
    ignored_sheets: list[str],
) -> list[_Source] | None:
    readme = parsing.normalise_key(README_TAB)
    tabs = [t for t in workbook.tabs if parsing.normalise_key(t) != readme]
    sources = []
    for tab in tabs:
        named = sheet_named(tab)
        if chosen and len(tabs) == 1:
            named = _target(named, chosen, file.name, tab, problems)
            if named is None:
                return None
        if named is None:
            ignored_sheets.append(tab)
            continue
        label = f"onglet « {tab} » de « {file.name} »"
        sources.append(_Source(named, label, _tab_loader(file, workbook, tab, problems)))
    return sources


def _tab_loader(
    file: InputFile, workbook: _Workbook, tab: str, problems: Problems
) -> Callable[[], list[list[Any]] | None]:
    def load() -> list[list[Any]] | None:
        with _reading(problems, file.name, _DAMAGED, tab):
            return workbook.table(tab)
        return None

    return load


# --------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------


def _cell_value(cell: Any, holds_formula: bool) -> Any:
    """A cell's value as the spreadsheet shows it, or _Unreadable."""
    value = cell.value
    if cell.data_type == "e":
        return _Unreadable(f"valeur d'erreur « {value} » : corrigez la formule ou videz la cellule")
    if value is None:
        # "str": a formula whose calculated text is empty, like =SI(A2="";"";A2).
        if holds_formula and cell.data_type != "str":
            return _Unreadable(_UNCALCULATED)
        return None
    if isinstance(value, float):
        value = _as_shown(value)
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number and _is_percent_format(cell.number_format):
        return _percent_text(value)
    return value


def _as_shown(value: float) -> float:
    """Excel shows 15 significant digits: 3.3000000000000003 (from =3*1,1) is 3.3."""
    return float(f"{value:.15g}")


def _is_percent_format(number_format: str) -> bool:
    # A % in quotes or escaped ("0\\%") is only shown; a bare % multiplies by 100.
    return "%" in re.sub(r'"[^"]*"|\\.', "", number_format or "")


def _percent_text(value: float) -> str:
    """0.45 in a percentage cell is « 45 % », as the spreadsheet shows it."""
    number = Decimal(f"{value:.15g}") * 100
    return f"{number.normalize():f} %"


def _checked_headers(sheet: str, table: list[list[Any]], problems: Problems) -> list[list[Any]]:
    """Report header cells whose value cannot be known, by column letter (no header to name)."""
    if table:
        for position, value in enumerate(table[0]):
            if isinstance(value, _Unreadable):
                problems.add(sheet, 1, get_column_letter(position + 1), value.reason)
                table[0][position] = None
    return table


def _checked_rows(sheet: str, rows: list[SheetRow], problems: Problems) -> list[SheetRow]:
    """Report the cells whose value cannot be known, in the columns the template reads."""
    headers = {c.key: c.header for c in SHEETS[sheet]}
    for row in rows:
        for key, value in row.cells.items():
            if isinstance(value, _Unreadable):
                problems.add(sheet, row.number, headers[key], value.reason)
                row.cells[key] = None
    return rows
