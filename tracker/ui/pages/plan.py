"""« Le plan »: the plan's stakes, objectives and actions, and progress by objective."""

from __future__ import annotations

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
    Table,
    arrow_table,
    chart_with_table,
    example_banner,
    frozen_figure,
    plain,
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


def _header(structure: PlanStructure) -> None:
    # Headings hold only fixed text: Streamlit turns "--" into a dash in headings,
    # and user text must be shown exactly as typed.
    st.title("Le plan")
    plain(structure.name)
    example_banner(structure.is_example)
    facts = []
    if structure.adopted_on:
        facts.append(f"Adopté le {format_date(structure.adopted_on)}")
    if structure.deliberation_ref:
        facts.append(structure.deliberation_ref)
    facts.append(f"Période {structure.first_year}-{structure.last_year}")
    facts.append("Commun à : " + ", ".join(structure.collectivities))
    plain(" · ".join(facts))
    if structure.description:
        plain(structure.description)


@dataclass(frozen=True)
class PlanView:
    """The page's figures, chart and tables, built once per data change and day."""

    mean_progress: float | None
    late: int
    actions_per_objective: dict[str, int]
    figure: go.Figure | None  # None: no objective yet
    objectives: Table  # shown only: see ``arrow_table``
    actions: Table


# Shared by every session without a copy (st.cache_resource; nothing mutates it):
# building the chart and the table of every action took most of each run
# (benchmarks/pages.py). ``_structure`` is not part of the key: it follows from
# the others (the plan's structure at this revision and date).
@st.cache_resource(max_entries=32, show_spinner=False)
def _view(url: str, plan_id: int, rev: int, at: date, _structure: PlanStructure) -> PlanView:
    structure = _structure
    active = [a for a in structure.actions if a.state.health.value != "arretee"]
    counts = pd.Series([a.objective_code for a in structure.actions]).value_counts()
    objectives = _objectives_table(structure)
    figure = None if objectives.empty else charts.progress_by_objective(objectives)
    return PlanView(
        mean_progress=sum(a.state.progress for a in active) / len(active) if active else None,
        late=sum(1 for a in structure.actions if a.state.late),
        actions_per_objective={code: int(n) for code, n in counts.items()},
        figure=None if figure is None else frozen_figure(figure),
        objectives=arrow_table(objectives.rename(columns=strings.PROGRESS_TABLE_COLUMNS)),
        actions=arrow_table(_actions_table(structure)),
    )


def _structure_section(structure: PlanStructure, counts: dict[str, int]) -> None:
    st.header("Enjeux et objectifs")
    objectives = {o.code: o for o in structure.objectives}
    columns = st.columns(max(len(structure.stakes), 1))
    for column, stake in zip(columns, structure.stakes, strict=False):
        with column, st.container(border=True):
            st.markdown("**Enjeu**")
            plain(f"{stake.code} : {stake.title}")
            if stake.description:
                plain(stake.description)
            st.markdown("**Objectifs**")
            for code in stake.objective_codes:
                o = objectives[code]
                n = int(counts.get(code, 0))
                plain(f"Objectif {o.code} : {o.title} ({n} actions)")


def render() -> None:
    plan_id = context.selected_plan_id()
    if plan_id is None:
        st.title(strings.APP_TITLE)
        st.info(
            "Aucun plan n'est enregistré. Chargez le plan réel par import, ou le plan "
            "d'exemple avec « python -m tracker init --example »."
        )
        return
    structure = data.plan_structure(plan_id)
    view = _view(
        url=get_settings().database_url,
        plan_id=plan_id,
        rev=context.revision(),
        at=context.today(),
        _structure=structure,
    )
    _header(structure)

    mean, late = view.mean_progress, view.late
    cols = st.columns(5)
    cols[0].metric("Enjeux", len(structure.stakes))
    cols[1].metric("Objectifs", len(structure.objectives))
    cols[2].metric("Actions", len(structure.actions))
    cols[3].metric(
        "Avancement moyen",
        format_percent(mean) if mean is not None else "–",
        help="Moyenne des actions, hors actions abandonnées.",
    )
    cols[4].metric("Actions en retard", late, help="Fin prévue dépassée, action non réalisée.")

    _structure_section(structure, view.actions_per_objective)

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
    table = view.actions
    if not structure.actions:
        st.info("Ce plan n'a pas encore d'action.")
        return
    st.dataframe(
        table,
        hide_index=True,
        key="actions_table",
        height=38 + 35 * len(table),  # every action visible without an inner scroll
        column_config={
            "Code": st.column_config.TextColumn(width="small", pinned=True),
            "Action": st.column_config.TextColumn(width="large"),
            "Objectif": st.column_config.TextColumn(width="small"),
            "Avancement": st.column_config.ProgressColumn(
                min_value=0, max_value=100, format="%d %%", width="small"
            ),
            "Fin prévue": st.column_config.DateColumn(format="DD/MM/YYYY"),
        },
    )
    st.caption(
        "Statut, météo et santé sont signalés par un symbole et un libellé. "
        "Santé : écart entre l'avancement réel et l'avancement attendu selon le calendrier "
        "(« en retard sur le calendrier » au-delà de 10 points, « à risque » au-delà de 25 points, "
        "ou si l'action est bloquée, sous l'orage ou en retard)."
    )
