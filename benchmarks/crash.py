"""Crash safety: bulk saves killed with SIGKILL at random points leave the database whole.

    python benchmarks/crash.py [--scale smoke|full] [--runs 1] [--pg-url URL]

A child Python process (benchmarks/killed_bulk_save.py, also the child of
tests/test_crash_safety.py) runs a real bulk save (bulk_update through the services,
every action of the example plan: new status, and progress where it is entered)
and kills itself with SIGKILL: after the k-th SQL statement of its transaction,
k drawn at random (an event listener of the child, on its own engine; nothing in
the product), or just after the commit, or just before it, in turn (a random
point, after, a random point, before, and again). A first child only counts the
transaction's statements, then rolls back.

After each kill the database must be consistent: ``python -m tracker check``
exits 0, the actions are all as before (none changed) or all saved (after the
commit), the data revision moved accordingly, and the next save goes through.
Printed: kills, consistent databases, and the time ``python -m tracker check``
takes just after a kill against the same check on the intact database just
before it (interleaved; both include starting Python).

full: 20 kills, smoke: 1, at a random point (or ``--runs`` if more). SQLite: a
temporary file prepared as on the app's first start. PostgreSQL (--pg-url or
TEST_DATABASE_URL): the database at that URL is EMPTIED (schema dropped), then
prepared the same way.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import (
    ROOT,
    Row,
    median,
    on_both_backends,
    pg_url_from,
    prepared_engine,
    run_cli,
    temp_database,
)
from sqlalchemy.engine import Engine
from sqlmodel import select

from tracker import db
from tracker.models import Action, Role
from tracker.services import users
from tracker.services.actions import update_action
from tracker.services.revision import current_revision

SCALES = {"smoke": 1, "full": 20}
LOGIN = "redaction"
CHILD = Path(__file__).resolve().parent / "killed_bulk_save.py"
# The child's kill points other than "after the k-th statement" (see killed_bulk_save.py).
BEFORE_COMMIT, AFTER_COMMIT = "before-commit", "after-commit"
WHERE = {BEFORE_COMMIT: "avant la validation", AFTER_COMMIT: "après la validation"}


def child(url: str, when: str) -> subprocess.CompletedProcess:
    """The bulk save of benchmarks/killed_bulk_save.py, killed at ``when``."""
    return subprocess.run(
        [sys.executable, str(CHILD), LOGIN, when],
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
    engine = prepared_engine(url)
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
        drawn = rng.randint(1, statements)  # drawn every time: the same points for a seed
        when = {1: AFTER_COMMIT, 3: BEFORE_COMMIT}.get(n % 4, str(drawn))
        before, revision = state(engine)
        seconds, sound_before = timed_check(url)
        intact_times.append(seconds)
        done = child(url, when)
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
            where = WHERE.get(when, f"après l'instruction {when}")
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
    return run_cli(
        __doc__,
        lambda args: (
            "Arrêts brutaux (SIGKILL) pendant un enregistrement groupé "
            f"({max(SCALES[args.scale], args.runs)} par base)"
        ),
        lambda args: measure(args.scale, args.runs, args.pg_url),
        scales=SCALES,
        pg_url=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
