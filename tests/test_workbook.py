"""Reading the plan template from an uploaded workbook or CSV files (tracker.io.workbook).

Each test builds its file in memory, with openpyxl or as bytes, the way a
spreadsheet would save it, and reads it back.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from tests.test_template_reading import (
    EXAMPLE_DIR,
    assert_is_the_minimal_plan,
    minimal_plan,
    to_table,
)
from tracker.errors import ValidationError
from tracker.io import workbook
from tracker.io.parsing import CellError, parse_float
from tracker.io.template import decode_csv, read_csv_folder
from tracker.io.workbook import InputFile, read_plan_file, read_sheets

NBSP = "\u00a0"
NNBSP = "\u202f"

Table = list[list[Any]]


def minimal_tables() -> dict[str, Table]:
    return {sheet: to_table(rows) for sheet, rows in minimal_plan().items()}


def xlsx(
    tables: dict[str, Table],
    *,
    name: str = "plan.xlsx",
    prepare: Callable[[Workbook], None] | None = None,
) -> InputFile:
    """A workbook with one tab per table (first row = headers), as openpyxl saves it."""
    book = Workbook()
    book.remove(book.active)
    for title, table in tables.items():
        sheet = book.create_sheet(title)
        for row in table:
            sheet.append(row)
    if prepare:
        prepare(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return InputFile(name, buffer.getvalue())


def with_cached_values(file: InputFile, tab_index: int, values: dict[str, str]) -> InputFile:
    """The workbook as a spreadsheet saves it after calculating: each formula keeps its result.

    ``values`` maps a coordinate to its cached result: a number as text,
    ``str:...`` for a text result, ``e:...`` for an error.
    """
    path = f"xl/worksheets/sheet{tab_index}.xml"
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(file.content)) as source,
        zipfile.ZipFile(out, "w") as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == path:
                xml = data.decode()
                for coordinate, value in values.items():
                    kind, colon, cached = value.partition(":")
                    kind, cached = (f' t="{kind}"', cached) if colon else ("", value)
                    xml, count = re.subn(
                        rf'(<c r="{coordinate}"[^>]*)>(<f>[^<]*</f>)<v\s*/>',
                        lambda m, kind=kind, cached=cached: f"{m[1]}{kind}>{m[2]}<v>{cached}</v>",
                        xml,
                    )
                    assert count == 1, coordinate
                data = xml.encode()
            target.writestr(info, data)
    return InputFile(file.name, out.getvalue())


def csv_file(
    name: str, table: Table, *, delimiter: str = ";", encoding: str = "utf-8"
) -> InputFile:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(table)
    return InputFile(name, buffer.getvalue().encode(encoding))


def problems_reading(files: list[InputFile], **options: str) -> list[str]:
    """The located problems a refused upload is reported with."""
    with pytest.raises(ValidationError) as caught:
        read_plan_file(files, **options)
    assert "rien n'a été enregistré" in caught.value.message
    return caught.value.details


def set_cells(tab: str, cells: dict[str, Any], number_format: str | None = None) -> Callable:
    """A ``prepare`` step writing typed values (and a number format) into some cells."""

    def prepare(book: Workbook) -> None:
        for coordinate, value in cells.items():
            book[tab][coordinate] = value
            if number_format:
                book[tab][coordinate].number_format = number_format

    return prepare


# Where the minimal plan's cells lie in its tabs (header = row 1).
ACTIONS_HEADERS = to_table(minimal_plan()["Actions"])[0]


def actions_cell(header: str, row: int) -> str:
    return f"{get_column_letter(ACTIONS_HEADERS.index(header) + 1)}{row}"


# --------------------------------------------------------------------------
# Workbooks as people really save them
# --------------------------------------------------------------------------


def test_workbook_of_the_minimal_plan_is_read_with_every_value_typed() -> None:
    plan, read = read_plan_file([xlsx(minimal_tables())])

    assert_is_the_minimal_plan(plan)
    assert (read.ignored_columns, read.ignored_sheets) == ({}, [])


def test_tabs_named_in_another_case_without_accents_with_spaces_are_matched() -> None:
    tables = minimal_tables()
    renamed = {" PLAN ": tables["Plan"], "enjeux": tables["Enjeux"]}
    renamed |= {"OBJECTIFS": tables["Objectifs"], "Actions  ": tables["Actions"]}
    renamed["budget"] = tables["Budget"]

    plan, _read = read_plan_file([xlsx(renamed)])

    assert_is_the_minimal_plan(plan)


def test_tab_with_accented_name_is_matched_without_its_accents() -> None:
    tables = {"References": [["Indicateur", "Date", "Valeur", "Source"], ["I1", "2019", 1, "x"]]}

    read = read_sheets([xlsx(tables)])

    assert [row.cells["indicator"] for row in read.rows["Références"]] == ["I1"]


def test_other_tabs_are_reported_as_ignored_and_the_readme_tab_is_skipped_silently() -> None:
    tables = {"À LIRE": [["Comment remplir ce modèle"]], **minimal_tables()}
    tables["Notes de la mission"] = [["Ne pas importer"], ["brouillon"]]

    _plan, read = read_plan_file([xlsx(tables)])

    assert read.ignored_sheets == ["Notes de la mission"]


def test_retyped_reordered_headers_are_matched_and_unknown_columns_reported_as_ignored() -> None:
    tables = minimal_tables()
    headers, *values = tables["Actions"]
    retyped = ["  " + h.upper().replace("É", "E").replace(" ", "  ") for h in headers]
    tables["Actions"] = [
        list(reversed(row + [extra]))
        for row, extra in zip([retyped, *values], ["Notes", "à voir", "ok"], strict=True)
    ]
    assert tables["Actions"][0][:2] == ["Notes", "  FIN  PREVUE"]

    plan, read = read_plan_file([xlsx(tables)])

    assert_is_the_minimal_plan(plan)
    assert read.ignored_columns == {"Actions": ["Notes"]}


def test_blank_rows_and_trailing_empty_columns_are_ignored_and_rows_keep_their_numbers() -> None:
    tables = minimal_tables()
    headers, first, second = tables["Actions"]
    second[headers.index("Statut")] = "Terminé"
    tables["Actions"] = [
        headers + [None, None],
        [],  # a row with no cell at all: absent from the file
        first + ["", None],
        [None] * len(headers),
        ["   "] * 3,
        second,
        [],
    ]

    (problem,) = problems_reading([xlsx(tables)])

    # Header = row 1, blank rows 2, 4 and 5: the second action is row 6, as Excel shows it.
    assert problem.startswith("Feuille « Actions », ligne 6, colonne « Statut » : valeur inconnue")


def test_text_left_in_an_unknown_column_does_not_make_a_row() -> None:
    tables = minimal_tables()
    headers, *values = tables["Budget"]
    tables["Budget"] = [headers + ["Notes"], *[row + [""] for row in values]]
    tables["Budget"].append([""] * len(headers) + ["reste à arbitrer"])

    plan, _read = read_plan_file([xlsx(tables)])

    assert len(plan.budget_lines) == 1


def test_excel_numbers_dates_and_booleans_are_read() -> None:
    tables = minimal_tables()

    def typed(book: Workbook) -> None:
        plan = book["Plan"]
        plan["C2"], plan["E2"], plan["F2"], plan["G2"] = datetime(2017, 11, 9), 2018, 2026, False
        actions = book["Actions"]
        actions[actions_cell("Avancement (%)", 2)] = 45
        actions[actions_cell("Début", 2)] = datetime(2018, 3, 1)
        actions[actions_cell("Fin prévue", 2)] = datetime(2019, 12, 31)
        budget = book["Budget"]
        budget["B2"], budget["E2"], budget["F2"], budget["G2"] = 2018, 12500.5, 10000, 9999.99

    plan, _read = read_plan_file([xlsx(tables, prepare=typed)])

    assert_is_the_minimal_plan(plan)


@pytest.mark.parametrize("cell", ["09/11/2017", "9/11/17", "2017-11-09"])
def test_dates_typed_as_text_are_read_day_first(cell: str) -> None:
    tables = minimal_tables()
    tables["Plan"][1][tables["Plan"][0].index("Date d'adoption")] = cell

    plan, _read = read_plan_file([xlsx(tables)])

    assert plan.adopted_on == date(2017, 11, 9)


@pytest.mark.parametrize(
    "cell",
    ["12 500,50 €", f"12{NBSP}500,50{NBSP}€", f"12{NNBSP}500,50{NNBSP}€", "12500.5", 12500.5],
    ids=["space", "no-break-space", "narrow-no-break-space", "decimal-point", "excel-number"],
)
def test_amounts_as_typed_in_french_or_as_numbers_are_read_as_cents(cell: object) -> None:
    tables = minimal_tables()
    tables["Budget"][1][tables["Budget"][0].index("Demandé (€)")] = cell

    plan, _read = read_plan_file([xlsx(tables)])

    assert plan.budget_lines[0].requested_cents == 1_250_050


def test_number_calculated_with_float_noise_is_read_as_excel_shows_it() -> None:
    tables = minimal_tables()
    tables["Budget"][1][tables["Budget"][0].index("Réalisé (€)")] = "=3*1.1"
    # What Excel stores for =3*1,1; it shows 3,3.
    file = with_cached_values(xlsx(tables), 5, {"G2": "3.3000000000000003"})

    plan, _read = read_plan_file([file])

    assert plan.budget_lines[0].spent_cents == 330


@pytest.mark.parametrize(
    ("cell", "number_format", "progress"),
    [
        (0.45, "0%", 45),
        (0.45, "0.00 %", 45),
        (45, "General", 45),
        ("45 %", "General", 45),
        ("45", "@", 45),
        (0.625, "0%", 63),
    ],
    ids=["fraction-in-percent-cell", "with-decimals", "number", "text-sign", "text", "half-up"],
)
def test_progress_is_read_as_a_whole_percentage_however_it_is_typed(
    cell: object, number_format: str, progress: int
) -> None:
    tables = minimal_tables()
    coordinate = actions_cell("Avancement (%)", 2)
    prepare = set_cells("Actions", {coordinate: cell}, number_format)

    plan, _read = read_plan_file([xlsx(tables, prepare=prepare)])

    assert plan.actions[0].progress == progress


@pytest.mark.parametrize(
    ("cell", "text"), [(0.45, "45 %"), (0.125, "12.5 %"), (0.07, "7 %"), (1, "100 %")]
)
def test_percentage_cell_reaches_the_parsers_as_shown_without_float_noise(
    cell: float, text: str
) -> None:
    tables = {"Actions": [ACTIONS_HEADERS, ["1.1", "Titre", "1", "Grand Cahors"]]}
    prepare = set_cells("Actions", {actions_cell("Avancement (%)", 2): cell}, "0.0%")

    read = read_sheets([xlsx(tables, prepare=prepare)])

    assert read.rows["Actions"][0].cells["progress"] == text


def test_percent_sign_quoted_in_the_number_format_does_not_multiply_by_100() -> None:
    tables = {"Actions": [ACTIONS_HEADERS, ["1.1", "Titre", "1", "Grand Cahors"]]}
    prepare = set_cells("Actions", {actions_cell("Avancement (%)", 2): 45}, '0" %"')

    read = read_sheets([xlsx(tables, prepare=prepare)])

    assert read.rows["Actions"][0].cells["progress"] == 45


def test_measurement_in_a_percentage_cell_is_read_in_percentage_points() -> None:
    tables = minimal_tables()
    tables["Mesures"] = [["Indicateur", "Date", "Valeur"], ["I1", "2019-06-30", 0.45]]
    prepare = set_cells("Mesures", {"C2": 0.45}, "0%")

    plan, _read = read_plan_file([xlsx(tables, prepare=prepare)])

    assert plan.measurements[0].value == 45.0


@pytest.mark.parametrize(("cell", "value"), [("45 %", 45.0), ("12,5%", 12.5), (" 7 % ", 7.0)])
def test_number_with_a_trailing_percent_sign_is_read_as_percentage_points(
    cell: str, value: float
) -> None:
    assert parse_float(cell) == value


def test_number_with_a_percent_sign_that_is_not_a_number_is_refused_and_quoted() -> None:
    with pytest.raises(CellError, match="nombre illisible « beaucoup % »"):
        parse_float("beaucoup %")


# --------------------------------------------------------------------------
# Formulas: their last calculated value, never evaluated here
# --------------------------------------------------------------------------


def test_formulas_are_read_as_the_values_the_spreadsheet_calculated() -> None:
    tables = minimal_tables()
    actions = tables["Actions"]
    actions[1][actions[0].index("Avancement (%)")] = "=40+5"
    actions[1][actions[0].index("Titre")] = '=CONCAT("Refonte ","des sites")'
    progress, title = actions_cell("Avancement (%)", 2), actions_cell("Titre", 2)
    # The cached results differ from what the formulas would give: they must be taken as is.
    file = with_cached_values(xlsx(tables), 4, {progress: "45", title: "str:Refonte des sites"})

    plan, _read = read_plan_file([file])

    assert_is_the_minimal_plan(plan)


def test_formula_never_calculated_is_reported_where_it_lies_and_not_evaluated() -> None:
    tables = minimal_tables()
    tables["Actions"][2][ACTIONS_HEADERS.index("Avancement (%)")] = "=50+50"

    problems = problems_reading([xlsx(tables)])

    assert problems == [
        "Feuille « Actions », ligne 3, colonne « Avancement (%) » : formule sans valeur calculée : "
        "ouvrez et enregistrez le fichier dans Excel ou LibreOffice"
    ]


def test_header_formula_never_calculated_is_reported_by_its_column_letter() -> None:
    tables = minimal_tables()
    tables["Enjeux"][0][1] = '="Titre"'

    problems = problems_reading([xlsx(tables)])

    assert problems == [
        "Feuille « Enjeux », ligne 1, colonne « B » : formule sans valeur calculée : "
        "ouvrez et enregistrez le fichier dans Excel ou LibreOffice",
        "Feuille « Enjeux », colonne « Titre » : colonne obligatoire absente",
    ]


def test_formula_whose_calculated_text_is_empty_is_a_blank_cell() -> None:
    tables = minimal_tables()
    referent = ACTIONS_HEADERS.index("Élu référent")
    tables["Actions"][2][referent] = '=IF(A3="x","y","")'
    # Formulas dragged down past the last action, all giving "".
    tables["Actions"] += [[None] * referent + ['=IF(A4="x","y","")']]
    cells = {actions_cell("Élu référent", 3): "str:", actions_cell("Élu référent", 4): "str:"}
    file = with_cached_values(xlsx(tables), 4, cells)

    plan, _read = read_plan_file([file])

    assert len(plan.actions) == 2
    assert plan.actions[1].elected_referent == ""


def test_formula_giving_an_error_is_reported_where_it_lies() -> None:
    tables = minimal_tables()
    tables["Actions"][1][ACTIONS_HEADERS.index("Avancement (%)")] = "=1/0"
    progress = actions_cell("Avancement (%)", 2)
    file = with_cached_values(xlsx(tables), 4, {progress: "e:#DIV/0!"})

    problems = problems_reading([file])

    assert problems == [
        "Feuille « Actions », ligne 2, colonne « Avancement (%) » : valeur d'erreur « #DIV/0! » : "
        "corrigez la formule ou videz la cellule"
    ]


def test_formulas_in_an_unknown_column_are_not_a_problem() -> None:
    tables = minimal_tables()
    headers, *values = tables["Budget"]
    tables["Budget"] = [headers + ["Écart"], *[row + ["=E2-F2"] for row in values]]
    tables["Budget"] += [[None] * len(headers) + ["=E3-F3"]]

    plan, read = read_plan_file([xlsx(tables)])

    assert len(plan.budget_lines) == 1
    assert read.ignored_columns == {"Budget": ["Écart"]}


# --------------------------------------------------------------------------
# CSV files: one per sheet, named after it
# --------------------------------------------------------------------------


def minimal_csv_files(**options: str) -> list[InputFile]:
    return [csv_file(f"{sheet}.csv", table, **options) for sheet, table in minimal_tables().items()]


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [(";", "utf-8"), (",", "utf-8"), (";", "utf-8-sig"), (";", "cp1252"), (",", "cp1252")],
)
def test_csv_files_are_read_with_either_separator_and_encoding(
    delimiter: str, encoding: str
) -> None:
    files = minimal_csv_files(delimiter=delimiter, encoding=encoding)

    plan, _read = read_plan_file(files)

    assert_is_the_minimal_plan(plan)


def test_csv_files_are_matched_to_sheets_by_name_in_any_case_and_accents() -> None:
    tables = minimal_tables()
    references = [["Indicateur", "Date", "Valeur", "Source"], ["I1", "2019-06-30", "40", "x"]]
    files = [csv_file(f"{sheet}.csv", table) for sheet, table in tables.items()]
    files[3] = csv_file("actions.CSV", tables["Actions"])
    files += [csv_file("Références.csv", references)]

    plan, _read = read_plan_file(files)

    assert_is_the_minimal_plan(plan)
    assert [r.indicator_code for r in plan.references] == ["I1"]


def test_csv_file_with_another_name_is_read_as_the_sheet_chosen() -> None:
    file = csv_file("export.csv", minimal_tables()["Actions"])

    read = read_sheets([file], sheet="ACTIONS")

    assert [row.cells["code"] for row in read.rows["Actions"]] == ["1.1", "1.2"]


def test_csv_file_whose_name_says_no_sheet_is_refused_when_none_is_chosen() -> None:
    with pytest.raises(ValidationError) as caught:
        read_sheets([csv_file("export.csv", minimal_tables()["Actions"])])

    (problem,) = caught.value.details
    assert problem.startswith("Fichier « export.csv » : son nom ne désigne aucune feuille")


def test_csv_file_named_after_another_sheet_than_the_one_chosen_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        read_sheets([csv_file("Budget.csv", minimal_tables()["Budget"])], sheet="Actions")

    assert caught.value.details == [
        "Fichier « Budget.csv » : son nom désigne la feuille « Budget », "
        "pas la feuille « Actions » choisie"
    ]


def test_unknown_chosen_sheet_is_refused() -> None:
    with pytest.raises(ValidationError, match="Feuille inconnue « Tâches »"):
        read_sheets([csv_file("export.csv", minimal_tables()["Actions"])], sheet="Tâches")


def test_single_tab_workbook_with_another_name_is_read_as_the_sheet_chosen() -> None:
    file = xlsx({"Feuil1": minimal_tables()["Actions"]}, name="export.xlsx")

    read = read_sheets([file], sheet="actions")

    assert [row.cells["code"] for row in read.rows["Actions"]] == ["1.1", "1.2"]
    assert read.ignored_sheets == []


def test_csv_file_in_utf16_is_refused_with_the_encoding_to_use() -> None:
    file = InputFile("Actions.csv", "Code;Titre\r\n".encode("utf-16"))

    with pytest.raises(ValidationError) as caught:
        read_sheets([file])

    assert caught.value.details == [
        "Fichier « Actions.csv » : encodage UTF-16 non pris en charge : "
        "enregistrez-le en « CSV UTF-8 » ou en .xlsx"
    ]


def test_csv_file_in_an_unknown_encoding_is_refused() -> None:
    file = InputFile("Enjeux.csv", b"Code;Titre\r\nE1;Proximit\x81\r\n")

    with pytest.raises(ValidationError) as caught:
        read_sheets([file])

    assert caught.value.details == [
        "Feuille « Enjeux » : encodage illisible (attendu : UTF-8 ou Windows-1252)"
    ]


# --------------------------------------------------------------------------
# Refused uploads: a clear French reason, nothing returned
# --------------------------------------------------------------------------


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nstream\n\x00\x01\x02\nendstream"
RANDOM = b"".join(hashlib.sha256(bytes([i])).digest() for i in range(64))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("plan.xlsx", PNG),
        ("plan.xlsx", PDF),
        ("plan.xlsx", RANDOM),
        ("plan.xlsx", b"Code;Titre\r\nE1;Proximit\xe9\r\n"),
        ("Actions.csv", RANDOM),
        ("Actions.csv", PNG),
        ("plan.xlsx", _docx()),
        ("plan.xlsx", b"PK\x03\x04 not really a zip"),
    ],
    ids=["png", "pdf", "random", "text", "random-csv", "png-csv", "docx", "broken-zip"],
)
def test_file_that_is_neither_a_workbook_nor_a_csv_is_refused(name: str, content: bytes) -> None:
    problems = problems_reading([InputFile(name, content)])

    assert problems == [
        f"Fichier « {name} » : ni un classeur Excel (.xlsx) ni un fichier CSV : "
        "enregistrez le tableau au format .xlsx ou .csv"
    ]


def test_password_protected_or_xls_workbook_is_refused_with_what_to_do() -> None:
    ole = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504)

    problems = problems_reading([InputFile("plan.xlsx", ole)])

    assert problems == [
        "Fichier « plan.xlsx » : classeur protégé par mot de passe ou au format .xls : "
        "enregistrez-le au format .xlsx sans mot de passe"
    ]


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n  \r\n"])
def test_empty_file_is_refused(content: bytes) -> None:
    assert problems_reading([InputFile("Actions.csv", content)]) == [
        "Fichier « Actions.csv » : fichier vide"
    ]


def test_no_file_is_refused() -> None:
    with pytest.raises(ValidationError, match="Aucun fichier"):
        read_sheets([])


def test_workbook_too_big_once_unpacked_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    file = xlsx(minimal_tables())
    monkeypatch.setattr(workbook, "MAX_UNPACKED_BYTES", 10_000)

    assert problems_reading([file]) == [
        "Fichier « plan.xlsx » : classeur trop volumineux une fois décompressé"
    ]


def test_two_files_for_the_same_sheet_are_refused() -> None:
    files = minimal_csv_files()
    files.append(csv_file("ACTIONS.csv", minimal_tables()["Actions"]))

    assert problems_reading(files) == [
        "Feuille « Actions » : feuille fournie plusieurs fois : "
        "fichier « Actions.csv », fichier « ACTIONS.csv »"
    ]


def test_two_tabs_for_the_same_sheet_are_refused() -> None:
    tables = minimal_tables()
    tables["ACTIONS "] = tables["Actions"]

    assert problems_reading([xlsx(tables)]) == [
        "Feuille « Actions » : feuille fournie plusieurs fois : "
        "onglet « Actions » de « plan.xlsx », onglet « ACTIONS  » de « plan.xlsx »"
    ]


def test_missing_required_sheet_is_reported_only_when_a_whole_plan_is_expected() -> None:
    tables = minimal_tables()
    del tables["Objectifs"]

    assert problems_reading([xlsx(tables)]) == [
        "Feuille « Objectifs » : feuille obligatoire absente "
        "(onglet « Objectifs » ou fichier Objectifs.csv)"
    ]
    assert "Objectifs" not in read_sheets([xlsx(tables)]).rows


def test_missing_required_column_is_reported() -> None:
    tables = minimal_tables()
    tables["Budget"] = [row[:3] + row[4:] for row in tables["Budget"]]  # no Section

    assert problems_reading([xlsx(tables)]) == [
        "Feuille « Budget », colonne « Section » : colonne obligatoire absente"
    ]


def test_problems_of_every_file_are_reported_at_once() -> None:
    files = minimal_csv_files()
    files[1] = InputFile("Enjeux.csv", b"")
    files.append(csv_file("Budget 2019.csv", [["Action"]]))
    files.append(InputFile("photo.xlsx", PNG))

    problems = problems_reading(files)

    assert [p.split(" : ", 1)[0] for p in problems] == [
        "Fichier « Enjeux.csv »",
        "Fichier « Budget 2019.csv »",
        "Fichier « photo.xlsx »",
    ]


def test_cell_problems_are_reported_with_the_row_the_spreadsheet_shows() -> None:
    tables = minimal_tables()
    tables["Actions"][2][ACTIONS_HEADERS.index("Statut")] = "Terminé"
    tables["Budget"][1][tables["Budget"][0].index("Année")] = 2030

    problems = problems_reading([xlsx(tables)])

    assert [p.split(" : ", 1)[0] for p in problems] == [
        "Feuille « Actions », ligne 3, colonne « Statut »",
        "Feuille « Budget », ligne 2, colonne « Année »",
    ]


# --------------------------------------------------------------------------
# Whole plans
# --------------------------------------------------------------------------


def test_example_plan_saved_as_a_workbook_reads_as_the_csv_folder_does() -> None:
    tables = {
        path.stem: decode_csv(path.read_bytes()) for path in sorted(EXAMPLE_DIR.glob("*.csv"))
    }
    assert len(tables) == 10

    plan, read = read_plan_file([xlsx(tables)])

    assert len(plan.actions) == 19
    assert plan == read_csv_folder(EXAMPLE_DIR)
    assert (read.ignored_columns, read.ignored_sheets) == ({}, [])


def test_workbook_of_two_thousand_actions_and_ten_thousand_budget_lines_is_read() -> None:
    book = Workbook(write_only=True)
    tables = minimal_tables()
    for title in ("Plan", "Enjeux", "Objectifs"):
        sheet = book.create_sheet(title)
        for row in tables[title]:
            sheet.append(row)
    actions = book.create_sheet("Actions")
    actions.append(["Code", "Titre", "Objectif", "Porteur", "Avancement (%)", "Début"])
    for number in range(2000):
        actions.append([f"A{number}", "Action", "1", "Grand Cahors", 50, datetime(2019, 1, 1)])
    budget = book.create_sheet("Budget")
    budget.append(["Action", "Année", "Collectivité", "Section", "Demandé (€)", "Réalisé (€)"])
    for number in range(10_000):
        year = 2018 + number % 9
        budget.append([f"A{number % 2000}", year, "Grand Cahors", "Fonctionnement", 1000.5, 250])
    buffer = io.BytesIO()
    book.save(buffer)

    plan, _read = read_plan_file([InputFile("plan.xlsx", buffer.getvalue())])

    assert (len(plan.actions), len(plan.budget_lines)) == (2000, 10_000)


def test_workbook_with_a_damaged_tab_is_refused_naming_the_tab() -> None:
    file = xlsx(minimal_tables())
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(file.content)) as source,
        zipfile.ZipFile(out, "w") as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":
                data = data.replace(b"</sheetData>", b"<row <c></sheetData>")
            target.writestr(info, data)

    problems = problems_reading([InputFile("plan.xlsx", out.getvalue())])

    assert problems == [
        "Fichier « plan.xlsx », onglet « Enjeux » : onglet illisible, le classeur semble "
        "endommagé : ouvrez-le et enregistrez-le de nouveau au format .xlsx"
    ]
