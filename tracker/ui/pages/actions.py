"""« Actions »: every action of the plan, filtered, sorted, and opened in one click.

Filters are kept for the session (leaving the page and coming back keeps them)
and written into the address (?statut=...&q=...), so a filtered view can be
shared as a link.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from tracker import strings
from tracker.formats import format_datetime
from tracker.models import ActionStatus, Weather
from tracker.services.plans import (
    ActionFilter,
    ActionRow,
    PlanStructure,
    filter_actions,
    pilot_label,
)
from tracker.settings import get_settings
from tracker.ui import context, data, navigation
from tracker.ui.components import (
    Table,
    applied_filters,
    arrow_table,
    example_banner,
    grid,
    lazy_section,
)

_STORE = "actions_filters"
# filter name -> (query parameter, label)
_LISTS = {
    "stakes": ("enjeu", "Enjeu"),
    "objectives": ("objectif", "Objectif"),
    "statuses": ("statut", "Statut"),
    "weathers": ("meteo", "Météo"),
    "pilots": ("pilote", "Pilote"),
    "services": ("service", "Service"),
    "collectivities": ("collectivite", "Collectivité"),
}
_FLAGS = {
    "late_only": ("retard", "En retard seulement"),
    "update_due_only": ("maj", "Mise à jour attendue seulement"),
}
_TEXT = ("q", "Rechercher (code, titre, description)")


# The filters' choices and the filtered list are built once per data change (and
# filter), and shared by every session without a copy (st.cache_resource; nothing
# mutates them): formatting 500 actions took most of each run (benchmarks/pages.py).
# ``_structure`` is not part of the key: it follows from the others.
@st.cache_resource(max_entries=16, show_spinner=False)
def _options(
    url: str, plan_id: int, rev: int, at: date, _structure: PlanStructure
) -> dict[str, dict[str, str]]:
    """For each list filter: value -> label, in a stable order."""
    structure = _structure

    def sorted_unique(values):  # noqa: ANN001, ANN202
        return {v: v for v in sorted({v for v in values if v})}

    return {
        "stakes": {s.code: f"{s.code} : {s.title}" for s in structure.stakes},
        "objectives": {o.code: f"{o.code} : {o.title}" for o in structure.objectives},
        "statuses": {s.value: strings.status_label(s) for s in ActionStatus},
        "weathers": {w.value: strings.weather_label(w) for w in Weather},
        "pilots": sorted_unique(pilot_label(a) for a in structure.actions),
        "services": sorted_unique(a.service for a in structure.actions),
        "collectivities": {c: c for c in structure.collectivities},
    }


def _from_query_params() -> dict:
    params = st.query_params
    store: dict = {}
    for name, (param, _label) in _LISTS.items():
        store[name] = [v for v in params.get_all(param) if v] if param in params else []
    for name, (param, _label) in _FLAGS.items():
        store[name] = params.get(param) == "1"
    store["text"] = params.get(_TEXT[0], "")
    return store


def _to_query_params(store: dict, plan_id: int) -> None:
    wanted: dict[str, str | list[str]] = {}
    if "plan" in st.query_params:
        wanted["plan"] = str(plan_id)
    for name, (param, _label) in _LISTS.items():
        if store[name]:
            wanted[param] = list(store[name])
    for name, (param, _label) in _FLAGS.items():
        if store[name]:
            wanted[param] = "1"
    if store["text"]:
        wanted[_TEXT[0]] = store["text"]
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    normalised = {k: v if isinstance(v, list) else [v] for k, v in wanted.items()}
    if current != normalised:
        st.query_params.from_dict(wanted)


def _keep(name: str) -> None:
    st.session_state[_STORE][name] = st.session_state[f"actions_filter_{name}"]


def _filter_widgets(store: dict, options: dict[str, dict[str, str]]) -> None:
    columns = st.columns(4)
    for i, (name, (_param, label)) in enumerate(_LISTS.items()):
        choices = options[name]
        columns[i % 4].multiselect(
            label,
            list(choices),
            default=store[name],
            format_func=choices.__getitem__,
            key=f"actions_filter_{name}",
            on_change=_keep,
            args=(name,),
            placeholder="Tous",
        )
    for i, (name, (_param, label)) in enumerate(_FLAGS.items()):
        columns[(len(_LISTS) + i) % 4].checkbox(
            label,
            value=store[name],
            key=f"actions_filter_{name}",
            on_change=_keep,
            args=(name,),
        )


def _filters(structure: PlanStructure) -> ActionFilter:
    if _STORE not in st.session_state:
        st.session_state[_STORE] = _from_query_params()
    store = st.session_state[_STORE]
    options = context.reuse(
        _options,
        url=get_settings().database_url,
        plan_id=structure.plan_id,
        rev=context.revision(),
        at=context.today(),
        _structure=structure,
    )
    store["text"] = st.text_input(
        _TEXT[1],
        value=store["text"],
        key="actions_filter_text",
        on_change=_keep,
        args=("text",),
    )
    for name in _LISTS:
        store[name] = [v for v in store[name] if v in options[name]]
    # The other filters are built only while their section is open (most visits do not
    # filter); folded, those last chosen still apply, and a caption says which.
    if (box := lazy_section("Plus de filtres", "actions_filters_open")) is None:
        chosen = [(label, [options[n][v] for v in store[n]]) for n, (_p, label) in _LISTS.items()]
        applied_filters(chosen, [label for n, (_p, label) in _FLAGS.items() if store[n]])
    else:
        with box:
            _filter_widgets(store, options)
    return ActionFilter(
        stakes=tuple(store["stakes"]),
        objectives=tuple(store["objectives"]),
        statuses=tuple(ActionStatus(v) for v in store["statuses"]),
        weathers=tuple(Weather(v) for v in store["weathers"]),
        pilots=tuple(store["pilots"]),
        services=tuple(store["services"]),
        collectivities=tuple(store["collectivities"]),
        late_only=store["late_only"],
        update_due_only=store["update_due_only"],
        text=store["text"],
    )


def actions_frame(rows: list[ActionRow]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Code": a.code,
                "Action": a.title,
                "Objectif": a.objective_code,
                "Porteur": " et ".join(a.carriers),
                "Pilote": pilot_label(a),
                "Service": a.service,
                "Statut": strings.status_label(a.status),
                "Météo": strings.weather_label(a.weather),
                "Avancement": a.state.progress,
                "Fin prévue": a.planned_end_date,
                "Dernière mise à jour": format_datetime(a.updated_at),
                "En retard": "⚠ En retard" if a.state.late else "",
                "Mise à jour attendue": "⏰ Attendue" if a.state.update_due else "",
            }
            for a in rows
        ],
        columns=[
            "Code",
            "Action",
            "Objectif",
            "Porteur",
            "Pilote",
            "Service",
            "Statut",
            "Météo",
            "Avancement",
            "Fin prévue",
            "Dernière mise à jour",
            "En retard",
            "Mise à jour attendue",
        ],
    )


@st.cache_resource(max_entries=32, show_spinner=False)
def _listing(
    url: str, plan_id: int, rev: int, at: date, wanted: ActionFilter, _structure: PlanStructure
) -> tuple[list[ActionRow], Table]:
    """The actions that pass the filter, and their table (see ``arrow_table``)."""
    rows = filter_actions(_structure, wanted)
    return rows, arrow_table(actions_frame(rows))


def render() -> None:
    st.title("Actions")
    plan_id = context.selected_plan_id()
    if plan_id is None:
        st.info("Aucun plan n'est enregistré.")
        return
    structure = data.plan_structure(plan_id)
    example_banner(structure.is_example)
    if not structure.actions:
        st.info("Ce plan n'a pas encore d'action.")
        return
    wanted = _filters(structure)
    _to_query_params(st.session_state[_STORE], plan_id)
    url, rev, today = get_settings().database_url, context.revision(), context.today()
    rows, frame = context.reuse(
        _listing, url=url, plan_id=plan_id, rev=rev, at=today, wanted=wanted, _structure=structure
    )
    late = sum(1 for a in rows if a.state.late)
    due = sum(1 for a in rows if a.state.update_due)
    st.caption(
        f"{len(rows)} action(s) sur {len(structure.actions)} · {late} en retard · "
        f"{due} mise(s) à jour attendue(s). Cliquez sur une ligne pour ouvrir l'action ; "
        "cliquez sur un en-tête de colonne pour trier."
    )
    if not rows:
        st.info("Aucune action ne correspond à ces filtres.")
        return
    event = grid(
        frame,
        hide_index=True,
        key="actions_list",
        on_select="rerun",
        selection_mode="single-row",
        height=38 + 35 * min(len(frame), 25),
        column_config={
            "Code": st.column_config.TextColumn(width="small", pinned=True),
            "Action": st.column_config.TextColumn(width="large"),
            "Avancement": st.column_config.ProgressColumn(
                min_value=0, max_value=100, format="%d %%", width="small"
            ),
            "Fin prévue": st.column_config.DateColumn(format="DD/MM/YYYY"),
        },
    )
    selected = event.selection.rows if event else []
    if selected:
        action_id = rows[selected[0]].id
        st.switch_page(navigation.action_page(), query_params={"action": str(action_id)})
