"""Action follow-up in a real browser: an editor updates an action and sees it everywhere."""

from __future__ import annotations

import re

from sqlmodel import select

from tests.browser.conftest import log_in, open_section, save_artifact, wait_for_script
from tests.conftest import TEST_PASSWORD
from tracker import db
from tracker.models import Action

HOSTILE_NOTE = "<img src=x onerror=alert(1)> '; DROP TABLE action; -- مرحبا 🚌"


def _action_id(server, code: str) -> int:
    engine = db.make_engine(server.database_url)
    with db.session_scope(engine) as session:
        action_id = session.exec(select(Action.id).where(Action.code == code)).one()
    engine.dispose()
    return action_id


def _grid_texts(grid) -> list[str]:  # noqa: ANN001
    """The texts of a table's cells (the grid draws accessible cells for what is on screen).

    Retried: Streamlit may redraw the table once more (e.g. after syncing the address).
    """
    from playwright.sync_api import Error as PlaywrightError

    for attempt in range(3):
        try:
            grid.scroll_into_view_if_needed(timeout=10_000)
            cells = grid.locator("[role='gridcell']")
            cells.first.wait_for(state="attached", timeout=10_000)
            return [cells.nth(i).text_content() or "" for i in range(cells.count())]
        except PlaywrightError:
            if attempt == 2:
                raise
    return []


def _tables(page):  # noqa: ANN001, ANN202
    return page.locator("[data-testid='stDataFrame'] >> visible=true")


def _objective_bar_labels(page) -> list[str]:  # noqa: ANN001
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    return page.locator(".js-plotly-plot .bars text").all_text_contents()


def test_editor_updates_an_action_and_sees_it_in_table_chart_and_history(seeded_server, page):
    action_id = _action_id(seeded_server, "3.1")
    log_in(page, seeded_server.url, "admin", TEST_PASSWORD)
    page.get_by_role("heading", name="Vue d'ensemble").wait_for(timeout=60_000)
    page.goto(f"{seeded_server.url}/plan")
    wait_for_script(page)
    page.get_by_role("heading", name="Les actions", exact=True).wait_for(timeout=30_000)
    chart_before = _objective_bar_labels(page)

    page.goto(f"{seeded_server.url}/action?action={action_id}")
    wait_for_script(page)
    page.get_by_text("Mettre à jour l'action", exact=True).wait_for(timeout=30_000)
    open_section(page, "Mettre à jour l'action")
    page.get_by_role("combobox", name="Statut").wait_for(timeout=30_000)
    status = page.get_by_role("combobox", name="Statut")
    status.click()
    page.keyboard.type("Bloqu")  # the list filters as one types
    page.get_by_role("option").filter(has_text="Bloqué").wait_for(timeout=30_000)
    page.keyboard.press("Enter")
    wait_for_script(page)
    progress = page.get_by_label("Avancement (%)")
    progress.fill("10")
    progress.press("Tab")
    wait_for_script(page)
    page.get_by_role("textbox", name=re.compile("^Note .facultative")).fill(HOSTILE_NOTE)
    page.get_by_role("button", name="Enregistrer les modifications").click()
    page.get_by_text("Action 3.1 enregistrée.").wait_for(timeout=30_000)
    # The message comes first in the run that follows the save: the rest of the page may
    # still be the previous run's (CI once read the history before the save).
    wait_for_script(page)

    # The history: an HTML table named by its caption.
    history_table = page.locator("table.tk-table").filter(
        has=page.locator("caption", has_text="Historique des changements")
    )
    history_table.wait_for(timeout=30_000)
    history = history_table.locator("td").all_text_contents()
    assert "Statut : En cours → Bloqué" in history
    assert "Avancement : 95 % → 10 %" in history
    # The note is shown exactly as typed, as text: nothing injected, nothing run.
    page.locator("td").get_by_text(HOSTILE_NOTE, exact=True).first.wait_for(timeout=30_000)
    assert page.locator("[data-testid='stMain'] img[src='x']").count() == 0
    save_artifact(page, "action.png")

    page.goto(f"{seeded_server.url}/actions")
    wait_for_script(page)
    listed = _grid_texts(_tables(page).last)
    assert "3.1" in listed
    page.goto(f"{seeded_server.url}/plan")
    wait_for_script(page)
    page.get_by_role("heading", name="Les actions", exact=True).wait_for(timeout=30_000)
    chart_after = _objective_bar_labels(page)
    assert chart_after != chart_before  # objective 3's mean progress fell
    assert page.dialogs == []
    assert page.locator("[data-testid='stException']").count() == 0
