"""Page tests (AppTest): the actions page, an action's page and the bulk update."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlmodel import select

from tests.conftest import add_user, session_token
from tests.pages import (
    APP,
    editor_state_key,
    html_tables,
    metrics,
    open_page,
    open_sections,
    run_app,
)
from tracker import db, strings
from tracker.models import Action, ActionStatus, AuditEntry, Note, Plan
from tracker.services import actions as action_service
from tracker.services import users
from tracker.ui.components import md_escape


def _action(engine, code: str) -> Action:
    with db.session_scope(engine) as session:
        return session.exec(select(Action).where(Action.code == code)).one()


def _list_table(at):
    return next(df.value for df in at.dataframe if "Mise à jour attendue" in df.value.columns)


def _param(at, name: str) -> list[str]:
    value = at.query_params[name]
    return value if isinstance(value, list) else [value]


def _app(token: str, **query):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["auth_session"] = token
    for key, value in query.items():
        at.query_params[key] = value
    return at


# --------------------------------------------------------------------------
# The actions page
# --------------------------------------------------------------------------


def test_actions_page_lists_every_action_with_its_flags(app_engine):
    at = open_page(run_app(session_token(app_engine, add_user(app_engine, "viewer"))), "Actions")
    table = _list_table(at)
    assert len(table) == 19
    assert list(table.columns) == [
        "Code",
        "Action",
        "Objectif",
        "Porteur",
        "Pilote",
        "Service",
        "Statut",
        "Météo",
        "Avancement",
        "Fin prévue",
        "Dernière mise à jour",
        "En retard",
        "Mise à jour attendue",
    ]
    assert (table["En retard"] != "").sum() == 1  # 1.5: planned end passed, not done


def test_a_shared_link_opens_the_actions_page_filtered(app_engine):
    token = session_token(app_engine, add_user(app_engine, "viewer"))
    at = run_app(at=_app(token))
    at = open_page(at, "Actions")
    at.query_params["statut"] = ["en_cours", "bloque"]
    at.session_state["actions_filters"] = None  # as in a new browser tab
    del at.session_state["actions_filters"]
    at = run_app(at=at)
    table = _list_table(at)
    assert set(table["Statut"]) == {
        strings.status_label("en_cours"),
        strings.status_label("bloque"),
    }
    assert len(table) == 9
    # The filters other than the search sit folded: a caption says which apply.
    assert not at.multiselect
    running, blocked = strings.status_label("en_cours"), strings.status_label("bloque")
    shown = f"Filtres appliqués : Statut : {md_escape(running)}, {md_escape(blocked)}"
    assert shown in [c.value for c in at.caption]


def test_filters_update_the_table_and_the_address(app_engine):
    at = open_page(run_app(session_token(app_engine, add_user(app_engine, "viewer"))), "Actions")
    assert at.text_input(key="actions_filter_text")  # the search is always there
    assert not at.multiselect and not at.checkbox  # the others once their section is open
    at = open_sections(at, "actions_filters_open")
    at.multiselect(key="actions_filter_objectives").set_value(["2"])
    at = run_app(at=at)
    table = _list_table(at)
    assert set(table["Objectif"]) == {"2"} and len(table) == 6
    assert _param(at, "objectif") == ["2"]
    at.text_input(key="actions_filter_text").input("grand pass")
    at = run_app(at=at)
    assert any("Aucune action ne correspond" in i.value for i in at.info)  # 1.5 is in objective 1
    at.multiselect(key="actions_filter_objectives").set_value([])
    at = run_app(at=at)
    assert list(_list_table(at)["Code"]) == ["1.5"]
    assert _param(at, "q") == ["grand pass"]


def test_filters_survive_leaving_the_page_and_coming_back(app_engine):
    at = open_page(run_app(session_token(app_engine, add_user(app_engine, "viewer"))), "Actions")
    at = open_sections(at, "actions_filters_open")
    at.checkbox(key="actions_filter_late_only").check()
    at = run_app(at=at)
    assert list(_list_table(at)["Code"]) == ["1.5"]
    at = open_page(at, "Le plan")
    at = open_page(at, "Actions")
    assert list(_list_table(at)["Code"]) == ["1.5"]
    assert "Filtres appliqués : En retard seulement" in [c.value for c in at.caption]
    at = open_sections(at, "actions_filters_open")
    assert at.checkbox(key="actions_filter_late_only").value


# --------------------------------------------------------------------------
# An action's page
# --------------------------------------------------------------------------


def _action_page(engine, token: str, code: str, *, edit: bool = False):
    """The action's page; with ``edit``, its update form opened (« Mettre à jour l'action »)."""
    action = _action(engine, code)
    at = run_app(at=_app(token))
    at.query_params["action"] = str(action.id)
    at = open_page(at, "Fiche action")
    if edit:
        at = open_sections(at, f"action_{action.id}_edit_open")
    return at, action


def test_action_page_shows_fields_milestones_notes_budget_indicators_and_history(app_engine):
    token = session_token(app_engine, add_user(app_engine, "viewer"))
    at, action = _action_page(app_engine, token, "1.2")
    assert any(t.value == "1.2 — Développement des démarches en ligne" for t in at.text)
    headers = [h.value for h in at.header]
    for section in ("Informations", "Jalons", "Notes", "Budget", "Indicateurs liés", "Historique"):
        assert section in headers
    info = _shown_table(at, "Champ")
    assert "Objectif" in set(info["Champ"])
    milestones = _shown_table(at, "Jalon")
    assert len(milestones) == 5
    assert not at.button or [b.label for b in at.button] == ["Se déconnecter"]  # viewer: read only


def test_action_page_figures_dates_and_indicator_links_read_as_on_the_action(app_engine):
    """Read-only parts of the page are HTML (key figures, tables): the values are the
    action's, dates read the app's French way (« 30 juin 2019 »), and each linked
    indicator leads to its page."""
    from datetime import date

    from tracker.formats import format_date
    from tracker.models import Indicator, IndicatorAction

    token = session_token(app_engine, add_user(app_engine, "viewer"))
    at, action = _action_page(app_engine, token, "1.2")
    shown = metrics(at)
    assert shown["Statut"] == strings.status_label(action.status)
    assert shown["Météo"] == strings.weather_label(action.weather)
    assert set(shown) == {"Statut", "Météo", "Avancement", "Attendu selon le calendrier", "Santé"}
    assert not at.metric and not at.dataframe  # a reader's page: no grid, no widget per figure
    with db.session_scope(app_engine) as session:
        milestones = action_service.action_detail(session, action.id, date.today()).milestones
        linked = session.exec(
            select(Indicator)
            .join(IndicatorAction, IndicatorAction.indicator_id == Indicator.id)
            .where(IndicatorAction.action_id == action.id)
        ).all()
    table = _shown_table(at, "Jalon")
    assert list(table["Échéance"]) == [format_date(m.due_date) or "–" for m in milestones]
    assert linked, "the example's action 1.2 has linked indicators"
    assert set(_shown_table(at, "Indicateur")["Code"]) == {i.code for i in linked}
    bodies = "".join(e.proto.body for e in at.get("html"))
    for indicator in linked:
        assert f'href="indicateur?indicator={indicator.id}"' in bodies


def test_action_page_shows_a_save_made_elsewhere_on_its_next_run(app_engine):
    # The page's tables are cached per data revision: a save by another user (here
    # through the services, as another app process would) must show on the next run.
    token = session_token(app_engine, add_user(app_engine, "viewer"))
    at, action = _action_page(app_engine, token, "2.2")
    assert metrics(at)["Statut"] == strings.status_label("en_cours")
    editor = add_user(app_engine, "editor")
    with db.session_scope(app_engine, write=True) as session:
        action_service.update_action(
            session,
            editor,
            action.id,
            expected_version=action.version,
            changes={"status": ActionStatus.BLOQUE},
            note="Prestataire défaillant.",
        )
    at = run_app(at=at)
    assert metrics(at)["Statut"] == strings.status_label("bloque")
    history = _shown_table(at, "Changement")
    assert any("Statut : En cours → Bloqué" in c for c in history["Changement"])
    assert "Prestataire défaillant." in set(_notes_table(at)["Note"])


def test_editor_saves_status_and_progress_from_the_form(app_engine):
    editor = add_user(app_engine, "editor", login="mission")
    at, action = _action_page(app_engine, session_token(app_engine, editor), "2.2", edit=True)
    at.selectbox(key=f"action_{action.id}_status").set_value(ActionStatus.BLOQUE)
    at.number_input(key=f"action_{action.id}_progress").set_value(60)
    at.text_area(key=f"action_{action.id}_note").input("Prestataire défaillant.")
    at.button(key=f"action_{action.id}_save").click()
    at = run_app(at=at)
    assert any("enregistrée" in s.value for s in at.success)
    saved = _action(app_engine, "2.2")
    assert (saved.status, saved.progress, saved.version) == ("bloque", 60, action.version + 1)
    history = _shown_table(at, "Changement")
    assert any("Statut : En cours → Bloqué" in c for c in history["Changement"])
    assert any("Avancement : 85 % → 60 %" in c for c in history["Changement"])
    assert "Prestataire défaillant." in set(_notes_table(at)["Note"])


def test_done_needs_a_confirmation_and_prefills_today(app_engine):
    editor = add_user(app_engine, "editor")
    at, action = _action_page(app_engine, session_token(app_engine, editor), "2.2", edit=True)
    at.selectbox(key=f"action_{action.id}_status").set_value(ActionStatus.REALISE)
    at = run_app(at=at)
    from datetime import date

    assert at.date_input(key=f"action_{action.id}_actual_end_date").value == date.today()
    at.button(key=f"action_{action.id}_save").click()
    at = run_app(at=at)
    assert any("Cochez la confirmation" in w.value for w in at.warning)
    assert _action(app_engine, "2.2").status == "en_cours"
    at.checkbox(key=f"action_{action.id}_confirm_done").check()
    at.button(key=f"action_{action.id}_save").click()
    at = run_app(at=at)
    saved = _action(app_engine, "2.2")
    assert (saved.status, saved.progress, saved.actual_end_date) == ("realise", 100, date.today())


def test_invalid_input_shows_a_french_error_and_saves_nothing(app_engine):
    editor = add_user(app_engine, "editor")
    at, action = _action_page(app_engine, session_token(app_engine, editor), "2.2", edit=True)
    at.selectbox(key=f"action_{action.id}_status").set_value(ActionStatus.ABANDONNE)
    at.button(key=f"action_{action.id}_save").click()
    at = run_app(at=at)
    assert "raison de l'abandon" in at.error[0].value
    assert _action(app_engine, "2.2").version == action.version


def test_a_conflicting_save_is_refused_and_the_input_is_kept(app_engine):
    editor = add_user(app_engine, "editor", login="mission")
    other = add_user(app_engine, "editor", login="collegue")
    at, action = _action_page(app_engine, session_token(app_engine, editor), "2.2", edit=True)
    with db.session_scope(app_engine, write=True) as session:
        action_service.update_action(
            session, other, action.id, expected_version=action.version, changes={"weather": "orage"}
        )
    at.number_input(key=f"action_{action.id}_progress").set_value(90)
    at.button(key=f"action_{action.id}_save").click()
    at = run_app(at=at)
    message = at.error[0].value
    assert "collegue" in message and "Météo : Soleil → Orage" in message
    assert _action(app_engine, "2.2").progress == 85  # nothing overwritten
    assert at.number_input(key=f"action_{action.id}_progress").value == 90  # input kept
    at.button(key=f"action_{action.id}_save").click()  # re-applied knowingly
    at = run_app(at=at)
    saved = _action(app_engine, "2.2")
    assert saved.progress == 90


def test_pilot_form_offers_only_the_pilot_fields_on_their_own_action(app_engine):
    admin = add_user(app_engine, "admin")
    pilot = add_user(app_engine, "pilot", login="pilote")
    own, other = _action(app_engine, "3.1"), _action(app_engine, "3.2")
    with db.session_scope(app_engine, write=True) as session:
        plan_id = session.exec(select(Plan.id)).one()
        users.link_pilot_actions(session, admin, pilot.id, plan_id, [own.id])
    token = session_token(app_engine, pilot)
    at, _ = _action_page(app_engine, token, "3.1", edit=True)
    keys = {w.key for w in [*at.text_input, *at.selectbox, *at.date_input, *at.number_input]}
    assert f"action_{own.id}_status" in keys and f"action_{own.id}_progress" in keys
    assert f"action_{own.id}_title" not in keys and f"action_{own.id}_planned_end_date" not in keys
    at, _ = _action_page(app_engine, token, "3.2")
    assert f"action_{other.id}_status" not in {w.key for w in at.selectbox}
    assert any("n'est pas liée à votre compte" in i.value for i in at.info)


def test_the_update_form_is_built_only_once_opened_and_reopens_on_the_saved_action(app_engine):
    editor = add_user(app_engine, "editor")
    at, action = _action_page(app_engine, session_token(app_engine, editor), "2.2")
    key = f"action_{action.id}"
    assert "Mettre à jour l'action" in [e.label for e in at.expander]
    assert f"{key}_status" not in [w.key for w in at.selectbox]  # a reader's visit: no form
    assert f"{key}_save" not in [b.key for b in at.button]
    at = open_sections(at, f"{key}_edit_open")
    assert at.selectbox(key=f"{key}_status").value == ActionStatus.EN_COURS
    assert at.number_input(key=f"{key}_progress").value == 85
    at.number_input(key=f"{key}_progress").set_value(10)  # typed, then given up: folded
    at.session_state[f"{key}_edit_open"] = False
    at = run_app(at=at)
    assert f"{key}_progress" not in [w.key for w in at.number_input]
    at = open_sections(at, f"{key}_edit_open")  # opens on the action as saved
    assert at.number_input(key=f"{key}_progress").value == 85
    assert at.selectbox(key=f"{key}_status").value == ActionStatus.EN_COURS
    assert _action(app_engine, "2.2").version == action.version


def test_editor_links_a_pilot_account_from_the_update_form(app_engine):
    editor = add_user(app_engine, "editor", login="mission")
    pilot = add_user(app_engine, "pilot", login="pilote")
    at, action = _action_page(app_engine, session_token(app_engine, editor), "3.1", edit=True)
    account = at.selectbox(key=f"action_{action.id}_pilot_user_id")
    assert account.value is None  # no account linked yet
    account.set_value(pilot.id)
    at.button(key=f"action_{action.id}_save").click()
    at = run_app(at=at)
    assert any("enregistrée" in s.value for s in at.success)
    assert _action(app_engine, "3.1").pilot_user_id == pilot.id
    history = _shown_table(at, "Changement")
    assert any("Compte du pilote : (vide) → pilote" in c for c in history["Changement"])
    # Opened again, the form shows the linked account, and saving something else keeps it.
    at = open_sections(at, f"action_{action.id}_edit_open")
    assert at.selectbox(key=f"action_{action.id}_pilot_user_id").value == pilot.id
    at.number_input(key=f"action_{action.id}_progress").set_value(50)
    at.button(key=f"action_{action.id}_save").click()
    at = run_app(at=at)
    saved = _action(app_engine, "3.1")
    assert (saved.progress, saved.pilot_user_id) == (50, pilot.id)


def _shown_table(at, column: str) -> pd.DataFrame:
    """The page's read-only table that has ``column`` (tables are HTML: tracker.ui.tables)."""
    return next(t for t in html_tables(at) if column in t.columns)


def _notes_table(at) -> pd.DataFrame:
    """The action's notes, as shown (one HTML table, most recent first)."""
    return next(t for t in html_tables(at) if list(t.columns) == ["Date", "Auteur", "Note"])


def test_adding_a_note_from_the_action_page(app_engine):
    editor = add_user(app_engine, "editor")
    at, action = _action_page(app_engine, session_token(app_engine, editor), "3.3")
    assert not [t for t in at.text_area if t.label == "Nouvelle note"]  # until opened
    at = open_sections(at, f"action_{action.id}_note_open")
    next(t for t in at.text_area if t.label == "Nouvelle note").input("Bilan présenté au comité.")
    next(b for b in at.button if b.label == "Ajouter la note").click()
    at = run_app(at=at)
    with db.session_scope(app_engine) as session:
        notes = session.exec(select(Note.text).where(Note.action_id == action.id)).all()
    assert notes == ["Bilan présenté au comité."]
    shown = _notes_table(at)
    assert (
        shown.iloc[0]["Note"] == "Bilan présenté au comité." and shown.iloc[0]["Auteur"] == "editor"
    )


def test_notes_typed_with_markup_are_shown_as_typed(app_engine):
    editor = add_user(app_engine, "editor")
    at, action = _action_page(app_engine, session_token(app_engine, editor), "3.3")
    typed = "<b>gras</b> **étoiles** -- [lien](http://exemple.org)"
    with db.session_scope(app_engine, write=True) as session:
        action_service.add_note(session, editor, action.id, typed)
    at = run_app(at=at)
    assert _notes_table(at).iloc[0]["Note"] == typed  # the parsed text: escaped, not markup
    assert "&lt;b&gt;gras&lt;/b&gt;" in next(
        h.proto.body for h in at.get("html") if "Auteur" in h.proto.body
    )


# --------------------------------------------------------------------------
# Bulk update
# --------------------------------------------------------------------------


def _bulk(engine, role="editor"):
    at = run_app(session_token(engine, add_user(engine, role)))
    return open_page(at, "Mise à jour groupée")


def _bulk_key(engine) -> str:
    with db.session_scope(engine) as session:
        return f"bulk_editor_{session.exec(select(Plan.id)).one()}"  # the table's name


def _edit_bulk(at, key: str, edits: dict[int, dict]):
    """Simulate edits in the data editor, as the browser sends them."""
    at.session_state[editor_state_key(at, key)] = {
        "edited_rows": edits,
        "added_rows": [],
        "deleted_rows": [],
    }
    return run_app(at=at)


def _row(at, code: str) -> int:
    """The row of an action in the bulk table (the order the page loaded it in)."""
    table = at.get("data_editor")[0].value
    return int(table.index[table["Code"] == code][0])


def test_bulk_update_saves_every_row_in_one_go(app_engine):
    at = _bulk(app_engine)
    key = _bulk_key(app_engine)
    # The editor holds what the user reads and edits; ids and versions stay on the server,
    # matched by row: each edit below must land on its own action.
    assert list(at.get("data_editor")[0].value.columns) == [
        "Code",
        "Action",
        "Statut",
        "Météo",
        "Avancement",
        "Commentaire",
    ]
    edits = {
        _row(at, "2.2"): {"Statut": strings.status_label("bloque"), "Commentaire": "Attente."},
        _row(at, "3.1"): {"Avancement": 97},
        _row(at, "3.2"): {"Météo": strings.weather_label("nuageux")},
    }
    at = _edit_bulk(at, key, edits)
    next(b for b in at.button if b.label == "Enregistrer toutes les modifications").click()
    at = run_app(at=at)
    assert any("3 action(s) enregistrée(s)" in s.value for s in at.success)
    assert _action(app_engine, "2.2").status == "bloque"
    assert _action(app_engine, "3.1").progress == 97
    assert _action(app_engine, "3.2").weather == "nuageux"
    with db.session_scope(app_engine) as session:
        contexts = session.exec(
            select(AuditEntry.context).where(
                AuditEntry.entity == "action", AuditEntry.operation == "modification"
            )
        ).all()
    assert contexts == ["mise à jour groupée"] * 3


def test_bulk_update_with_a_bad_row_saves_nothing_and_lists_it(app_engine):
    at = _bulk(app_engine)
    key = _bulk_key(app_engine)
    before = {c: _action(app_engine, c).version for c in ("2.2", "3.1")}
    at = _edit_bulk(
        at,
        key,
        {
            _row(at, "3.1"): {"Avancement": 97},
            _row(at, "2.2"): {"Statut": strings.status_label("abandonne")},  # no comment
        },
    )
    next(b for b in at.button if b.label == "Enregistrer toutes les modifications").click()
    at = run_app(at=at)
    message = at.error[0].value
    assert "Aucune modification n'a été enregistrée" in message
    assert "2.2 : Indiquez dans une note la raison de l'abandon" in message
    assert {c: _action(app_engine, c).version for c in ("2.2", "3.1")} == before
    with db.session_scope(app_engine) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Note)).scalar_one() == 0


def test_clicking_a_row_opens_the_action_page(app_engine):
    at = open_page(run_app(session_token(app_engine, add_user(app_engine, "viewer"))), "Actions")
    table = _list_table(at)
    row = int(table.index[table["Code"] == "2.4"][0])
    # What the browser sends when a row is clicked in the table.
    at.session_state["actions_list"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at = run_app(at=at)
    assert at.title[0].value == "Fiche action"
    assert any(t.value.startswith("2.4 — ") for t in at.text)
