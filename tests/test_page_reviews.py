"""Page tests (AppTest): « Comités de pilotage » — what a viewer sees, and an
editor opening a review, recording a decision, closing the review, following the
decisions up, and reading what changed since the last committee. The forms and the
editable table sit in sections built only once opened (``components.lazy_section``); the
open committee's three forms in one section together. The committees, the decisions
and the short lists of changes are HTML tables (``tracker.ui.tables``)."""

from __future__ import annotations

import html
from datetime import date, timedelta

from sqlmodel import select
from streamlit.testing.v1 import AppTest

from tests.conftest import add_user, session_token
from tests.pages import (
    editor_state_key,
    html_tables,
    metrics,
    open_page,
    open_sections,
    page_titles,
    run_app,
)
from tracker import db, strings
from tracker.models import Action, Decision, DecisionStatus, Plan, Review, ReviewStatus, User
from tracker.services.actions import update_action
from tracker.services.reviews import (
    DecisionInput,
    ReviewInput,
    add_decision,
    close_review,
    open_review,
    update_review,
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
NEW_REVIEW = "reviews_new_open"
DECISIONS_TABLE = "reviews_decisions_table_open"
# The titles of the sections an editor opens to change something.
MANAGE_TITLE = "Gérer ce comité : le modifier, noter une décision, le clore"
EDIT_SECTIONS = [
    "Nouveau comité",
    MANAGE_TITLE,
    "Modifier le comité",
    "Nouvelle décision",
    "Clore le comité",
    "Modifier le suivi des décisions (tableau modifiable)",
]


def _manage_open(review_id: int) -> str:
    return f"review_{review_id}_manage_open"


def _edit_open(review_id: int) -> str:
    return f"review_{review_id}_edit_open"


def _decision_open(review_id: int) -> str:
    return f"review_{review_id}_decision_open"


def _close_open(review_id: int) -> str:
    return f"review_{review_id}_close_open"


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


def _sections(at: AppTest) -> list[str]:
    return [e.label for e in at.get("expander")]


def _tables(at: AppTest, column: str):
    """The tables with that column: HTML tables, data grids (an editable table, in
    AppTest, is one of them)."""
    found = [t for t in html_tables(at) if column in t.columns]
    return found + [df.value for df in at.dataframe if column in df.value.columns]


def _open_forms(at: AppTest, review_id: int, *keys: str) -> AppTest:
    """Open the committee's forms section, then the sections ``keys`` inside it."""
    return open_sections(open_sections(at, _manage_open(review_id)), *keys)


def _table(at: AppTest, column: str):
    tables = _tables(at, column)
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
    assert not set(EDIT_SECTIONS) & set(_sections(at))


# --------------------------------------------------------------------------
# Editors: open, decide, close, follow up
# --------------------------------------------------------------------------


def test_an_editor_opens_a_review_with_the_form(app_engine):
    at = _page(app_engine, add_user(app_engine, "editor"))
    form = "review_form_new"
    # No committee yet: the message says where to open one; its form is built once its
    # section is opened.
    assert at.info[0].value == (
        "Aucun comité de pilotage n'est encore enregistré. "
        "Ouvrez « Nouveau comité » ci-dessous pour en créer un."
    )
    assert not at.get("form")
    at = open_sections(at, NEW_REVIEW)
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
    # The committee's title, state, participants and agenda, as typed, in one block.
    [detail] = [
        h.proto.body for h in at.get("html") if "<h3>Comité de pilotage n°4" in h.proto.body
    ]
    assert "Comité ouvert : les décisions s'y enregistrent" in html.unescape(detail)
    assert "Élus référents, DGS" in detail and "Bilan 2026\nBudget 2027" in detail
    # The section stays open after the save, for the next committee.
    assert at.session_state[NEW_REVIEW] is True
    assert {b.form_id for b in at.button if b.form_id} == {"review_form_new"}


def test_an_editor_records_a_decision_then_closes_the_review(app_engine):
    editor = add_user(app_engine, "editor")
    review_id = _open_review(app_engine, editor)
    at = _open_forms(_page(app_engine, editor), review_id, _decision_open(review_id))
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
    shown = _table(at, "Décision")  # the follow-up table, read-only
    assert list(shown["Décision"]) == ["Relancer la consultation"]
    assert list(shown["Statut"]) == ["À faire"]
    # The section stays open after the save, for the next decision.
    assert at.session_state[_decision_open(review_id)] is True
    assert _in_form(at.button, "Enregistrer la décision", form)

    # The button stays disabled until the confirmation is ticked.
    at = open_sections(at, _close_open(review_id))
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
    # A closed review offers neither its forms section nor the decision form any more:
    # only the (folded) section of a new review remains.
    assert not at.get("form") and not at.checkbox
    assert "Enregistrer la décision" not in [b.label for b in at.button]
    assert [s for s in _sections(at) if s in EDIT_SECTIONS] == [
        "Nouveau comité",
        "Modifier le suivi des décisions (tableau modifiable)",
    ]
    at = open_sections(at, NEW_REVIEW)
    assert {b.form_id for b in at.button if b.form_id} == {"review_form_new"}


def test_an_editor_sets_a_decision_done_in_the_follow_up_table(app_engine):
    editor = add_user(app_engine, "editor")
    review_id = _open_review(app_engine, editor)
    due = date.today() + timedelta(days=10)
    with db.session_scope(app_engine, write=True) as session:
        for text in ("Relancer la consultation", "Chiffrer le bus"):
            add_decision(session, editor, review_id, DecisionInput(text, owner="DGS", due_date=due))
    at = _page(app_engine, editor)
    assert not at.get("data_editor")  # built once its section is opened
    at = open_sections(at, DECISIONS_TABLE)
    table = at.get("data_editor")[0].value
    assert list(table["Décision"]) == ["Relancer la consultation", "Chiffrer le bus"]
    row = int(table.index[table["Décision"] == "Chiffrer le bus"][0])
    # As the browser sends an edit of the table.
    at.session_state[editor_state_key(at, DECISIONS_EDITOR)] = {
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
    [shown] = [t for t in _tables(at, "Décision") if "id" not in t.columns]  # read-only
    assert list(shown["Statut"]) == ["À faire", "Fait"]


# --------------------------------------------------------------------------
# Sections built once opened
# --------------------------------------------------------------------------


def test_an_editor_gets_the_forms_and_the_editable_table_only_once_their_sections_are_opened(
    app_engine,
):
    editor = add_user(app_engine, "editor")
    review_id = _open_review(app_engine, editor)
    with db.session_scope(app_engine, write=True) as session:
        add_decision(session, editor, review_id, DecisionInput("Relancer la consultation"))
    at = _page(app_engine, editor)

    # At a glance: the committees, the chosen one, the decisions (read-only); every
    # form folded under its title, none of them built; the committee's three forms
    # in one section.
    at_a_glance = [s for s in EDIT_SECTIONS if s not in EDIT_SECTIONS[2:5]]
    assert [s for s in _sections(at) if s in EDIT_SECTIONS] == at_a_glance
    assert not at.get("form") and not at.get("data_editor") and not at.checkbox
    assert not at.text_input and not at.text_area and not at.date_input
    assert list(_table(at, "Décision")["Décision"]) == ["Relancer la consultation"]
    assert list(_table(at, "État")["Comité"]) == ["Comité de pilotage n°1"]

    at = open_sections(at, _manage_open(review_id))
    assert [s for s in _sections(at) if s in EDIT_SECTIONS] == EDIT_SECTIONS
    assert not at.get("form") and not at.checkbox
    at = open_sections(
        at,
        NEW_REVIEW,
        _edit_open(review_id),
        _decision_open(review_id),
        _close_open(review_id),
        DECISIONS_TABLE,
    )
    assert {b.form_id for b in at.button if b.form_id} == {
        "review_form_new",
        f"review_form_{review_id}",
        f"decision_new_{review_id}",
    }
    assert at.checkbox(key=f"reviews_close_sure_{review_id}").value is False
    assert len(at.get("data_editor")) == 1
    assert "Enregistrer le suivi des décisions" in [b.label for b in at.button]


def test_an_editor_changes_a_review_in_its_section_which_stays_open(app_engine):
    editor = add_user(app_engine, "editor")
    review_id = _open_review(app_engine, editor)
    at = _open_forms(_page(app_engine, editor), review_id, _edit_open(review_id))
    form = f"review_form_{review_id}"
    _in_form(at.text_input, "Titre", form).input("Comité de pilotage de printemps")
    _in_form(at.text_area, "Ordre du jour", form).input("1. Bilan")
    _in_form(at.button, "Enregistrer", form).click()
    at = run_app(at=at)

    assert "Comité enregistré." in _successes(at)
    [review] = _reviews(app_engine)
    assert (review.title, review.agenda) == ("Comité de pilotage de printemps", "1. Bilan")
    assert at.session_state[_edit_open(review_id)] is True
    assert _in_form(at.text_input, "Titre", form).value == "Comité de pilotage de printemps"


def test_a_review_form_opened_before_someone_saved_the_review_cannot_overwrite_it(app_engine):
    """A opens the committee's form; B saves other attendees (another session, through
    the services); A's form keeps what A opened, warns, and A's save is refused in
    French with nothing written. Folded and opened again, it starts from B's version."""
    editor = add_user(app_engine, "editor")
    review_id = _open_review(app_engine, editor)
    at = _open_forms(_page(app_engine, editor), review_id, _edit_open(review_id))
    form = f"review_form_{review_id}"
    [review] = _reviews(app_engine)
    with db.session_scope(app_engine, write=True) as session:
        update_review(
            session,
            add_user(app_engine, "editor", login="collegue"),
            review_id,
            ReviewInput(review.date, review.title, "Élus, DGS", review.agenda),
        )
    at = run_app(at=at)
    assert any("modifié par quelqu'un d'autre" in w.value for w in at.warning)
    assert _in_form(at.text_area, "Participants", form).value == ""  # what A opened
    _in_form(at.text_input, "Titre", form).input("Comité de printemps")
    _in_form(at.button, "Enregistrer", form).click()
    at = run_app(at=at)
    assert not _successes(at)
    message = at.error[0].value
    assert "modifié par quelqu'un d'autre" in message and "rien n'est enregistré" in message
    assert "Modifié entre-temps : Participants." in message
    [review] = _reviews(app_engine)
    assert (review.title, review.attendees) == ("Comité de pilotage n°1", "Élus, DGS")
    at.session_state[_edit_open(review_id)] = False
    at = run_app(at=at)
    at = open_sections(at, _edit_open(review_id))
    assert _in_form(at.text_area, "Participants", form).value == "Élus, DGS"
    assert not any("modifié par quelqu'un d'autre" in w.value for w in at.warning)


def test_a_refused_change_of_a_review_writes_nothing_and_says_why(app_engine):
    editor = add_user(app_engine, "editor")
    review_id = _open_review(app_engine, editor)
    at = _open_forms(_page(app_engine, editor), review_id, _edit_open(review_id))
    form = f"review_form_{review_id}"
    _in_form(at.text_input, "Titre", form).input("   ")
    _in_form(at.button, "Enregistrer", form).click()
    at = run_app(at=at)

    assert at.error[0].value == (
        "Le comité n'est pas modifié.\n- Le titre du comité est obligatoire."
    )
    assert not _successes(at)
    [review] = _reviews(app_engine)
    assert (review.title, review.agenda) == ("Comité de pilotage n°1", "")


def test_a_refused_decision_writes_nothing_and_says_why(app_engine):
    editor = add_user(app_engine, "editor")
    review_id = _open_review(app_engine, editor)
    at = _open_forms(_page(app_engine, editor), review_id, _decision_open(review_id))
    form = f"decision_new_{review_id}"
    _in_form(at.text_input, "Responsable", form).input("DGS")
    _in_form(at.button, "Enregistrer la décision", form).click()
    at = run_app(at=at)

    assert at.error[0].value == (
        "La décision n'est pas enregistrée.\n- Le texte de la décision est obligatoire."
    )
    assert _decisions(app_engine) == []


def test_an_editor_deletes_an_open_review_from_its_closing_section(app_engine):
    editor = add_user(app_engine, "editor")
    review_id = _open_review(app_engine, editor)
    at = _open_forms(_page(app_engine, editor), review_id, _close_open(review_id))
    at.button(key=f"reviews_delete_{review_id}").click()
    at = run_app(at=at)

    assert "Comité supprimé." in _successes(at)
    assert _reviews(app_engine) == []
    assert any(
        i.value.startswith("Aucun comité de pilotage n'est encore enregistré.") for i in at.info
    )


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
    assert any("Objectif 2 : " in h.proto.body for h in at.get("html"))
    # How many things changed, by kind, as key figures.
    assert metrics(at)["Actions modifiées"] == "1"
    assert metrics(at)["Jalons réalisés"] == "0"


def test_a_long_list_of_changes_is_folded_under_its_count_until_opened(app_engine):
    editor = add_user(app_engine, "editor")
    review_id = _open_review(app_engine, editor)
    with db.session_scope(app_engine, write=True) as session:
        close_review(session, editor, review_id, date.today())
        actions = list(session.exec(select(Action).order_by(Action.code)))[:16]
        for action in actions:
            update_action(
                session,
                editor,
                action.id,
                expected_version=action.version,
                changes={"weather": "orage" if action.weather != "orage" else "soleil"},
            )
    at = _page(app_engine, add_user(app_engine, "viewer"))

    label = "Voir les 16 changements des actions"
    assert label in _sections(at)
    assert not _tables(at, "Quoi")
    assert "Objectif 1 : " not in " ".join(m.value for m in at.markdown)
    at = open_sections(at, "reviews_changes_open")
    changes = [row for table in _tables(at, "Quoi") for row in table.to_dict("records")]
    assert len(changes) == 16
    assert {row["Quoi"] for row in changes} == {"Météo"}
    assert "Objectif 1 : " in " ".join(m.value for m in at.markdown)


def test_another_pair_of_committees_is_chosen_in_a_folded_section_and_still_applies(app_engine):
    editor = add_user(app_engine, "editor")
    first = _open_review(app_engine, editor, "Comité de printemps")
    with db.session_scope(app_engine, write=True) as session:
        close_review(session, editor, first, date.today())
    second = _open_review(app_engine, editor, "Comité d'été")
    with db.session_scope(app_engine, write=True) as session:
        close_review(session, editor, second, date.today())
    action = _action(app_engine, "2.2")
    with db.session_scope(app_engine, write=True) as session:
        update_action(
            session,
            editor,
            action.id,
            expected_version=action.version,
            changes={"weather": "orage"},
        )
    at = _page(app_engine, add_user(app_engine, "viewer"))

    # By default: since the last closed committee, to the plan today; no choice built.
    assert not [s for s in at.selectbox if s.label in ("Depuis", "Jusqu'à")]
    assert "Comparer d'autres comités" in _sections(at)
    caption = next(c.value for c in at.caption if c.value.startswith("Depuis"))
    assert "Comité d'été" in caption and "aujourd'hui" in caption
    assert metrics(at)["Actions modifiées"] == "1"

    at = open_sections(at, "reviews_compare_open")
    at.selectbox(key="reviews_compare_from").set_value(first)
    at = run_app(at=at)
    at.selectbox(key="reviews_compare_to").set_value(second)
    at = run_app(at=at)
    assert "Aucun changement entre ces deux dates." in _successes(at)

    # Folded again, the pair chosen still applies, and the caption names it.
    at.session_state["reviews_compare_open"] = False
    at = run_app(at=at)
    assert not [s for s in at.selectbox if s.label in ("Depuis", "Jusqu'à")]
    caption = next(c.value for c in at.caption if c.value.startswith("Depuis"))
    since, until = caption.split("jusqu'à")
    assert "Comité de printemps" in since and "Comité d'été" in until
    assert "Aucun changement entre ces deux dates." in _successes(at)
