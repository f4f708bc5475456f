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
    metric_cards,
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


def _html_texts(at: AppTest, tag: str) -> list[str]:
    """The text of each ``tag`` element (h2, p...) of the page's HTML blocks, as read."""
    return [
        html.unescape(re.sub(r"<[^>]+>", "", text))
        for h in at.get("html")
        for text in re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", h.proto.body, re.DOTALL)
    ]


def _filters_title(at: AppTest) -> str:
    """What the line under the folded filters says (above the key figures, or alone when
    no action matches)."""
    lines = [*(_unescape(c.value) for c in at.caption), *_html_texts(at, "p")]
    return next(line for line in lines if line.startswith("Filtres appliqués"))


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
    """The section titles, whatever their level (a section drawn as one HTML block
    carries its own)."""
    return [
        *(h.value for h in [*at.header, *at.subheader]),
        *_html_texts(at, "h2"),
        *_html_texts(at, "h3"),
    ]


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
    sections = ["Les actions par statut", "Actions à surveiller", "Jalons", f"Budget {year}"]
    for section in [*sections, "Indicateurs", "Le plan en graphiques"]:
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


def _cards_block(at: AppTest, label: str) -> str:
    """The HTML of the one block of key figures that holds the figure ``label``."""
    label = f'data-testid="tkMetricLabel">{html.escape(label)}<'
    (body,) = [h.proto.body for h in at.get("html") if label in h.proto.body]
    return body


def test_headline_figures_are_those_the_services_compute(app_engine):
    at = _app(app_engine, "viewer")
    e = _expected(app_engine)
    _counted, progress, expected = plans.mean_progress(e.structure.actions)
    total = e.budget.total
    on_track = {IndicatorStatus.REACHED, IndicatorStatus.ON_TRACK}
    # Key figures side by side in HTML blocks (no st.metric, no columns).
    assert not at.metric and not at.columns
    headline = [
        "Avancement moyen",
        f"Arbitré {e.year}",
        f"Réalisé {e.year}",
        "Indicateurs en bonne voie",
    ]
    statuses = [strings.status_label(s) for s in ActionStatus]
    assert [label for label, _, _ in metric_cards(at)] == headline + statuses
    shown = {label: (value, delta) for label, value, delta in metric_cards(at)}
    gap = f"{progress - expected:+.0f} pts / attendu"
    arrow = "▼" if gap.startswith("-") else "▲"
    assert shown["Avancement moyen"] == (format_percent(progress), f"{arrow} {gap}")
    # Ahead of the expected progress reads green, behind it red: with its arrow, not
    # the colour alone; the expected figure itself is written under the value.
    tone = "tk-bad" if gap.startswith("-") else "tk-good"
    block = _cards_block(at, "Avancement moyen")
    assert f'class="tk-delta {tone}"' in block
    assert f"Attendu à cette date : {format_percent(expected)}" in html.unescape(block)
    assert shown[f"Arbitré {e.year}"] == (format_eur(total.arbitrated_cents), None)
    assert shown[f"Réalisé {e.year}"] == (
        format_eur(total.spent_cents),
        f"exécution {format_percent(total.execution)}",  # a fact: grey, no arrow
    )
    good = sum(1 for i in e.indicator_rows if i.state.status in on_track)
    assert shown["Indicateurs en bonne voie"] == (f"{good} / {len(e.indicator_rows)}", None)
    counts = Counter(a.status for a in e.structure.actions)
    for status in ActionStatus:
        assert shown[strings.status_label(status)][0] == str(counts[status])
    assert sum(counts.values()) == 19
    budget = _table(at, "Exécution").set_index("Collectivité")
    for name, totals in e.budget.by_collectivity.items():
        assert budget.loc[name, "Arbitré"] == format_eur(totals.arbitrated_cents)
    assert budget.loc["Total", "Réalisé"] == format_eur(total.spent_cents)


def test_the_sections_above_the_charts_are_sent_as_one_block(app_engine, monkeypatch):
    """Key figures, statuses, actions to watch, milestones, budget, indicators and the
    title of the charts: one HTML element (each element costs the server on every run),
    split only where a message or a section opened on demand sits between two of them."""
    at = _app(app_engine, "viewer")
    late = [w for w in at.warning if "décision(s) du comité" in w.value]
    blocks = [h.proto.body for h in at.get("html")]
    assert len(blocks) == 1 + len(late)
    page = "".join(blocks)
    year = _expected(app_engine).year
    assert page.index("Filtres appliqués") < page.index("Avancement moyen")
    assert page.index("Avancement moyen") < page.index("<h2>")
    assert re.findall(r"<h2>(.*?)</h2>", page) == [
        "Les actions par statut",
        "Actions à surveiller",
        "Jalons",
        f"Budget {year}",
        "Indicateurs",
        "Le plan en graphiques",  # then the charts, in their tabs
    ]
    assert len(at.expander) == 2  # the filters, and the data of the chart: both folded
    # A list longer than its first rows ends the block; the next section starts another.
    monkeypatch.setattr(overview_page, "FIRST_ROWS", 3)
    monkeypatch.setattr(overview_page, "SENT_FOLDED", 0)
    at = _app(app_engine, "viewer")
    assert len(at.get("html")) > len(blocks)
    assert any(x.label.startswith("Voir les ") for x in at.expander)


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
    assert not metrics(at) and not at.get("plotly_chart")
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
    assert not metrics(at) and not at.dataframe and not at.selectbox
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
    assert not metrics(at) and not at.dataframe and not at.selectbox
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
    """The status counts at the comparison date, from the table folded under the status
    figures (six rows, sent with them and unfolded in the browser)."""
    block = _cards_block(at, strings.status_label(ActionStatus.EN_COURS))
    folded = r"<details[^>]*><summary>Voir le tableau des statuts</summary>.*<table"
    assert re.search(folded, block, re.DOTALL)
    assert "overview_statuses_open" not in at.session_state  # no widget for it on the server
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
    running = strings.status_label(ActionStatus.EN_COURS)
    blocked = strings.status_label(ActionStatus.BLOQUE)
    shown = {label: (value, delta) for label, value, delta in metric_cards(at)}
    # Each status with its change since that day, an arrow with its sign.
    assert (shown[running], shown[blocked]) == (("7", "▼ -1"), ("2", "▲ +1"))
    note = html.unescape(_cards_block(at, running))
    assert f"Évolution par rapport au {format_date(day)}" in note
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


def _to_watch(engine) -> list[overview_service.Attention]:
    """The actions to watch on the example plan today, as the service lists them."""
    e = _expected(engine)
    with db.session_scope(engine) as session:
        return overview_service.build_overview(
            session,
            e.structure,
            e.indicator_rows,
            date.today(),
            overview_service.OverviewFilter(year=e.year),
        ).attention


def _more_label(rest: int) -> str:
    return f"Voir {'le' if rest == 1 else 'les'} {rest} autres actions à surveiller"


def test_long_lists_show_their_first_rows_and_the_others_on_demand(app_engine, monkeypatch):
    """A plan of 500 actions may list hundreds of actions to watch: the most urgent
    first, the others in a section opened on demand, sent only once opened (here after 3
    rows instead of 15, and however few the others are)."""
    monkeypatch.setattr(overview_page, "FIRST_ROWS", 3)
    monkeypatch.setattr(overview_page, "SENT_FOLDED", 0)
    at = _app(app_engine, "viewer")
    attention = _to_watch(app_engine)
    codes = [x.action.code for x in attention]
    assert len(codes) > 3
    first = _attention(at)  # the one table of actions to watch: the others are not sent
    assert list(first["Code"]) == codes[:3]
    label = _more_label(len(codes) - 3)
    assert label in [x.label for x in at.expander]
    assert label not in " ".join(h.proto.body for h in at.get("html"))
    at = _open(at, "overview_attention_more")
    parts = [t for t in html_tables(at) if "Pourquoi" in t.columns]
    assert [list(t["Code"]) for t in parts] == [codes[:3], codes[3:]]
    body = " ".join(h.proto.body for h in at.get("html") if "Pourquoi" in h.proto.body)
    for x in attention:  # every row, in either part, links to its action
        assert f'href="action?action={x.action.id}"' in body


def test_a_short_rest_of_a_list_is_sent_folded_in_the_page(app_engine, monkeypatch):
    """When the rows beyond the first are few (SENT_FOLDED), they are sent folded in the
    same block (unfolded in the browser): no section to open on the server."""
    monkeypatch.setattr(overview_page, "FIRST_ROWS", 3)
    at = _app(app_engine, "viewer")
    codes = [x.action.code for x in _to_watch(app_engine)]
    rest = len(codes) - 3
    assert 0 < rest <= overview_page.SENT_FOLDED
    assert not any(x.label.startswith("Voir ") and "actions" in x.label for x in at.expander)
    (body,) = [h.proto.body for h in at.get("html") if "Pourquoi" in h.proto.body]
    summaries = re.findall(r"<details[^>]*><summary>(.*?)</summary>", body)
    assert _more_label(rest) in [html.unescape(x) for x in summaries]
    parts = [t for t in html_tables(at) if "Pourquoi" in t.columns]
    assert [list(t["Code"]) for t in parts] == [codes[:3], codes[3:]]


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


def test_key_figures_block_escapes_text_and_reads_back_label_value_and_change():
    """components.metric_cards: one HTML block whose figures read back as shown; text
    typed by users (a pilot's name in a label) is escaped, a change carries its arrow."""
    from tracker.ui.components import Metric, metric_cards_html, read_metric_cards

    block = metric_cards_html(
        [
            Metric("Avancement <b>moyen</b>", "45 %", delta="+3 pts / attendu", tone="good"),
            Metric("Réalisé 2026", "1 200 €", delta="-2", tone="bad", help="a < b & c"),
            Metric("Sans évolution", "7"),
        ]
    )
    assert "<b>" not in block and "&lt;b&gt;moyen" in block and "a &lt; b &amp; c" in block
    assert read_metric_cards(block) == [
        ("Avancement <b>moyen</b>", "45 %", "▲ +3 pts / attendu"),
        ("Réalisé 2026", "1 200 €", "▼ -2"),
        ("Sans évolution", "7", None),
    ]
    assert 'class="tk-delta tk-good"' in block and 'class="tk-delta tk-bad"' in block
