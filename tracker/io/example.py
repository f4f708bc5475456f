"""The illustrative example plan shipped in data/exemple."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from tracker.io.template import read_csv_folder
from tracker.models import Plan, User
from tracker.services.plans import create_plan
from tracker.services.users import system_actor
from tracker.settings import get_settings

EXAMPLE_CONTEXT = "chargement du plan d'exemple"


def load_example(
    session: Session, folder: Path | None = None, *, actor: User | None = None
) -> Plan:
    """Load the example plan (always flagged as an example) in the caller's transaction.

    Without an actor, the app itself loads it (first run).
    """
    data = read_csv_folder(folder or get_settings().example_dir)
    data.is_example = True
    actor = actor or system_actor("application (premier lancement)")
    return create_plan(session, data, actor=actor, context=EXAMPLE_CONTEXT)


def example_present(session: Session) -> bool:
    return session.exec(select(Plan.id).where(Plan.is_example == True)).first() is not None  # noqa: E712
