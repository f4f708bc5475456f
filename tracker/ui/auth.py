"""Who is logged in, and the login, first-administrator and logout flows.

A successful login opens a session in the database and sends the browser,
once, to ``/tracker-auth/session?code=…`` (see tracker/ui/server.py), which
trades the one-minute code for an HttpOnly signed cookie. Every rerun checks
the session against the database.
"""

from __future__ import annotations

import json

import streamlit as st

from tracker import db, strings
from tracker.errors import TrackerError
from tracker.models import Role, User
from tracker.services import users
from tracker.settings import get_settings
from tracker.ui import context, data

COOKIE_NAME = "tracker_session"
AUTH_PATH = "/tracker-auth"
_SESSION_KEY = "auth_session"


@st.cache_resource(show_spinner=False)
def _secret(url: str) -> bytes:
    with db.session_scope(db.get_engine(url)) as session:
        return users.session_secret(session)


def cookie_secret() -> bytes:
    context.engine()
    return _secret(get_settings().database_url)


def sso_configured() -> bool:
    """Whether single sign-on (OpenID Connect) is set up in .streamlit/secrets.toml."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def _sso_user() -> User | None:
    if not sso_configured() or not getattr(st.user, "is_logged_in", False):
        return None
    with db.session_scope(context.engine()) as session:
        outcome = users.user_for_email(session, st.user.get("email"))
    if outcome.user is None:
        st.session_state["sso_refusal"] = outcome.message
    return outcome.user


def current_user() -> User | None:
    """The logged-in, active user of this browser session, checked against the database
    once per script run (every rerun: a disabled account or a revoked session is seen on
    the next interaction)."""
    return context.once_per_run("user", _read_user)


def _read_user() -> User | None:
    token = st.session_state.get(_SESSION_KEY)
    if token is None:
        token = users.unsign(st.context.cookies.get(COOKIE_NAME), cookie_secret())
    if token is not None:
        with db.session_scope(context.engine()) as session:
            user = users.user_for_token(session, token)
            if user is not None:
                # Nearly every page needs the data revision too: read it in this same
                # short transaction rather than in one of its own (once per run).
                context.revision_from(session)
        if user is not None:
            st.session_state[_SESSION_KEY] = token
            return user
        st.session_state.pop(_SESSION_KEY, None)
    return _sso_user()


def public_view_enabled() -> bool:
    """Whether visitors without an account may read the plan (read per data revision:
    saving the settings bumps it, and the pages shown to visitors need it anyway)."""
    return data.app_settings().public_view


def _navigate(path: str) -> None:
    """Send the browser to a server route (a fixed path; no user text goes into the script)."""
    st.html(
        f"<script>window.location.replace({json.dumps(path)});</script>",
        unsafe_allow_javascript=True,
    )


def _log_in(user: User) -> None:
    with db.session_scope(context.engine(), write=True) as session:
        token, code = users.start_session(session, user)
    st.session_state[_SESSION_KEY] = token
    context.forget("user")
    st.success("Connexion réussie.")
    # Persist the session in an HttpOnly cookie (survives a page reload).
    target = f"{AUTH_PATH}/session?code={code}"
    _navigate(target)
    st.link_button("Continuer", target)


def log_out() -> None:
    """End the session in the database at once, then clear the cookie."""
    token = st.session_state.pop(_SESSION_KEY, None)
    context.forget("user")
    with db.session_scope(context.engine(), write=True) as session:
        users.end_session(session, token)
    if sso_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()
    _navigate(f"{AUTH_PATH}/logout")
    st.info("Vous êtes déconnecté.")
    st.stop()


def _first_admin_form() -> None:
    st.title("Bienvenue")
    st.write(
        "Aucun compte n'existe encore. Créez le premier administrateur : il pourra ensuite "
        "créer les comptes de la mission numérique, des pilotes et des élus."
    )
    with st.form("first_admin"):
        login = st.text_input("Identifiant")
        name = st.text_input("Nom affiché")
        password = st.text_input(
            "Mot de passe",
            type="password",
            help=f"Au moins {users.MIN_PASSWORD_LENGTH} caractères.",
        )
        confirmation = st.text_input("Confirmer le mot de passe", type="password")
        submitted = st.form_submit_button("Créer l'administrateur", type="primary")
    if submitted:
        try:
            with db.session_scope(context.engine(), write=True) as session:
                user = users.create_first_admin(
                    session,
                    login=login,
                    display_name=name,
                    password=password,
                    confirmation=confirmation,
                )
        except TrackerError as exc:
            st.error(str(exc))
            return
        _log_in(user)


def _login_form() -> None:
    st.title("Connexion")
    st.caption(f"{strings.APP_TITLE} · {strings.APP_SUBTITLE}")
    refusal = st.session_state.pop("sso_refusal", None)
    if refusal:
        st.error(refusal)
        if st.button("Se déconnecter du compte de la collectivité"):
            st.logout()
    with st.form("login"):
        login = st.text_input("Identifiant")
        password = st.text_input("Mot de passe", type="password")
        submitted = st.form_submit_button("Se connecter", type="primary")
    if submitted:
        with db.session_scope(context.engine(), write=True) as session:
            outcome = users.authenticate(session, login, password)
        if outcome.user is None:
            st.error(outcome.message)
        else:
            _log_in(outcome.user)
    if sso_configured():
        st.divider()
        if st.button("Se connecter avec le compte de la collectivité"):
            st.login()


def login_page() -> None:
    """The login page, or the one-time first-administrator screen while no account exists."""
    with db.session_scope(context.engine()) as session:
        first_run = not users.has_users(session)
    if first_run:
        _first_admin_form()
    else:
        _login_form()


def user_badge(user: User) -> None:
    """Who is logged in, in the sidebar, with the logout button."""
    with st.sidebar:
        st.text(
            f"Connecté : {user.display_name or user.login} ({strings.ROLE_LABELS[Role(user.role)]})"
        )
        if st.button("Se déconnecter", key="logout"):
            log_out()


def session_token() -> str | None:
    """This browser session's token (to keep it when the user changes their password)."""
    return st.session_state.get(_SESSION_KEY)
