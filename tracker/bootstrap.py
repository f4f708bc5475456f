"""Getting a database ready: schema upgrade, then the example plan on first run.

Used by the app on start and by ``python -m tracker init``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from tracker.db import UpgradeResult, get_engine, session_scope, upgrade_database
from tracker.models import Plan, Setting
from tracker.services.app_settings import INITIALISED
from tracker.services.users import SECRET_SETTING, session_secret


@dataclass(frozen=True)
class PrepareResult:
    upgrade: UpgradeResult
    example_loaded: bool


def prepare_database(
    engine: Engine | None = None, *, load_example_plan: bool = True
) -> PrepareResult:
    """Upgrade the schema; on the very first run, load the example plan.

    "First run" is recorded in the database, so a database whose plans were
    all removed, or that was initialised empty, is never refilled.
    """
    engine = engine or get_engine()
    upgrade = upgrade_database(engine)
    with session_scope(engine) as session:
        ready = session.get(Setting, INITIALISED) is not None
        ready = ready and session.get(Setting, SECRET_SETTING) is not None
    if ready:
        return PrepareResult(upgrade, example_loaded=False)
    try:
        with session_scope(engine, write=True) as session:
            session_secret(session)  # created once, so that reads never have to write it
    except sa.exc.IntegrityError:
        pass  # another process created it at the same moment
    loaded = False
    try:
        with session_scope(engine, write=True) as session:
            if session.get(Setting, INITIALISED) is not None:
                return PrepareResult(upgrade, example_loaded=False)
            # Inserted first: a second process starting at the same time waits
            # on this row, then fails on its key and leaves the work to us.
            session.add(Setting(key=INITIALISED, value="oui"))
            session.flush()
            has_plan = session.exec(select(Plan.id)).first() is not None
            if load_example_plan and not has_plan:
                # Imported here: reading the example's files needs pandas and the
                # import machinery, which a database already set up never uses.
                from tracker.io.example import load_example  # noqa: PLC0415

                load_example(session)
                loaded = True
    except sa.exc.IntegrityError:
        return PrepareResult(upgrade, example_loaded=False)
    return PrepareResult(upgrade, example_loaded=loaded)
