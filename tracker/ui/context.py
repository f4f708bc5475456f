"""What every page needs: a ready database, the data revision, the chosen plan."""

from __future__ import annotations

from datetime import date

import streamlit as st
from sqlalchemy.engine import Engine

from tracker import db
from tracker.bootstrap import prepare_database
from tracker.errors import TrackerError
from tracker.services import plans as plan_service
from tracker.services.revision import current_revision
from tracker.settings import get_settings


@st.cache_resource(show_spinner="Préparation de la base de données…")
def _ready_engine(url: str) -> Engine:
    engine = db.get_engine(url)
    prepare_database(engine)
    return engine


def engine() -> Engine:
    """The engine of the configured database, upgraded and initialised once per process."""
    try:
        return _ready_engine(get_settings().database_url)
    except TrackerError as exc:
        st.error(f"La base de données n'est pas disponible. {exc}")
        st.stop()
        raise  # unreachable: st.stop() ends the script


_REVISION = "_tracker_revision"


def start_run() -> None:
    """Called at the top of every script run: the revision is read afresh once per run."""
    st.session_state.pop(_REVISION, None)


def revision() -> int:
    """The data revision; cached reads take it as a key, so a save is seen at once.

    Read once per script run (pages rerun after every save).
    """
    value = st.session_state.get(_REVISION)
    if value is None:
        with db.session_scope(engine()) as session:
            value = current_revision(session)
        st.session_state[_REVISION] = value
    return value


def today() -> date:
    return date.today()


@st.cache_data(max_entries=16, show_spinner=False)
def _plan_choices(url: str, rev: int) -> list[tuple[int, str, bool]]:
    with db.session_scope(db.get_engine(url)) as session:
        return [(p.id, p.name, p.is_example) for p in plan_service.list_plans(session)]


def plan_choices() -> list[tuple[int, str, bool]]:
    """(id, name, is_example) of every plan, real plans first."""
    return _plan_choices(get_settings().database_url, revision())


def selected_plan_id() -> int | None:
    """The plan the user looks at: chosen in the sidebar, kept in the URL (?plan=ID)."""
    choices = plan_choices()
    if not choices:
        return None
    ids = [c[0] for c in choices]
    names = {c[0]: c[1] for c in choices}
    wanted = st.query_params.get("plan")
    current = int(wanted) if wanted and wanted.isdigit() and int(wanted) in ids else ids[0]
    if len(ids) > 1:
        current = st.sidebar.selectbox(
            "Plan affiché",
            ids,
            index=ids.index(current),
            format_func=names.__getitem__,
            key="selected_plan",
        )
    if len(ids) > 1 or "plan" in st.query_params:
        st.query_params["plan"] = str(current)
    return current
