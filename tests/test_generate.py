"""The benchmark databases (benchmarks/generate.py): every table filled, the app's
integrity check passes, and the history agrees with the current values."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests.conftest import PROJECT_ROOT
from tracker import db
from tracker.bootstrap import prepare_database
from tracker.models import Action, AuditEntry, Review, ReviewStatus
from tracker.services import integrity
from tracker.services.overview import statuses_at

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
from generate import build  # noqa: E402

# Tables the app writes that a generated database need not fill: none.
TABLES_LEFT_EMPTY: set[str] = set()


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    url = f"sqlite:///{tmp_path_factory.mktemp('generate') / 'portefeuille.db'}"
    return url, build("portefeuille", url, "smoke", size=3)


@pytest.fixture(scope="module")
def big_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    url = f"sqlite:///{tmp_path_factory.mktemp('generate') / 'grand.db'}"
    return url, build("grand", url, "smoke", size=40)


def _problems(url: str) -> list[str]:
    engine = db.make_engine(url)
    try:
        with db.session_scope(engine) as session:
            return integrity.run_checks(session)
    finally:
        engine.dispose()


def test_portfolio_has_the_asked_counts(portfolio: tuple[str, dict]) -> None:
    _, summary = portfolio
    counts = summary["counts"]
    assert counts["plan"] == 3
    assert counts["action"] == 3 * 19
    assert counts["budget_line"] == 3 * 19 * 5 * 2 * 2
    assert counts["indicator"] == 3 * 10
    assert counts["measurement"] == 3 * 10 * 20
    assert counts["survey_wave"] == 3
    assert counts["survey_response"] == 3 * 500
    assert counts["review"] >= 3
    assert counts["user"] == 14


@pytest.mark.parametrize("which", ["portfolio", "big_plan"])
def test_every_table_is_filled_and_sound(which: str, request: pytest.FixtureRequest) -> None:
    url, summary = request.getfixturevalue(which)
    empty = {table for table, n in summary["counts"].items() if n == 0}
    assert empty == TABLES_LEFT_EMPTY
    assert summary["problems"] == []
    assert _problems(url) == []  # checked again, from a new connection


def test_big_plan_is_one_plan_of_the_asked_size(big_plan: tuple[str, dict]) -> None:
    _, summary = big_plan
    counts = summary["counts"]
    assert counts["plan"] == 1
    assert counts["action"] == 40
    assert counts["budget_line"] == 40 * 20
    assert counts["survey_wave"] == 2


def test_history_leads_to_each_action_current_status(portfolio: tuple[str, dict]) -> None:
    """Each action's status changes chain from one to the next and end on its status,
    and its version counts its saves."""
    url, _ = portfolio
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        actions = session.exec(select(Action)).all()
        entries = session.exec(
            select(AuditEntry)
            .where(AuditEntry.entity == "action")
            .order_by(AuditEntry.at, AuditEntry.id)
        ).all()
    engine.dispose()
    created = Counter(e.action_id for e in entries if e.operation == "création")
    assert set(created.values()) == {1} and set(created) == {a.id for a in actions}
    for action in actions:
        own = [e for e in entries if e.action_id == action.id]
        changes = [e for e in own if e.field == "status"]
        for before, after in zip(changes, changes[1:], strict=False):
            assert before.new_value == after.old_value
        if changes:
            assert changes[-1].new_value == action.status.value
        versions = {e.entity_version for e in own if e.entity_version is not None}
        assert action.version == 1 + len(versions)
        assert action.updated_at >= max(e.at for e in own)


def test_closed_review_snapshot_agrees_with_the_history(portfolio: tuple[str, dict]) -> None:
    """The snapshot frozen at the committee shows the statuses the history gives for that day."""
    url, _ = portfolio
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        review = session.exec(select(Review).where(Review.status == ReviewStatus.CLOSED)).first()
        then = statuses_at(session, review.plan_id, review.date)
        count = session.execute(sa.select(sa.func.count()).select_from(Review)).scalar_one()
    engine.dispose()
    assert count >= 3
    snapshot = {a["id"]: a["status"] for a in review.snapshot["actions"]}
    assert snapshot == {i: s.value for i, s in then.items()}
    assert date.fromisoformat(review.snapshot["at"]) == review.date


def test_refuses_a_database_that_already_has_plans(portfolio: tuple[str, dict]) -> None:
    url, _ = portfolio
    with pytest.raises(ValueError, match="déjà des plans"):
        build("grand", url, "smoke", size=5)


def test_generated_database_opens_without_migrating(portfolio: tuple[str, dict]) -> None:
    """The schema is at the app's head revision and the first run is recorded: the app
    neither migrates nor loads the example plan into it."""
    url, _ = portfolio
    engine = db.make_engine(url)
    try:
        assert db.current_revision(engine) == db.head_revision()
        again = prepare_database(engine)
        assert again.upgrade.before == again.upgrade.after and not again.example_loaded
    finally:
        engine.dispose()
