"""Page tests (AppTest): every table of the app, read-only or editable, on every page that
has one, with every collapsible section opened.

- A missing value is an empty cell: Streamlit writes the English « None » unless told
  otherwise, and every word a user reads is French.
- An editable table keeps its edits in the browser until its page's save button (no rerun
  of the whole page at each cell left; the browser test of the bulk update checks that the
  edits still arrive with the click).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from tests.conftest import add_user, session_token
from tests.pages import open_page, open_sections, run_app
from tracker import db
from tracker.models import Action, Indicator, Plan
from tracker.services.reviews import DecisionInput, ReviewInput, add_decision, open_review

READ_ONLY = 0  # the grid's editing mode in Streamlit's message: not editable


def _open_every_section(at):  # noqa: ANN001, ANN202
    """Open the page's collapsible sections (``lazy_section`` keys end in « _open », a
    chart's table in « _data »), again for those that appear once others are open."""
    for _ in range(4):
        closed = [
            key
            for key in at.session_state.keys()  # noqa: SIM118 - not iterable itself
            if str(key).endswith(("_open", "_data")) and at.session_state[key] is False
        ]
        if not closed:
            return at
        at = open_sections(at, *closed)
    return at


def test_every_table_shows_missing_values_as_empty_cells_and_editors_wait_for_the_save(
    app_engine,
):
    with db.session_scope(app_engine) as session:
        action_id = session.exec(select(Action.id).where(Action.code == "1.5")).one()
        indicator_id = session.exec(select(Indicator.id).order_by(Indicator.id)).first()
    admin = add_user(app_engine, "admin")
    with db.session_scope(app_engine, write=True) as session:  # a decision to follow up
        plan_id = session.exec(select(Plan.id)).one()
        day = date.today() - timedelta(days=1)
        review = open_review(session, admin, plan_id, ReviewInput(day, "Comité n°1"))
        add_decision(session, admin, review.id, DecisionInput("Relancer la consultation"))
    token = session_token(app_engine, admin)
    pages = [
        ("Le plan", {}),
        ("Comités de pilotage", {}),
        ("Import / export", {}),
        ("Actions", {}),
        ("Fiche action", {"action": str(action_id)}),
        ("Budget", {}),
        ("Mise à jour groupée", {}),
        ("Indicateurs", {}),
        ("Fiche indicateur", {"indicator": str(indicator_id)}),
        ("Enquêtes", {}),
        ("Utilisateurs", {}),
    ]
    grids, editors = {}, {}
    for title, query in pages:
        at = run_app(token)
        for key, value in query.items():
            at.query_params[key] = value
        at = _open_every_section(open_page(at, title))
        for table in at.dataframe:
            shown = (title, tuple(table.value.columns)[:3])
            assert table.proto.HasField("placeholder"), shown
            assert table.proto.placeholder == "", shown
            if table.proto.editing_mode == READ_ONLY:
                grids[shown] = table
            else:
                assert table.proto.ignore_rerun, shown
                editors[shown] = table
    # What was checked: the editable tables of the bulk update, the year's budget lines,
    # an action's milestones, an indicator's measurements and the decisions' follow-up.
    assert {title for title, _ in editors} == {
        "Mise à jour groupée",
        "Budget",
        "Fiche action",
        "Fiche indicateur",
        "Comités de pilotage",
    }
    assert {"Actions", "Budget", "Utilisateurs"} <= {title for title, _ in grids}
