"""Cached reads for the pages, keyed on the data revision."""

from __future__ import annotations

from datetime import date

import streamlit as st

from tracker import db
from tracker.errors import NotFoundError
from tracker.services import actions, budgets
from tracker.services import plans as plan_service
from tracker.settings import get_settings
from tracker.ui import context


@st.cache_data(max_entries=32, show_spinner=False)
def _plan_structure(url: str, plan_id: int, rev: int, at: date) -> plan_service.PlanStructure:
    with db.session_scope(db.get_engine(url)) as session:
        return plan_service.plan_structure(session, plan_id, at)


def plan_structure(plan_id: int) -> plan_service.PlanStructure:
    """The plan's structure and action states today (recomputed only after a write)."""
    return _plan_structure(
        get_settings().database_url, plan_id, context.revision(), context.today()
    )


@st.cache_data(max_entries=64, show_spinner=False)
def _action_detail(url: str, action_id: int, rev: int, at: date) -> actions.ActionDetail | None:
    with db.session_scope(db.get_engine(url)) as session:
        try:
            return actions.action_detail(session, action_id, at)
        except NotFoundError:
            return None


def action_detail(action_id: int) -> actions.ActionDetail | None:
    """One action's page data (None if it does not exist), recomputed after a write."""
    return _action_detail(
        get_settings().database_url, action_id, context.revision(), context.today()
    )


@st.cache_data(max_entries=16, show_spinner=False)
def _budget_alerts(url: str, plan_id: int, rev: int, at: date) -> list[budgets.BudgetAlert]:
    with db.session_scope(db.get_engine(url)) as session:
        return budgets.budget_alerts(session, plan_id, at)


def budget_alerts(plan_id: int) -> list[budgets.BudgetAlert]:
    """The plan's budget alerts today (recomputed after a write)."""
    return _budget_alerts(get_settings().database_url, plan_id, context.revision(), context.today())
