"""Several people saving at once, for real (threads, each operation in its own
transaction, as the app's sessions do), on SQLite and on PostgreSQL when
TEST_DATABASE_URL is set.

What must hold: a save based on a version someone else has changed since is
refused with ConflictError, never applied over that change (no lost update);
nothing else goes wrong (no deadlock, no « database is locked »); and every
successful save is in the history, which ends on each action's final values.
No timing is asserted: the pauses below only make the races happen every time.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import select

from tracker import db
from tracker.errors import ConflictError, ValidationError
from tracker.models import Action, ActionStatus, AuditEntry, Note, Plan, ProgressMode, User
from tracker.services import users
from tracker.services.actions import BulkRow, add_note, bulk_update, update_action

STATUSES = [ActionStatus.A_VENIR, ActionStatus.EN_COURS, ActionStatus.EN_PAUSE, ActionStatus.BLOQUE]
TRACKED = ("status", "progress", "weather")


def editors(engine: Engine, count: int) -> list[User]:
    with db.session_scope(engine, write=True) as session:
        return [
            users.create_user(
                session, users.system_actor("tests"), login=f"editeur{n}", role="editor"
            )
            for n in range(count)
        ]


def entered_actions(engine: Engine, plan: Plan) -> list[Action]:
    """The plan's actions whose progress is entered (not computed from milestones)."""
    with db.session_scope(engine) as session:
        return list(
            session.exec(
                select(Action)
                .where(Action.plan_id == plan.id, Action.progress_mode == ProgressMode.ENTERED)
                .order_by(Action.id)
            )
        )


def read(engine: Engine, action_id: int) -> Action:
    with db.session_scope(engine) as session:
        return session.get(Action, action_id)


def run_together(*workers: Callable[[], object]) -> list[object]:
    """Run each worker in its own thread; each one's result or the exception it raised."""
    results: list[object] = [None] * len(workers)

    def run(n: int) -> None:
        try:
            results[n] = workers[n]()
        except Exception as exc:  # noqa: BLE001 - the test looks at what each one raised
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "un enregistrement ne s'est jamais terminé"
    return results


@contextmanager
def pause_after(engine: Engine, wanted: Callable[[str], bool], seconds: float) -> Iterator[set]:
    """Threads added to the yielded set pause once, after their first statement ``wanted``."""
    threads: set[int] = set()

    def listener(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001, ARG001
        me = threading.get_ident()
        if me in threads and wanted(statement):
            threads.discard(me)
            time.sleep(seconds)

    event.listen(engine, "after_cursor_execute", listener)
    try:
        yield threads
    finally:
        event.remove(engine, "after_cursor_execute", listener)


def reads_one_action(statement: str) -> bool:
    return "FROM action" in statement and "WHERE action.id =" in statement


def save(engine: Engine, editor: User, action_id: int, version: int, **changes) -> Action:
    with db.session_scope(engine, write=True) as session:
        return update_action(session, editor, action_id, expected_version=version, changes=changes)


# --------------------------------------------------------------------------
# Two people, one action
# --------------------------------------------------------------------------


def test_two_saves_from_the_same_version_one_is_refused_as_a_conflict(
    engine: Engine, example_plan: Plan
) -> None:
    first, second = editors(engine, 2)
    action = entered_actions(engine, example_plan)[0]
    with pause_after(engine, reads_one_action, 0.5) as paused:

        def by(editor: User, progress: int) -> Callable[[], Action]:
            def work() -> Action:
                paused.add(threading.get_ident())
                return save(engine, editor, action.id, action.version, progress=progress)

            return work

        results = run_together(by(first, 11), by(second, 22))

    assert sorted(type(r).__name__ for r in results) == ["Action", "ConflictError"]
    winner = 11 if isinstance(results[0], Action) else 22
    after = read(engine, action.id)
    assert (after.progress, after.version) == (winner, action.version + 1)
    with db.session_scope(engine) as session:
        changes = session.exec(
            select(AuditEntry).where(
                AuditEntry.action_id == action.id, AuditEntry.field == "progress"
            )
        ).all()
    assert [(e.old_value, e.new_value) for e in changes] == [(str(action.progress), str(winner))]


def test_a_bulk_save_and_a_single_save_at_once_do_not_deadlock(
    engine: Engine, example_plan: Plan
) -> None:
    # The bulk save pauses after writing its first action (and the data revision);
    # meanwhile another editor saves the bulk's second action. Before the actions
    # were locked first, this deadlocked on PostgreSQL.
    bulk_editor, other = editors(engine, 2)
    one, two = entered_actions(engine, example_plan)[:2]
    started = threading.Event()

    def bulk() -> int:
        paused.add(threading.get_ident())
        with db.session_scope(engine, write=True) as session:
            rows = [
                BulkRow(one.id, one.version, progress=41),
                BulkRow(two.id, two.version, progress=42),
            ]
            return bulk_update(session, bulk_editor, rows)

    def single() -> Action:
        started.wait(timeout=30)
        return save(engine, other, two.id, two.version, progress=77)

    def revision_written(statement: str) -> bool:
        if statement.startswith("UPDATE data_revision"):
            started.set()
            return True
        return False

    with pause_after(engine, revision_written, 0.5) as paused:
        results = run_together(bulk, single)

    assert results[0] == 2
    assert isinstance(results[1], ConflictError), results[1]
    assert (read(engine, one.id).progress, read(engine, two.id).progress) == (41, 42)


# --------------------------------------------------------------------------
# Many people, a few seconds
# --------------------------------------------------------------------------


@dataclass
class Outcome:
    saves: list[tuple[int, int, dict[str, str]]]  # (action, version created, field -> new)
    notes: int
    conflicts: int
    errors: list[Exception]


def work_together(engine: Engine, team: list[User], ids: list[int], seconds: float) -> Outcome:
    """Each editor saves (single or bulk, from the version it read) and adds notes."""
    outcome = Outcome([], 0, 0, [])
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def editor_at_work(n: int) -> None:
        rng = random.Random(n)  # noqa: S311 - a reproducible workload
        mine = ids[:2] + rng.sample(ids[2:], 2)  # everybody shares the first two
        while time.monotonic() < deadline:
            chosen = rng.sample(mine, 2 if rng.random() < 0.2 else 1)
            seen = {i: read(engine, i) for i in chosen}
            planned = {
                i: {
                    "status": rng.choice([s for s in STATUSES if s != a.status]),
                    "progress": rng.choice([p for p in range(0, 100, 7) if p != a.progress]),
                }
                for i, a in seen.items()
            }
            try:
                if rng.random() < 0.1:
                    with db.session_scope(engine, write=True) as session:
                        add_note(session, team[n], chosen[0], f"Note n°{n}")
                    with lock:
                        outcome.notes += 1
                    continue
                if len(chosen) == 1:
                    save(engine, team[n], chosen[0], seen[chosen[0]].version, **planned[chosen[0]])
                else:
                    rows = [BulkRow(i, seen[i].version, **planned[i]) for i in chosen]
                    with db.session_scope(engine, write=True) as session:
                        bulk_update(session, team[n], rows)
            except ConflictError:
                with lock:
                    outcome.conflicts += 1
                continue
            except ValidationError as exc:
                if not all("modifiée entre-temps" in d for d in exc.details):
                    with lock:
                        outcome.errors.append(exc)
                    continue
                with lock:
                    outcome.conflicts += 1
                continue
            except Exception as exc:  # noqa: BLE001 - reported by the test
                with lock:
                    outcome.errors.append(exc)
                continue
            with lock:
                outcome.saves.extend(
                    (i, seen[i].version + 1, {k: str(v) for k, v in planned[i].items()})
                    for i in chosen
                )

    run_together(*(lambda n=n: editor_at_work(n) for n in range(len(team))))
    return outcome


def test_editors_saving_at_once_lose_nothing(engine: Engine, example_plan: Plan) -> None:
    team = editors(engine, 6)
    actions = entered_actions(engine, example_plan)
    ids = [a.id for a in actions]
    before = {a.id: a for a in actions}
    with db.session_scope(engine) as session:
        first_entry = (session.execute(sa.select(sa.func.max(AuditEntry.id))).scalar() or 0) + 1
        notes_before = session.execute(sa.select(sa.func.count()).select_from(Note)).scalar_one()

    outcome = work_together(engine, team, ids, seconds=3)

    assert outcome.errors == []
    assert outcome.saves, "aucun enregistrement n'a réussi"
    assert outcome.conflicts > 0, "les éditeurs devaient se gêner sur les actions partagées"
    with db.session_scope(engine) as session:
        entries = session.exec(
            select(AuditEntry)
            .where(AuditEntry.id >= first_entry, AuditEntry.entity == "action")
            .order_by(AuditEntry.id)
        ).all()
        after = {a.id: a for a in session.exec(select(Action).where(Action.id.in_(ids)))}
        notes = session.execute(sa.select(sa.func.count()).select_from(Note)).scalar_one()
    # Every successful save is in the history under the version it created, and
    # nothing else is: two saves claiming the same version would be a lost update.
    audited: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
    for e in entries:
        audited[(e.action_id, e.entity_version)][e.field] = e.new_value
    claimed = {(i, v): changes for i, v, changes in outcome.saves}
    assert len(claimed) == len(outcome.saves)
    assert dict(audited) == claimed
    per_action = Counter(i for i, _v, _c in outcome.saves)
    for i in ids:
        assert after[i].version == before[i].version + per_action[i]
        for name in TRACKED:
            history = [e for e in entries if e.action_id == i and e.field == name]
            values = [str(getattr(before[i], name))] + [e.new_value for e in history]
            # Each change starts from the value the previous one left: nobody saved
            # over a change they had not seen.
            assert [e.old_value for e in history] == values[:-1]
            assert str(getattr(after[i], name)) == values[-1]
    assert notes == notes_before + outcome.notes
