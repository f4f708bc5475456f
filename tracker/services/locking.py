"""Re-reading rows locked before a save checks them, so that no save is lost.

A save reads rows, checks them (the version the user edited from, a year not
closed, a review still open, an administrator left...) and then writes. On
PostgreSQL (READ COMMITTED) two saves could both read the same committed rows
before either wrote: both passed the check, and the second silently overwrote the
first (a lost update) or broke the rule the first relied on. So a save first
re-reads, with a row lock held until it commits, the rows its checks depend on: a
second save of the same rows waits for the first to commit, then sees what it wrote.

Locks are always taken in the same order, so that two saves never wait for each
other (a deadlock): parent rows before their children (a plan before its budget
lines, a review before its decisions, an indicator before its measurements, an
account before the actions it pilots), ids ascending within a table, and the data
revision's row (``bump_revision``) last of all. Where one save locks rows of several
kinds, they come in this order: a plan, its actions, its indicators (the plan import);
a survey wave, then its plan's indicators (survey imports and recomputations; a
recomputation under an indicator's lock reads waves without locking them); an account,
then actions (a new pilot's account before the action it is given).

FOR NO KEY UPDATE is the lock an UPDATE takes anyway: rows that merely refer to a
locked row (notes, audit entries, measurements, decisions...) are not blocked.
SQLite emits no FOR UPDATE: its write transactions already run one at a time
(BEGIN IMMEDIATE after a lock per file in the process, see tracker.db), so there
these functions are plain reads of the last committed rows.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.errors import ConflictError
from tracker.models import AuditEntry

T = TypeVar("T")

ROW_LOCK = {"key_share": True}  # SELECT ... FOR NO KEY UPDATE


def locked_get(session: Session, model: type[T], row_id: Any) -> T | None:
    """The row as last committed (None if there is none), locked until the end of
    the transaction."""
    return session.get(model, row_id, with_for_update=ROW_LOCK, populate_existing=True)


def lock_rows(session: Session, model: type[T], *where: Any) -> list[T]:
    """The rows of ``model`` matching ``where`` as last committed, locked in id order.

    On PostgreSQL, a row that another save changed while this one waited for it is
    checked against ``where`` again, and left out if it no longer matches.
    """
    return list(
        session.exec(
            select(model)
            .where(*where)
            .order_by(model.id)
            .with_for_update(**ROW_LOCK)
            .execution_options(populate_existing=True)
        )
    )


def lock_ids(session: Session, model: type[T], ids: Iterable[int]) -> dict[int, T]:
    """The rows of ``model`` with these ids (those that exist), locked in id order."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {row.id: row for row in lock_rows(session, model, model.id.in_(wanted))}


def lock_name(session: Session, name: str) -> None:
    """Wait for, then hold until the end of the transaction, the lock called ``name``.

    For checks about rows that may not exist yet (no other account with this email,
    no administrator yet, a setting never saved): there is no row to lock, so the
    saves doing the same check take the same named lock first.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"tracker:{name}".encode())
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def changed_by(session: Session, entity: str, entity_id: int, version: int) -> list[str]:
    """Who saved this entity after ``version`` (logins, in order, each once), from the
    history: what a refused save tells the user."""
    logins = session.exec(
        select(AuditEntry.user_login)
        .where(
            AuditEntry.entity == entity,
            AuditEntry.entity_id == entity_id,
            AuditEntry.entity_version > version,
        )
        .order_by(AuditEntry.id)
    )
    return list(dict.fromkeys(logins))


def refuse_stale_form(
    saved: Mapping[str, Any], shown: Mapping[str, Any], labels: Mapping[str, str], message: str
) -> None:
    """ConflictError(``message``) naming the fields whose saved value (read under the
    caller's lock) differs from what the user's form showed when it was opened: for
    what has no version number, saving that form would put old values back unseen."""
    changed = [labels[name] for name in saved if saved[name] != shown[name]]
    if changed:
        raise ConflictError(message, details=[f"Modifié entre-temps : {', '.join(changed)}."])
