"""Reading a plan stored as one CSV file per template sheet (tracker.io.template).

Each test writes a small plan in a temporary folder, the way a French
spreadsheet would save it, and reads it back into PlanData.
"""

from __future__ import annotations

import copy
import csv
import io
import unicodedata
from datetime import date
from pathlib import Path

import pytest

from tracker.errors import ValidationError
from tracker.io.template import read_csv_folder
from tracker.models import ActionStatus, BudgetSection, Weather
from tracker.services.plans import PlanData

EXAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "exemple"
NBSP = "\u00a0"

Sheets = dict[str, list[dict[str, str]]]

# The smallest plan that exercises every kind of cell; rows are keyed by header.
MINIMAL_PLAN: Sheets = {
    "Plan": [
        {
            "Nom": "Plan de test",
            "Collectivités": "Ville de Cahors; Grand Cahors",
            "Date d'adoption": "09/11/2017",
            "Délibération": "Délibération n°15",
            "Première année": "2018",
            "Dernière année": "2026",
            "Exemple": "non",
            "Description": "Écrit pour les tests",
        }
    ],
    "Enjeux": [{"Code": "E1", "Titre": "Proximité avec les habitants"}],
    "Objectifs": [{"Code": "1", "Titre": "Simplifier l'accès", "Enjeux": "E1"}],
    "Actions": [
        {
            "Code": "1.1",
            "Titre": "Refonte des sites",
            "Objectif": "1",
            "Porteur": "Ville de Cahors; Grand Cahors",
            "Élu référent": "Adjointe à la communication",
            "Statut": "En cours",
            "Météo": "Nuageux",
            "Avancement (%)": "45 %",
            "Début": "01/03/2018",
            "Fin prévue": "31/12/2019",
        },
        {
            "Code": "1.2",
            "Titre": "Démarches en ligne",
            "Objectif": "1",
            "Porteur": "Grand Cahors",
            "Élu référent": "",
            "Statut": "réalisé",
            "Météo": "SOLEIL",
            "Avancement (%)": "100",
            "Début": "2019-01-07",
            "Fin prévue": "2020-06-30",
        },
    ],
    "Budget": [
        {
            "Action": "1.1",
            "Année": "2018",
            "Collectivité": "Grand Cahors",
            "Section": "Investissement",
            "Demandé (€)": f"12{NBSP}500,50 €",
            "Arbitré (€)": "10 000",
            "Réalisé (€)": "9999.99",
        }
    ],
}


def minimal_plan() -> Sheets:
    """A fresh copy of the minimal plan, for a test to spoil."""
    return copy.deepcopy(MINIMAL_PLAN)


def to_table(rows: list[dict[str, str]]) -> list[list[str]]:
    headers = list(rows[0])
    return [headers] + [[row.get(h, "") for h in headers] for row in rows]


def write_tables(
    folder: Path,
    tables: dict[str, list[list[str]]],
    *,
    delimiter: str = ";",
    encoding: str = "utf-8",
) -> Path:
    """Save each table as ``<sheet>.csv``, with Excel's CRLF line endings."""
    folder.mkdir(parents=True, exist_ok=True)
    for sheet, table in tables.items():
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(table)
        (folder / f"{sheet}.csv").write_bytes(buffer.getvalue().encode(encoding))
    return folder


def write_plan(folder: Path, sheets: Sheets, **options: str) -> Path:
    return write_tables(folder, {s: to_table(rows) for s, rows in sheets.items()}, **options)


def problems_reading(folder: Path) -> list[str]:
    """The located problems a refused folder is reported with."""
    with pytest.raises(ValidationError) as caught:
        read_csv_folder(folder)
    assert "rien n'a été enregistré" in caught.value.message
    return caught.value.details


def assert_is_the_minimal_plan(data: PlanData) -> None:
    """Every value of MINIMAL_PLAN arrived typed, whatever the file looked like."""
    assert data.name == "Plan de test"
    assert data.collectivities == ["Ville de Cahors", "Grand Cahors"]
    assert data.adopted_on == date(2017, 11, 9)
    assert (data.first_year, data.last_year) == (2018, 2026)
    assert data.is_example is False
    assert data.description == "Écrit pour les tests"
    assert [(s.code, s.title) for s in data.stakes] == [("E1", "Proximité avec les habitants")]
    assert [(o.code, o.stake_codes) for o in data.objectives] == [("1", ["E1"])]
    first, second = data.actions
    assert (first.code, first.objective_code) == ("1.1", "1")
    assert first.carriers == ["Ville de Cahors", "Grand Cahors"]
    assert first.elected_referent == "Adjointe à la communication"
    assert (first.status, first.weather, first.progress) == (
        ActionStatus.EN_COURS,
        Weather.NUAGEUX,
        45,
    )
    assert (first.start_date, first.planned_end_date) == (date(2018, 3, 1), date(2019, 12, 31))
    assert (second.code, second.status, second.weather, second.progress) == (
        "1.2",
        ActionStatus.REALISE,
        Weather.SOLEIL,
        100,
    )
    assert second.carriers == ["Grand Cahors"]
    assert second.start_date == date(2019, 1, 7)
    (line,) = data.budget_lines
    assert (line.action_code, line.year, line.collectivity, line.section) == (
        "1.1",
        2018,
        "Grand Cahors",
        BudgetSection.INVESTISSEMENT,
    )
    assert (line.requested_cents, line.arbitrated_cents, line.spent_cents) == (
        1_250_050,
        1_000_000,
        999_999,
    )


# --------------------------------------------------------------------------
# The shipped example
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> PlanData:
    return read_csv_folder(EXAMPLE_DIR)


def test_example_plan_has_two_stakes_three_objectives_and_nineteen_actions(
    example: PlanData,
) -> None:
    assert [s.code for s in example.stakes] == ["E1", "E2"]
    assert [o.code for o in example.objectives] == ["1", "2", "3"]
    assert len(example.actions) == 19
    assert len({a.code for a in example.actions}) == 19


def test_example_plan_is_flagged_as_example(example: PlanData) -> None:
    assert example.is_example is True


def test_example_plan_is_shared_by_the_town_and_the_agglomeration(example: PlanData) -> None:
    assert example.collectivities == ["Ville de Cahors", "Grand Cahors"]
    assert {line.collectivity for line in example.budget_lines} <= set(example.collectivities)


def test_example_budget_amounts_are_integer_cents(example: PlanData) -> None:
    first = example.budget_lines[0]
    assert (first.action_code, first.year, first.collectivity) == ("1.1", 2018, "Ville de Cahors")
    assert (first.requested_cents, first.arbitrated_cents, first.spent_cents) == (
        4_000_000,
        3_500_000,
        1_200_000,
    )
    amounts = [
        amount
        for line in example.budget_lines
        for amount in (line.requested_cents, line.arbitrated_cents, line.spent_cents)
        if amount is not None
    ]
    assert amounts
    assert all(type(amount) is int for amount in amounts)


def test_example_sheet_with_accented_file_name_is_read(example: PlanData) -> None:
    # Références.csv: the accent in the file name must not hide the sheet.
    assert len(example.references) == 16


# --------------------------------------------------------------------------
# Files as people really save them
# --------------------------------------------------------------------------


def test_minimal_plan_is_read_with_every_value_typed(tmp_path: Path) -> None:
    assert_is_the_minimal_plan(read_csv_folder(write_plan(tmp_path, minimal_plan())))


def _retyped(header: str, position: int) -> str:
    """A header as a hurried user retypes it: no accents, another case, stray spaces."""
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", header) if not unicodedata.combining(c)
    )
    plain = plain.upper() if position % 2 else plain.lower()
    return f"  {plain.replace(' ', '  ')} "


def test_headers_in_another_case_without_accents_in_another_order_are_matched(
    tmp_path: Path,
) -> None:
    tables = {}
    for sheet, rows in minimal_plan().items():
        headers, *values = to_table(rows)
        headers = [_retyped(h, i) for i, h in enumerate(headers)] + ["Notes de la mission"]
        values = [row + ["à ignorer"] for row in values]
        # Columns reversed: the unknown column comes first.
        tables[sheet] = [list(reversed(row)) for row in [headers, *values]]
    assert tables["Actions"][0][:3] == ["Notes de la mission", "  FIN  PREVUE ", "  debut "]

    assert_is_the_minimal_plan(read_csv_folder(write_tables(tmp_path, tables)))


def test_comma_separated_files_are_read(tmp_path: Path) -> None:
    folder = write_plan(tmp_path, minimal_plan(), delimiter=",")
    assert b'"12\xc2\xa0500,50 \xe2\x82\xac"' in (folder / "Budget.csv").read_bytes()

    assert_is_the_minimal_plan(read_csv_folder(folder))


def test_windows_1252_files_are_read(tmp_path: Path) -> None:
    folder = write_plan(tmp_path, minimal_plan(), encoding="cp1252")
    assert "é".encode("cp1252") in (folder / "Actions.csv").read_bytes()

    assert_is_the_minimal_plan(read_csv_folder(folder))


def test_utf8_files_with_byte_order_mark_are_read(tmp_path: Path) -> None:
    folder = write_plan(tmp_path, minimal_plan(), encoding="utf-8-sig")
    assert (folder / "Plan.csv").read_bytes().startswith(b"\xef\xbb\xbfNom;")

    assert_is_the_minimal_plan(read_csv_folder(folder))


def test_blank_rows_and_trailing_empty_columns_are_ignored(tmp_path: Path) -> None:
    tables = {}
    for sheet, rows in minimal_plan().items():
        headers, *values = to_table(rows)
        padded = [row + ["", ""] for row in values]
        blank = [""] * (len(headers) + 2)
        spaces = ["  "] * len(headers)
        tables[sheet] = [headers + ["", ""], blank, *padded, spaces, [], blank]

    assert_is_the_minimal_plan(read_csv_folder(write_tables(tmp_path, tables)))


def test_sheet_file_named_in_lower_case_without_accents_is_recognised(tmp_path: Path) -> None:
    plan = minimal_plan()
    write_plan(tmp_path, plan)
    (tmp_path / "Actions.csv").rename(tmp_path / "actions.csv")
    (tmp_path / "Enjeux.csv").rename(tmp_path / "ENJEUX.csv")

    assert_is_the_minimal_plan(read_csv_folder(tmp_path))


def test_collectivity_typed_in_another_case_is_stored_as_the_plan_spells_it(
    tmp_path: Path,
) -> None:
    plan = minimal_plan()
    plan["Budget"][0]["Collectivité"] = "GRAND  CAHORS"
    plan["Actions"][1]["Porteur"] = "grand cahors"

    data = read_csv_folder(write_plan(tmp_path, plan))

    assert data.budget_lines[0].collectivity == "Grand Cahors"
    assert data.actions[1].carriers == ["Grand Cahors"]


# --------------------------------------------------------------------------
# Problems: located by sheet, row (header = row 1), column, and explained in French
# --------------------------------------------------------------------------


def test_unknown_status_is_reported_with_its_row_column_and_allowed_values(
    tmp_path: Path,
) -> None:
    plan = minimal_plan()
    plan["Actions"][1]["Statut"] = "Terminé"

    (problem,) = problems_reading(write_plan(tmp_path, plan))

    assert problem.startswith(
        "Feuille « Actions », ligne 3, colonne « Statut » : valeur inconnue « Terminé »"
    )
    assert "À venir, En cours, Réalisé, En pause, Bloqué, Abandonné" in problem


def test_first_data_row_is_reported_as_row_two(tmp_path: Path) -> None:
    plan = minimal_plan()
    plan["Actions"][0]["Avancement (%)"] = "150"

    assert problems_reading(write_plan(tmp_path, plan)) == [
        "Feuille « Actions », ligne 2, colonne « Avancement (%) » : avancement 150 hors de 0 à 100"
    ]


def test_row_number_counts_blank_rows_as_the_spreadsheet_shows_them(tmp_path: Path) -> None:
    plan = minimal_plan()
    plan["Actions"][1]["Statut"] = "Terminé"
    headers, first, second = to_table(plan["Actions"])
    write_plan(tmp_path, plan)
    write_tables(tmp_path, {"Actions": [headers, first, [""] * len(headers), second]})

    (problem,) = problems_reading(tmp_path)

    assert problem.startswith("Feuille « Actions », ligne 4, colonne « Statut »")


def test_row_number_counts_a_cell_written_on_two_lines_as_one_row(tmp_path: Path) -> None:
    plan = minimal_plan()
    plan["Actions"][0]["Titre"] = "Refonte des sites\n(Ville et Grand Cahors)"
    plan["Actions"][1]["Statut"] = "Terminé"

    (problem,) = problems_reading(write_plan(tmp_path, plan))

    assert problem.startswith("Feuille « Actions », ligne 3, colonne « Statut »")


def test_planned_end_before_start_is_reported(tmp_path: Path) -> None:
    plan = minimal_plan()
    plan["Actions"][0]["Début"] = "01/03/2019"
    plan["Actions"][0]["Fin prévue"] = "31/12/2018"

    assert problems_reading(write_plan(tmp_path, plan)) == [
        "Feuille « Actions », ligne 2, colonne « Fin prévue » : la fin prévue précède le début"
    ]


def test_negative_amount_is_reported(tmp_path: Path) -> None:
    plan = minimal_plan()
    plan["Budget"][0]["Réalisé (€)"] = "-500,00 €"

    assert problems_reading(write_plan(tmp_path, plan)) == [
        "Feuille « Budget », ligne 2, colonne « Réalisé (€) » : montant négatif « -500,00 € »"
    ]


def test_budget_year_outside_the_plan_period_is_reported(tmp_path: Path) -> None:
    plan = minimal_plan()
    plan["Budget"][0]["Année"] = "2030"

    assert problems_reading(write_plan(tmp_path, plan)) == [
        "Feuille « Budget », ligne 2, colonne « Année » : "
        "année hors de la période du plan (2018-2026)"
    ]


def test_unknown_collectivity_is_reported_in_budget_and_carriers(tmp_path: Path) -> None:
    plan = minimal_plan()
    plan["Budget"][0]["Collectivité"] = "Ville de Figeac"
    plan["Actions"][1]["Porteur"] = "Grand Cahors; Ville de Figeac"

    problems = problems_reading(write_plan(tmp_path, plan))

    assert sorted(problems) == [
        "Feuille « Actions », ligne 3, colonne « Porteur » : "
        "collectivité inconnue « Ville de Figeac » (voir la feuille « Plan »)",
        "Feuille « Budget », ligne 2, colonne « Collectivité » : "
        "collectivité inconnue « Ville de Figeac » (voir la feuille « Plan »)",
    ]


def test_empty_required_cell_is_reported(tmp_path: Path) -> None:
    plan = minimal_plan()
    plan["Actions"][1]["Titre"] = "   "

    assert problems_reading(write_plan(tmp_path, plan)) == [
        "Feuille « Actions », ligne 3, colonne « Titre » : valeur obligatoire manquante"
    ]


def test_missing_required_column_is_reported(tmp_path: Path) -> None:
    plan = minimal_plan()
    for row in plan["Actions"]:
        del row["Titre"]

    assert problems_reading(write_plan(tmp_path, plan)) == [
        "Feuille « Actions », colonne « Titre » : colonne obligatoire absente"
    ]


def test_column_given_twice_is_reported(tmp_path: Path) -> None:
    plan = minimal_plan()
    table = to_table(plan["Enjeux"])
    write_plan(tmp_path, plan)
    write_tables(tmp_path, {"Enjeux": [table[0] + ["TITRE"], table[1] + ["Autre titre"]]})

    assert problems_reading(tmp_path) == [
        "Feuille « Enjeux », ligne 1, colonne « TITRE » : colonne présente deux fois"
    ]


def test_missing_required_sheet_is_reported_with_its_file_name(tmp_path: Path) -> None:
    plan = minimal_plan()
    del plan["Actions"]
    del plan["Budget"]

    assert problems_reading(write_plan(tmp_path, plan)) == [
        "Feuille « Actions » : feuille obligatoire absente (Actions.csv)"
    ]


def test_plan_sheet_with_two_rows_is_reported_once(tmp_path: Path) -> None:
    plan = minimal_plan()
    plan["Plan"].append({**plan["Plan"][0], "Nom": "Autre plan"})

    # Only the Plan sheet is at fault: the carriers and budget lines, whose
    # collectivities cannot be checked, used to be reported as unknown too.
    assert problems_reading(write_plan(tmp_path, plan)) == [
        "Feuille « Plan » : la feuille doit contenir exactement une ligne de plan"
    ]


def test_unreadable_plan_cell_is_reported_without_flagging_every_collectivity(
    tmp_path: Path,
) -> None:
    plan = minimal_plan()
    plan["Plan"][0]["Première année"] = "deux mille dix-huit"

    assert problems_reading(write_plan(tmp_path, plan)) == [
        "Feuille « Plan », ligne 2, colonne « Première année » : "
        "nombre entier illisible « deux mille dix-huit »"
    ]


def test_file_in_an_unknown_encoding_is_reported(tmp_path: Path) -> None:
    write_plan(tmp_path, minimal_plan())
    # 0x81 is neither UTF-8 nor Windows-1252.
    (tmp_path / "Enjeux.csv").write_bytes(b"Code;Titre\r\nE1;Proximit\x81\r\n")

    assert problems_reading(tmp_path) == [
        "Feuille « Enjeux » : encodage illisible (attendu : UTF-8 ou Windows-1252)"
    ]


def test_missing_folder_is_refused_in_french(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="n'existe pas"):
        read_csv_folder(tmp_path / "absent")


def test_every_problem_in_the_cells_is_reported_at_once(tmp_path: Path) -> None:
    plan = minimal_plan()
    plan["Actions"][0]["Statut"] = "Terminé"
    plan["Actions"][1]["Avancement (%)"] = "150 %"
    plan["Actions"][1]["Début"] = "31/02/2020"
    plan["Budget"][0]["Demandé (€)"] = "-1"
    plan["Budget"][0]["Année"] = "2017"

    problems = problems_reading(write_plan(tmp_path, plan))

    located = [p.split(" : ", 1)[0] for p in problems]
    assert located == [
        "Feuille « Actions », ligne 2, colonne « Statut »",
        "Feuille « Actions », ligne 3, colonne « Avancement (%) »",
        "Feuille « Actions », ligne 3, colonne « Début »",
        "Feuille « Budget », ligne 2, colonne « Demandé (€) »",
        "Feuille « Budget », ligne 2, colonne « Année »",
    ]


def test_every_problem_in_the_structure_is_reported_at_once(tmp_path: Path) -> None:
    plan = minimal_plan()
    del plan["Enjeux"]
    for row in plan["Budget"]:
        del row["Section"]
    for row in plan["Plan"]:
        del row["Nom"]

    problems = problems_reading(write_plan(tmp_path, plan))

    assert sorted(problems) == [
        "Feuille « Budget », colonne « Section » : colonne obligatoire absente",
        "Feuille « Enjeux » : feuille obligatoire absente (Enjeux.csv)",
        "Feuille « Plan », colonne « Nom » : colonne obligatoire absente",
    ]
