"""French formats for numbers, percentages, money and dates (Babel)."""

from __future__ import annotations

from datetime import date, datetime

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_decimal

# Parsed once: given as a string, Babel parses the locale again on every call (half
# the cost of formatting a number, thousands of times on a page of a large plan).
LOCALE = Locale.parse("fr_FR")
# Timestamps are stored in UTC and shown in the collectivities' time zone.
TIMEZONE = "Europe/Paris"


def format_number(value: float | int | None, decimals: int = 0) -> str:
    """``12 500`` or ``45,3``; an empty string for None."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=LOCALE)


def format_percent(value: float | int | None, decimals: int = 0) -> str:
    """A value already in percent (45.3) as ``45,3 %``."""
    if value is None:
        return ""
    return format_number(value, decimals) + "\u00a0%"


def format_eur(cents: int | None, *, always_cents: bool = False) -> str:
    """Integer cents as ``12 500 €``, or ``12 500,50 €`` when cents matter."""
    if cents is None:
        return ""
    decimals = 2 if always_cents or cents % 100 else 0
    return format_number(cents / 100, decimals) + "\u00a0€"


def format_date(value: date | None) -> str:
    """``9 nov. 2017``; an empty string for None."""
    if value is None:
        return ""
    return _babel_date(value, format="d MMM y", locale=LOCALE)


def format_datetime(value: datetime | None) -> str:
    """``28 nov. 2026 à 21:40``, in Paris time; an empty string for None."""
    if value is None:
        return ""
    return _babel_datetime(value, format="d MMM y 'à' HH:mm", tzinfo=TIMEZONE, locale=LOCALE)
