"""Editors at work at the same time: throughput, conflicts, errors and lost updates.

    python benchmarks/concurrency.py [--scale smoke|full] [--runs 1] [--pg-url URL]

Each editor is a thread of one process sharing one engine, as Streamlit serves
every browser session from threads of one server process; each operation opens
its own session (and so its own transaction and pooled connection), as a page
does. Editors act through the services, as the pages do, without thinking time
(so 20 of them load the database far more than 20 people would):

- reads: the overview computation (plan structure, indicators, build_overview:
  what a page computes after any change, when its caches miss) and an action's
  page (action_detail), which also notes the version the editor now sees;
- single saves: a new status (and progress, when it is entered) with the version
  the editor last read; on ConflictError the editor re-reads and tries again,
  twice at most, then gives up, as a user would;
- bulk saves: bulk_update of 3 actions (a conflict there is the bulk editor's
  « modifiée entre-temps » refusal; same retry);
- notes (add_note).

Half the editors share 3 « hot » actions (deliberate contention); every editor
also has 3 actions of its own drawn from the others (they overlap a little).

Counted: operations per kind, conflicts (expected, reported), errors other than
those conflicts (must be 0; printed), throughput (writes and reads per second)
and latency. The baseline is the same mix run by 1 editor for the same time, in
the same run, on the same database (run first, then the N editors; with
``--runs`` > 1 the two alternate and medians are shown).

Lost updates are counted at the end, against the audit log (history):
every successful save must appear there under the version it created, with the
fields it changed; each action's version must have moved by exactly its number
of successful saves; each field's history must form a chain (each change's old
value is the previous change's new value: nobody saved over a change they had
not seen); and each action's final status, progress and météo must be the last
value its history records. Notes are counted the same way.

SQLite: a temporary file, prepared as the app does on first start (schema and
example plan: tracker.bootstrap.prepare_database). PostgreSQL (--pg-url or
TEST_DATABASE_URL): the database at that URL is EMPTIED (schema dropped), then
prepared the same way. Without a URL the PostgreSQL rows say so.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from common import (
    Row,
    median,
    on_both_backends,
    p95,
    pg_url_from,
    prepared_engine,
    run_cli,
    temp_database,
)
from sqlalchemy.engine import Engine
from sqlmodel import select

from tracker import db
from tracker.errors import ConflictError, ValidationError
from tracker.models import (
    Action,
    ActionStatus,
    AuditEntry,
    Note,
    Plan,
    ProgressMode,
    Role,
    User,
    Weather,
)
from tracker.services import actions as action_service
from tracker.services import users
from tracker.services.indicators import indicator_rows
from tracker.services.overview import OverviewFilter, build_overview
from tracker.services.plans import plan_structure

SCALES = {"smoke": (4, 1.0), "full": (20, 60.0)}  # editors, seconds per phase
# Statuses a save moves between (« réalisé » and « abandonné » need a date or a note).
STATUSES = [ActionStatus.A_VENIR, ActionStatus.EN_COURS, ActionStatus.EN_PAUSE, ActionStatus.BLOQUE]
# One operation kind per draw, with these weights.
MIX = {"overview": 30, "detail": 25, "save": 30, "bulk": 8, "note": 7}
READS = ("overview", "detail")
WRITES = ("save", "bulk", "note")
RETRIES = 2
HOT = 3  # actions shared by half the editors
OWN = 3  # actions drawn for each editor
BULK_SIZE = 3
TRACKED = ("status", "progress", "weather")


def _as_text(value: object) -> str | None:
    """A value as the history writes it (enums by their value)."""
    return None if value is None else str(getattr(value, "value", value))


@dataclass(frozen=True)
class Seen:
    """An action as an editor last read it."""

    version: int
    status: ActionStatus
    progress: int
    weather: Weather
    entered: bool


@dataclass
class Tally:
    """What one phase's editors did."""

    done: Counter = field(default_factory=Counter)  # successful operations per kind
    conflicts: Counter = field(default_factory=Counter)  # per kind
    gave_up: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # (action id, version created) -> {field: new value as the history writes it}
    saves: list[tuple[int, int, dict[str, str]]] = field(default_factory=list)
    elapsed: float = 0.0

    def merge(self, other: Tally) -> None:
        self.done.update(other.done)
        self.conflicts.update(other.conflicts)
        self.gave_up.update(other.gave_up)
        self.errors.extend(other.errors)
        for kind, values in other.latency.items():
            self.latency[kind].extend(values)
        self.saves.extend(other.saves)

    def rate(self, kinds: tuple[str, ...]) -> float:
        return sum(self.done[k] for k in kinds) / self.elapsed if self.elapsed else 0.0


class BulkConflict(Exception):
    """The bulk editor refused rows changed since they were read."""


class Editor:
    """One person at work: reads and saves through the services, with their own account."""

    def __init__(
        self, engine: Engine, user: User, plan_id: int, mine: list[int], seed: int, tally: Tally
    ) -> None:
        self.engine, self.user, self.plan_id, self.mine = engine, user, plan_id, mine
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
        self.tally = tally
        self.seen: dict[int, Seen] = {}

    # ---- what a user does -------------------------------------------------

    def read(self, action_id: int) -> Seen:
        with db.session_scope(self.engine) as session:
            a = action_service.get_action(session, action_id)
            seen = Seen(
                a.version, a.status, a.progress, a.weather, a.progress_mode is ProgressMode.ENTERED
            )
        self.seen[action_id] = seen
        return seen

    def overview(self) -> None:
        today = date.today()
        with db.session_scope(self.engine) as session:
            structure = plan_structure(session, self.plan_id, today)
            rows = indicator_rows(session, self.plan_id, today)
            build_overview(session, structure, rows, today, OverviewFilter(year=today.year))

    def detail(self) -> None:
        action_id = self.rng.choice(self.mine)
        with db.session_scope(self.engine) as session:
            action_service.action_detail(session, action_id, date.today())
        self.read(action_id)

    def _changes(self, seen: Seen) -> dict:
        changes = {"status": self.rng.choice([s for s in STATUSES if s != seen.status])}
        if seen.entered:
            changes["progress"] = self.rng.randrange(0, 100)
        return changes

    def save(self) -> None:
        action_id = self.rng.choice(self.mine)
        seen = self.seen.get(action_id) or self.read(action_id)
        for attempt in range(RETRIES + 1):
            changes = self._changes(seen)
            start = time.perf_counter()
            try:
                with db.session_scope(self.engine, write=True) as session:
                    action_service.update_action(
                        session,
                        self.user,
                        action_id,
                        expected_version=seen.version,
                        changes=changes,
                    )
            except ConflictError:
                self.tally.latency["save"].append(time.perf_counter() - start)
                self.tally.conflicts["save"] += 1
                if attempt == RETRIES:
                    self.tally.gave_up["save"] += 1
                    return
                seen = self.read(action_id)
                continue
            self.tally.latency["save"].append(time.perf_counter() - start)
            self._saved(action_id, seen, changes)
            self.tally.done["save"] += 1
            return

    def bulk(self) -> None:
        ids = self.rng.sample(self.mine, min(BULK_SIZE, len(self.mine)))
        seen = {i: self.seen.get(i) or self.read(i) for i in ids}
        for attempt in range(RETRIES + 1):
            rows, planned = [], []
            for i in ids:
                changes = self._changes(seen[i])
                changes["weather"] = self.rng.choice(list(Weather))
                rows.append(action_service.BulkRow(i, seen[i].version, **changes))
                planned.append((i, seen[i], changes))
            start = time.perf_counter()
            try:
                with db.session_scope(self.engine, write=True) as session:
                    try:
                        action_service.bulk_update(session, self.user, rows)
                    except ValidationError as exc:
                        if exc.details and all("modifiée entre-temps" in d for d in exc.details):
                            raise BulkConflict from exc
                        raise
            except BulkConflict:
                self.tally.latency["bulk"].append(time.perf_counter() - start)
                self.tally.conflicts["bulk"] += 1
                if attempt == RETRIES:
                    self.tally.gave_up["bulk"] += 1
                    return
                seen = {i: self.read(i) for i in ids}
                continue
            self.tally.latency["bulk"].append(time.perf_counter() - start)
            for i, before, changes in planned:
                self._saved(i, before, changes)
            self.tally.done["bulk"] += 1
            return

    def note(self) -> None:
        action_id = self.rng.choice(self.mine)
        start = time.perf_counter()
        with db.session_scope(self.engine, write=True) as session:
            action_service.add_note(
                session, self.user, action_id, f"Point d'étape de {self.user.login} (mesure)."
            )
        self.tally.latency["note"].append(time.perf_counter() - start)
        self.tally.done["note"] += 1

    def _saved(self, action_id: int, before: Seen, changes: dict) -> None:
        """Record a successful save: the version it created and what it changed."""
        changed = {
            name: _as_text(value)
            for name, value in changes.items()
            if value != getattr(before, name)
        }
        self.tally.saves.append((action_id, before.version + 1, changed))
        self.seen.pop(action_id, None)  # the next save reads the action again

    # ---- the loop -----------------------------------------------------------

    def run(self, start: threading.Barrier, deadline: list[float]) -> None:
        kinds, weights = list(MIX), list(MIX.values())
        start.wait()
        while time.perf_counter() < deadline[0]:
            kind = self.rng.choices(kinds, weights)[0]
            began = time.perf_counter()
            try:
                getattr(self, kind)()
            except Exception as exc:  # noqa: BLE001 - every unexpected error is reported
                self.tally.errors.append(
                    f"{kind} ({self.user.login}) : "
                    + "".join(traceback.format_exception_only(exc)).strip()[:500]
                )
                continue
            if kind in READS:
                self.tally.latency[kind].append(time.perf_counter() - began)
                self.tally.done[kind] += 1


# --------------------------------------------------------------------------
# Preparing a database, running a phase, checking for lost updates
# --------------------------------------------------------------------------


def create_editors(engine: Engine, count: int) -> list[User]:
    with db.session_scope(engine, write=True) as session:
        return [
            users.create_user(
                session,
                users.system_actor("mesure"),
                login=f"editeur{n:02d}",
                role=Role.EDITOR,
                password=f"mot-de-passe-{n:02d}-mesure",
            )
            for n in range(count)
        ]


def action_ids(engine: Engine) -> tuple[int, list[int]]:
    with db.session_scope(engine) as session:
        plan_id = session.exec(select(Plan.id).order_by(Plan.id)).first()
        ids = session.exec(
            select(Action.id).where(Action.plan_id == plan_id, Action.archived == sa.false())
        ).all()
    return plan_id, sorted(ids)


def run_phase(engine: Engine, editors: list[User], seconds: float, seed: int) -> Tally:
    """``len(editors)`` editors at work together for ``seconds``."""
    plan_id, ids = action_ids(engine)
    hot, others = ids[:HOT], ids[HOT:]
    tallies = [Tally() for _ in editors]
    people = []
    for n, (user, tally) in enumerate(zip(editors, tallies, strict=True)):
        rng = random.Random(seed * 1000 + n)  # noqa: S311
        mine = (hot if n % 2 == 0 else []) + rng.sample(others, OWN)
        people.append(Editor(engine, user, plan_id, mine, seed * 1000 + n, tally))
    barrier = threading.Barrier(len(people) + 1)
    deadline = [0.0]
    threads = [threading.Thread(target=p.run, args=(barrier, deadline)) for p in people]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    total = Tally(elapsed=time.perf_counter() - began)
    for tally in tallies:
        total.merge(tally)
    return total


@dataclass(frozen=True)
class Snapshot:
    """Where the history and the actions stood before the editors started."""

    audit_id: int
    note_id: int
    actions: dict[int, dict[str, str | None]]  # id -> version and tracked fields, as text


def snapshot(engine: Engine) -> Snapshot:
    with db.session_scope(engine) as session:
        audit_id = session.execute(sa.select(sa.func.max(AuditEntry.id))).scalar() or 0
        note_id = session.execute(sa.select(sa.func.max(Note.id))).scalar() or 0
        actions = {
            a.id: {"version": a.version, **{f: _as_text(getattr(a, f)) for f in TRACKED}}
            for a in session.exec(select(Action))
        }
    return Snapshot(audit_id, note_id, actions)


def lost_updates(engine: Engine, before: Snapshot, tally: Tally) -> list[str]:
    """Every way the database disagrees with the successful saves (empty: none lost)."""
    problems: list[str] = []
    claimed: dict[tuple[int, int], dict[str, str]] = {}
    for action_id, version, changed in tally.saves:
        if (action_id, version) in claimed:
            problems.append(
                f"action {action_id} : deux enregistrements réussis en version {version}"
            )
        claimed[(action_id, version)] = changed
    with db.session_scope(engine) as session:
        entries = session.exec(
            select(AuditEntry)
            .where(AuditEntry.id > before.audit_id, AuditEntry.entity == "action")
            .order_by(AuditEntry.id)
        ).all()
        after = snapshot(engine).actions
        notes = session.execute(
            sa.select(sa.func.count()).select_from(Note).where(Note.id > before.note_id)
        ).scalar_one()
        noted = session.execute(
            sa.select(sa.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.id > before.audit_id, AuditEntry.entity == "note")
        ).scalar_one()
    audited: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
    chain: dict[tuple[int, str], str | None] = {}
    for e in entries:
        audited[(e.action_id, e.entity_version)][e.field] = e.new_value
        key = (e.action_id, e.field)
        previous = chain.get(key, before.actions[e.action_id].get(e.field))
        if e.field in TRACKED and e.old_value != previous:
            problems.append(
                f"action {e.action_id}, {e.field}, version {e.entity_version} : enregistrée "
                f"sur {e.old_value!r} alors que la valeur était {previous!r}"
            )
        chain[key] = e.new_value
    for key in sorted(set(claimed) | set(audited)):
        if claimed.get(key) != audited.get(key):
            problems.append(
                f"action {key[0]}, version {key[1]} : enregistrement {claimed.get(key)} "
                f"≠ historique {audited.get(key)}"
            )
    saves_per_action = Counter(action_id for action_id, _v, _c in tally.saves)
    for action_id, now in after.items():
        then = before.actions.get(action_id)
        if then is None:
            continue
        moved = now["version"] - then["version"]
        if moved != saves_per_action[action_id]:
            problems.append(
                f"action {action_id} : version {then['version']} → {now['version']} pour "
                f"{saves_per_action[action_id]} enregistrement(s) réussi(s)"
            )
        for name in TRACKED:
            last = chain.get((action_id, name), then[name])
            if now[name] != last:
                problems.append(
                    f"action {action_id} : {name} vaut {now[name]!r}, l'historique dit {last!r}"
                )
    if notes != tally.done["note"] or noted != tally.done["note"]:
        problems.append(
            f"notes : {tally.done['note']} ajoutées, {notes} en base, {noted} dans l'historique"
        )
    return problems


# --------------------------------------------------------------------------
# The measure
# --------------------------------------------------------------------------


def measure_backend(label: str, url: str, editors: int, seconds: float, runs: int) -> list[Row]:
    engine = prepared_engine(url)
    people = create_editors(engine, editors)
    before = snapshot(engine)
    alone, together, everything = [], [], Tally()
    for run in range(runs):
        alone.append(run_phase(engine, people[:1], seconds, seed=2 * run + 1))
        together.append(run_phase(engine, people, seconds, seed=2 * run + 2))
        everything.merge(alone[-1])
        everything.merge(together[-1])
    problems = lost_updates(engine, before, everything)
    engine.dispose()

    def med(tallies: list[Tally], value: Callable[[Tally], float]) -> float:
        return median([value(t) for t in tallies])

    def lat(kind: str, pick: Callable[[list[float]], float]) -> Callable[[Tally], float]:
        return lambda t: pick(t.latency[kind]) * 1000 if t.latency[kind] else 0.0

    print(f"{label} : {editors} éditeurs puis 1 éditeur, {seconds:.0f} s chacun, {runs} fois")
    print(f"{'opération':<38} {f'{editors} éditeurs':>12} {'1 éditeur':>10}")
    names = {
        "overview": "vue d'ensemble (calcul)",
        "detail": "fiche action",
        "save": "enregistrement unitaire",
        "bulk": "enregistrement groupé (3 actions)",
        "note": "note",
    }
    for kind, name in names.items():
        n = sum(t.done[kind] for t in together)
        one = sum(t.done[kind] for t in alone)
        print(f"{name:<38} {n:>12} {one:>10}")
    conflicts = sum(sum(t.conflicts.values()) for t in together)
    gave_up = sum(sum(t.gave_up.values()) for t in together)
    alone_conflicts = sum(sum(t.conflicts.values()) for t in alone)
    print(f"{'conflits signalés (réessayés)':<38} {conflicts:>12} {alone_conflicts:>10}")
    print(f"{'abandons après 3 conflits':<38} {gave_up:>12}")
    errors = everything.errors
    for error in errors[:10]:
        print(f"ERREUR : {error}")
    if len(errors) > 10:
        print(f"… et {len(errors) - 10} autres erreurs")
    for problem in problems[:10]:
        print(f"MISE À JOUR PERDUE : {problem}")
    print()
    return [
        Row(
            f"{label} : écritures validées par seconde, {editors} éditeurs (réf. : 1)",
            med(together, lambda t: t.rate(WRITES)),
            "écritures/s",
            med(alone, lambda t: t.rate(WRITES)),
            "ratio ≥ 1 : le débit tient",
        ),
        Row(
            f"{label} : lectures par seconde, {editors} éditeurs (réf. : 1)",
            med(together, lambda t: t.rate(READS)),
            "lectures/s",
            med(alone, lambda t: t.rate(READS)),
            "ratio ≥ 1 : le débit tient",
        ),
        Row(
            f"{label} : enregistrement unitaire, p95 (réf. : 1 éditeur)",
            med(together, lat("save", p95)),
            "ms",
            med(alone, lat("save", p95)),
            "< 1 000 ms",
        ),
        Row(
            f"{label} : calcul de la vue d'ensemble, p95 (réf. : 1 éditeur)",
            med(together, lat("overview", p95)),
            "ms",
            med(alone, lat("overview", p95)),
            "",
        ),
        Row(f"{label} : conflits signalés (ConflictError), attendus", conflicts, ""),
        Row(f"{label} : erreurs autres que les conflits", len(errors), "", target="0"),
        Row(
            f"{label} : mises à jour perdues (écarts avec l'historique)",
            len(problems),
            "",
            target="0",
        ),
    ]


def measure(scale: str, runs: int, pg_url: str | None = None) -> list[Row]:
    """``runs`` pairs of phases (1 editor, then N) per database: 2 min a pair at full scale."""
    editors, seconds = SCALES[scale]
    pg_url = pg_url or pg_url_from(None)
    _folder, env = temp_database()
    return on_both_backends(
        lambda label, url: measure_backend(label, url, editors, seconds, runs),
        env["TRACKER_DATABASE_URL"],
        pg_url,
    )


def main() -> int:
    def title(args: argparse.Namespace) -> str:
        editors, seconds = SCALES[args.scale]
        return (
            f"Éditeurs simultanés : {editors} pendant {seconds:.0f} s contre 1 "
            f"(plan d'exemple, {args.runs} essai(s))"
        )

    return run_cli(
        __doc__,
        title,
        lambda args: measure(args.scale, args.runs, args.pg_url),
        scales=SCALES,
        pg_url=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
