"""Application settings stored in the database (key/value)."""

from __future__ import annotations

from sqlmodel import Session

from tracker.models import Setting

INITIALISED = "initialised"


def get_setting(session: Session, key: str, default: str | None = None) -> str | None:
    """The setting's value, or ``default`` when it was never set."""
    setting = session.get(Setting, key)
    return setting.value if setting is not None else default


def set_setting(session: Session, key: str, value: str) -> None:
    """Create or change a setting in the caller's transaction."""
    setting = session.get(Setting, key)
    if setting is None:
        session.add(Setting(key=key, value=value))
    else:
        setting.value = value
        session.add(setting)
    session.flush()
