"""« Fiche action »: every field, milestones, notes, budget, indicators, history — and
the update form for those allowed to change the action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from tracker import db, strings
from tracker.charts import format_value
from tracker.errors import ConflictError, TrackerError
from tracker.formats import format_date, format_datetime, format_eur, format_percent
from tracker.models import ActionStatus, Priority, ProgressMode, Role, User, Weather
from tracker.services import actions as action_service
from tracker.services import budgets, users
from tracker.services.actions import ActionDetail, MilestoneInput
from tracker.services.indicators import IndicatorRow
from tracker.services.permissions import Permission, can_edit_action, has_permission
from tracker.settings import get_settings
from tracker.ui import auth, context, data, navigation
from tracker.ui.components import (
    Metric,
    editor,
    editor_key,
    example_banner,
    lazy_section,
    metric_cards_html,
    plain,
    reset_editor,
    saved_message,
)
from tracker.ui.tables import table_block

_EDITOR_ONLY = (
    "title",
    "progress_mode",
    "priority",
    "start_date",
    "planned_end_date",
    "pilot_name",
    "pilot_function",
    "service",
    "elected_referent",
    "partners",
    "update_period_days",
    "description",
    "pilot_user_id",
)


def _action_id() -> int | None:
    raw = st.query_params.get("action", "")
    return int(raw) if raw.isdigit() else None


def _key(action_id: int, name: str) -> str:
    return f"action_{action_id}_{name}"


def _info_table(detail: ActionDetail) -> pd.DataFrame:
    a = detail.action
    rows = [
        ("Objectif", f"{detail.objective_code} : {detail.objective_title}"),
        ("Enjeu(x)", ", ".join(detail.stake_codes)),
        ("Porteur", " et ".join(detail.carriers)),
        ("Pilote", a.pilot_name),
        ("Fonction du pilote", a.pilot_function),
        ("Service", a.service),
        ("Élu référent", a.elected_referent),
        ("Partenaires", a.partners),
        ("Priorité", strings.PRIORITY_LABELS[a.priority]),
        ("Début", format_date(a.start_date)),
        ("Fin prévue", format_date(a.planned_end_date)),
        ("Fin réelle", format_date(a.actual_end_date)),
        ("Mode d'avancement", strings.PROGRESS_MODE_LABELS[a.progress_mode]),
        ("Périodicité de mise à jour", f"{a.update_period_days} jours"),
        ("Dernière mise à jour", format_datetime(a.updated_at)),
        ("Version", str(a.version)),
    ]
    if a.archived:
        rows.append(("Archivée", "Oui"))
    return pd.DataFrame(rows, columns=["Champ", "Valeur"])


def _summary_html(detail: ActionDetail) -> str:
    """The action's key figures, as one block (components.metric_cards)."""
    a, s = detail.action, detail.state
    return metric_cards_html(
        [
            Metric("Statut", strings.status_label(a.status)),
            Metric("Météo", strings.weather_label(a.weather)),
            Metric("Avancement", format_percent(s.progress)),
            Metric(
                "Attendu selon le calendrier",
                format_percent(s.expected) if s.expected is not None else "–",
            ),
            Metric("Santé", strings.health_label(s.health)),
        ]
    )


def _summary(detail: ActionDetail, view: ActionView) -> None:
    a, s = detail.action, detail.state
    st.html(view.summary)
    flags = []
    if s.late:
        flags.append("⚠ En retard : la fin prévue est dépassée.")
    if s.update_due:
        flags.append(
            f"⏰ Mise à jour attendue : pas de mise à jour depuis plus de "
            f"{a.update_period_days} jours."
        )
    if a.archived:
        flags.append("Cette action est archivée.")
    for flag in flags:
        st.warning(flag)


def _init_form(action_id: int, detail: ActionDetail) -> None:
    a = detail.action
    defaults = {
        "title": a.title,
        "status": a.status,
        "weather": a.weather,
        "progress": a.progress,
        "progress_mode": a.progress_mode,
        "priority": a.priority,
        "start_date": a.start_date,
        "planned_end_date": a.planned_end_date,
        "actual_end_date": a.actual_end_date,
        "pilot_name": a.pilot_name,
        "pilot_function": a.pilot_function,
        "service": a.service,
        "elected_referent": a.elected_referent,
        "partners": a.partners,
        "update_period_days": a.update_period_days,
        "description": a.description,
        "pilot_user_id": a.pilot_user_id,
        "note": "",
        "confirm_done": False,
    }
    if _key(action_id, "base_version") not in st.session_state:
        st.session_state[_key(action_id, "base_version")] = a.version
        for name, value in defaults.items():
            st.session_state[_key(action_id, name)] = value


def _reset_form(action_id: int) -> None:
    for key in [k for k in st.session_state if str(k).startswith(f"action_{action_id}_")]:
        del st.session_state[key]


@st.cache_resource(max_entries=8, show_spinner=False)
def _pilot_accounts(url: str, rev: int, role: Role, _user: User) -> list[tuple[int, str]]:
    """The pilot accounts an editor may link (the same for every account of ``role``)."""
    with db.session_scope(db.get_engine(url)) as session:
        return users.pilot_accounts(session, _user)


def _edit_section(user: User, detail: ActionDetail) -> None:
    """The update form, built only once its section is opened (most visits read the page).

    Its fields live in the session state (``_init_form``); folding the section drops
    them, so that it opens again on the action as saved, not on stale fields (Streamlit
    forgets the state of widgets that are not shown)."""
    a = detail.action
    box = lazy_section("Mettre à jour l'action", _key(a.id, "edit_open"))
    if box is None:
        st.session_state.pop(_key(a.id, "base_version"), None)
        return
    with box:
        _edit_form(user, detail)


def _edit_form(user: User, detail: ActionDetail) -> None:
    a = detail.action
    k = lambda name: _key(a.id, name)  # noqa: E731
    _init_form(a.id, detail)
    editor = has_permission(user, Permission.EDIT_PLAN)
    if not editor:
        st.caption(
            "En tant que pilote, vous mettez à jour le statut, la météo, l'avancement, "
            "la date de fin réelle, les jalons et les notes."
        )
    if editor:
        st.text_input("Titre", key=k("title"))
    cols = st.columns(3)
    status = cols[0].selectbox(
        "Statut", list(ActionStatus), key=k("status"), format_func=strings.status_label
    )
    cols[1].selectbox("Météo", list(Weather), key=k("weather"), format_func=strings.weather_label)
    mode = st.session_state[k("progress_mode")]
    cols[2].number_input(
        "Avancement (%)",
        min_value=0,
        max_value=100,
        step=5,
        key=k("progress"),
        disabled=mode is ProgressMode.MILESTONES,
        help="Calculé à partir des jalons" if mode is ProgressMode.MILESTONES else None,
    )
    newly_done = status is ActionStatus.REALISE and a.status is not ActionStatus.REALISE
    if newly_done and st.session_state[k("actual_end_date")] is None:
        st.session_state[k("actual_end_date")] = date.today()  # pre-filled, can be changed
    cols = st.columns(3)
    if editor:
        cols[0].date_input("Début", key=k("start_date"), format="DD/MM/YYYY")
        cols[1].date_input("Fin prévue", key=k("planned_end_date"), format="DD/MM/YYYY")
    cols[2].date_input("Fin réelle", key=k("actual_end_date"), format="DD/MM/YYYY")
    if editor:
        cols = st.columns(3)
        cols[0].selectbox(
            "Mode d'avancement",
            list(ProgressMode),
            key=k("progress_mode"),
            format_func=strings.PROGRESS_MODE_LABELS.__getitem__,
        )
        cols[1].selectbox(
            "Priorité",
            list(Priority),
            key=k("priority"),
            format_func=strings.PRIORITY_LABELS.__getitem__,
        )
        cols[2].number_input(
            "Périodicité de mise à jour (jours)", min_value=1, step=1, key=k("update_period_days")
        )
        cols = st.columns(2)
        cols[0].text_input("Pilote (nom)", key=k("pilot_name"))
        cols[1].text_input("Fonction du pilote", key=k("pilot_function"))
        accounts = dict(
            _pilot_accounts(get_settings().database_url, context.revision(), Role(user.role), user)
        )
        if a.pilot_user_id is not None and a.pilot_user_id not in accounts:
            accounts[a.pilot_user_id] = "(compte désactivé ou non pilote)"
        st.selectbox(
            "Compte du pilote (pour qu'il mette à jour l'action)",
            [None, *accounts],
            key=k("pilot_user_id"),
            format_func=lambda i: "Aucun" if i is None else accounts[i],
        )
        cols = st.columns(2)
        cols[0].text_input("Service", key=k("service"))
        cols[1].text_input("Élu référent", key=k("elected_referent"))
        st.text_input("Partenaires", key=k("partners"))
        st.text_area("Description", key=k("description"))
    st.text_area(
        "Note (facultative ; obligatoire pour un abandon : en donner la raison)",
        key=k("note"),
        max_chars=action_service.MAX_NOTE_LENGTH,
    )
    if newly_done:
        st.checkbox(
            "Je confirme que l'action est réalisée : son avancement passera à 100 %.",
            key=k("confirm_done"),
        )
    if not st.button("Enregistrer les modifications", type="primary", key=k("save")):
        return
    if newly_done and not st.session_state[k("confirm_done")]:
        st.warning("Cochez la confirmation : une action réalisée passe à 100 %.")
        return
    fields = action_service.PILOT_FIELDS | (set(_EDITOR_ONLY) if editor else set())
    changes = {name: st.session_state[k(name)] for name in fields}
    changes["progress"] = int(changes["progress"])
    if "update_period_days" in changes:
        changes["update_period_days"] = int(changes["update_period_days"])
    try:
        with db.session_scope(context.engine(), write=True) as session:
            action_service.update_action(
                session,
                user,
                a.id,
                expected_version=st.session_state[k("base_version")],
                changes=changes,
                note=st.session_state[k("note")],
            )
    except ConflictError as exc:
        st.error(str(exc))
        # The user's input stays; the next save applies it over the current version.
        with db.session_scope(context.engine()) as session:
            st.session_state[k("base_version")] = action_service.get_action(session, a.id).version
        return
    except TrackerError as exc:
        st.error(str(exc))
        return
    _reset_form(a.id)
    st.session_state["action_saved"] = f"Action {a.code} enregistrée."
    st.rerun()


def _milestones(user: User | None, detail: ActionDetail, view: ActionView, editable: bool) -> None:
    a = detail.action
    st.header("Jalons")
    if view.milestones is not None:
        st.html(view.milestones)
    else:
        st.info("Aucun jalon.")
    if not editable:
        return
    label = "Modifier les jalons (ajouter, modifier, terminer, réordonner, supprimer)"
    if (box := lazy_section(label, _key(a.id, "milestones_open"))) is None:
        return
    with box:
        edited = editor(
            view.milestone_source,  # copied by the editor
            num_rows="dynamic",
            hide_index=True,
            key=editor_key(_key(a.id, "milestones_editor")),
            disabled=["N°"],
            column_config={
                "N°": st.column_config.NumberColumn(help="Attribué à l'enregistrement"),
                "Ordre": st.column_config.NumberColumn(
                    min_value=1, step=1, help="Changez l'ordre pour réordonner"
                ),
                "Titre": st.column_config.TextColumn(required=True),
                "Échéance": st.column_config.DateColumn(format="DD/MM/YYYY"),
                "Réalisé le": st.column_config.DateColumn(
                    format="DD/MM/YYYY", help="Renseignez la date pour terminer le jalon"
                ),
                "Poids": st.column_config.NumberColumn(min_value=0, step=1, default=1),
            },
        )
        if st.button("Enregistrer les jalons", key=_key(a.id, "save_milestones")):
            rows = edited.reset_index(drop=True)
            rows["_order"] = rows["Ordre"].fillna(len(rows) + 1)
            rows = rows.sort_values(["_order"], kind="stable")
            inputs = [
                MilestoneInput(
                    id=int(r["N°"]) if pd.notna(r["N°"]) else None,
                    title=str(r["Titre"] if pd.notna(r["Titre"]) else ""),
                    due_date=r["Échéance"].date() if pd.notna(r["Échéance"]) else None,
                    done_date=r["Réalisé le"].date() if pd.notna(r["Réalisé le"]) else None,
                    weight=int(r["Poids"]) if pd.notna(r["Poids"]) else 1,
                )
                for _, r in rows.iterrows()
            ]
            try:
                with db.session_scope(context.engine(), write=True) as session:
                    warnings = action_service.save_milestones(
                        session, user, a.id, expected_version=a.version, milestones=inputs
                    )
            except TrackerError as exc:
                st.error(str(exc))
            else:
                _reset_form(a.id)
                reset_editor(_key(a.id, "milestones_editor"))
                st.session_state["action_saved"] = "Jalons enregistrés." + (
                    " " + " ".join(warnings) if warnings else ""
                )
                st.rerun()


def _notes(user: User | None, detail: ActionDetail, view: ActionView, can_note: bool) -> None:
    st.header("Notes")
    key = _key(detail.action.id, "note_open")
    if can_note and (box := lazy_section("Ajouter une note", key)) is not None:
        with box, st.form(_key(detail.action.id, "note_form"), clear_on_submit=True):
            text = st.text_area("Nouvelle note", max_chars=action_service.MAX_NOTE_LENGTH)
            if st.form_submit_button("Ajouter la note"):
                try:
                    with db.session_scope(context.engine(), write=True) as session:
                        action_service.add_note(session, user, detail.action.id, text)
                except TrackerError as exc:
                    st.error(str(exc))
                else:
                    st.session_state["action_saved"] = "Note ajoutée."
                    st.rerun()
    if view.notes is None:
        st.info("Aucune note.")
    else:
        # One table (text typed by users, escaped) rather than a block of elements per
        # note: an action may carry dozens of notes, all sent on every run.
        st.html(view.notes)


def _notes_html(detail: ActionDetail) -> str | None:
    if not detail.notes:
        return None
    frame = pd.DataFrame(
        {
            "Date": [format_datetime(n.created_at) for n in detail.notes],
            "Auteur": [n.author for n in detail.notes],
            "Note": [n.text for n in detail.notes],
        }
    )
    return table_block(frame, caption="Notes de l'action, les plus récentes d'abord")


def _budget(view: ActionView) -> None:
    st.header("Budget")
    for alert in view.alerts:
        st.warning(alert)
    if view.budget_lines is None:
        st.info("Aucune ligne budgétaire.")
    else:
        st.caption(view.budget_totals)
        st.html(view.budget_lines)
    if view.fundings is not None:
        st.subheader("Cofinancements")
        st.html(view.fundings)


def _budget_tables(
    detail: ActionDetail,
) -> tuple[pd.DataFrame | None, str, pd.DataFrame | None]:
    """The budget lines, their totals (a sentence) and the co-financing."""
    lines, totals, fundings = None, "", None
    if detail.budget_lines:
        lines = pd.DataFrame(
            [
                {
                    "Année": b.year,
                    "Collectivité": b.collectivity,
                    "Section": b.section,
                    "Demandé": format_eur(b.requested_cents),
                    "Arbitré": format_eur(b.arbitrated_cents),
                    "Réalisé": format_eur(b.spent_cents),
                    "Commentaire": b.comment,
                }
                for b in detail.budget_lines
            ]
        )
        totals = (
            f"Total demandé {format_eur(sum(b.requested_cents for b in detail.budget_lines))} · "
            f"arbitré {format_eur(sum(b.arbitrated_cents or 0 for b in detail.budget_lines))} · "
            f"réalisé {format_eur(sum(b.spent_cents for b in detail.budget_lines))}"
        )
    if detail.fundings:
        fundings = pd.DataFrame(
            [{"Financeur": f, "Montant": format_eur(c), "Statut": s} for f, c, s in detail.fundings]
        )
    return lines, totals, fundings


def _indicators(view: ActionView) -> None:
    st.header("Indicateurs liés")
    if view.indicators is None:
        st.info("Aucun indicateur lié à cette action.")
        return
    # Each code and name leads to the indicator's page (a real link, one table: a
    # page link per indicator cost an element each on every run).
    st.html(view.indicators)
    st.caption("Cliquez sur le code ou le nom d'un indicateur pour ouvrir sa fiche.")


def _indicators_table(rows: list[IndicatorRow]) -> pd.DataFrame | None:
    if not rows:
        return None
    return pd.DataFrame(
        [
            {
                "Code": r.code,
                "Indicateur": r.name,
                "Dernière valeur": format_value(r.state.latest.value, r.unit)
                if r.state.latest
                else "–",
                "Mesurée le": format_date(r.state.latest.date) if r.state.latest else "",
                "Vers la cible": format_percent(r.state.progress)
                if r.state.progress is not None
                else "–",
                "Statut": strings.indicator_status_label(r.state.status),
                "Cible": format_value(r.target_value, r.unit)
                if r.target_value is not None
                else "–",
            }
            for r in rows
        ]
    )


def _history(view: ActionView) -> None:
    st.header("Historique")
    if view.history is None:
        st.info("Aucun changement enregistré.")
        return
    st.html(view.history)


def _history_table(detail: ActionDetail) -> pd.DataFrame | None:
    if not detail.history:
        return None
    return pd.DataFrame(
        [
            {
                "Date": format_datetime(h.at),
                "Par": h.user,
                "Quoi": h.what,
                "Changement": h.change,
            }
            for h in detail.history
        ]
    )


def _milestone_tables(detail: ActionDetail) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """The milestones as shown, and as the editor's starting point."""
    shown = None
    if detail.milestones:
        shown = pd.DataFrame(
            [
                {
                    "Jalon": m.title,
                    "Échéance": format_date(m.due_date),
                    "Réalisé le": format_date(m.done_date),
                    "Poids": m.weight,
                    "À signaler": ", ".join(m.flags),
                }
                for m in detail.milestones
            ]
        )
    source = pd.DataFrame(
        [
            {
                "N°": m.id,
                "Ordre": i + 1,
                "Titre": m.title,
                "Échéance": m.due_date,
                "Réalisé le": m.done_date,
                "Poids": m.weight,
            }
            for i, m in enumerate(detail.milestones)
        ],
        columns=["N°", "Ordre", "Titre", "Échéance", "Réalisé le", "Poids"],
    )
    source["Échéance"] = pd.to_datetime(source["Échéance"])
    source["Réalisé le"] = pd.to_datetime(source["Réalisé le"])
    return shown, source


@dataclass(frozen=True)
class ActionView:
    """What the page shows, built once per data change and day: the key figures and
    the read-only tables as escaped HTML (one element each: tracker.ui.tables)."""

    summary: str
    info: str
    milestones: str | None
    milestone_source: pd.DataFrame  # the editor's starting point (it copies it)
    alerts: tuple[str, ...]
    budget_lines: str | None
    budget_totals: str
    fundings: str | None
    indicators: str | None
    history: str | None
    notes: str | None  # the notes, most recent first


# Shared by every session without a copy (st.cache_resource; nothing mutates it):
# formatting the tables took much of each run (benchmarks/pages.py). ``_detail`` is
# not part of the key: it follows from the others (the action's page data at this
# revision and date).
@st.cache_resource(max_entries=64, show_spinner=False)
def _view(url: str, action_id: int, rev: int, at: date, _detail: ActionDetail) -> ActionView:
    a = _detail.action
    milestones, source = _milestone_tables(_detail)
    lines, totals, fundings = _budget_tables(_detail)
    linked = [r for r in data.indicator_rows(a.plan_id) if a.id in r.action_ids]
    indicators, history = _indicators_table(linked), _history_table(_detail)

    def shown(frame: pd.DataFrame | None, caption: str, **options) -> str | None:  # noqa: ANN003
        return None if frame is None else table_block(frame, caption=caption, **options)

    links = [navigation.indicator_link(r.id) for r in linked]
    return ActionView(
        summary=_summary_html(_detail),
        info=table_block(_info_table(_detail), caption="Fiche de l'action", scroll_after=40),
        milestones=shown(milestones, "Jalons de l'action, dans l'ordre"),
        milestone_source=source,
        alerts=tuple(
            f"{budgets.ALERT_KINDS[alert.kind]} : {alert.message}"
            for alert in data.budget_alerts(a.plan_id)
            if alert.action_code == a.code
        ),
        budget_lines=shown(lines, "Lignes budgétaires de l'action"),
        budget_totals=totals,
        fundings=shown(fundings, "Cofinancements de l'action"),
        indicators=shown(
            indicators,
            "Indicateurs liés à l'action",
            links={"Code": links, "Indicateur": links},
        ),
        history=shown(history, "Historique des changements, les plus récents d'abord"),
        notes=_notes_html(_detail),
    )


def _archive(user: User | None, detail: ActionDetail) -> None:
    a = detail.action
    wanted = None
    if not a.archived and has_permission(user, Permission.EDIT_PLAN):
        box = lazy_section("Archiver l'action", _key(a.id, "archive_open"))
        if box is not None:
            with box:
                st.caption(
                    "Une action archivée disparaît des tableaux et des calculs ; elle n'est "
                    "jamais supprimée et un administrateur peut la restaurer."
                )
                if st.button("Archiver l'action", key=_key(a.id, "archive")):
                    wanted = True
    can_restore = a.archived and has_permission(user, Permission.RESTORE_ACTION)
    if can_restore and st.button("Restaurer l'action", key=_key(a.id, "restore")):
        wanted = False
    if wanted is None:
        return
    try:
        with db.session_scope(context.engine(), write=True) as session:
            action_service.set_archived(session, user, a.id, wanted)
    except TrackerError as exc:
        st.error(str(exc))
    else:
        _reset_form(a.id)
        st.session_state["action_saved"] = "Action archivée." if wanted else "Action restaurée."
        st.rerun()


def render() -> None:
    st.page_link(navigation.actions_page(), label="Retour aux actions", icon="⬅️")
    st.title("Fiche action")
    action_id = _action_id()
    detail = data.action_detail(action_id) if action_id is not None else None
    if detail is None:
        st.error("Cette action n'existe pas. Choisissez-en une dans la liste des actions.")
        return
    user = auth.current_user()
    a = detail.action
    structure = data.plan_structure(a.plan_id)
    view = context.reuse(
        _view,
        url=get_settings().database_url,
        action_id=action_id,
        rev=context.revision(),
        at=context.today(),
        _detail=detail,
    )
    example_banner(structure.is_example)
    plain(f"{a.code} — {a.title}")
    saved_message("action_saved")
    _summary(detail, view)
    st.header("Informations")
    st.html(view.info)
    if a.description:
        st.subheader("Description")
        plain(a.description)
    editable = user is not None and not a.archived and can_edit_action(user, a)
    if editable:
        _edit_section(user, detail)
    elif user is not None and Role(user.role) == Role.PILOT and not a.archived:
        st.info("Cette action n'est pas liée à votre compte : vous pouvez la consulter.")
    _milestones(user, detail, view, editable)
    _notes(user, detail, view, editable and has_permission(user, Permission.ADD_NOTE))
    _budget(view)
    _indicators(view)
    _history(view)
    _archive(user, detail)
