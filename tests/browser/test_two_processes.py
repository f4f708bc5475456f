"""Two app processes on one database: a save made through one is seen through the other.

Streamlit's caches live inside one process. Every cached read of the app is keyed
on the data revision kept in the database (tracker/services/revision.py), bumped in
the same transaction as every write and read afresh at each script run: so the
second process shows the first one's save on its next rerun, here a plain widget
interaction (no page reload). Were caches merely cleared after a write
(``st.cache_data.clear()``), only the process that saved would see it, and this
test would fail. The database is PostgreSQL when TEST_DATABASE_URL is set (as in
CI), otherwise one SQLite file opened by both processes.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlmodel import select

from tests.browser.conftest import log_in, open_section, start_app, stop_app, wait_for_script
from tests.conftest import PG_URL, TEST_PASSWORD, add_user, truncate_all
from tracker import db, strings
from tracker.bootstrap import prepare_database
from tracker.models import Action, ActionStatus
from tracker.settings import normalise_database_url

BEFORE = strings.status_label(ActionStatus.EN_COURS)
AFTER = strings.status_label(ActionStatus.BLOQUE)


@pytest.fixture
def shared_database(request: pytest.FixtureRequest, tmp_path: Path, browser) -> str:  # noqa: ANN001
    """The example plan and an ``admin`` account, in the database both processes open."""
    if PG_URL:
        engine = request.getfixturevalue("postgres_engine")
        truncate_all(engine)  # a first run again: the app loads the example plan
        url = normalise_database_url(PG_URL)
    else:
        url = f"sqlite:///{tmp_path / 'shared' / 'tracker.db'}"
        engine = db.make_engine(url)
    prepare_database(engine)
    add_user(engine, "admin", login="admin")
    if not PG_URL:
        engine.dispose()  # PostgreSQL's engine belongs to the session-wide fixture
    return url


def _action_id(url: str, code: str) -> int:
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        action_id = session.exec(select(Action.id).where(Action.code == code)).one()
    engine.dispose()
    return action_id


def _status_metric(page):  # noqa: ANN001, ANN202
    """The value of the « Statut » figure at the top of the action page."""
    metric = page.get_by_test_id("tkMetric").filter(
        has=page.get_by_test_id("tkMetricLabel").filter(has_text=re.compile(r"^\s*Statut\s*$"))
    )
    return metric.get_by_test_id("tkMetricValue")


def _status(page) -> str:  # noqa: ANN001
    return _status_metric(page).inner_text().strip()


def test_a_save_in_one_process_is_seen_in_the_other_on_its_next_rerun(
    shared_database: str,
    browser,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    action_id = _action_id(shared_database, "3.1")
    with ThreadPoolExecutor(2) as pool:  # two processes, started side by side
        servers = list(pool.map(lambda _: start_app(tmp_path, shared_database), range(2)))
    # One browser context per process: nothing (cookie, tab) is shared but the database.
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in servers]
    try:
        page_a, page_b = (context.new_page() for context in contexts)
        for page, server in zip((page_a, page_b), servers, strict=True):
            log_in(page, server.url, "admin", TEST_PASSWORD)
            # Logged in once the redirect back from /tracker-auth/session has landed.
            page.get_by_role("heading", name="Vue d'ensemble").wait_for(timeout=60_000)
            page.goto(f"{server.url}/action?action={action_id}")
            wait_for_script(page)
            page.get_by_text("Mettre à jour l'action", exact=True).wait_for(timeout=30_000)
            open_section(page, "Mettre à jour l'action")
            page.get_by_role("combobox", name="Statut").wait_for(timeout=30_000)
        # Both processes have read (and cached) the action as it is.
        assert _status(page_a) == BEFORE
        assert _status(page_b) == BEFORE

        # Process A: the status is changed through the form and saved.
        page_a.get_by_role("combobox", name="Statut").click()
        page_a.keyboard.type("Bloqu")  # the list filters as one types
        page_a.get_by_role("option").filter(has_text="Bloqué").wait_for(timeout=30_000)
        page_a.keyboard.press("Enter")
        wait_for_script(page_a)
        page_a.get_by_role("button", name="Enregistrer les modifications").click()
        page_a.get_by_text("Action 3.1 enregistrée.").wait_for(timeout=30_000)
        wait_for_script(page_a)
        assert _status(page_a) == AFTER

        # Process B pushes nothing by itself: its page still shows what it drew.
        assert _status(page_b) == BEFORE

        # Process B reruns its script because the user changes a widget (no reload):
        # its cached read is keyed on the revision, which A's save has bumped.
        progress = page_b.get_by_label("Avancement (%)")
        progress.fill("50")
        progress.press("Tab")
        expect(_status_metric(page_b)).to_have_text(AFTER, timeout=30_000)
        wait_for_script(page_b)
        assert _status(page_b) == AFTER
        for page in (page_a, page_b):
            assert page.locator("[data-testid='stException']").count() == 0
    finally:
        for context in contexts:
            context.close()
        for server in servers:
            stop_app(server.process)
