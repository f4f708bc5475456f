"""Several people saving at once, for real (threads, each operation in its own
transaction, as the app's sessions do), on SQLite and on PostgreSQL when
TEST_DATABASE_URL is set.

What must hold: a save based on a version someone else has changed since is
refused with ConflictError, never applied over that change (no lost update);
nothing else goes wrong (no deadlock, no « database is locked »); and every
successful save is in the history, which ends on each action's final values.
No timing is asserted: the pauses below only make the races happen every time.

The second part does the same for the other saves (indicators, measurements,
budget lines and years, reviews and decisions, accounts, settings, notes, pilot
accounts, plan imports, survey waves): one save pauses between reading and writing
while another runs. Without the row locks of tracker.services.locking, on
PostgreSQL, the other one committed in that pause and the first then wrote over it
or broke a rule; with them it waits for the first one and is refused in French, or
done after it. SQLite already ran write transactions one at a time: there, these
tests describe what must stay true (and those about versions fail without them).
"""

from __future__ import annotations

import io
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tracker import db
from tracker.errors import ConflictError, NotFoundError, ValidationError
from tracker.io.export import workbook_bytes
from tracker.io.plan_import import run_import
from tracker.io.survey_file import SurveyTable
from tracker.io.workbook import InputFile
from tracker.models import (
    Action,
    ActionStatus,
    AuditEntry,
    BudgetLine,
    BudgetSection,
    BudgetYear,
    Collectivity,
    Decision,
    DecisionStatus,
    Indicator,
    Measurement,
    Note,
    Plan,
    ProgressMode,
    Review,
    ReviewStatus,
    Role,
    SurveyWave,
    User,
    Weather,
)
from tracker.services import users
from tracker.services.actions import (
    BulkRow,
    add_note,
    bulk_update,
    set_archived,
    update_action,
)
from tracker.services.app_settings import AppSettings, read_settings, update_settings
from tracker.services.budgets import LineEdit, close_year, reopen_year, save_lines
from tracker.services.imports import ImportReport
from tracker.services.indicators import MeasurementEdit, save_measurements, update_indicator
from tracker.services.plans import IndicatorData, PlanData, create_plan, plan_data
from tracker.services.reviews import (
    DecisionInput,
    ReviewInput,
    add_decision,
    close_review,
    delete_review,
    follow_up_decision,
    open_review,
    update_review,
)
from tracker.services.surveys import WaveInput, create_wave, import_responses

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


# How often a paused save looks whether the others let it go on: short, since on
# PostgreSQL a look is one query on an idle connection.
LOOK_EVERY = 0.005
# A pause never lasts longer than this (the save then goes on, as if let go): only
# reached if a save neither ends nor waits for a lock, which no test expects.
LONGEST_PAUSE = 60.0


class Race:
    """Saves run at once in threads, some pausing once after a given statement.

    A paused save goes on as soon as each other save has ended, paused too, or waits
    for a lock another transaction holds: there is no fixed sleep, and the pause lasts
    as long as the race needs however slow the machine is. Waiting for a lock is seen
    on PostgreSQL from ``pg_blocking_pids`` (the connection the thread last used is
    blocked by another), and on SQLite from tracker.db's lock of the file's writers,
    which a write transaction holds from its start to its end (a second writer of this
    process waits there, see ``WatchedWriterLock``).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.state = threading.Condition()
        self.thread = threading.local()  # .n: the worker this thread runs
        self.count = 0
        self.ended: set[int] = set()
        self.paused: set[int] = set()
        self.waiting: set[int] = set()  # SQLite: waiting for the writers' lock
        self.backend_pids: dict[int, int] = {}  # PostgreSQL: each worker's last connection
        self.monitor = None  # PostgreSQL: a connection of its own, to look at the locks

    def run(
        self,
        *workers: Callable[[], object],
        pauses: dict[int, Callable[[str], bool]] | None = None,
    ) -> list[object]:
        """Run each worker in its own thread; worker ``n`` pauses once, after its first
        statement ``pauses[n]`` matches. Each one's result or the exception it raised."""
        pausing = dict(pauses or {})
        self.count = len(workers)

        def before(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001, ARG001
            n = getattr(self.thread, "n", None)
            if n is not None:
                self.backend_pids[n] = cursor.connection.info.backend_pid

        def after(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001, ARG001
            n = getattr(self.thread, "n", None)
            wanted = pausing.get(n)
            if wanted is not None and wanted(statement):
                del pausing[n]
                self.pause(n)

        def taking_part(n: int, work: Callable[[], object]) -> Callable[[], object]:
            def run() -> object:
                self.thread.n = n
                try:
                    return work()
                finally:
                    with self.state:
                        self.ended.add(n)
                        self.state.notify_all()

            return run

        with pytest.MonkeyPatch.context() as patch:
            if self.postgres:
                event.listen(self.engine, "before_cursor_execute", before)
            else:
                path = db.sqlite_path(self.engine).resolve()
                patch.setitem(db._sqlite_writers, path, WatchedWriterLock(self))
            event.listen(self.engine, "after_cursor_execute", after)
            try:
                return run_together(*(taking_part(n, w) for n, w in enumerate(workers)))
            finally:
                event.remove(self.engine, "after_cursor_execute", after)
                if self.postgres:
                    event.remove(self.engine, "before_cursor_execute", before)
                if self.monitor is not None:
                    self.monitor.close()

    def pause(self, n: int) -> None:
        """Worker ``n`` waits here until every other one has ended, paused or waits for
        a lock."""
        deadline = time.monotonic() + LONGEST_PAUSE
        with self.state:
            self.paused.add(n)
            self.state.notify_all()
            while time.monotonic() < deadline and not all(
                other in self.ended or other in self.paused or self.waits_for_a_lock(other)
                for other in range(self.count)
                if other != n
            ):
                self.state.wait(LOOK_EVERY)

    def waits_for_a_lock(self, n: int) -> bool:
        if not self.postgres:
            return n in self.waiting
        pid = self.backend_pids.get(n)
        if pid is None:
            return False
        if self.monitor is None:
            # A DBAPI connection: its queries go through no listener of the engine.
            self.monitor = self.engine.raw_connection()
        cursor = self.monitor.cursor()
        try:
            cursor.execute("SELECT cardinality(pg_blocking_pids(%s::int)) > 0", (pid,))
            (blocked,) = cursor.fetchone()
        finally:
            cursor.close()
            self.monitor.rollback()
        return blocked

    def waits_for_the_writers_lock(self, waiting: bool) -> None:
        n = getattr(self.thread, "n", None)
        if n is None:
            return
        with self.state:
            (self.waiting.add if waiting else self.waiting.discard)(n)
            self.state.notify_all()


class WatchedWriterLock:
    """Stands in for tracker.db's lock of a SQLite file's writers (``session_scope``
    with ``write=True`` holds it for the whole transaction), and tells the race when one
    of its threads has to wait for it."""

    def __init__(self, race: Race) -> None:
        self.lock = threading.RLock()
        self.race = race

    def __enter__(self) -> None:
        if self.lock.acquire(blocking=False):
            return
        self.race.waits_for_the_writers_lock(True)
        try:
            self.lock.acquire()
        finally:
            self.race.waits_for_the_writers_lock(False)

    def __exit__(self, *exc_info: object) -> None:
        self.lock.release()


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

    def by(editor: User, progress: int) -> Callable[[], Action]:
        return lambda: save(engine, editor, action.id, action.version, progress=progress)

    # Each one pauses after reading the action, until the other has read it too (or
    # waits for the first one's lock, or is done).
    results = Race(engine).run(
        by(first, 11), by(second, 22), pauses={0: reads_one_action, 1: reads_one_action}
    )

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

    # The bulk save pauses until the single one is done or waits for a lock it holds.
    results = Race(engine).run(bulk, single, pauses={0: revision_written})

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


# --------------------------------------------------------------------------
# One save pausing between its read and its write while another one runs
# --------------------------------------------------------------------------

SYSTEM = users.system_actor("tests")
TODAY = date(2026, 12, 1)
COMMITTEE_DAY = date(2026, 10, 1)
VILLE = "Ville de Cahors"


def one_during_the_other(
    engine: Engine,
    first: Callable[[], object],
    second: Callable[[], object],
    *,
    first_pauses_after: Callable[[str], bool],
) -> list[object]:
    """Run ``first`` until its first statement ``first_pauses_after`` matches; let it
    wait there while ``second`` runs from start to end (or until ``second`` waits for a
    lock ``first`` holds), then let ``first`` end. Returns what each returned or
    raised, ``first``'s first."""
    paused = threading.Event()
    reached: list[str] = []

    def first_stops_here(statement: str) -> bool:
        if not first_pauses_after(statement):
            return False
        reached.append(statement)
        paused.set()
        return True

    def run_first() -> object:
        try:
            return first()
        finally:
            paused.set()  # never stuck: the assertion below tells what went wrong

    def run_second() -> object:
        paused.wait(timeout=60)
        return second()

    results = Race(engine).run(run_first, run_second, pauses={0: first_stops_here})
    assert reached, f"le premier enregistrement n'a jamais fait la lecture attendue : {results}"
    return results


def writing(engine: Engine, operation: Callable[[Session], object]) -> Callable[[], object]:
    """The operation, to run later in its own write transaction (as a page does)."""

    def work() -> object:
        with db.session_scope(engine, write=True) as session:
            return operation(session)

    return work


def reading(engine: Engine, operation: Callable[[Session], object]) -> object:
    with db.session_scope(engine) as session:
        return operation(session)


def reads_the(table: str, where: str = "id") -> Callable[[str], bool]:
    """Matches a SELECT of ``table`` filtered on ``where`` (with or without a row lock)."""

    def matches(statement: str) -> bool:
        text = statement.replace('"', "")  # PostgreSQL quotes "user", SQLite does not
        return (
            text.lstrip().upper().startswith("SELECT")
            and f"FROM {table}" in text
            and f"{table}.{where} " in text
        )

    return matches


def history(engine: Engine, *entities: str) -> list[AuditEntry]:
    """The history of these entities, in order, without creations (the example's)."""
    return reading(
        engine,
        lambda s: s.exec(
            select(AuditEntry)
            .where(AuditEntry.entity.in_(entities), AuditEntry.operation != "création")
            .order_by(AuditEntry.id)
        ).all(),
    )


def indicator_of(engine: Engine, plan: Plan, code: str) -> Indicator:
    return reading(
        engine,
        lambda s: s.exec(
            select(Indicator).where(Indicator.plan_id == plan.id, Indicator.code == code)
        ).one(),
    )


def budget_line(engine: Engine, plan: Plan, year: int, code: str, section: str) -> BudgetLine:
    return reading(
        engine,
        lambda s: s.exec(
            select(BudgetLine)
            .join(Action, Action.id == BudgetLine.action_id)
            .join(Collectivity, Collectivity.id == BudgetLine.collectivity_id)
            .where(
                Action.plan_id == plan.id,
                Action.code == code,
                Collectivity.name == VILLE,
                BudgetLine.year == year,
                BudgetLine.section == BudgetSection(section),
            )
        ).one_or_none(),
    )


def action_id(engine: Engine, plan: Plan, code: str) -> int:
    return reading(
        engine,
        lambda s: s.exec(
            select(Action.id).where(Action.plan_id == plan.id, Action.code == code)
        ).one(),
    )


# Indicators ----------------------------------------------------------------


def test_an_indicator_saved_twice_from_the_same_version_one_is_refused_as_a_conflict(
    engine: Engine, example_plan: Plan
) -> None:
    first, second = editors(engine, 2)
    indicator = indicator_of(engine, example_plan, "I6")

    def rename(editor: User, name: str) -> Callable[[], object]:
        return writing(
            engine,
            lambda s: update_indicator(s, editor, indicator.id, indicator.version, {"name": name}),
        )

    results = one_during_the_other(
        engine,
        rename(first, "Nom choisi en premier"),
        rename(second, "Nom choisi en second"),
        first_pauses_after=reads_the("indicator"),
    )

    assert isinstance(results[0], Indicator), results[0]
    assert isinstance(results[1], ConflictError), results[1]
    assert "I6 a été modifié par quelqu'un d'autre" in str(results[1])
    assert "Enregistré entre-temps par : editeur0." in str(results[1])
    after = indicator_of(engine, example_plan, "I6")
    assert (after.name, after.version) == ("Nom choisi en premier", indicator.version + 1)
    assert [e.new_value for e in history(engine, "indicateur")] == ["Nom choisi en premier"]


def test_two_measurements_saved_at_once_on_one_date_the_second_is_refused_in_french(
    engine: Engine, example_plan: Plan
) -> None:
    indicator = indicator_of(engine, example_plan, "I6")
    day = date(2025, 3, 31)

    def add(value: float) -> Callable[[], object]:
        edit = MeasurementEdit(date=day, value=value, source="Saisie concurrente")
        return writing(
            engine, lambda s: save_measurements(s, SYSTEM, indicator.id, [edit], today=TODAY)
        )

    results = one_during_the_other(
        engine, add(10), add(20), first_pauses_after=reads_the("measurement", "indicator_id")
    )

    assert results[0] == 1, results[0]
    assert isinstance(results[1], ValidationError), results[1]
    assert "deux mesures le 31/03/2025 pour la même source" in str(results[1])
    values = reading(
        engine,
        lambda s: s.exec(
            select(Measurement.value).where(
                Measurement.indicator_id == indicator.id, Measurement.date == day
            )
        ).all(),
    )
    assert values == [10]


# Budgets -------------------------------------------------------------------


def test_a_budget_line_saved_twice_from_the_same_table_one_is_refused(
    engine: Engine, example_plan: Plan
) -> None:
    first, second = editors(engine, 2)
    line = budget_line(engine, example_plan, 2026, "1.2", "investissement")
    arbitrated = line.arbitrated_cents or 0

    def arbitrate(editor: User, cents: int) -> Callable[[], object]:
        edit = LineEdit(
            line.action_id,
            VILLE,
            line.section,
            line.requested_cents,
            cents,
            line.spent_cents,
            line.decision_date,
            line.comment,
            line_id=line.id,
            expected_version=line.version,
        )
        return writing(engine, lambda s: save_lines(s, editor, example_plan.id, 2026, [edit]))

    results = one_during_the_other(
        engine,
        arbitrate(first, arbitrated + 100_00),
        arbitrate(second, arbitrated + 200_00),
        first_pauses_after=reads_the("budget_line", "action_id"),
    )

    assert results[0] == 1, results[0]
    assert isinstance(results[1], ValidationError), results[1]
    assert "modifiée entre-temps par quelqu'un d'autre (editeur0)" in str(results[1])
    after = budget_line(engine, example_plan, 2026, "1.2", "investissement")
    assert (after.arbitrated_cents, after.version) == (arbitrated + 100_00, line.version + 1)
    assert [e.new_value for e in history(engine, "budget")] == [str(arbitrated + 100_00)]


def test_a_budget_line_added_twice_from_stale_tables_the_second_does_not_overwrite_it(
    engine: Engine, example_plan: Plan
) -> None:
    # Both tables were read before the line existed: each adds it as a new row.
    # Before, the second overwrote the first without a look (SQLite) or failed on
    # the database's unique key (PostgreSQL).
    first, second = editors(engine, 2)
    new_action = action_id(engine, example_plan, "1.1")
    assert budget_line(engine, example_plan, 2026, "1.1", "fonctionnement") is None

    def add(editor: User, cents: int) -> Callable[[], object]:
        edit = LineEdit(new_action, VILLE, "fonctionnement", requested_cents=cents)
        return writing(engine, lambda s: save_lines(s, editor, example_plan.id, 2026, [edit]))

    results = one_during_the_other(
        engine,
        add(first, 1_000_00),
        add(second, 2_000_00),
        first_pauses_after=reads_the("budget_line", "action_id"),
    )

    assert results[0] == 1, results[0]
    assert isinstance(results[1], ValidationError), results[1]
    assert (
        "la ligne Ville de Cahors, fonctionnement existe déjà, peut-être ajoutée entre-temps "
        "par quelqu'un d'autre (editeur0) ; rechargez le tableau"
    ) in str(results[1])
    line = budget_line(engine, example_plan, 2026, "1.1", "fonctionnement")
    assert (line.requested_cents, line.version) == (1_000_00, 1)


def test_a_year_closed_while_a_line_is_saved_is_closed_after_the_save(
    engine: Engine, example_plan: Plan
) -> None:
    # The save read the year as open; the closing must not slip in between that
    # check and its write, or frozen amounts change after the closure.
    editor = editors(engine, 1)[0]
    line = budget_line(engine, example_plan, 2026, "1.2", "investissement")
    edit = LineEdit(
        line.action_id,
        VILLE,
        line.section,
        line.requested_cents,
        (line.arbitrated_cents or 0) + 100_00,
        line.spent_cents,
        line.decision_date,
        line.comment,
        line_id=line.id,
        expected_version=line.version,
    )

    results = one_during_the_other(
        engine,
        writing(engine, lambda s: save_lines(s, editor, example_plan.id, 2026, [edit])),
        writing(engine, lambda s: close_year(s, SYSTEM, example_plan.id, 2026)),
        first_pauses_after=reads_the("budget_line", "action_id"),
    )

    assert results[0] == 1, results[0]
    assert isinstance(results[1], BudgetYear), results[1]
    operations = [e.operation for e in history(engine, "budget", "exercice")]
    assert operations == ["modification", "clôture de l'arbitrage"]


@pytest.mark.parametrize("operation", ["close", "reopen"])
def test_a_year_closed_or_reopened_twice_at_once_the_second_is_refused(
    engine: Engine, example_plan: Plan, operation: str
) -> None:
    if operation == "reopen":
        writing(engine, lambda s: close_year(s, SYSTEM, example_plan.id, 2026))()

    def run(session: Session) -> BudgetYear:
        if operation == "close":
            return close_year(session, SYSTEM, example_plan.id, 2026)
        return reopen_year(session, SYSTEM, example_plan.id, 2026, "Erreur d'arbitrage")

    results = one_during_the_other(
        engine,
        writing(engine, run),
        writing(engine, run),
        first_pauses_after=reads_the("budget_year", "plan_id"),
    )

    assert isinstance(results[0], BudgetYear), results[0]
    assert isinstance(results[1], ValidationError), results[1]
    expected = "est déjà clôturé" if operation == "close" else "n'est pas clôturé"
    assert f"L'arbitrage 2026 {expected}." == str(results[1])
    done = "clôture de l'arbitrage" if operation == "close" else "réouverture de l'arbitrage"
    assert [e.operation for e in history(engine, "exercice")].count(done) == 1


# Reviews and decisions -------------------------------------------------------


def open_committee(engine: Engine, editor: User, plan: Plan) -> int:
    return writing(
        engine,
        lambda s: (
            open_review(s, editor, plan.id, ReviewInput(COMMITTEE_DAY, "Comité d'automne")).id
        ),
    )()


def test_a_decision_followed_up_twice_from_the_same_version_one_is_refused(
    engine: Engine, example_plan: Plan
) -> None:
    first, second = editors(engine, 2)
    review_id = open_committee(engine, first, example_plan)
    decision_id = writing(
        engine, lambda s: add_decision(s, first, review_id, DecisionInput("Relancer")).id
    )()

    def follow(editor: User, status: DecisionStatus) -> Callable[[], object]:
        return writing(
            engine, lambda s: follow_up_decision(s, editor, decision_id, 1, status=status)
        )

    results = one_during_the_other(
        engine,
        follow(first, DecisionStatus.EN_COURS),
        follow(second, DecisionStatus.FAIT),
        first_pauses_after=reads_the("decision"),
    )

    assert isinstance(results[0], Decision), results[0]
    assert isinstance(results[1], ConflictError), results[1]
    assert "Enregistrée entre-temps par : editeur0." in str(results[1])
    decision = reading(engine, lambda s: s.get(Decision, decision_id))
    assert (decision.status, decision.version) == (DecisionStatus.EN_COURS, 2)


CHANGES_TO_A_REVIEW = {
    "update": lambda s, editor, rid: update_review(
        s, editor, rid, ReviewInput(COMMITTEE_DAY, "Comité d'automne (renommé)")
    ),
    "add_decision": lambda s, editor, rid: add_decision(
        s, editor, rid, DecisionInput("Décision de dernière minute")
    ),
    "delete": lambda s, editor, rid: delete_review(s, editor, rid),
    "close": lambda s, editor, rid: close_review(s, editor, rid, COMMITTEE_DAY),
}


@pytest.mark.parametrize("change", list(CHANGES_TO_A_REVIEW))
def test_a_review_changed_while_it_is_being_closed_is_closed_after_the_change(
    engine: Engine, example_plan: Plan, change: str
) -> None:
    # The change read the review as open; the closing must not slip in between that
    # check and its write: a closed review is never edited, deleted, given a decision
    # its snapshot lacks, or closed twice.
    editor, other = editors(engine, 2)
    review_id = open_committee(engine, editor, example_plan)

    results = one_during_the_other(
        engine,
        writing(engine, lambda s: CHANGES_TO_A_REVIEW[change](s, editor, review_id)),
        writing(engine, lambda s: close_review(s, other, review_id, COMMITTEE_DAY)),
        first_pauses_after=reads_the("review"),
    )

    assert not isinstance(results[0], Exception), results[0]
    review = reading(engine, lambda s: s.get(Review, review_id))
    if change == "delete":
        assert review is None
        assert isinstance(results[1], NotFoundError), results[1]
        return
    if change == "close":
        assert isinstance(results[1], ConflictError), results[1]
    else:
        assert isinstance(results[1], Review), results[1]
    assert review.status == ReviewStatus.CLOSED
    assert [e.operation for e in history(engine, "comité", "décision")] == (
        ["clôture"] if change in ("close", "add_decision") else ["modification", "clôture"]
    )
    decisions = reading(
        engine, lambda s: s.exec(select(Decision.id).where(Decision.review_id == review_id)).all()
    )
    assert sorted(d["id"] for d in review.snapshot["decisions"]) == sorted(decisions)


# Accounts ------------------------------------------------------------------


def test_the_last_two_admins_disabling_each_other_at_once_leave_one_admin(
    engine: Engine,
) -> None:
    with db.session_scope(engine, write=True) as session:
        one, two = (
            users.create_user(session, SYSTEM, login=login, role=Role.ADMIN)
            for login in ("admin-un", "admin-deux")
        )

    results = one_during_the_other(
        engine,
        writing(engine, lambda s: users.set_active(s, one, two.id, False)),
        writing(engine, lambda s: users.set_active(s, two, one.id, False)),
        # After counting the other active admins, before writing.
        first_pauses_after=lambda st: "count(" in st and "FROM user" in st.replace('"', ""),
    )

    assert isinstance(results[0], User), results[0]
    assert isinstance(results[1], ValidationError), results[1]
    assert str(results[1]) == "Il doit rester au moins un administrateur actif."
    admins = reading(
        engine,
        lambda s: s.exec(
            select(User.login).where(User.role == Role.ADMIN, User.active == sa.true())
        ).all(),
    )
    assert admins == ["admin-un"]


def test_an_account_made_editor_while_linked_to_actions_pilots_none(
    engine: Engine, example_plan: Plan
) -> None:
    with db.session_scope(engine, write=True) as session:
        pilot = users.create_user(session, SYSTEM, login="pilote", role=Role.PILOT)
    chosen = [action_id(engine, example_plan, "1.1")]

    results = one_during_the_other(
        engine,
        writing(
            engine, lambda s: users.link_pilot_actions(s, SYSTEM, pilot.id, example_plan.id, chosen)
        ),
        writing(engine, lambda s: users.set_role(s, SYSTEM, pilot.id, Role.EDITOR)),
        first_pauses_after=reads_the("user"),
    )

    assert results[0] is None, results[0]
    assert isinstance(results[1], User), results[1]
    piloted = reading(
        engine, lambda s: s.exec(select(Action.code).where(Action.pilot_user_id == pilot.id)).all()
    )
    assert piloted == []  # only pilot accounts pilot actions


def test_two_accounts_created_at_once_with_one_email_the_second_is_refused(
    engine: Engine,
) -> None:
    def create(login: str) -> Callable[[], object]:
        return writing(
            engine,
            lambda s: users.create_user(
                s, SYSTEM, login=login, role=Role.EDITOR, email="accueil@example.org"
            ),
        )

    results = one_during_the_other(
        engine,
        create("premier"),
        create("second"),
        first_pauses_after=reads_the("user", "email"),
    )

    assert isinstance(results[0], User), results[0]
    assert isinstance(results[1], ValidationError), results[1]
    assert "« accueil@example.org » est déjà celle d'un autre compte" in str(results[1])
    owners = reading(
        engine,
        lambda s: s.exec(select(User.login).where(User.email == "accueil@example.org")).all(),
    )
    assert owners == ["premier"]


def test_two_waves_named_alike_at_once_the_second_is_refused_in_french(
    engine: Engine, example_plan: Plan
) -> None:
    # The name check reads the plan's waves; the new one is not there yet. The names
    # differ only in case and spaces: the database's unique key would let both in.
    end = date(2025, 6, 30)

    def create(name: str) -> Callable[[], object]:
        return writing(
            engine, lambda s: create_wave(s, SYSTEM, example_plan.id, WaveInput(name, None, end))
        )

    results = one_during_the_other(
        engine,
        create("Enquête usages 2025"),
        create("enquête  USAGES 2025"),
        first_pauses_after=reads_the("survey_wave", "plan_id"),
    )

    assert isinstance(results[0], SurveyWave), results[0]
    assert isinstance(results[1], ValidationError), results[1]
    assert "Une vague s'appelle déjà « Enquête usages 2025 » dans ce plan." in str(results[1])
    names = reading(
        engine,
        lambda s: s.exec(
            select(SurveyWave.name).where(
                SurveyWave.plan_id == example_plan.id, SurveyWave.fieldwork_end == end
            )
        ).all(),
    )
    assert names == ["Enquête usages 2025"]


def test_a_login_code_exchanged_twice_at_once_opens_one_session(engine: Engine) -> None:
    with db.session_scope(engine, write=True) as session:
        user = users.create_user(session, SYSTEM, login="lecteur", role=Role.VIEWER)
        _token, code = users.start_session(session, user)

    exchange = writing(engine, lambda s: users.exchange_login_code(s, code))
    results = one_during_the_other(
        engine, exchange, exchange, first_pauses_after=reads_the("user_session", "login_code_hash")
    )

    assert isinstance(results[0], str), results[0]
    assert results[1] is None, results[1]
    found = reading(engine, lambda s: users.user_for_token(s, results[0]))
    assert found is not None and found.login == "lecteur"


# Settings ------------------------------------------------------------------


def test_two_admins_changing_a_setting_at_once_leave_an_unbroken_history(engine: Engine) -> None:
    def limit(megabytes: int) -> Callable[[], object]:
        return writing(
            engine,
            lambda s: update_settings(s, SYSTEM, public_view=False, upload_limit_mb=megabytes),
        )

    results = one_during_the_other(
        engine, limit(30), limit(50), first_pauses_after=lambda st: "FROM setting" in st
    )

    assert all(isinstance(r, AppSettings) for r in results), results
    changes = [(e.old_value, e.new_value) for e in history(engine, "réglage")]
    assert changes == [("20", "30"), ("30", "50")]  # each change starts where the last ended
    assert reading(engine, read_settings).upload_limit_mb == 50


def test_two_admins_saving_forms_opened_on_the_same_settings_the_second_is_refused(
    engine: Engine,
) -> None:
    """Both forms were opened on the defaults; both saves run at once: the second sees
    the first's change under the lock and is refused (nothing written), instead of
    putting back the limit its form still showed."""
    shown = reading(engine, read_settings)

    def save(**values: object) -> Callable[[], object]:
        return writing(engine, lambda s: update_settings(s, SYSTEM, expected=shown, **values))

    results = one_during_the_other(
        engine,
        save(public_view=False, upload_limit_mb=30),
        save(public_view=True, upload_limit_mb=shown.upload_limit_mb),
        first_pauses_after=lambda st: "FROM setting" in st,
    )

    assert isinstance(results[0], AppSettings), results[0]
    assert isinstance(results[1], ConflictError), results[1]
    assert "Taille maximale d'un fichier envoyé : 20 Mo → 30 Mo" in str(results[1])
    assert reading(engine, read_settings) == AppSettings(public_view=False, upload_limit_mb=30)
    assert [(e.old_value, e.new_value) for e in history(engine, "réglage")] == [("20", "30")]


# Notes and pilot accounts ----------------------------------------------------


def test_a_note_added_while_the_action_is_archived_is_refused(
    engine: Engine, example_plan: Plan
) -> None:
    # The note read the action as not archived; the archiving must not slip in
    # between that check and its write, or an archived action gets a new note.
    editor = editors(engine, 1)[0]
    archived = action_id(engine, example_plan, "1.5")

    results = one_during_the_other(
        engine,
        writing(engine, lambda s: set_archived(s, SYSTEM, archived, True)),
        writing(engine, lambda s: add_note(s, editor, archived, "Point d'étape.")),
        first_pauses_after=reads_one_action,
    )

    assert isinstance(results[0], Action), results[0]
    assert isinstance(results[1], ValidationError), results[1]
    assert str(results[1]) == "L'action 1.5 est archivée : restaurez-la d'abord."
    notes = reading(
        engine, lambda s: s.exec(select(Note.id).where(Note.action_id == archived)).all()
    )
    assert notes == []


def test_an_action_given_to_a_pilot_made_editor_meanwhile_is_unlinked(
    engine: Engine, example_plan: Plan
) -> None:
    # The save checked that the account is a pilot; set_role must not commit
    # between that check and the save's write, or an editor pilots the action.
    editor = editors(engine, 1)[0]
    with db.session_scope(engine, write=True) as session:
        pilot = users.create_user(session, SYSTEM, login="pilote", role=Role.PILOT)
    action = read(engine, action_id(engine, example_plan, "1.1"))

    results = one_during_the_other(
        engine,
        writing(
            engine,
            lambda s: update_action(
                s,
                editor,
                action.id,
                expected_version=action.version,
                changes={"pilot_user_id": pilot.id},
            ),
        ),
        writing(engine, lambda s: users.set_role(s, SYSTEM, pilot.id, Role.EDITOR)),
        first_pauses_after=reads_the("user"),
    )

    assert isinstance(results[0], Action), results[0]
    assert isinstance(results[1], User), results[1]
    after = read(engine, action.id)
    assert after.pilot_user_id is None  # only pilot accounts pilot actions
    changes = [(e.old_value, e.new_value) for e in history(engine, "action")]
    assert changes == [(None, str(pilot.id)), (str(pilot.id), None)]


def test_an_action_form_opened_before_its_pilot_changed_is_refused_as_a_conflict(
    engine: Engine, example_plan: Plan
) -> None:
    # The form still shows the first pilot: saving it must not put that pilot back
    # over the link made meanwhile.
    editor = editors(engine, 1)[0]
    with db.session_scope(engine, write=True) as session:
        first, second = (
            users.create_user(session, SYSTEM, login=login, role=Role.PILOT)
            for login in ("pilote-un", "pilote-deux")
        )
    linked = action_id(engine, example_plan, "1.1")
    writing(
        engine, lambda s: users.link_pilot_actions(s, SYSTEM, first.id, example_plan.id, [linked])
    )()
    opened = read(engine, linked)

    results = one_during_the_other(
        engine,
        writing(
            engine,
            lambda s: users.link_pilot_actions(s, SYSTEM, second.id, example_plan.id, [linked]),
        ),
        writing(
            engine,
            lambda s: update_action(
                s,
                editor,
                linked,
                expected_version=opened.version,
                changes={"pilot_user_id": first.id, "progress": opened.progress + 5},
            ),
        ),
        first_pauses_after=reads_the("action", "plan_id"),
    )

    assert results[0] is None, results[0]
    assert isinstance(results[1], ConflictError), results[1]
    assert "Compte du pilote : pilote-un → pilote-deux" in str(results[1])
    after = read(engine, linked)
    assert (after.pilot_user_id, after.progress) == (second.id, opened.progress)
    assert after.version == opened.version + 1


# Plan imports ----------------------------------------------------------------


def plan_file(engine: Engine, plan: Plan, **cells: object) -> bytes:
    """The plan as exported now, with these cells changed (``Sheet_A1=value``)."""
    with db.session_scope(engine) as session:
        data, versions = plan_data(session, plan.id)
    workbook = openpyxl.load_workbook(io.BytesIO(workbook_bytes(data, versions)))
    for where, value in cells.items():
        sheet, cell = where.rsplit("_", 1)
        workbook[sheet][cell] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def importing(engine: Engine, content: bytes, plan_name: str | None = None) -> Callable[[], object]:
    """Applying the file, to run later in its own transaction (as the import page does)."""
    files = [InputFile("plan.xlsx", content)]
    return writing(
        engine, lambda s: run_import(s, SYSTEM, files, apply=True, plan_name=plan_name)[0]
    )


# Budget!E24 is the request of 1.2, 2026, Ville de Cahors, investissement.
REQUEST_OF_THE_LINE = "Budget_E24"


def test_a_budget_line_saved_from_a_table_read_before_an_import_is_refused(
    engine: Engine, example_plan: Plan
) -> None:
    # The table was read before the import changed the line: saving it must not
    # write over the import's change.
    editor = editors(engine, 1)[0]
    line = budget_line(engine, example_plan, 2026, "1.2", "investissement")
    content = plan_file(engine, example_plan, **{REQUEST_OF_THE_LINE: 31_000})
    edit = LineEdit(
        line.action_id,
        VILLE,
        line.section,
        32_000_00,
        line.arbitrated_cents,
        line.spent_cents,
        line.decision_date,
        line.comment,
        line_id=line.id,
        expected_version=line.version,
    )

    results = one_during_the_other(
        engine,
        importing(engine, content),
        writing(engine, lambda s: save_lines(s, editor, example_plan.id, 2026, [edit])),
        first_pauses_after=reads_the("budget_line", "action_id"),
    )

    assert isinstance(results[0], ImportReport), results[0]
    assert isinstance(results[1], ValidationError), results[1]
    assert "modifiée entre-temps par quelqu'un d'autre (tests)" in str(results[1])
    after = budget_line(engine, example_plan, 2026, "1.2", "investissement")
    assert (after.requested_cents, after.version) == (31_000_00, line.version + 1)
    changes = [(e.old_value, e.new_value, e.entity_version) for e in history(engine, "budget")]
    assert changes == [(str(line.requested_cents), "3100000", line.version + 1)]


def test_a_year_closed_while_an_import_changes_its_requests_is_closed_after_the_import(
    engine: Engine, example_plan: Plan
) -> None:
    # The import read 2026 as open; the closing must not slip in between that check
    # and its write, or frozen amounts change after the closure.
    content = plan_file(engine, example_plan, **{REQUEST_OF_THE_LINE: 31_000})

    results = one_during_the_other(
        engine,
        importing(engine, content),
        writing(engine, lambda s: close_year(s, SYSTEM, example_plan.id, 2026)),
        first_pauses_after=reads_the("budget_year", "plan_id"),
    )

    assert isinstance(results[0], ImportReport), results[0]
    assert isinstance(results[1], BudgetYear), results[1]
    operations = [e.operation for e in history(engine, "budget", "exercice")]
    assert operations == ["modification", "clôture de l'arbitrage"]


def test_an_action_saved_while_an_import_changes_it_makes_the_import_a_conflict(
    engine: Engine, example_plan: Plan
) -> None:
    # The file was exported before the save: the import must see the save's new
    # version, not write over it.
    editor = editors(engine, 1)[0]
    action = read(engine, action_id(engine, example_plan, "1.2"))
    assert action.weather is not Weather.ORAGE
    content = plan_file(engine, example_plan, Actions_J3="Bloqué")  # 1.2's status

    results = one_during_the_other(
        engine,
        lambda: save(engine, editor, action.id, action.version, weather=Weather.ORAGE),
        importing(engine, content),
        first_pauses_after=reads_one_action,
    )

    assert isinstance(results[0], Action), results[0]
    assert isinstance(results[1], ValidationError), results[1]
    assert results[1].details == [
        f"Action 1.2 : modifiée dans l'application (version {action.version + 1}) après "
        f"l'export du fichier (version {action.version}) ; exportez à nouveau le plan et "
        "reportez-y vos modifications."
    ]
    after = read(engine, action.id)
    assert (after.status, after.weather, after.version) == (
        action.status,
        Weather.ORAGE,
        action.version + 1,
    )


def test_an_indicator_saved_from_a_form_opened_before_an_import_is_refused(
    engine: Engine, example_plan: Plan
) -> None:
    editor = editors(engine, 1)[0]
    indicator = indicator_of(engine, example_plan, "I6")
    content = plan_file(engine, example_plan, Indicateurs_B7="Nom venu du fichier")

    results = one_during_the_other(
        engine,
        importing(engine, content),
        writing(
            engine,
            lambda s: update_indicator(
                s, editor, indicator.id, indicator.version, {"name": "Nom saisi"}
            ),
        ),
        first_pauses_after=reads_the("indicator", "plan_id"),
    )

    assert isinstance(results[0], ImportReport), results[0]
    assert isinstance(results[1], ConflictError), results[1]
    assert "Enregistré entre-temps par : tests." in str(results[1])
    after = indicator_of(engine, example_plan, "I6")
    assert (after.name, after.version) == ("Nom venu du fichier", indicator.version + 1)


def test_a_new_plan_imported_twice_at_once_is_created_once(
    engine: Engine, example_plan: Plan
) -> None:
    # Before, on PostgreSQL, the second import also found no such plan and failed
    # on the plan's unique name, in English.
    content = plan_file(engine, example_plan)
    name = "Plan importé deux fois"

    results = one_during_the_other(
        engine,
        importing(engine, content, plan_name=name),
        importing(engine, content, plan_name=name),
        first_pauses_after=lambda st: st.replace('"', "").lstrip().startswith("INSERT INTO plan "),
    )

    assert isinstance(results[0], ImportReport) and results[0].new_plan, results[0]
    assert isinstance(results[1], ImportReport), results[1]
    assert (results[1].new_plan, results[1].ok, results[1].total_changes) == (False, True, 0)
    plans = reading(engine, lambda s: s.exec(select(Plan.id).where(Plan.name == name)).all())
    assert len(plans) == 1


# Survey waves ----------------------------------------------------------------


def test_a_measurement_typed_while_a_wave_is_imported_on_its_date_refuses_the_import(
    engine: Engine,
) -> None:
    # The typed measurement and the wave's computed one share the indicator, the
    # date and the source: one of them must be refused in French, never both
    # written (the database's unique key failed, in English).
    end = date(2023, 6, 30)
    with db.session_scope(engine, write=True) as session:
        plan = create_plan(
            session,
            PlanData(
                name="Plan d'enquête",
                collectivities=[VILLE],
                first_year=2020,
                last_year=2026,
                indicators=[
                    IndicatorData(
                        code="S1",
                        name="Part des habitants équipés d'un smartphone",
                        survey_question="Smartphone",
                        survey_values=["Oui"],
                    )
                ],
            ),
            actor=SYSTEM,
        )
        wave = create_wave(session, SYSTEM, plan.id, WaveInput("Enquête 2023", None, end))
        indicator = session.exec(select(Indicator).where(Indicator.plan_id == plan.id)).one()
    table = SurveyTable(
        file_name="enquete.csv",
        columns=["Smartphone"],
        respondents=["R1", "R2", "R3", "R4"],
        answers=[["Oui"], ["Oui"], ["Non"], ["Oui"]],
        weights=None,
        weight_column=None,
        id_column=None,
    )
    typed = MeasurementEdit(date=end, value=40, source="Enquête 2023")

    results = one_during_the_other(
        engine,
        writing(engine, lambda s: save_measurements(s, SYSTEM, indicator.id, [typed], today=TODAY)),
        writing(engine, lambda s: import_responses(s, SYSTEM, wave.id, table)),
        first_pauses_after=reads_the("measurement", "indicator_id"),
    )

    assert results[0] == 1, results[0]
    assert isinstance(results[1], ValidationError), results[1]
    assert results[1].details == [
        "Indicateur S1 : une mesure saisie existe déjà le 30/06/2023 avec la source "
        "« Enquête 2023 » ; supprimez-la ou renommez la vague."
    ]
    stored = reading(
        engine,
        lambda s: s.exec(
            select(Measurement.value, Measurement.wave_id).where(
                Measurement.indicator_id == indicator.id
            )
        ).all(),
    )
    assert [tuple(m) for m in stored] == [(40, None)]
