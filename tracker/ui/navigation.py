"""The app's pages, and which of them each role may reach.

A page a role may not use is simply not registered for that session, so it
cannot be reached even by typing its address. Pages are built by small
factories so that a page can link to another (``st.switch_page``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from tracker.models import Role, User
from tracker.services.permissions import Permission, has_permission

# Each page is built once per process: st.Page checks its arguments and records
# telemetry on every call, and the app's pages never change. Keyed by the page's
# function too, so a page module reloaded while developing gets a new page. Every
# use gets a shallow copy, because st.navigation marks the page it returns as the one
# allowed to run (a flag on the object): sessions running at the same time must not
# share that flag.
_BUILT: dict[tuple, st.Page] = {}


def _page(render: Callable[[], None], **options: object) -> st.Page:
    """``st.Page(render, **options)``, built once per process; a copy of it."""
    key = (render, *sorted(options.items()))
    built = _BUILT.get(key)
    if built is None:
        built = st.Page(render, **options)
        if get_script_run_ctx() is None:  # outside a script run, st.Page is left unfinished
            return built
        # Two sessions may build it at the same time: either one is as good.
        _BUILT[key] = built
    return copy.copy(built)


def overview_page() -> st.Page:
    """The landing page: where the plan stands, in one screen."""
    from tracker.ui.pages import overview

    return _page(
        overview.render,
        title="Vue d'ensemble",
        icon="🧭",
        url_path="vue-d-ensemble",
        default=True,
    )


def plan_page() -> st.Page:
    from tracker.ui.pages import plan

    return _page(plan.render, title="Le plan", icon="🗂️", url_path="plan")


def actions_page() -> st.Page:
    from tracker.ui.pages import actions

    return _page(actions.render, title="Actions", icon="📋", url_path="actions")


def action_page() -> st.Page:
    """One action's page; reached from the actions table (?action=ID), not from the menu."""
    from tracker.ui.pages import action

    return _page(
        action.render, title="Fiche action", icon="📄", url_path="action", visibility="hidden"
    )


def bulk_page() -> st.Page:
    from tracker.ui.pages import bulk

    return _page(bulk.render, title="Mise à jour groupée", icon="🧾", url_path="mise-a-jour")


def transfer_page() -> st.Page:
    from tracker.ui.pages import transfer

    return _page(transfer.render, title="Import / export", icon="📥", url_path="import-export")


def budget_page() -> st.Page:
    from tracker.ui.pages import budget

    return _page(budget.render, title="Budget", icon="💶", url_path="budget")


def indicators_page() -> st.Page:
    from tracker.ui.pages import indicators

    return _page(indicators.render, title="Indicateurs", icon="📈", url_path="indicateurs")


def indicator_page() -> st.Page:
    """One indicator's page; reached from the indicators table (?indicator=ID)."""
    from tracker.ui.pages import indicator

    return _page(
        indicator.render,
        title="Fiche indicateur",
        icon="📄",
        url_path="indicateur",
        visibility="hidden",
    )


def action_link(action_id: int) -> str:
    """The address of an action's page, relative to the page's own (so it also works
    behind a proxy serving the app under a path): a link in an HTML table."""
    return f"action?action={action_id}"


def indicator_link(indicator_id: int) -> str:
    """The address of an indicator's page, relative to the page's own (so it also works
    behind a proxy serving the app under a path): a link in an HTML table."""
    return f"indicateur?indicator={indicator_id}"


def surveys_page() -> st.Page:
    from tracker.ui.pages import surveys

    return _page(surveys.render, title="Enquêtes", icon="🗳️", url_path="enquetes")


def reviews_page() -> st.Page:
    from tracker.ui.pages import reviews

    return _page(reviews.render, title="Comités de pilotage", icon="🏛️", url_path="comites")


def account_page() -> st.Page:
    from tracker.ui.pages import account

    return _page(account.render, title="Mon compte", icon="👤", url_path="mon-compte")


def users_page() -> st.Page:
    from tracker.ui.pages import users

    return _page(users.render, title="Utilisateurs", icon="👥", url_path="utilisateurs")


def settings_page() -> st.Page:
    from tracker.ui.pages import settings

    return _page(settings.render, title="Réglages", icon="⚙️", url_path="reglages")


def login_page(default: bool = False) -> st.Page:
    from tracker.ui import auth

    return _page(
        auth.login_page, title="Connexion", icon="🔑", url_path="connexion", default=default
    )


def pages_for(user: User | None, *, public_view: bool) -> list[st.Page] | dict[str, list[st.Page]]:
    """The navigation of a user (None: a visitor without an account)."""
    if user is None:
        if public_view:
            return [overview_page(), plan_page(), action_page(), login_page()]
        return [login_page(default=True)]
    follow_up = [actions_page(), action_page(), budget_page()]
    if has_permission(user, Permission.EDIT_OWN_ACTIONS):
        follow_up.append(bulk_page())
    pages: dict[str, list[st.Page]] = {
        "Le plan": [overview_page(), plan_page(), reviews_page(), transfer_page()],
        "Suivi des actions": follow_up,
        "Indicateurs": [indicators_page(), indicator_page(), surveys_page()],
        "Compte": [account_page()],
    }
    if Role(user.role) == Role.ADMIN:
        pages["Administration"] = [users_page(), settings_page()]
    return pages
