"""The overview: where the plan stands, for elected officials and the steering
committee. Everything here reuses the other services' computations (action
states from ``plans.plan_structure``, budgets summed in SQL by ``budgets``,
indicator states from ``indicators``); this module only filters and counts.

Filters (year, collectivity, objective, pilot) apply to every figure: an
action is kept when one of its carriers is the collectivity, it serves the
objective and its pilot label is the pilot; budget lines are further
restricted to the collectivity.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.formats import TIMEZONE
from tracker.models import (
    Action,
    ActionStatus,
    AuditEntry,
    Health,
    IndicatorStatus,
    Milestone,
    Review,
    ReviewStatus,
)
from tracker.services import budgets
from tracker.services.indicators import IndicatorRow
from tracker.services.plans import (
    ActionRow,
    ObjectiveProgress,
    PlanStructure,
    mean_progress,
    pilot_label,
    progress_by_objective,
)
from tracker.services.reviews import DecisionView, decisions

MILESTONE_HORIZON_DAYS = 60
DEFAULT_COMPARISON_DAYS = 90
ON_TRACK_INDICATORS = {IndicatorStatus.REACHED, IndicatorStatus.ON_TRACK}


@dataclass(frozen=True)
class OverviewFilter:
    year: int
    collectivity: str | None = None
    objective: str | None = None
    pilot: str | None = None

    @property
    def narrowed(self) -> bool:
        return bool(self.collectivity or self.objective or self.pilot)


def filter_actions(structure: PlanStructure, f: OverviewFilter) -> list[ActionRow]:
    return [
        a
        for a in structure.actions
        if (not f.collectivity or f.collectivity in a.carriers)
        and (not f.objective or a.objective_code == f.objective)
        and (not f.pilot or pilot_label(a) == f.pilot)
    ]


def pilots(structure: PlanStructure) -> list[str]:
    """The pilot labels of the plan's actions, for the pilot filter."""
    return sorted({label for a in structure.actions if (label := pilot_label(a))})


@dataclass(frozen=True)
class MilestoneDue:
    action_id: int
    action_code: str
    action_title: str
    pilot: str
    title: str
    due_date: date
    days: int  # from today: negative when overdue


@dataclass(frozen=True)
class Attention:
    """An action the committee should look at, and why."""

    action: ActionRow
    reasons: tuple[str, ...]


@dataclass
class Overview:
    plan_id: int
    filters: OverviewFilter
    at: date
    requested_since: date | None  # as asked (None: the last committee, if any)
    actions: list[ActionRow]
    status_counts: dict[ActionStatus, int]
    since: date | None
    since_is_review: bool
    status_then: dict[ActionStatus, int] | None
    progress: float | None
    expected: float | None
    counted: int
    objectives: list[ObjectiveProgress]
    attention: list[Attention]
    budget: budgets.YearBudget
    budget_years: list[budgets.YearSplit]
    indicators: list[IndicatorRow]
    upcoming: list[MilestoneDue]
    overdue: list[MilestoneDue]
    overdue_decisions: list[DecisionView] = field(default_factory=list)

    @property
    def indicators_on_track(self) -> int:
        return sum(1 for i in self.indicators if i.state.status in ON_TRACK_INDICATORS)

    @property
    def indicators_behind(self) -> list[IndicatorRow]:
        return [i for i in self.indicators if i.state.status == IndicatorStatus.LATE]

    @property
    def indicators_without_recent(self) -> list[IndicatorRow]:
        return [i for i in self.indicators if i.state.status == IndicatorStatus.NO_RECENT]


def last_review_date(session: Session, plan_id: int) -> date | None:
    """The date of the last closed steering committee, if any."""
    return session.execute(
        sa.select(sa.func.max(Review.date)).where(
            Review.plan_id == plan_id, Review.status == ReviewStatus.CLOSED
        )
    ).scalar()


def statuses_at(session: Session, plan_id: int, when: date) -> dict[int, ActionStatus | None]:
    """Each action's status at the end of ``when`` (None: the action did not exist).

    Rebuilt from the history: the first status change after that day gives the
    status then (its old value); without one, the status has not changed since.
    """
    # The day ends at midnight in the collectivities' time zone, as history shows it.
    cutoff = datetime.combine(when + timedelta(days=1), time.min, tzinfo=ZoneInfo(TIMEZONE))
    current = dict(
        session.execute(
            sa.select(Action.id, Action.status).where(
                Action.plan_id == plan_id, Action.archived == sa.false()
            )
        ).all()
    )
    created = dict(
        session.execute(
            sa.select(AuditEntry.entity_id, sa.func.min(AuditEntry.at))
            .where(
                AuditEntry.entity == "action",
                AuditEntry.operation == "création",
                AuditEntry.entity_id.in_(list(current)),
            )
            .group_by(AuditEntry.entity_id)
        ).all()
    )
    first_change_after: dict[int, str | None] = {}
    for action_id, old in session.execute(
        sa.select(AuditEntry.action_id, AuditEntry.old_value)
        .where(
            AuditEntry.entity == "action",
            AuditEntry.field == "status",
            AuditEntry.at >= cutoff,
            AuditEntry.action_id.in_(list(current)),
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    ):
        first_change_after.setdefault(action_id, old)
    result: dict[int, ActionStatus | None] = {}
    for action_id, status in current.items():
        born = created.get(action_id)
        if born is not None and _aware(born) >= cutoff:
            result[action_id] = None
            continue
        old = first_change_after.get(action_id)
        try:
            result[action_id] = ActionStatus(old) if old else ActionStatus(status)
        except ValueError:
            result[action_id] = ActionStatus(status)
    return result


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def milestones_due(
    session: Session, rows: list[ActionRow], at: date, horizon: int = MILESTONE_HORIZON_DAYS
) -> tuple[list[MilestoneDue], list[MilestoneDue]]:
    """(due in the next ``horizon`` days, overdue and not done) for these actions.

    Milestones of finished or abandoned actions are left out: nothing is expected of them.
    """
    closed = {Health.DONE, Health.STOPPED}
    by_id = {a.id: a for a in rows if a.state.health not in closed}
    if not by_id:
        return [], []
    upcoming, overdue = [], []
    for m in session.exec(
        select(Milestone)
        .where(
            Milestone.action_id.in_(list(by_id)),
            Milestone.done_date.is_(None),
            Milestone.due_date.is_not(None),
            Milestone.due_date <= at + timedelta(days=horizon),
        )
        .order_by(Milestone.due_date, Milestone.id)
    ):
        a = by_id[m.action_id]
        due = MilestoneDue(
            a.id, a.code, a.title, pilot_label(a), m.title, m.due_date, (m.due_date - at).days
        )
        (overdue if m.due_date < at else upcoming).append(due)
    return upcoming, overdue


def attention_list(rows: list[ActionRow]) -> list[Attention]:
    """Late, at-risk and not-updated actions, the most urgent first."""
    result = []
    for a in rows:
        reasons = []
        if a.state.late:
            reasons.append("fin prévue dépassée")
        if a.state.health is Health.AT_RISK:
            reasons.append("à risque")
        elif a.state.health is Health.BEHIND:
            reasons.append("en retard sur le calendrier")
        if a.state.update_due:
            reasons.append("mise à jour attendue")
        if reasons:
            result.append(Attention(a, tuple(reasons)))
    rank = {Health.AT_RISK: 0, Health.BEHIND: 1}
    return sorted(
        result,
        key=lambda x: (
            not x.action.state.late,
            rank.get(x.action.state.health, 2),
            code_order(x.action.code),
        ),
    )


def code_order(code: str) -> tuple:
    """« 1.9 » before « 1.10 »: numbers in a code compare as numbers."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"[.\-_ ]", code)
    )


def build_overview(
    session: Session,
    structure: PlanStructure,
    indicator_rows: list[IndicatorRow],
    at: date,
    f: OverviewFilter,
    *,
    since: date | None = None,
) -> Overview:
    """Every figure of the overview page, for the filtered actions."""
    rows = filter_actions(structure, f)
    ids = [a.id for a in rows]
    counts = Counter(a.status for a in rows)
    requested_since = since
    review = last_review_date(session, structure.plan_id)
    since_is_review = since is None and review is not None
    since = since or review
    status_then = None
    if since is not None:
        then = statuses_at(session, structure.plan_id, since)
        status_then = dict(Counter(then[i] for i in ids if then.get(i) is not None))
    counted, progress, expected = mean_progress(rows)
    objectives = progress_by_objective(replace(structure, actions=rows))
    if f.objective:
        objectives = [o for o in objectives if o.code == f.objective]
    action_filter = ids if f.narrowed else None
    budget = budgets.year_budget(
        session,
        structure.plan_id,
        f.year,
        collectivity=f.collectivity,
        objective=f.objective,
        action_ids=action_filter,
    )
    years = budgets.budget_by_year(
        session,
        structure.plan_id,
        objective=f.objective,
        collectivity=f.collectivity,
        action_ids=action_filter,
    )
    wanted = set(ids)
    indicators = [
        i
        for i in indicator_rows
        if not f.narrowed
        or (set(i.action_ids) & wanted)
        or (f.objective and i.objective_code == f.objective and not f.pilot and not f.collectivity)
    ]
    upcoming, overdue = milestones_due(session, rows, at)
    late_decisions = [
        d
        for d in decisions(session, structure.plan_id, at)
        if d.overdue
        and (
            not f.narrowed
            or (d.action_id is not None and d.action_id in wanted)
            or (f.objective is not None and d.objective_code == f.objective)
        )
    ]
    return Overview(
        plan_id=structure.plan_id,
        filters=f,
        at=at,
        requested_since=requested_since,
        actions=rows,
        status_counts={s: counts.get(s, 0) for s in ActionStatus},
        since=since,
        since_is_review=since_is_review,
        status_then={s: (status_then or {}).get(s, 0) for s in ActionStatus}
        if status_then is not None
        else None,
        progress=progress,
        expected=expected,
        counted=counted,
        objectives=objectives,
        attention=attention_list(rows),
        budget=budget,
        budget_years=years,
        indicators=indicators,
        upcoming=upcoming,
        overdue=overdue,
        overdue_decisions=late_decisions,
    )


def plan_milestones(session: Session, plan_id: int) -> list[tuple[str, date, str, date | None]]:
    """(action code, due date, title, done date) of every dated milestone of the plan."""
    return [
        tuple(row)
        for row in session.execute(
            sa.select(Action.code, Milestone.due_date, Milestone.title, Milestone.done_date)
            .join(Action, Action.id == Milestone.action_id)
            .where(Action.plan_id == plan_id, Milestone.due_date.is_not(None))
        )
    ]
