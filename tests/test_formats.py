"""French formats (Babel), and amounts read back from what is shown."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tracker.formats import format_date, format_datetime, format_eur, format_number, format_percent
from tracker.io.parsing import parse_amount_cents


def test_amount_typed_then_shown_then_read_again_keeps_every_cent():
    cents = parse_amount_cents("12 500,50 €")
    assert cents == 1250050
    shown = format_eur(cents)
    # Babel separates thousands with a narrow no-break space and puts a no-break space before €.
    assert shown == "12\u202f500,50\u00a0€"
    assert parse_amount_cents(shown) == cents


@pytest.mark.parametrize("cents", [0, 1, 99, 100, 1250000, 1250050, 123456789, 10**12 + 7])
def test_any_amount_survives_formatting_and_parsing(cents):
    assert parse_amount_cents(format_eur(cents)) == cents


def test_cents_are_shown_only_where_they_matter():
    assert format_eur(1250000) == "12\u202f500\u00a0€"
    assert format_eur(1250000, always_cents=True) == "12\u202f500,00\u00a0€"


def test_numbers_percents_and_dates_read_the_french_way():
    assert format_number(12500) == "12\u202f500"
    assert format_percent(45.3, 1) == "45,3\u00a0%"
    assert format_date(date(2017, 11, 9)) == "9 nov. 2017"
    # Stored in UTC, shown in Paris time (UTC+1 in winter, UTC+2 in summer).
    assert format_datetime(datetime(2026, 11, 28, 20, 40, tzinfo=UTC)) == "28 nov. 2026 à 21:40"
    assert format_datetime(datetime(2026, 7, 1, 20, 40, tzinfo=UTC)) == "1 juil. 2026 à 22:40"
