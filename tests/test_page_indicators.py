"""Page tests (AppTest): the indicators list, an indicator's page and the surveys page."""

from __future__ import annotations

import html
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from tests.conftest import add_user, count_rows, session_token
from tests.pages import (
    APP,
    editor_state_key,
    html_tables,
    metric_cards,
    metrics,
    open_page,
    open_sections,
    run_app,
)
from tracker import db, strings
from tracker.bootstrap import prepare_database
from tracker.models import (
    Indicator,
    IndicatorStatus,
    Measurement,
    SourceType,
    SurveyResponse,
    SurveyWave,
)
from tracker.services import indicators as indicator_service
from tracker.services import surveys
from tracker.services.indicators import MeasurementEdit
from tracker.services.surveys import WaveInput

WAVE_2012 = "Étude usages 2012 (exemple illustratif)"
WAVE_2024 = "Mise à jour 2024 (exemple illustratif)"
NEW_WAVE = "Enquête test 2025"
CSV = "text/csv"

# Every question the example's survey indicators read (I1-I5), a profile column and weights.
SURVEY_HEADER = [
    "Commune",
    "Smartphone",
    "Fréquence internet",
    "Démarche en ligne",
    "Difficultés démarches",
    "Suit les collectivités",
    "Poids",
]
SURVEY_ROWS = [
    ["Cahors", "Oui", "Tous les jours ou presque", "Oui", "Non", "Oui", "1,2"],
    ["Cahors", "Oui", "Au moins une fois par semaine", "Non", "Oui, parfois", "Non", "0,8"],
    ["Pradines", "Non", "Jamais", "Non", "Oui, souvent", "Non", "1"],
    ["Mercuès", "Oui", "Plus rarement", "Oui", "Non", "Non", "1,0"],
    ["Cahors", "Oui", "Tous les jours ou presque", "Oui", "Non", "Oui", "0,9"],
    ["Pradines", "Non", "Tous les jours ou presque", "Non", "Oui, parfois", "Non", "1,1"],
]


@pytest.fixture(scope="module")
def prepared_app_db(tmp_path_factory) -> Path:
    """A database prepared as the app's first start does (example plan and waves), once."""
    path = tmp_path_factory.mktemp("indicators") / "prepared.db"
    engine = db.make_engine(f"sqlite:///{path}")
    prepare_database(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def app_engine(tmp_path, monkeypatch, prepared_app_db):
    """The app's database for one test: a copy of the prepared file."""
    path = tmp_path / "app" / "tracker.db"
    path.parent.mkdir()
    shutil.copy(prepared_app_db, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    engine = db.get_engine(url)
    prepare_database(engine)  # what the app runs on start: nothing left to do
    return engine


def _token(engine, role: str) -> str:
    return session_token(engine, add_user(engine, role))


def _indicator(engine, code: str) -> Indicator:
    with db.session_scope(engine) as session:
        return session.exec(select(Indicator).where(Indicator.code == code)).one()


def _measurements(engine, code: str) -> list[Measurement]:
    with db.session_scope(engine) as session:
        return list(
            session.exec(
                select(Measurement)
                .join(Indicator, Indicator.id == Measurement.indicator_id)
                .where(Indicator.code == code)
            )
        )


def _indicator_actions(engine, indicator_id: int) -> list[int]:
    with db.session_scope(engine) as session:
        detail = indicator_service.indicator_detail(session, indicator_id, date.today())
        return [action_id for action_id, _, _ in detail.actions]


def _wave(engine, name: str) -> SurveyWave | None:
    with db.session_scope(engine) as session:
        return session.exec(select(SurveyWave).where(SurveyWave.name == name)).one_or_none()


def _respondents(engine, wave_id: int) -> int:
    with db.session_scope(engine) as session:
        return session.execute(
            sa.select(sa.func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.wave_id == wave_id)
        ).scalar_one()


def _table(at, column: str):
    """The one dataframe shown with this column."""
    tables = [df.value for df in at.dataframe if column in df.value.columns]
    assert len(tables) == 1, [list(t.columns) for t in tables]
    return tables[0]


def _html_table(at, column: str):
    """The one HTML table (tracker.ui.tables) shown with this column, every cell as read."""
    tables = [t for t in html_tables(at) if column in t.columns]
    assert len(tables) == 1, [list(t.columns) for t in tables]
    return tables[0]


def _indicator_name(at) -> str:
    """The code and name at the top of an indicator's page (in its key figures' block)."""
    names = [
        html.unescape(m.group(1))
        for h in at.get("html")
        for m in re.finditer(r'class="tk-indicator-name"[^>]*>([^<]*)<', h.proto.body)
    ]
    assert len(names) == 1, names
    return names[0]


def _in_form(widgets, label: str, form: str):
    return next(w for w in widgets if w.label == label and w.form_id == form)


def _indicator_page(engine, token: str, code: str):
    indicator = _indicator(engine, code)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["auth_session"] = token
    at = run_app(at=at)
    at.query_params["indicator"] = str(indicator.id)
    return open_page(at, "Fiche indicateur"), indicator


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    return ("\n".join(";".join(r) for r in [header, *rows]) + "\n").encode("utf-8")


def _no_edit_controls(at) -> None:
    assert not at.get("form")
    assert not at.get("data_editor")
    assert not at.get("file_uploader")
    assert not at.number_input and not at.date_input and not at.text_input
    assert [b.label for b in at.button] == ["Se déconnecter"]


# --------------------------------------------------------------------------
# « Indicateurs »
# --------------------------------------------------------------------------


def test_viewer_sees_every_indicator_with_status_counts_and_no_edit_controls(app_engine):
    at = open_page(run_app(_token(app_engine, "viewer")), "Indicateurs")
    assert at.title[0].value == "Indicateurs"
    table = _table(at, "Vers la cible")
    assert list(table["Code"]) == [f"I{n}" for n in range(1, 9)]
    for column in ("Indicateur", "Dernière valeur", "Statut", "Cible", "Historique", "Source"):
        assert column in table.columns
    assert table.set_index("Code").loc["I3", "Dernière valeur"] == "70,0\u00a0%"
    shown = (
        IndicatorStatus.REACHED,
        IndicatorStatus.ON_TRACK,
        IndicatorStatus.LATE,
        IndicatorStatus.NO_RECENT,
    )
    counts = metrics(at)  # one block of key figures (components.metric_cards)
    assert list(counts) == [strings.indicator_status_label(s) for s in shown]
    assert not at.metric
    for label, value in counts.items():  # each count matches the table's status column
        assert int(value) == (table["Statut"] == label).sum()
    assert any(c.value.startswith("8 indicateur(s) sur 8") for c in at.caption)
    assert not at.multiselect  # the filters are built once their section is opened
    at = open_sections(at, "indicators_filters_open")
    assert [w.key for w in at.multiselect] == [  # filters only
        "indicators_objective",
        "indicators_action",
        "indicators_source",
        "indicators_status",
    ]
    assert not at.get("form") and not at.get("data_editor") and not at.get("file_uploader")
    assert [b.label for b in at.button] == ["Se déconnecter"]


def test_source_filter_then_a_row_click_opens_the_indicator_page(app_engine):
    at = open_page(run_app(_token(app_engine, "viewer")), "Indicateurs")
    at = open_sections(at, "indicators_filters_open")
    at.multiselect(key="indicators_source").set_value([SourceType.ADMINISTRATIVE])
    at = run_app(at=at)
    table = _table(at, "Vers la cible")
    assert list(table["Code"]) == ["I6", "I7"]
    assert set(table["Source"]) == {"Données administratives"}
    assert any(c.value.startswith("2 indicateur(s) sur 8") for c in at.caption)
    row = int(table.index[table["Code"] == "I7"][0])
    # What the browser sends when a row of the (filtered) table is clicked.
    at.session_state["indicators_list"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at = run_app(at=at)
    assert at.title[0].value == "Fiche indicateur"
    assert at.query_params["indicator"] == str(_indicator(app_engine, "I7").id)
    assert _indicator_name(at).startswith("I7 — ")
    at = open_page(at, "Indicateurs")  # back to the list: the old click does not bounce
    assert at.title[0].value == "Indicateurs"
    assert len(_table(at, "Vers la cible")) in (2, 8)


def test_filters_survive_opening_an_indicator_and_coming_back(app_engine):
    at = open_page(run_app(_token(app_engine, "viewer")), "Indicateurs")
    at = open_sections(at, "indicators_filters_open")
    at.multiselect(key="indicators_source").set_value([SourceType.ADMINISTRATIVE])
    at = run_app(at=at)
    at.session_state["indicators_list"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at = run_app(at=at)
    assert at.title[0].value == "Fiche indicateur"
    at = open_page(at, "Indicateurs")
    assert list(_table(at, "Vers la cible")["Code"]) == ["I6", "I7"]
    # Back on the list, the filters' section is folded: it says which filters still apply.
    assert "Filtres appliqués : Source : Données administratives" in [c.value for c in at.caption]
    at = open_sections(at, "indicators_filters_open")
    assert at.multiselect(key="indicators_source").value == [SourceType.ADMINISTRATIVE]
    assert not any(c.value.startswith("Filtres appliqués") for c in at.caption)
    at.multiselect(key="indicators_source").set_value([])  # cleared: every indicator again
    at = run_app(at=at)
    assert len(_table(at, "Vers la cible")) == 8
    assert at.expander[0].label == "Filtres" and at.multiselect  # still open


def test_an_unknown_indicator_id_shows_a_french_error(app_engine):
    at = run_app(_token(app_engine, "viewer"))
    at.query_params["indicator"] = "9999"
    at = open_page(at, "Fiche indicateur")
    assert "Cet indicateur n'existe pas" in at.error[0].value
    assert not metrics(at)


# --------------------------------------------------------------------------
# « Fiche indicateur »
# --------------------------------------------------------------------------


def test_viewer_sees_a_survey_indicator_read_only(app_engine):
    at, indicator = _indicator_page(app_engine, _token(app_engine, "viewer"), "I3")
    assert _indicator_name(at) == f"I3 — {indicator.name}"
    shown = metrics(at)
    assert shown["Dernière valeur"] == "70,0\u00a0%"  # French decimal comma, no-break space
    assert set(shown) == {"Dernière valeur", "Vers la cible", "Statut", "Attendu aujourd'hui"}
    assert shown["Statut"] in {strings.indicator_status_label(s) for s in IndicatorStatus}
    # I3 rose from 58 % to 70 %: the change carries its sign and an arrow, not only a colour.
    assert metric_cards(at)[0] == ("Dernière valeur", "70,0\u00a0%", "▲ +12,0\u00a0pt")
    assert len(at.get("plotly_chart")) == 1
    chart_data = _table(open_sections(at, "indicator_chart_data"), "Série")
    assert (chart_data["Série"] == "Mesure locale").sum() == 3
    assert "Trajectoire vers la cible" in set(chart_data["Source"])
    assert [h.value for h in at.header] == ["Définition", "Mesures"]
    info = _html_table(at, "Champ").set_index("Champ")["Valeur"]
    assert info["Question d'enquête"] == "Démarche en ligne"
    assert info["Réponses comptées"] == "Oui"
    assert info["Sous-population : question"] == "Fréquence internet"
    assert info["Type de source"] == "Enquête"
    assert info["Version"] == "1"
    measurements = _html_table(at, "Vague d'enquête")
    assert len(measurements) == 3
    assert list(measurements["Valeur"]) == ["45,0\u00a0%", "58,0\u00a0%", "70,0\u00a0%"]
    assert set(measurements["Vague d'enquête"]) == {WAVE_2012, WAVE_2024, ""}
    # The actions it measures, each a link to its page (an HTML link, as the tables' rows).
    actions = _html_table(at, "Action")
    assert len(actions) == len(_indicator_actions(app_engine, indicator.id)) > 0
    body = next(h.proto.body for h in at.get("html") if "Actions mesurées" in h.proto.body)
    for action_id in _indicator_actions(app_engine, indicator.id):
        assert f'href="action?action={action_id}"' in body
    _no_edit_controls(at)
    assert "Modifier la définition" not in [e.label for e in at.get("expander")]


def _save_a_measurement(engine, indicator_id: int) -> None:
    """A measurement of 30 June 2021 saved by an editor, as another session would."""
    with db.session_scope(engine, write=True) as session:
        indicator_service.save_measurements(
            session,
            add_user(engine, "editor"),
            indicator_id,
            [MeasurementEdit(date=date(2021, 6, 30), value=1234.0, source="Test")],
            today=date.today(),
        )


def test_history_is_built_only_once_its_section_is_opened(app_engine):
    indicator = _indicator(app_engine, "I6")
    _save_a_measurement(app_engine, indicator.id)
    at, _ = _indicator_page(app_engine, _token(app_engine, "viewer"), "I6")
    assert "Historique des changements" in [e.label for e in at.expander]
    assert not [t for t in html_tables(at) if "Changement" in t.columns]
    at = open_sections(at, f"indicator_{indicator.id}_history_open")
    history = _html_table(at, "Changement")
    assert any("30 juin 2021" in c for c in history["Changement"])
    assert "editor" in set(history["Par"])


def test_viewer_measurement_bounds_are_formatted_like_the_values(app_engine):
    at, _ = _indicator_page(app_engine, _token(app_engine, "viewer"), "I3")
    measurements = _html_table(at, "Vague d'enquête")
    first = measurements.iloc[0]
    assert first["Borne basse"] == "39,5\u00a0%"
    assert first["Borne haute"] == "50,7\u00a0%"


def test_indicator_page_shows_a_measurement_saved_elsewhere_on_its_next_run(app_engine):
    # The page's chart and tables are cached per data revision: a measurement saved by
    # another user (through the services, as another app process would) shows at once.
    at, indicator = _indicator_page(app_engine, _token(app_engine, "viewer"), "I6")
    before = len(_html_table(at, "Vague d'enquête"))
    _save_a_measurement(app_engine, indicator.id)
    at = run_app(at=at)
    measurements = _html_table(at, "Vague d'enquête")
    assert len(measurements) == before + 1
    assert "1\u202f234\u00a0nombre" in set(measurements["Valeur"])  # French format
    chart_data = _table(open_sections(at, "indicator_chart_data"), "Série")
    assert (chart_data["Série"] == "Mesure locale").sum() == before + 1


def test_editor_forms_are_built_only_once_their_section_is_opened(app_engine):
    # A reader's visit costs no form: the sections start folded and empty.
    at, indicator = _indicator_page(app_engine, _token(app_engine, "editor"), "I6")
    sections = [e.label for e in at.expander]
    assert {"Ajouter une mesure", "Corriger les mesures (tableau modifiable)"} <= set(sections)
    assert "Modifier la définition" in sections
    assert not at.get("form") and not at.number_input and not at.date_input
    assert len(_html_table(at, "Vague d'enquête")) == len(_measurements(app_engine, "I6"))
    prefix = f"indicator_{indicator.id}"
    at = open_sections(at, f"{prefix}_add_open")
    assert [f.proto.form.form_id for f in at.get("form")] == [f"{prefix}_add"]
    at = open_sections(at, f"{prefix}_definition_open", f"{prefix}_table_open")
    assert {f.proto.form.form_id for f in at.get("form")} == {
        f"{prefix}_add",
        f"{prefix}_definition",
    }
    assert any(b.label == "Enregistrer les mesures" for b in at.button)
    # Folded again (a click on its title): its form is gone from the next run.
    at.session_state[f"{prefix}_add_open"] = False
    at = run_app(at=at)
    assert {f.proto.form.form_id for f in at.get("form")} == {f"{prefix}_definition"}


def test_editor_adds_a_measurement_with_the_form(app_engine):
    at, indicator = _indicator_page(app_engine, _token(app_engine, "editor"), "I6")
    assert indicator.unit == "nombre"
    form = f"indicator_{indicator.id}_add"
    at = open_sections(at, f"{form}_open")
    before = len(_measurements(app_engine, "I6"))
    _in_form(at.date_input, "Date", form).set_value(date(2021, 6, 30))
    _in_form(at.number_input, "Valeur", form).set_value(1700)
    _in_form(at.text_input, "Commentaire (facultatif)", form).input("Premier semestre")
    _in_form(at.button, "Ajouter la mesure", form).click()
    at = run_app(at=at)
    assert any(s.value == "1 mesure(s) enregistrée(s)." for s in at.success)
    assert not at.error
    saved = [m for m in _measurements(app_engine, "I6") if m.date == date(2021, 6, 30)]
    assert len(_measurements(app_engine, "I6")) == before + 1
    assert [(m.value, m.source, m.comment) for m in saved] == [
        (1700.0, "Statistiques de l'application de signalement", "Premier semestre")
    ]
    at = open_sections(at, f"indicator_{indicator.id}_history_open")
    history = _html_table(at, "Changement")
    assert any("30 juin 2021" in c for c in history["Changement"])


def _edit_table(at, indicator_id: int, edits: dict[int, dict]):
    """What the browser sends after cells of the correction table were changed."""
    at.session_state[editor_state_key(at, f"indicator_{indicator_id}_table")] = {
        "edited_rows": edits,
        "added_rows": [],
        "deleted_rows": [],
    }
    return run_app(at=at)


def _table_rows(at) -> list[tuple]:
    """The correction table's rows as the editor holds them: (id, date, value)."""
    table = at.get("data_editor")[0].value
    return [(int(r["id"]), r["Date"], r["Valeur"]) for _, r in table.iterrows()]


def test_editor_corrects_a_measurement_in_the_table(app_engine):
    at, indicator = _indicator_page(app_engine, _token(app_engine, "editor"), "I6")
    at = open_sections(at, f"indicator_{indicator.id}_table_open")
    row, (mid, _when, value) = next(
        (n, r) for n, r in enumerate(_table_rows(at)) if r[2] is not None
    )
    at = _edit_table(at, indicator.id, {row: {"Valeur": value + 10}})
    next(b for b in at.button if b.label == "Enregistrer les mesures").click()
    at = run_app(at=at)
    assert [s.value for s in at.success] == ["1 mesure(s) enregistrée(s)."]
    assert {m.id: m.value for m in _measurements(app_engine, "I6")}[mid] == value + 10


def test_a_correction_table_opened_before_someone_saved_cannot_overwrite_their_change(
    app_engine,
):
    """A opens the table; B corrects a value (another session, through the services);
    A's next run warns, and A's save of that row is refused in French with nothing
    written. « Recharger le tableau » starts again from the saved values."""
    at, indicator = _indicator_page(app_engine, _token(app_engine, "editor"), "I6")
    at = open_sections(at, f"indicator_{indicator.id}_table_open")
    row, (mid, _when, value) = next(
        (n, r) for n, r in enumerate(_table_rows(at)) if r[2] is not None
    )
    measurement = next(m for m in _measurements(app_engine, "I6") if m.id == mid)
    editor_b = add_user(app_engine, "editor", login="collegue")
    with db.session_scope(app_engine, write=True) as session:
        indicator_service.save_measurements(
            session,
            editor_b,
            indicator.id,
            [
                MeasurementEdit(
                    measurement.date,
                    value + 1,
                    source=measurement.source,
                    sample_size=measurement.sample_size,
                    ci_low=measurement.ci_low,
                    ci_high=measurement.ci_high,
                    comment=measurement.comment,
                    measurement_id=mid,
                )
            ],
            today=date.today(),
        )
    at = _edit_table(at, indicator.id, {row: {"Valeur": value + 10}})
    assert any("modifiées par quelqu'un d'autre" in w.value for w in at.warning)
    assert _table_rows(at)[row][2] == value  # A still edits the table A opened
    before = count_rows(app_engine)
    next(b for b in at.button if b.label == "Enregistrer les mesures").click()
    at = run_app(at=at)
    assert not at.success
    message = at.error[0].value
    assert "modifiées par quelqu'un d'autre" in message and "rien n'est enregistré" in message
    assert f"Mesure du {measurement.date.strftime('%d/%m/%Y')} : modifiée entre-temps." in message
    assert {m.id: m.value for m in _measurements(app_engine, "I6")}[mid] == value + 1
    assert count_rows(app_engine) == before
    next(b for b in at.button if b.label == "Recharger le tableau").click()
    at = run_app(at=at)
    assert not any("modifiées par quelqu'un d'autre" in w.value for w in at.warning)
    assert _table_rows(at)[row][2] == value + 1


def test_an_out_of_range_value_is_refused_in_french_and_nothing_is_written(app_engine):
    at, indicator = _indicator_page(app_engine, _token(app_engine, "editor"), "I1")
    form = f"indicator_{indicator.id}_add"
    at = open_sections(at, f"{form}_open")
    before_rows = count_rows(app_engine)
    before = len(_measurements(app_engine, "I1"))
    _in_form(at.date_input, "Date", form).set_value(date(2021, 6, 30))
    _in_form(at.number_input, "Valeur", form).set_value(150)
    _in_form(at.button, "Ajouter la mesure", form).click()
    at = run_app(at=at)
    message = at.error[0].value
    assert message.startswith("Les mesures ne sont pas enregistrées")
    assert "la valeur 150 doit être entre 0 et 100 (unité « % »)" in message
    assert not at.success
    assert len(_measurements(app_engine, "I1")) == before
    assert count_rows(app_engine) == before_rows


def test_editor_changes_a_target_and_the_version_goes_up(app_engine):
    at, indicator = _indicator_page(app_engine, _token(app_engine, "editor"), "I6")
    form = f"indicator_{indicator.id}_definition"
    at = open_sections(at, f"{form}_open")
    assert _in_form(at.number_input, "Cible", form).value == 2500
    _in_form(at.number_input, "Cible", form).set_value(3000)
    _in_form(at.button, "Enregistrer la définition", form).click()
    at = run_app(at=at)
    assert any(s.value == "Définition enregistrée." for s in at.success)
    saved = _indicator(app_engine, "I6")
    assert (saved.target_value, saved.version) == (3000.0, indicator.version + 1)
    assert saved.target_date == indicator.target_date  # the rest is unchanged
    info = _html_table(at, "Champ").set_index("Champ")["Valeur"]
    assert info["Cible"] == "3\u202f000\u00a0nombre (31 déc. 2026)"
    assert info["Version"] == str(indicator.version + 1)
    at = open_sections(at, f"indicator_{indicator.id}_history_open")
    history = _html_table(at, "Changement")
    changes = history[history["Par"] == "editor"]
    assert list(changes["Quoi"]) == ["indicateur Cible"]  # only the changed field is logged


def test_an_invalid_definition_is_refused_in_french_and_nothing_is_written(app_engine):
    at, indicator = _indicator_page(app_engine, _token(app_engine, "editor"), "I1")
    form = f"indicator_{indicator.id}_definition"
    at = open_sections(at, f"{form}_open")
    before = count_rows(app_engine)
    _in_form(at.text_input, "Réponses comptées (séparées par ;)", form).input("")
    _in_form(at.button, "Enregistrer la définition", form).click()
    at = run_app(at=at)
    message = at.error[0].value
    assert message.startswith("L'indicateur I1 n'est pas enregistré")
    assert "Indiquez les réponses comptées pour la question « Smartphone »." in message
    assert not at.success
    saved = _indicator(app_engine, "I1")
    assert (saved.survey_values, saved.version) == (["Oui"], indicator.version)
    assert count_rows(app_engine) == before


# --------------------------------------------------------------------------
# « Enquêtes »
# --------------------------------------------------------------------------


def _surveys_with_a_new_wave(engine):
    """The surveys page for an editor, after creating a wave with the form, with the
    section to import its responses open."""
    at = open_sections(open_page(run_app(_token(engine, "editor")), "Enquêtes"), "surveys_new_open")
    _in_form(at.text_input, "Nom de la vague", "surveys_new").input(NEW_WAVE)
    _in_form(at.date_input, "Fin du terrain (date des mesures)", "surveys_new").set_value(
        date(2025, 6, 30)
    )
    _in_form(at.button, "Créer la vague", "surveys_new").click()
    at = run_app(at=at)
    assert any(s.value == "Vague créée." for s in at.success)
    wave = _wave(engine, NEW_WAVE)
    assert wave is not None
    assert not at.get("file_uploader")  # until its section is opened
    return open_sections(at, f"surveys_import_{wave.id}_open"), wave


def _upload(at, name: str, content: bytes):
    at.get("file_uploader")[0].set_value([(name, content, CSV)])
    return run_app(at=at)


def test_a_wave_without_end_date_is_refused(app_engine):
    at = open_page(run_app(_token(app_engine, "editor")), "Enquêtes")
    assert not at.get("form")  # the example has waves: « Nouvelle vague » starts folded
    at = open_sections(at, "surveys_new_open")
    before = count_rows(app_engine)
    _in_form(at.text_input, "Nom de la vague", "surveys_new").input(NEW_WAVE)
    _in_form(at.button, "Créer la vague", "surveys_new").click()
    at = run_app(at=at)
    assert "La date de fin du terrain est obligatoire" in at.error[0].value
    assert _wave(app_engine, NEW_WAVE) is None
    assert count_rows(app_engine) == before


def test_editor_creates_a_wave_then_previews_and_imports_its_responses(app_engine):
    at, wave = _surveys_with_a_new_wave(app_engine)
    assert wave.fieldwork_end == date(2025, 6, 30)
    assert list(_html_table(at, "Terrain")["Vague"]) == [WAVE_2012, WAVE_2024, NEW_WAVE]
    assert at.selectbox[0].label == "Vague" and at.selectbox[0].value == wave.id
    assert any(i.value == "Aucune réponse importée pour cette vague." for i in at.info)

    at = _upload(at, "reponses.csv", _csv(SURVEY_HEADER, SURVEY_ROWS))
    preview = next(s.value for s in at.success if s.value.startswith("Fichier lu"))
    assert "6 répondants" in preview and "pondéré par « Poids »" in preview
    assert "Rien n'est encore enregistré." in preview
    results = _table(at, "Répondants comptés")  # what the file will give
    assert list(results["Code"]) == ["I1", "I2", "I3", "I4", "I5"]
    assert results.set_index("Code").loc["I1", "Valeur"] == "65,0\u00a0%"
    assert _respondents(app_engine, wave.id) == 0  # a preview writes nothing
    assert not [m for m in _measurements(app_engine, "I1") if m.wave_id == wave.id]

    confirm = at.button(key=f"surveys_confirm_{wave.id}")
    assert confirm.label == "Importer les 6 répondants"
    confirm.click()
    at = run_app(at=at)
    assert any(
        s.value == f"6 répondants importés dans « {NEW_WAVE} » ; 5 indicateur(s) calculé(s)."
        for s in at.success
    )
    assert _respondents(app_engine, wave.id) == len(SURVEY_ROWS)
    linked = [m for m in _measurements(app_engine, "I1") if m.wave_id == wave.id]
    assert len(linked) == 1
    m = linked[0]
    assert (m.date, m.source, m.sample_size) == (date(2025, 6, 30), NEW_WAVE, 6)
    assert m.value == pytest.approx(65.0)  # (1,2 + 0,8 + 1,0 + 0,9) / 6,0
    waves = _html_table(at, "Terrain").set_index("Vague")
    assert waves.loc[NEW_WAVE, "Répondants"] == "6"
    # Three waves with responses: one choice of two to compare, the oldest and the latest first.
    pair = at.selectbox(key="surveys_pair")
    assert pair.label == "Vagues comparées"
    assert pair.value == (_wave(app_engine, WAVE_2012).id, wave.id)
    assert len(pair.options) == 3  # 2012 → 2024, 2012 → 2025, 2024 → 2025
    assert pair.options[0] == f"{WAVE_2012} → {WAVE_2024}"


def test_after_an_import_the_page_does_not_offer_the_same_file_again(app_engine):
    at, wave = _surveys_with_a_new_wave(app_engine)
    at = _upload(at, "reponses.csv", _csv(SURVEY_HEADER, SURVEY_ROWS))
    at.button(key=f"surveys_confirm_{wave.id}").click()
    at = run_app(at=at)
    assert any("répondants importés" in s.value for s in at.success)
    assert not any("Rien n'est encore enregistré" in s.value for s in at.success)
    assert not any("seront remplacés" in w.value for w in at.warning)
    assert f"surveys_confirm_{wave.id}" not in [b.key for b in at.button]


def test_a_file_missing_a_question_or_empty_is_refused_and_nothing_is_written(app_engine):
    at, wave = _surveys_with_a_new_wave(app_engine)
    before = count_rows(app_engine)
    missing = SURVEY_HEADER.index("Suit les collectivités")
    header = [c for n, c in enumerate(SURVEY_HEADER) if n != missing]
    rows = [[c for n, c in enumerate(r) if n != missing] for r in SURVEY_ROWS]
    at = _upload(at, "incomplet.csv", _csv(header, rows))
    message = at.error[0].value
    assert message.startswith("Les réponses ne sont pas importées")
    assert "rien n'a été enregistré" in message
    assert "Indicateur I5 : la colonne « Suit les collectivités » est absente" in message
    assert f"surveys_confirm_{wave.id}" not in [b.key for b in at.button]
    assert not any("Fichier lu" in s.value for s in at.success)

    at = _upload(at, "vide.csv", b"")
    assert at.error[0].value == "Le fichier « vide.csv » est vide."
    assert f"surveys_confirm_{wave.id}" not in [b.key for b in at.button]

    at = _upload(at, "entetes.csv", _csv(SURVEY_HEADER, []))
    assert "ne contient aucune réponse" in at.error[0].value
    assert f"surveys_confirm_{wave.id}" not in [b.key for b in at.button]

    assert _respondents(app_engine, wave.id) == 0
    assert count_rows(app_engine) == before


def test_editor_renames_then_deletes_a_wave_in_its_section(app_engine):
    at, wave = _surveys_with_a_new_wave(app_engine)
    edit, delete = f"surveys_edit_{wave.id}", f"surveys_delete_{wave.id}"
    assert "Modifier, recalculer ou supprimer la vague" in [e.label for e in at.expander]
    assert not [f for f in at.get("form") if f.proto.form.form_id == edit]
    assert delete not in [b.key for b in at.button]
    at = open_sections(at, f"surveys_manage_{wave.id}_open")
    assert at.button(key=delete).label == "Supprimer la vague"
    _in_form(at.text_input, "Nom de la vague", edit).input("Enquête 2025 (rectifiée)")
    _in_form(at.button, "Enregistrer", edit).click()
    at = run_app(at=at)
    assert any(s.value == "Vague modifiée." for s in at.success)
    assert _wave(app_engine, "Enquête 2025 (rectifiée)").id == wave.id

    assert at.button(key=delete).disabled  # until the deletion is confirmed
    at.checkbox(key=f"surveys_sure_{wave.id}").check()
    at = run_app(at=at)
    at.button(key=delete).click()
    at = run_app(at=at)
    assert any(s.value == "Vague supprimée." for s in at.success)
    assert _wave(app_engine, "Enquête 2025 (rectifiée)") is None
    assert list(_html_table(at, "Terrain")["Vague"]) == [WAVE_2012, WAVE_2024]


def test_a_wave_form_opened_before_someone_saved_the_wave_cannot_overwrite_it(app_engine):
    """A opens the wave's form; B corrects its method (another session, through the
    services); A's form keeps what A opened, warns, and A's rename is refused in French
    with nothing written. Folded and opened again, it starts from B's version."""
    at, wave = _surveys_with_a_new_wave(app_engine)
    edit = f"surveys_edit_{wave.id}"
    at = open_sections(at, f"surveys_manage_{wave.id}_open")
    with db.session_scope(app_engine, write=True) as session:
        surveys.update_wave(
            session,
            add_user(app_engine, "editor", login="collegue"),
            wave.id,
            WaveInput(wave.name, wave.fieldwork_start, wave.fieldwork_end, method="Téléphone"),
        )
    at = run_app(at=at)
    assert any("modifiée par quelqu'un d'autre" in w.value for w in at.warning)
    assert _in_form(at.text_input, "Méthode", edit).value == (wave.method or "")
    _in_form(at.text_input, "Nom de la vague", edit).input("Enquête 2025 (rectifiée)")
    _in_form(at.button, "Enregistrer", edit).click()
    at = run_app(at=at)
    assert not any(s.value == "Vague modifiée." for s in at.success)
    message = at.error[0].value
    assert "modifiée par quelqu'un d'autre" in message and "rien n'est enregistré" in message
    assert "Modifié entre-temps : Méthode." in message
    assert _wave(app_engine, "Enquête 2025 (rectifiée)") is None
    assert _wave(app_engine, wave.name).method == "Téléphone"
    at.session_state[f"surveys_manage_{wave.id}_open"] = False
    at = run_app(at=at)
    at = open_sections(at, f"surveys_manage_{wave.id}_open")
    assert _in_form(at.text_input, "Méthode", edit).value == "Téléphone"
    assert not any("modifiée par quelqu'un d'autre" in w.value for w in at.warning)


def test_viewer_sees_waves_results_breakdown_and_comparison_without_uploader(app_engine):
    at = open_page(run_app(_token(app_engine, "viewer")), "Enquêtes")
    waves = _html_table(at, "Terrain")
    assert list(waves["Vague"]) == [WAVE_2012, WAVE_2024]
    assert all(int(n.replace("\u202f", "")) > 0 for n in waves["Répondants"])
    assert [h.value for h in at.header] == ["Une vague", "Comparer deux vagues"]
    assert not at.subheader  # the results table carries its own caption
    latest = _wave(app_engine, WAVE_2024)
    # Two waves only: the comparison needs no choice, its caption names them.
    assert [s.label for s in at.selectbox] == ["Vague"] and at.selectbox[0].value == latest.id
    compared = "» comparée à « Mise à jour 2024"
    assert any("usages 2012" in c.value and compared in c.value for c in at.caption)
    results = _html_table(at, "Répondants comptés")
    assert list(results["Code"]) == ["I1", "I2", "I3", "I4", "I5"]
    assert all(v.endswith("%") for v in results["Valeur"])
    at = open_sections(at, f"surveys_breakdown_{latest.id}_open", "surveys_comparison_data")
    assert [s.label for s in at.selectbox] == ["Vague", "Indicateur", "Selon"]
    breakdown = _html_table(at, "Fiabilité")  # by commune, the default profile column
    assert "Commune" in breakdown.columns and len(breakdown) > 1
    comparison = _table(at, "Écart (points)")
    assert {WAVE_2012, WAVE_2024} <= set(comparison.columns)
    assert len(comparison) == 5
    assert set(comparison["Écart"]) <= {
        "non significatif",
        "significatif, favorable",
        "significatif, défavorable",
    }
    assert len(at.get("plotly_chart")) == 2  # the breakdown and the comparison
    assert not at.get("file_uploader")
    assert not at.get("form")
    assert [b.label for b in at.button] == ["Se déconnecter"]
    assert "Importer les réponses" not in [e.label for e in at.expander]


def test_results_by_profile_are_built_only_once_their_section_is_opened(app_engine):
    at = open_page(run_app(_token(app_engine, "viewer")), "Enquêtes")
    latest = _wave(app_engine, WAVE_2024)
    assert "Résultats par profil (commune, âge…)" in [e.label for e in at.expander]
    assert len(at.get("plotly_chart")) == 1  # the comparison only
    assert not [t for t in html_tables(at) if "Fiabilité" in t.columns]
    at = open_sections(at, f"surveys_breakdown_{latest.id}_open")
    assert len(at.get("plotly_chart")) == 2
    at.selectbox(key=f"surveys_breakdown_column_{latest.id}").set_value("Tranche d'âge")
    at = run_app(at=at)
    assert "Tranche d'âge" in _html_table(at, "Fiabilité").columns
    at.session_state[f"surveys_breakdown_{latest.id}_open"] = False  # folded again
    at = run_app(at=at)
    assert len(at.get("plotly_chart")) == 1
