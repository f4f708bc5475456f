"""« Utilisateurs » (admins): accounts, roles, activation, passwords, pilots' actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from sqlmodel import Session

from tracker import db, strings
from tracker.errors import TrackerError
from tracker.models import Role, User
from tracker.services import users
from tracker.services.permissions import Permission, has_permission
from tracker.settings import get_settings
from tracker.ui import auth, context
from tracker.ui.components import Table, arrow_table, grid, lazy_section, saved_message

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


@dataclass(frozen=True)
class _Accounts:
    """The accounts, the plan's actions (for their pilots) and the table shown."""

    accounts: tuple[User, ...]
    actions: tuple[users.PlanAction, ...]
    table: Table


# Read once per data change and shared by every session (st.cache_resource; nothing
# mutates it): every change of an account (creation, role, activation, password,
# pilot links) bumps the revision, as do the actions' changes. Loading the 500
# actions of a large plan, and the accounts, took most of each run (benchmarks/pages.py).
@st.cache_resource(max_entries=8, show_spinner=False)
def _accounts(url: str, plan_id: int | None, rev: int, _admin: User) -> _Accounts:
    with db.session_scope(db.get_engine(url)) as session:
        accounts = tuple(users.list_users(session, _admin))
        actions = tuple(users.plan_actions(session, plan_id)) if plan_id is not None else ()
    return _Accounts(accounts, actions, _accounts_table(accounts, actions))


def _accounts_table(accounts: tuple[User, ...], actions: tuple[users.PlanAction, ...]) -> Table:
    piloted: dict[int, list[str]] = {}
    for action in actions:
        if action.pilot_user_id is not None:
            piloted.setdefault(action.pilot_user_id, []).append(action.code)
    rows = [
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
    ]
    return arrow_table(pd.DataFrame(rows, columns=_COLUMNS))


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
    # The navigation offers this page to admins only; checked again here, the cached read
    # below not repeating the service's check for every admin.
    if not has_permission(admin, Permission.MANAGE_USERS):
        st.error("Seuls les administrateurs gèrent les comptes.")
        return
    plan_id = context.selected_plan_id()
    shown = context.reuse(
        _accounts,
        url=get_settings().database_url,
        plan_id=plan_id,
        rev=context.revision(),
        _admin=admin,
    )
    accounts, actions = list(shown.accounts), shown.actions
    saved_message(_SAVED)
    grid(shown.table, hide_index=True, key="users_table")
    # The forms are built only once opened: most visits read the table.
    if (box := lazy_section("Créer un compte", "users_create_open")) is not None:
        with box:
            _create_form(admin)
    if accounts and (box := lazy_section("Modifier un compte", "users_edit_open")) is not None:
        with box:
            _edit_forms(admin, accounts, actions, plan_id)
