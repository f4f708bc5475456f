"""Cached reads for the pages, keyed on the data revision."""

from __future__ import annotations

from datetime import date

import streamlit as st

from tracker import db
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
