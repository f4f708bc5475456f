"""A save seen by someone else: from one session's commit to another's overview showing it.

    python benchmarks/save_visible.py [--scale smoke|full] [--runs N] [--pg-url URL]

Session A is an editor saving an action's status through the service
(update_action, committed, on its own engine as another app process would).
Session B is the real page: the app (dashboard.py) run by Streamlit's testing
harness (AppTest: the script runs and its output is serialised as for a
browser; nothing is drawn), logged in as a viewer, on the overview, caches warm.

Streamlit pushes nothing to a session: B shows new data on its next rerun (the
viewer's next click, filter change or reload). So the figure is the time from
A's commit to the end of B's next rerun, checked to show the change: B's
status metrics (« Les actions par statut ») have moved by one, from the old
status to the new. That rerun reads the data revision, finds it changed and
rebuilds the overview (its cached reads are keyed on the revision). The
baseline is B's warm rerun with nothing changed, interleaved with the figure.
When the change is not shown by that rerun, it is counted and printed.

The browser's share (receiving and drawing the page) is not included; see
benchmarks/overview_browser.py for a real browser.

full: 20 changes, smoke: 3 (or ``--runs`` if more). SQLite: a temporary file prepared as on
the app's first start. PostgreSQL (--pg-url or TEST_DATABASE_URL): the database
at that URL is EMPTIED (schema dropped), then prepared the same way.
"""

from __future__ import annotations

import os
import time

import sqlalchemy as sa
from common import (
    ROOT,
    Row,
    interleaved,
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
from streamlit.testing.v1 import AppTest

from tracker import db, strings
from tracker.models import Action, ActionStatus, ProgressMode, Role, User
from tracker.services import users
from tracker.services.actions import update_action
from tracker.ui.components import read_metric_cards

SCALES = {"smoke": 3, "full": 20}
# The status A moves the action back and forth between.
SWITCH = {
    ActionStatus.EN_COURS: ActionStatus.EN_PAUSE,
    ActionStatus.EN_PAUSE: ActionStatus.EN_COURS,
}


def status_counts(at: AppTest) -> dict[ActionStatus, int]:
    """B's status figures, as displayed (metric cards: components.metric_cards)."""
    shown = {
        label: value
        for element in at.get("html")
        for label, value, _ in read_metric_cards(element.proto.body)
    }
    return {s: int(shown[strings.status_label(s)]) for s in ActionStatus}


def run(at: AppTest) -> AppTest:
    at.run(timeout=120)
    if at.exception:
        raise SystemExit(f"La page a levé une erreur : {at.exception[0].value}")
    return at


def prepared(url: str) -> tuple[Engine, User, str]:
    """The database ready as on first start; (engine, editor, the viewer's session token)."""
    engine = prepared_engine(url)
    system = users.system_actor("mesure")
    with db.session_scope(engine, write=True) as session:
        editor = users.create_user(session, system, login="redaction", role=Role.EDITOR)
        viewer = users.create_user(session, system, login="lecteur", role=Role.VIEWER)
        token, _code = users.start_session(session, viewer)
    return engine, editor, token


def measure_backend(label: str, url: str, runs: int) -> list[Row]:
    os.environ["TRACKER_DATABASE_URL"] = url  # the page (run in this process) reads it
    engine, editor, token = prepared(url)
    with db.session_scope(engine, write=True) as session:
        action = session.exec(
            select(Action)
            .where(Action.progress_mode == ProgressMode.ENTERED, Action.archived == sa.false())
            .order_by(Action.id)
        ).first()
        # Start from a status the switch knows.
        if action.status not in SWITCH:
            update_action(
                session,
                editor,
                action.id,
                expected_version=action.version,
                changes={"status": ActionStatus.EN_COURS},
            )
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.session_state["auth_session"] = token
    for _ in range(2):  # the first runs: imports, the first queries, caches filled
        run(at)
    missed: list[str] = []

    def warm_rerun() -> float:
        start = time.perf_counter()
        run(at)
        return time.perf_counter() - start

    def save_then_rerun() -> float:
        before = status_counts(at)
        with db.session_scope(engine, write=True) as session:
            current = session.get(Action, action.id)
            old, new = current.status, SWITCH[current.status]
            update_action(
                session,
                editor,
                action.id,
                expected_version=current.version,
                changes={"status": new},
            )
        committed = time.perf_counter()  # the session's block has committed
        run(at)
        elapsed = time.perf_counter() - committed
        shown = status_counts(at)
        expected = {**before, old: before[old] - 1, new: before[new] + 1}
        if shown != expected:
            missed.append(f"{old.value} → {new.value} : affiché {shown}, attendu {expected}")
        return elapsed

    times = interleaved({"warm": warm_rerun, "change": save_then_rerun}, runs, warmup=1)
    engine.dispose()
    for problem in missed:
        print(f"{label} : CHANGEMENT NON AFFICHÉ au rerun suivant : {problem}")
    shown = runs + 1 - len(missed)  # the warm-up change is checked too
    ms = {name: [v * 1000 for v in values] for name, values in times.items()}
    return [
        Row(
            f"{label} : enregistrement de A → vue d'ensemble de B à jour (rerun suivant), "
            "médiane (réf. : rerun de B sans changement)",
            median(ms["change"]),
            "ms",
            median(ms["warm"]),
        ),
        Row(
            f"{label} : idem, p95 (réf. : p95 du rerun sans changement)",
            p95(ms["change"]),
            "ms",
            p95(ms["warm"]),
            "p95 < 0,5 s",
        ),
        Row(
            f"{label} : changements affichés dès le rerun suivant : {shown} sur {runs + 1}",
            shown,
            "",
            runs + 1,
            "tous",
        ),
    ]


def measure(scale: str, runs: int, pg_url: str | None = None) -> list[Row]:
    """At least the scale's number of changes per database (``runs`` if more)."""
    runs = max(SCALES[scale], runs)
    pg_url = pg_url or pg_url_from(None)
    _folder, env = temp_database()
    saved = {name: os.environ.get(name) for name in env}
    os.environ["TRACKER_BACKUP_DIR"] = env["TRACKER_BACKUP_DIR"]
    try:
        return on_both_backends(
            lambda label, url: measure_backend(label, url, runs),
            env["TRACKER_DATABASE_URL"],
            pg_url,
        )
    finally:  # the page read them from the environment; leave it as it was
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main() -> int:
    return run_cli(
        __doc__,
        lambda args: (
            "Enregistrement vu par une autre session : vue d'ensemble, plan d'exemple, "
            f"{max(SCALES[args.scale], args.runs or 0)} fois"
        ),
        lambda args: measure(args.scale, args.runs or 0, args.pg_url),
        scales=SCALES,
        runs=None,
        runs_help="changements mesurés (au moins 3 ou 20)",
        pg_url=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
