"""Files sent by users: size-limited, read as bytes, parsed later — never executed."""

from __future__ import annotations

from typing import BinaryIO

from tracker.errors import ValidationError
from tracker.formats import format_number

MEGABYTE = 1024 * 1024


def read_upload(source: bytes | BinaryIO, *, name: str, limit_mb: int) -> bytes:
    """The file's bytes, or a French ValidationError if it is empty or over the limit.

    Reads at most one byte past the limit, so a huge file is refused without
    being loaded whole.
    """
    limit = limit_mb * MEGABYTE
    is_bytes = isinstance(source, bytes | bytearray)
    content = bytes(source) if is_bytes else source.read(limit + 1)
    if not content:
        raise ValidationError(f"Le fichier « {name} » est vide.")
    if len(content) > limit:
        raise ValidationError(
            f"Le fichier « {name} » dépasse la taille maximale autorisée ({limit_mb} Mo). "
            "Un administrateur peut relever cette limite dans les réglages."
        )
    return content


def describe_size(size: int) -> str:
    """``1,5 Mo``: a size as users read it."""
    return f"{format_number(size / MEGABYTE, 1)} Mo"
