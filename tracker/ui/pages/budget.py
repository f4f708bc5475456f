"""« Budget »: the year's requests, arbitration and spending, the multi-year view, alerts,
and — for the mission numérique — the yearly budget preparation and arbitration."""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tracker import charts, db
from tracker.errors import TrackerError
from tracker.formats import format_date, format_datetime, format_eur, format_percent
from tracker.io.budget_export import finance_workbook
from tracker.io.parsing import CellError, parse_amount_cents, parse_date
from tracker.models import BudgetSection, User
from tracker.services import budgets
from tracker.services import plans as plan_service
from tracker.services.permissions import Permission, has_permission
from tracker.settings import get_settings
from tracker.strings import SECTION_LABELS
from tracker.ui import auth, context, data
from tracker.ui.components import (
    Metric,
    Table,
    applied_filters,
    arrow_table,
    chart_with_table,
    editor,
    editor_key,
    example_banner,
    frozen_figure,
    grid,
    lazy_section,
    metric_cards_html,
    reset_editor,
    saved_message,
)
from tracker.ui.tables import table_block

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SECTIONS = {SECTION_LABELS[s]: s for s in BudgetSection}
# The filters other than the year, folded: most visits read the whole plan's year. Folded,
# those chosen still apply (their widgets keep their values while not drawn) and a
# caption says which.
FILTERS_TITLE = "Filtres : collectivité, section, objectif"
# The period's other charts (per year by collectivity, per objective, per action),
# folded under this title: the per-year chart stays at a glance.
MORE_CHARTS_TITLE = "Plus de graphiques : par collectivité, par objectif, dépenses par action"
# Alerts shown as one HTML table up to this many; beyond, as a sortable data grid.
SHORT_LIST = 15


@dataclass(frozen=True)
class YearView:
    """A year's figures, and what the page shows of them: the arbitration's state and
    the key figures as one HTML block, the table (None when the year has no line)."""

    budget: budgets.YearBudget
    summary: str
    table: Table | None


# The year's and the period's figures are read once per data change and choice, and
# shared by every session without a copy (st.cache_resource; nothing mutates them):
# unpickling st.cache_data's copy took milliseconds on every run. The year's table is
# built with its figures: one cached call per run instead of two. Arguments named with
# a leading underscore are not part of the key: they follow from the others.
#
# The page calls these with keyword arguments: for each positional argument, Streamlit
# (1.67) works out the function's signature again to find its name, about 0.5 ms per
# call of eight positional arguments, on every run; by keyword, a quarter of that.
@st.cache_resource(max_entries=32, show_spinner=False)
def _year(
    url: str,
    plan_id: int,
    year: int,
    rev: int,
    collectivity: str | None,
    section: BudgetSection | None,
    objective: str | None,
    _titles: dict[str, str],
) -> YearView:
    with db.session_scope(db.get_engine(url)) as session:
        budget = budgets.year_budget(
            session, plan_id, year, collectivity=collectivity, section=section, objective=objective
        )
    return YearView(
        budget,
        _summary(year, budget),
        arrow_table(year_table(budget, _titles)) if budget.rows else None,
    )


def _summary(year: int, budget: budgets.YearBudget) -> str:
    """The arbitration's state and the year's four key figures, as one HTML block (one
    element instead of a text and four metrics in columns)."""
    state = (
        f"Arbitrage {year} clôturé le {format_datetime(budget.closed_at)}."
        if budget.closed
        else f"Arbitrage {year} ouvert."
    )
    t = budget.total
    return f'<p style="margin: 0 0 0.5rem">{html.escape(state)}</p>' + metric_cards_html(
        [
            Metric("Demandé", format_eur(t.requested_cents)),
            Metric("Arbitré", format_eur(t.arbitrated_cents)),
            Metric("Réalisé", format_eur(t.spent_cents)),
            Metric(
                "Taux de réalisation",
                format_percent(t.execution, 1) if t.execution is not None else "–",
            ),
        ]
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def _period(
    url: str, plan_id: int, rev: int, objective: str | None
) -> tuple[list[budgets.YearSplit], dict[str, budgets.Totals], dict[str, budgets.Totals]]:
    with db.session_scope(db.get_engine(url)) as session:
        return (
            budgets.budget_by_year(session, plan_id, objective=objective),
            budgets.budget_by_objective(session, plan_id),
            budgets.budget_by_action(session, plan_id),
        )


@st.cache_data(max_entries=8, show_spinner=False)
def _finance_export(url: str, plan_id: int, rev: int) -> bytes:
    """The finance workbook, built when its button is clicked, once per data change (not
    on every run after a save: on a plan of 500 actions it takes seconds)."""
    with db.session_scope(db.get_engine(url)) as session:
        return finance_workbook(session, plan_id)


# The charts below are built once per data change and choice, and shared by every
# session without a copy (st.cache_resource; nothing mutates them), as on the
# overview: formatting every amount and building the plotly figures took most of
# each run (benchmarks/pages.py).
@st.cache_resource(max_entries=32, show_spinner=False)
def _period_charts(
    url: str,
    plan_id: int,
    rev: int,
    at: date,
    objective: str | None,
    _structure: plan_service.PlanStructure,
) -> list[tuple[go.Figure, Table, str, str]]:
    """The period's charts, each with its table, key and description (none when the plan
    has no budget line): per year first, then per year by collectivity (when there are
    several), per objective and per action."""
    splits, per_objective, per_action = _period(url, plan_id, rev, objective)
    if not splits:
        return []
    titles = {o.code: o.title for o in _structure.objectives}
    frame = pd.DataFrame(
        [
            {
                "year": s.year,
                "collectivity": s.collectivity,
                "requested_cents": s.totals.requested_cents,
                "arbitrated_cents": s.totals.arbitrated_cents,
                "spent_cents": s.totals.spent_cents,
            }
            for s in splits
        ]
    )
    per_year = frame.groupby(["year"], as_index=False).sum(numeric_only=True)
    per_collectivity = frame.groupby(["year", "collectivity"], as_index=False).sum(
        numeric_only=True
    )
    objectives = pd.DataFrame(
        [
            {
                "objective": f"{code}. {titles.get(code, '')}",
                "arbitrated_cents": v.arbitrated_cents,
                "spent_cents": v.spent_cents,
            }
            for code, v in per_objective.items()
        ]
    )
    progress = {a.code: (a.title, a.state.progress) for a in _structure.actions}
    scatter = pd.DataFrame(
        [
            {
                "code": code,
                "title": progress[code][0],
                "progress": progress[code][1],
                "execution": round(totals.execution, 1),
            }
            for code, totals in per_action.items()
            if totals.execution is not None and code in progress
        ],
        columns=["code", "title", "progress", "execution"],
    )
    by_collectivity = []
    if per_collectivity["collectivity"].nunique() > 1:
        by_collectivity.append(
            (
                frozen_figure(charts.budget_per_year(per_collectivity, by_collectivity=True)),
                arrow_table(
                    pd.DataFrame(
                        {
                            "Année": per_collectivity["year"].astype(str),
                            "Collectivité": per_collectivity["collectivity"],
                            "Demandé": per_collectivity["requested_cents"].map(format_eur),
                            "Arbitré": per_collectivity["arbitrated_cents"].map(format_eur),
                            "Réalisé": per_collectivity["spent_cents"].map(format_eur),
                        }
                    )
                ),
                "budget_per_year_by_collectivity",
                "Montants demandés, arbitrés et réalisés par année, une vue par collectivité.",
            )
        )
    return [
        (
            frozen_figure(charts.budget_per_year(per_year)),
            arrow_table(_period_table(splits)),
            "budget_per_year",
            "Montants demandés, arbitrés et réalisés par année.",
        ),
        *by_collectivity,
        (
            frozen_figure(charts.budget_per_objective(objectives)),
            arrow_table(
                objectives.assign(
                    Arbitré=objectives["arbitrated_cents"].map(format_eur),
                    Réalisé=objectives["spent_cents"].map(format_eur),
                )[["objective", "Arbitré", "Réalisé"]].rename(columns={"objective": "Objectif"})
            ),
            "budget_per_objective",
            "Arbitré et réalisé par objectif sur la période.",
        ),
        (
            frozen_figure(charts.execution_vs_progress(scatter)),
            arrow_table(
                scatter.rename(
                    columns={
                        "code": "Code",
                        "title": "Action",
                        "progress": "Avancement (%)",
                        "execution": "Crédits arbitrés dépensés (%)",
                    }
                )
            ),
            "budget_execution",
            "Part des crédits dépensés et avancement, par action.",
        ),
    ]


@dataclass(frozen=True)
class Alerts:
    """The budget alerts as the page shows them: a short list as one HTML block (its
    table, the count by kind and what « en avance » means); a longer one as a caption
    (the count by kind) and a data grid (sortable; cheaper to send than a long HTML
    table) in a section sent once opened."""

    html: str | None
    table: Table | None = None
    caption: str = ""
    count: int = 0


@st.cache_resource(max_entries=16, show_spinner=False)
def _alerts(
    url: str, plan_id: int, rev: int, at: date, _alerts: list[budgets.BudgetAlert]
) -> Alerts | None:
    """The plan's budget alerts today (``_alerts``: data.budget_alerts, the read the action
    page shares), as this page shows them (None: no alert)."""
    alerts = _alerts
    if not alerts:
        return None
    counts = Counter(budgets.ALERT_KINDS[a.kind] for a in alerts)
    count = f"{len(alerts)} alerte(s) : " + " ; ".join(
        f"{kind} : {n}" for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    frame = pd.DataFrame(
        [
            {"Action": a.action_code, "Alerte": budgets.ALERT_KINDS[a.kind], "Détail": a.message}
            for a in alerts
        ]
    )
    note = (
        f"« Dépense en avance » : part des crédits arbitrés dépensés supérieure à "
        f"l'avancement de plus de {budgets.SPENDING_AHEAD_MARGIN} points."
    )
    if len(alerts) > SHORT_LIST:
        return Alerts(None, arrow_table(frame), f"{count}. {note}", len(alerts))
    return Alerts(
        table_block(frame, caption=count)
        + f'<p style="font-size: 0.875rem; opacity: 0.7; margin: 0">{html.escape(note)}</p>'
    )


@dataclass(frozen=True)
class BudgetPage:
    """Everything the page shows for a year and filters, read in one cached call."""

    year: YearView
    charts: list[tuple[go.Figure, Table, str, str]]
    alerts: Alerts | None


# One cached call per run instead of four (each costs a few tenths of a millisecond:
# hashing its arguments, looking up its entry); on a miss, the parts come from their own
# caches, which other choices share (the period's charts do not depend on the year).
@st.cache_resource(max_entries=32, show_spinner=False)
def _page(
    url: str,
    plan_id: int,
    rev: int,
    at: date,
    year: int,
    collectivity: str | None,
    section: BudgetSection | None,
    objective: str | None,
    _structure: plan_service.PlanStructure,
) -> BudgetPage:
    return BudgetPage(
        year=_year(
            url=url,
            plan_id=plan_id,
            year=year,
            rev=rev,
            collectivity=collectivity,
            section=section,
            objective=objective,
            _titles={o.code: o.title for o in _structure.objectives},
        ),
        charts=_period_charts(
            url=url, plan_id=plan_id, rev=rev, at=at, objective=objective, _structure=_structure
        ),
        alerts=_alerts(
            url=url, plan_id=plan_id, rev=rev, at=at, _alerts=data.budget_alerts(plan_id)
        ),
    )


def _money_row(label: str, t: budgets.Totals, **extra) -> dict:
    return {
        **extra,
        "Action": label,
        "Demandé": format_eur(t.requested_cents),
        "Arbitré": format_eur(t.arbitrated_cents),
        "Réalisé": format_eur(t.spent_cents),
        "Arbitré − demandé": format_eur(t.difference_cents)
        if t.difference_cents >= 0
        else "−" + format_eur(-t.difference_cents),
        "Réalisé / arbitré": format_percent(t.execution, 1) if t.execution is not None else "–",
        "Cofinancement": format_eur(t.cofinancing_cents) if t.cofinancing_cents else "",
    }


def year_table(year: budgets.YearBudget, objective_titles: dict[str, str]) -> pd.DataFrame:
    """One row per action, grouped by objective with subtotals, then per collectivity and total."""
    rows = []
    for code, totals in year.by_objective.items():
        for r in (r for r in year.rows if r.objective_code == code):
            rows.append(_money_row(f"{r.code} {r.title}", r.totals, Objectif=code))
        rows.append(
            _money_row(
                f"Sous-total objectif {code} : {objective_titles.get(code, '')}",
                totals,
                Objectif=code,
            )
        )
    for name, totals in year.by_collectivity.items():
        rows.append(_money_row(f"Total {name}", totals, Objectif=""))
    rows.append(_money_row("Total général", year.total, Objectif=""))
    return pd.DataFrame(rows)


def _period_table(splits: list[budgets.YearSplit]) -> pd.DataFrame:
    rows, cumulated = [], [0, 0, 0]
    years = sorted({s.year for s in splits})
    for y in years:
        lines = [s for s in splits if s.year == y]
        req = sum(s.totals.requested_cents for s in lines)
        arb = sum(s.totals.arbitrated_cents for s in lines)
        spent = sum(s.totals.spent_cents for s in lines)
        cumulated = [cumulated[0] + req, cumulated[1] + arb, cumulated[2] + spent]
        row = {"Année": str(y)}
        for s in lines:
            label = f"{s.collectivity} · {SECTION_LABELS[s.section].lower()}"
            row[f"{label} (arbitré)"] = format_eur(s.totals.arbitrated_cents)
        row |= {
            "Demandé": format_eur(req),
            "Arbitré": format_eur(arb),
            "Réalisé": format_eur(spent),
            "Cumul demandé": format_eur(cumulated[0]),
            "Cumul arbitré": format_eur(cumulated[1]),
            "Cumul réalisé": format_eur(cumulated[2]),
        }
        rows.append(row)
    return pd.DataFrame(rows).fillna("")


def _editor(
    user: User, plan_id: int, year: int, closed: bool, structure: plan_service.PlanStructure
) -> None:
    if closed:
        st.info(budgets.frozen_message(year))
    # The table, the form and the closing are built only once opened, each in its own
    # section, all three in one: most visits read the page.
    base = f"budget_base_{plan_id}_{year}"
    outer = lazy_section(f"Préparation budgétaire et arbitrage {year}", f"budget_{year}_prep_open")
    if outer is None:
        st.session_state.pop(base, None)  # read afresh when the table is next opened
        return
    with outer:
        label = "Modifier les lignes budgétaires (tableau modifiable)"
        if (box := lazy_section(label, f"budget_{year}_table_open")) is not None:
            with box:
                _lines_editor(user, plan_id, year, closed, structure)
        else:
            st.session_state.pop(base, None)
        if (box := lazy_section("Saisir une ligne", f"budget_{year}_line_open")) is not None:
            with box:
                _single_line_form(user, plan_id, year, structure)
        if not has_permission(user, Permission.CLOSE_BUDGET_YEAR):
            return
        closing = lazy_section("Clôture de l'arbitrage", f"budget_{year}_closing_open")
        if closing is not None:
            with closing:
                _closing(user, plan_id, year, closed)


def _lines_editor(
    user: User, plan_id: int, year: int, closed: bool, structure: plan_service.PlanStructure
) -> None:
    action_ids = {a.code: a.id for a in structure.actions}
    key = f"budget_base_{plan_id}_{year}"
    if key not in st.session_state:  # the lines are read once, when the table opens
        with db.session_scope(context.engine()) as session:
            lines = budgets.year_lines(session, plan_id, year)
        st.session_state[key] = pd.DataFrame(
            [
                {
                    "N°": line.id,
                    "Version": line.version,
                    "Action": line.action_code,
                    "Collectivité": line.collectivity,
                    "Section": SECTION_LABELS[line.section],
                    "Demandé (€)": format_eur(line.requested_cents, always_cents=True),
                    "Arbitré (€)": ""
                    if line.arbitrated_cents is None
                    else format_eur(line.arbitrated_cents, always_cents=True),
                    "Réalisé (€)": format_eur(line.spent_cents, always_cents=True),
                    "Date de décision": format_date(line.decision_date)
                    and line.decision_date.strftime("%d/%m/%Y"),
                    "Commentaire": line.comment,
                }
                for line in lines
            ],
            columns=[
                "N°",
                "Version",
                "Action",
                "Collectivité",
                "Section",
                "Demandé (€)",
                "Arbitré (€)",
                "Réalisé (€)",
                "Date de décision",
                "Commentaire",
            ],
        )
        reset_editor(f"budget_editor_{year}")  # the browser drops its edits of any earlier table
    st.caption(
        "Montants au format 12 500,50 ou 12500.5 ou 12 500 € ; dates JJ/MM/AAAA. "
        "Ajoutez une ligne pour une nouvelle demande. Tout est enregistré en une fois, "
        "ou rien si une ligne est invalide."
    )
    edited = editor(
        st.session_state[key],
        num_rows="add",
        hide_index=True,
        key=editor_key(f"budget_editor_{year}"),
        disabled=[
            "N°",
            "Version",
            *(["Demandé (€)", "Arbitré (€)", "Date de décision"] if closed else []),
        ],
        column_order=[
            "Action",
            "Collectivité",
            "Section",
            "Demandé (€)",
            "Arbitré (€)",
            "Réalisé (€)",
            "Date de décision",
            "Commentaire",
        ],
        column_config={
            "Action": st.column_config.SelectboxColumn(options=list(action_ids), required=True),
            "Collectivité": st.column_config.SelectboxColumn(
                options=structure.collectivities, required=True
            ),
            "Section": st.column_config.SelectboxColumn(options=list(_SECTIONS), required=True),
        },
    )
    if st.button(f"Enregistrer le budget {year}", type="primary", key=f"budget_save_{year}"):
        edits, problems = [], []
        for n, row in enumerate(edited.to_dict("records"), start=1):
            try:
                edits.append(
                    budgets.LineEdit(
                        action_id=action_ids.get(row.get("Action"), -1),
                        collectivity=row.get("Collectivité") or "",
                        section=_SECTIONS.get(row.get("Section"), row.get("Section") or ""),
                        requested_cents=parse_amount_cents(row.get("Demandé (€)")) or 0,
                        arbitrated_cents=parse_amount_cents(row.get("Arbitré (€)")),
                        spent_cents=parse_amount_cents(row.get("Réalisé (€)")) or 0,
                        decision_date=parse_date(row.get("Date de décision")),
                        comment=row.get("Commentaire") or "",
                        line_id=int(row["N°"]) if pd.notna(row.get("N°")) else None,
                        expected_version=int(row["Version"])
                        if pd.notna(row.get("Version"))
                        else None,
                    )
                )
            except CellError as exc:
                problems.append(f"Ligne {n} ({row.get('Action') or '?'}) : {exc}")
        if problems:
            st.error(
                "Aucune ligne budgétaire n'a été enregistrée.\n"
                + "\n".join(f"- {p}" for p in problems)
            )
            return
        try:
            with db.session_scope(context.engine(), write=True) as session:
                count = budgets.save_lines(session, user, plan_id, year, edits)
        except TrackerError as exc:
            st.error(str(exc))
            return
        del st.session_state[key]
        st.session_state["budget_saved"] = f"{count} ligne(s) enregistrée(s)."
        st.rerun()


def _single_line_form(
    user: User, plan_id: int, year: int, structure: plan_service.PlanStructure
) -> None:
    """One request or arbitration at a time: creates the line, or updates it if it exists."""
    with st.form(f"budget_line_{year}", clear_on_submit=True):
        cols = st.columns(3)
        labels = {a.code: f"{a.code} – {a.title}" for a in structure.actions}
        code = cols[0].selectbox("Action", list(labels), format_func=labels.__getitem__)
        collectivity = cols[1].selectbox("Collectivité", structure.collectivities)
        section = cols[2].selectbox("Section", list(_SECTIONS))
        cols = st.columns(4)
        requested = cols[0].text_input("Demandé (€)", placeholder="12 500,50")
        arbitrated = cols[1].text_input("Arbitré (€)", placeholder="vide si pas encore arbitré")
        spent = cols[2].text_input("Réalisé (€)", placeholder="0")
        decided = cols[3].text_input("Date de décision", placeholder="JJ/MM/AAAA")
        comment = st.text_input("Commentaire")
        submitted = st.form_submit_button(f"Enregistrer la ligne {year}")
    if not submitted:
        return
    action_id = next(a.id for a in structure.actions if a.code == code)
    with db.session_scope(context.engine()) as session:
        current = next(
            (
                line
                for line in budgets.year_lines(session, plan_id, year)
                if line.action_code == code
                and line.collectivity == collectivity
                and line.section is _SECTIONS[section]
            ),
            None,
        )

    def value(text: str, parse, kept):  # noqa: ANN001, ANN202
        # A blank field keeps what the line already holds.
        return kept if not text.strip() and current is not None else parse(text)

    try:
        edit = budgets.LineEdit(
            action_id=action_id,
            collectivity=collectivity,
            section=_SECTIONS[section],
            requested_cents=value(
                requested, parse_amount_cents, current and current.requested_cents
            )
            or 0,
            arbitrated_cents=value(
                arbitrated, parse_amount_cents, current and current.arbitrated_cents
            ),
            spent_cents=value(spent, parse_amount_cents, current and current.spent_cents) or 0,
            decision_date=value(decided, parse_date, current and current.decision_date),
            comment=comment or (current.comment if current else ""),
            line_id=current.id if current else None,
            expected_version=current.version if current else None,
        )
        with db.session_scope(context.engine(), write=True) as session:
            budgets.save_lines(session, user, plan_id, year, [edit])
    except CellError as exc:
        st.error(f"Montant ou date illisible : {exc}. Rien n'a été enregistré.")
        return
    except TrackerError as exc:
        st.error(str(exc))
        return
    st.session_state.pop(f"budget_base_{plan_id}_{year}", None)
    st.session_state["budget_saved"] = f"Ligne {code} {year} enregistrée."
    st.rerun()


def _closing(user: User, plan_id: int, year: int, closed: bool) -> None:
    try:
        if not closed:
            st.caption(
                f"Clôturer fige les montants demandés et arbitrés de {year} ; le réalisé "
                "reste modifiable."
            )
            if st.button(f"Clôturer l'arbitrage {year}", key=f"close_{year}"):
                with db.session_scope(context.engine(), write=True) as session:
                    budgets.close_year(session, user, plan_id, year)
                st.session_state["budget_saved"] = f"Arbitrage {year} clôturé."
                st.session_state.pop(f"budget_base_{plan_id}_{year}", None)
                st.rerun()
        else:
            reason = st.text_input("Raison de la réouverture", key=f"reopen_reason_{year}")
            if st.button(f"Rouvrir l'arbitrage {year}", key=f"reopen_{year}"):
                with db.session_scope(context.engine(), write=True) as session:
                    budgets.reopen_year(session, user, plan_id, year, reason)
                st.session_state["budget_saved"] = f"Arbitrage {year} rouvert."
                st.session_state.pop(f"budget_base_{plan_id}_{year}", None)
                st.rerun()
    except TrackerError as exc:
        st.error(str(exc))


def _filters(
    structure: plan_service.PlanStructure, titles: dict[str, str]
) -> tuple[str | None, BudgetSection | None, str | None]:
    """The collectivity, section and objective chosen (None: all), in a section built
    only once opened; folded, those chosen still apply and a caption says which."""
    if (box := lazy_section(FILTERS_TITLE, "budget_filters_open")) is not None:
        with box:
            cols = st.columns(3)
            # persist_state: a choice outlives its widget while the section is folded.
            cols[0].selectbox(
                "Collectivité",
                [None, *structure.collectivities],
                format_func=lambda c: "Toutes" if c is None else c,
                key="budget_collectivity",
                persist_state="page",
            )
            cols[1].selectbox(
                "Section",
                [None, *BudgetSection],
                format_func=lambda s: "Toutes" if s is None else SECTION_LABELS[s],
                key="budget_section",
                persist_state="page",
            )
            cols[2].selectbox(
                "Objectif",
                [None, *titles],
                format_func=lambda o: "Tous" if o is None else f"{o} : {titles[o]}",
                key="budget_objective",
                persist_state="page",
            )
    state = st.session_state
    collectivity = state.get("budget_collectivity")
    collectivity = collectivity if collectivity in structure.collectivities else None
    section = state.get("budget_section")
    section = section if isinstance(section, BudgetSection) else None
    objective = state.get("budget_objective")
    objective = objective if objective in titles else None
    if box is None:
        applied_filters(
            [
                ("Collectivité", [collectivity] if collectivity else []),
                ("Section", [SECTION_LABELS[section]] if section else []),
                ("Objectif", [f"{objective} : {titles[objective]}"] if objective else []),
            ]
        )
    return collectivity, section, objective


def render() -> None:
    st.title("Budget")
    plan_id = context.selected_plan_id()
    if plan_id is None:
        st.info("Aucun plan n'est enregistré.")
        return
    structure = data.plan_structure(plan_id)
    example_banner(structure.is_example)
    saved_message("budget_saved")
    url, rev = get_settings().database_url, context.revision()
    years = list(range(structure.first_year, structure.last_year + 1))
    this_year = min(max(date.today().year, years[0]), years[-1])
    year = st.selectbox("Année", years, index=years.index(this_year), key="budget_year", width=240)
    titles = {o.code: o.title for o in structure.objectives}
    collectivity, section, objective = _filters(structure, titles)
    page = context.reuse(
        _page,
        url=url,
        plan_id=plan_id,
        rev=rev,
        at=context.today(),
        year=year,
        collectivity=collectivity,
        section=section,
        objective=objective,
        _structure=structure,
    )
    shown = page.year
    year_data = shown.budget
    st.html(shown.summary)

    st.header(f"Budget {year} par action")
    if shown.table is None:
        st.info(f"Aucune ligne budgétaire pour {year} avec ces filtres.")
    else:
        table = shown.table
        grid(table, hide_index=True, key="budget_year_table", height=38 + 35 * min(len(table), 30))
        st.caption(
            "Cofinancement : total des cofinancements de l'action, toutes années. "
            "Le fichier pour les finances reprend toutes les lignes du plan, toutes années."
        )
    st.download_button(
        "Télécharger le budget (.xlsx)",
        lambda: _finance_export(url, plan_id, rev),
        file_name="budget.xlsx",
        mime=XLSX,
        key="budget_export",
    )

    st.header(f"Sur toute la période ({structure.first_year}-{structure.last_year})")
    charts = page.charts
    if not charts:
        st.info("Aucune ligne budgétaire dans ce plan.")
    else:
        (fig, table, key, alt), *others = charts
        chart_with_table(fig, table, key=key, alt=alt)
        # The other charts are built only once opened.
        if (box := lazy_section(MORE_CHARTS_TITLE, "budget_more_charts_open")) is not None:
            with box:
                for fig, table, key, alt in others:
                    chart_with_table(fig, table, key=key, alt=alt)

    st.header("Alertes")
    alerts = page.alerts
    if alerts is None:
        st.success("Aucune alerte budgétaire.")
    elif alerts.html is not None:
        st.html(alerts.html)
    else:
        # A long list is not read at a glance: its count by kind is; the list itself (a
        # grid of hundreds of rows on a large plan, sent on every run) once opened. The
        # title gives the count: the section folds again when the count changes.
        st.caption(alerts.caption)
        box = lazy_section(f"Voir les {alerts.count} alertes", "budget_alerts_open")
        if box is not None:
            with box:
                grid(alerts.table, hide_index=True, key="budget_alerts")

    user = auth.current_user()
    if has_permission(user, Permission.EDIT_PLAN):
        _editor(user, plan_id, year, year_data.closed, structure)
