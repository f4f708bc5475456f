"""The data revision: a counter bumped in the same transaction as every write.

Cached reads are keyed on it, so every user (and every app process sharing the
database) sees a save on their next rerun.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from tracker.models import DataRevision


def current_revision(session: Session) -> int:
    """The current revision (0 on a database never written to)."""
    value = session.execute(sa.select(DataRevision.value).where(DataRevision.id == 1)).scalar()
    return int(value or 0)


def bump_revision(session: Session) -> None:
    """Increment the revision inside the caller's transaction."""
    updated = session.execute(
        sa.update(DataRevision).where(DataRevision.id == 1).values(value=DataRevision.value + 1)
    )
    if updated.rowcount == 0:
        session.add(DataRevision(id=1, value=1))
        session.flush()
