"""Reading cells as people type them in French spreadsheets (tracker.io.parsing)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tracker import strings
from tracker.io.parsing import (
    CellError,
    normalise_key,
    parse_amount_cents,
    parse_bool,
    parse_date,
    parse_enum,
    parse_list,
    parse_percent,
)
from tracker.models import ActionStatus

NBSP = "\u00a0"  # non-breaking space, what French Excel puts in 12 500
NNBSP = "\u202f"  # narrow non-breaking space, what Babel and recent Excel put


# --------------------------------------------------------------------------
# Amounts
# --------------------------------------------------------------------------


def test_amount_with_euro_sign_spaces_and_decimal_comma_is_read_as_cents() -> None:
    assert parse_amount_cents("12 500,00 €") == 1_250_000


def test_amount_round_trip_keeps_the_cents() -> None:
    assert parse_amount_cents("12 500,50 €") == 1_250_050


def test_amount_with_decimal_point_is_read_as_cents() -> None:
    assert parse_amount_cents("12500.5") == 1_250_050


def test_amount_with_normal_space_as_thousands_separator_is_read_as_cents() -> None:
    assert parse_amount_cents("12 500") == 1_250_000


def test_amount_with_no_break_space_is_read_as_cents() -> None:
    assert parse_amount_cents(f"12{NBSP}500") == 1_250_000


def test_amount_with_narrow_no_break_space_is_read_as_cents() -> None:
    assert parse_amount_cents(f"12{NNBSP}500,50{NNBSP}€") == 1_250_050


def test_amount_with_dots_as_thousands_separators_is_read_as_cents() -> None:
    assert parse_amount_cents("12.500,50") == 1_250_050


def test_amount_written_with_eur_instead_of_the_sign_is_read_as_cents() -> None:
    assert parse_amount_cents("1 234,5 EUR") == 123_450


@pytest.mark.parametrize(
    ("cell", "cents"),
    [(12500, 1_250_000), (12500.5, 1_250_050), (0.1, 10), (0, 0)],
    ids=["int", "float", "ten-cents", "zero"],
)
def test_amount_given_as_an_excel_number_is_read_as_cents(cell: float, cents: int) -> None:
    result = parse_amount_cents(cell)
    assert result == cents
    assert isinstance(result, int)


@pytest.mark.parametrize("cell", [None, "", "   ", NBSP])
def test_empty_amount_cell_gives_none(cell: str | None) -> None:
    assert parse_amount_cents(cell) is None


@pytest.mark.parametrize("cell", ["-5", "-12 500,00 €", -3, -0.5])
def test_negative_amount_is_refused_with_a_french_message(cell: object) -> None:
    with pytest.raises(CellError, match="montant négatif"):
        parse_amount_cents(cell)


@pytest.mark.parametrize("cell", ["12,345", "0.001", 1.005])
def test_amount_with_more_than_two_decimals_is_refused(cell: object) -> None:
    with pytest.raises(CellError, match="plus de deux décimales"):
        parse_amount_cents(cell)


@pytest.mark.parametrize("cell", ["douze mille", "12,50,00", "1.234.567,8.9", "NaN", "€"])
def test_amount_that_is_not_a_number_is_refused_and_quoted(cell: str) -> None:
    with pytest.raises(CellError, match="montant illisible") as caught:
        parse_amount_cents(cell)
    assert f"« {cell} »" in str(caught.value)


@pytest.mark.parametrize("cell", [float("nan"), float("inf"), True])
def test_amount_from_a_spreadsheet_that_is_not_a_finite_number_is_refused(cell: object) -> None:
    # NaN is what a reader gives for an error cell; it used to crash with decimal errors.
    with pytest.raises(CellError, match="montant illisible"):
        parse_amount_cents(cell)


# --------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------


def test_date_object_is_kept() -> None:
    assert parse_date(date(2017, 11, 9)) == date(2017, 11, 9)


def test_datetime_from_excel_keeps_only_the_day() -> None:
    result = parse_date(datetime(2017, 11, 9, 14, 30))
    assert result == date(2017, 11, 9)
    assert type(result) is date


@pytest.mark.parametrize(
    "cell",
    ["09/11/2017", "9/11/17", "2017-11-09", " 09/11/2017 ", "09.11.2017", "09/11/2017 10:30"],
)
def test_french_and_iso_dates_are_read_day_first(cell: str) -> None:
    assert parse_date(cell) == date(2017, 11, 9)


def test_impossible_date_is_refused_as_nonexistent() -> None:
    with pytest.raises(CellError, match="date inexistante « 31/02/2020 »"):
        parse_date("31/02/2020")


@pytest.mark.parametrize("cell", ["demain", "2017/13", "11-2017", "09/11/2017 midi"])
def test_unreadable_date_is_refused_with_the_expected_format(cell: str) -> None:
    with pytest.raises(CellError, match=r"date illisible .*JJ/MM/AAAA"):
        parse_date(cell)


def test_empty_date_cell_gives_none() -> None:
    assert parse_date("  ") is None


# --------------------------------------------------------------------------
# Percentages
# --------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["45", "45 %", "45%", f"45{NNBSP}%", 45, "45,0"])
def test_percent_typed_as_a_whole_number_or_with_sign_is_read(cell: object) -> None:
    assert parse_percent(cell) == 45


@pytest.mark.parametrize("cell", ["0,45", 0.45, "45 %"])
def test_percent_from_a_cell_formatted_as_percentage_is_read(cell: object) -> None:
    assert parse_percent(cell, percent_format=True) == 45


def test_percent_is_rounded_half_up_as_excel_displays_it() -> None:
    # Excel shows 0,625 in a percentage cell as 63 %; banker's rounding gave 62.
    assert parse_percent(0.625, percent_format=True) == 63
    assert parse_percent("12,5") == 13


def test_percent_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(CellError, match="pourcentage illisible"):
        parse_percent("beaucoup")


# --------------------------------------------------------------------------
# Labels of enumerations
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "status"),
    [
        ("en cours", ActionStatus.EN_COURS),
        ("EN COURS", ActionStatus.EN_COURS),
        ("Réalisé", ActionStatus.REALISE),
        ("realise", ActionStatus.REALISE),
        ("BLOQUE", ActionStatus.BLOQUE),
        ("  a venir ", ActionStatus.A_VENIR),
        ("abandonné", ActionStatus.ABANDONNE),
        ("en_pause", ActionStatus.EN_PAUSE),
    ],
)
def test_status_is_read_from_its_label_in_any_case_with_or_without_accents(
    cell: str, status: ActionStatus
) -> None:
    assert parse_enum(cell, strings.STATUS_LABELS) is status


def test_unknown_status_is_refused_with_the_allowed_values() -> None:
    with pytest.raises(CellError) as caught:
        parse_enum("Terminé", strings.STATUS_LABELS)
    message = str(caught.value)
    assert "valeur inconnue « Terminé »" in message
    for label in strings.STATUS_LABELS.values():
        assert label in message


def test_empty_status_cell_gives_none() -> None:
    assert parse_enum("", strings.STATUS_LABELS) is None


# --------------------------------------------------------------------------
# Lists and yes/no
# --------------------------------------------------------------------------


def test_list_separated_by_semicolons_is_split_and_trimmed() -> None:
    assert parse_list(" Ville de Cahors ;Grand Cahors; ") == ["Ville de Cahors", "Grand Cahors"]


def test_list_separated_by_commas_is_split_and_trimmed() -> None:
    assert parse_list("E1, E2,E3") == ["E1", "E2", "E3"]


def test_list_with_semicolons_keeps_commas_inside_items() -> None:
    assert parse_list("Région Occitanie; État, ANCT") == ["Région Occitanie", "État, ANCT"]


def test_empty_list_cell_gives_an_empty_list() -> None:
    assert parse_list(None) == []


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("oui", True), ("OUI", True), (" Oui ", True), ("non", False), ("NON", False), (True, True)],
)
def test_yes_no_is_read_in_any_case(cell: object, expected: bool) -> None:
    assert parse_bool(cell) is expected


def test_yes_no_cell_with_another_word_is_refused() -> None:
    with pytest.raises(CellError, match="oui ou non attendu, pas « peut-être »"):
        parse_bool("peut-être")


def test_empty_yes_no_cell_gives_none() -> None:
    assert parse_bool("") is None


# --------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------


def test_header_with_capitals_and_extra_spaces_matches_the_template() -> None:
    assert normalise_key("  AVANCEMENT  (%) ") == normalise_key("Avancement (%)")


def test_header_with_accents_matches_the_same_header_without() -> None:
    assert normalise_key("Météo") == normalise_key("meteo") == "meteo"


def test_header_with_capital_accented_letter_matches_plain_letters() -> None:
    assert normalise_key("Élu référent") == "elu referent"


def test_header_with_typographic_apostrophe_and_no_break_space_matches() -> None:
    assert normalise_key(f"Mode d’avancement{NBSP}") == normalise_key("Mode d'avancement")


def test_different_headers_stay_different() -> None:
    assert normalise_key("Fin prévue") != normalise_key("Fin réelle")
