"""The app's pages, and which of them each role may reach.

A page a role may not use is simply not registered for that session, so it
cannot be reached even by typing its address. Pages are built by small
factories so that a page can link to another (``st.switch_page``).
"""

from __future__ import annotations

import streamlit as st

from tracker.models import Role, User
from tracker.services.permissions import Permission, has_permission


def overview_page() -> st.Page:
    """The landing page: where the plan stands, in one screen."""
    from tracker.ui.pages import overview

    return st.Page(
        overview.render,
        title="Vue d'ensemble",
        icon="🧭",
        url_path="vue-d-ensemble",
        default=True,
    )


def plan_page() -> st.Page:
    from tracker.ui.pages import plan

    return st.Page(plan.render, title="Le plan", icon="🗂️", url_path="plan")


def actions_page() -> st.Page:
    from tracker.ui.pages import actions

    return st.Page(actions.render, title="Actions", icon="📋", url_path="actions")


def action_page() -> st.Page:
    """One action's page; reached from the actions table (?action=ID), not from the menu."""
    from tracker.ui.pages import action

    return st.Page(
        action.render, title="Fiche action", icon="📄", url_path="action", visibility="hidden"
    )


def bulk_page() -> st.Page:
    from tracker.ui.pages import bulk

    return st.Page(bulk.render, title="Mise à jour groupée", icon="🧾", url_path="mise-a-jour")


def transfer_page() -> st.Page:
    from tracker.ui.pages import transfer

    return st.Page(transfer.render, title="Import / export", icon="📥", url_path="import-export")


def budget_page() -> st.Page:
    from tracker.ui.pages import budget

    return st.Page(budget.render, title="Budget", icon="💶", url_path="budget")


def indicators_page() -> st.Page:
    from tracker.ui.pages import indicators

    return st.Page(indicators.render, title="Indicateurs", icon="📈", url_path="indicateurs")


def indicator_page() -> st.Page:
    """One indicator's page; reached from the indicators table (?indicator=ID)."""
    from tracker.ui.pages import indicator

    return st.Page(
        indicator.render,
        title="Fiche indicateur",
        icon="📄",
        url_path="indicateur",
        visibility="hidden",
    )


def surveys_page() -> st.Page:
    from tracker.ui.pages import surveys

    return st.Page(surveys.render, title="Enquêtes", icon="🗳️", url_path="enquetes")


def reviews_page() -> st.Page:
    from tracker.ui.pages import reviews

    return st.Page(reviews.render, title="Comités de pilotage", icon="🏛️", url_path="comites")


def login_page(default: bool = False) -> st.Page:
    from tracker.ui import auth

    return st.Page(
        auth.login_page, title="Connexion", icon="🔑", url_path="connexion", default=default
    )


def pages_for(user: User | None, *, public_view: bool) -> list[st.Page] | dict[str, list[st.Page]]:
    """The navigation of a user (None: a visitor without an account)."""
    from tracker.ui.pages import account, settings, users

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
        "Compte": [st.Page(account.render, title="Mon compte", icon="👤", url_path="mon-compte")],
    }
    if Role(user.role) == Role.ADMIN:
        pages["Administration"] = [
            st.Page(users.render, title="Utilisateurs", icon="👥", url_path="utilisateurs"),
            st.Page(settings.render, title="Réglages", icon="⚙️", url_path="reglages"),
        ]
    return pages
