"""« Vue d'ensemble »: where the plan stands, in one screen, for elected officials
and the steering committee. Filters (year, collectivity, objective, pilot) apply
to every figure and live in the address, so a link can be mailed."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tracker import charts, db, strings
from tracker.charts import format_value
from tracker.formats import format_date, format_eur, format_percent
from tracker.models import ActionStatus, Health
from tracker.services import overview as overview_service
from tracker.services import plans
from tracker.services.indicators import target_path
from tracker.services.overview import Overview, OverviewFilter
from tracker.settings import get_settings
from tracker.ui import context, data, navigation
from tracker.ui.components import (
    Metric,
    example_banner,
    frozen_figure,
    lazy_section,
    md_escape,
    metric_cards_html,
    plain,
)
from tracker.ui.tables import table_block

ALL = "Tous"
_PARAMS = {"year": "annee", "collectivity": "collectivite", "objective": "objectif"}
_PARAMS |= {"pilot": "pilote", "since": "depuis", "size": "taille"}


# What the browser draws costs more than what the server computes (a Chromium
# profile of one reload: plotly, React and layout take most of it). So what is not
# read at a glance (the filters, the tables behind the charts) is sent only once
# opened, and the small static tables are plain HTML tables (tracker.ui.tables).
FIRST_ROWS = 15  # rows of a list shown at once; the others in a section opened on demand
# A rest of up to this many rows is sent with the page, folded (unfolded in the browser,
# no rerun): a few kilobytes cost less than a section opened on demand, a widget that
# costs the server on every run. A longer rest is sent only once its section is opened.
SENT_FOLDED = 30


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


@dataclass(frozen=True)
class _Choices:
    """What each filter offers for a plan."""

    years: list[int]
    collectivities: list[str]
    objectives: list[str]
    titles: dict[str, str]
    pilots: list[str]


def _choices(structure: plans.PlanStructure) -> _Choices:
    """The filters' choices, worked out once per plan structure in a session (the pilots
    of 500 actions are sorted out again otherwise on every run)."""
    kept = st.session_state.get("_overview_choices")
    if kept is not None and kept[0] is structure:
        return kept[1]
    choices = _Choices(
        years=list(range(structure.first_year, structure.last_year + 1)),
        collectivities=[ALL, *structure.collectivities],
        objectives=[ALL, *[o.code for o in structure.objectives]],
        titles={o.code: f"{o.code} : {o.title}" for o in structure.objectives},
        pilots=[ALL, *overview_service.pilots(structure)],
    )
    st.session_state["_overview_choices"] = (structure, choices)
    return choices


def _filters(
    structure: plans.PlanStructure, plan_id: int
) -> tuple[OverviewFilter, date | None, bool]:
    today = context.today()
    c = _choices(structure)
    years, collectivities, objectives = c.years, c.collectivities, c.objectives
    titles, pilots = c.titles, c.pilots
    current = min(max(today.year, structure.first_year), structure.last_year)
    # The filters sit in a section opened on demand (most readers never filter, and
    # five widgets cost the browser more than the server); their values live in the
    # address, so a closed section still applies them and its title says which.
    year = _current("year", years, current)
    collectivity = _current("collectivity", collectivities, ALL)
    objective = _current("objective", objectives, ALL)
    pilot = _current("pilot", pilots, ALL)
    url, rev = get_settings().database_url, context.revision()
    review = context.reuse(_last_review, url=url, plan_id=plan_id, rev=rev)
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
    # The section's title stays the same (a new title would fold it again on each choice);
    # the line under it, above the key figures, says which filters apply.
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


def filters_summary(f: OverviewFilter) -> str:
    """« Filtres appliqués : 2026 · les deux collectivités · … », as the page says it."""
    parts = [
        str(f.year),
        f.collectivity or "les deux collectivités",
        f"objectif {f.objective}" if f.objective else "tous les objectifs",
        f"pilote : {f.pilot}" if f.pilot else "tous les pilotes",
    ]
    return "Filtres appliqués : " + " · ".join(parts)


def _since_text(o: Overview) -> str | None:
    if o.since is None:
        return None
    if o.since_is_review:
        return f"au comité du {format_date(o.since)}"
    return f"au {format_date(o.since)}"


def _delta(now: int, then: int | None) -> str | None:
    if then is None or now == then:
        return None
    return f"{now - then:+d}"


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
    decisions = pd.DataFrame(
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
        "decisions": decisions,
        "overdue": milestones(o.overdue, True),
        "upcoming": milestones(o.upcoming, False),
        "budget": pd.DataFrame(budget),
        "indicators": indicators,
    }


# The look of the page's HTML blocks: section titles as st.header and st.subheader draw
# them, notes as a caption reads, sections unfolded in the browser as an expander looks.
_PAGE_STYLE = """<style>
.tk-note { font-size: 0.875rem; line-height: 1.5; color: rgba(49, 51, 63, 0.6);
  margin: 0 0 1rem; }
.tk-overview h2 { font-size: 2.25rem; font-weight: 600; margin: 0; padding: 1.25rem 0 1rem; }
.tk-overview h3 { font-size: 1.5rem; font-weight: 600; margin: 0; padding: 0.5rem 0 0.75rem; }
.tk-cards .tk-metrics { padding-left: 0; }
.tk-details { border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem; margin: 0 0 1rem; }
.tk-details > summary { padding: 0.75rem 1rem; cursor: pointer; }
.tk-details > summary:hover { color: #FF4B4B; }
.tk-details > div { padding: 0 1rem; }
.tk-cards.tk-statuses .tk-metrics { grid-template-columns: repeat(auto-fill, minmax(8rem, 1fr)); }
</style>"""


def _note(text: str) -> str:
    return f'<p class="tk-note">{html.escape(text)}</p>'


def _heading(title: str) -> str:
    """A section's title, in the block of its content (as st.header draws it: a <h2>)."""
    return f"<h2>{html.escape(title)}</h2>"


_STYLE_TAG = re.compile(r"<style>.*?</style>", re.DOTALL)


def _section(*fragments: str) -> str:
    """One HTML block of the page, one element (its fragments are already escaped).

    Each table and row of key figures carries its own style (tracker.ui.tables,
    components.metric_cards); within one block, the first copy of each is enough (a
    third of the example plan's block otherwise, sent and scanned on every run)."""
    text = _PAGE_STYLE + "".join(fragments)
    for style in dict.fromkeys(_STYLE_TAG.findall(text)):
        end = text.index(style) + len(style)
        text = text[:end] + text[end:].replace(style, "")
    return f'<div class="tk-overview">{text}</div>'


def _details(summary: str, content: str) -> str:
    """A small section the reader unfolds in the browser (no rerun): for a few rows that
    cost nothing to send, where a server-side section would cost a widget on every run."""
    return (
        f'<details class="tk-details"><summary>{html.escape(summary)}</summary>'
        f"<div>{content}</div></details>"
    )


def _cards(metrics: list[Metric], *, narrow: bool = False) -> str:
    """Key figures side by side (narrow: small counts, three or more a row on a tablet)."""
    kind = "tk-cards tk-statuses" if narrow else "tk-cards"
    return f'<div class="{kind}">{metric_cards_html(metrics)}</div>'


@dataclass(frozen=True)
class _More:
    """The rest of a long list, in a section opened on demand (« Voir les N autres … »):
    a plan of 500 actions may list hundreds of actions to watch."""

    label: str
    key: str
    html: str


@dataclass(frozen=True)
class _Alert:
    """A message in a coloured box: ``kind`` is « success », « info » or « warning »."""

    kind: str
    text: str
    icon: str | None = None


# What the page shows below the filters and above the charts, in order: HTML fragments,
# sections opened on demand and messages.
_Piece = str | _More | _Alert


@dataclass(frozen=True)
class _Rows:
    """How much of a list is sent at once: its first rows (FIRST_ROWS), and the others
    too, folded, when they are at most ``folded`` (SENT_FOLDED)."""

    first: int
    folded: int


def _list(
    table: pd.DataFrame,
    rows: _Rows,
    key: str,
    more: str,
    links: dict[str, list[str]] | None = None,
) -> list[_Piece]:
    """A list, most urgent first: its first rows, then the others on demand (folded in
    the page when they are few, SENT_FOLDED)."""

    def block(part: slice) -> str:
        return table_block(
            table.iloc[part], links={c: v[part] for c, v in links.items()} if links else None
        )

    pieces: list[_Piece] = [block(slice(0, rows.first))]
    rest = len(table) - rows.first
    if rest > 0:
        label = f"Voir {'le' if rest == 1 else 'les'} {rest} {more}"
        others = block(slice(rows.first, None))
        if rest <= rows.folded:
            pieces.append(_details(label, others))
        else:
            pieces.append(_More(label, key, _section(others)))
    return pieces


def _joined(pieces: list[_Piece]) -> tuple[_Piece, ...]:
    """The pieces, each run of HTML fragments joined into one block: the sections of the
    page are one element until a section opened on demand or a message breaks the run
    (one element instead of thirty: each costs the server on every run)."""
    joined: list[_Piece] = []
    run: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            run.append(piece)
            continue
        if run:
            joined.append(_section(*run))
            run = []
        joined.append(piece)
    if run:
        joined.append(_section(*run))
    return tuple(joined)


def _headline_cards(o: Overview) -> str:
    t = o.budget.total
    gap = None
    if o.progress is not None and o.expected is not None:
        gap = f"{o.progress - o.expected:+.0f} pts / attendu"
    expected = format_percent(o.expected) if o.expected is not None else "–"
    return _cards(
        [
            Metric(
                "Avancement moyen",
                format_percent(o.progress) if o.progress is not None else "–",
                delta=gap,
                tone="bad" if gap and gap.startswith("-") else "good",
                help=f"Attendu à cette date : {expected} (d'après les dates de début et de "
                "fin prévue ; hors actions abandonnées).",
            ),
            Metric(
                f"Arbitré {o.filters.year}",
                format_eur(t.arbitrated_cents),
                help="Crédits arbitrés de l'année, pour les collectivités et actions retenues.",
            ),
            Metric(
                f"Réalisé {o.filters.year}",
                format_eur(t.spent_cents),
                delta=f"exécution {format_percent(t.execution)}"
                if t.execution is not None
                else None,
            ),
            Metric(
                "Indicateurs en bonne voie",
                f"{o.indicators_on_track} / {len(o.indicators)}",
                help="Cible atteinte, ou en bonne voie sur leur trajectoire.",
            ),
        ]
    )


def _statuses(o: Overview, tables: dict[str, pd.DataFrame]) -> list[_Piece]:
    cards = []
    for status in ActionStatus:
        now = o.status_counts[status]
        then = o.status_then[status] if o.status_then else None
        cards.append(Metric(strings.status_label(status), str(now), delta=_delta(now, then)))
    pieces: list[_Piece] = [_heading("Les actions par statut"), _cards(cards, narrow=True)]
    if since := _since_text(o):
        pieces.append(
            _note(
                f"Évolution par rapport {since} (statuts reconstitués d'après l'historique des "
                "modifications ; une action créée depuis n'est pas comptée à cette date)."
            )
        )
    # The same figures as a table, with the counts at the comparison date (RGAA): six rows.
    pieces.append(_details("Voir le tableau des statuts", table_block(tables["statuses"])))
    return pieces


def _attention(o: Overview, tables: dict[str, pd.DataFrame], rows: _Rows) -> list[_Piece]:
    pieces: list[_Piece] = [_heading("Actions à surveiller")]
    if not o.attention:
        text = "Aucune action en retard, à risque ou sans mise à jour récente."
        return [*pieces, _Alert("success", text)]
    # Links, not a selectable data grid: the grid alone cost this page a third of its
    # time in the browser, and a link opens with the keyboard or in a new tab too.
    links = [navigation.action_link(x.action.id) for x in o.attention]
    pieces.append(_note("Cliquez sur le code ou l'intitulé d'une action pour ouvrir sa fiche."))
    return pieces + _list(
        tables["attention"],
        rows,
        "overview_attention_more",
        "autres actions à surveiller",
        links={"Code": links, "Action": links},
    )


def _late_decisions(o: Overview, tables: dict[str, pd.DataFrame]) -> list[_Piece]:
    if not o.overdue_decisions:
        return []
    text = (
        f"{len(o.overdue_decisions)} décision(s) du comité de pilotage en retard sur leur échéance."
    )
    return [_Alert("warning", text, "⏰"), table_block(tables["decisions"])]


def _milestones(o: Overview, tables: dict[str, pd.DataFrame], rows: _Rows) -> list[_Piece]:
    # One table under the other: side by side, at 1024 px, their cells wrapped word by word.
    pieces: list[_Piece] = [_heading("Jalons")]
    horizon = overview_service.MILESTONE_HORIZON_DAYS
    for name, title, more, empty in (
        ("overdue", "En retard", "autres jalons en retard", "Aucun jalon en retard."),
        (
            "upcoming",
            f"À venir dans les {horizon} jours",
            "autres jalons à venir",
            "Aucun jalon dans les deux prochains mois.",
        ),
    ):
        table = tables[name]
        pieces.append(f"<h3>{html.escape(title)} ({len(table)})</h3>")
        if table.empty:
            pieces.append(_note(empty))
        else:
            pieces += _list(table, rows, f"overview_{name}_more", more)
    return pieces


def _budget(o: Overview, tables: dict[str, pd.DataFrame]) -> list[_Piece]:
    year = o.filters.year
    b = o.budget
    pieces: list[_Piece] = [_heading(f"Budget {year}")]
    if not b.rows and b.total.requested_cents == 0:
        return [*pieces, _Alert("info", f"Aucune ligne budgétaire pour {year} avec ces filtres.")]
    pieces.append(table_block(tables["budget"]))
    if not b.closed:
        pieces.append(_note(f"L'arbitrage {year} n'est pas encore clôturé."))
    return pieces


def _indicators_behind(o: Overview, tables: dict[str, pd.DataFrame], rows: _Rows) -> list[_Piece]:
    behind, stale = o.indicators_behind, o.indicators_without_recent
    pieces: list[_Piece] = [
        _heading("Indicateurs"),
        f"<p><strong>{o.indicators_on_track}</strong> indicateur(s) sur {len(o.indicators)} "
        f"atteints ou en bonne voie ; <strong>{len(behind)}</strong> en retard ; "
        f"<strong>{len(stale)}</strong> sans mesure récente.</p>",
    ]
    if behind or stale:
        pieces += _list(
            tables["indicators"], rows, "overview_indicators_more", "autres indicateurs"
        )
    return pieces


def _build_body(o: Overview, rows: _Rows) -> tuple[_Piece, ...]:
    """Everything between the filters and the charts' tabs, for this overview."""
    tables = _build_tables(o)
    return _joined(
        [
            _note(filters_summary(o.filters)),
            _headline_cards(o),
            *_statuses(o, tables),
            *_attention(o, tables, rows),
            *_late_decisions(o, tables),
            *_milestones(o, tables, rows),
            *_budget(o, tables),
            *_indicators_behind(o, tables, rows),
            _heading("Le plan en graphiques"),  # the tabs of _charts follow
        ]
    )


@st.cache_resource(max_entries=32, show_spinner=False)
def _cached_body(
    url: str,
    plan_id: int,
    rev: int,
    at: date,
    f: OverviewFilter,
    since: date | None,
    rows: _Rows,
) -> tuple[_Piece, ...]:
    o = _overview(url=url, plan_id=plan_id, rev=rev, at=at, f=f, since=since)
    return _build_body(o, rows)


def _body(o: Overview) -> None:
    """The key figures, statuses, actions to watch, milestones, budget, indicators and
    the charts' title: built once per data change and filter, shown as a few elements."""
    pieces = context.reuse(
        _cached_body,
        url=get_settings().database_url,
        plan_id=o.plan_id,
        rev=context.revision(),
        at=o.at,
        f=o.filters,
        since=o.requested_since,
        rows=_Rows(first=FIRST_ROWS, folded=SENT_FOLDED),
    )
    for piece in pieces:
        if isinstance(piece, str):
            st.html(piece)
        elif isinstance(piece, _More):
            if (box := lazy_section(piece.label, piece.key)) is not None:
                with box:
                    st.html(piece.html)
        else:
            getattr(st, piece.kind)(piece.text, icon=piece.icon)


def _open_action(action_id: int) -> None:
    st.switch_page(navigation.action_page(), query_params={"action": str(action_id)})


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
) -> tuple[go.Figure, str]:
    """A chart and the HTML table of its figures (shown on demand under it)."""
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
    return frozen_figure(fig), table_block(table)


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


def _charts(
    o: Overview, structure: plans.PlanStructure, since: date | None, by_budget: bool
) -> None:
    chosen = _chart_tab(default_tab(len(structure.actions)))
    tabs = st.tabs(
        list(CHART_TABS.values()),
        default=CHART_TABS[chosen],
        key=_TAB_KEY,
        on_change="rerun",
    )
    for (name, _), tab in zip(CHART_TABS.items(), tabs, strict=True):
        if tab.open is False:
            continue
        fig, table = context.reuse(
            _figure,
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


def _chart_data(table: str, key: str) -> None:
    """The figures of the chart above, in a table sent once its section is opened."""
    if (box := lazy_section("Voir les données du graphique", f"{key}_data")) is not None:
        with box:
            st.html(table)


def _chart(fig: go.Figure, table: str, *, key: str, alt: str) -> None:
    """A chart, then the same figures as a table in a collapsible section (RGAA)."""
    st.plotly_chart(fig, key=key, alt=alt, config={"displaylogo": False})
    _chart_data(table, key)


def _show_tree(o: Overview, fig: go.Figure, table: str, by_budget: bool) -> None:
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


def _show_progress(o: Overview, fig: go.Figure, table: str, by_budget: bool) -> None:
    _chart(
        fig, table, key="overview_progress", alt="Avancement réel et attendu de chaque objectif."
    )


def _show_timeline(o: Overview, fig: go.Figure, table: str, by_budget: bool) -> None:
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


def _show_budget(o: Overview, fig: go.Figure, table: str, by_budget: bool) -> None:
    _chart(
        fig,
        table,
        key="overview_budget_chart",
        alt="Crédits demandés, arbitrés et réalisés par année.",
    )


def _show_indicators(o: Overview, fig: go.Figure, table: str, by_budget: bool) -> None:
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
    f, since, by_budget = _filters(structure, plan_id)
    o = context.reuse(
        _overview,
        url=get_settings().database_url,
        plan_id=plan_id,
        rev=context.revision(),
        at=context.today(),
        f=f,
        since=since,
    )
    if not o.actions:
        st.caption(md_escape(filters_summary(f)))
        st.info("Aucune action ne correspond à ces filtres.")
        return
    _body(o)
    _charts(o, structure, since, by_budget)
