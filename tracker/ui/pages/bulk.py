"""« Mise à jour groupée »: status, météo, progress and a comment for many actions,
saved in one transaction — typically just before a steering committee."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tracker import db, strings
from tracker.errors import TrackerError
from tracker.models import ActionStatus, ProgressMode, Weather
from tracker.services import actions as action_service
from tracker.services.permissions import can_edit_action
from tracker.ui import auth, context, data
from tracker.ui.components import editor, editor_key, example_banner, reset_editor, saved_message

_BASE = "bulk_base"  # the table as loaded: what the user edits, and the versions it shows
_STATUS = {strings.status_label(s): s for s in ActionStatus}
_WEATHER = {strings.weather_label(w): w for w in Weather}
COLUMNS = ["N°", "Version", "Code", "Action", "Statut", "Météo", "Avancement", "Commentaire"]
# What the editor shows: the id and version stay in the loaded table (``_BASE``), matched
# by row position (the editor's rows are fixed, and sorting them on screen does not
# reorder what it returns); every column sent costs each run its conversion to Arrow.
SHOWN = COLUMNS[2:]


def load_table(plan_id: int) -> pd.DataFrame:
    """The editable table of the actions this user may update (a snapshot)."""
    user = auth.current_user()
    structure = data.plan_structure(plan_id)
    rows = [a for a in structure.actions if can_edit_action(user, a)]
    return pd.DataFrame(
        [
            {
                "N°": a.id,
                "Version": a.version,
                "Code": a.code,
                "Action": a.title,
                "Statut": strings.status_label(a.status),
                "Météo": strings.weather_label(a.weather),
                "Avancement": a.state.progress,
                "Commentaire": "",
            }
            for a in rows
        ],
        columns=COLUMNS,
    )


def changed_rows(base: pd.DataFrame, edited: pd.DataFrame) -> list[action_service.BulkRow]:
    """The rows the user changed (or commented), as service inputs. ``edited``: the
    editor's rows, in the same order as ``base`` (it may lack the id and version)."""
    result = []
    for (_, before), (_, after) in zip(base.iterrows(), edited.iterrows(), strict=True):
        status = _STATUS.get(after["Statut"]) if after["Statut"] != before["Statut"] else None
        weather = _WEATHER.get(after["Météo"]) if after["Météo"] != before["Météo"] else None
        progress = None
        if after["Avancement"] != before["Avancement"]:
            progress = int(after["Avancement"]) if pd.notna(after["Avancement"]) else -1
        comment = after["Commentaire"] if isinstance(after["Commentaire"], str) else ""
        if status is None and weather is None and progress is None and not comment.strip():
            continue
        result.append(
            action_service.BulkRow(
                action_id=int(before["N°"]),
                expected_version=int(before["Version"]),
                status=status,
                weather=weather,
                progress=progress,
                comment=comment,
            )
        )
    return result


def render() -> None:
    st.title("Mise à jour groupée")
    plan_id = context.selected_plan_id()
    if plan_id is None:
        st.info("Aucun plan n'est enregistré.")
        return
    structure = data.plan_structure(plan_id)
    example_banner(structure.is_example)
    st.caption(
        "Modifiez le statut, la météo, l'avancement et ajoutez un commentaire (enregistré comme "
        "note) pour plusieurs actions, puis enregistrez : tout est enregistré en une fois, ou "
        "rien si une ligne est invalide. Une action passée « Réalisé » prend la date du jour "
        "comme fin réelle et 100 % d'avancement ; un abandon demande un commentaire."
    )
    saved_message("bulk_saved")
    key = f"{_BASE}_{plan_id}"
    if key not in st.session_state:
        loaded = load_table(plan_id)
        shown_table = loaded[SHOWN]
        # Column names as plain Python strings: the editor looks them up one by one on
        # every run, and pandas' default (Arrow-backed) strings are slower to index
        # (AppTest, 19 rows: 12.4 -> 11.9 ms a run).
        shown_table.columns = pd.Index(SHOWN, dtype=object)
        st.session_state[key] = (loaded, shown_table)
        reset_editor(f"bulk_editor_{plan_id}")  # the browser drops its edits of any earlier table
    base, shown_table = st.session_state[key]
    if base.empty:
        st.info("Aucune action ne vous est confiée dans ce plan.")
        return
    shown = set(base["N°"].tolist())  # once: per action, it cost 90 ms a run on 500 actions
    milestone_codes = {
        a.code
        for a in structure.actions
        if a.id in shown and a.progress_mode is ProgressMode.MILESTONES
    }
    if milestone_codes:
        st.caption(
            "Avancement calculé à partir des jalons (ne pas le modifier ici) : "
            + ", ".join(sorted(milestone_codes))
            + "."
        )
    edited = editor(
        shown_table,
        hide_index=True,
        key=editor_key(f"bulk_editor_{plan_id}"),
        num_rows="fixed",
        disabled=["Code", "Action"],
        column_config={
            "Action": st.column_config.TextColumn(width="large"),
            "Statut": st.column_config.SelectboxColumn(options=list(_STATUS), required=True),
            "Météo": st.column_config.SelectboxColumn(options=list(_WEATHER), required=True),
            "Avancement": st.column_config.NumberColumn(
                min_value=0, max_value=100, step=1, format="%d %%"
            ),
            "Commentaire": st.column_config.TextColumn(width="large"),
        },
    )
    # One row of buttons (a horizontal container: one block, where columns cost two more).
    with st.container(horizontal=True):
        save = st.button("Enregistrer toutes les modifications", type="primary")
        reload = st.button("Recharger le tableau (abandonner les saisies)")
    if reload:
        del st.session_state[key]
        st.rerun()
    if not save:
        return
    rows = changed_rows(base, edited)
    if not rows:
        st.info("Aucune modification à enregistrer.")
        return
    try:
        with db.session_scope(context.engine(), write=True) as session:
            count = action_service.bulk_update(session, auth.current_user(), rows)
    except TrackerError as exc:
        st.error(str(exc))
        return
    del st.session_state[key]
    st.session_state["bulk_saved"] = f"{count} action(s) enregistrée(s) en une seule fois."
    st.rerun()
