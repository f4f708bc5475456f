"""« Indicateurs »: every indicator with its latest value, trend, progress toward
its target, status and a small chart; filters by objective, action, source and
status. A row opens the indicator's page."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
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
    Metric,
    Table,
    applied_filters,
    arrow_table,
    example_banner,
    grid,
    lazy_section,
    metric_cards_html,
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


_COUNTED = (
    IndicatorStatus.REACHED,
    IndicatorStatus.ON_TRACK,
    IndicatorStatus.LATE,
    IndicatorStatus.NO_RECENT,
)


@dataclass(frozen=True)
class ListView:
    """What the page needs of the plan's indicators whatever the filters."""

    is_example: bool
    rows: tuple[IndicatorRow, ...]
    counts: str  # the four status counts, one block (components.metric_cards)
    objectives: tuple[str, ...]  # the filters' choices
    actions: tuple[str, ...]


# Built once per data change (and day), and shared by every session without a copy
# (st.cache_resource; nothing mutates it): with a few hundred indicators, counting
# them and listing the filters' choices on every run cost milliseconds.
@st.cache_resource(max_entries=16, show_spinner=False)
def _list_view(url: str, plan_id: int, rev: int, at: date) -> ListView:
    rows = data.indicator_rows(plan_id)
    counts = {s: sum(1 for r in rows if r.state.status == s) for s in _COUNTED}
    return ListView(
        is_example=data.plan_structure(plan_id).is_example,
        rows=tuple(rows),
        # How each status is decided is one click below the table.
        counts=metric_cards_html(
            [Metric(strings.indicator_status_label(s), str(counts[s])) for s in _COUNTED]
        ),
        objectives=tuple(sorted({r.objective_code for r in rows if r.objective_code})),
        actions=tuple(sorted({c for r in rows for c in r.action_codes})),
    )


@dataclass(frozen=True)
class Shown:
    """The indicators the filters keep, and their table."""

    ids: tuple[int, ...]
    table: Table  # shown only: see ``arrow_table``


# Built once per data change and choice of filters, shared like the above: formatting
# every value and date took most of each run (benchmarks/pages.py). The key is the
# filters chosen (small), not the indicators they keep; ``_rows`` follows from the
# others (the plan's indicators at this revision).
@st.cache_resource(max_entries=32, show_spinner=False)
def _shown(
    url: str,
    plan_id: int,
    rev: int,
    at: date,
    filters: tuple[tuple[str, ...], ...],
    _rows: tuple[IndicatorRow, ...],
) -> Shown:
    objectives, actions, sources, statuses = (set(f) for f in filters)
    kept = [
        r
        for r in _rows
        if (not objectives or r.objective_code in objectives)
        and (not actions or set(r.action_codes) & actions)
        and (not sources or r.source_type.value in sources)
        and (not statuses or r.state.status.value in statuses)
    ]
    return Shown(ids=tuple(r.id for r in kept), table=arrow_table(indicators_frame(kept)))


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


def _filters(view: ListView) -> tuple[tuple[str, ...], ...]:
    """The filters chosen (objectives, actions, sources, statuses), as a cache key."""
    objectives, actions = list(view.objectives), list(view.actions)
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
    return (
        tuple(wanted_objectives),
        tuple(wanted_actions),
        tuple(s.value for s in wanted_sources),
        tuple(s.value for s in wanted_status),
    )


# Built once (plain dicts: st.dataframe copies them before use).
_COLUMNS = {
    "Code": st.column_config.TextColumn(width="small", pinned=True),
    "Indicateur": st.column_config.TextColumn(width="large"),
    "Mesurée le": st.column_config.DateColumn(format="DD/MM/YYYY"),
    "Vers la cible": st.column_config.ProgressColumn(
        min_value=0, max_value=100, format="%.0f %%", width="small"
    ),
    "Historique": st.column_config.LineChartColumn(
        "Historique", help="Les mesures successives, de la plus ancienne à la dernière"
    ),
}


def render() -> None:
    st.title("Indicateurs")
    plan_id = context.selected_plan_id()
    if plan_id is None:
        st.info("Aucun plan n'est enregistré.")
        return
    url, rev, today = get_settings().database_url, context.revision(), context.today()
    view = context.reuse(_list_view, url=url, plan_id=plan_id, rev=rev, at=today)
    example_banner(view.is_example)
    if not view.rows:
        st.info(
            "Ce plan n'a pas encore d'indicateur. Ajoutez-les dans l'onglet « Indicateurs » du "
            "modèle d'import (page Import / export)."
        )
        return
    st.html(view.counts)
    shown = context.reuse(
        _shown, url=url, plan_id=plan_id, rev=rev, at=today, filters=_filters(view), _rows=view.rows
    )
    st.caption(
        f"{len(shown.ids)} indicateur(s) sur {len(view.rows)}. « Vers la cible » : (dernière "
        "valeur − valeur de référence) / (cible − valeur de référence), entre 0 et 100 %, juste "
        "aussi quand la baisse est l'objectif. Cliquez sur une ligne pour ouvrir l'indicateur."
    )
    if not shown.ids:
        st.info("Aucun indicateur ne correspond à ces filtres.")
        return
    event = grid(
        shown.table,
        hide_index=True,
        key="indicators_list",
        on_select="rerun",
        selection_mode="single-row",
        height=38 + 35 * min(len(shown.ids), 25),
        column_config=_COLUMNS,
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
        indicator_id = shown.ids[selected[0]]
        st.switch_page(navigation.indicator_page(), query_params={"indicator": str(indicator_id)})
