"""Crash safety: bulk saves killed with SIGKILL at random points leave the database whole.

    python benchmarks/crash.py [--scale smoke|full] [--runs 1] [--pg-url URL]

A child Python process runs a real bulk save (bulk_update through the services,
every action of the example plan: new status, and progress where it is entered)
and kills itself with SIGKILL: after the k-th SQL statement of its transaction,
k drawn at random (an event listener of the child, on its own engine; nothing in
the product), or just before the commit, or just after it, in turn (2 random
points, 1 before, 1 after, and again). A first child only counts the
transaction's statements, then rolls back.

After each kill the database must be consistent: ``python -m tracker check``
exits 0, the actions are all as before (none changed) or all saved (after the
commit), the data revision moved accordingly, and the next save goes through.
Printed: kills, consistent databases, and the time ``python -m tracker check``
takes just after a kill against the same check on the intact database just
before it (interleaved; both include starting Python).

full: 20 kills, smoke: 2 (or ``--runs`` if more). SQLite: a temporary file prepared as
on the app's first start. PostgreSQL (--pg-url or TEST_DATABASE_URL): the database
at that URL is EMPTIED (schema dropped), then prepared the same way.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time

from common import ROOT, Row, median, on_both_backends, pg_url_from, print_table, temp_database
from sqlalchemy.engine import Engine
from sqlmodel import select

from tracker import db
from tracker.bootstrap import prepare_database
from tracker.models import Action, Role
from tracker.services import users
from tracker.services.actions import update_action
from tracker.services.revision import current_revision

SCALES = {"smoke": 2, "full": 20}
LOGIN = "redaction"

# ``python -c CHILD count`` prints the bulk transaction's statements and rolls back;
# ``python -c CHILD K``: SIGKILL after the K-th statement of the transaction, K = N + 1
# just before the commit, K = N + 2 just after it.
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

mode, login = sys.argv[1], sys.argv[2]
kill_at = None if mode == "count" else int(mode)
engine = db.get_engine()
armed = False
statements = 0


def die():
    os.kill(os.getpid(), signal.SIGKILL)


@event.listens_for(engine, "after_cursor_execute")
def count_and_maybe_die(conn, cursor, statement, *args):
    global statements
    if armed:
        statements += 1
        if statements == kill_at:
            die()


@event.listens_for(engine, "commit")
def before_the_commit(conn):
    if armed and kill_at == statements + 1:
        die()


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


class CountOnly(Exception):
    pass


armed = True
try:
    with db.session_scope(engine, write=True) as session:
        bulk_update(session, editor, rows)
        if kill_at is None:
            raise CountOnly
except CountOnly:
    print(f"statements={statements}")
    sys.exit(0)
die()  # just after the commit
"""


def child(url: str, mode: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, mode, LOGIN],
        cwd=ROOT,
        env={**os.environ, "TRACKER_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )


def timed_check(url: str) -> tuple[float, bool]:
    """Seconds ``python -m tracker check`` takes, and whether it found the database sound."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tracker", "check"],
        cwd=ROOT,
        env={**os.environ, "TRACKER_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stdout + done.stderr, file=sys.stderr)
    return elapsed, done.returncode == 0


def state(engine: Engine) -> tuple[dict, int]:
    with db.session_scope(engine) as session:
        actions = {
            a.id: (a.status, a.weather, a.progress, a.actual_end_date, a.version)
            for a in session.exec(select(Action))
        }
        return actions, current_revision(session)


def still_writable(engine: Engine) -> bool:
    """The next save goes through (no lock or transaction left behind)."""
    with db.session_scope(engine) as session:
        action = session.exec(select(Action).order_by(Action.id)).first()
    with db.session_scope(engine, write=True) as session:
        update_action(
            session,
            users.find_user(session, LOGIN),
            action.id,
            expected_version=action.version,
            changes={"weather": "orage" if action.weather != "orage" else "soleil"},
        )
    return True


def prepared(url: str) -> Engine:
    engine = db.make_engine(url)
    if not db.is_sqlite(engine):
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    prepare_database(engine)
    with db.session_scope(engine, write=True) as session:
        users.create_user(session, users.system_actor("mesure"), login=LOGIN, role=Role.EDITOR)
    return engine


def measure_backend(label: str, url: str, kills: int, seed: int) -> list[Row]:
    engine = prepared(url)
    counted = child(url, "count")
    if counted.returncode != 0:
        raise SystemExit(f"Le processus de comptage a échoué :\n{counted.stderr[-3000:]}")
    statements = int(counted.stdout.strip().rsplit("=", 1)[1])
    rng = random.Random(seed)  # noqa: S311 - reproducible kill points, not a secret
    intact_times, after_times = [], []
    consistent, outcomes = 0, {"rien": 0, "tout": 0}
    for n in range(kills):
        kill_at = {1: statements + 2, 3: statements + 1}.get(n % 4, rng.randint(1, statements))
        before, revision = state(engine)
        seconds, sound_before = timed_check(url)
        intact_times.append(seconds)
        done = child(url, str(kill_at))
        killed = done.returncode == -signal.SIGKILL
        seconds, sound = timed_check(url)
        after_times.append(seconds)
        after, revision_after = state(engine)
        nothing = after == before and revision_after == revision
        everything = revision_after == revision + len(before) and all(
            after[i][4] == old[4] + 1 and after[i][0] != old[0] for i, old in before.items()
        )
        whole = killed and sound_before and sound and (nothing or everything)
        if whole and still_writable(engine):
            consistent += 1
        if nothing:
            outcomes["rien"] += 1
        elif everything:
            outcomes["tout"] += 1
        if not whole:
            where = "après la validation" if kill_at == statements + 2 else f"point {kill_at}"
            print(
                f"{label} : INCOHÉRENCE ({where}) : tué={killed}, check={sound}, "
                f"rien={nothing}, tout={everything}\n{done.stderr[-2000:]}",
                file=sys.stderr,
            )
    engine.dispose()
    print(
        f"{label} : {statements} instructions SQL dans l'enregistrement groupé de "
        f"{len(before)} actions ; après l'arrêt : rien d'enregistré {outcomes['rien']} fois, "
        f"tout enregistré {outcomes['tout']} fois"
    )
    return [
        Row(
            f"{label} : arrêts brutaux : {kills}, base cohérente : {consistent} "
            "(check, tout ou rien, écriture suivante)",
            consistent,
            "",
            kills,
            f"{kills} sur {kills}",
        ),
        Row(
            f"{label} : « python -m tracker check » juste après l'arrêt (réf. : base intacte)",
            median(after_times) * 1000,
            "ms",
            median(intact_times) * 1000,
        ),
    ]


def measure(scale: str, runs: int, pg_url: str | None = None) -> list[Row]:
    """At least the scale's number of kills per database (``runs`` if more)."""
    kills = max(SCALES[scale], runs)
    pg_url = pg_url or pg_url_from(None)
    _folder, env = temp_database()
    seeds = {"SQLite": 1, "PostgreSQL": 2}
    return on_both_backends(
        lambda label, url: measure_backend(label, url, kills, seed=seeds[label]),
        env["TRACKER_DATABASE_URL"],
        pg_url,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="smoke")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--pg-url", help="base PostgreSQL (VIDÉE) ; défaut : TEST_DATABASE_URL")
    args = parser.parse_args()
    print_table(
        f"Arrêts brutaux (SIGKILL) pendant un enregistrement groupé "
        f"({max(SCALES[args.scale], args.runs)} par base)",
        measure(args.scale, args.runs, pg_url_from(args.pg_url)),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
