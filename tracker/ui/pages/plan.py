"""« Le plan »: the plan's stakes, objectives and actions, and progress by objective."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tracker import charts, strings
from tracker.formats import format_date, format_percent
from tracker.services.plans import PlanStructure, progress_by_objective
from tracker.settings import get_settings
from tracker.ui import context, data
from tracker.ui.components import (
    Metric,
    Table,
    arrow_table,
    chart_with_table,
    example_banner,
    frozen_figure,
    grid,
    metric_cards_html,
)


def _actions_table(structure: PlanStructure) -> pd.DataFrame:
    rows = []
    for a in structure.actions:
        rows.append(
            {
                "Code": a.code,
                "Action": a.title,
                "Objectif": a.objective_code,
                "Porteur": " et ".join(a.carriers),
                "Pilote": a.pilot_name or a.pilot_function,
                "Statut": strings.status_label(a.status),
                "Météo": strings.weather_label(a.weather),
                "Avancement": a.state.progress,
                "Santé": strings.health_label(a.state.health),
                "Fin prévue": a.planned_end_date,
                "En retard": "Oui" if a.state.late else "",
            }
        )
    return pd.DataFrame(rows)


def _objectives_table(structure: PlanStructure) -> pd.DataFrame:
    progress = progress_by_objective(structure)
    return pd.DataFrame(
        [
            {
                "objectif": f"{p.code}. {p.title}",
                "actions": p.action_count,
                "avancement": round(p.progress, 1) if p.progress is not None else None,
                "attendu": round(p.expected, 1) if p.expected is not None else None,
            }
            for p in progress
        ]
    )


def _text(text: str, *, tag: str = "p", attrs: str = "") -> str:
    """Text typed by a user, exactly as typed: escaped, its line breaks kept, and its
    direction (a right-to-left script) found by the browser."""
    return f'<{tag} dir="auto"{attrs}>{html.escape(text)}</{tag}>'


_INTRO_STYLE = """<style>
.tk-plan-intro p { margin: 0 0 0.25rem; white-space: pre-wrap; }
.tk-plan-intro .tk-plan-name { font-weight: 600; }
.tk-plan-intro .tk-metrics { margin-top: 1rem; }
</style>"""


def _intro_html(structure: PlanStructure, mean: float | None, late: int) -> str:
    """The plan's name, facts and description, then its key figures: one block.

    (Headings hold only fixed text: Streamlit turns "--" into a dash in headings,
    and user text must be shown exactly as typed.)"""
    facts = []
    if structure.adopted_on:
        facts.append(f"Adopté le {format_date(structure.adopted_on)}")
    if structure.deliberation_ref:
        facts.append(structure.deliberation_ref)
    facts.append(f"Période {structure.first_year}-{structure.last_year}")
    facts.append("Commun à : " + ", ".join(structure.collectivities))
    parts = [
        _text(structure.name, attrs=' class="tk-plan-name"'),
        _text(" · ".join(facts)),
    ]
    if structure.description:
        parts.append(_text(structure.description))
    figures = metric_cards_html(
        [
            Metric("Enjeux", str(len(structure.stakes))),
            Metric("Objectifs", str(len(structure.objectives))),
            Metric("Actions", str(len(structure.actions))),
            Metric(
                "Avancement moyen",
                format_percent(mean) if mean is not None else "–",
                help="Moyenne des actions, hors actions abandonnées.",
            ),
            Metric(
                "Actions en retard", str(late), help="Fin prévue dépassée, action non réalisée."
            ),
        ]
    )
    return f'{_INTRO_STYLE}<div class="tk-plan-intro">{"".join(parts)}{figures}</div>'


_STAKES_STYLE = """<style>
.tk-stakes { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr));
  gap: 1rem; margin-bottom: 1rem; }
.tk-stake { border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem;
  padding: 0.75rem 1rem; }
.tk-stake p { margin: 0 0 0.4rem; white-space: pre-wrap; }
.tk-stake ul { margin: 0; padding-left: 1.2rem; }
.tk-stake li { margin: 0 0 0.25rem; white-space: pre-wrap; }
</style>"""


def _stakes_html(structure: PlanStructure, counts: dict[str, int]) -> str:
    """Each stake with its objectives, side by side (as many per row as the width
    allows), in one block: a bordered card per stake, its objectives as a list."""
    objectives = {o.code: o for o in structure.objectives}
    cards = []
    for stake in structure.stakes:
        parts = [
            "<p><strong>Enjeu</strong></p>",
            _text(f"{stake.code} : {stake.title}"),
        ]
        if stake.description:
            parts.append(_text(stake.description))
        parts.append("<p><strong>Objectifs</strong></p>")
        items = [
            _text(
                f"Objectif {objectives[code].code} : {objectives[code].title} "
                f"({int(counts.get(code, 0))} actions)",
                tag="li",
            )
            for code in stake.objective_codes
        ]
        parts.append(f"<ul>{''.join(items)}</ul>")
        label = html.escape(f"Enjeu {stake.code}", quote=True)
        cards.append(f'<section class="tk-stake" aria-label="{label}">{"".join(parts)}</section>')
    return f'{_STAKES_STYLE}<div class="tk-stakes">{"".join(cards)}</div>'


@dataclass(frozen=True)
class PlanView:
    """The page's figures, chart and tables, built once per data change and day."""

    is_example: bool
    action_count: int
    intro: str  # name, facts, description and key figures, as one HTML block
    stakes: str  # the stakes and their objectives, as one HTML block
    figure: go.Figure | None  # None: no objective yet
    objectives: Table  # shown only: see ``arrow_table``
    actions: Table


# Shared by every session without a copy (st.cache_resource; nothing mutates it):
# building the chart and the table of every action took most of each run
# (benchmarks/pages.py). The plan's structure is read here, on a miss only: a run
# that finds the view makes no other cached read (each costs its key's hashing).
@st.cache_resource(max_entries=32, show_spinner=False)
def _view(url: str, plan_id: int, rev: int, at: date) -> PlanView:
    structure = data.plan_structure(plan_id)
    active = [a for a in structure.actions if a.state.health.value != "arretee"]
    counts = pd.Series([a.objective_code for a in structure.actions]).value_counts()
    objectives = _objectives_table(structure)
    figure = None if objectives.empty else charts.progress_by_objective(objectives)
    mean = sum(a.state.progress for a in active) / len(active) if active else None
    late = sum(1 for a in structure.actions if a.state.late)
    return PlanView(
        is_example=structure.is_example,
        action_count=len(structure.actions),
        intro=_intro_html(structure, mean, late),
        stakes=_stakes_html(structure, {code: int(n) for code, n in counts.items()}),
        figure=None if figure is None else frozen_figure(figure),
        objectives=arrow_table(objectives.rename(columns=strings.PROGRESS_TABLE_COLUMNS)),
        actions=arrow_table(_actions_table(structure)),
    )


# Built once (plain dicts: st.dataframe copies them before use).
_ACTION_COLUMNS = {
    "Code": st.column_config.TextColumn(width="small", pinned=True),
    "Action": st.column_config.TextColumn(width="large"),
    "Objectif": st.column_config.TextColumn(width="small"),
    "Avancement": st.column_config.ProgressColumn(
        min_value=0, max_value=100, format="%d %%", width="small"
    ),
    "Fin prévue": st.column_config.DateColumn(format="DD/MM/YYYY"),
}


def render() -> None:
    plan_id = context.selected_plan_id()
    if plan_id is None:
        st.title(strings.APP_TITLE)
        st.info(
            "Aucun plan n'est enregistré. Chargez le plan réel par import, ou le plan "
            "d'exemple avec « python -m tracker init --example »."
        )
        return
    view = context.reuse(
        _view,
        url=get_settings().database_url,
        plan_id=plan_id,
        rev=context.revision(),
        at=context.today(),
    )
    st.title("Le plan")
    example_banner(view.is_example)
    # What the plan is and its key figures, then its stakes: two blocks built once per
    # data change (an element per figure, column, card and line cost most of each run).
    st.html(view.intro)
    st.header("Enjeux et objectifs")
    st.html(view.stakes)

    st.header("Avancement")
    if view.figure is None:
        st.info("Ce plan n'a pas encore d'objectif.")
    else:
        chart_with_table(
            view.figure,
            view.objectives,
            key="progress_by_objective",
            alt="Avancement réel et attendu de chaque objectif, en pourcentage.",
        )
        st.caption(
            "Avancement attendu : progression linéaire entre la date de début et la date de fin "
            "prévue de chaque action. Les actions abandonnées ne sont pas comptées."
        )

    st.header("Les actions")
    if not view.action_count:
        st.info("Ce plan n'a pas encore d'action.")
        return
    grid(
        view.actions,
        hide_index=True,
        key="actions_table",
        height=38 + 35 * view.action_count,  # every action visible without an inner scroll
        column_config=_ACTION_COLUMNS,
    )
    st.caption(
        "Statut, météo et santé sont signalés par un symbole et un libellé. "
        "Santé : écart entre l'avancement réel et l'avancement attendu selon le calendrier "
        "(« en retard sur le calendrier » au-delà de 10 points, « à risque » au-delà de 25 points, "
        "ou si l'action est bloquée, sous l'orage ou en retard)."
    )
