"""The overview: every headline figure equals what the underlying services compute
and what the tables hold, on the example plan (with and without filters), on a
generated plan counted by hand, for statuses rebuilt from the history, and when
there is nothing to count."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tracker import db
from tracker.models import (
    Action,
    ActionCarrier,
    ActionStatus,
    AuditEntry,
    BudgetLine,
    BudgetSection,
    Collectivity,
    Direction,
    Health,
    Indicator,
    IndicatorAction,
    IndicatorStatus,
    Milestone,
    Objective,
    Review,
    ReviewStatus,
    Weather,
)
from tracker.services import users
from tracker.services.actions import update_action
from tracker.services.budgets import Totals, budget_by_year, year_budget
from tracker.services.indicators import indicator_rows
from tracker.services.overview import (
    MILESTONE_HORIZON_DAYS,
    OverviewFilter,
    build_overview,
    filter_actions,
    last_review_date,
    pilots,
    statuses_at,
)
from tracker.services.plans import (
    ActionData,
    BudgetLineData,
    IndicatorData,
    MeasurementData,
    MilestoneData,
    ObjectiveData,
    PlanData,
    create_plan,
    mean_progress,
    pilot_label,
    plan_structure,
    progress_by_objective,
)

ADMIN = users.system_actor("tests")
AT = date(2026, 11, 28)
VILLE, AGGLO = "Ville de Cahors", "Grand Cahors"
FONCT, INVEST = BudgetSection.FONCTIONNEMENT, BudgetSection.INVESTISSEMENT
LATE_REASON, AT_RISK_REASON = "fin prévue dépassée", "à risque"
BEHIND_REASON, UPDATE_REASON = "en retard sur le calendrier", "mise à jour attendue"


# --------------------------------------------------------------------------
# Reading the tables without the services
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class DbAction:
    code: str
    status: ActionStatus
    objective: str
    carriers: frozenset[str]
    pilot: str


@dataclass(frozen=True)
class DbLine:
    action_id: int
    year: int
    collectivity: str
    section: BudgetSection
    requested: int
    arbitrated: int  # None read as 0
    spent: int


@dataclass(frozen=True)
class DbMilestone:
    id: int
    action_id: int
    title: str
    due: date | None
    done: date | None


def _db_actions(engine, plan_id: int) -> dict[int, DbAction]:
    """The plan's non-archived actions, read straight from the tables."""
    with db.session_scope(engine) as session:
        objectives = {
            o.id: o.code
            for o in session.exec(select(Objective).where(Objective.plan_id == plan_id))
        }
        names = {
            c.id: c.name
            for c in session.exec(select(Collectivity).where(Collectivity.plan_id == plan_id))
        }
        carriers: dict[int, set[str]] = defaultdict(set)
        for link in session.exec(select(ActionCarrier)):
            if link.collectivity_id in names:
                carriers[link.action_id].add(names[link.collectivity_id])
        return {
            a.id: DbAction(
                a.code,
                ActionStatus(a.status),
                objectives[a.objective_id],
                frozenset(carriers[a.id]),
                a.pilot_name or a.pilot_function,
            )
            for a in session.exec(select(Action).where(Action.plan_id == plan_id))
            if not a.archived
        }


def _db_lines(engine, plan_id: int) -> list[DbLine]:
    """Every budget line of the plan's non-archived actions."""
    with db.session_scope(engine) as session:
        rows = session.execute(
            sa.select(BudgetLine, Collectivity.name)
            .join(Action, Action.id == BudgetLine.action_id)
            .join(Collectivity, Collectivity.id == BudgetLine.collectivity_id)
            .where(Action.plan_id == plan_id, Action.archived == sa.false())
        ).all()
    return [
        DbLine(
            b.action_id,
            b.year,
            name,
            BudgetSection(b.section),
            b.requested_cents,
            b.arbitrated_cents or 0,
            b.spent_cents,
        )
        for b, name in rows
    ]


def _db_milestones(engine, plan_id: int) -> list[DbMilestone]:
    """Every milestone of the plan's non-archived actions."""
    with db.session_scope(engine) as session:
        rows = session.exec(
            select(Milestone)
            .join(Action, Action.id == Milestone.action_id)
            .where(Action.plan_id == plan_id, Action.archived == sa.false())
        ).all()
    return [DbMilestone(m.id, m.action_id, m.title, m.due_date, m.done_date) for m in rows]


def _db_indicator_links(engine, plan_id: int) -> dict[int, tuple[str | None, set[int]]]:
    """Per indicator id: its objective code and the ids of the actions it is linked to."""
    with db.session_scope(engine) as session:
        objectives = {
            o.id: o.code
            for o in session.exec(select(Objective).where(Objective.plan_id == plan_id))
        }
        indicators = session.exec(select(Indicator).where(Indicator.plan_id == plan_id)).all()
        links: dict[int, set[int]] = defaultdict(set)
        for link in session.exec(select(IndicatorAction)):
            links[link.indicator_id].add(link.action_id)
        return {
            i.id: (objectives.get(i.objective_id) if i.objective_id else None, links[i.id])
            for i in indicators
        }


def _amounts(t: Totals) -> tuple[int, int, int]:
    return (t.requested_cents, t.arbitrated_cents, t.spent_cents)


def _sum(lines) -> tuple[int, int, int]:  # noqa: ANN001
    return (
        sum(x.requested for x in lines),
        sum(x.arbitrated for x in lines),
        sum(x.spent for x in lines),
    )


def _grouped(lines, key) -> dict:  # noqa: ANN001
    groups: dict = defaultdict(list)
    for x in lines:
        groups[key(x)].append(x)
    return {k: _sum(v) for k, v in groups.items()}


def _create(engine, data: PlanData) -> int:
    with db.session_scope(engine, write=True) as session:
        return create_plan(session, data, actor=ADMIN).id


def _ids_by_code(engine, plan_id: int) -> dict[str, int]:
    with db.session_scope(engine) as session:
        rows = session.execute(sa.select(Action.code, Action.id).where(Action.plan_id == plan_id))
        return {code: action_id for code, action_id in rows}


def _overview(engine, plan_id: int, f: OverviewFilter, at: date = AT, since=None):  # noqa: ANN001, ANN202
    with db.session_scope(engine) as session:
        structure = plan_structure(session, plan_id, at)
        rows = indicator_rows(session, plan_id, at)
        return build_overview(session, structure, rows, at, f, since=since), structure, rows


def _reasons(row) -> tuple[str, ...]:  # noqa: ANN001
    """Why an action needs attention, from its state (the order the page shows)."""
    reasons = []
    if row.state.late:
        reasons.append(LATE_REASON)
    if row.state.health is Health.AT_RISK:
        reasons.append(AT_RISK_REASON)
    elif row.state.health is Health.BEHIND:
        reasons.append(BEHIND_REASON)
    if row.state.update_due:
        reasons.append(UPDATE_REASON)
    return tuple(reasons)


def _urgency(row) -> tuple:  # noqa: ANN001
    rank = {Health.AT_RISK: 0, Health.BEHIND: 1}
    return (not row.state.late, rank.get(row.state.health, 2), row.code)


# --------------------------------------------------------------------------
# Every figure against the services and the tables, for any filter
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Tables:
    actions: dict[int, DbAction]
    lines: list[DbLine]
    milestones: list[DbMilestone]
    links: dict[int, tuple[str | None, set[int]]]


def _tables(engine, plan_id: int) -> Tables:
    return Tables(
        _db_actions(engine, plan_id),
        _db_lines(engine, plan_id),
        _db_milestones(engine, plan_id),
        _db_indicator_links(engine, plan_id),
    )


def _check_overview(  # noqa: ANN202
    engine, plan_id: int, f: OverviewFilter, at: date = AT, tables: Tables | None = None
):
    """Build the overview and compare each figure with the services it reuses and
    with sums and counts made from the tables (read again unless given); return it
    with its inputs."""
    tables = tables or _tables(engine, plan_id)
    with db.session_scope(engine) as session:
        structure = plan_structure(session, plan_id, at)
        ind_rows = indicator_rows(session, plan_id, at)
        o = build_overview(session, structure, ind_rows, at, f)
        kept_ids = [
            a.id
            for a in structure.actions
            if (not f.collectivity or f.collectivity in a.carriers)
            and (not f.objective or a.objective_code == f.objective)
            and (not f.pilot or pilot_label(a) == f.pilot)
        ]
        narrowed = kept_ids if (f.collectivity or f.objective or f.pilot) else None
        budget = year_budget(
            session,
            plan_id,
            f.year,
            collectivity=f.collectivity,
            objective=f.objective,
            action_ids=narrowed,
        )
        years = budget_by_year(
            session,
            plan_id,
            objective=f.objective,
            collectivity=f.collectivity,
            action_ids=narrowed,
        )
    where = repr(f)
    assert o.filters == f and o.at == at, where

    # The actions: those of the tables matching every filter, in the plan's order.
    actions = tables.actions
    kept = {
        i
        for i, a in actions.items()
        if (not f.collectivity or f.collectivity in a.carriers)
        and (not f.objective or a.objective == f.objective)
        and (not f.pilot or a.pilot == f.pilot)
    }
    ids = [a.id for a in o.actions]
    assert ids == kept_ids and set(ids) == kept and len(ids) == len(kept), where
    assert o.actions == filter_actions(structure, f), where

    # Status counts: a Counter of the kept actions' stored statuses.
    stored = Counter(actions[i].status for i in kept)
    assert o.status_counts == {s: stored.get(s, 0) for s in ActionStatus}, where
    assert sum(o.status_counts.values()) == len(o.actions), where

    # Progress: mean_progress, and by hand (abandoned actions left out).
    assert (o.counted, o.progress, o.expected) == mean_progress(o.actions), where
    live = [a for a in o.actions if a.status is not ActionStatus.ABANDONNE]
    assert o.counted == len(live), where
    if live:
        assert o.progress == pytest.approx(sum(a.state.progress for a in live) / len(live))
    else:
        assert o.progress is None and o.expected is None, where
    dated = [a.state.expected for a in live if a.state.expected is not None]
    assert o.expected == (pytest.approx(sum(dated) / len(dated)) if dated else None), where

    # Objectives: progress_by_objective of the kept actions (only the chosen one).
    objectives = progress_by_objective(replace(structure, actions=o.actions))
    if f.objective:
        objectives = [x for x in objectives if x.code == f.objective]
        assert [x.code for x in o.objectives] == [
            x.code for x in structure.objectives if x.code == f.objective
        ], where
    assert o.objectives == objectives, where
    assert sum(x.action_count for x in o.objectives) == o.counted, where

    # Budget: the budget service with the same restriction, and the lines' sums.
    assert o.budget == budget, where
    assert o.budget_years == years, where
    lines = [
        x
        for x in tables.lines
        if x.action_id in kept and (not f.collectivity or x.collectivity == f.collectivity)
    ]
    in_year = [x for x in lines if x.year == f.year]
    assert o.budget.year == f.year, where
    assert _amounts(o.budget.total) == _sum(in_year), where
    assert {r.action_id for r in o.budget.rows} == {x.action_id for x in in_year}, where
    assert {r.action_id for r in o.budget.rows} <= kept, where
    assert {k: _amounts(t) for k, t in o.budget.by_collectivity.items()} == _grouped(
        in_year, lambda x: x.collectivity
    ), where
    if f.collectivity:
        assert set(o.budget.by_collectivity) <= {f.collectivity}, where
    if f.objective:
        assert set(o.budget.by_objective) <= {f.objective}, where
    assert {(s.year, s.collectivity, s.section): _amounts(s.totals) for s in o.budget_years} == (
        _grouped(lines, lambda x: (x.year, x.collectivity, x.section))
    ), where

    # Indicators: all without a filter; else those linked to a kept action (and, for
    # the objective filter alone, the objective's own indicators).
    links = tables.links
    objective_only = bool(f.objective and not f.collectivity and not f.pilot)
    wanted = {
        iid
        for iid, (objective, linked) in links.items()
        if not f.narrowed or linked & kept or (objective_only and objective == f.objective)
    }
    assert [i.id for i in o.indicators] == [i.id for i in ind_rows if i.id in wanted], where
    statuses = [i.state.status for i in o.indicators]
    assert o.indicators_on_track == sum(
        s in (IndicatorStatus.REACHED, IndicatorStatus.ON_TRACK) for s in statuses
    ), where
    assert [i.id for i in o.indicators_behind] == [
        i.id for i in o.indicators if i.state.status is IndicatorStatus.LATE
    ], where
    assert [i.id for i in o.indicators_without_recent] == [
        i.id for i in o.indicators if i.state.status is IndicatorStatus.NO_RECENT
    ], where

    # Milestones: the not-done ones of kept actions still under way (neither finished
    # nor abandoned: nothing is expected of those), from the table.
    open_ids = {a.id for a in o.actions if a.state.health not in {Health.DONE, Health.STOPPED}}
    pending = sorted(
        (
            m
            for m in tables.milestones
            if m.action_id in kept & open_ids and m.done is None and m.due is not None
        ),
        key=lambda m: (m.due, m.id),
    )
    horizon = at + timedelta(days=MILESTONE_HORIZON_DAYS)
    assert [(m.action_id, m.title, m.due_date, m.days) for m in o.upcoming] == [
        (m.action_id, m.title, m.due, (m.due - at).days) for m in pending if at <= m.due <= horizon
    ], where
    assert [(m.action_id, m.title, m.due_date, m.days) for m in o.overdue] == [
        (m.action_id, m.title, m.due, (m.due - at).days) for m in pending if m.due < at
    ], where
    for m in o.upcoming + o.overdue:
        assert (m.action_code, m.pilot) == (actions[m.action_id].code, actions[m.action_id].pilot)

    # Attention: exactly the late, at-risk, behind or not-updated actions, most urgent first.
    flagged = [
        a
        for a in o.actions
        if a.state.late or a.state.health in (Health.AT_RISK, Health.BEHIND) or a.state.update_due
    ]
    assert {x.action.id for x in o.attention} == {a.id for a in flagged}, where
    assert len(o.attention) == len(flagged), where
    for x in o.attention:
        assert x.reasons == _reasons(x.action), (where, x.action.code)
    keys = [_urgency(x.action) for x in o.attention]
    assert keys == sorted(keys), where
    return o, structure, ind_rows


# --------------------------------------------------------------------------
# The example plan
# --------------------------------------------------------------------------


def test_example_overview_without_filter_matches_every_service(engine, example_plan):
    o, structure, ind_rows = _check_overview(engine, example_plan.id, OverviewFilter(2026))
    assert len(o.actions) == 19 == sum(o.status_counts.values())
    with db.session_scope(engine) as session:
        stored = Counter(
            ActionStatus(s)
            for s in session.exec(
                select(Action.status).where(Action.plan_id == example_plan.id)
            ).all()
        )
        assert o.budget == year_budget(session, example_plan.id, 2026)
        assert o.budget_years == budget_by_year(session, example_plan.id)
        pending = session.exec(
            select(Milestone.action_id, Milestone.due_date)
            .join(Action, Action.id == Milestone.action_id)
            .where(
                Action.plan_id == example_plan.id,
                Milestone.done_date.is_(None),
                Milestone.due_date.is_not(None),
            )
        ).all()
    assert o.status_counts == {s: stored.get(s, 0) for s in ActionStatus}
    assert (o.counted, o.progress, o.expected) == mean_progress(structure.actions)
    assert o.progress is not None and o.expected is not None
    assert o.objectives == progress_by_objective(structure)
    assert [x.code for x in o.objectives] == ["1", "2", "3"]
    assert o.budget.total.arbitrated_cents > 0
    assert {s.year for s in o.budget_years} == set(range(2018, 2027))

    # Indicators: the 8 of the example, counted by status.
    assert len(o.indicators) == 8 and o.indicators == ind_rows
    by_status = Counter(i.state.status for i in ind_rows)
    on_track = by_status[IndicatorStatus.REACHED] + by_status[IndicatorStatus.ON_TRACK]
    assert o.indicators_on_track == on_track
    assert len(o.indicators_behind) == by_status[IndicatorStatus.LATE]
    assert len(o.indicators_without_recent) == by_status[IndicatorStatus.NO_RECENT]
    assert o.indicators_on_track > 0 and o.indicators_behind

    # Attention: at least one late action, listed first, and at-risk ones before behind ones.
    assert o.attention and o.attention[0].action.state.late
    assert o.attention[0].reasons[:2] == (LATE_REASON, AT_RISK_REASON)
    assert any(x.reasons == (BEHIND_REASON,) for x in o.attention)

    # Milestones against a direct query: 60 days ahead, and every overdue one, of the
    # actions still under way.
    closed = {a.id for a in structure.actions if a.state.health in {Health.DONE, Health.STOPPED}}
    pending = [(a, d) for a, d in pending if a not in closed]
    horizon = AT + timedelta(days=60)
    assert sorted((m.action_id, m.due_date) for m in o.upcoming) == sorted(
        (a, d) for a, d in pending if AT <= d <= horizon
    )
    assert sorted((m.action_id, m.due_date) for m in o.overdue) == sorted(
        (a, d) for a, d in pending if d < AT
    )
    assert o.upcoming and o.overdue
    assert all(0 <= m.days <= 60 for m in o.upcoming) and all(m.days < 0 for m in o.overdue)
    # No closed review and no comparison date asked: no comparison.
    assert (o.since, o.since_is_review, o.status_then) == (None, False, None)


def test_example_collectivity_filter_keeps_its_actions_and_its_budget_lines(engine, example_plan):
    f = OverviewFilter(2026, collectivity=VILLE)
    o, structure, _ = _check_overview(engine, example_plan.id, f)
    carried = [a.id for a in structure.actions if VILLE in a.carriers]
    assert [a.id for a in o.actions] == carried
    assert 0 < len(carried) < len(structure.actions)
    with db.session_scope(engine) as session:
        assert o.budget == year_budget(
            session, example_plan.id, 2026, collectivity=VILLE, action_ids=carried
        )
        unfiltered = year_budget(session, example_plan.id, 2026)
    assert list(o.budget.by_collectivity) == [VILLE]
    assert o.budget.total.arbitrated_cents > 0
    assert o.budget.total.arbitrated_cents < unfiltered.total.arbitrated_cents
    assert {s.collectivity for s in o.budget_years} == {VILLE}
    # Every figure follows the smaller set of actions.
    assert sum(o.status_counts.values()) == len(carried)
    assert all(set(i.action_ids) & set(carried) for i in o.indicators)
    assert {m.action_id for m in o.upcoming + o.overdue} <= set(carried)
    assert {x.action.id for x in o.attention} <= set(carried)


def test_example_objective_filter_keeps_that_objective_only(engine, example_plan):
    f = OverviewFilter(2026, objective="2")
    o, structure, ind_rows = _check_overview(engine, example_plan.id, f)
    assert {a.objective_code for a in o.actions} == {"2"}
    assert len(o.actions) == sum(a.objective_code == "2" for a in structure.actions)
    assert o.objectives == [x for x in progress_by_objective(structure) if x.code == "2"]
    assert set(o.budget.by_objective) == {"2"}
    with db.session_scope(engine) as session:
        assert o.budget.total == year_budget(session, example_plan.id, 2026, objective="2").total
    ids = {a.id for a in o.actions}
    assert {i.id for i in o.indicators} == {
        i.id for i in ind_rows if set(i.action_ids) & ids or i.objective_code == "2"
    }
    assert len(o.indicators) < len(ind_rows)


def test_example_pilot_filter_keeps_that_pilot_only(engine, example_plan):
    _, structure, _ = _overview(engine, example_plan.id, OverviewFilter(2026))
    labels = pilots(structure)
    assert labels == sorted({pilot_label(a) for a in structure.actions} - {""})
    for pilot in (labels[0], "Chargé(e) de mission numérique"):
        o, _, _ = _check_overview(engine, example_plan.id, OverviewFilter(2026, pilot=pilot))
        assert o.actions and {pilot_label(a) for a in o.actions} == {pilot}
        assert len(o.actions) == sum(pilot_label(a) == pilot for a in structure.actions)


def test_example_combined_filters_intersect(engine, example_plan):
    def ids(**filters) -> set[int]:
        o, _, _ = _check_overview(engine, example_plan.id, OverviewFilter(2026, **filters))
        return {a.id for a in o.actions}

    by_collectivity, by_objective = ids(collectivity=VILLE), ids(objective="2")
    both = ids(collectivity=VILLE, objective="2")
    assert both == by_collectivity & by_objective and 0 < len(both) < len(by_objective)
    _, structure, _ = _overview(engine, example_plan.id, OverviewFilter(2026))
    pilot = next(pilot_label(a) for a in structure.actions if a.id in both)
    assert ids(collectivity=VILLE, objective="2", pilot=pilot) == both & ids(pilot=pilot)


def test_example_every_filter_and_year_is_consistent(engine, example_plan):
    _, structure, _ = _overview(engine, example_plan.id, OverviewFilter(2026))
    filters = (
        [{}]
        + [{"collectivity": c} for c in structure.collectivities]
        + [{"objective": x.code} for x in structure.objectives]
        + [{"pilot": p} for p in pilots(structure)[:4]]
        + [{"collectivity": AGGLO, "objective": "1"}, {"collectivity": VILLE, "objective": "3"}]
    )
    tables = _tables(engine, example_plan.id)
    for year in (2019, 2026):
        for extra in filters:
            _check_overview(engine, example_plan.id, OverviewFilter(year, **extra), tables=tables)


def test_example_filters_matching_no_action_give_zero_everywhere(engine, example_plan):
    _, structure, _ = _overview(engine, example_plan.id, OverviewFilter(2026))
    elsewhere = next(a for a in structure.actions if VILLE not in a.carriers)
    for extra in (
        {"collectivity": VILLE, "pilot": pilot_label(elsewhere)},
        {"pilot": "Personne"},
        {"objective": "9"},
    ):
        o, _, _ = _check_overview(engine, example_plan.id, OverviewFilter(2026, **extra))
        assert o.actions == [], extra
        assert o.status_counts == dict.fromkeys(ActionStatus, 0), extra
        assert (o.counted, o.progress, o.expected) == (0, None, None), extra
        assert all(x.action_count == 0 and x.progress is None for x in o.objectives), extra
        assert o.budget.total == Totals() and o.budget.rows == [], extra
        assert (o.budget.by_collectivity, o.budget.by_objective) == ({}, {}), extra
        assert o.budget_years == [] and o.indicators == [], extra
        assert (o.upcoming, o.overdue, o.attention) == ([], [], []), extra


# --------------------------------------------------------------------------
# A generated plan, counted by hand
# --------------------------------------------------------------------------

GEN_AT = date(2026, 6, 15)
VILLE_G, AGGLO_G = "Ville", "Agglo"
DIRECTION = "Direction du numérique"  # the pilot function of G05, G10, G15, G20, G25, G30
BLOCKED = {"G02", "G07", "G13", "G21", "G28"}
DONE = {"G04", "G15", "G25"}
ABANDONED = {"G09", "G19"}
TO_COME = {"G05", "G11", "G22", "G30"}
PAUSED = {"G17", "G26"}
STORM = {"G03", "G12"}
LATE = {"G06", "G16", "G23"}  # planned end 2026-03-31, still en cours
BEHIND = {"G08", "G18"}  # 30 % done, 45.3 % expected
FAR_BEHIND = {"G10"}  # 10 % done, 45.3 % expected
ON_TIME = {"G14", "G24"}  # 40 % done, 45.3 % expected
EXPECTED_MID = 100 * 165 / 364  # 2026-01-01 -> 2026-12-31, at 2026-06-15
LAST_UPDATE = {  # all others: 2026-06-01; periodicity 90 days
    "G01": date(2026, 1, 10),
    "G13": date(2026, 1, 10),
    "G20": date(2026, 1, 10),
    "G25": date(2026, 1, 10),  # réalisé: never due
    "G09": date(2026, 1, 10),  # abandonné: never due
    "G29": date(2026, 3, 16),  # 91 days: due
    "G27": date(2026, 3, 17),  # 90 days: not yet
}
UPDATE_DUE = {"G01", "G13", "G20", "G29"}
# The attention list counted by hand: late first, then at risk, behind, not updated.
ATTENTION = [
    ("G06", (LATE_REASON, AT_RISK_REASON)),
    ("G16", (LATE_REASON, AT_RISK_REASON)),
    ("G23", (LATE_REASON, AT_RISK_REASON)),
    ("G02", (AT_RISK_REASON,)),
    ("G03", (AT_RISK_REASON,)),
    ("G07", (AT_RISK_REASON,)),
    ("G10", (AT_RISK_REASON,)),
    ("G12", (AT_RISK_REASON,)),
    ("G13", (AT_RISK_REASON, UPDATE_REASON)),
    ("G21", (AT_RISK_REASON,)),
    ("G28", (AT_RISK_REASON,)),
    ("G08", (BEHIND_REASON,)),
    ("G18", (BEHIND_REASON,)),
    ("G01", (UPDATE_REASON,)),
    ("G20", (UPDATE_REASON,)),
    ("G29", (UPDATE_REASON,)),
]
# Not-done milestones with a due date: (action, title, due), by due date.
UPCOMING = [
    ("G02", "Jalon du jour", GEN_AT),
    ("G03", "Jalon à dix jours", GEN_AT + timedelta(days=10)),
    ("G11", "Jalon à soixante jours", GEN_AT + timedelta(days=60)),
]
# G19 is abandoned: its milestone is not listed (nothing is expected of it).
ABANDONED_MILESTONE = ("G19", "Jalon d'une action abandonnée", date(2026, 2, 1))
OVERDUE = [
    ("G01", "Jalon dépassé", date(2026, 5, 1)),
    ("G22", "Jalon d'hier", GEN_AT - timedelta(days=1)),
]
# Indicators: status at GEN_AT and what they are linked to.
INDICATOR_STATUS = {
    "IND1": IndicatorStatus.ON_TRACK,
    "IND2": IndicatorStatus.LATE,
    "IND3": IndicatorStatus.REACHED,
    "IND4": IndicatorStatus.NO_RECENT,
    "IND5": IndicatorStatus.NO_TARGET,
}


def _carriers(n: int) -> list[str]:
    return [[VILLE_G, AGGLO_G], [VILLE_G], [AGGLO_G]][n % 3]


def _status(code: str) -> ActionStatus:
    for codes, status in (
        (BLOCKED, ActionStatus.BLOQUE),
        (DONE, ActionStatus.REALISE),
        (ABANDONED, ActionStatus.ABANDONNE),
        (TO_COME, ActionStatus.A_VENIR),
        (PAUSED, ActionStatus.EN_PAUSE),
    ):
        if code in codes:
            return status
    return ActionStatus.EN_COURS


def _action(n: int) -> ActionData:
    code = f"G{n:02d}"
    a = ActionData(
        code=code,
        title=f"Action générée {n}",
        objective_code=str(1 + (n - 1) // 10),
        carriers=_carriers(n),
        pilot_name="" if n % 5 == 0 else f"Pilote {n % 4}",
        pilot_function=DIRECTION if n % 5 == 0 else "Chargé(e) de mission",
        status=_status(code),
        weather=Weather.ORAGE if code in STORM else Weather.SOLEIL,
        progress=(n * 13) % 100,
    )
    if code in LATE:
        a.start_date, a.planned_end_date, a.progress = date(2025, 1, 1), date(2026, 3, 31), 60
    if code in BEHIND | FAR_BEHIND | ON_TIME:
        a.start_date, a.planned_end_date = date(2026, 1, 1), date(2026, 12, 31)
        a.progress = 30 if code in BEHIND else 10 if code in FAR_BEHIND else 40
    if code in {"G04", "G09"}:  # planned end passed, but closed: neither late nor due
        a.start_date, a.planned_end_date = date(2025, 6, 1), date(2026, 1, 31)
    if code in DONE:
        a.progress, a.actual_end_date = 100, date(2026, 3, 1)
    return a


def _hand_expected(code: str) -> float | None:
    """Expected progress at GEN_AT, worked out by hand from the dates above."""
    if code in LATE or code == "G04":
        return 100.0
    if code in BEHIND | FAR_BEHIND | ON_TIME:
        return EXPECTED_MID
    return None


def _generated_plan() -> PlanData:
    """30 actions over 3 objectives and 2 collectivities, budget lines for 2025 and 2026
    (2027 has none), milestones around GEN_AT, and 5 indicators with measurements."""
    actions = [_action(n) for n in range(1, 31)]
    lines = []
    for n, a in enumerate(actions, start=1):
        if n % 4 == 0:
            continue
        for year in (2025, 2026):
            for collectivity in a.carriers:
                lines.append(
                    BudgetLineData(
                        a.code,
                        year,
                        collectivity,
                        FONCT,
                        requested_cents=n * 100_000 + (year - 2025) * 50_000,
                        arbitrated_cents=None if n % 7 == 0 else n * 90_000,
                        spent_cents=n * (10_000 if year == 2025 else 1_000),
                    )
                )
        if AGGLO_G in a.carriers and n % 3 == 0:
            lines.append(BudgetLineData(a.code, 2026, AGGLO_G, INVEST, 2_000_000 + n, 1_500_000))
    milestones = [
        MilestoneData(code, title, due)
        for code, title, due in [*UPCOMING, *OVERDUE, ABANDONED_MILESTONE]
    ] + [
        MilestoneData("G01", "Jalon réalisé", date(2026, 5, 10), date(2026, 5, 9)),
        MilestoneData("G12", "Jalon à soixante et un jours", GEN_AT + timedelta(days=61)),
        MilestoneData("G13", "Jalon sans date"),
        MilestoneData("G30", "Jalon réalisé en avance", GEN_AT + timedelta(days=5), GEN_AT),
    ]
    path = {
        "unit": "%",
        "direction": Direction.HIGHER,
        "baseline_value": 10.0,
        "baseline_date": date(2025, 1, 1),
        "target_value": 50.0,
        "target_date": date(2027, 12, 31),
    }
    # Expected at 2026-06-01: 10 + 40 * 516 / 1094 = 28.9.
    indicators = [
        IndicatorData(
            "IND1", "En bonne voie", objective_code="1", action_codes=["G01", "G11"], **path
        ),
        IndicatorData("IND2", "En retard", objective_code="2", action_codes=["G12"], **path),
        IndicatorData("IND3", "Atteint", objective_code="3", action_codes=["G21", "G22"], **path),
        IndicatorData("IND4", "Pas récent", objective_code="2", update_period_days=30, **path),
        IndicatorData("IND5", "Sans cible", action_codes=["G05"]),
    ]
    measurements = [
        MeasurementData("IND1", date(2026, 6, 1), 35.0),
        MeasurementData("IND1", date(2026, 7, 1), 0.0),  # after GEN_AT: ignored
        MeasurementData("IND2", date(2026, 6, 1), 20.0),
        MeasurementData("IND3", date(2026, 5, 1), 55.0),
        MeasurementData("IND4", date(2026, 1, 1), 30.0),
        MeasurementData("IND5", date(2026, 6, 1), 12.0),
    ]
    return PlanData(
        name="Plan généré pour la vue d'ensemble",
        collectivities=[VILLE_G, AGGLO_G],
        first_year=2025,
        last_year=2027,
        objectives=[ObjectiveData(str(n), f"Objectif {n}") for n in (1, 2, 3)],
        actions=actions,
        milestones=milestones,
        budget_lines=lines,
        indicators=indicators,
        measurements=measurements,
    )


def _create_generated(engine) -> tuple[PlanData, int, dict[str, int]]:
    data = _generated_plan()
    plan_id = _create(engine, data)
    ids = _ids_by_code(engine, plan_id)
    with db.session_scope(engine, write=True) as session:
        for code, action_id in ids.items():
            day = LAST_UPDATE.get(code, date(2026, 6, 1))
            session.execute(
                sa.update(Action)
                .where(Action.id == action_id)
                .values(updated_at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
            )
    return data, plan_id, ids


def _hand_kept(data: PlanData, f: OverviewFilter) -> list[ActionData]:
    return [
        a
        for a in data.actions
        if (not f.collectivity or f.collectivity in a.carriers)
        and (not f.objective or a.objective_code == f.objective)
        and (not f.pilot or (a.pilot_name or a.pilot_function) == f.pilot)
    ]


def _check_by_hand(engine, plan_id: int, data: PlanData, ids, f, indicators, tables=None):  # noqa: ANN001, ANN202
    """The overview of the generated plan against counts and sums made from its data."""
    o, _, _ = _check_overview(engine, plan_id, f, at=GEN_AT, tables=tables)
    kept = _hand_kept(data, f)
    codes = {a.code for a in kept}
    where = repr(f)
    assert [a.code for a in o.actions] == [a.code for a in kept], where
    counts = Counter(a.status for a in kept)
    assert o.status_counts == {s: counts.get(s, 0) for s in ActionStatus}, where

    live = [a for a in kept if a.status is not ActionStatus.ABANDONNE]
    assert o.counted == len(live), where
    assert o.progress == pytest.approx(sum(a.progress for a in live) / len(live)), where
    expected = [e for a in live if (e := _hand_expected(a.code)) is not None]
    assert o.expected == (pytest.approx(sum(expected) / len(expected)) if expected else None)

    lines = [
        b
        for b in data.budget_lines
        if b.action_code in codes and (not f.collectivity or b.collectivity == f.collectivity)
    ]
    year = [b for b in lines if b.year == f.year]
    assert o.budget.total.requested_cents == sum(b.requested_cents for b in year), where
    assert o.budget.total.arbitrated_cents == sum(b.arbitrated_cents or 0 for b in year), where
    assert o.budget.total.spent_cents == sum(b.spent_cents for b in year), where
    assert {r.code for r in o.budget.rows} == {b.action_code for b in year}, where
    assert sum(s.totals.arbitrated_cents for s in o.budget_years) == sum(
        b.arbitrated_cents or 0 for b in lines
    ), where

    assert [i.code for i in o.indicators] == indicators, where
    assert [(x.action.code, x.reasons) for x in o.attention] == [
        (code, reasons) for code, reasons in ATTENTION if code in codes
    ], where
    assert [(m.action_code, m.title, m.due_date) for m in o.upcoming] == [
        m for m in UPCOMING if m[0] in codes
    ], where
    assert [(m.action_code, m.title, m.due_date) for m in o.overdue] == [
        m for m in OVERDUE if m[0] in codes
    ], where
    assert all(m.action_id == ids[m.action_code] for m in o.upcoming + o.overdue)
    return o


def test_generated_plan_overview_equals_the_hand_counts(engine):
    data, plan_id, ids = _create_generated(engine)
    o = _check_by_hand(
        engine, plan_id, data, ids, OverviewFilter(2026), ["IND1", "IND2", "IND3", "IND4", "IND5"]
    )
    assert len(o.actions) == 30
    assert o.status_counts == {
        ActionStatus.A_VENIR: 4,
        ActionStatus.EN_COURS: 14,
        ActionStatus.REALISE: 3,
        ActionStatus.EN_PAUSE: 2,
        ActionStatus.BLOQUE: 5,
        ActionStatus.ABANDONNE: 2,
    }
    assert o.counted == 28
    assert o.expected == pytest.approx((4 * 100 + 5 * EXPECTED_MID) / 9)
    assert {a.code for a in o.actions if a.state.update_due} == UPDATE_DUE
    assert {a.code for a in o.actions if a.state.late} == LATE
    assert [x.code for x in o.objectives] == ["1", "2", "3"]
    assert [x.action_count for x in o.objectives] == [9, 9, 10]  # G09, G19 abandoned

    arbitrated_2026 = sum(b.arbitrated_cents or 0 for b in data.budget_lines if b.year == 2026)
    assert o.budget.total.arbitrated_cents == arbitrated_2026 > 0
    assert set(o.budget.by_collectivity) == {VILLE_G, AGGLO_G}
    assert {(s.year, s.section) for s in o.budget_years} == {
        (2025, FONCT),
        (2026, FONCT),
        (2026, INVEST),
    }

    assert {i.code: i.state.status for i in o.indicators} == INDICATOR_STATUS
    assert o.indicators_on_track == 2
    assert [i.code for i in o.indicators_behind] == ["IND2"]
    assert [i.code for i in o.indicators_without_recent] == ["IND4"]
    assert [m.days for m in o.upcoming] == [0, 10, 60]
    assert [m.days for m in o.overdue] == [-45, -1]


@pytest.mark.parametrize(
    ("filters", "indicators"),
    [
        ({"collectivity": VILLE_G}, ["IND1", "IND2", "IND3"]),
        ({"collectivity": AGGLO_G}, ["IND1", "IND2", "IND3", "IND5"]),
        ({"objective": "2"}, ["IND1", "IND2", "IND4"]),
        ({"pilot": DIRECTION}, ["IND5"]),
        ({"pilot": "Pilote 1"}, ["IND1", "IND3"]),
        ({"collectivity": VILLE_G, "objective": "2"}, ["IND2"]),
        ({"collectivity": AGGLO_G, "objective": "1", "pilot": DIRECTION}, ["IND5"]),
    ],
    ids=["ville", "agglo", "objectif-2", "direction", "pilote-1", "ville-2", "agglo-1-direction"],
)
def test_generated_plan_filters_follow_the_hand_counts(engine, filters, indicators):
    data, plan_id, ids = _create_generated(engine)
    tables = _tables(engine, plan_id)
    for year in (2025, 2026):
        f = OverviewFilter(year, **filters)
        o = _check_by_hand(engine, plan_id, data, ids, f, indicators, tables)
        assert o.actions
    if filters == {"collectivity": VILLE_G, "objective": "2"}:
        # G12 en cours (orage), G13 bloqué, G15 réalisé, G16 en cours (late),
        # G18 en cours (behind), G19 abandonné.
        assert [a.code for a in o.actions] == ["G12", "G13", "G15", "G16", "G18", "G19"]
        assert {s: n for s, n in o.status_counts.items() if n} == {
            ActionStatus.EN_COURS: 3,
            ActionStatus.BLOQUE: 1,
            ActionStatus.REALISE: 1,
            ActionStatus.ABANDONNE: 1,
        }
        assert list(o.budget.by_collectivity) == [VILLE_G]
    if filters == {"pilot": DIRECTION}:
        assert [a.code for a in o.actions] == ["G05", "G10", "G15", "G20", "G25", "G30"]
        assert [x.action.code for x in o.attention] == ["G10", "G20"]


def test_generated_plan_pilots_and_archived_actions(engine):
    data, plan_id, ids = _create_generated(engine)
    _, structure, _ = _overview(engine, plan_id, OverviewFilter(2026), at=GEN_AT)
    assert pilots(structure) == [DIRECTION, "Pilote 0", "Pilote 1", "Pilote 2", "Pilote 3"]

    # An archived action leaves every figure: G02 is blocked, has a milestone due
    # today and budget lines.
    with db.session_scope(engine, write=True) as session:
        session.execute(sa.update(Action).where(Action.id == ids["G02"]).values(archived=True))
    o, _, _ = _check_overview(engine, plan_id, OverviewFilter(2026), at=GEN_AT)
    assert len(o.actions) == 29 and ids["G02"] not in {a.id for a in o.actions}
    assert o.status_counts[ActionStatus.BLOQUE] == 4
    assert "G02" not in {x.action.code for x in o.attention}
    assert [m.action_code for m in o.upcoming] == ["G03", "G11"]
    assert ids["G02"] not in {r.action_id for r in o.budget.rows}
    arbitrated = sum(
        b.arbitrated_cents or 0
        for b in data.budget_lines
        if b.year == 2026 and b.action_code != "G02"
    )
    assert o.budget.total.arbitrated_cents == arbitrated
    with db.session_scope(engine) as session:
        assert ids["G02"] not in statuses_at(session, plan_id, GEN_AT)


def test_generated_plan_year_without_budget_lines_has_zero_totals(engine):
    data, plan_id, ids = _create_generated(engine)
    assert not [b for b in data.budget_lines if b.year == 2027]
    tables = _tables(engine, plan_id)
    for extra, indicators in (
        ({}, ["IND1", "IND2", "IND3", "IND4", "IND5"]),
        ({"collectivity": VILLE_G}, ["IND1", "IND2", "IND3"]),
        ({"objective": "1"}, ["IND1", "IND5"]),
    ):
        f = OverviewFilter(2027, **extra)
        o = _check_by_hand(engine, plan_id, data, ids, f, indicators, tables)
        assert o.budget.total == Totals() and o.budget.rows == [], extra
        assert o.budget.by_collectivity == {} and o.budget.by_objective == {}, extra
        assert o.budget_years, "the other years still show"
        assert o.budget.total.execution is None


# --------------------------------------------------------------------------
# Statuses at a past date, and the last steering committee
# --------------------------------------------------------------------------


def _moment(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _history_plan(engine, name: str = "Plan avec historique") -> tuple[int, dict[str, int]]:
    """H1 and H2 created on 10 January 2026, H3 on 1 May 2026 (creation entries dated)."""
    data = PlanData(
        name=name,
        collectivities=[VILLE_G],
        first_year=2026,
        last_year=2026,
        objectives=[ObjectiveData("1", "Objectif 1")],
        actions=[
            ActionData("H1", "Action 1", "1", [VILLE_G], status=ActionStatus.EN_COURS),
            ActionData("H2", "Action 2", "1", [VILLE_G], status=ActionStatus.A_VENIR),
            ActionData("H3", "Action 3", "1", [VILLE_G], status=ActionStatus.EN_COURS),
        ],
    )
    plan_id = _create(engine, data)
    ids = _ids_by_code(engine, plan_id)
    for code, moment in (
        ("H1", _moment(date(2026, 1, 10), 9)),
        ("H2", _moment(date(2026, 1, 10), 9)),
        ("H3", _moment(date(2026, 5, 1), 9)),
    ):
        dated = _set_at(
            engine,
            moment,
            AuditEntry.entity == "action",
            AuditEntry.entity_id == ids[code],
            AuditEntry.operation == "création",
        )
        assert dated == 1
    return plan_id, ids


def _set_at(engine, moment: datetime, *where) -> int:  # noqa: ANN002
    """Date the audit entries matching ``where`` (they were written "now")."""
    with db.session_scope(engine, write=True) as session:
        entries = session.exec(select(AuditEntry).where(*where)).all()
        for entry in entries:
            entry.at = moment
            session.add(entry)
        return len(entries)


def _change_status(
    engine, action_id: int, status: ActionStatus, at: datetime | None = None, **more
) -> int:
    """Change an action's status through the service; date its entries if ``at`` is given.
    Returns how many entries the change wrote."""
    with db.session_scope(engine) as session:
        before = session.execute(sa.select(sa.func.max(AuditEntry.id))).scalar() or 0
    with db.session_scope(engine, write=True) as session:
        version = session.get(Action, action_id).version
        update_action(
            session,
            ADMIN,
            action_id,
            expected_version=version,
            changes={"status": status, **more},
        )
    if at is None:
        with db.session_scope(engine) as session:
            return len(session.exec(select(AuditEntry.id).where(AuditEntry.id > before)).all())
    return _set_at(engine, at, AuditEntry.id > before)


def _statuses(engine, plan_id: int, ids: dict[str, int], when: date) -> dict[str, object]:
    with db.session_scope(engine) as session:
        result = statuses_at(session, plan_id, when)
    assert set(result) == set(ids.values())
    return {code: result[action_id] for code, action_id in ids.items()}


def test_statuses_at_rebuild_past_statuses_from_the_history(engine):
    plan_id, ids = _history_plan(engine)
    # H1: en cours -> bloqué on 15 March, -> en cours (and orage) on 20 April.
    assert _change_status(engine, ids["H1"], ActionStatus.BLOQUE, _moment(date(2026, 3, 15), 10))
    changed = _moment(date(2026, 4, 20), 8)
    assert _change_status(engine, ids["H1"], ActionStatus.EN_COURS, changed, weather=Weather.ORAGE)
    en_cours, a_venir, bloque = ActionStatus.EN_COURS, ActionStatus.A_VENIR, ActionStatus.BLOQUE
    expected = {
        date(2026, 1, 9): {"H1": None, "H2": None, "H3": None},
        date(2026, 1, 10): {"H1": en_cours, "H2": a_venir, "H3": None},
        date(2026, 3, 14): {"H1": en_cours, "H2": a_venir, "H3": None},
        date(2026, 3, 15): {"H1": bloque, "H2": a_venir, "H3": None},  # at the end of the day
        date(2026, 4, 19): {"H1": bloque, "H2": a_venir, "H3": None},
        date(2026, 4, 20): {"H1": en_cours, "H2": a_venir, "H3": None},
        date(2026, 4, 30): {"H1": en_cours, "H2": a_venir, "H3": None},
        date(2026, 5, 1): {"H1": en_cours, "H2": a_venir, "H3": en_cours},
    }
    for when, statuses in expected.items():
        assert _statuses(engine, plan_id, ids, when) == statuses, when


def test_statuses_at_around_a_change_made_now(engine):
    """The change keeps the real time of "now": the day before it shows the old status."""
    plan_id, ids = _history_plan(engine)
    _change_status(engine, ids["H2"], ActionStatus.EN_COURS)
    with db.session_scope(engine) as session:
        changed = session.exec(
            select(AuditEntry.at).where(
                AuditEntry.action_id == ids["H2"], AuditEntry.field == "status"
            )
        ).one()
    day = changed.astimezone(UTC).date()
    assert abs((day - date.today()).days) <= 1
    assert _statuses(engine, plan_id, ids, day - timedelta(days=1))["H2"] is ActionStatus.A_VENIR
    assert _statuses(engine, plan_id, ids, day)["H2"] is ActionStatus.EN_COURS
    assert _statuses(engine, plan_id, ids, day + timedelta(days=1))["H2"] is ActionStatus.EN_COURS
    # A plan loaded now did not exist yesterday.
    fresh = _create(
        engine,
        PlanData(
            name="Plan créé aujourd'hui",
            collectivities=[VILLE_G],
            first_year=2026,
            last_year=2026,
            objectives=[ObjectiveData("1", "Objectif 1")],
            actions=[ActionData("N1", "Nouvelle", "1", [VILLE_G])],
        ),
    )
    fresh_ids = _ids_by_code(engine, fresh)
    assert _statuses(engine, fresh, fresh_ids, day - timedelta(days=1)) == {"N1": None}
    assert _statuses(engine, fresh, fresh_ids, day) == {"N1": ActionStatus.A_VENIR}


def _then(o) -> dict:  # noqa: ANN001
    return {s: n for s, n in o.status_then.items() if n}


def test_overview_compares_with_the_chosen_date_or_the_last_closed_review(engine):
    plan_id, ids = _history_plan(engine)
    _change_status(engine, ids["H1"], ActionStatus.BLOQUE, _moment(date(2026, 3, 15), 10))
    at = date(2026, 6, 1)
    f = OverviewFilter(2026)

    o, _, _ = _overview(engine, plan_id, f, at=at)
    assert (o.since, o.since_is_review, o.status_then) == (None, False, None)
    o, _, _ = _overview(engine, plan_id, f, at=at, since=date(2026, 3, 14))
    assert (o.since, o.since_is_review) == (date(2026, 3, 14), False)
    assert set(o.status_then) == set(ActionStatus)
    assert _then(o) == {ActionStatus.EN_COURS: 1, ActionStatus.A_VENIR: 1}  # H3 did not exist
    assert {s: n for s, n in o.status_counts.items() if n} == {
        ActionStatus.BLOQUE: 1,
        ActionStatus.A_VENIR: 1,
        ActionStatus.EN_COURS: 1,
    }

    # Reviews: the latest closed one counts; an open one and another plan's are ignored.
    other, _ = _history_plan(engine, name="Autre plan")
    with db.session_scope(engine, write=True) as session:
        for plan, day, status in (
            (plan_id, date(2026, 2, 1), ReviewStatus.CLOSED),
            (plan_id, date(2026, 3, 15), ReviewStatus.CLOSED),
            (plan_id, date(2026, 4, 30), ReviewStatus.OPEN),
            (other, date(2026, 5, 15), ReviewStatus.CLOSED),
        ):
            session.add(Review(plan_id=plan, date=day, title=f"Comité du {day}", status=status))
    with db.session_scope(engine) as session:
        assert last_review_date(session, plan_id) == date(2026, 3, 15)
        assert last_review_date(session, other) == date(2026, 5, 15)
        assert isinstance(last_review_date(session, plan_id), date)

    o, _, _ = _overview(engine, plan_id, f, at=at)
    assert (o.since, o.since_is_review) == (date(2026, 3, 15), True)
    assert _then(o) == {ActionStatus.BLOQUE: 1, ActionStatus.A_VENIR: 1}
    # A chosen date wins over the review.
    o, _, _ = _overview(engine, plan_id, f, at=at, since=date(2026, 2, 1))
    assert (o.since, o.since_is_review) == (date(2026, 2, 1), False)
    assert _then(o) == {ActionStatus.EN_COURS: 1, ActionStatus.A_VENIR: 1}
    # Filters apply to the statuses then too.
    o, _, _ = _overview(
        engine, plan_id, OverviewFilter(2026, pilot="Personne"), at=at, since=date(2026, 5, 1)
    )
    assert o.status_then == dict.fromkeys(ActionStatus, 0)


def test_statuses_at_cuts_days_in_the_collectivities_time_zone(engine):
    plan_id, ids = _history_plan(engine)
    # 22:30 UTC on 15 June 2026 is 00:30 on 16 June in Paris (summer time, UTC+2).
    _change_status(engine, ids["H1"], ActionStatus.BLOQUE, _moment(date(2026, 6, 15), 22, 30))
    assert _statuses(engine, plan_id, ids, date(2026, 6, 15))["H1"] is ActionStatus.EN_COURS


# --------------------------------------------------------------------------
# Nothing to count
# --------------------------------------------------------------------------


def test_plan_without_actions_gives_zero_counts_and_empty_lists(engine):
    plan_id = _create(
        engine,
        PlanData(name="Plan vide", collectivities=[VILLE_G], first_year=2026, last_year=2027),
    )
    with db.session_scope(engine) as session:
        assert statuses_at(session, plan_id, AT) == {}
        assert last_review_date(session, plan_id) is None
    for since in (None, date(2026, 1, 1)):
        o, structure, rows = _overview(engine, plan_id, OverviewFilter(2026), since=since)
        assert structure.actions == [] and rows == []
        assert o.actions == [] and o.status_counts == dict.fromkeys(ActionStatus, 0)
        assert (o.counted, o.progress, o.expected) == (0, None, None)
        assert o.objectives == [] and o.attention == [] and o.indicators == []
        assert (o.upcoming, o.overdue) == ([], [])
        assert o.budget.total == Totals() and o.budget.rows == []
        assert (o.budget.by_objective, o.budget.by_collectivity) == ({}, {})
        assert o.budget_years == []
        assert (o.indicators_on_track, o.indicators_behind) == (0, [])
        assert o.since == since and not o.since_is_review
        assert o.status_then == (None if since is None else dict.fromkeys(ActionStatus, 0))
