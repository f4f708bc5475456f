"""Page tests (AppTest): « Vue d'ensemble », the page the app opens on.

Its figures are compared with what the services compute on the example plan,
at the date the app uses (today)."""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from tests.conftest import add_user, session_token
from tests.pages import (
    APP,
    SESSION_KEY,
    html_tables,
    metrics,
    open_page,
    open_sections,
    page_titles,
    run_app,
)
from tracker import charts, db, strings
from tracker.bootstrap import prepare_database
from tracker.formats import TIMEZONE, format_date, format_eur, format_percent
from tracker.models import (
    Action,
    ActionStatus,
    AuditEntry,
    IndicatorStatus,
    Milestone,
    Plan,
    User,
)
from tracker.services import actions as action_service
from tracker.services import budgets, indicators, plans, revision
from tracker.services import overview as overview_service
from tracker.services.app_settings import update_settings
from tracker.services.users import system_actor
from tracker.ui.pages import overview as overview_page
from tracker.ui.pages.overview import CHART_TABS

CAHORS = "Ville de Cahors"
FILTERS = ["Année", "Collectivité", "Objectif", "Pilote"]
NO_MATCH = "Aucune action ne correspond à ces filtres."
ROLES = ["admin", "editor", "pilot", "viewer"]
PUBLIC = "public"  # a visitor without an account, the public view being enabled
EDITORS = ("form", "data_editor", "file_uploader", "text_input", "text_area", "number_input")


@pytest.fixture(scope="module")
def shared_app_db(tmp_path_factory) -> Path:
    """The example plan as the app's first start loads it, an account per role and
    the public view enabled: prepared once. The tests using it only read, so they
    share the app's cached figures as browser sessions do."""
    path = tmp_path_factory.mktemp("overview") / "tracker.db"
    engine = db.make_engine(f"sqlite:///{path}")
    prepare_database(engine)
    for role in ROLES:
        add_user(engine, role)
    with db.session_scope(engine, write=True) as session:
        update_settings(session, system_actor("tests"), public_view=True, upload_limit_mb=20)
    engine.dispose()
    return path


@pytest.fixture
def app_engine(monkeypatch, shared_app_db):
    url = f"sqlite:///{shared_app_db}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    return db.get_engine(url)


@pytest.fixture
def empty_engine(tmp_path, monkeypatch):
    """A database initialised without the example (``python -m tracker init --empty``)."""
    url = f"sqlite:///{tmp_path / 'app' / 'tracker.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    engine = db.get_engine(url)
    prepare_database(engine, load_example_plan=False)
    return engine


def _app(engine, who: str, **query) -> AppTest:
    """The app as the account ``who`` (or a public visitor) opens it, at this address."""
    at = AppTest.from_file(APP, default_timeout=60)
    if who != PUBLIC:
        with db.session_scope(engine) as session:
            user = session.exec(select(User).where(User.login == who)).one()
        at.session_state[SESSION_KEY] = session_token(engine, user)
    for key, value in query.items():
        at.query_params[key] = value
    return run_app(at=at)


def _open(at: AppTest, key: str) -> AppTest:
    return open_sections(at, key)


def _open_filters(at: AppTest) -> AppTest:
    return at if at.selectbox else _open(at, "overview_filters")


def _filters_title(at: AppTest) -> str:
    """What the caption above the folded filters says."""
    return next(_unescape(c.value) for c in at.caption if c.value.startswith("Filtres appliqués"))


def _filter(at: AppTest, label: str):
    return next(s for s in at.selectbox if s.label == label)


def _choose(at: AppTest, **choices) -> AppTest:
    at = _open_filters(at)
    for label, value in choices.items():
        _filter(at, label).set_value(value)
    return run_app(at=at)


def _unescape(value: object) -> object:
    """Markdown as the reader sees it: its escapes removed."""
    return re.sub(r"\\(.)", r"\1", value) if isinstance(value, str) else value


def _table(at: AppTest, column: str):
    """The one table (data grid or HTML table) with this column, as the reader sees it."""
    tables = [df.value for df in at.dataframe if column in df.value.columns]
    tables += [t for t in html_tables(at) if column in t.columns]
    assert len(tables) == 1, [list(t.columns) for t in tables]
    return tables[0]


def _attention(at: AppTest):
    return _table(at, "Pourquoi")


def _headings(at: AppTest) -> list[str]:
    """The section titles, whatever their level."""
    return [h.value for h in [*at.header, *at.subheader]]


def _param(at: AppTest, name: str) -> list[str]:
    value = at.query_params[name]
    return value if isinstance(value, list) else [value]


def _shown_year(structure: plans.PlanStructure, today: date) -> int:
    """The year the overview opens on: this year, within the plan's period."""
    return min(max(today.year, structure.first_year), structure.last_year)


@dataclass
class Expected:
    structure: plans.PlanStructure
    year: int
    budget: budgets.YearBudget
    indicator_rows: list[indicators.IndicatorRow]


def _expected(engine, year: int | None = None, **budget_filters) -> Expected:
    """What the services compute on the example plan today."""
    today = date.today()
    with db.session_scope(engine) as session:
        plan_id = session.exec(select(Plan.id)).one()
        structure = plans.plan_structure(session, plan_id, today)
        year = year or _shown_year(structure, today)
        return Expected(
            structure,
            year,
            budgets.year_budget(session, plan_id, year, **budget_filters),
            indicators.indicator_rows(session, plan_id, today),
        )


def _action_id(engine, code: str) -> int:
    with db.session_scope(engine) as session:
        return session.exec(select(Action.id).where(Action.code == code)).one()


# --------------------------------------------------------------------------
# What everyone sees
# --------------------------------------------------------------------------


@pytest.mark.parametrize("who", [*ROLES, PUBLIC])
def test_everyone_opens_on_the_overview_and_nobody_can_edit_there(app_engine, who):
    at = _app(app_engine, who)
    year = _expected(app_engine).year
    assert page_titles(at)[0] == "Vue d'ensemble"
    assert [t.value for t in at.title] == ["Vue d'ensemble"]  # the page shown first
    if who == PUBLIC:
        assert page_titles(at) == ["Vue d'ensemble", "Le plan", "Fiche action", "Connexion"]
    assert any(strings.EXAMPLE_BANNER in w.value for w in at.warning)
    # The filters are folded, under a caption that says which apply; opened, all four.
    assert _filters_title(at) == (
        f"Filtres appliqués : {year} · les deux collectivités · tous les objectifs"
        " · tous les pilotes"
    )
    assert not at.selectbox
    assert [s.label for s in _open_filters(at).selectbox] == FILTERS
    shown = metrics(at)
    for label in (
        "Avancement moyen",
        f"Arbitré {year}",
        f"Réalisé {year}",
        "Indicateurs en bonne voie",
        *(strings.status_label(s) for s in ActionStatus),
    ):
        assert label in shown
    headings = _headings(at)
    for section in ("Les actions par statut", "Actions à surveiller", "Jalons", f"Budget {year}"):
        assert section in headings
    budget = _table(at, "Exécution")
    assert list(budget.columns) == ["Collectivité", "Arbitré", "Réalisé", "Exécution"]
    assert budget["Collectivité"].iloc[-1] == "Total"
    assert len(_attention(at)) > 0
    # The charts are in tabs: only the open one (the first) is built and drawn.
    assert [c.key for c in at.get("plotly_chart")] == ["overview_tree"]
    for widget in EDITORS:
        assert not at.get(widget), widget
    assert {b.label for b in at.button} <= {"Se déconnecter"}


def test_headline_figures_are_those_the_services_compute(app_engine):
    at = _app(app_engine, "viewer")
    e = _expected(app_engine)
    _counted, progress, expected = plans.mean_progress(e.structure.actions)
    total = e.budget.total
    on_track = {IndicatorStatus.REACHED, IndicatorStatus.ON_TRACK}
    shown = {m.label: m for m in at.metric}
    assert shown["Avancement moyen"].value == format_percent(progress)
    delta = shown["Avancement moyen"].proto.delta.replace("−", "-")  # either minus sign
    assert delta == f"{progress - expected:+.0f} pts / attendu"
    assert shown[f"Arbitré {e.year}"].value == format_eur(total.arbitrated_cents)
    assert shown[f"Réalisé {e.year}"].value == format_eur(total.spent_cents)
    assert shown[f"Réalisé {e.year}"].proto.delta == f"exécution {format_percent(total.execution)}"
    good = sum(1 for i in e.indicator_rows if i.state.status in on_track)
    assert shown["Indicateurs en bonne voie"].value == f"{good} / {len(e.indicator_rows)}"
    counts = Counter(a.status for a in e.structure.actions)
    for status in ActionStatus:
        assert shown[strings.status_label(status)].value == str(counts[status])
    assert sum(counts.values()) == 19
    budget = _table(at, "Exécution").set_index("Collectivité")
    for name, totals in e.budget.by_collectivity.items():
        assert budget.loc[name, "Arbitré"] == format_eur(totals.arbitrated_cents)
    assert budget.loc["Total", "Réalisé"] == format_eur(total.spent_cents)


# --------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------


def test_collectivity_filter_changes_the_budget_and_the_address(app_engine):
    at = _app(app_engine, "viewer")
    everything = _expected(app_engine)
    at = _choose(at, Collectivité=CAHORS)
    e = _expected(app_engine, collectivity=CAHORS)
    assert e.budget.total.arbitrated_cents != everything.budget.total.arbitrated_cents
    shown = metrics(at)
    assert shown[f"Arbitré {e.year}"] == format_eur(e.budget.total.arbitrated_cents)
    assert shown[f"Réalisé {e.year}"] == format_eur(e.budget.total.spent_cents)
    assert list(_table(at, "Exécution")["Collectivité"]) == [CAHORS, "Total"]
    assert _param(at, "collectivite") == [CAHORS]
    assert [s.label for s in at.selectbox] == FILTERS  # still open, for the next choice


def test_folded_filters_still_apply_and_their_title_says_which(app_engine):
    at = _choose(_app(app_engine, "viewer"), Collectivité=CAHORS)
    at.session_state["overview_filters"] = False  # the reader folds the filters again
    at = run_app(at=at)
    assert not at.selectbox
    e = _expected(app_engine, collectivity=CAHORS)
    assert _filters_title(at) == (
        f"Filtres appliqués : {e.year} · {CAHORS} · tous les objectifs · tous les pilotes"
    )
    assert metrics(at)[f"Arbitré {e.year}"] == format_eur(e.budget.total.arbitrated_cents)
    assert list(_table(at, "Exécution")["Collectivité"]) == [CAHORS, "Total"]
    assert _param(at, "collectivite") == [CAHORS]


CHART_KEYS = {
    "Enjeux et actions": "overview_tree",
    "Avancement par objectif": "overview_progress",
    "Calendrier": "overview_timeline",
    "Budget par année": "overview_budget_chart",
    "Indicateurs": "overview_indicators_chart",
}


def _charts_shown(at: AppTest) -> list[str]:
    return [c.key for c in at.get("plotly_chart")]


def _chart_table(at: AppTest, label: str) -> tuple[AppTest, object]:
    """The table behind the chart of a tab (in the section below the chart, sent once
    that section is opened)."""
    tab = next(t for t in at.tabs if t.label == label)
    assert not html_tables(tab) and not tab.dataframe  # closed: not sent
    at = _open(at, f"{CHART_KEYS[label]}_data")
    tab = next(t for t in at.tabs if t.label == label)
    (table,) = html_tables(tab)
    return at, table


def test_each_chart_tab_shows_its_chart_alone_with_its_table_and_keeps_it_in_the_address(
    app_engine,
):
    at = _app(app_engine, "viewer")
    tabs = [t.label for t in at.tabs]
    assert tabs == list(CHART_KEYS)
    e = _expected(app_engine)
    for label, key in CHART_KEYS.items():
        at.session_state["overview_chart"] = label  # what a click on the tab sends
        at = run_app(at=at)
        assert _charts_shown(at) == [key]
        at, table = _chart_table(at, label)
        assert len(table) > 0
        slug = next(s for s, lab in CHART_TABS.items() if lab == label)
        if slug == "arborescence":
            assert "graphique" not in at.query_params  # the default tab keeps the address short
        else:
            assert _param(at, "graphique") == [slug]
        if key == "overview_progress":
            assert list(table["Objectif"]) == [
                f"{o.code} : {o.title}" for o in e.structure.objectives
            ]
        if key == "overview_timeline":
            assert len(table) == len(e.structure.actions)
        if key == "overview_indicators_chart":
            assert len(table) == len(e.indicator_rows)
        # The page's figures do not depend on the open tab.
        assert metrics(at)[f"Arbitré {e.year}"] == format_eur(e.budget.total.arbitrated_cents)


def test_a_shared_link_opens_the_chart_tab_it_names_and_ignores_an_unknown_one(app_engine):
    at = _app(app_engine, "viewer", graphique="calendrier")
    assert _charts_shown(at) == ["overview_timeline"]
    at = _app(app_engine, "viewer", graphique="inconnu")
    assert _charts_shown(at) == ["overview_tree"]
    assert "graphique" not in at.query_params


def test_a_shared_link_opens_the_overview_with_its_year_and_objective(app_engine):
    at = _app(app_engine, "viewer", annee="2024", objectif="2")
    assert _filters_title(at) == (
        "Filtres appliqués : 2024 · les deux collectivités · objectif 2 · tous les pilotes"
    )
    at = _open_filters(at)
    assert _filter(at, "Année").value == 2024
    assert _filter(at, "Objectif").value == "2"
    e = _expected(app_engine, 2024, objective="2")
    shown = metrics(at)
    assert shown["Arbitré 2024"] == format_eur(e.budget.total.arbitrated_cents)
    assert shown["Réalisé 2024"] == format_eur(e.budget.total.spent_cents)
    in_objective = [a for a in e.structure.actions if a.objective_code == "2"]
    assert sum(int(shown[strings.status_label(s)]) for s in ActionStatus) == len(in_objective)
    assert _param(at, "annee") == ["2024"] and _param(at, "objectif") == ["2"]


def test_pilot_filter_keeps_only_that_pilots_actions_to_watch(app_engine):
    at = _app(app_engine, "viewer")
    before = _attention(at)
    pilot = before["Pilote"].value_counts().index[0]
    assert (before["Pilote"] != pilot).any()  # the filter has something to remove
    at = _choose(at, Pilote=pilot)
    after = _attention(at)
    assert set(after["Pilote"]) == {pilot}
    assert list(after["Code"]) == list(before.loc[before["Pilote"] == pilot, "Code"])
    assert _param(at, "pilote") == [pilot]


def test_filters_that_match_no_action_say_so(app_engine):
    structure = _expected(app_engine).structure
    pilot, objective = next(
        (plans.pilot_label(a), o.code)
        for a in structure.actions
        for o in structure.objectives
        if plans.pilot_label(a)
        and not any(
            b.objective_code == o.code and plans.pilot_label(b) == plans.pilot_label(a)
            for b in structure.actions
        )
    )
    at = _choose(_app(app_engine, "viewer"), Pilote=pilot, Objectif=objective)
    assert NO_MATCH in [i.value for i in at.info]
    assert not at.metric and not at.get("plotly_chart")
    assert [s.label for s in at.selectbox] == FILTERS  # the filters stay, to widen them


# --------------------------------------------------------------------------
# From the overview to an action
# --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["viewer", PUBLIC])
def test_each_action_to_watch_links_to_its_page(app_engine, who):
    at = _app(app_engine, who)
    table = _attention(at)
    body = next(h.proto.body for h in at.get("html") if "Pourquoi" in h.proto.body)
    links: dict[str, list[str]] = {}
    for action_id, text in re.findall(r'<a href="action\?action=(\d+)">([^<]+)</a>', body):
        links.setdefault(action_id, []).append(html.unescape(text))
    # Code and title of every row lead to the action's page (its id in the address).
    assert len(links) == len(table)
    for code, title in zip(table["Code"], table["Action"], strict=True):
        assert links[str(_action_id(app_engine, code))] == [code, title]
    # That address opens the action's page.
    code = table["Code"].iloc[-1]
    at.query_params.clear()
    at.query_params["action"] = str(_action_id(app_engine, code))
    target = open_page(at, "Fiche action")
    assert target.title[0].value == "Fiche action"
    assert any(t.value.startswith(f"{code} — ") for t in target.text)


# --------------------------------------------------------------------------
# Nothing to show yet
# --------------------------------------------------------------------------


def test_an_empty_database_says_how_to_load_a_plan(empty_engine):
    add_user(empty_engine, "viewer")
    at = _app(empty_engine, "viewer")
    assert at.title[0].value == "Vue d'ensemble"
    message = " ".join(i.value for i in at.info)
    assert "Aucun plan n'est enregistré" in message and "Import / export" in message
    assert not at.metric and not at.dataframe and not at.selectbox
    assert not at.get("plotly_chart")


def test_a_plan_without_actions_says_it_has_none_yet(empty_engine):
    with db.session_scope(empty_engine, write=True) as session:
        plans.create_plan(
            session,
            plans.PlanData(
                name="Schéma numérique 2025-2030",
                collectivities=[CAHORS, "Grand Cahors"],
                first_year=2025,
                last_year=2030,
            ),
            actor=system_actor("tests"),
        )
    add_user(empty_engine, "viewer")
    at = _app(empty_engine, "viewer")
    assert at.title[0].value == "Vue d'ensemble"
    assert any("Ce plan n'a pas encore d'action" in i.value for i in at.info)
    assert "Schéma numérique 2025-2030" in [t.value for t in [*at.caption, *at.text]]
    assert not any(strings.EXAMPLE_BANNER in w.value for w in at.warning)
    assert not at.metric and not at.dataframe and not at.selectbox
    assert not at.get("plotly_chart")


# --------------------------------------------------------------------------
# Comparing the statuses with an earlier date
# --------------------------------------------------------------------------


@pytest.fixture
def own_engine(tmp_path, monkeypatch):
    """The example plan in a database of this test's own (for tests that write)."""
    url = f"sqlite:///{tmp_path / 'app' / 'tracker.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    engine = db.get_engine(url)
    prepare_database(engine)
    return engine


def _status_changed_at(engine, code: str, status: ActionStatus, moment: datetime) -> None:
    """Change an action's status, as if it was saved at ``moment``; every action
    is dated as created long before."""
    with db.session_scope(engine, write=True) as session:
        action = session.exec(select(Action).where(Action.code == code)).one()
        action_service.update_action(
            session,
            system_actor("tests"),
            action.id,
            expected_version=action.version,
            changes={"status": status},
        )
        for entry in session.exec(select(AuditEntry).where(AuditEntry.entity == "action")):
            if entry.operation == "création":
                entry.at = moment - timedelta(days=365)
            elif entry.field == "status" and entry.action_id == action.id:
                entry.at = moment.astimezone(UTC)  # stored in UTC, as the app stores it
            session.add(entry)


def _statuses_then(at: AppTest) -> dict[str, int]:
    if not any("Évolution" in t.columns for t in html_tables(at)):
        at = _open(at, "overview_statuses_open")
    table = _table(at, "Évolution")
    then = next(c for c in table.columns if c.startswith("Actions au"))
    return dict(zip(table["Statut"], map(int, table[then]), strict=True))


def test_statuses_are_compared_at_the_end_of_the_day_in_paris(own_engine):
    day = date.today() - timedelta(days=10)
    paris = ZoneInfo(TIMEZONE)
    # 00:30 in Cahors the next day: after the end of ``day`` (still ``day`` in UTC).
    _status_changed_at(
        own_engine,
        "2.2",
        ActionStatus.BLOQUE,
        datetime.combine(day + timedelta(days=1), time(0, 30), tzinfo=paris),
    )
    add_user(own_engine, "viewer")
    at = _app(own_engine, "viewer", depuis=day.isoformat())
    shown = metrics(at)
    running = strings.status_label(ActionStatus.EN_COURS)
    blocked = strings.status_label(ActionStatus.BLOQUE)
    assert (shown[running], shown[blocked]) == ("7", "2")
    assert any(format_date(day) in c.value for c in at.caption)
    then = _statuses_then(at)
    assert (then[running], then[blocked]) == (8, 1)  # at the end of ``day``, 2.2 still ran


def test_text_typed_by_users_is_shown_as_typed_in_the_tables(own_engine):
    """The small tables are HTML tables: typed text is escaped, shown as typed."""
    typed = "Jalon *important* [lien](https://exemple.fr) <b>gras</b> | 1. suite"
    with db.session_scope(own_engine, write=True) as session:
        milestone = session.exec(
            select(Milestone).where(Milestone.done_date.is_(None)).order_by(Milestone.id)
        ).first()
        milestone.title = typed
        milestone.due_date = date.today() + timedelta(days=5)
        session.add(milestone)
        revision.bump_revision(session)
    add_user(own_engine, "viewer")
    at = _app(own_engine, "viewer")
    upcoming = _table(at, "Dans")
    assert typed in list(upcoming["Jalon"])
    raw = next(h.proto.body for h in at.get("html") if "important" in h.proto.body)
    assert "&lt;b&gt;gras&lt;/b&gt;" in raw and "<b>" not in raw  # escaped, never HTML


def test_long_lists_show_their_first_rows_and_the_others_on_demand(app_engine, monkeypatch):
    """A plan of 500 actions may list hundreds of actions to watch: the most urgent
    first, the others in a section opened on demand (here after 3 rows instead of 15)."""
    monkeypatch.setattr(overview_page, "FIRST_ROWS", 3)
    at = _app(app_engine, "viewer")
    e = _expected(app_engine)
    with db.session_scope(app_engine) as session:
        expected = overview_service.build_overview(
            session,
            e.structure,
            e.indicator_rows,
            date.today(),
            overview_service.OverviewFilter(year=e.year),
        )
    codes = [x.action.code for x in expected.attention]
    assert len(codes) > 3
    first = _attention(at)
    assert list(first["Code"]) == codes[:3]
    rest = len(codes) - 3
    label = f"Voir {'le' if rest == 1 else 'les'} {rest} autres actions à surveiller"
    assert label in [x.label for x in at.expander]
    at = _open(at, "overview_attention_more")
    parts = [t for t in html_tables(at) if "Pourquoi" in t.columns]
    assert [list(t["Code"]) for t in parts] == [codes[:3], codes[3:]]
    body = " ".join(h.proto.body for h in at.get("html") if "Pourquoi" in h.proto.body)
    for x in expected.attention:  # every row, in either part, links to its action
        assert f'href="action?action={x.action.id}"' in body


def test_a_plan_too_large_to_name_its_tiles_opens_on_the_progress_chart(app_engine, monkeypatch):
    """Beyond charts.TREE_LABELLED_ACTIONS actions (here 5 instead of 100), the page opens
    on the progress of each objective; the tree is one click away, and in the address."""
    monkeypatch.setattr(charts, "TREE_LABELLED_ACTIONS", 5)
    at = _app(app_engine, "viewer")
    assert _charts_shown(at) == ["overview_progress"]
    assert "graphique" not in at.query_params  # the default for this plan
    at.session_state["overview_chart"] = "Enjeux et actions"
    at = run_app(at=at)
    assert _charts_shown(at) == ["overview_tree"]
    assert _param(at, "graphique") == ["arborescence"]
