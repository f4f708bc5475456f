"""« Indicateurs »: every indicator with its latest value, trend, progress toward
its target, status and a small chart; filters by objective, action, source and
status. A row opens the indicator's page."""

from __future__ import annotations

import contextlib
from datetime import date

import pandas as pd
import streamlit as st

from tracker import strings
from tracker.charts import format_value
from tracker.formats import format_date
from tracker.models import IndicatorStatus, SourceType
from tracker.services.indicators import IndicatorRow, trend
from tracker.settings import get_settings
from tracker.ui import context, data, navigation
from tracker.ui.components import (
    Table,
    applied_filters,
    arrow_table,
    example_banner,
    lazy_section,
)


def indicators_frame(rows: list[IndicatorRow]) -> pd.DataFrame:
    records = []
    for r in rows:
        s = r.state
        arrow, good = trend(s, r.direction)
        if arrow and good is not None:
            arrow += " favorable" if good else " défavorable"
        records.append(
            {
                "Code": r.code,
                "Indicateur": r.name,
                "Dernière valeur": format_value(s.latest.value, r.unit) if s.latest else "–",
                "Mesurée le": s.latest.date if s.latest else None,
                "Évolution": arrow or "–",
                "Vers la cible": s.progress,
                "Statut": strings.indicator_status_label(s.status),
                "À jour": ("Oui" if s.up_to_date else "Non")
                + (f" (prochaine mesure le {format_date(s.next_due)})" if s.next_due else ""),
                "Cible": (
                    f"{format_value(r.target_value, r.unit)} en {r.target_date.year}"
                    if r.target_value is not None and r.target_date
                    else "–"
                ),
                "Historique": list(r.series),
                "Objectif": r.objective_code or "",
                "Actions": ", ".join(r.action_codes),
                "Source": strings.SOURCE_TYPE_LABELS[r.source_type],
            }
        )
    return pd.DataFrame(records)


# Built once per data change and choice of indicators, and shared by every session
# without a copy (st.cache_resource; nothing mutates it): formatting every value
# and date took most of each run (benchmarks/pages.py). ``_rows`` is not part of
# the key: it follows from the others (the indicators of ``ids``, at this revision).
@st.cache_resource(max_entries=32, show_spinner=False)
def _table(
    url: str, plan_id: int, rev: int, at: date, ids: tuple[int, ...], _rows: list[IndicatorRow]
) -> Table:
    return arrow_table(indicators_frame(_rows))


_STORE = "indicators_filters"


def _keep(name: str) -> None:
    """Filters outlive the page: Streamlit forgets a widget's state when it leaves."""
    st.session_state[_STORE][name] = st.session_state[f"indicators_{name}"]


def _kept(name: str, options: list) -> list:
    """A filter's values as last chosen (those still offered)."""
    return [o for o in st.session_state.setdefault(_STORE, {}).get(name, []) if o in options]


def _filter(column, name: str, label: str, options: list, placeholder: str, **kwargs) -> list:  # noqa: ANN001
    kept = _kept(name, options)
    if column is None:  # the filters' section is folded: the values last chosen apply
        return kept
    return column.multiselect(
        label,
        options,
        default=kept,
        key=f"indicators_{name}",
        placeholder=placeholder,
        on_change=_keep,
        args=(name,),
        **kwargs,
    )


def _filters(rows: list[IndicatorRow]) -> list[IndicatorRow]:
    objectives = sorted({r.objective_code for r in rows if r.objective_code})
    actions = sorted({c for r in rows for c in r.action_codes})
    # The widgets are built only while the section is open (most visits do not filter);
    # folded, the filters last chosen still apply, and a caption says which. (Its title
    # and initial state are fixed: a section whose title or default changes is a new
    # one for Streamlit, and would fold while the user is in it.)
    box = lazy_section("Filtres", "indicators_filters_open")
    with box or contextlib.nullcontext():
        cols = st.columns(4) if box is not None else [None] * 4
        wanted_objectives = _filter(cols[0], "objective", "Objectif", objectives, "Tous")
        wanted_actions = _filter(cols[1], "action", "Action", actions, "Toutes")
        wanted_sources = _filter(
            cols[2],
            "source",
            "Source",
            list(SourceType),
            "Toutes",
            format_func=strings.SOURCE_TYPE_LABELS.__getitem__,
        )
        wanted_status = _filter(
            cols[3],
            "status",
            "Statut",
            list(IndicatorStatus),
            "Tous",
            format_func=strings.INDICATOR_STATUS_LABELS.__getitem__,
        )
    if box is None:
        applied_filters(
            [
                ("Objectif", wanted_objectives),
                ("Action", wanted_actions),
                ("Source", [strings.SOURCE_TYPE_LABELS[s] for s in wanted_sources]),
                ("Statut", [strings.INDICATOR_STATUS_LABELS[s] for s in wanted_status]),
            ]
        )
    return [
        r
        for r in rows
        if (not wanted_objectives or r.objective_code in wanted_objectives)
        and (not wanted_actions or set(r.action_codes) & set(wanted_actions))
        and (not wanted_sources or r.source_type in wanted_sources)
        and (not wanted_status or r.state.status in wanted_status)
    ]


def render() -> None:
    st.title("Indicateurs")
    plan_id = context.selected_plan_id()
    if plan_id is None:
        st.info("Aucun plan n'est enregistré.")
        return
    structure = data.plan_structure(plan_id)
    example_banner(structure.is_example)
    rows = data.indicator_rows(plan_id)
    if not rows:
        st.info(
            "Ce plan n'a pas encore d'indicateur. Ajoutez-les dans l'onglet « Indicateurs » du "
            "modèle d'import (page Import / export)."
        )
        return
    counts = {s: sum(1 for r in rows if r.state.status == s) for s in IndicatorStatus}
    cols = st.columns(4)
    for col, status in zip(
        cols,
        (
            IndicatorStatus.REACHED,
            IndicatorStatus.ON_TRACK,
            IndicatorStatus.LATE,
            IndicatorStatus.NO_RECENT,
        ),
        strict=True,
    ):
        col.metric(
            strings.indicator_status_label(status),
            counts[status],
            help=strings.INDICATOR_STATUS_HELP[status].capitalize() + ".",
        )
    shown = _filters(rows)
    st.caption(
        f"{len(shown)} indicateur(s) sur {len(rows)}. « Vers la cible » : (dernière valeur − "
        "valeur de référence) / (cible − valeur de référence), entre 0 et 100 %, juste aussi "
        "quand la baisse est l'objectif. Cliquez sur une ligne pour ouvrir l'indicateur."
    )
    if not shown:
        st.info("Aucun indicateur ne correspond à ces filtres.")
        return
    frame = _table(
        url=get_settings().database_url,
        plan_id=plan_id,
        rev=context.revision(),
        at=context.today(),
        ids=tuple(r.id for r in shown),
        _rows=shown,
    )
    event = st.dataframe(
        frame,
        hide_index=True,
        key="indicators_list",
        on_select="rerun",
        selection_mode="single-row",
        height=38 + 35 * min(len(frame), 25),
        column_config={
            "Code": st.column_config.TextColumn(width="small", pinned=True),
            "Indicateur": st.column_config.TextColumn(width="large"),
            "Mesurée le": st.column_config.DateColumn(format="DD/MM/YYYY"),
            "Vers la cible": st.column_config.ProgressColumn(
                min_value=0, max_value=100, format="%.0f %%", width="small"
            ),
            "Historique": st.column_config.LineChartColumn(
                "Historique", help="Les mesures successives, de la plus ancienne à la dernière"
            ),
        },
    )
    if (box := lazy_section("Comment le statut est-il calculé ?", "indicators_help")) is not None:
        box.markdown(
            "\n".join(
                f"- **{strings.indicator_status_label(status)}** : "
                f"{strings.INDICATOR_STATUS_HELP[status]}."
                for status in IndicatorStatus
            )
        )
    selected = event.selection.rows if event else []
    if selected:
        indicator_id = shown[selected[0]].id
        st.switch_page(navigation.indicator_page(), query_params={"indicator": str(indicator_id)})
