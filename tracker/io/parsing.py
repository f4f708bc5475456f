"""Reading values as people type them in French spreadsheets.

Each parser takes a cell (text, number, date or None) and returns a Python
value, or raises ``CellError`` with a French reason. Empty cells give None.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from typing import Any

# Normal, non-breaking and narrow non-breaking spaces, as Excel and Babel write them.
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")


class CellError(ValueError):
    """A cell that cannot be read; the message is the French reason."""


def normalise_key(text: str) -> str:
    """Lower case, no accents, single spaces: how headers and labels are compared."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("’", "'").replace("_", " ")
    return _SPACES.sub(" ", text).strip().lower()


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_text(value: Any) -> str:
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_date(value: Any) -> date | None:
    """Excel dates, ``09/11/2017``, ``9/11/17``, ``2017-11-09``."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?", text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        # French Excel writes a date-time cell as "09/11/2017 10:30": the time is dropped.
        match = re.fullmatch(
            r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?", text
        )
        if not match:
            raise CellError(f"date illisible « {text} » (attendu : JJ/MM/AAAA ou AAAA-MM-JJ)")
        day, month, year = (int(g) for g in match.groups())
        if year < 100:
            year += 2000 if year < 70 else 1900
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(f"date inexistante « {text} »") from None


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool):
        raise CellError(f"{what} illisible « {value} »")
    if isinstance(value, int | float):
        number = Decimal(str(value))
        if not number.is_finite():
            raise CellError(f"{what} illisible « {value} »")
        return number
    text = _SPACES.sub("", str(value)).replace("€", "").replace("EUR", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    elif "," in text and "." in text:
        # 12.500,50 (dots as thousands separators) or 12,500.50
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError(f"{what} illisible « {value} »") from None
    if not number.is_finite():
        raise CellError(f"{what} illisible « {value} »")
    return number


def parse_amount_cents(value: Any) -> int | None:
    """Euros as typed (``12 500,00 €``, ``12500.5``, Excel numbers) to integer cents."""
    if is_blank(value):
        return None
    number = _decimal(value, "montant")
    if number < 0:
        raise CellError(f"montant négatif « {value} »")
    cents = number * 100
    if cents != cents.to_integral_value():
        raise CellError(f"montant avec plus de deux décimales « {value} »")
    return int(cents)


def parse_int(value: Any, what: str = "nombre entier") -> int | None:
    if is_blank(value):
        return None
    number = _decimal(value, what)
    if number != number.to_integral_value():
        raise CellError(f"{what} attendu, pas « {value} »")
    return int(number)


def parse_float(value: Any, what: str = "nombre") -> float | None:
    """A number; ``45 %`` reads as 45, as a cell formatted as a percentage shows it."""
    if is_blank(value):
        return None
    text = str(value).strip()
    if isinstance(value, str) and text.endswith("%"):
        try:
            return float(_decimal(text[:-1], what))
        except CellError:
            raise CellError(f"{what} illisible « {text} »") from None
    return float(_decimal(value, what))


def parse_percent(value: Any, *, percent_format: bool = False) -> int | None:
    """``45``, ``45 %``, or ``0,45`` in a cell formatted as a percentage."""
    if is_blank(value):
        return None
    text = str(value)
    has_sign = "%" in text
    number = (
        _decimal(text.replace("%", ""), "pourcentage")
        if has_sign
        else _decimal(value, "pourcentage")
    )
    if percent_format and not has_sign:
        number *= 100
    if number != number.to_integral_value():
        # Half up, as Excel displays it: 0,625 in a percentage cell shows 63 %.
        number = number.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(number)


def parse_enum(value: Any, labels: dict[Enum, str]) -> Enum | None:
    """A value given by its French label or its code, in any case, with or without accents."""
    if is_blank(value):
        return None
    key = normalise_key(value)
    for member, label in labels.items():
        if key in (normalise_key(label), normalise_key(member.value), normalise_key(member.name)):
            return member
    allowed = ", ".join(labels.values())
    raise CellError(f"valeur inconnue « {str(value).strip()} » (valeurs possibles : {allowed})")


def parse_list(value: Any) -> list[str]:
    """Codes or names separated by ``;`` (or ``,`` when no ``;`` is present)."""
    if is_blank(value):
        return []
    text = parse_text(value)
    separator = ";" if ";" in text else ","
    return [part.strip() for part in text.split(separator) if part.strip()]


def parse_answers(value: Any) -> list[str]:
    """Survey answers separated by ``;`` only (an answer may hold a comma)."""
    if is_blank(value):
        return []
    return list(dict.fromkeys(p.strip() for p in parse_text(value).split(";") if p.strip()))


def parse_bool(value: Any) -> bool | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    key = normalise_key(value)
    if key in {"oui", "o", "vrai", "true", "1", "x", "yes"}:
        return True
    if key in {"non", "n", "faux", "false", "0", "no"}:
        return False
    raise CellError(f"oui ou non attendu, pas « {value} »")
