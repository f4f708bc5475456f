"""Page tests (AppTest): « Comités de pilotage » — what a viewer sees, and an
editor opening a review, recording a decision, closing the review, following the
decisions up, and reading what changed since the last committee."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from tests.conftest import add_user, session_token
from tests.pages import open_page, page_titles, run_app
from tracker import db, strings
from tracker.bootstrap import prepare_database
from tracker.models import Action, Decision, DecisionStatus, Plan, Review, ReviewStatus, User
from tracker.services.actions import update_action
from tracker.services.reviews import (
    DecisionInput,
    ReviewInput,
    add_decision,
    close_review,
    open_review,
)

PAGE = "Comités de pilotage"
VIEWER_PAGES = [
    "Vue d'ensemble",
    "Le plan",
    PAGE,
    "Import / export",
    "Actions",
    "Fiche action",
    "Budget",
    "Indicateurs",
    "Fiche indicateur",
    "Enquêtes",
    "Mon compte",
]
DECISIONS_EDITOR = "reviews_decisions_editor"


@pytest.fixture
def app_engine(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'app' / 'tracker.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    engine = db.get_engine(url)
    prepare_database(engine)
    return engine


def _page(engine, user: User) -> AppTest:
    return open_page(run_app(session_token(engine, user)), PAGE)


def _plan_id(engine) -> int:
    with db.session_scope(engine) as session:
        return session.exec(select(Plan.id)).one()


def _action(engine, code: str) -> Action:
    with db.session_scope(engine) as session:
        return session.exec(select(Action).where(Action.code == code)).one()


def _reviews(engine) -> list[Review]:
    with db.session_scope(engine) as session:
        return list(session.exec(select(Review).order_by(Review.id)))


def _decisions(engine) -> list[Decision]:
    with db.session_scope(engine) as session:
        return list(session.exec(select(Decision).order_by(Decision.id)))


def _open_review(engine, editor: User, title: str = "Comité de pilotage n°1") -> int:
    with db.session_scope(engine, write=True) as session:
        plan_id = session.exec(select(Plan.id)).one()
        day = date.today() - timedelta(days=1)
        return open_review(session, editor, plan_id, ReviewInput(day, title)).id


def _in_form(widgets, label: str, form: str):
    return next(w for w in widgets if w.label == label and w.form_id == form)


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _successes(at: AppTest) -> list[str]:
    return [s.value for s in at.success]


def _table(at: AppTest, column: str):
    tables = [df.value for df in at.dataframe if column in df.value.columns]
    assert len(tables) == 1, [list(t.columns) for t in tables]
    return tables[0]


# --------------------------------------------------------------------------
# Viewers
# --------------------------------------------------------------------------


def test_a_viewer_finds_the_page_in_the_navigation_and_sees_no_edit_control(app_engine):
    editor = add_user(app_engine, "editor")
    review_id = _open_review(app_engine, editor)
    with db.session_scope(app_engine, write=True) as session:
        add_decision(session, editor, review_id, DecisionInput("Relancer la consultation"))

    at = run_app(session_token(app_engine, add_user(app_engine, "viewer")))
    assert page_titles(at) == VIEWER_PAGES
    at = open_page(at, PAGE)

    assert at.title[0].value == PAGE
    assert list(_table(at, "État")["Comité"]) == ["Comité de pilotage n°1"]
    assert list(_table(at, "Décision")["Décision"]) == ["Relancer la consultation"]
    assert not at.get("form") and not at.get("data_editor")
    assert not at.text_input and not at.text_area and not at.date_input and not at.checkbox
    # Reading and downloading the committee's report is for everyone; nothing else.
    assert sorted(b.label for b in at.button) == [
        "Préparer le rapport du comité (PDF et .xlsx)",
        "Se déconnecter",
    ]
    assert "Nouveau comité" not in [e.label for e in at.get("expander")]
    assert "Clore le comité" not in [e.label for e in at.get("expander")]


# --------------------------------------------------------------------------
# Editors: open, decide, close, follow up
# --------------------------------------------------------------------------


def test_an_editor_opens_a_review_with_the_form(app_engine):
    at = _page(app_engine, add_user(app_engine, "editor"))
    form = "review_form_new"
    day = date.today() - timedelta(days=2)
    _in_form(at.date_input, "Date du comité", form).set_value(day)
    _in_form(at.text_input, "Titre", form).input("Comité de pilotage n°4")
    _in_form(at.text_area, "Participants", form).input("Élus référents, DGS")
    _in_form(at.text_area, "Ordre du jour", form).input("Bilan 2026\nBudget 2027")
    _in_form(at.button, "Ouvrir le comité", form).click()
    at = run_app(at=at)

    assert "Comité ouvert." in _successes(at)
    assert not at.error
    [review] = _reviews(app_engine)
    assert (review.plan_id, review.date, review.title) == (
        _plan_id(app_engine),
        day,
        "Comité de pilotage n°4",
    )
    assert (review.attendees, review.agenda) == ("Élus référents, DGS", "Bilan 2026\nBudget 2027")
    assert (review.status, review.snapshot) == (ReviewStatus.OPEN, None)
    assert list(_table(at, "État")["État"]) == ["Ouvert"]


def test_an_editor_records_a_decision_then_closes_the_review(app_engine):
    editor = add_user(app_engine, "editor")
    review_id = _open_review(app_engine, editor)
    at = _page(app_engine, editor)
    action = _action(app_engine, "2.3")
    form = f"decision_new_{review_id}"
    due = date.today() + timedelta(days=30)
    _in_form(at.text_area, "Décision", form).input("Relancer la consultation")
    _in_form(at.selectbox, "Action concernée", form).set_value(action.id)
    _in_form(at.text_input, "Responsable", form).input("Mission numérique")
    _in_form(at.date_input, "Échéance", form).set_value(due)
    _in_form(at.button, "Enregistrer la décision", form).click()
    at = run_app(at=at)

    assert "Décision enregistrée." in _successes(at)
    [decision] = _decisions(app_engine)
    assert (decision.review_id, decision.text, decision.action_id) == (
        review_id,
        "Relancer la consultation",
        action.id,
    )
    assert (decision.owner, decision.due_date, decision.status) == (
        "Mission numérique",
        due,
        DecisionStatus.A_FAIRE,
    )
    shown = _table(at, "Décision")  # the editor's follow-up table
    assert list(shown["Décision"]) == ["Relancer la consultation"]
    assert list(shown["Statut"]) == ["À faire"]

    # The button stays disabled until the confirmation is ticked.
    assert at.button(key=f"reviews_close_{review_id}").disabled
    at.checkbox(key=f"reviews_close_sure_{review_id}").check()
    at = run_app(at=at)
    assert not at.button(key=f"reviews_close_{review_id}").disabled
    at.button(key=f"reviews_close_{review_id}").click()
    at = run_app(at=at)

    assert "Comité clos : l'instantané du plan est enregistré." in _successes(at)
    [review] = _reviews(app_engine)
    assert review.status == ReviewStatus.CLOSED and review.closed_at is not None
    assert review.snapshot["at"] == date.today().isoformat()
    assert review.snapshot["plan"]["id"] == _plan_id(app_engine)
    assert len(review.snapshot["actions"]) == 19
    assert [d["text"] for d in review.snapshot["decisions"]] == ["Relancer la consultation"]
    assert list(_table(at, "État")["État"]) == ["Clos"]
    # A closed review offers neither its form nor the decision form any more.
    # Only the form of a new review remains.
    assert {b.form_id for b in at.button if b.form_id} == {"review_form_new"}
    assert not at.checkbox
    assert "Enregistrer la décision" not in [b.label for b in at.button]
    assert "Clore le comité" not in [e.label for e in at.get("expander")]


def test_an_editor_sets_a_decision_done_in_the_follow_up_table(app_engine):
    editor = add_user(app_engine, "editor")
    review_id = _open_review(app_engine, editor)
    due = date.today() + timedelta(days=10)
    with db.session_scope(app_engine, write=True) as session:
        for text in ("Relancer la consultation", "Chiffrer le bus"):
            add_decision(session, editor, review_id, DecisionInput(text, owner="DGS", due_date=due))
    at = _page(app_engine, editor)
    table = at.get("data_editor")[0].value
    assert list(table["Décision"]) == ["Relancer la consultation", "Chiffrer le bus"]
    row = int(table.index[table["Décision"] == "Chiffrer le bus"][0])
    # As the browser sends an edit of the table.
    at.session_state[DECISIONS_EDITOR] = {
        "edited_rows": {row: {"Statut": strings.DECISION_STATUS_LABELS[DecisionStatus.FAIT]}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at = run_app(at=at)
    at.button(key="reviews_decisions_save").click()
    at = run_app(at=at)

    assert "Suivi des décisions enregistré." in _successes(at)
    assert not at.error
    first, second = _decisions(app_engine)
    assert (second.status, second.version, second.owner, second.due_date) == (
        DecisionStatus.FAIT,
        2,
        "DGS",
        due,
    )
    # The row left alone is not rewritten.
    assert (first.status, first.version, first.due_date) == (DecisionStatus.A_FAIRE, 1, due)
    assert list(at.get("data_editor")[0].value["Statut"]) == ["À faire", "Fait"]


# --------------------------------------------------------------------------
# « Depuis le dernier comité »
# --------------------------------------------------------------------------


def test_since_the_last_review_lists_an_action_edited_after_it(app_engine):
    editor = add_user(app_engine, "editor")
    review_id = _open_review(app_engine, editor)
    with db.session_scope(app_engine, write=True) as session:
        close_review(session, editor, review_id, date.today())
    at = _page(app_engine, editor)
    assert "Aucun changement entre ces deux dates." in _successes(at)

    action = _action(app_engine, "2.2")
    with db.session_scope(app_engine, write=True) as session:
        update_action(
            session,
            editor,
            action.id,
            expected_version=action.version,
            changes={"status": "bloque", "weather": "orage"},
        )
    at = _page(app_engine, add_user(app_engine, "viewer"))

    assert "Depuis le dernier comité" in [h.value for h in at.header]
    changes = _table(at, "Quoi")
    assert changes.to_dict("records") == [
        {
            "Action": f"2.2 — {action.title}",
            "Quoi": "Statut",
            "Avant": strings.status_label("en_cours"),
            "Après": strings.status_label("bloque"),
        },
        {
            "Action": f"2.2 — {action.title}",
            "Quoi": "Météo",
            "Avant": strings.weather_label("soleil"),
            "Après": strings.weather_label("orage"),
        },
    ]
    assert "Objectif 2 : " in " ".join(m.value for m in at.markdown)
