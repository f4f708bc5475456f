"""What every page needs: a ready database, the data revision, the chosen plan."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date
from typing import TypeVar

import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tracker import db
from tracker.bootstrap import prepare_database
from tracker.errors import TrackerError
from tracker.services import plans as plan_service
from tracker.services.revision import current_revision
from tracker.settings import get_settings

T = TypeVar("T")


@st.cache_resource(show_spinner="Préparation de la base de données…")
def _ready_engine(url: str) -> Engine:
    engine = db.get_engine(url)
    prepare_database(engine)
    return engine


# The engines already prepared, by URL: engine() is asked for several times per run,
# and a plain lookup costs nothing next to a cached call (its arguments hashed).
_READY: dict[str, Engine] = {}


def engine() -> Engine:
    """The engine of the configured database, upgraded and initialised once per process."""
    url = get_settings().database_url
    ready = _READY.get(url)
    if ready is not None:
        return ready
    try:
        ready = _READY[url] = _ready_engine(url)
        return ready
    except TrackerError as exc:
        st.error(f"La base de données n'est pas disponible. {exc}")
        st.stop()
        raise  # unreachable: st.stop() ends the script


_RUN = "_tracker_run"  # what is read once per script run: name -> value


def start_run() -> None:
    """Called at the top of every script run: what is read once per run is read afresh."""
    st.session_state[_RUN] = {}


def once_per_run(name: str, read: Callable[[], T]) -> T:
    """``read()`` the first time ``name`` is asked for in this script run, then its value.

    For what every rerun must check against the database (the data revision, who is
    logged in) but needs only once per run, however many parts of the page ask.
    """
    memo = st.session_state.setdefault(_RUN, {})
    if name not in memo:
        memo[name] = read()
    return memo[name]


def reuse(cached: Callable[..., T], **arguments: object) -> T:
    """``cached(**arguments)`` (a function cached by Streamlit), kept for this session's
    next runs while its arguments stay the same.

    Streamlit's caches hash every argument on every call (a dataclass is pickled to be
    hashed): 0.3 to 0.7 ms a lookup, paid on every rerun of a session that asks again for
    what it already has; comparing the arguments costs next to nothing. Arguments whose
    name starts with an underscore are left out, as Streamlit leaves them out of its key
    (they follow from the others). What is kept is the shared cached object, not a copy;
    the revision being one of the arguments, a save anywhere is seen on the next run."""
    name = f"_kept.{cached.__module__}.{cached.__qualname__}"
    key = tuple((k, v) for k, v in arguments.items() if not k.startswith("_"))
    kept = st.session_state.get(name)
    if kept is not None and kept[0] == key:
        return kept[1]
    value = cached(**arguments)
    st.session_state[name] = (key, value)
    return value


def forget(name: str) -> None:
    """Read ``name`` afresh when next asked for in this run (e.g. after logging in or out)."""
    st.session_state.get(_RUN, {}).pop(name, None)


_REVISION = "revision"


def _read_revision() -> int:
    with db.session_scope(engine()) as session:
        return current_revision(session)


def revision_from(session: Session) -> None:
    """Read this run's data revision in ``session`` (a transaction the caller opened
    anyway, e.g. the login check), unless it was already read in this run."""
    once_per_run(_REVISION, lambda: current_revision(session))


def revision() -> int:
    """The data revision; cached reads take it as a key, so a save is seen at once.

    Read once per script run (pages rerun after every save).
    """
    return once_per_run(_REVISION, _read_revision)


def today() -> date:
    return date.today()


# Read by every page on every run: shared without a copy (st.cache_resource, like
# tracker/ui/data.py; a tuple nobody can change), not unpickled per call (cache_data).
@st.cache_resource(max_entries=16, show_spinner=False)
def _plan_choices(url: str, rev: int) -> tuple[tuple[int, str, bool], ...]:
    with db.session_scope(db.get_engine(url)) as session:
        return tuple((p.id, p.name, p.is_example) for p in plan_service.list_plans(session))


def plan_choices() -> tuple[tuple[int, str, bool], ...]:
    """(id, name, is_example) of every plan, real plans first."""
    return _plan_choices(url=get_settings().database_url, rev=revision())


# Beyond this many plans the sidebar's list offers only this many at a time, found by a
# search on their names: every option of a list is sent on every run of every page, and a
# list of 1,000 plans cost each page 350 ms more in Chromium (a bare page with and without
# such a list, median of 9 reloads: 776 and 1,130 ms).
LISTED_PLANS = 20


def _folded(text: str) -> str:
    """``text`` for a search: lower case, without accents, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@st.cache_resource(max_entries=16, show_spinner=False)
def _plan_index(url: str, rev: int) -> tuple[list[int], dict[int, str], dict[int, str]]:
    """The plans' ids in order, their names, and their names as searched (per revision)."""
    choices = _plan_choices(url=url, rev=rev)
    names = {c[0]: c[1] for c in choices}
    return [c[0] for c in choices], names, {i: _folded(n) for i, n in names.items()}


def _listed(ids: list[int], searched: dict[int, str], current: int, query: str) -> list[int]:
    """The plans the list offers: the current one, then those whose name contains every
    word searched (all of them, in order, without a search), LISTED_PLANS at most."""
    words = _folded(query).split()
    found = [i for i in ids if i != current and all(w in searched[i] for w in words)]
    return [current, *found[: LISTED_PLANS - 1]]


def selected_plan_id() -> int | None:
    """The plan the user looks at: chosen in the sidebar, kept in the URL (?plan=ID)."""
    ids, names, searched = reuse(_plan_index, url=get_settings().database_url, rev=revision())
    if not ids:
        return None
    wanted = st.query_params.get("plan")
    current = int(wanted) if wanted and wanted.isdigit() and int(wanted) in names else ids[0]
    if len(ids) > 1:
        listed = ids
        if len(ids) > LISTED_PLANS:
            query = st.sidebar.text_input(
                "Chercher un plan",
                key="plan_search",
                placeholder="Une partie de son nom",
                help=f"{len(ids)} plans : la liste ci-dessous en propose {LISTED_PLANS} à la "
                "fois, ceux dont le nom contient les mots cherchés.",
            )
            listed = _listed(ids, searched, current, query)
        current = st.sidebar.selectbox(
            "Plan affiché",
            listed,
            index=listed.index(current),
            format_func=names.__getitem__,
            key="selected_plan",
        )
    if len(ids) > 1 or "plan" in st.query_params:
        st.query_params["plan"] = str(current)
    return current
