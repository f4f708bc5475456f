"""The bulk update in a real browser: cells typed into the data editor, one save.

Editing a cell must not rerun the page (the editor keeps the edits in the browser until
the save): a table of 500 actions would otherwise rerun the whole page, its data read
and converted again, at each cell the user leaves.
"""

from __future__ import annotations

from sqlmodel import select

from tests.browser.conftest import log_in, save_artifact, wait_for_script
from tests.conftest import TEST_PASSWORD
from tracker import db
from tracker.models import Action, Note

# Counts the page's script runs from now on: Streamlit marks the app « running » while the
# script runs (the attribute the tests wait on).
COUNT_RUNS = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    window.tkRuns = 0;
    new MutationObserver(() => {
        if (app.getAttribute("data-test-script-state") === "running") window.tkRuns += 1;
    }).observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
}"""


def _action(server, code: str) -> tuple[Action, list[str]]:
    engine = db.make_engine(server.database_url)
    with db.session_scope(engine) as session:
        action = session.exec(select(Action).where(Action.code == code)).one()
        notes = session.exec(
            select(Note.text).where(Note.action_id == action.id).order_by(Note.id)
        ).all()
        session.expunge(action)
    engine.dispose()
    return action, list(notes)


def _type_into(page, text: str) -> None:  # noqa: ANN001
    """Open the selected cell's editor (Enter), fill it, and commit (Enter): keys typed
    straight onto the grid open the editor on the first one and may lose the next."""
    page.keyboard.press("Enter")
    field = page.locator("#portal .gdg-clip-region").locator("input, textarea").first
    field.wait_for(timeout=10_000)
    field.fill(text)
    field.press("Enter")
    page.wait_for_timeout(300)


def _select(page, row: int, column: int) -> None:  # noqa: ANN001
    """Select a cell of the editor with the keyboard: a click on the first row's code, then
    arrows (rows in the plan's order, from 0; columns: Code, Action, Statut, Météo,
    Avancement, Commentaire). The header row is 35 px high, as each row. On a page just
    opened: once the page has scrolled, a click on the grid selected no cell (seen in
    Chromium)."""
    editor = page.locator("[data-testid='stDataFrame']").first
    editor.locator("canvas").first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)  # the grid draws its canvas after the element appears
    editor.click(position={"x": 20, "y": 35 + 17})
    for key in ["ArrowDown"] * row + ["ArrowRight"] * column:
        page.keyboard.press(key)


def _save(page) -> None:  # noqa: ANN001
    page.get_by_role("button", name="Enregistrer toutes les modifications").click()


def test_cells_typed_in_the_editor_are_saved_at_once_without_rerunning_the_page(
    seeded_server, page
):
    before, notes_before = _action(seeded_server, "1.5")
    assert before.progress != 55
    log_in(page, seeded_server.url, "admin", TEST_PASSWORD)
    page.get_by_role("heading", name="Vue d'ensemble").wait_for(timeout=60_000)
    page.goto(f"{seeded_server.url}/mise-a-jour")
    wait_for_script(page)
    _select(page, 4, 4)  # 1.5's progress
    page.evaluate(COUNT_RUNS)
    _type_into(page, "55")  # Enter commits and moves down a row
    for key in ("ArrowUp", "ArrowRight"):  # 1.5's comment
        page.keyboard.press(key)
    _type_into(page, "Point fait avant le comité")
    page.wait_for_timeout(500)
    assert page.evaluate("window.tkRuns") == 0  # the edits stayed in the browser
    assert _action(seeded_server, "1.5")[0].version == before.version  # nothing saved yet

    _save(page)
    page.get_by_text("1 action(s) enregistrée(s) en une seule fois.").wait_for(timeout=30_000)
    after, notes_after = _action(seeded_server, "1.5")
    assert after.progress == 55
    assert after.version == before.version + 1
    assert notes_after == [*notes_before, "Point fait avant le comité"]
    save_artifact(page, "bulk.png")
    wait_for_script(page)

    # Saved edits are not sent again: a second click finds nothing to save (it recorded
    # the comment a second time while the table kept its key).
    _save(page)
    page.get_by_text("Aucune modification à enregistrer.").wait_for(timeout=30_000)
    again, notes_again = _action(seeded_server, "1.5")
    assert (again.version, notes_again) == (after.version, notes_after)

    # « Recharger le tableau » drops what was typed: the next click saves nothing (the
    # browser kept the edits and the click saved them while the table kept its key).
    page.goto(f"{seeded_server.url}/mise-a-jour")
    wait_for_script(page)
    _select(page, 4, 4)
    _type_into(page, "20")
    page.get_by_role("button", name="Recharger le tableau (abandonner les saisies)").click()
    page.wait_for_timeout(300)
    wait_for_script(page)
    _save(page)
    page.get_by_text("Aucune modification à enregistrer.").wait_for(timeout=30_000)
    assert _action(seeded_server, "1.5")[0].progress == 55
    assert page.dialogs == []
    assert page.locator("[data-testid='stException']").count() == 0
