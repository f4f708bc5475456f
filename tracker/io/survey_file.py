"""Reading a survey wave's respondent-level file: one row per respondent, one
column per question (plus profile columns such as commune or age group), an
optional respondent identifier and an optional weight column.

Files as survey tools and spreadsheets export them: .xlsx (first tab, or a tab
named « Réponses ») or CSV separated by ``;`` or ``,``, UTF-8 (with or without
BOM) or Windows-1252; weights with a decimal comma or point. Answers are kept
as text, as written. Every problem is located by line and column, and nothing
is returned while there is one.
"""

from __future__ import annotations

import csv
import io
import math
import operator
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from typing import Any

import openpyxl

from tracker.errors import ValidationError
from tracker.io import parsing
from tracker.io.workbook import MAX_UNPACKED_BYTES, InputFile

# Header names (compared without case or accents) recognised as special columns.
ID_HEADERS = {"identifiant", "id", "repondant", "numero", "n°", "respondent", "respondent id"}
WEIGHT_HEADERS = {"poids", "ponderation", "coefficient de ponderation", "weight", "poids final"}
RESPONSES_TAB = "reponses"
MAX_PROBLEMS = 50

REFUSED = "Le fichier des réponses ne peut pas être importé ; rien n'a été enregistré."


@dataclass
class SurveyTable:
    """The respondents of a file: answers by column, identifiers and weights."""

    file_name: str
    columns: list[str]  # questions and profile columns, in file order
    respondents: list[str]
    answers: list[list[str]]  # one list per respondent, aligned with ``columns``
    weights: list[float] | None
    weight_column: str | None
    id_column: str | None

    @property
    def size(self) -> int:
        return len(self.respondents)


class _Problems:
    def __init__(self, name: str) -> None:
        self.name = name
        self.items: list[str] = []
        self.more = 0

    def add(self, text: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(text)
        else:
            self.more += 1

    def raise_if_any(self) -> None:
        if self.items:
            details = list(self.items)
            if self.more:
                details.append(f"… et {self.more} autre(s) problème(s).")
            raise ValidationError(REFUSED, details=details)


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as text, as the user sees it (12 not 12.0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        return str(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(str(value).split())


def _csv_rows(file: InputFile, problems: _Problems) -> list[list[str]] | None:
    try:
        text = file.content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = file.content.decode("cp1252")
        except UnicodeDecodeError:
            problems.add(
                "Encodage illisible : enregistrez le fichier en « CSV UTF-8 » ou en .xlsx."
            )
            return None
    if "\x00" in text:
        problems.add(
            "Ce n'est pas un fichier CSV lisible (encodage UTF-16 ou fichier binaire) : "
            "enregistrez-le en « CSV UTF-8 » ou en .xlsx."
        )
        return None
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    if first_line.count(delimiter) == 0 and "\t" in first_line:
        delimiter = "\t"
    try:
        return [
            list(map(str.strip, row))
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        ]
    except csv.Error as error:
        problems.add(f"Fichier CSV mal formé : {error}.")
        return None


def _xlsx_rows(file: InputFile, problems: _Problems) -> list[list[str]] | None:
    try:
        with zipfile.ZipFile(BytesIO(file.content)) as archive:
            if sum(part.file_size for part in archive.infolist()) > MAX_UNPACKED_BYTES:
                problems.add("Classeur trop volumineux une fois décompressé.")
                return None
        workbook = openpyxl.load_workbook(BytesIO(file.content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 (any unreadable workbook gets the same message)
        problems.add("Classeur illisible : ouvrez-le et enregistrez-le de nouveau au format .xlsx.")
        return None
    try:
        tabs = workbook.sheetnames
        tab = next((t for t in tabs if parsing.normalise_key(t) == RESPONSES_TAB), tabs[0])
        sheet = workbook[tab]
        sheet.reset_dimensions()
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _weight(raw: str) -> float | None:
    """A weight as written: ``1,25`` or ``1.25`` (fast path), else the general parser."""
    try:
        return float(raw.replace(",", ".", 1)) if raw.count(",") <= 1 else float("x")
    except ValueError:
        return parsing.parse_float(raw, "poids")


def _is_workbook(file: InputFile) -> bool:
    return file.content[:4] == b"PK\x03\x04"


def read_survey_file(file: InputFile) -> SurveyTable:
    """The respondents of an uploaded file, or ValidationError listing every problem."""
    problems = _Problems(file.name)
    if not file.content.strip():
        raise ValidationError(REFUSED, details=[f"Le fichier « {file.name} » est vide."])
    if file.content[:8] == bytes.fromhex("D0CF11E0A1B11AE1"):
        raise ValidationError(
            REFUSED,
            details=[
                "Classeur au format .xls ou protégé par mot de passe : enregistrez-le au "
                "format .xlsx sans mot de passe, ou en CSV."
            ],
        )
    rows = _xlsx_rows(file, problems) if _is_workbook(file) else _csv_rows(file, problems)
    problems.raise_if_any()
    assert rows is not None
    # Blank rows (often at the end of a spreadsheet) are not respondents.
    numbered = [(n, row) for n, row in enumerate(rows, start=1) if any(row)]
    if not numbered:
        raise ValidationError(REFUSED, details=[f"Le fichier « {file.name} » est vide."])
    header_line, header = numbered[0]
    header = [" ".join(name.split()) for name in header]
    while header and not header[-1]:
        header = header[:-1]
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if not name:
            problems.add(
                f"Ligne {header_line}, colonne {position} : en-tête vide ; chaque colonne "
                "doit porter le nom de sa question."
            )
        key = parsing.normalise_key(name)
        if name and key in seen:
            problems.add(
                f"Ligne {header_line} : la colonne « {name} » apparaît deux fois "
                f"(colonnes {seen[key]} et {position})."
            )
        seen.setdefault(key, position)
        names.append(name)
    problems.raise_if_any()
    keys = [parsing.normalise_key(n) for n in names]
    id_pos = next((i for i, k in enumerate(keys) if k in ID_HEADERS), None)
    weight_pos = next((i for i, k in enumerate(keys) if k in WEIGHT_HEADERS), None)
    question_pos = [i for i in range(len(names)) if i not in (id_pos, weight_pos)]
    if not question_pos:
        problems.add("Le fichier ne contient aucune colonne de question.")
    data = numbered[1:]
    if not data:
        problems.add(
            "Le fichier ne contient aucune réponse : seule la ligne d'en-têtes est remplie."
        )
    problems.raise_if_any()
    respondents: list[str] = []
    answers: list[list[str]] = []
    weights: list[float] | None = [] if weight_pos is not None else None
    ids_seen: dict[str, int] = {}
    width = len(names)
    getter = operator.itemgetter(*question_pos)
    single = len(question_pos) == 1

    for line, row in data:
        if len(row) > width and any(row[width:]):
            problems.add(f"Ligne {line} : plus de cellules remplies que de colonnes nommées.")
            continue
        if len(row) < width:
            row = row + [""] * (width - len(row))
        if id_pos is not None:
            ident = row[id_pos]
            if not ident:
                problems.add(f"Ligne {line}, colonne « {names[id_pos]} » : identifiant manquant.")
            elif ident in ids_seen:
                problems.add(
                    f"Ligne {line}, colonne « {names[id_pos]} » : identifiant « {ident} » "
                    f"déjà utilisé ligne {ids_seen[ident]}."
                )
            elif len(ident) > 80:
                problems.add(f"Ligne {line} : identifiant de plus de 80 caractères.")
            ids_seen.setdefault(ident, line)
        else:
            ident = str(line)
        if weights is not None:
            raw = row[weight_pos]
            where = f"Ligne {line}, colonne « {names[weight_pos]} »"
            if not raw:
                problems.add(f"{where} : poids manquant.")
            else:
                try:
                    weight = _weight(raw)
                except parsing.CellError as error:
                    problems.add(f"{where} : {error}.")
                else:
                    if weight is None or not math.isfinite(weight) or weight <= 0:
                        problems.add(
                            f"{where} : le poids doit être un nombre strictement positif "
                            f"(lu : {raw})."
                        )
                    else:
                        weights.append(weight)
        respondents.append(ident)
        picked = getter(row)
        answers.append([picked] if single else list(picked))
    problems.raise_if_any()
    return SurveyTable(
        file_name=file.name,
        columns=[names[i] for i in question_pos],
        respondents=respondents,
        answers=answers,
        weights=weights,
        weight_column=names[weight_pos] if weight_pos is not None else None,
        id_column=names[id_pos] if id_pos is not None else None,
    )
