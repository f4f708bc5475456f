"""History: who changed what, when, old value -> new value.

Entries are written in the same transaction as the change they describe and
are never edited afterwards.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlmodel import Session

from tracker.models import AuditEntry, Measurement, User

SYSTEM_LOGIN = "système"


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "oui" if value else "non"
    return str(value)


def record(
    session: Session,
    *,
    actor: User | None,
    entity: str,
    entity_id: int | None,
    operation: str,
    plan_id: int | None = None,
    action_id: int | None = None,
    indicator_id: int | None = None,
    entity_version: int | None = None,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    context: str = "",
) -> AuditEntry:
    """Add one audit entry to the session (flushed with the caller's transaction).

    ``action_id`` ties entries about an action's milestones, notes or budget
    lines to the action; for the action itself it is its own id.
    """
    if entity == "action" and action_id is None:
        action_id = entity_id
    if entity == "indicateur" and indicator_id is None:
        indicator_id = entity_id
    entry = AuditEntry(
        user_id=actor.id if actor is not None else None,
        user_login=actor.login if actor is not None else SYSTEM_LOGIN,
        plan_id=plan_id,
        action_id=action_id,
        indicator_id=indicator_id,
        entity_version=entity_version,
        entity=entity,
        entity_id=entity_id,
        operation=operation,
        field=field,
        old_value=_as_text(old),
        new_value=_as_text(new),
        context=context,
    )
    session.add(entry)
    return entry


def record_measurement(
    session: Session,
    *,
    actor: User | None,
    plan_id: int,
    measurement: Measurement,
    operation: str,
    context: str,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
) -> AuditEntry:
    """An entry about an indicator's measurement (creation, change or deletion)."""
    value = f"{round(measurement.value, 2):f}".rstrip("0").rstrip(".")
    summary = f"{measurement.date.isoformat()} : {value}"
    if operation == "création" and new is None:
        new = summary
    if operation == "suppression" and old is None:
        old = summary
    return record(
        session,
        actor=actor,
        entity="mesure",
        entity_id=measurement.id,
        plan_id=plan_id,
        indicator_id=measurement.indicator_id,
        operation=operation,
        field=field,
        old=old,
        new=new,
        context=context,
    )


def apply_changes(
    session: Session,
    obj: Any,
    values: dict[str, Any],
    *,
    actor: User | None,
    entity: str,
    plan_id: int | None,
    action_id: int | None = None,
    entity_version: int | None = None,
    context: str = "",
) -> bool:
    """Set each changed field of ``obj``, with one audit entry per field; True if any."""
    changed = False
    for name, value in values.items():
        old = getattr(obj, name)
        if old != value:
            record(
                session,
                actor=actor,
                entity=entity,
                entity_id=obj.id,
                plan_id=plan_id,
                action_id=action_id,
                entity_version=entity_version,
                operation="modification",
                field=name,
                old=old,
                new=value,
                context=context,
            )
            setattr(obj, name, value)
            changed = True
    if changed:
        session.add(obj)
    return changed
