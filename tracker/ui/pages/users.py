"""« Utilisateurs » (admins): accounts, roles, activation, passwords, pilots' actions."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pandas as pd
import streamlit as st
from sqlmodel import Session

from tracker import db, strings
from tracker.errors import TrackerError
from tracker.models import Role, User
from tracker.services import users
from tracker.settings import get_settings
from tracker.ui import auth, context
from tracker.ui.components import Table, arrow_table, lazy_section, saved_message

ROLES = list(Role)
_SAVED = "users_saved"
_COLUMNS = [
    "Identifiant",
    "Nom",
    "Adresse électronique",
    "Rôle",
    "Actif",
    "Actions pilotées",
    "Connexion",
]


def _run(done: str, operation: Callable[[Session], object]) -> None:
    """Run one write in one transaction; show the French error, or rerun the page so
    the accounts table shows the change, with ``done`` above it."""
    try:
        with db.session_scope(context.engine(), write=True) as session:
            operation(session)
    except TrackerError as exc:
        st.error(str(exc))
        return
    st.session_state[_SAVED] = done
    st.rerun()


# Read once per data change (linking a pilot or archiving an action bumps the
# revision), and shared by every session (st.cache_resource; tuples): loading the
# 500 actions of a large plan took most of each run (benchmarks/pages.py). The
# accounts are read on every run: resetting a password does not bump the revision.
@st.cache_resource(max_entries=8, show_spinner=False)
def _plan_actions(url: str, plan_id: int, rev: int) -> tuple[users.PlanAction, ...]:
    with db.session_scope(db.get_engine(url)) as session:
        return tuple(users.plan_actions(session, plan_id))


# Keyed by the table's own cells, so it is never stale and needs no clearing: what
# each run saves is building the DataFrame and converting it to Arrow (milliseconds).
@functools.lru_cache(maxsize=8)
def _table(rows: tuple[tuple[str, ...], ...]) -> Table:
    return arrow_table(pd.DataFrame(rows, columns=_COLUMNS))


def _accounts_table(accounts: list[User], actions: tuple[users.PlanAction, ...]) -> Table:
    piloted: dict[int, list[str]] = {}
    for action in actions:
        if action.pilot_user_id is not None:
            piloted.setdefault(action.pilot_user_id, []).append(action.code)
    return _table(
        tuple(
            (
                u.login,
                u.display_name,
                u.email or "",
                strings.ROLE_LABELS[Role(u.role)],
                "Oui" if u.active else "Non",
                ", ".join(piloted.get(u.id, [])),
                "Mot de passe" if u.password_hash else "Compte de la collectivité",
            )
            for u in accounts
        )
    )


def _create_form(admin: User) -> None:
    with st.form("create_user", clear_on_submit=True):
        cols = st.columns(2)
        login = cols[0].text_input("Identifiant")
        name = cols[1].text_input("Nom affiché")
        email = cols[0].text_input(
            "Adresse électronique",
            help="Nécessaire pour se connecter avec le compte de la collectivité.",
        )
        role = cols[1].selectbox(
            "Rôle",
            ROLES,
            index=ROLES.index(Role.VIEWER),
            format_func=lambda r: strings.ROLE_LABELS[r],
        )
        password = cols[0].text_input(
            "Mot de passe",
            type="password",
            help=f"Au moins {users.MIN_PASSWORD_LENGTH} caractères. Laisser vide pour un compte "
            "qui se connecte uniquement par le compte de la collectivité.",
        )
        confirmation = cols[1].text_input("Confirmer le mot de passe", type="password")
        submitted = st.form_submit_button("Créer le compte", type="primary")
    if submitted:
        _run(
            f"Compte « {login.strip().lower()} » créé.",
            lambda s: users.create_user(
                s,
                admin,
                login=login,
                role=role,
                display_name=name,
                email=email or None,
                password=password or None,
                confirmation=confirmation or None,
            ),
        )


def _edit_forms(
    admin: User, accounts: list[User], actions: tuple[users.PlanAction, ...], plan_id: int | None
) -> None:
    by_id = {u.id: u for u in accounts}
    user_id = st.selectbox(
        "Compte",
        list(by_id),
        format_func=lambda i: f"{by_id[i].login} ({by_id[i].display_name})",
        key="edit_user",
    )
    target = by_id[user_id]
    cols = st.columns(2)
    with cols[0], st.form("user_role"):
        new_role = st.selectbox(
            "Rôle",
            ROLES,
            index=ROLES.index(Role(target.role)),
            format_func=lambda r: strings.ROLE_LABELS[r],
        )
        if st.form_submit_button("Changer le rôle"):
            _run("Rôle modifié.", lambda s: users.set_role(s, admin, target.id, new_role))
    with cols[1], st.form("user_active"):
        st.write("Compte actif" if target.active else "Compte désactivé")
        label = "Désactiver le compte" if target.active else "Réactiver le compte"
        if st.form_submit_button(label):
            _run(
                "Compte désactivé : ses sessions sont fermées."
                if target.active
                else "Compte réactivé.",
                lambda s: users.set_active(s, admin, target.id, not target.active),
            )
    with st.form("user_password", clear_on_submit=True):
        st.write("Réinitialiser le mot de passe")
        new = st.text_input("Nouveau mot de passe", type="password")
        again = st.text_input("Confirmer le nouveau mot de passe", type="password")
        if st.form_submit_button("Réinitialiser"):
            _run(
                "Mot de passe réinitialisé : les sessions de ce compte sont fermées.",
                lambda s: users.reset_password(s, admin, target.id, new, again),
            )
    if Role(target.role) == Role.PILOT and actions:
        with st.form("pilot_actions"):
            labels = {a.id: f"{a.code} – {a.title}" for a in actions}
            chosen = st.multiselect(
                "Actions dont ce compte est le pilote",
                list(labels),
                default=[a.id for a in actions if a.pilot_user_id == target.id],
                format_func=labels.__getitem__,
            )
            if st.form_submit_button("Enregistrer les actions pilotées"):
                _run(
                    "Actions pilotées enregistrées.",
                    lambda s: users.link_pilot_actions(s, admin, target.id, plan_id, chosen),
                )


def render() -> None:
    admin = auth.current_user()
    st.title("Utilisateurs")
    plan_id = context.selected_plan_id()
    with db.session_scope(context.engine()) as session:
        accounts = users.list_users(session, admin)
    actions = (
        _plan_actions(get_settings().database_url, plan_id, context.revision())
        if plan_id is not None
        else ()
    )
    saved_message(_SAVED)
    st.dataframe(_accounts_table(accounts, actions), hide_index=True, key="users_table")
    # The forms are built only once opened: most visits read the table.
    if (box := lazy_section("Créer un compte", "users_create_open")) is not None:
        with box:
            _create_form(admin)
    if accounts and (box := lazy_section("Modifier un compte", "users_edit_open")) is not None:
        with box:
            _edit_forms(admin, accounts, actions, plan_id)
