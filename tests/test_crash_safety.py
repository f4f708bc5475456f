"""A bulk save killed in the middle of its transaction leaves the database whole.

A separate Python process (benchmarks/killed_bulk_save.py, the child of
benchmarks/crash.py too) runs a real bulk save (bulk_update, through the
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

# The child process, shared with benchmarks/crash.py (see its docstring): run as
# ``python benchmarks/killed_bulk_save.py LOGIN WHEN "UPDATE action "``, it dies just
# after the WHEN-th UPDATE of an action, or "after-commit".
CHILD = PROJECT_ROOT / "benchmarks" / "killed_bulk_save.py"
ACTION_UPDATES = "UPDATE action "


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def environment(engine: Engine) -> dict[str, str]:
    return {**os.environ, "TRACKER_DATABASE_URL": url_of(engine)}


def run_child(engine: Engine, when: str, login: str) -> None:
    child = subprocess.run(
        [sys.executable, str(CHILD), login, when, ACTION_UPDATES],
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
    run_child(engine, "1" if kill_at == "first" else str(count), editor_login)

    check = tracker_check(engine)
    assert check.returncode == 0, check.stdout + check.stderr
    assert state(engine) == before
    assert_still_writable(engine, editor_login)


def test_bulk_save_killed_just_after_its_commit_keeps_every_change(
    engine: Engine, editor_login: str
) -> None:
    before = state(engine)
    run_child(engine, "after-commit", editor_login)

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
