"""« Vue d'ensemble »: where the plan stands, in one screen, for elected officials
and the steering committee. Filters (year, collectivity, objective, pilot) apply
to every figure and live in the address, so a link can be mailed."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tracker import charts, db, strings
from tracker.charts import format_value
from tracker.formats import format_date, format_eur, format_percent
from tracker.models import ActionStatus, Health
from tracker.services import overview as overview_service
from tracker.services.indicators import target_path
from tracker.services.overview import Overview, OverviewFilter
from tracker.settings import get_settings
from tracker.ui import context, data, navigation
from tracker.ui.components import example_banner, frozen_figure, lazy_section, md_escape, plain
from tracker.ui.tables import static_table, table_block

ALL = "Tous"
_PARAMS = {"year": "annee", "collectivity": "collectivite", "objective": "objectif"}
_PARAMS |= {"pilot": "pilote", "since": "depuis", "size": "taille"}


# What the browser draws costs more than what the server computes (a Chromium
# profile of one reload: plotly, React and layout take most of it). So what is not
# read at a glance (the filters, the tables behind the charts) is sent only once
# opened, and the small static tables are plain HTML tables (tracker.ui.tables).
FIRST_ROWS = 15  # rows of a list shown at once; the others in a section opened on demand


# The HTML of each table shown, built once per cached table (the tables of
# _cached_tables are shared read-only by every session): (table, part) -> HTML. The
# table itself is kept with its HTML, so an id is never taken for another table's.
_HTML: dict[tuple[int, int | None, int | None], tuple[pd.DataFrame, str]] = {}


def _show(table: pd.DataFrame, rows: slice, links: dict[str, list[str]] | None = None) -> None:
    key = (id(table), rows.start, rows.stop)
    hit = _HTML.get(key)
    if hit is None or hit[0] is not table:
        block = table_block(
            table.iloc[rows], links={c: v[rows] for c, v in links.items()} if links else None
        )
        if len(_HTML) > 512:  # tables of older revisions: let them go
            _HTML.clear()
        hit = _HTML[key] = (table, block)
    st.html(hit[1])


def _long_table(
    table: pd.DataFrame, key: str, more: str, links: dict[str, list[str]] | None = None
) -> None:
    """A list, most urgent first: its first FIRST_ROWS rows, then the others once
    « Voir les N autres … » is opened (a plan of 500 actions may list hundreds)."""
    _show(table, slice(0, FIRST_ROWS), links)
    rest = len(table) - FIRST_ROWS
    if rest > 0:
        label = f"Voir {'le' if rest == 1 else 'les'} {rest} {more}"
        if (box := lazy_section(label, key)) is not None:
            with box:
                _show(table, slice(FIRST_ROWS, None), links)


# The overview and its figures and tables are built once per data change and
# filter, and shared read-only between sessions (st.cache_resource: no copy, so
# a cache hit costs nothing; nothing below mutates them).
@st.cache_resource(max_entries=32, show_spinner=False)
def _overview(
    url: str, plan_id: int, rev: int, at: date, f: OverviewFilter, since: date | None
) -> Overview:
    structure = data.plan_structure(plan_id)
    indicator_rows = data.indicator_rows(plan_id)
    with db.session_scope(db.get_engine(url)) as session:
        return overview_service.build_overview(
            session, structure, indicator_rows, at, f, since=since
        )


@st.cache_data(max_entries=32, show_spinner=False)
def _timeline_milestones(url: str, plan_id: int, rev: int, at: date) -> pd.DataFrame:
    with db.session_scope(db.get_engine(url)) as session:
        rows = overview_service.plan_milestones(session, plan_id)
    return pd.DataFrame(
        [
            {
                "code": code,
                "due": due,
                "title": title,
                "done": done is not None,
                "overdue": done is None and due < at,
                "when": f"Échéance : {format_date(due)}"
                + (f" · réalisé le {format_date(done)}" if done else ""),
            }
            for code, due, title, done in rows
        ],
        columns=["code", "due", "title", "done", "overdue", "when"],
    )


@st.cache_data(max_entries=32, show_spinner=False)
def _last_review(url: str, plan_id: int, rev: int) -> date | None:
    with db.session_scope(db.get_engine(url)) as session:
        return overview_service.last_review_date(session, plan_id)


def _choice(name: str, options: list, default: object = None) -> object:
    raw = st.query_params.get(_PARAMS[name])
    for option in options:
        if raw is not None and str(option) == raw:
            return option
    return default


_FILTER_KEYS = {name: f"overview_{name}" for name in ("year", "collectivity", "objective", "pilot")}


def _current(name: str, options: list, default: object) -> object:
    """A filter's value: its widget's (the section is open), else the address's."""
    value = st.session_state.get(_FILTER_KEYS[name])
    if value is not None and value in options:
        return value
    return _choice(name, options, default)


def _filters(plan_id: int) -> tuple[OverviewFilter, date | None, bool]:
    structure = data.plan_structure(plan_id)
    today = context.today()
    years = list(range(structure.first_year, structure.last_year + 1))
    current = min(max(today.year, structure.first_year), structure.last_year)
    collectivities = [ALL, *structure.collectivities]
    objectives = [ALL, *[o.code for o in structure.objectives]]
    titles = {o.code: f"{o.code} : {o.title}" for o in structure.objectives}
    pilots = [ALL, *overview_service.pilots(structure)]
    # The filters sit in a section opened on demand (most readers never filter, and
    # five widgets cost the browser more than the server); their values live in the
    # address, so a closed section still applies them and its title says which.
    year = _current("year", years, current)
    collectivity = _current("collectivity", collectivities, ALL)
    objective = _current("objective", objectives, ALL)
    pilot = _current("pilot", pilots, ALL)
    review = _last_review(url=get_settings().database_url, plan_id=plan_id, rev=context.revision())
    default_since = today - timedelta(days=overview_service.DEFAULT_COMPARISON_DAYS)
    since = None
    if review is None:
        raw = st.query_params.get(_PARAMS["since"], "")
        try:
            chosen = date.fromisoformat(raw) if raw else None
        except ValueError:
            chosen = None
        since = min(chosen or default_since, today)
        widget = st.session_state.get("overview_since")
        if isinstance(widget, date) and widget <= today:
            since = widget
    summary = [
        str(year),
        "les deux collectivités" if collectivity == ALL else str(collectivity),
        "tous les objectifs" if objective == ALL else f"objectif {objective}",
        "tous les pilotes" if pilot == ALL else f"pilote : {pilot}",
    ]
    # The section's title stays the same (a new title would fold it again on each choice);
    # the caption above it says which filters apply.
    st.caption("Filtres appliqués : " + " · ".join(md_escape(x) for x in summary))
    box = lazy_section("Modifier les filtres", "overview_filters")
    if box is not None:
        with box:
            cols = [*st.columns([1, 2]), *st.columns(2)]
            year = cols[0].selectbox(
                "Année", years, index=years.index(year), key=_FILTER_KEYS["year"]
            )
            collectivity = cols[1].selectbox(
                "Collectivité",
                collectivities,
                index=collectivities.index(collectivity),
                key=_FILTER_KEYS["collectivity"],
                format_func=lambda c: "Les deux" if c == ALL else c,
            )
            objective = cols[2].selectbox(
                "Objectif",
                objectives,
                index=objectives.index(objective),
                key=_FILTER_KEYS["objective"],
                format_func=lambda o: "Tous" if o == ALL else titles[o],
            )
            pilot = cols[3].selectbox(
                "Pilote", pilots, index=pilots.index(pilot), key=_FILTER_KEYS["pilot"]
            )
            if since is not None:
                since = st.date_input(
                    "Comparer les statuts avec le",
                    value=since,
                    max_value=today,
                    format="DD/MM/YYYY",
                    key="overview_since",
                    help="En l'absence de comité de pilotage clos, la date de comparaison se "
                    "choisit ici.",
                )
    f = OverviewFilter(
        year=year,
        collectivity=None if collectivity == ALL else collectivity,
        objective=None if objective == ALL else objective,
        pilot=None if pilot == ALL else pilot,
    )
    by_budget = st.session_state.get("overview_size") == "budget" or (
        "overview_size" not in st.session_state and st.query_params.get("taille") == "credits"
    )
    wanted: dict[str, str] = {}
    if "plan" in st.query_params:
        wanted["plan"] = str(plan_id)
    if year != current:
        wanted["annee"] = str(year)
    for name, value in (("collectivity", f.collectivity), ("objective", f.objective)):
        if value:
            wanted[_PARAMS[name]] = value
    if f.pilot:
        wanted["pilote"] = f.pilot
    if since is not None and since != default_since:
        wanted["depuis"] = since.isoformat()
    if by_budget:
        wanted["taille"] = "credits"
    default = default_tab(len(structure.actions))
    tab = _chart_tab(default)
    if tab != default:
        wanted["graphique"] = tab
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)
    return f, since, by_budget


def _since_text(o: Overview) -> str | None:
    if o.since is None:
        return None
    if o.since_is_review:
        return f"au comité du {format_date(o.since)}"
    return f"au {format_date(o.since)}"


def _build_tables(o: Overview) -> dict[str, pd.DataFrame]:
    """Every table of the page (figures of the overview, in French)."""
    since = _since_text(o)
    statuses = []
    for status in ActionStatus:
        now = o.status_counts[status]
        row: dict = {"Statut": strings.status_label(status), "Actions": now}
        if since:
            then = o.status_then[status] if o.status_then is not None else None
            row[f"Actions {since}"] = then
            row["Évolution"] = _delta(now, then) or "="
        statuses.append(row)
    attention = pd.DataFrame(
        [
            {
                "Code": x.action.code,
                "Action": x.action.title,
                "Pilote": overview_service.pilot_label(x.action) or "–",
                "Santé": strings.health_label(x.action.state.health),
                "Pourquoi": ", ".join(x.reasons),
                "Avancement": format_percent(x.action.state.progress),
                "Fin prévue": format_date(x.action.planned_end_date),
            }
            for x in o.attention
        ]
    )

    def milestones(items: list, overdue: bool) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "Échéance": format_date(m.due_date),
                    "Jalon": m.title,
                    "Action": f"{m.action_code} — {m.action_title}",
                    "Pilote": m.pilot or "–",
                    ("Retard" if overdue else "Dans"): f"{abs(m.days)} j",
                }
                for m in items
            ]
        )

    b = o.budget
    budget = [
        {
            "Collectivité": name,
            "Arbitré": format_eur(t.arbitrated_cents),
            "Réalisé": format_eur(t.spent_cents),
            "Exécution": format_percent(t.execution) if t.execution is not None else "–",
        }
        for name, t in [*b.by_collectivity.items(), ("Total", b.total)]
    ]
    indicators = pd.DataFrame(
        [
            {
                "Code": i.code,
                "Indicateur": i.name,
                "Statut": strings.indicator_status_label(i.state.status),
                "Dernière valeur": format_value(i.state.latest.value, i.unit)
                if i.state.latest
                else "–",
                "Attendu à cette date": format_value(i.state.expected, i.unit)
                if i.state.expected is not None
                else "–",
            }
            for i in [*o.indicators_behind, *o.indicators_without_recent]
        ]
    )
    return {
        "statuses": pd.DataFrame(statuses),
        "attention": attention,
        "overdue": milestones(o.overdue, True),
        "upcoming": milestones(o.upcoming, False),
        "budget": pd.DataFrame(budget),
        "indicators": indicators,
    }


@st.cache_resource(max_entries=32, show_spinner=False)
def _cached_tables(
    url: str, plan_id: int, rev: int, at: date, f: OverviewFilter, since: date | None
) -> dict[str, pd.DataFrame]:
    return _build_tables(_overview(url=url, plan_id=plan_id, rev=rev, at=at, f=f, since=since))


def _tables(o: Overview) -> dict[str, pd.DataFrame]:
    """The tables of this overview, built once per data change and filter (one cache
    lookup per script run)."""
    current = st.session_state.get("_overview_tables")
    if current is not None and current[0] is o:
        return current[1]
    tables = _cached_tables(
        url=get_settings().database_url,
        plan_id=o.plan_id,
        rev=context.revision(),
        at=o.at,
        f=o.filters,
        since=o.requested_since,
    )
    st.session_state["_overview_tables"] = (o, tables)
    return tables


def _delta(now: int, then: int | None) -> str | None:
    if then is None or now == then:
        return None
    return f"{now - then:+d}"


def _headline(o: Overview) -> None:
    t = o.budget.total
    cols = [*st.columns(2), *st.columns(2)]
    cols[0].metric(
        "Avancement moyen",
        format_percent(o.progress) if o.progress is not None else "–",
        delta=f"{o.progress - o.expected:+.0f} pts / attendu"
        if o.progress is not None and o.expected is not None
        else None,
        delta_color="normal",
        help="Moyenne des actions (hors abandonnées) ; l'attendu suit les dates de début et de "
        f"fin prévue : {format_percent(o.expected) if o.expected is not None else '–'}.",
    )
    cols[1].metric(
        f"Arbitré {o.filters.year}",
        format_eur(t.arbitrated_cents),
        help="Crédits arbitrés de l'année, pour les collectivités et actions retenues.",
    )
    cols[2].metric(
        f"Réalisé {o.filters.year}",
        format_eur(t.spent_cents),
        delta=f"exécution {format_percent(t.execution)}" if t.execution is not None else None,
        delta_color="off",
    )
    cols[3].metric(
        "Indicateurs en bonne voie",
        f"{o.indicators_on_track} / {len(o.indicators)}",
        help="Indicateurs qui ont atteint leur cible ou sont en bonne voie sur leur trajectoire.",
    )


def _statuses(o: Overview) -> None:
    st.header("Les actions par statut")
    since = _since_text(o)
    cols = [*st.columns(3), *st.columns(3)]
    for col, status in zip(cols, ActionStatus, strict=True):
        now = o.status_counts[status]
        col.metric(
            strings.status_label(status),
            now,
            delta=_delta(now, o.status_then[status] if o.status_then else None),
            delta_color="off",
        )
    if since:
        st.caption(
            f"Évolution par rapport {since} (statuts reconstitués d'après l'historique des "
            "modifications ; une action créée depuis n'est pas comptée à cette date)."
        )
    if (box := lazy_section("Voir le tableau des statuts", "overview_statuses_open")) is not None:
        with box:
            _show(_tables(o)["statuses"], slice(None))


def action_link(action_id: int) -> str:
    """The address of an action's page, relative to the page's own (so it also works
    behind a proxy serving the app under a path)."""
    return f"action?action={action_id}"


def _attention(o: Overview) -> None:
    st.header("Actions à surveiller")
    if not o.attention:
        st.success("Aucune action en retard, à risque ou sans mise à jour récente.")
        return
    # Links, not a selectable data grid: the grid alone cost this page a third of its
    # time in the browser, and a link opens with the keyboard or in a new tab too.
    links = [action_link(x.action.id) for x in o.attention]
    _long_table(
        _tables(o)["attention"],
        "overview_attention_more",
        "autres actions à surveiller",
        links={"Code": links, "Action": links},
    )
    st.caption("Cliquez sur le code ou l'intitulé d'une action pour ouvrir sa fiche.")


def _late_decisions(o: Overview) -> None:
    if not o.overdue_decisions:
        return
    st.warning(
        f"{len(o.overdue_decisions)} décision(s) du comité de pilotage en retard sur leur "
        "échéance.",
        icon="⏰",
    )
    static_table(
        pd.DataFrame(
            [
                {
                    "Échéance": format_date(d.due_date),
                    "Décision": d.text,
                    "Responsable": d.owner or "–",
                    "Action": d.action_code or "",
                    "Objectif": d.objective_code or "",
                    "Statut": strings.DECISION_STATUS_LABELS[d.status],
                    "Comité": f"{d.review_title} ({format_date(d.review_date)})",
                }
                for d in o.overdue_decisions
            ]
        )
    )


def _open_action(action_id: int) -> None:
    st.switch_page(navigation.action_page(), query_params={"action": str(action_id)})


def _milestones(o: Overview) -> None:
    # One table under the other: side by side, at 1024 px, their cells wrapped word by word.
    st.header("Jalons")
    st.subheader(f"En retard ({len(o.overdue)})")
    if o.overdue:
        _long_table(_tables(o)["overdue"], "overview_overdue_more", "autres jalons en retard")
    else:
        st.caption("Aucun jalon en retard.")
    st.subheader(
        f"À venir dans les {overview_service.MILESTONE_HORIZON_DAYS} jours ({len(o.upcoming)})"
    )
    if o.upcoming:
        _long_table(_tables(o)["upcoming"], "overview_upcoming_more", "autres jalons à venir")
    else:
        st.caption("Aucun jalon dans les deux prochains mois.")


def _budget(o: Overview) -> None:
    st.header(f"Budget {o.filters.year}")
    b = o.budget
    if not b.rows and b.total.requested_cents == 0:
        st.info(f"Aucune ligne budgétaire pour {o.filters.year} avec ces filtres.")
        return
    _show(_tables(o)["budget"], slice(None))
    if not b.closed:
        st.caption(f"L'arbitrage {o.filters.year} n'est pas encore clôturé.")


def _indicators_behind(o: Overview) -> None:
    st.header("Indicateurs")
    behind, stale = o.indicators_behind, o.indicators_without_recent
    st.markdown(
        f"**{o.indicators_on_track}** indicateur(s) sur {len(o.indicators)} atteints ou en bonne "
        f"voie ; **{len(behind)}** en retard ; **{len(stale)}** sans mesure récente."
    )
    if behind or stale:
        _long_table(_tables(o)["indicators"], "overview_indicators_more", "autres indicateurs")


# --------------------------------------------------------------------------
# Charts, built once per data change and filter (cached)
# --------------------------------------------------------------------------


def _tree_frame(o: Overview, by_budget: bool) -> pd.DataFrame:
    structure = data.plan_structure(o.budget.plan_id)
    amounts = {r.action_id: r.totals.arbitrated_cents / 100 for r in o.budget.rows}
    stakes_of = {ob.code: ob.stake_codes for ob in structure.objectives}
    titles = {ob.code: ob.title for ob in structure.objectives}
    stake_titles = {s.code: s.title for s in structure.stakes}
    rows: list[dict] = []
    groups: dict[str, float] = {}
    objective_sizes: dict[str, float] = {}
    for a in o.actions:
        value = amounts.get(a.id, 0.0) if by_budget else 1.0
        if value <= 0:
            continue
        stakes = stakes_of.get(a.objective_code) or []
        group = " + ".join(stakes) or "sans enjeu"
        health = a.state.health
        rows.append(
            {
                "id": f"a{a.id}",
                "parent": f"o{a.objective_code}",
                "label": f"{strings.HEALTH_SYMBOLS[health]} {a.code}",
                "value": value,
                "health": health.value,
                "hover": f"{a.code} — {a.title}<br>{strings.health_label(health)} · "
                f"avancement {format_percent(a.state.progress)}"
                + (f"<br>Arbitré : {format_eur(round(value * 100))}" if by_budget else ""),
            }
        )
        objective_sizes[a.objective_code] = objective_sizes.get(a.objective_code, 0) + value
        groups[a.objective_code] = group
    group_sizes: dict[str, float] = {}
    for code, size in objective_sizes.items():
        group = groups[code]
        rows.append(
            {
                "id": f"o{code}",
                "parent": f"g{group}",
                "label": f"Objectif {code}",
                "value": size,
                "health": "",
                "hover": f"Objectif {code} : {titles.get(code, '')}",
            }
        )
        group_sizes[group] = group_sizes.get(group, 0) + size
    for group, size in group_sizes.items():
        codes = group.split(" + ")
        rows.append(
            {
                "id": f"g{group}",
                "parent": "",
                "label": "Enjeux " + " et ".join(codes) if len(codes) > 1 else f"Enjeu {group}",
                "value": size,
                "health": "",
                "hover": "<br>".join(f"{c} : {stake_titles.get(c, '')}" for c in codes),
            }
        )
    return pd.DataFrame(rows, columns=["id", "parent", "label", "value", "health", "hover"])


def _tree_figure(o: Overview, by_budget: bool) -> tuple[go.Figure, pd.DataFrame]:
    tree = _tree_frame(o, by_budget)
    leaves = tree[tree["health"] != ""]
    return (
        charts.plan_tree(tree, by_budget=by_budget),
        pd.DataFrame(
            {
                "Action": [h.split("<br>")[0] for h in leaves["hover"]],
                "Santé": [strings.health_label(Health(h)) for h in leaves["health"]],
                "Objectif": [p[1:] for p in leaves["parent"]],
                "Taille": [
                    format_eur(round(v * 100)) if by_budget else "1 case" for v in leaves["value"]
                ],
            }
        ),
    )


def _progress_figure(o: Overview) -> tuple[go.Figure, pd.DataFrame]:
    objectives = pd.DataFrame(
        [
            {
                "objectif": f"{p.code} : {p.title}",
                "actions": p.action_count,
                "avancement": p.progress,
                "attendu": p.expected,
            }
            for p in o.objectives
        ],
        columns=["objectif", "actions", "avancement", "attendu"],
    )
    return (
        charts.progress_by_objective(objectives),
        objectives.rename(columns=strings.PROGRESS_TABLE_COLUMNS).round(1),
    )


def _timeline_figure(o: Overview, milestones: pd.DataFrame) -> tuple[go.Figure, pd.DataFrame]:
    actions = pd.DataFrame(
        [
            {
                "id": a.id,
                "code": a.code,
                "label": f"{a.code} {strings.HEALTH_SYMBOLS[a.state.health]}",
                "start": a.start_date,
                "end": a.planned_end_date,
                "health": a.state.health.value,
                "health_label": strings.health_label(a.state.health),
                "dates": f"{format_date(a.start_date)} → {format_date(a.planned_end_date)}",
                "title": a.title,
            }
            for a in o.actions
        ],
        columns=["id", "code", "label", "start", "end", "health", "health_label", "dates", "title"],
    )
    milestones = milestones[milestones["code"].isin(set(actions["code"]))]
    return (
        charts.actions_timeline(actions, milestones, today=o.at),
        pd.DataFrame(
            {
                "Action": [
                    f"{c} — {t}" for c, t in zip(actions["code"], actions["title"], strict=True)
                ],
                "Début": [format_date(d) for d in actions["start"]],
                "Fin prévue": [format_date(d) for d in actions["end"]],
                "Santé": actions["health_label"],
                "Jalons": [int((milestones["code"] == c).sum()) for c in actions["code"]],
            }
        ),
    )


def _budget_figure(o: Overview) -> tuple[go.Figure, pd.DataFrame]:
    splits = pd.DataFrame(
        [
            {
                "year": s.year,
                "requested_cents": s.totals.requested_cents,
                "arbitrated_cents": s.totals.arbitrated_cents,
                "spent_cents": s.totals.spent_cents,
            }
            for s in o.budget_years
        ],
        columns=["year", "requested_cents", "arbitrated_cents", "spent_cents"],
    )
    per_year = splits.groupby("year", as_index=False).sum() if not splits.empty else splits
    fig = charts.budget_per_year(splits)
    fig.update_layout(height=340)
    return (
        fig,
        pd.DataFrame(
            {
                "Année": per_year["year"].astype(str),
                "Demandé": [format_eur(int(v)) for v in per_year["requested_cents"]],
                "Arbitré": [format_eur(int(v)) for v in per_year["arbitrated_cents"]],
                "Réalisé": [format_eur(int(v)) for v in per_year["spent_cents"]],
            }
        ),
    )


def _indicators_figure(o: Overview) -> tuple[go.Figure, pd.DataFrame]:
    series, table = [], []
    for i in o.indicators:
        detail = data.indicator_detail(i.id)
        measures = pd.DataFrame(
            [{"date": m.date, "valeur": m.value} for m in detail.measurements] if detail else [],
            columns=["date", "valeur"],
        ).sort_values("date")
        path = pd.DataFrame(
            [{"date": p.date, "valeur": p.value} for p in target_path(detail.indicator)]
            if detail
            else [],
            columns=["date", "valeur"],
        )
        series.append(
            {
                "title": f"{i.code} · {strings.indicator_status_label(i.state.status)}",
                "unit": i.unit,
                "measures": measures,
                "path": path,
            }
        )
        table.append(
            {
                "Indicateur": f"{i.code} — {i.name}",
                "Dernière valeur": format_value(i.state.latest.value, i.unit)
                if i.state.latest
                else "–",
                "Cible": format_value(i.target_value, i.unit)
                if i.target_value is not None
                else "–",
                "Statut": strings.indicator_status_label(i.state.status),
            }
        )
    return charts.indicator_multiples(series), pd.DataFrame(table)


# The charts, each in its tab: only the open tab's chart is built and sent, so the
# page draws one chart, not five. Label shown, value kept in the address.
CHART_TABS = {
    "arborescence": "Enjeux et actions",
    "avancement": "Avancement par objectif",
    "calendrier": "Calendrier",
    "budget": "Budget par année",
    "indicateurs": "Indicateurs",
}
_TAB_KEY = "overview_chart"


@st.cache_resource(max_entries=64, show_spinner=False)
def _figure(
    name: str,
    url: str,
    plan_id: int,
    rev: int,
    at: date,
    f: OverviewFilter,
    since: date | None,
    by_budget: bool,
) -> tuple[go.Figure, pd.DataFrame]:
    o = _overview(url=url, plan_id=plan_id, rev=rev, at=at, f=f, since=since)
    if name == "arborescence":
        fig, table = _tree_figure(o, by_budget)
    elif name == "avancement":
        fig, table = _progress_figure(o)
    elif name == "calendrier":
        fig, table = _timeline_figure(
            o, _timeline_milestones(url=url, plan_id=plan_id, rev=rev, at=at)
        )
    elif name == "budget":
        fig, table = _budget_figure(o)
    else:
        fig, table = _indicators_figure(o)
    # Serialised once: every later display sends that form as it is.
    return frozen_figure(fig), table


def default_tab(action_count: int) -> str:
    """The tab open on arrival: the plan's tree, unless the plan has so many actions that
    its tiles are too small to name (charts.TREE_LABELLED_ACTIONS): then the progress
    of each objective, which reads at a glance whatever the size (and the browser
    draws in a fraction of the time of 500 tiles); the tree stays one click away."""
    return "arborescence" if action_count <= charts.TREE_LABELLED_ACTIONS else "avancement"


def _chart_tab(default: str) -> str:
    """The open chart tab: the widget's state, else the address (a mailed link)."""
    label = st.session_state.get(_TAB_KEY)
    for name, tab_label in CHART_TABS.items():
        if label == tab_label:
            return name
    wanted = st.query_params.get("graphique")
    return wanted if wanted in CHART_TABS else default


def _charts(o: Overview, since: date | None, by_budget: bool) -> None:
    st.header("Le plan en graphiques")
    chosen = _chart_tab(default_tab(len(data.plan_structure(o.plan_id).actions)))
    tabs = st.tabs(
        list(CHART_TABS.values()),
        default=CHART_TABS[chosen],
        key=_TAB_KEY,
        on_change="rerun",
    )
    for (name, _), tab in zip(CHART_TABS.items(), tabs, strict=True):
        if tab.open is False:
            continue
        fig, table = _figure(
            name=name,
            url=get_settings().database_url,
            plan_id=o.plan_id,
            rev=context.revision(),
            at=context.today(),
            f=o.filters,
            since=since,
            by_budget=by_budget,
        )
        with tab:
            _CHART_RENDERERS[name](o, fig, table, by_budget)


def _chart_data(table: pd.DataFrame, key: str) -> None:
    """The figures of the chart above, in a table sent once its section is opened."""
    if (box := lazy_section("Voir les données du graphique", f"{key}_data")) is not None:
        with box:
            _show(table, slice(None))


def _chart(fig: go.Figure, table: pd.DataFrame, *, key: str, alt: str) -> None:
    """A chart, then the same figures as a table in a collapsible section (RGAA)."""
    st.plotly_chart(fig, key=key, alt=alt, config={"displaylogo": False})
    _chart_data(table, key)


def _show_tree(o: Overview, fig: go.Figure, table: pd.DataFrame, by_budget: bool) -> None:
    st.radio(
        "Taille des rectangles",
        ["equal", "budget"],
        index=1 if by_budget else 0,
        format_func={
            "equal": "Une case par action",
            "budget": f"Crédits arbitrés {o.filters.year}",
        }.get,
        horizontal=True,
        key="overview_size",
    )
    _chart(
        fig,
        table,
        key="overview_tree",
        alt="Enjeux, objectifs et actions, colorés selon la santé de chaque action.",
    )
    st.caption(
        "Couleur et symbole : ✓ dans les temps, ▲ en retard sur le calendrier, ! à risque, "
        "● terminée, ✕ arrêtée."
        + (" Les actions sans crédit arbitré cette année n'apparaissent pas." if by_budget else "")
    )


def _show_progress(o: Overview, fig: go.Figure, table: pd.DataFrame, by_budget: bool) -> None:
    _chart(
        fig, table, key="overview_progress", alt="Avancement réel et attendu de chaque objectif."
    )


def _show_timeline(o: Overview, fig: go.Figure, table: pd.DataFrame, by_budget: bool) -> None:
    st.plotly_chart(
        fig,
        key="overview_timeline",
        on_select="rerun",
        selection_mode="points",
        config={"displaylogo": False},
    )
    selection = st.session_state.get("overview_timeline")
    points = selection.selection.points if selection and selection.selection else []
    _chart_data(table, "overview_timeline")
    st.caption("Cliquez sur la barre d'une action pour ouvrir sa fiche.")
    for point in points:
        custom = point.get("customdata")
        if custom and str(custom[0]).isdigit():
            _open_action(int(custom[0]))


def _show_budget(o: Overview, fig: go.Figure, table: pd.DataFrame, by_budget: bool) -> None:
    _chart(
        fig,
        table,
        key="overview_budget_chart",
        alt="Crédits demandés, arbitrés et réalisés par année.",
    )


def _show_indicators(o: Overview, fig: go.Figure, table: pd.DataFrame, by_budget: bool) -> None:
    _chart(
        fig,
        table,
        key="overview_indicators_chart",
        alt="Chaque indicateur : ses mesures et sa trajectoire vers la cible.",
    )


_CHART_RENDERERS = {
    "arborescence": _show_tree,
    "avancement": _show_progress,
    "calendrier": _show_timeline,
    "budget": _show_budget,
    "indicateurs": _show_indicators,
}


def render() -> None:
    st.title("Vue d'ensemble")
    plan_id = context.selected_plan_id()
    if plan_id is None:
        st.info(
            "Aucun plan n'est enregistré. Chargez le plan réel par import (page Import / export),"
            " ou le plan d'exemple avec « python -m tracker init --example »."
        )
        return
    structure = data.plan_structure(plan_id)
    example_banner(structure.is_example)
    plain(structure.name)
    if not structure.actions:
        st.info(
            "Ce plan n'a pas encore d'action : la vue d'ensemble se remplira quand ses actions "
            "seront importées (page Import / export)."
        )
        return
    f, since, by_budget = _filters(plan_id)
    o = _overview(
        url=get_settings().database_url,
        plan_id=plan_id,
        rev=context.revision(),
        at=context.today(),
        f=f,
        since=since,
    )
    if not o.actions:
        st.info("Aucune action ne correspond à ces filtres.")
        return
    _headline(o)
    _statuses(o)
    _attention(o)
    _late_decisions(o)
    _milestones(o)
    _budget(o)
    _indicators_behind(o)
    _charts(o, since, by_budget)
