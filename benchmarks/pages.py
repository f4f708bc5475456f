"""Every page's server-side run, cold and warm, against the minimal page.

    python benchmarks/pages.py [--scale smoke|full] [--runs N] [--db KIND=URL ...]
                               [--page TITLE ...]

Each page of the app is run with Streamlit's testing harness (AppTest: the
script runs and its output is serialised as for a browser; nothing is drawn),
logged in as the mission numérique's administrator so that every page is
reachable, each page in its own session, on the databases built by
``generate.py``: « exemple » (the shipped example plan) and « grand » (one plan
of 500 actions; 101 in smoke). ``--db KIND=URL`` measures an existing
database instead of building one (e.g. ``--db portefeuille=sqlite:///…``; it
must have the generated accounts; the measure saves into it).

For every page, each round runs, in this order:

1. a real save by another user through the services (an action's weather
   toggled by ``actions.update_action``), which bumps the data revision as every
   save does;
2. the page: « froid », what the first user to open it after someone saved
   waits for (every cached read keyed on the revision misses);
3. the baseline: the minimal page (one plotly bar chart and one 19-row table,
   ``MINIMAL`` in overview_page.py), warm;
4. the page again: « chaud », any rerun until the next save.

So the baseline is measured alternately with the page, in the same run. Pages
with a parameter are opened on a real id: « Fiche action » on the plan's first
action, « Fiche indicateur » on its first indicator. Each row gives the page's
warm p95 against the baseline's p95 (the target: below 1.5 times), with the
warm median and the cold median and p95 in its label. Full: 20 rounds after one
warm-up round; smoke: the example only, 2 rounds, no warm-up (its timings are not
judged).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from common import ROOT, Row, median, p95, run_cli
from generate import build
from overview_page import MINIMAL

PAGES = [
    "Vue d'ensemble",
    "Le plan",
    "Comités de pilotage",
    "Import / export",
    "Actions",
    "Fiche action",
    "Budget",
    "Mise à jour groupée",
    "Indicateurs",
    "Fiche indicateur",
    "Enquêtes",
    "Mon compte",
    "Utilisateurs",
    "Réglages",
]
SCALES = {"smoke": (("exemple",), 2), "full": (("exemple", "grand"), 20)}
# Unmeasured rounds before the measured ones (a smoke run only checks the script works).
WARMUP = {"smoke": 0, "full": 1}
TARGET = "chaud p95 < 1,5 × référence"
ADMIN = "mission"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}".replace(",", " ")


@dataclass
class _Database:
    kind: str
    url: str
    token: str  # the administrator's session
    action_id: int
    indicator_id: int
    save: Callable[[], None]


def _prepare(kind: str, url: str) -> _Database:
    """Log the administrator in, find the ids the detail pages need, and a save to make."""
    from sqlmodel import select  # noqa: PLC0415

    from tracker import db  # noqa: PLC0415
    from tracker.models import Indicator, User, Weather  # noqa: PLC0415
    from tracker.services import actions, plans, users  # noqa: PLC0415

    engine = db.get_engine(url)
    with db.session_scope(engine, write=True) as session:
        admin = session.exec(select(User).where(User.login == ADMIN)).one()
        editor = session.exec(select(User).where(User.login == "editeur1")).one()
        token, _code = users.start_session(session, admin)
        plan_id = plans.list_plans(session)[0].id
        first = plans.plan_structure(session, plan_id, date.today()).actions
        action_id = first[0].id
        saved_id = first[-1].id  # another action than the one shown
        indicator_id = session.exec(
            select(Indicator.id)
            .where(Indicator.plan_id == plan_id)
            .order_by(Indicator.position, Indicator.code)
        ).first()

    def save() -> None:
        with db.session_scope(engine, write=True) as session:
            action = actions.get_action(session, saved_id)
            weather = Weather.NUAGEUX if action.weather == Weather.SOLEIL else Weather.SOLEIL
            actions.update_action(
                session,
                editor,
                saved_id,
                expected_version=action.version,
                changes={"weather": weather},
            )

    return _Database(kind, url, token, action_id, indicator_id, save)


def _timed(at) -> float:  # noqa: ANN001
    start = time.perf_counter()
    at.run(timeout=300)
    elapsed = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"La page a levé une erreur : {at.exception[0].value}")
    return elapsed


def _open(base: _Database, title: str):  # noqa: ANN202
    """A session of the app logged in as the administrator, on the page ``title``."""
    from streamlit.testing.v1 import AppTest  # noqa: PLC0415

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=300)
    at.session_state["auth_session"] = base.token
    _timed(at)  # the landing page registers the navigation
    hashes = [h for h, p in at._registered_pages.items() if p["page_name"] == title]
    if not hashes:
        raise SystemExit(f"La page « {title} » n'est pas proposée à l'administrateur.")
    at._page_hash = hashes[0]
    if title == "Fiche action":
        at.query_params["action"] = str(base.action_id)
    if title == "Fiche indicateur":
        at.query_params["indicator"] = str(base.indicator_id)
    return at


def _measure_base(
    base: _Database, runs: int, pages: list[str] | None = None, warmup: int = 1
) -> list[Row]:
    from streamlit.testing.v1 import AppTest  # noqa: PLC0415

    os.environ["TRACKER_DATABASE_URL"] = base.url
    minimal = AppTest.from_string(MINIMAL, default_timeout=120)
    _timed(minimal)
    rows = []
    for title in pages or PAGES:
        at = _open(base, title)
        cold, warm, reference = [], [], []
        for round_ in range(warmup + runs):
            base.save()
            c = _timed(at)
            r = _timed(minimal)
            w = _timed(at)
            if round_ >= warmup:
                cold.append(c)
                reference.append(r)
                warm.append(w)
        rows.append(
            Row(
                f"{title} · {base.kind} (chaud p50 {_ms(median(warm))} ms ; "
                f"froid p50 {_ms(median(cold))} ms, p95 {_ms(p95(cold))} ms)",
                p95(warm) * 1000,
                "ms",
                baseline=p95(reference) * 1000,
                target=TARGET,
            )
        )
        print(
            f"  {title} ({base.kind}) : chaud p95 {_ms(p95(warm))} ms, "
            f"froid p95 {_ms(p95(cold))} ms, référence p95 {_ms(p95(reference))} ms",
            flush=True,
        )
    return rows


def measure(
    scale: str,
    runs: int,
    databases: dict[str, str] | None = None,
    pages: list[str] | None = None,
) -> list[Row]:
    """One row per page (every page, or ``pages``) and database: warm p95 against the
    minimal page's p95."""
    kinds, _ = SCALES[scale]
    databases = dict(databases or {})
    folder = tempfile.mkdtemp(prefix="tracker-pages-")
    os.environ.setdefault("TRACKER_BACKUP_DIR", f"{folder}/backups")
    for kind in kinds:
        if kind not in databases:
            url = f"sqlite:///{folder}/{kind}.db"
            summary = build(kind, url, scale)
            print(f"Base « {kind} » construite en {summary['seconds']:.1f} s.", flush=True)
            databases[kind] = url
    rows: list[Row] = []
    try:
        for kind, url in databases.items():
            rows += _measure_base(_prepare(kind, url), runs, pages, WARMUP[scale])
    finally:
        from tracker import db  # noqa: PLC0415

        db.dispose_engines()
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        action="append",
        default=[],
        metavar="TYPE=URL",
        help="mesurer une base existante (construite par generate.py) au lieu d'en construire une",
    )
    parser.add_argument(
        "--page",
        action="append",
        choices=PAGES,
        metavar="TITRE",
        help="ne mesurer que cette page (répétable ; par défaut : toutes)",
    )


def main() -> int:
    started = time.perf_counter()
    status = run_cli(
        __doc__,
        lambda args: (
            "Pages de l'application : exécution côté serveur (AppTest), p95 de "
            f"{args.runs or SCALES[args.scale][1]} tours, page minimale mesurée en alternance"
        ),
        lambda args: measure(
            args.scale,
            args.runs or SCALES[args.scale][1],
            dict(item.split("=", 1) for item in args.db),
            args.page,
        ),
        scales=SCALES,
        runs=None,
        runs_help="tours mesurés (défaut : 2 en smoke, 20 en full)",
        options=_options,
    )
    print(f"Durée totale : {time.perf_counter() - started:.0f} s")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
