"""Page tests (AppTest): the plan page on a new database shows the example plan.

The app opens on « Vue d'ensemble »; these tests open « Le plan » from the menu."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlmodel import select

from tests.conftest import add_user, session_token
from tests.pages import (
    actions_table,
    metric_cards,
    metrics,
    open_page,
    open_sections,
    run_app,
    status_total,
)
from tracker import db, strings
from tracker.bootstrap import prepare_database
from tracker.io.example import load_example
from tracker.models import Action, ActionStatus
from tracker.services.actions import update_action
from tracker.services.app_settings import INITIALISED, set_setting
from tracker.services.users import system_actor


@pytest.fixture
def app_engine(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'app' / 'tracker.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    return db.get_engine(url)


@pytest.fixture
def viewer_token(app_engine) -> str:
    prepare_database(app_engine)
    return session_token(app_engine, add_user(app_engine, "viewer"))


def _plan_page(token: str):
    return open_page(run_app(token), "Le plan")


class _Reader(HTMLParser):
    """The text of an HTML block, one entry per paragraph or list item; and its stakes
    (one ``<section>`` each) as lists of such entries."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.stakes: list[list[str]] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "section":
            self.stakes.append([])
        elif tag in ("p", "li"):
            self.lines.append("")
            if self.stakes:
                self.stakes[-1].append("")
            self._open = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "li"):
            self._open = False

    def handle_data(self, data: str) -> None:
        if self._open:
            self.lines[-1] += data
            if self.stakes:
                self.stakes[-1][-1] += data


def _blocks(at) -> list[_Reader]:
    """The page's HTML blocks (components.metric_cards, the plan's intro and stakes), read."""
    readers = []
    for element in at.get("html"):
        reader = _Reader()
        reader.feed(element.proto.body)
        readers.append(reader)
    return readers


def test_new_database_opens_on_the_example_plan_with_its_19_actions(viewer_token):
    at = run_app(viewer_token)
    assert at.title[0].value == "Vue d'ensemble"  # the default page, on the example plan
    assert any(strings.EXAMPLE_BANNER in w.value for w in at.warning)
    assert status_total(at) == 19
    at = open_page(at, "Le plan")
    table = actions_table(at)
    assert len(table) == 19
    for column in ("Code", "Action", "Porteur", "Pilote", "Statut", "Météo", "Avancement"):
        assert column in table.columns
    assert table["Avancement"].between(0, 100).all()
    assert any(strings.EXAMPLE_BANNER in w.value for w in at.warning)
    assert at.title[0].value == "Le plan"
    assert any("exemple illustratif" in line for b in _blocks(at) for line in b.lines)


def test_plan_page_shows_stakes_objectives_and_the_progress_chart(viewer_token):
    at = _plan_page(viewer_token)
    stakes = [s for b in _blocks(at) for s in b.stakes]  # one card per stake, in one block
    assert len(stakes) == 2
    assert [s[0] for s in stakes] == ["Enjeu", "Enjeu"]
    assert [s[1].split(" : ")[0] for s in stakes] == ["E1", "E2"]
    objective_lines = [line for s in stakes for line in s if line.startswith("Objectif ")]
    assert len({line.split(" :")[0] for line in objective_lines}) == 3
    assert all(line.endswith(" actions)") for line in objective_lines)
    # No element per card, column or line.
    assert not at.main.columns and not any(m.value == "**Enjeu**" for m in at.markdown)
    assert len(at.get("plotly_chart")) == 1
    # The chart's figures are sent once « Voir les données du graphique » is opened.
    assert not any("Avancement attendu (%)" in df.value for df in at.dataframe)
    at = open_sections(at, "progress_by_objective_data")
    chart_table = next(df.value for df in at.dataframe if "Avancement attendu (%)" in df.value)
    assert len(chart_table) == 3
    shown = metrics(at)  # one block of key figures (components.metric_cards)
    assert list(shown) == [
        "Enjeux",
        "Objectifs",
        "Actions",
        "Avancement moyen",
        "Actions en retard",
    ]
    assert (shown["Enjeux"], shown["Objectifs"], shown["Actions"]) == ("2", "3", "19")
    assert shown["Avancement moyen"].endswith("%")
    assert not at.metric and all(delta is None for _, _, delta in metric_cards(at))


def test_plan_page_shows_a_save_made_elsewhere_on_its_next_run(app_engine, viewer_token):
    # The page's tables and chart are cached per data revision: a save by another
    # user (through the services, as another app process would) shows on the next run.
    at = _plan_page(viewer_token)
    row = actions_table(at).set_index("Code").loc["2.2"]
    assert row["Statut"] == strings.status_label("en_cours")
    with db.session_scope(app_engine) as session:
        action = session.exec(select(Action).where(Action.code == "2.2")).one()
    with db.session_scope(app_engine, write=True) as session:
        update_action(
            session,
            add_user(app_engine, "editor"),
            action.id,
            expected_version=action.version,
            changes={"status": ActionStatus.BLOQUE},
        )
    at = run_app(at=at)
    assert actions_table(at).set_index("Code").loc["2.2", "Statut"] == strings.status_label(
        "bloque"
    )


def test_statuses_are_shown_with_a_symbol_and_a_label(viewer_token):
    table = actions_table(_plan_page(viewer_token))
    assert set(table["Statut"]) <= {strings.status_label(s) for s in strings.STATUS_LABELS}
    assert set(table["Météo"]) <= {strings.weather_label(w) for w in strings.WEATHER_LABELS}


def test_a_real_plan_shows_no_example_banner(app_engine):
    db.upgrade_database(app_engine)
    with db.session_scope(app_engine, write=True) as session:
        set_setting(session, INITIALISED, "oui")
        plan = load_example(session, actor=system_actor("tests"))
        plan.is_example = False  # stands for an imported real plan
        session.add(plan)
    at = run_app(session_token(app_engine, add_user(app_engine, "viewer")))
    assert at.title[0].value == "Vue d'ensemble"
    assert not any(strings.EXAMPLE_BANNER in w.value for w in at.warning)
    at = open_page(at, "Le plan")
    assert not any(strings.EXAMPLE_BANNER in w.value for w in at.warning)
    assert len(actions_table(at)) == 19


def test_an_empty_database_says_how_to_load_a_plan(app_engine):
    db.upgrade_database(app_engine)
    with db.session_scope(app_engine, write=True) as session:
        set_setting(session, INITIALISED, "oui")
    at = run_app(session_token(app_engine, add_user(app_engine, "viewer")))
    assert at.title[0].value == "Vue d'ensemble"
    assert any("Aucun plan" in i.value for i in at.info)
    assert not at.dataframe
    at = open_page(at, "Le plan")
    assert any("Aucun plan" in i.value for i in at.info)
    assert not at.dataframe


def test_with_many_plans_the_sidebar_lists_twenty_found_by_a_search(app_engine, viewer_token):
    """Beyond 20 plans the list offers the plan shown and 19 others, those whose name
    contains the words searched (case and accents ignored); choosing one shows it. (The
    plan searched for sorts last: without the search, the list would not offer it.)"""
    from tracker.models import Plan
    from tracker.ui.context import LISTED_PLANS

    with db.session_scope(app_engine, write=True) as session:
        for n in range(1, 31):
            name = f"Stratégie numérique de la commune n°{n:02d}"
            session.add(Plan(name=name, first_year=2020, last_year=2026))
        session.add(Plan(name="Zone d'Élancourt : schéma", first_year=2020, last_year=2026))
    at = _plan_page(viewer_token)
    plans = at.sidebar.selectbox(key="selected_plan")
    assert len(plans.options) == LISTED_PLANS
    assert at.sidebar.text_input(key="plan_search").label == "Chercher un plan"
    shown = plans.value
    at.sidebar.text_input(key="plan_search").input("ELANCOURT schema")
    at = run_app(at=at)
    plans = at.sidebar.selectbox(key="selected_plan")
    assert plans.value == shown  # the plan shown stays first, whatever the search
    assert plans.options[1:] == ["Zone d'Élancourt : schéma"]
    plans.set_value(_plan_id(app_engine, "Zone d'Élancourt : schéma"))
    at = run_app(at=at)
    assert at.query_params["plan"] == str(_plan_id(app_engine, "Zone d'Élancourt : schéma"))
    # The page shows the plan chosen (its name, escaped, in the page's header block).
    assert any("Zone d&#x27;Élancourt : schéma" in e.proto.body for e in at.get("html"))


def _plan_id(engine, name: str) -> int:
    from tracker.models import Plan

    with db.session_scope(engine) as session:
        return session.exec(select(Plan.id).where(Plan.name == name)).one()
