"""« Mon compte »: who I am, my role, and changing my password."""

from __future__ import annotations

import streamlit as st

from tracker import db, strings
from tracker.errors import TrackerError
from tracker.models import Role, User
from tracker.services import users
from tracker.ui import auth, context
from tracker.ui.components import lazy_section


def _identity(user: User) -> str:
    lines = [
        f"Identifiant : {user.login}",
        f"Nom affiché : {user.display_name}",
        f"Rôle : {strings.ROLE_LABELS[Role(user.role)]}",
    ]
    if user.email:
        lines.append(f"Adresse électronique : {user.email}")
    return "\n".join(lines)


def _password_form(user: User) -> None:
    with st.form("change_password", clear_on_submit=True):
        current = st.text_input("Mot de passe actuel", type="password")
        new = st.text_input(
            "Nouveau mot de passe",
            type="password",
            help=f"Au moins {users.MIN_PASSWORD_LENGTH} caractères.",
        )
        confirmation = st.text_input("Confirmer le nouveau mot de passe", type="password")
        submitted = st.form_submit_button("Changer le mot de passe", type="primary")
    if not submitted:
        return
    try:
        with db.session_scope(context.engine(), write=True) as session:
            users.change_own_password(
                session,
                user,
                current=current,
                new=new,
                confirmation=confirmation,
                keep_token=auth.session_token(),
            )
    except TrackerError as exc:
        st.error(str(exc))
        return
    st.success("Mot de passe changé. Vos autres sessions ont été fermées.")


def render() -> None:
    user = auth.current_user()
    st.title("Mon compte")
    st.text(_identity(user))  # one element; typed text shown as typed, never Markdown
    if not user.password_hash:
        st.info("Ce compte se connecte par le compte de la collectivité (authentification unique).")
        return
    # The form is built only once opened: most visits only check who is logged in.
    if (box := lazy_section("Changer mon mot de passe", "account_password_open")) is not None:
        with box:
            _password_form(user)
