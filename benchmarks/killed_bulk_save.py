"""A real bulk save that kills itself with SIGKILL: the child process of the crash tests.

    python benchmarks/killed_bulk_save.py LOGIN WHEN [PREFIX]

Run as its own process on the database of TRACKER_DATABASE_URL, by
benchmarks/crash.py and tests/test_crash_safety.py (both start it; neither imports
it). As user LOGIN, it saves every action of the database at once, through the
services (``bulk_update``: a new status, and progress where it is entered), in one
transaction, and dies by SIGKILL at the point WHEN names:

- ``count``: it does not die; it prints ``statements=N``, the statements of the
  transaction, and rolls it back;
- ``K`` (1, 2, ...): just after the K-th statement of the transaction;
- ``before-commit``: just before the commit is sent;
- ``after-commit``: just after the commit.

With PREFIX, only the statements starting with it are counted (e.g.
``"UPDATE action "``: K is then the K-th action written). The kill comes from an
event listener of this process, on its own engine: nothing in the product.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from sqlalchemy import event
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker import db  # noqa: E402
from tracker.models import Action, ActionStatus, ProgressMode  # noqa: E402
from tracker.services import users  # noqa: E402
from tracker.services.actions import BulkRow, bulk_update  # noqa: E402

COUNT, BEFORE_COMMIT, AFTER_COMMIT = "count", "before-commit", "after-commit"


class _CountOnly(Exception):
    """Raised inside the transaction of a ``count`` run, to roll it back."""


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(login: str, when: str, prefix: str = "") -> None:
    if when not in (COUNT, BEFORE_COMMIT, AFTER_COMMIT) and not when.isdigit():
        sys.exit(f"Point d'arrêt inconnu : « {when} ».")
    kill_at = int(when) if when.isdigit() else None
    engine = db.get_engine()
    armed = False  # only the statements of the bulk save's transaction count
    statements = 0

    @event.listens_for(engine, "after_cursor_execute")
    def count_and_maybe_die(conn, cursor, statement, *args) -> None:  # noqa: ANN001, ANN002
        nonlocal statements
        if armed and statement.startswith(prefix):
            statements += 1
            if statements == kill_at:
                _die()

    @event.listens_for(engine, "commit")
    def before_the_commit(conn) -> None:  # noqa: ANN001
        if armed and when == BEFORE_COMMIT:
            _die()

    with db.session_scope(engine) as session:
        editor = users.find_user(session, login)
        actions = session.exec(select(Action).order_by(Action.id)).all()
    pause, ongoing = ActionStatus.EN_PAUSE, ActionStatus.EN_COURS
    milestones = ProgressMode.MILESTONES
    rows = [
        BulkRow(
            a.id,
            a.version,
            status=pause if a.status != pause else ongoing,
            progress=None if a.progress_mode == milestones else 51 - (a.progress == 51),
        )
        for a in actions
    ]
    armed = True
    try:
        with db.session_scope(engine, write=True) as session:
            bulk_update(session, editor, rows)
            if when == COUNT:
                raise _CountOnly
    except _CountOnly:
        print(f"statements={statements}")
        return
    if when != AFTER_COMMIT:
        sys.exit(f"Pas d'arrêt au point « {when} » : la transaction n'y est pas arrivée.")
    _die()  # just after the commit: nothing else runs


if __name__ == "__main__":
    main(*sys.argv[1:])
