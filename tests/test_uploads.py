"""Uploaded files: the size limit and empty files."""

from __future__ import annotations

import io

import pytest

from tracker.errors import ValidationError
from tracker.io.uploads import MEGABYTE, describe_size, read_upload


def test_a_file_within_the_limit_is_read_whole():
    assert read_upload(io.BytesIO(b"a;b\n1;2\n"), name="x.csv", limit_mb=1) == b"a;b\n1;2\n"


def test_a_file_over_the_limit_is_refused_in_french_without_reading_it_whole():
    class Huge(io.RawIOBase):
        """A 1 GB stream that counts what is read from it."""

        read_total = 0

        def read(self, size=-1):  # noqa: ANN001, ANN202
            size = 1024**3 if size < 0 else size
            Huge.read_total += size
            return b"x" * size

    with pytest.raises(ValidationError, match="dépasse la taille maximale autorisée \\(2 Mo\\)"):
        read_upload(Huge(), name="enorme.xlsx", limit_mb=2)
    assert Huge.read_total == 2 * MEGABYTE + 1


def test_exactly_the_limit_is_accepted_and_one_byte_more_is_not():
    assert len(read_upload(b"x" * MEGABYTE, name="a", limit_mb=1)) == MEGABYTE
    with pytest.raises(ValidationError):
        read_upload(b"x" * (MEGABYTE + 1), name="a", limit_mb=1)


def test_an_empty_file_is_refused():
    with pytest.raises(ValidationError, match="« vide.csv » est vide"):
        read_upload(io.BytesIO(b""), name="vide.csv", limit_mb=20)


def test_sizes_are_written_the_french_way():
    assert describe_size(1536 * 1024) == "1,5 Mo"
