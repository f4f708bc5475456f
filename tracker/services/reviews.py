"""Steering-committee reviews: opening one, closing it (which freezes a snapshot
of the whole plan), comparing two snapshots, and the decisions followed up.

A snapshot is plain JSON (dates as ISO strings), built from the same services as
the pages (action states, budget sums, indicator states), so a closed review
never changes when the plan is edited later, and its report is rebuilt from it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Bundle
from sqlmodel import Session, select

from tracker.errors import ConflictError, NotFoundError, ValidationError
from tracker.models import (
    Action,
    Decision,
    DecisionStatus,
    Indicator,
    Measurement,
    Milestone,
    Objective,
    Plan,
    Review,
    ReviewStatus,
    User,
    utcnow,
)
from tracker.services import audit, budgets
from tracker.services.indicators import indicator_rows
from tracker.services.locking import changed_by, locked_get, refuse_stale_form
from tracker.services.permissions import Permission, require
from tracker.services.plans import mean_progress, pilot_label, plan_structure, progress_by_objective
from tracker.services.revision import bump_revision

SNAPSHOT_VERSION = 1
KEEP = object()  # a follow-up argument left unchanged
OPEN_DECISIONS = {DecisionStatus.A_FAIRE, DecisionStatus.EN_COURS}
CLOSED_DECISIONS = {DecisionStatus.FAIT, DecisionStatus.ABANDONNE}


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# --------------------------------------------------------------------------
# Snapshots
# --------------------------------------------------------------------------


def take_snapshot(session: Session, plan_id: int, at: date) -> dict[str, Any]:
    """The whole plan at ``at``, as JSON: what a review freezes."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFoundError(f"Le plan n°{plan_id} n'existe pas.")
    structure = plan_structure(session, plan_id, at)
    counted, progress, expected = mean_progress(structure.actions)
    actions = [
        {
            "id": a.id,
            "code": a.code,
            "title": a.title,
            "objective": a.objective_code,
            "status": str(a.status),
            "weather": str(a.weather),
            "progress": a.state.progress,
            "expected": a.state.expected,
            "health": a.state.health.value,
            "late": a.state.late,
            "update_due": a.state.update_due,
            "start": _iso(a.start_date),
            "planned_end": _iso(a.planned_end_date),
            "pilot": pilot_label(a),
            "carriers": list(a.carriers),
        }
        for a in structure.actions
    ]
    ids = [a.id for a in structure.actions]
    milestones = [
        {
            "id": m.id,
            "action": code,
            "title": m.title,
            "due": _iso(m.due_date),
            # Done by the snapshot's date, as progress from milestones counts it.
            "done": _iso(m.done_date) if m.done_date and m.done_date <= at else None,
        }
        for m, code in session.exec(
            select(Milestone, Action.code)
            .join(Action, Action.id == Milestone.action_id)
            .where(Milestone.action_id.in_(ids))
            .order_by(Milestone.due_date, Milestone.id)
        )
    ]
    years: dict[int, dict[str, int]] = defaultdict(
        lambda: {"requested": 0, "arbitrated": 0, "spent": 0}
    )
    by_collectivity: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for split in budgets.budget_by_year(session, plan_id):
        t = years[split.year]
        t["requested"] += split.totals.requested_cents
        t["arbitrated"] += split.totals.arbitrated_cents
        t["spent"] += split.totals.spent_cents
        c = by_collectivity[str(split.year)].setdefault(
            split.collectivity, {"requested": 0, "arbitrated": 0, "spent": 0}
        )
        c["requested"] += split.totals.requested_cents
        c["arbitrated"] += split.totals.arbitrated_cents
        c["spent"] += split.totals.spent_cents
    # Every indicator's definition and measurements in two queries (not a whole
    # indicator page per indicator).
    definitions = {
        i.id: i for i in session.exec(select(Indicator).where(Indicator.plan_id == plan_id))
    }
    series: dict[int, list[list[Any]]] = defaultdict(list)
    for indicator_id, when, value in session.execute(
        sa.select(Measurement.indicator_id, Measurement.date, Measurement.value)
        .where(Measurement.indicator_id.in_(list(definitions)), Measurement.date <= at)
        .order_by(Measurement.date, Measurement.source)
    ):
        series[indicator_id].append([_iso(when), value])
    indicators = []
    for row in indicator_rows(session, plan_id, at):
        ind = definitions[row.id]
        s = row.state
        indicators.append(
            {
                "id": row.id,
                "code": row.code,
                "name": row.name,
                "unit": row.unit,
                "direction": str(row.direction),
                "objective": row.objective_code,
                "value": s.latest.value if s.latest else None,
                "date": _iso(s.latest.date) if s.latest else None,
                "expected": s.expected,
                "progress": s.progress,
                "status": str(s.status),
                "target": row.target_value,
                "target_date": _iso(row.target_date),
                "series": series[row.id],
                "path": [
                    [_iso(d), v]
                    for d, v in (
                        (ind.baseline_date, ind.baseline_value),
                        (ind.intermediate_target_date, ind.intermediate_target),
                        (ind.target_date, ind.target_value),
                    )
                    if d is not None and v is not None
                ],
            }
        )
    return {
        "version": SNAPSHOT_VERSION,
        "at": at.isoformat(),
        "taken_at": utcnow().isoformat(),
        "plan": {
            "id": plan.id,
            "name": plan.name,
            "is_example": plan.is_example,
            "first_year": plan.first_year,
            "last_year": plan.last_year,
            "collectivities": list(structure.collectivities),
        },
        "progress": progress,
        "expected": expected,
        "counted": counted,
        "objectives": [
            {
                "code": o.code,
                "title": o.title,
                "actions": o.action_count,
                "progress": o.progress,
                "expected": o.expected,
            }
            for o in progress_by_objective(structure)
        ],
        "stakes": [{"code": s.code, "title": s.title} for s in structure.stakes],
        "actions": actions,
        "milestones": milestones,
        "budget": {str(y): t for y, t in sorted(years.items())},
        "budget_by_collectivity": dict(by_collectivity),
        "indicators": indicators,
        "decisions": decision_rows(session, plan_id),
    }


def _codes(session: Session, plan_id: int) -> tuple[dict[int, str], dict[int, str]]:
    """(objective id -> code, action id -> code) of a plan."""
    objectives = session.execute(
        sa.select(Objective.id, Objective.code).where(Objective.plan_id == plan_id)
    ).all()
    actions = session.execute(
        sa.select(Action.id, Action.code).where(Action.plan_id == plan_id)
    ).all()
    return dict(objectives), dict(actions)


def _decisions_with_reviews(plan_id: int):  # noqa: ANN202
    """Each decision of the plan with its review's id, title and date: only these
    columns, not the whole review, whose snapshot (the whole plan, as JSON) would be
    decoded again for every decision row."""
    return (
        select(Decision, Bundle("review", Review.id, Review.title, Review.date))
        .join(Review, Review.id == Decision.review_id)
        .where(Review.plan_id == plan_id)
        .order_by(Review.date, Decision.id)
    )


def decision_rows(session: Session, plan_id: int) -> list[dict[str, Any]]:
    """Every decision of the plan, as JSON rows (for snapshots and reports)."""
    objectives = dict(
        session.execute(
            sa.select(Objective.id, Objective.code).where(Objective.plan_id == plan_id)
        ).all()
    )
    actions = dict(
        session.execute(sa.select(Action.id, Action.code).where(Action.plan_id == plan_id)).all()
    )
    rows = []
    for d, review in session.exec(_decisions_with_reviews(plan_id)):
        rows.append(
            {
                "id": d.id,
                "review": review.id,
                "review_title": review.title,
                "review_date": _iso(review.date),
                "text": d.text,
                "action": actions.get(d.action_id) if d.action_id else None,
                "objective": objectives.get(d.objective_id) if d.objective_id else None,
                "owner": d.owner,
                "due": _iso(d.due_date),
                "status": str(d.status),
            }
        )
    return rows


# --------------------------------------------------------------------------
# Reviews
# --------------------------------------------------------------------------


@dataclass
class ReviewInput:
    date: date | None
    title: str
    attendees: str = ""
    agenda: str = ""


def get_review(session: Session, review_id: int) -> Review:
    review = session.get(Review, review_id)
    if review is None:
        raise NotFoundError(f"Le comité n°{review_id} n'existe pas.")
    return review


def list_reviews(session: Session, plan_id: int) -> list[Review]:
    return list(
        session.exec(
            select(Review).where(Review.plan_id == plan_id).order_by(Review.date, Review.id)
        )
    )


def _review_problems(data: ReviewInput) -> list[str]:
    problems = []
    if data.date is None:
        problems.append("La date du comité est obligatoire.")
    title = (data.title or "").strip()
    if not title:
        problems.append("Le titre du comité est obligatoire.")
    elif len(title) > 300:
        problems.append("Le titre dépasse 300 caractères.")
    return problems


def open_review(session: Session, actor: User | None, plan_id: int, data: ReviewInput) -> Review:
    """Open a review (editors): date, title, attendees, agenda."""
    require(actor, Permission.EDIT_PLAN)
    if session.get(Plan, plan_id) is None:
        raise NotFoundError(f"Le plan n°{plan_id} n'existe pas.")
    problems = _review_problems(data)
    if problems:
        raise ValidationError("Le comité n'est pas créé.", details=problems)
    review = Review(
        plan_id=plan_id,
        date=data.date,
        title=data.title.strip(),
        attendees=(data.attendees or "").strip(),
        agenda=(data.agenda or "").strip(),
        created_by_id=actor.id,
    )
    session.add(review)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity="comité",
        entity_id=review.id,
        plan_id=plan_id,
        operation="création",
        new=f"{review.title} ({review.date.isoformat()})",
    )
    bump_revision(session)
    return review


def _locked_review(session: Session, review_id: int) -> Review:
    """The review as last committed, locked until the end of the transaction.

    Every change to a review or its decisions takes this lock first
    (tracker.services.locking). Without it, on PostgreSQL, a review being closed
    could still be edited, deleted or given a decision missing from its snapshot,
    and two closings both took a snapshot.
    """
    review = locked_get(session, Review, review_id)
    if review is None:
        raise NotFoundError(f"Le comité n°{review_id} n'existe pas.")
    return review


def _still_open(session: Session, actor: User | None, review_id: int, refusal: str) -> Review:
    """The review, for an editor, locked, if it is still open; ``refusal`` otherwise."""
    require(actor, Permission.EDIT_PLAN)
    review = _locked_review(session, review_id)
    if review.status == ReviewStatus.CLOSED:
        raise ValidationError(refusal)
    return review


def _review_values(data: ReviewInput | Review) -> dict[str, Any]:
    return {
        "date": data.date,
        "title": data.title.strip(),
        "attendees": (data.attendees or "").strip(),
        "agenda": (data.agenda or "").strip(),
    }


_REVIEW_FIELD_LABELS = {
    "date": "Date",
    "title": "Titre",
    "attendees": "Participants",
    "agenda": "Ordre du jour",
}


def update_review(
    session: Session,
    actor: User | None,
    review_id: int,
    data: ReviewInput,
    *,
    expected: ReviewInput | None = None,
) -> Review:
    """Change an open review's date, title, attendees or agenda.

    ``expected``: the review as the user's form showed it when opened; if someone
    saved it differently since, nothing is written and a ConflictError names the
    fields changed (the form would otherwise put the old text back unseen)."""
    review = _still_open(
        session,
        actor,
        review_id,
        "Ce comité est clos : son compte rendu est figé et ne se modifie plus.",
    )
    if expected is not None:
        refuse_stale_form(
            _review_values(review),
            _review_values(expected),
            _REVIEW_FIELD_LABELS,
            "Ce comité a été modifié par quelqu'un d'autre depuis que vous avez ouvert le "
            "formulaire : rien n'est enregistré. Rechargez la page pour voir sa version, "
            "puis refaites vos changements.",
        )
    problems = _review_problems(data)
    if problems:
        raise ValidationError("Le comité n'est pas modifié.", details=problems)
    values = _review_values(data)
    if audit.apply_changes(
        session, review, values, actor=actor, entity="comité", plan_id=review.plan_id
    ):
        bump_revision(session)
    return review


def close_review(session: Session, actor: User | None, review_id: int, at: date) -> Review:
    """Close a review: the plan's snapshot at ``at`` is frozen in it, for good."""
    require(actor, Permission.EDIT_PLAN)
    review = _locked_review(session, review_id)
    if review.status == ReviewStatus.CLOSED:
        raise ConflictError("Ce comité est déjà clos.")
    review.snapshot = take_snapshot(session, review.plan_id, at)
    review.status = ReviewStatus.CLOSED
    review.closed_at = utcnow()
    session.add(review)
    audit.record(
        session,
        actor=actor,
        entity="comité",
        entity_id=review.id,
        plan_id=review.plan_id,
        operation="clôture",
        new=f"{review.title} : instantané du plan au {at.isoformat()}",
    )
    bump_revision(session)
    return review


def delete_review(session: Session, actor: User | None, review_id: int) -> None:
    """Delete an open review and its decisions (a closed one is kept for good)."""
    review = _still_open(
        session,
        actor,
        review_id,
        "Un comité clos ne se supprime pas : il fait partie de l'historique.",
    )
    session.execute(sa.delete(Decision).where(Decision.review_id == review.id))
    audit.record(
        session,
        actor=actor,
        entity="comité",
        entity_id=review.id,
        plan_id=review.plan_id,
        operation="suppression",
        old=review.title,
    )
    session.delete(review)
    bump_revision(session)


def last_closed(session: Session, plan_id: int) -> Review | None:
    """The plan's last closed review (by date), if any."""
    return session.exec(
        select(Review)
        .where(Review.plan_id == plan_id, Review.status == ReviewStatus.CLOSED)
        .order_by(Review.date.desc(), Review.id.desc())
    ).first()


def previous_closed(session: Session, review: Review) -> Review | None:
    """The last closed review before this one (by date), if any."""
    return session.exec(
        select(Review)
        .where(
            Review.plan_id == review.plan_id,
            Review.status == ReviewStatus.CLOSED,
            Review.id != review.id,
            sa.or_(
                Review.date < review.date,
                sa.and_(Review.date == review.date, Review.id < review.id),
            ),
        )
        .order_by(Review.date.desc(), Review.id.desc())
    ).first()


# --------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------


@dataclass
class DecisionInput:
    text: str
    action_id: int | None = None
    objective_id: int | None = None
    owner: str = ""
    due_date: date | None = None
    status: DecisionStatus = DecisionStatus.A_FAIRE


def _decision_problems(session: Session, plan_id: int, data: DecisionInput) -> list[str]:
    problems = []
    if not (data.text or "").strip():
        problems.append("Le texte de la décision est obligatoire.")
    if len(data.owner or "") > 200:
        problems.append("Le responsable dépasse 200 caractères.")
    if data.action_id is not None:
        action = session.get(Action, data.action_id)
        if action is None or action.plan_id != plan_id:
            problems.append("Action inconnue.")
    if data.objective_id is not None:
        objective = session.get(Objective, data.objective_id)
        if objective is None or objective.plan_id != plan_id:
            problems.append("Objectif inconnu.")
    try:
        DecisionStatus(data.status)
    except ValueError:
        problems.append(f"Statut inconnu « {data.status} ».")
    return problems


def add_decision(
    session: Session, actor: User | None, review_id: int, data: DecisionInput
) -> Decision:
    """Record a decision during an open review."""
    review = _still_open(
        session,
        actor,
        review_id,
        "Ce comité est clos : enregistrez la décision dans le comité suivant.",
    )
    problems = _decision_problems(session, review.plan_id, data)
    if problems:
        raise ValidationError("La décision n'est pas enregistrée.", details=problems)
    decision = Decision(
        review_id=review.id,
        text=data.text.strip(),
        action_id=data.action_id,
        objective_id=data.objective_id,
        owner=(data.owner or "").strip(),
        due_date=data.due_date,
        status=DecisionStatus(data.status),
    )
    session.add(decision)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity="décision",
        entity_id=decision.id,
        plan_id=review.plan_id,
        action_id=data.action_id,
        operation="création",
        new=decision.text[:200],
        context=f"comité « {review.title} »",
    )
    bump_revision(session)
    return decision


def follow_up_decision(
    session: Session,
    actor: User | None,
    decision_id: int,
    expected_version: int,
    *,
    status: DecisionStatus | str,
    owner: str | None = None,
    due_date: date | None | object = KEEP,
) -> Decision:
    """Change a decision's follow-up (status, owner, due date), in any later review.

    An owner left at None, or a due date left at KEEP, stays as it is (None as a due
    date removes it).
    """
    require(actor, Permission.EDIT_PLAN)
    # Locked, so that two follow-ups from the same version cannot both pass the check
    # (tracker.services.locking).
    decision = locked_get(session, Decision, decision_id)
    if decision is None:
        raise NotFoundError(f"La décision n°{decision_id} n'existe pas.")
    if decision.version != expected_version:
        who = changed_by(session, "décision", decision.id, expected_version)
        raise ConflictError(
            "Cette décision a été modifiée par quelqu'un d'autre entre-temps ; rechargez la page.",
            details=[f"Enregistrée entre-temps par : {', '.join(who)}."] if who else [],
        )
    try:
        new_status = DecisionStatus(status)
    except ValueError:
        raise ValidationError(f"Statut de décision inconnu « {status} ».") from None
    review = session.get(Review, decision.review_id)
    values: dict[str, Any] = {"status": new_status}
    if due_date is not KEEP:
        values["due_date"] = due_date
    if owner is not None:
        if len(owner) > 200:
            raise ValidationError("Le responsable dépasse 200 caractères.")
        values["owner"] = owner.strip()
    changed = audit.apply_changes(
        session,
        decision,
        values,
        actor=actor,
        entity="décision",
        plan_id=review.plan_id,
        action_id=decision.action_id,
        entity_version=decision.version + 1,
    )
    if changed:
        decision.version += 1
        decision.updated_at = utcnow()
        session.add(decision)
        bump_revision(session)
    return decision


@dataclass(frozen=True)
class DecisionView:
    id: int
    review_id: int
    review_title: str
    review_date: date
    text: str
    action_id: int | None
    action_code: str | None
    objective_code: str | None
    owner: str
    due_date: date | None
    status: DecisionStatus
    version: int
    overdue: bool


def decisions(session: Session, plan_id: int, at: date) -> list[DecisionView]:
    """Every decision of the plan; overdue: due before ``at`` and not done or abandoned."""
    objectives = dict(
        session.execute(
            sa.select(Objective.id, Objective.code).where(Objective.plan_id == plan_id)
        ).all()
    )
    actions = dict(
        session.execute(sa.select(Action.id, Action.code).where(Action.plan_id == plan_id)).all()
    )
    return [
        DecisionView(
            id=d.id,
            review_id=r.id,
            review_title=r.title,
            review_date=r.date,
            text=d.text,
            action_id=d.action_id,
            action_code=actions.get(d.action_id) if d.action_id else None,
            objective_code=objectives.get(d.objective_id) if d.objective_id else None,
            owner=d.owner,
            due_date=d.due_date,
            status=DecisionStatus(d.status),
            version=d.version,
            overdue=d.due_date is not None
            and d.due_date < at
            and DecisionStatus(d.status) in OPEN_DECISIONS,
        )
        for d, r in session.exec(_decisions_with_reviews(plan_id))
    ]


# --------------------------------------------------------------------------
# « Depuis le dernier comité »
# --------------------------------------------------------------------------

COMPARED_FIELDS = {
    "status": "Statut",
    "weather": "Météo",
    "progress": "Avancement",
    "planned_end": "Fin prévue",
}


@dataclass(frozen=True)
class ActionChange:
    objective: str
    code: str
    title: str
    field: str  # status, weather, progress, planned_end, new, removed
    old: Any
    new: Any


@dataclass
class Comparison:
    before_at: date
    after_at: date
    actions: list[ActionChange] = field(default_factory=list)
    completed_milestones: list[dict[str, Any]] = field(default_factory=list)
    newly_late_milestones: list[dict[str, Any]] = field(default_factory=list)
    budget: list[tuple[str, str, int, int]] = field(default_factory=list)  # year, what, old, new
    indicators: list[tuple[dict[str, Any] | None, dict[str, Any]]] = field(default_factory=list)
    decisions_opened: list[dict[str, Any]] = field(default_factory=list)
    decisions_closed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def by_objective(self) -> dict[str, list[ActionChange]]:
        grouped: dict[str, list[ActionChange]] = defaultdict(list)
        for change in self.actions:
            grouped[change.objective].append(change)
        return dict(grouped)

    @property
    def empty(self) -> bool:
        return not (
            self.actions
            or self.completed_milestones
            or self.newly_late_milestones
            or self.budget
            or self.indicators
            or self.decisions_opened
            or self.decisions_closed
        )


def _late(m: dict[str, Any], at: date) -> bool:
    due = _day(m.get("due"))
    return due is not None and not m.get("done") and due < at


def compare(before: dict[str, Any], after: dict[str, Any]) -> Comparison:
    """What changed between two snapshots (an earlier review and a later one, or now)."""
    result = Comparison(date.fromisoformat(before["at"]), date.fromisoformat(after["at"]))
    old_actions = {a["id"]: a for a in before["actions"]}
    new_actions = {a["id"]: a for a in after["actions"]}
    for aid, a in new_actions.items():
        old = old_actions.get(aid)
        if old is None:
            result.actions.append(
                ActionChange(a["objective"], a["code"], a["title"], "new", None, a["status"])
            )
            continue
        for name in COMPARED_FIELDS:
            if old.get(name) != a.get(name):
                result.actions.append(
                    ActionChange(
                        a["objective"], a["code"], a["title"], name, old.get(name), a.get(name)
                    )
                )
    for aid, old in old_actions.items():
        if aid not in new_actions:
            result.actions.append(
                ActionChange(
                    old["objective"], old["code"], old["title"], "removed", old["status"], None
                )
            )
    old_milestones = {m["id"]: m for m in before["milestones"]}
    for m in after["milestones"]:
        previous = old_milestones.get(m["id"])
        if m.get("done") and (previous is None or not previous.get("done")):
            result.completed_milestones.append(m)
        if _late(m, result.after_at) and (
            previous is None or not _late(previous, result.before_at)
        ):
            result.newly_late_milestones.append(m)
    labels = {"requested": "demandé", "arbitrated": "arbitré", "spent": "réalisé"}
    for year in sorted(set(before["budget"]) | set(after["budget"])):
        old = before["budget"].get(year, {})
        new = after["budget"].get(year, {})
        for key, label in labels.items():
            if old.get(key, 0) != new.get(key, 0):
                result.budget.append((year, label, old.get(key, 0), new.get(key, 0)))
    old_indicators = {i["id"]: i for i in before["indicators"]}
    for i in after["indicators"]:
        previous = old_indicators.get(i["id"])
        if i.get("date") and (previous is None or previous.get("date") != i.get("date")):
            result.indicators.append((previous, i))
    old_decisions = {d["id"]: d for d in before["decisions"]}
    for d in after["decisions"]:
        previous = old_decisions.get(d["id"])
        if previous is None:
            result.decisions_opened.append(d)
        if DecisionStatus(d["status"]) in CLOSED_DECISIONS and (
            previous is None or DecisionStatus(previous["status"]) not in CLOSED_DECISIONS
        ):
            result.decisions_closed.append(d)
    return result
