"""A bulk save killed in the middle of its transaction leaves the database whole.

A separate Python process runs a real bulk save (bulk_update, through the
services, every action of the example plan) and kills itself with SIGKILL from
inside the transaction: an event listener of that child process, on its own
engine, fires after the chosen UPDATE of an action (no hook in the product).
The database must then pass ``python -m tracker check``, hold every action as it
was (nothing half-saved), keep its data revision, and accept the next save. A
kill just after the commit keeps every change. On SQLite (a file, WAL) and on
PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.conftest import PROJECT_ROOT, add_user
from tracker import db
from tracker.models import Action, AuditEntry, Note, Plan
from tracker.services.actions import update_action
from tracker.services.revision import current_revision
from tracker.services.users import find_user

# The child: ``python -c CHILD KILL_AT LOGIN``. KILL_AT: after which UPDATE of an
# action the process kills itself (1 = the first); 0 = just after the commit.
CHILD = r"""
import os
import signal
import sys

from sqlalchemy import event
from sqlmodel import select

from tracker import db
from tracker.models import Action, ActionStatus, ProgressMode
from tracker.services import users
from tracker.services.actions import BulkRow, bulk_update

kill_at, login = int(sys.argv[1]), sys.argv[2]
engine = db.get_engine()
updates = 0


@event.listens_for(engine, "after_cursor_execute")
def die_inside_the_transaction(conn, cursor, statement, *args):
    global updates
    if statement.startswith("UPDATE action "):
        updates += 1
        if updates == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


with db.session_scope(engine) as session:
    editor = users.find_user(session, login)
    actions = session.exec(select(Action).order_by(Action.id)).all()
PAUSE, ONGOING = ActionStatus.EN_PAUSE, ActionStatus.EN_COURS
rows = [
    BulkRow(
        a.id,
        a.version,
        status=PAUSE if a.status != PAUSE else ONGOING,
        progress=None if a.progress_mode == ProgressMode.MILESTONES else 51 - (a.progress == 51),
    )
    for a in actions
]
with db.session_scope(engine, write=True) as session:
    bulk_update(session, editor, rows)
os.kill(os.getpid(), signal.SIGKILL)  # after the commit: nothing else runs
"""


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def environment(engine: Engine) -> dict[str, str]:
    return {**os.environ, "TRACKER_DATABASE_URL": url_of(engine)}


def run_child(engine: Engine, kill_at: int, login: str) -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(kill_at), login],
        cwd=PROJECT_ROOT,
        env=environment(engine),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-3000:]


def tracker_check(engine: Engine) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tracker", "check"],
        cwd=PROJECT_ROOT,
        env=environment(engine),
        capture_output=True,
        text=True,
        timeout=120,
    )


def state(engine: Engine) -> dict:
    """Every action's saved fields, and how much history, notes and revision there is."""
    with db.session_scope(engine) as session:
        return {
            "actions": {
                a.id: (a.status, a.weather, a.progress, a.actual_end_date, a.version, a.updated_at)
                for a in session.exec(select(Action))
            },
            "history": session.execute(
                sa.select(sa.func.count()).select_from(AuditEntry)
            ).scalar_one(),
            "notes": session.execute(sa.select(sa.func.count()).select_from(Note)).scalar_one(),
            "revision": current_revision(session),
        }


@pytest.fixture
def editor_login(engine: Engine, example_plan: Plan) -> str:
    return add_user(engine, "editor", login="redaction").login


def assert_still_writable(engine: Engine, login: str) -> None:
    """The next save goes through (no lock or transaction left behind)."""
    with db.session_scope(engine) as session:
        action = session.exec(select(Action).order_by(Action.id)).first()
    revision = state(engine)["revision"]
    with db.session_scope(engine, write=True) as session:
        update_action(
            session,
            find_user(session, login),
            action.id,
            expected_version=action.version,
            changes={"weather": "orage" if action.weather != "orage" else "soleil"},
        )
    assert state(engine)["revision"] == revision + 1


@pytest.mark.parametrize("kill_at", ["first", "last"])
def test_bulk_save_killed_inside_its_transaction_saves_nothing(
    engine: Engine, editor_login: str, kill_at: str
) -> None:
    before = state(engine)
    count = len(before["actions"])
    run_child(engine, 1 if kill_at == "first" else count, editor_login)

    check = tracker_check(engine)
    assert check.returncode == 0, check.stdout + check.stderr
    assert state(engine) == before
    assert_still_writable(engine, editor_login)


def test_bulk_save_killed_just_after_its_commit_keeps_every_change(
    engine: Engine, editor_login: str
) -> None:
    before = state(engine)
    run_child(engine, 0, editor_login)

    check = tracker_check(engine)
    assert check.returncode == 0, check.stdout + check.stderr
    after = state(engine)
    assert all(
        after["actions"][i][4] == old[4] + 1 and after["actions"][i][0] != old[0]
        for i, old in before["actions"].items()
    )
    assert after["revision"] == before["revision"] + len(before["actions"])
    assert after["history"] > before["history"]
    assert_still_writable(engine, editor_login)
