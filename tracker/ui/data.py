"""Cached reads for the pages, keyed on the data revision.

The reads are shared by every session without a copy (``st.cache_resource``):
``st.cache_data`` unpickles a fresh copy on every call, about 3 ms for the
structure of a plan of 500 actions, paid again by every read of every run
(benchmarks/pages.py). What they return is read-only by convention: frozen
dataclasses, and lists, data frames or SQLModel objects that no caller changes.
A caller that needs a changed one builds its own (``dataclasses.replace``,
``DataFrame.copy``...).

The cached functions are called with keyword arguments: Streamlit 1.67 works out the
function's signature again for every positional argument of a call (about 0.4 ms for
four of them; 0.25 ms by keyword, measured outside a run), and through
``context.reuse``: a session asking again with the same arguments (same revision)
gets what it already has without Streamlit hashing them again.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from tracker import db
from tracker.errors import NotFoundError
from tracker.services import actions, budgets, indicators, surveys
from tracker.services import plans as plan_service
from tracker.services.app_settings import AppSettings, read_settings
from tracker.settings import get_settings
from tracker.ui import context


@st.cache_resource(max_entries=32, show_spinner=False)
def _plan_structure(url: str, plan_id: int, rev: int, at: date) -> plan_service.PlanStructure:
    with db.session_scope(db.get_engine(url)) as session:
        return plan_service.plan_structure(session, plan_id, at)


def plan_structure(plan_id: int) -> plan_service.PlanStructure:
    """The plan's structure and action states today (recomputed only after a write)."""
    return context.reuse(
        _plan_structure,
        url=get_settings().database_url,
        plan_id=plan_id,
        rev=context.revision(),
        at=context.today(),
    )


@st.cache_resource(max_entries=64, show_spinner=False)
def _action_detail(url: str, action_id: int, rev: int, at: date) -> actions.ActionDetail | None:
    with db.session_scope(db.get_engine(url)) as session:
        try:
            return actions.action_detail(session, action_id, at)
        except NotFoundError:
            return None


def action_detail(action_id: int) -> actions.ActionDetail | None:
    """One action's page data (None if it does not exist), recomputed after a write."""
    return context.reuse(
        _action_detail,
        url=get_settings().database_url,
        action_id=action_id,
        rev=context.revision(),
        at=context.today(),
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def _budget_alerts(url: str, plan_id: int, rev: int, at: date) -> list[budgets.BudgetAlert]:
    with db.session_scope(db.get_engine(url)) as session:
        return budgets.budget_alerts(session, plan_id, at)


def budget_alerts(plan_id: int) -> list[budgets.BudgetAlert]:
    """The plan's budget alerts today (recomputed after a write)."""
    return context.reuse(
        _budget_alerts,
        url=get_settings().database_url,
        plan_id=plan_id,
        rev=context.revision(),
        at=context.today(),
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def _indicator_rows(url: str, plan_id: int, rev: int, at: date) -> list[indicators.IndicatorRow]:
    with db.session_scope(db.get_engine(url)) as session:
        return indicators.indicator_rows(session, plan_id, at)


def indicator_rows(plan_id: int) -> list[indicators.IndicatorRow]:
    """Every indicator of the plan and where it stands today."""
    return context.reuse(
        _indicator_rows,
        url=get_settings().database_url,
        plan_id=plan_id,
        rev=context.revision(),
        at=context.today(),
    )


@st.cache_resource(max_entries=64, show_spinner=False)
def _indicator_detail(
    url: str, indicator_id: int, rev: int, at: date
) -> indicators.IndicatorDetail | None:
    with db.session_scope(db.get_engine(url)) as session:
        try:
            return indicators.indicator_detail(session, indicator_id, at)
        except NotFoundError:
            return None


def indicator_detail(indicator_id: int) -> indicators.IndicatorDetail | None:
    """One indicator's page data (None if it does not exist)."""
    return context.reuse(
        _indicator_detail,
        url=get_settings().database_url,
        indicator_id=indicator_id,
        rev=context.revision(),
        at=context.today(),
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def _waves(url: str, plan_id: int, rev: int) -> list[surveys.WaveSummary]:
    with db.session_scope(db.get_engine(url)) as session:
        return surveys.list_waves(session, plan_id)


def waves(plan_id: int) -> list[surveys.WaveSummary]:
    """The plan's survey waves, oldest first."""
    return context.reuse(
        _waves, url=get_settings().database_url, plan_id=plan_id, rev=context.revision()
    )


@st.cache_resource(max_entries=4, show_spinner="Chargement des réponses…")
def _responses(url: str, wave_id: int, rev: int) -> surveys.Responses:
    with db.session_scope(db.get_engine(url)) as session:
        return surveys.load_responses(session, wave_id)


def responses(wave_id: int) -> surveys.Responses:
    """A wave's stored respondents (loaded once per data revision)."""
    return context.reuse(
        _responses, url=get_settings().database_url, wave_id=wave_id, rev=context.revision()
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def _comparison(url: str, first: int, second: int, rev: int) -> list[surveys.Comparison]:
    with db.session_scope(db.get_engine(url)) as session:
        return surveys.compare_waves(session, first, second)


def comparison(first: int, second: int) -> list[surveys.Comparison]:
    """Each survey indicator measured in both waves, with its change and test."""
    return context.reuse(
        _comparison,
        url=get_settings().database_url,
        first=first,
        second=second,
        rev=context.revision(),
    )


@st.cache_resource(max_entries=4, show_spinner=False)
def _app_settings(url: str, rev: int) -> AppSettings:
    with db.session_scope(db.get_engine(url)) as session:
        return read_settings(session)


def app_settings() -> AppSettings:
    """The settings admins change (saving them bumps the revision)."""
    return context.reuse(_app_settings, url=get_settings().database_url, rev=context.revision())
