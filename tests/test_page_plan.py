"""Page tests (AppTest): the app on a new database shows the example plan."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT
from tracker import db, strings
from tracker.io.example import load_example
from tracker.services.app_settings import INITIALISED, set_setting

APP = str(PROJECT_ROOT / "dashboard.py")


@pytest.fixture
def app_db(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'app' / 'tracker.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    return url


def _run() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _actions_table(at: AppTest):
    tables = [df.value for df in at.dataframe if "Porteur" in df.value.columns]
    assert len(tables) == 1
    return tables[0]


def test_new_database_opens_on_the_example_plan_with_its_19_actions(app_db):
    at = _run()
    table = _actions_table(at)
    assert len(table) == 19
    for column in ("Code", "Action", "Porteur", "Pilote", "Statut", "Météo", "Avancement"):
        assert column in table.columns
    assert table["Avancement"].between(0, 100).all()
    assert any(strings.EXAMPLE_BANNER in w.value for w in at.warning)
    assert "exemple" in at.title[0].value.lower()


def test_plan_page_shows_stakes_objectives_and_the_progress_chart(app_db):
    at = _run()
    subheaders = [s.value for s in at.subheader]
    assert sum(1 for s in subheaders if s.startswith("Enjeu")) == 2
    objective_lines = [m.value for m in at.markdown if m.value.startswith("Objectif")]
    assert len({line.split(" :")[0] for line in objective_lines}) == 3
    assert len(at.get("plotly_chart")) == 1
    chart_table = next(df.value for df in at.dataframe if "Avancement attendu (%)" in df.value)
    assert len(chart_table) == 3
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Actions"] == "19"


def test_statuses_are_shown_with_a_symbol_and_a_label(app_db):
    table = _actions_table(_run())
    labels = set(strings.status_label(s) for s in strings.STATUS_LABELS)
    assert set(table["Statut"]) <= labels
    assert set(table["Météo"]) <= set(strings.weather_label(w) for w in strings.WEATHER_LABELS)


def test_a_real_plan_shows_no_example_banner(app_db):
    engine = db.get_engine(app_db)
    db.upgrade_database(engine)
    with db.session_scope(engine, write=True) as session:
        set_setting(session, INITIALISED, "oui")
        plan = load_example(session)
        plan.is_example = False  # stands for an imported real plan
        session.add(plan)
    at = _run()
    assert not any(strings.EXAMPLE_BANNER in w.value for w in at.warning)
    assert len(_actions_table(at)) == 19


def test_an_empty_database_says_how_to_load_a_plan(app_db):
    engine = db.get_engine(app_db)
    db.upgrade_database(engine)
    with db.session_scope(engine, write=True) as session:
        set_setting(session, INITIALISED, "oui")
    at = _run()
    assert any("Aucun plan" in i.value for i in at.info)
    assert not at.dataframe
