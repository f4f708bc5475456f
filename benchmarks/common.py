"""What every benchmark shares: servers on loopback, Chromium, medians, the result table
and the command line.

Every benchmark prints rows of (figure, value, baseline, ratio, target), where the
baseline is measured in the same run, interleaved with the figure it is compared to.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FINISHED = "[data-testid='stApp'][data-test-script-state='notRunning']"
CHROMIUM = "/usr/bin/chromium"
MINIMAL_APP = "benchmarks/minimal_app.py"


@dataclass
class Row:
    """One line of a benchmark's result table."""

    figure: str
    value: float
    unit: str = "ms"
    baseline: float | None = None
    target: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank): with fewer than 20 values, the largest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if float(value).is_integer() and abs(value) < 100:
        return f"{int(value)}"
    if unit in ("ms", "MB", "lignes/s", "écritures/s") or abs(value) >= 100:
        return f"{value:,.0f}".replace(",", " ")
    return f"{value:.2f}".replace(".", ",")


def print_table(title: str, rows: list[Row]) -> str:
    """Print (and return) the result table in Markdown, French formats."""
    lines = [
        f"### {title}",
        "",
        "| Mesure | Valeur | Référence | Ratio | Cible |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        ratio = row.ratio
        lines.append(
            f"| {row.figure} | {_number(row.value, row.unit)} {row.unit} "
            f"| {_number(row.baseline, row.unit) + ' ' + row.unit if row.baseline else '–'} "
            f"| {f'{ratio:.2f}'.replace('.', ',') if ratio is not None else '–'} "
            f"| {row.target} |"
        )
    text = "\n".join(lines) + "\n"
    print(text, flush=True)
    return text


PG_URL_HELP = "base PostgreSQL (VIDÉE) ; défaut : TEST_DATABASE_URL"


def run_cli(
    doc: str,
    title: Callable[[argparse.Namespace], str],
    measure: Callable[[argparse.Namespace], list[Row]],
    *,
    scales: Iterable[str] = ("full", "smoke"),
    scale: str = "smoke",
    runs: int | None = 1,
    runs_help: str | None = None,
    pg_url: bool = False,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """A benchmark's command line: ``--scale``, ``--runs`` (``runs``: its default),
    ``--pg-url`` if ``pg_url`` (read into ``args.pg_url``, TEST_DATABASE_URL by default),
    the script's own ``options``; then its table, ``title(args)`` over ``measure(args)``."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=sorted(scales), default=scale)
    parser.add_argument("--runs", type=int, default=runs, help=runs_help)
    if pg_url:
        parser.add_argument("--pg-url", help=PG_URL_HELP)
    if options is not None:
        options(parser)
    args = parser.parse_args()
    if pg_url:
        args.pg_url = pg_url_from(args.pg_url)
    print_table(title(args), measure(args))
    return 0


def pg_url_from(arg: str | None) -> str | None:
    """The PostgreSQL URL to measure on: ``--pg-url``, else TEST_DATABASE_URL, else None."""
    from tracker.settings import normalise_database_url  # noqa: PLC0415

    url = arg or os.environ.get("TEST_DATABASE_URL")
    return normalise_database_url(url) if url else None


def on_both_backends(
    measure_backend: Callable[[str, str], list[Row]], sqlite_url: str, pg_url: str | None
) -> list[Row]:
    """``measure_backend(label, url)`` on SQLite, then on PostgreSQL, or a row saying
    PostgreSQL was not measured (never a made-up figure)."""
    rows = measure_backend("SQLite", sqlite_url)
    if pg_url:
        return rows + measure_backend("PostgreSQL", pg_url)
    return [*rows, Row("PostgreSQL : non mesuré (ni --pg-url ni TEST_DATABASE_URL)", None, "")]  # type: ignore[arg-type]


def prepared_engine(url: str) -> Engine:
    """The database at ``url`` prepared as on the app's first start (schema and example
    plan); on PostgreSQL, the schema is dropped first (the database is EMPTIED)."""
    from tracker import db  # noqa: PLC0415
    from tracker.bootstrap import prepare_database  # noqa: PLC0415

    engine = db.make_engine(url)
    if not db.is_sqlite(engine):
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    prepare_database(engine)
    return engine


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (all held open while drawn)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def temp_database() -> tuple[str, dict[str, str]]:
    """A new empty SQLite database in a temporary folder, and the environment pointing to it."""
    folder = tempfile.mkdtemp(prefix="tracker-bench-")
    env = {
        "TRACKER_DATABASE_URL": f"sqlite:///{folder}/tracker.db",
        "TRACKER_BACKUP_DIR": f"{folder}/backups",
    }
    return folder, env


def _streamlit(script: str, env: dict[str, str], port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            script,
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_listening(process: subprocess.Popen, script: str, port: int) -> None:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"Le serveur Streamlit ({script}) s'est arrêté.") from None
            time.sleep(0.1)
    raise SystemExit(f"Le serveur Streamlit ({script}) n'a pas démarré.")


@contextlib.contextmanager
def streamlit_servers(
    apps: list[tuple[str, dict[str, str]]],
) -> Iterator[list[tuple[subprocess.Popen, str]]]:
    """``streamlit run script`` for each (script, environment) of ``apps``, all started at
    once, each on a free loopback port; yields their (process, url); stops them."""
    ports = free_ports(len(apps))
    processes: list[subprocess.Popen] = []
    try:
        for (script, env), port in zip(apps, ports, strict=True):
            processes.append(_streamlit(script, env, port))
        for process, (script, _env), port in zip(processes, apps, ports, strict=True):
            _wait_listening(process, script, port)
        yield [
            (process, f"http://127.0.0.1:{port}")
            for process, port in zip(processes, ports, strict=True)
        ]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.contextmanager
def streamlit_server(script: str, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, str]]:
    """``streamlit run script`` on a free loopback port; yields (process, url); stops it."""
    with streamlit_servers([(script, env)]) as [server]:
        yield server


# What a smoke run of benchmarks/run.py starts once and lends to every benchmark (Chromium,
# the baseline server and its page), where each benchmark would start its own.
_kept_for_run: contextlib.ExitStack | None = None
_kept: dict[str, Any] = {}


@contextlib.contextmanager
def kept_for_the_run() -> Iterator[None]:
    """Within this block, what ``kept`` gives is started at its first use and stopped at
    the end of the block, not at the end of each use."""
    global _kept_for_run
    with contextlib.ExitStack() as stack:
        _kept_for_run = stack
        try:
            yield
        finally:
            _kept_for_run = None
            _kept.clear()


@contextlib.contextmanager
def kept(key: str, start: Callable[[], AbstractContextManager[Any]]) -> Iterator[Any]:
    """``start()`` entered for this use only, or, inside ``kept_for_the_run``, the one
    entered at the first use of ``key`` (left running after this use)."""
    if _kept_for_run is None:
        with start() as value:
            yield value
    else:
        if key not in _kept:
            _kept[key] = _kept_for_run.enter_context(start())
        yield _kept[key]


def baseline_server() -> AbstractContextManager[tuple[subprocess.Popen, str]]:
    """The server of the baseline page (benchmarks/minimal_app.py): (process, url)."""
    return kept("baseline", lambda: streamlit_server(MINIMAL_APP, {}))


def create_viewer(login: str = "lecteur") -> str:
    """A viewer account in the database of TRACKER_DATABASE_URL; returns its password."""
    from tracker import db  # noqa: PLC0415
    from tracker.bootstrap import prepare_database  # noqa: PLC0415
    from tracker.models import Role  # noqa: PLC0415
    from tracker.services import users  # noqa: PLC0415

    engine = db.get_engine()
    prepare_database(engine)
    password = secrets.token_urlsafe(16)
    with db.session_scope(engine, write=True) as session:
        users.create_user(
            session, users.system_actor("mesure"), login=login, role=Role.VIEWER, password=password
        )
    engine.dispose()
    return password


@contextlib.contextmanager
def _chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            browser.close()


def chromium() -> AbstractContextManager[Any]:
    """Debian's Chromium driven by Playwright (a Browser). Each user opens its own browser
    contexts and closes them: inside ``kept_for_the_run`` the browser is shared."""
    return kept("chromium", _chromium)


def wait_finished(page, charts: int = 0, timeout: int = 120_000) -> None:  # noqa: ANN001
    """The script has stopped and at least ``charts`` plotly charts have drawn their SVG."""
    page.wait_for_selector(FINISHED, timeout=timeout)
    if charts:
        page.wait_for_function(
            "n => { const plots = [...document.querySelectorAll('.js-plotly-plot')];"
            " return plots.length >= n && plots.every(p => p.querySelector('svg.main-svg')); }",
            arg=charts,
            timeout=timeout,
        )
    page.wait_for_selector(FINISHED, timeout=timeout)


def log_in(page, url: str, login: str, password: str) -> None:  # noqa: ANN001
    """Open the app and log in (or find the session already open by the context's cookie)."""
    page.goto(url)
    page.wait_for_selector(FINISHED, timeout=120_000)
    page.locator("h1").first.wait_for(timeout=60_000)
    if page.get_by_role("heading", name="Vue d'ensemble").count():
        return
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("heading", name="Vue d'ensemble").wait_for(timeout=120_000)


def reload_time(page, charts: int) -> float:  # noqa: ANN001
    """Seconds from a reload of the page (brought to the front) to the finished page."""
    page.bring_to_front()
    start = time.perf_counter()
    page.reload()
    wait_finished(page, charts)
    return time.perf_counter() - start


def interleaved(measures: dict[str, Callable[[], float]], runs: int, warmup: int = 1) -> dict:
    """Run every measure in turn, ``warmup`` + ``runs`` rounds; the timed values per name."""
    values: dict[str, list[float]] = {name: [] for name in measures}
    for round_ in range(warmup + runs):
        for name, measure in measures.items():
            value = measure()
            if round_ >= warmup:
                values[name].append(value)
    return values
