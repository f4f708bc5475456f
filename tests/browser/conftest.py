"""Browser tests: Playwright drives Debian's Chromium against `streamlit run dashboard.py`.

Without Chromium or Playwright the tests are skipped, except when
TRACKER_REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, add_user
from tracker import db
from tracker.bootstrap import prepare_database

CHROMIUM = os.environ.get("TRACKER_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("TRACKER_REQUIRE_BROWSER") == "1"
FINISHED = "[data-testid='stApp'][data-test-script-state='notRunning']"
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "le paquet Python playwright n'est pas installé (requirements-dev.txt)"
    if not Path(CHROMIUM).exists():
        return f"Chromium est absent ({CHROMIUM}) : apt-get install chromium"
    return None


def pytest_collection_modifyitems(config, items):  # noqa: ANN001
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    reason = _missing_browser()
    if reason:
        if REQUIRED:
            pytest.fail(f"Tests navigateur obligatoires : {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    url: str
    database_url: str
    process: subprocess.Popen
    log: Path


def start_app(tmp_path: Path, database_url: str, extra_env: dict | None = None) -> AppServer:
    """`streamlit run dashboard.py` on a free loopback port; returns once it answers."""
    port = free_port()
    log = tmp_path / f"streamlit-{port}.log"
    env = {**os.environ, "TRACKER_DATABASE_URL": database_url, **(extra_env or {})}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard.py",
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
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit s'est arrêté :\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return AppServer(url, database_url, process, log)
        except OSError:
            time.sleep(0.3)
    stop_app(process)
    raise RuntimeError(f"streamlit ne répond pas sur {url} :\n{log.read_text()}")


def stop_app(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@pytest.fixture
def app_server(tmp_path: Path, browser) -> Iterator[AppServer]:  # noqa: ANN001
    """The app on a brand-new SQLite database in a temp folder (first run)."""
    server = start_app(tmp_path, f"sqlite:///{tmp_path / 'data' / 'tracker.db'}")
    yield server
    stop_app(server.process)


@pytest.fixture
def seeded_server(tmp_path: Path, browser) -> Iterator[AppServer]:  # noqa: ANN001
    """The app on a database with the example plan and accounts ``admin`` and ``elu`` (viewer)."""
    url = f"sqlite:///{tmp_path / 'data' / 'tracker.db'}"
    engine = db.make_engine(url)
    prepare_database(engine)
    add_user(engine, "admin", login="admin")
    add_user(engine, "viewer", login="elu")
    engine.dispose()
    server = start_app(tmp_path, url)
    yield server
    stop_app(server.process)


def log_in(page, url: str, login: str, password: str) -> None:  # noqa: ANN001
    """Fill the login form and wait for the app to come back logged in."""
    page.goto(url)
    wait_for_script(page)
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()


@pytest.fixture
def page(browser):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def wait_for_script(page, timeout_ms: int = 60_000) -> None:  # noqa: ANN001
    """Wait until Streamlit has finished running the page's script and no element
    of the previous run is left stale (greyed out, about to be replaced)."""
    page.wait_for_selector(FINISHED, timeout=timeout_ms)
    page.wait_for_function(
        "document.querySelector(\"[data-stale='true']\") === null", timeout=timeout_ms
    )
    page.wait_for_selector(FINISHED, timeout=timeout_ms)


def open_section(page, label: str) -> None:  # noqa: ANN001
    """Unfold a collapsible section by a click on its title, then wait for the rerun
    that sends its content (``components.lazy_section``). The title is matched on the
    section's own summary: a section holding it contains the same text."""
    page.locator("[data-testid='stExpander'] summary").filter(has_text=label).first.click()
    page.wait_for_timeout(100)  # the rerun starts after the click's message is sent
    wait_for_script(page)


def save_artifact(page, name: str) -> Path:  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
