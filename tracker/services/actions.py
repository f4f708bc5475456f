"""Action follow-up: updating actions, milestones and notes, with history and conflicts.

Every operation is one transaction in the caller's session: it checks the
actor's rights, validates everything first, refuses a save based on an
outdated version (optimistic locking), then writes the change and its audit
entries together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import strings
from tracker.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from tracker.formats import format_date, format_datetime
from tracker.models import (
    Action,
    ActionCarrier,
    ActionStatus,
    AuditEntry,
    BudgetLine,
    Collectivity,
    Funding,
    Indicator,
    IndicatorAction,
    Measurement,
    Milestone,
    Note,
    Objective,
    ObjectiveStake,
    Priority,
    ProgressMode,
    Role,
    Stake,
    User,
    Weather,
    utcnow,
)
from tracker.services import audit
from tracker.services.locking import lock_ids, locked_get
from tracker.services.permissions import (
    Permission,
    can_edit_action,
    has_permission,
    require,
    require_action_edit,
)
from tracker.services.progress import ActionState, MilestoneTotals, action_state
from tracker.services.revision import bump_revision

MAX_NOTE_LENGTH = 20_000
# What a pilot may change on their own actions; editors and admins change everything.
PILOT_FIELDS = frozenset({"status", "weather", "progress", "actual_end_date"})
EDITOR_FIELDS = frozenset(
    {
        "title",
        "description",
        "status",
        "weather",
        "progress",
        "progress_mode",
        "priority",
        "start_date",
        "planned_end_date",
        "actual_end_date",
        "pilot_name",
        "pilot_function",
        "service",
        "elected_referent",
        "partners",
        "update_period_days",
        "pilot_user_id",
    }
)
_ENUMS = {
    "status": ActionStatus,
    "weather": Weather,
    "progress_mode": ProgressMode,
    "priority": Priority,
}
# Text columns sized in the schema (VARCHAR(n)): PostgreSQL refuses longer text
# and SQLite would keep it, so the service refuses it first, in French.
_MAX_LENGTHS = {
    name: column.type.length
    for name, column in Action.__table__.columns.items()
    if name in EDITOR_FIELDS and name not in _ENUMS and getattr(column.type, "length", None)
}
_MILESTONE_TITLE_LENGTH = Milestone.__table__.columns["title"].type.length


# --------------------------------------------------------------------------
# Describing values and changes in French
# --------------------------------------------------------------------------


def display_value(field_name: str | None, value: Any) -> str:
    """A stored value (object or audit text) as a user reads it."""
    if value is None or value == "":
        return "(vide)"
    labels = {
        "status": strings.STATUS_LABELS,
        "weather": strings.WEATHER_LABELS,
        "progress_mode": strings.PROGRESS_MODE_LABELS,
        "priority": strings.PRIORITY_LABELS,
    }.get(field_name or "")
    if labels is not None:
        try:
            return labels[_ENUMS[field_name](str(getattr(value, "value", value)))]
        except ValueError:
            return str(value)
    if isinstance(value, date):
        return format_date(value)
    if field_name and field_name.endswith("_date") and isinstance(value, str):
        try:
            return format_date(date.fromisoformat(value))
        except ValueError:
            return value
    if field_name == "progress":
        return f"{value} %"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def describe_change(field_name: str | None, old: Any, new: Any) -> str:
    label = strings.FIELD_LABELS.get(field_name or "", field_name or "")
    return f"{label} : {display_value(field_name, old)} → {display_value(field_name, new)}"


# --------------------------------------------------------------------------
# Loading and checking
# --------------------------------------------------------------------------


def get_action(session: Session, action_id: int) -> Action:
    action = session.get(Action, action_id)
    if action is None:
        raise NotFoundError(f"L'action n°{action_id} n'existe pas.")
    return action


# Every save re-reads the actions it changes with a row lock, in id order, before
# anything else (tracker.services.locking). Without it, on PostgreSQL (READ
# COMMITTED) two saves starting from the same version both passed the version check
# and the second silently overwrote the first (a lost update: two successes, one
# version step, the audit chain broken; benchmarks/concurrency.py and
# tests/test_concurrency.py show it). With it, the second save waits for the first to
# commit, then sees the new version and raises ConflictError. Taking every action
# lock first (and the data revision's row, in bump_revision, last) also keeps a bulk
# save and a single save from deadlocking.


def _locked_action(session: Session, action_id: int) -> Action:
    """The action as last committed, locked until the end of the transaction."""
    action = locked_get(session, Action, action_id)
    if action is None:
        raise NotFoundError(f"L'action n°{action_id} n'existe pas.")
    return action


def changes_since(session: Session, action: Action, version: int) -> list[AuditEntry]:
    """Changes to an action's own fields saved after ``version``."""
    return list(
        session.exec(
            select(AuditEntry)
            .where(
                AuditEntry.action_id == action.id,
                AuditEntry.entity == "action",
                AuditEntry.entity_version > version,
            )
            .order_by(AuditEntry.id)
        )
    )


def _pilot_logins(session: Session, entries: Iterable[AuditEntry]) -> dict[int, str]:
    """The logins of the pilot accounts these history entries name (stored by id)."""
    ids = {
        int(v)
        for e in entries
        if e.field == "pilot_user_id"
        for v in (e.old_value, e.new_value)
        if v and v.isdigit()
    }
    if not ids:
        return {}
    return dict(session.execute(sa.select(User.id, User.login).where(User.id.in_(ids))).all())


def _shown(entry: AuditEntry, value: str | None, logins: dict[int, str]) -> str | None:
    """A history value as a user reads it: a pilot account by its login."""
    if entry.field == "pilot_user_id" and value and value.isdigit():
        return logins.get(int(value), value)
    return value


def _check_version(session: Session, action: Action, expected_version: int) -> None:
    if action.version == expected_version:
        return
    entries = changes_since(session, action, expected_version)
    logins = _pilot_logins(session, entries)
    lines = [
        f"{format_datetime(e.at)}, {e.user_login} : "
        + (
            describe_change(e.field, _shown(e, e.old_value, logins), _shown(e, e.new_value, logins))
            if e.field
            else e.operation
        )
        for e in entries
    ]
    raise ConflictError(
        f"L'action {action.code} a été modifiée par quelqu'un d'autre depuis que vous l'avez "
        "ouverte. Rien n'a été enregistré ; vos saisies sont conservées : vérifiez-les au "
        "regard de ces changements, puis enregistrez à nouveau pour les appliquer.",
        details=lines or [f"version {expected_version} → {action.version}"],
    )


def _check_rules(
    action: Action, values: dict[str, Any], *, note: str | None, today: date
) -> list[str]:
    """Every rule an action's new values break (French)."""
    problems = []
    title = values["title"]
    if not str(title).strip():
        problems.append("Le titre de l'action ne peut pas être vide.")
    for name, limit in _MAX_LENGTHS.items():
        text = values[name]
        if text != getattr(action, name) and isinstance(text, str) and len(text) > limit:
            problems.append(
                f"« {strings.FIELD_LABELS[name]} » ne peut pas dépasser {limit} caractères "
                f"(saisi : {len(text)})."
            )
    progress = values["progress"]
    if not isinstance(progress, int) or isinstance(progress, bool) or not 0 <= progress <= 100:
        problems.append(
            f"L'avancement doit être un nombre entier de 0 à 100 % (saisi : {progress})."
        )
    start, planned, actual = (
        values["start_date"],
        values["planned_end_date"],
        values["actual_end_date"],
    )
    if start and planned and planned < start:
        problems.append("La date de fin prévue précède la date de début.")
    if start and actual and actual < start:
        problems.append("La date de fin réelle précède la date de début.")
    if actual and actual > today:
        problems.append("La date de fin réelle ne peut pas être dans le futur.")
    period = values["update_period_days"]
    if not isinstance(period, int) or period <= 0:
        problems.append("La périodicité de mise à jour doit être un nombre de jours positif.")
    status = values["status"]
    if status is ActionStatus.REALISE and actual is None:
        problems.append("Une action réalisée doit avoir une date de fin réelle.")
    derived = action.progress_mode is ProgressMode.MILESTONES
    if (
        derived
        and values["progress_mode"] is ProgressMode.MILESTONES
        and progress != action.progress
    ):
        problems.append(
            "L'avancement de cette action est calculé à partir de ses jalons : "
            "mettez à jour les jalons."
        )
    if (
        status is ActionStatus.ABANDONNE
        and action.status is not ActionStatus.ABANDONNE
        and not (note or "").strip()
    ):
        problems.append("Indiquez dans une note la raison de l'abandon de l'action.")
    return problems


def _normalise(name: str, value: Any) -> Any:
    if name in _ENUMS and value is not None:
        try:
            return _ENUMS[name](getattr(value, "value", value))
        except ValueError:
            raise ValidationError(
                f"Valeur inconnue pour « {strings.FIELD_LABELS[name]} » : « {value} »."
            ) from None
    if name in {
        "title",
        "description",
        "pilot_name",
        "pilot_function",
        "service",
        "elected_referent",
        "partners",
    }:
        return "" if value is None else str(value).strip() if name == "title" else str(value)
    return value


def _prepare(
    action: Action, actor: User, changes: dict[str, Any], *, note: str | None, today: date
) -> tuple[dict[str, Any], list[str]]:
    """The action's values after ``changes``, and the problems they have."""
    unknown = set(changes) - EDITOR_FIELDS
    if unknown:
        raise ValidationError(f"Champ(s) inconnu(s) : {', '.join(sorted(unknown))}.")
    if not has_permission(actor, Permission.EDIT_PLAN):
        forbidden = {
            k
            for k, v in changes.items()
            if k not in PILOT_FIELDS and _normalise(k, v) != getattr(action, k)
        }
        if forbidden:
            names = ", ".join(strings.FIELD_LABELS[f] for f in sorted(forbidden))
            raise PermissionDenied(
                "Un pilote met à jour le statut, la météo, l'avancement et la date de fin "
                f"réelle de ses actions ; il ne peut pas modifier : {names}."
            )
    values = {name: getattr(action, name) for name in EDITOR_FIELDS}
    for name, value in changes.items():
        values[name] = _normalise(name, value)
    newly_done = (
        values["status"] is ActionStatus.REALISE and action.status is not ActionStatus.REALISE
    )
    if newly_done and values["progress_mode"] is ProgressMode.ENTERED:
        values["progress"] = 100  # done means done: the page asks for confirmation first
    return values, _check_rules(action, values, note=note, today=today)


def _apply(
    session: Session,
    actor: User,
    action: Action,
    values: dict[str, Any],
    *,
    note: str | None,
    context: str = "",
) -> bool:
    """Write the changed fields, their audit entries and the note; True if anything changed."""
    changed = {k: v for k, v in values.items() if getattr(action, k) != v}
    has_note = bool((note or "").strip())
    if not changed and not has_note:
        return False
    now = utcnow()
    if changed:
        action.version += 1
        for name, value in sorted(changed.items()):
            audit.record(
                session,
                actor=actor,
                entity="action",
                entity_id=action.id,
                plan_id=action.plan_id,
                entity_version=action.version,
                operation="modification",
                field=name,
                old=getattr(action, name),
                new=value,
                context=context,
            )
            setattr(action, name, value)
    action.updated_at = now
    session.add(action)
    if has_note:
        _insert_note(session, actor, action, note, context=context)
    session.flush()
    bump_revision(session)
    return True


def _insert_note(
    session: Session, actor: User, action: Action, text: str, *, context: str = ""
) -> Note:
    text = text.strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise ValidationError(f"Une note ne peut pas dépasser {MAX_NOTE_LENGTH} caractères.")
    note = Note(
        action_id=action.id,
        author_id=actor.id,
        author_name=actor.display_name or actor.login,
        text=text,
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity="note",
        entity_id=note.id,
        plan_id=action.plan_id,
        action_id=action.id,
        operation="création",
        new=text,
        context=context,
    )
    return note


# --------------------------------------------------------------------------
# Operations
# --------------------------------------------------------------------------


def update_action(
    session: Session,
    actor: User | None,
    action_id: int,
    *,
    expected_version: int,
    changes: dict[str, Any],
    note: str | None = None,
    today: date | None = None,
) -> Action:
    """Change an action's fields (and add a note) in one transaction.

    ``expected_version`` is the version the user started from; if someone
    saved the action since, ConflictError names who changed what. Setting
    « réalisé » sets the entered progress to 100 % and needs an actual end
    date; « abandonné » needs a note giving the reason.
    """
    today = today or date.today()
    # The pilot account given is locked before the action: an account before the
    # actions it pilots, as users.set_role and link_pilot_actions lock them
    # (tracker.services.locking). Without it, on PostgreSQL, an account made editor or
    # disabled meanwhile could still be given the action: its role was checked here
    # before set_role committed, and set_role's unlinking did not see this action yet.
    pilot_id = changes.get("pilot_user_id")
    pilot = locked_get(session, User, pilot_id) if pilot_id is not None else None
    action = _locked_action(session, action_id)
    require_action_edit(actor, action)
    if action.archived:
        raise ValidationError(f"L'action {action.code} est archivée : restaurez-la d'abord.")
    _check_version(session, action, expected_version)
    values, problems = _prepare(action, actor, changes, note=note, today=today)
    new_pilot = pilot_id is not None and pilot_id != action.pilot_user_id
    if new_pilot and (pilot is None or pilot.role != Role.PILOT or not pilot.active):
        problems.append("Le compte choisi comme pilote n'est pas un compte de pilote actif.")
    if problems:
        raise ValidationError(f"L'action {action.code} n'a pas été enregistrée.", details=problems)
    _apply(session, actor, action, values, note=note)
    return action


def add_note(session: Session, actor: User | None, action_id: int, text: str) -> Note:
    """Add a dated note to an action (editors, admins, and the action's pilot)."""
    # Locked: a note added while the action is archived waits, then is refused.
    action = _locked_action(session, action_id)
    require(actor, Permission.ADD_NOTE)
    if not can_edit_action(actor, action):
        raise PermissionDenied(
            f"Vous ne pouvez ajouter des notes qu'aux actions dont vous êtes le pilote ; "
            f"l'action {action.code} ne vous est pas confiée."
        )
    if action.archived:
        raise ValidationError(f"L'action {action.code} est archivée : restaurez-la d'abord.")
    if not text or not text.strip():
        raise ValidationError("La note est vide.")
    note = _insert_note(session, actor, action, text)
    action.updated_at = utcnow()
    session.add(action)
    bump_revision(session)
    return note


@dataclass
class MilestoneInput:
    """A milestone as edited in the form: ``id`` None for a new one."""

    title: str
    due_date: date | None = None
    done_date: date | None = None
    weight: int = 1
    id: int | None = None


def milestone_flags(action: Action, milestone: Milestone | MilestoneInput, at: date) -> list[str]:
    """What to point out about a milestone (never refused): late, outside the action's dates."""
    flags = []
    due = milestone.due_date
    if due and milestone.done_date is None and due < at:
        flags.append("en retard")
    if due and (
        (action.start_date and due < action.start_date)
        or (action.planned_end_date and due > action.planned_end_date)
    ):
        flags.append("hors des dates de l'action")
    return flags


def save_milestones(
    session: Session,
    actor: User | None,
    action_id: int,
    *,
    expected_version: int,
    milestones: list[MilestoneInput],
    today: date | None = None,
) -> list[str]:
    """Replace an action's milestones by this ordered list (added, edited, completed,
    reordered, removed), in one transaction. Returns warnings (dates outside the action's).
    """
    today = today or date.today()
    action = _locked_action(session, action_id)
    require_action_edit(actor, action)
    if action.archived:
        raise ValidationError(f"L'action {action.code} est archivée : restaurez-la d'abord.")
    _check_version(session, action, expected_version)
    problems = []
    for position, m in enumerate(milestones, start=1):
        if not (m.title or "").strip():
            problems.append(f"Jalon n°{position} : le titre est vide.")
        elif len(m.title.strip()) > _MILESTONE_TITLE_LENGTH:
            problems.append(
                f"Jalon n°{position} : le titre ne peut pas dépasser "
                f"{_MILESTONE_TITLE_LENGTH} caractères."
            )
        if not isinstance(m.weight, int) or isinstance(m.weight, bool) or m.weight < 0:
            problems.append(f"Jalon n°{position} : le poids doit être un entier positif ou nul.")
        if m.done_date and m.done_date > today:
            problems.append(f"Jalon n°{position} : la date de réalisation est dans le futur.")
    existing = {
        m.id: m for m in session.exec(select(Milestone).where(Milestone.action_id == action.id))
    }
    ids = [m.id for m in milestones if m.id is not None]
    if len(ids) != len(set(ids)):
        problems.append("Un même jalon figure deux fois dans la liste.")
    for m in milestones:
        if m.id is not None and m.id not in existing:
            problems.append(f"Jalon « {m.title} » : introuvable (supprimé entre-temps ?).")
    if problems:
        raise ValidationError(
            f"Les jalons de l'action {action.code} n'ont pas été enregistrés.", details=problems
        )

    def log(milestone_id: int | None, operation: str, **kwargs: Any) -> None:
        audit.record(
            session,
            actor=actor,
            entity="jalon",
            entity_id=milestone_id,
            plan_id=action.plan_id,
            action_id=action.id,
            operation=operation,
            **kwargs,
        )

    changed = False
    kept = {m.id for m in milestones if m.id is not None}
    for milestone_id, milestone in existing.items():
        if milestone_id not in kept:
            log(milestone_id, "suppression", old=milestone.title)
            session.delete(milestone)
            changed = True
    for position, m in enumerate(milestones):
        values = {
            "title": m.title.strip(),
            "due_date": m.due_date,
            "done_date": m.done_date,
            "weight": m.weight,
            "position": position,
        }
        if m.id is None:
            row = Milestone(action_id=action.id, **values)
            session.add(row)
            session.flush()
            log(row.id, "création", new=row.title)
            changed = True
            continue
        row = existing[m.id]
        for name, value in values.items():
            if getattr(row, name) != value:
                if name != "position":
                    log(row.id, "modification", field=name, old=getattr(row, name), new=value)
                else:
                    log(row.id, "réordonnancement", field=name, old=row.position, new=value)
                setattr(row, name, value)
                changed = True
        session.add(row)
    if changed:
        action.version += 1
        action.updated_at = utcnow()
        audit.record(
            session,
            actor=actor,
            entity="action",
            entity_id=action.id,
            plan_id=action.plan_id,
            entity_version=action.version,
            operation="jalons modifiés",
        )
        session.add(action)
        session.flush()
        bump_revision(session)
    return [
        f"Jalon « {m.title} » : échéance hors des dates de l'action."
        for m in milestones
        if "hors des dates de l'action" in milestone_flags(action, m, today)
    ]


def set_archived(session: Session, actor: User | None, action_id: int, archived: bool) -> Action:
    """Archive an action (editors, admins) or restore it (admins). Never deleted."""
    action = _locked_action(session, action_id)
    require(actor, Permission.EDIT_PLAN if archived else Permission.RESTORE_ACTION)
    if action.archived == archived:
        return action
    action.version += 1
    audit.record(
        session,
        actor=actor,
        entity="action",
        entity_id=action.id,
        plan_id=action.plan_id,
        entity_version=action.version,
        operation="archivage" if archived else "restauration",
        field="archived",
        old=action.archived,
        new=archived,
    )
    action.archived = archived
    action.updated_at = utcnow()
    session.add(action)
    bump_revision(session)
    return action


@dataclass
class BulkRow:
    """One line of the bulk editor: the action, the version shown, what changed.

    A field left to None is not changed.
    """

    action_id: int
    expected_version: int
    status: ActionStatus | str | None = None
    weather: Weather | str | None = None
    progress: int | None = None
    comment: str = ""


def bulk_update(
    session: Session, actor: User | None, rows: Iterable[BulkRow], *, today: date | None = None
) -> int:
    """Save many actions' status, météo, progress and comment in ONE transaction.

    Every invalid row is listed (code and reason) and nothing is saved while
    any row is invalid. A row set to « réalisé » gets today as actual end date
    if it has none, and 100 %. Returns the number of actions changed.
    """
    today = today or date.today()
    require(actor, Permission.EDIT_OWN_ACTIONS)
    problems: list[str] = []
    planned: list[tuple[Action, dict[str, Any], str]] = []
    rows = list(rows)
    lock_ids(session, Action, (row.action_id for row in rows))
    for row in rows:
        action = session.get(Action, row.action_id)
        if action is None:
            problems.append(f"Action n°{row.action_id} : introuvable.")
            continue
        where = f"{action.code}"
        if not can_edit_action(actor, action):
            problems.append(f"{where} : cette action ne vous est pas confiée.")
            continue
        if action.archived:
            problems.append(f"{where} : l'action est archivée.")
            continue
        changes: dict[str, Any] = {}
        try:
            if row.status is not None:
                changes["status"] = _normalise("status", row.status)
            if row.weather is not None:
                changes["weather"] = _normalise("weather", row.weather)
        except ValidationError as exc:
            problems.append(f"{where} : {exc.message}")
            continue
        if row.progress is not None:
            changes["progress"] = row.progress
        status = changes.get("status", action.status)
        if status is ActionStatus.REALISE and action.actual_end_date is None:
            changes["actual_end_date"] = today
        if action.version != row.expected_version:
            who = ", ".join(
                sorted({e.user_login for e in changes_since(session, action, row.expected_version)})
            )
            problems.append(
                f"{where} : modifiée entre-temps par {who or 'quelqu’un d’autre'} ;"
                " rechargez le tableau."
            )
            continue
        try:
            values, rule_problems = _prepare(action, actor, changes, note=row.comment, today=today)
        except (ValidationError, PermissionDenied) as exc:
            rule_problems = [exc.message]
            values = {}
        problems.extend(f"{where} : {p}" for p in rule_problems)
        if not rule_problems:
            planned.append((action, values, row.comment))
    if problems:
        raise ValidationError(
            "Aucune modification n'a été enregistrée : corrigez ces lignes.", details=problems
        )
    return sum(
        _apply(session, actor, action, values, note=comment, context="mise à jour groupée")
        for action, values, comment in planned
    )


# --------------------------------------------------------------------------
# Reading one action
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MilestoneView:
    id: int
    title: str
    due_date: date | None
    done_date: date | None
    weight: int
    flags: list[str]


@dataclass(frozen=True)
class NoteView:
    created_at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class HistoryView:
    at: datetime
    user: str
    what: str
    change: str


@dataclass(frozen=True)
class BudgetLineView:
    year: int
    collectivity: str
    section: str
    requested_cents: int
    arbitrated_cents: int | None
    spent_cents: int
    comment: str


@dataclass(frozen=True)
class IndicatorView:
    code: str
    name: str
    unit: str
    latest_value: float | None
    latest_date: date | None
    target_value: float | None


@dataclass(frozen=True)
class ActionDetail:
    action: Action
    objective_code: str
    objective_title: str
    stake_codes: list[str]
    carriers: list[str]
    state: ActionState
    milestones: list[MilestoneView]
    notes: list[NoteView]
    budget_lines: list[BudgetLineView]
    fundings: list[tuple[str, int, str]]
    indicators: list[IndicatorView]
    history: list[HistoryView] = field(default_factory=list)


_ENTITY_LABELS = {"action": "Action", "jalon": "Jalon", "note": "Note", "budget": "Budget"}


def action_detail(session: Session, action_id: int, at: date) -> ActionDetail:
    """Everything the action's page shows, with its state at ``at``."""
    action = get_action(session, action_id)
    objective = session.get(Objective, action.objective_id)
    stake_codes = list(
        session.exec(
            select(Stake.code)
            .join(ObjectiveStake, ObjectiveStake.stake_id == Stake.id)
            .where(ObjectiveStake.objective_id == objective.id)
            .order_by(Stake.position)
        )
    )
    carriers = list(
        session.exec(
            select(Collectivity.name)
            .join(ActionCarrier, ActionCarrier.collectivity_id == Collectivity.id)
            .where(ActionCarrier.action_id == action.id)
            .order_by(Collectivity.position)
        )
    )
    milestones = list(
        session.exec(
            select(Milestone)
            .where(Milestone.action_id == action.id)
            .order_by(Milestone.position, Milestone.id)
        )
    )
    done = [m for m in milestones if m.done_date and m.done_date <= at]
    totals = MilestoneTotals(
        count=len(milestones),
        done_count=len(done),
        total_weight=sum(m.weight for m in milestones),
        done_weight=sum(m.weight for m in done),
    )
    state = action_state(
        status=action.status,
        weather=action.weather,
        progress=action.progress,
        progress_mode=action.progress_mode,
        start_date=action.start_date,
        planned_end_date=action.planned_end_date,
        updated_at=action.updated_at,
        update_period_days=action.update_period_days,
        at=at,
        milestones=totals,
    )
    notes = [
        NoteView(n.created_at, n.author_name, n.text)
        for n in session.exec(
            select(Note)
            .where(Note.action_id == action.id)
            .order_by(Note.created_at.desc(), Note.id.desc())
        )
    ]
    budget = [
        BudgetLineView(
            b.year,
            name,
            strings.SECTION_LABELS[b.section],
            b.requested_cents,
            b.arbitrated_cents,
            b.spent_cents,
            b.comment,
        )
        for b, name in session.execute(
            sa.select(BudgetLine, Collectivity.name)
            .join(Collectivity, Collectivity.id == BudgetLine.collectivity_id)
            .where(BudgetLine.action_id == action.id)
            .order_by(BudgetLine.year, Collectivity.position, BudgetLine.section)
        )
    ]
    fundings = [
        (f.financer, f.amount_cents, strings.FUNDING_STATUS_LABELS[f.status])
        for f in session.exec(
            select(Funding).where(Funding.action_id == action.id).order_by(Funding.id)
        )
    ]
    # The latest date of this action's indicators only: grouping every measurement
    # of every plan made the page read the whole table (benchmarks/generate.py).
    latest = (
        sa.select(Measurement.indicator_id, sa.func.max(Measurement.date).label("d"))
        .where(
            Measurement.indicator_id.in_(
                sa.select(IndicatorAction.indicator_id).where(
                    IndicatorAction.action_id == action.id
                )
            )
        )
        .group_by(Measurement.indicator_id)
        .subquery()
    )
    indicators = [
        IndicatorView(i.code, i.name, i.unit, value, when, i.target_value)
        for i, value, when in session.execute(
            sa.select(Indicator, Measurement.value, Measurement.date)
            .join(IndicatorAction, IndicatorAction.indicator_id == Indicator.id)
            .outerjoin(latest, latest.c.indicator_id == Indicator.id)
            .outerjoin(
                Measurement,
                sa.and_(Measurement.indicator_id == Indicator.id, Measurement.date == latest.c.d),
            )
            .where(IndicatorAction.action_id == action.id)
            .order_by(Indicator.position, Indicator.code)
        )
    ]
    # One row per indicator even if two measurements share the latest date.
    seen: set[str] = set()
    indicators = [i for i in indicators if not (i.code in seen or seen.add(i.code))]
    entries = list(
        session.exec(
            select(AuditEntry)
            .where(AuditEntry.action_id == action.id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        )
    )
    # Pilot accounts are stored by id: show their login instead.
    logins = _pilot_logins(session, entries)

    def change(entry: AuditEntry) -> str:
        if entry.field:
            return describe_change(
                entry.field,
                _shown(entry, entry.old_value, logins),
                _shown(entry, entry.new_value, logins),
            )
        value = entry.new_value if entry.new_value is not None else entry.old_value
        return display_value(None, value) if value else ""

    history = [
        HistoryView(
            e.at,
            e.user_login,
            _ENTITY_LABELS.get(e.entity, e.entity.capitalize()) + f" — {e.operation}",
            change(e),
        )
        for e in entries
    ]
    return ActionDetail(
        action=action,
        objective_code=objective.code,
        objective_title=objective.title,
        stake_codes=stake_codes,
        carriers=carriers,
        state=state,
        milestones=[
            MilestoneView(
                m.id, m.title, m.due_date, m.done_date, m.weight, milestone_flags(action, m, at)
            )
            for m in milestones
        ],
        notes=notes,
        budget_lines=budget,
        fundings=fundings,
        indicators=indicators,
        history=history,
    )
