"""Plans: creating a whole plan from structured data, and reading its structure.

``create_plan`` is the single way a plan enters the database (the example on
first run, and imports): it validates every cross-reference and rule first,
collecting all problems, and writes nothing if there is any.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import strings
from tracker.errors import NotFoundError, ValidationError
from tracker.models import (
    Action,
    ActionCarrier,
    ActionStatus,
    BudgetLine,
    BudgetSection,
    Collectivity,
    Direction,
    Funding,
    FundingStatus,
    Health,
    Indicator,
    IndicatorAction,
    Measurement,
    Milestone,
    Objective,
    ObjectiveStake,
    Plan,
    Priority,
    ProgressMode,
    ReferenceValue,
    SourceType,
    Stake,
    User,
    Weather,
)
from tracker.services import audit
from tracker.services.permissions import Permission, require
from tracker.services.progress import ActionState, MilestoneTotals, action_state
from tracker.services.revision import bump_revision

# --------------------------------------------------------------------------
# Structured plan data (what an import or the example file produces)
# --------------------------------------------------------------------------


@dataclass
class StakeData:
    code: str
    title: str
    description: str = ""


@dataclass
class ObjectiveData:
    code: str
    title: str
    description: str = ""
    stake_codes: list[str] = field(default_factory=list)


@dataclass
class ActionData:
    code: str
    title: str
    objective_code: str
    carriers: list[str]
    pilot_name: str = ""
    pilot_function: str = ""
    service: str = ""
    elected_referent: str = ""
    partners: str = ""
    status: ActionStatus = ActionStatus.A_VENIR
    weather: Weather = Weather.SOLEIL
    progress: int = 0
    progress_mode: ProgressMode = ProgressMode.ENTERED
    priority: Priority = Priority.NORMALE
    start_date: date | None = None
    planned_end_date: date | None = None
    actual_end_date: date | None = None
    update_period_days: int = 90
    description: str = ""


@dataclass
class MilestoneData:
    action_code: str
    title: str
    due_date: date | None = None
    done_date: date | None = None
    weight: int = 1


@dataclass
class BudgetLineData:
    action_code: str
    year: int
    collectivity: str
    section: BudgetSection
    requested_cents: int = 0
    arbitrated_cents: int | None = None
    spent_cents: int = 0
    comment: str = ""


@dataclass
class FundingData:
    action_code: str
    financer: str
    amount_cents: int
    status: FundingStatus = FundingStatus.SOLLICITE


@dataclass
class IndicatorData:
    code: str
    name: str
    definition: str = ""
    unit: str = "%"
    direction: Direction = Direction.HIGHER
    source_type: SourceType = SourceType.SURVEY
    source: str = ""
    baseline_value: float | None = None
    baseline_date: date | None = None
    intermediate_target: float | None = None
    intermediate_target_date: date | None = None
    target_value: float | None = None
    target_date: date | None = None
    update_period_days: int | None = None
    objective_code: str | None = None
    action_codes: list[str] = field(default_factory=list)
    # Survey definition: the share of respondents whose answer to
    # ``survey_question`` is among ``survey_values`` (optionally among those whose
    # answer to ``survey_filter_question`` is among ``survey_filter_values``).
    survey_question: str | None = None
    survey_values: list[str] | None = None
    survey_filter_question: str | None = None
    survey_filter_values: list[str] | None = None


@dataclass
class MeasurementData:
    indicator_code: str
    date: date
    value: float
    source: str = ""
    sample_size: int | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    comment: str = ""


@dataclass
class ReferenceData:
    indicator_code: str
    date: date
    value: float
    source: str


@dataclass
class PlanData:
    name: str
    collectivities: list[str]
    first_year: int
    last_year: int
    adopted_on: date | None = None
    deliberation_ref: str = ""
    description: str = ""
    is_example: bool = False
    stakes: list[StakeData] = field(default_factory=list)
    objectives: list[ObjectiveData] = field(default_factory=list)
    actions: list[ActionData] = field(default_factory=list)
    milestones: list[MilestoneData] = field(default_factory=list)
    budget_lines: list[BudgetLineData] = field(default_factory=list)
    fundings: list[FundingData] = field(default_factory=list)
    indicators: list[IndicatorData] = field(default_factory=list)
    measurements: list[MeasurementData] = field(default_factory=list)
    references: list[ReferenceData] = field(default_factory=list)


def survey_definition_problems(i: IndicatorData | Indicator) -> list[str]:
    """What is wrong with an indicator's survey definition (empty list: nothing)."""
    problems = []
    question = (i.survey_question or "").strip()
    filter_question = (i.survey_filter_question or "").strip()
    if question and not i.survey_values:
        problems.append(f"indiquez les réponses comptées pour la question « {question} ».")
    if i.survey_values and not question:
        problems.append("des réponses comptées sont indiquées sans question d'enquête.")
    if filter_question and not question:
        problems.append("une question de filtre est indiquée sans question d'enquête.")
    if filter_question and not i.survey_filter_values:
        problems.append(f"indiquez les réponses retenues pour le filtre « {filter_question} ».")
    if i.survey_filter_values and not filter_question:
        problems.append("des réponses de filtre sont indiquées sans question de filtre.")
    if question and SourceType(i.source_type) != SourceType.SURVEY:
        problems.append(
            "une question d'enquête n'a de sens que pour un indicateur de source Enquête."
        )
    if question and (i.unit or "").strip() != "%":
        problems.append("un indicateur calculé depuis une enquête s'exprime en % (unité « % »).")
    return problems


def _duplicates(codes: list[str]) -> list[str]:
    seen: set[str] = set()
    dup: list[str] = []
    for code in codes:
        if code in seen and code not in dup:
            dup.append(code)
        seen.add(code)
    return dup


def _too_long(item: object, model: type, where: str) -> list[str]:
    """Texts longer than their column allows (PostgreSQL would refuse them)."""
    columns = model.__table__.columns
    problems = []
    for f in fields(item):
        value = getattr(item, f.name)
        column = columns.get(f.name)
        limit = getattr(column.type, "length", None) if column is not None else None
        if limit and isinstance(value, str) and len(value) > limit:
            label = strings.FIELD_LABELS.get(f.name, f.name)
            problems.append(f"{where} : « {label} » dépasse {limit} caractères ({len(value)}).")
    return problems


def validate_plan_data(
    data: PlanData,
    *,
    known: dict[str, set[str]] | None = None,
    collectivities: set[str] | None = None,
) -> list[str]:
    """Every problem of a plan's data, in French (empty list: valid).

    ``known`` (codes of "stakes", "objectives", "actions", "indicators") and
    ``collectivities`` are what the database already holds when a file updates
    an existing plan: the file may refer to them without repeating them.
    """
    known = known or {}
    problems: list[str] = _too_long(data, Plan, "Plan")
    for name in data.collectivities:
        if len(name) > Collectivity.__table__.columns["name"].type.length:
            problems.append(f"Collectivité « {name[:40]}… » : nom trop long.")
    for label, items, model in (
        ("Enjeu", data.stakes, Stake),
        ("Objectif", data.objectives, Objective),
        ("Action", data.actions, Action),
        ("Jalon", data.milestones, Milestone),
        ("Financement", data.fundings, Funding),
        ("Indicateur", data.indicators, Indicator),
        ("Mesure", data.measurements, Measurement),
        ("Référence", data.references, ReferenceValue),
    ):
        for item in items:
            key = (
                getattr(item, "code", None)
                or getattr(item, "title", None)
                or getattr(item, "indicator_code", "")
            )
            problems.extend(_too_long(item, model, f"{label} {str(key)[:40]}"))
    if not data.name.strip():
        problems.append("Le plan n'a pas de nom.")
    if not data.collectivities:
        problems.append("Le plan doit être commun à au moins une collectivité.")
    if data.last_year < data.first_year:
        problems.append(
            f"La dernière année ({data.last_year}) précède la première ({data.first_year})."
        )
    for label, codes in (
        ("d'enjeu", [s.code for s in data.stakes]),
        ("d'objectif", [o.code for o in data.objectives]),
        ("d'action", [a.code for a in data.actions]),
        ("d'indicateur", [i.code for i in data.indicators]),
    ):
        for code in _duplicates(codes):
            problems.append(f"Code {label} en double : « {code} ».")
    stakes = {s.code for s in data.stakes} | known.get("stakes", set())
    objectives = {o.code for o in data.objectives} | known.get("objectives", set())
    actions = {a.code for a in data.actions} | known.get("actions", set())
    indicators = {i.code for i in data.indicators} | known.get("indicators", set())
    collectivities = set(data.collectivities) | (collectivities or set())
    for o in data.objectives:
        for code in o.stake_codes:
            if code not in stakes:
                problems.append(f"Objectif {o.code} : enjeu inconnu « {code} ».")
    for a in data.actions:
        where = f"Action {a.code}"
        if a.objective_code not in objectives:
            problems.append(f"{where} : objectif inconnu « {a.objective_code} ».")
        if not a.carriers:
            problems.append(f"{where} : aucune collectivité porteuse.")
        for c in a.carriers:
            if c not in collectivities:
                problems.append(f"{where} : collectivité porteuse inconnue « {c} ».")
        if not 0 <= a.progress <= 100:
            problems.append(f"{where} : avancement {a.progress} hors de 0 à 100.")
        if a.start_date and a.planned_end_date and a.planned_end_date < a.start_date:
            problems.append(f"{where} : la fin prévue précède le début.")
        if a.start_date and a.actual_end_date and a.actual_end_date < a.start_date:
            problems.append(f"{where} : la fin réelle précède le début.")
        if a.update_period_days <= 0:
            problems.append(f"{where} : la périodicité doit être un nombre de jours positif.")
    for m in data.milestones:
        if m.action_code not in actions:
            problems.append(f"Jalon « {m.title} » : action inconnue « {m.action_code} ».")
        if m.weight < 0:
            problems.append(f"Jalon « {m.title} » : poids négatif.")
    seen_lines: set[tuple] = set()
    for b in data.budget_lines:
        where = f"Budget {b.action_code} {b.year}"
        if b.action_code not in actions:
            problems.append(f"{where} : action inconnue « {b.action_code} ».")
        if b.collectivity not in collectivities:
            problems.append(f"{where} : collectivité inconnue « {b.collectivity} ».")
        if not data.first_year <= b.year <= data.last_year:
            problems.append(
                f"{where} : l'année est hors de la période du plan "
                f"({data.first_year}-{data.last_year})."
            )
        amounts = (b.requested_cents, b.arbitrated_cents or 0, b.spent_cents)
        if any(v < 0 for v in amounts):
            problems.append(f"{where} : montant négatif.")
        key = (b.action_code, b.year, b.collectivity, b.section)
        if key in seen_lines:
            problems.append(
                f"{where} : ligne en double pour {b.collectivity}, section {b.section.value}."
            )
        seen_lines.add(key)
    for f in data.fundings:
        if f.action_code not in actions:
            problems.append(f"Financement {f.financer} : action inconnue « {f.action_code} ».")
        if f.amount_cents < 0:
            problems.append(f"Financement {f.financer} : montant négatif.")
    for i in data.indicators:
        if i.objective_code and i.objective_code not in objectives:
            problems.append(f"Indicateur {i.code} : objectif inconnu « {i.objective_code} ».")
        for code in i.action_codes:
            if code not in actions:
                problems.append(f"Indicateur {i.code} : action inconnue « {code} ».")
        if i.update_period_days is not None and i.update_period_days <= 0:
            problems.append(f"Indicateur {i.code} : la périodicité doit être positive.")
        problems.extend(f"Indicateur {i.code} : {p}" for p in survey_definition_problems(i))
    seen_measures: set[tuple] = set()
    for m in data.measurements:
        if m.indicator_code not in indicators:
            problems.append(f"Mesure du {m.date} : indicateur inconnu « {m.indicator_code} ».")
        if m.ci_low is not None and m.ci_high is not None and m.ci_low > m.ci_high:
            problems.append(f"Mesure {m.indicator_code} du {m.date} : bornes inversées.")
        key = (m.indicator_code, m.date, m.source)
        if key in seen_measures:
            problems.append(
                f"Mesure {m.indicator_code} du {m.date} : en double pour la source « {m.source} »."
            )
        seen_measures.add(key)
    for r in data.references:
        if r.indicator_code not in indicators:
            problems.append(f"Référence du {r.date} : indicateur inconnu « {r.indicator_code} ».")
    return problems


def _fields(item: object, exclude: set[str]) -> dict:
    """A data item's fields that map one to one onto its table's columns."""
    return {f.name: getattr(item, f.name) for f in fields(item) if f.name not in exclude}


def create_plan(session: Session, data: PlanData, *, actor: User | None, context: str = "") -> Plan:
    """Create a whole plan in the caller's transaction, or raise and write nothing.

    Editors and admins only. Raises ValidationError listing every problem if
    the data is inconsistent or a plan with the same name already exists.
    """
    require(actor, Permission.EDIT_PLAN)
    problems = validate_plan_data(data)
    if session.exec(select(Plan.id).where(Plan.name == data.name)).first() is not None:
        problems.insert(0, f"Un plan nommé « {data.name} » existe déjà.")
    if problems:
        raise ValidationError("Le plan ne peut pas être créé.", details=problems)

    plan = Plan(
        name=data.name,
        description=data.description,
        adopted_on=data.adopted_on,
        deliberation_ref=data.deliberation_ref,
        first_year=data.first_year,
        last_year=data.last_year,
        is_example=data.is_example,
    )
    session.add(plan)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity="plan",
        entity_id=plan.id,
        plan_id=plan.id,
        operation="création",
        new=plan.name,
        context=context,
    )

    def created(entity: str, obj_id: int | None, label: str) -> None:
        audit.record(
            session,
            actor=actor,
            entity=entity,
            entity_id=obj_id,
            plan_id=plan.id,
            operation="création",
            new=label,
            context=context,
        )

    def add_all(objects: list) -> list:
        """Insert a group in one flush (ids are assigned to all of them at once)."""
        session.add_all(objects)
        session.flush()
        return objects

    collectivities = add_all(
        [
            Collectivity(plan_id=plan.id, name=name, position=position)
            for position, name in enumerate(data.collectivities)
        ]
    )
    collectivity_ids = {c.name: c.id for c in collectivities}
    stakes = add_all(
        [
            Stake(
                plan_id=plan.id,
                code=s.code,
                title=s.title,
                description=s.description,
                position=position,
            )
            for position, s in enumerate(data.stakes)
        ]
    )
    stake_ids = {s.code: s.id for s in stakes}
    objectives = add_all(
        [
            Objective(
                plan_id=plan.id,
                code=o.code,
                title=o.title,
                description=o.description,
                position=position,
            )
            for position, o in enumerate(data.objectives)
        ]
    )
    objective_ids = {o.code: o.id for o in objectives}
    for o, row in zip(data.objectives, objectives, strict=True):
        for code in dict.fromkeys(o.stake_codes):
            session.add(ObjectiveStake(objective_id=row.id, stake_id=stake_ids[code]))
    actions = add_all(
        [
            Action(
                plan_id=plan.id,
                objective_id=objective_ids[a.objective_code],
                position=position,
                **_fields(a, exclude={"objective_code", "carriers"}),
            )
            for position, a in enumerate(data.actions)
        ]
    )
    action_ids = {a.code: a.id for a in actions}
    for a, row in zip(data.actions, actions, strict=True):
        for name in dict.fromkeys(a.carriers):
            session.add(ActionCarrier(action_id=row.id, collectivity_id=collectivity_ids[name]))
    for entity, rows in (("enjeu", stakes), ("objectif", objectives), ("action", actions)):
        for row in rows:
            created(entity, row.id, row.code)

    positions: dict[str, int] = defaultdict(int)
    for m in data.milestones:
        session.add(
            Milestone(
                action_id=action_ids[m.action_code],
                position=positions[m.action_code],
                **_fields(m, exclude={"action_code"}),
            )
        )
        positions[m.action_code] += 1
    for b in data.budget_lines:
        session.add(
            BudgetLine(
                action_id=action_ids[b.action_code],
                collectivity_id=collectivity_ids[b.collectivity],
                **_fields(b, exclude={"action_code", "collectivity"}),
            )
        )
    for f in data.fundings:
        session.add(Funding(action_id=action_ids[f.action_code], **_fields(f, {"action_code"})))

    indicators = add_all(
        [
            Indicator(
                plan_id=plan.id,
                objective_id=objective_ids.get(i.objective_code) if i.objective_code else None,
                position=position,
                **_fields(i, exclude={"objective_code", "action_codes"}),
            )
            for position, i in enumerate(data.indicators)
        ]
    )
    indicator_ids = {i.code: i.id for i in indicators}
    for i, row in zip(data.indicators, indicators, strict=True):
        for code in dict.fromkeys(i.action_codes):
            session.add(IndicatorAction(indicator_id=row.id, action_id=action_ids[code]))
        created("indicateur", row.id, row.code)
    for m in data.measurements:
        session.add(
            Measurement(
                indicator_id=indicator_ids[m.indicator_code],
                **_fields(m, exclude={"indicator_code"}),
            )
        )
    for r in data.references:
        session.add(
            ReferenceValue(
                indicator_id=indicator_ids[r.indicator_code],
                **_fields(r, exclude={"indicator_code"}),
            )
        )
    session.flush()
    bump_revision(session)
    return plan


# --------------------------------------------------------------------------
# Reading a plan
# --------------------------------------------------------------------------


def list_plans(session: Session) -> list[Plan]:
    """Every plan, real plans first, then by name."""
    return list(session.exec(select(Plan).order_by(Plan.is_example, Plan.name)).all())


def get_plan(session: Session, plan_id: int) -> Plan:
    """The plan, or NotFoundError."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFoundError(f"Le plan n°{plan_id} n'existe pas.")
    return plan


@dataclass(frozen=True)
class StakeRow:
    code: str
    title: str
    description: str
    objective_codes: list[str]


@dataclass(frozen=True)
class ObjectiveRow:
    id: int
    code: str
    title: str
    description: str
    stake_codes: list[str]


@dataclass(frozen=True)
class ActionRow:
    id: int
    code: str
    title: str
    objective_code: str
    carriers: list[str]
    pilot_name: str
    pilot_function: str
    service: str
    status: ActionStatus
    weather: Weather
    planned_end_date: date | None
    state: ActionState
    description: str = ""
    updated_at: datetime | None = None
    version: int = 1
    pilot_user_id: int | None = None
    progress_mode: ProgressMode = ProgressMode.ENTERED
    start_date: date | None = None


@dataclass(frozen=True)
class ObjectiveProgress:
    code: str
    title: str
    action_count: int
    progress: float | None
    expected: float | None


@dataclass(frozen=True)
class PlanStructure:
    plan_id: int
    name: str
    is_example: bool
    description: str
    adopted_on: date | None
    deliberation_ref: str
    first_year: int
    last_year: int
    collectivities: list[str]
    stakes: list[StakeRow]
    objectives: list[ObjectiveRow]
    actions: list[ActionRow]


def milestone_totals(session: Session, plan_id: int, at: date) -> dict[int, MilestoneTotals]:
    """Milestone counts and weights per action of a plan, summed in SQL."""
    done = sa.and_(Milestone.done_date.is_not(None), Milestone.done_date <= at)
    stmt = (
        sa.select(
            Milestone.action_id,
            sa.func.count(Milestone.id),
            sa.func.sum(sa.case((done, 1), else_=0)),
            sa.func.coalesce(sa.func.sum(Milestone.weight), 0),
            sa.func.coalesce(sa.func.sum(sa.case((done, Milestone.weight), else_=0)), 0),
        )
        .join(Action, Action.id == Milestone.action_id)
        .where(Action.plan_id == plan_id)
        .group_by(Milestone.action_id)
    )
    return {
        row[0]: MilestoneTotals(int(row[1]), int(row[2]), int(row[3]), int(row[4]))
        for row in session.execute(stmt)
    }


def plan_structure(session: Session, plan_id: int, at: date) -> PlanStructure:
    """A plan's stakes, objectives and (non-archived) actions with their state at ``at``."""
    plan = get_plan(session, plan_id)
    collectivities = {
        c.id: c.name
        for c in session.exec(
            select(Collectivity)
            .where(Collectivity.plan_id == plan_id)
            .order_by(Collectivity.position)
        )
    }
    stakes = list(
        session.exec(
            select(Stake).where(Stake.plan_id == plan_id).order_by(Stake.position, Stake.code)
        )
    )
    objectives = list(
        session.exec(
            select(Objective)
            .where(Objective.plan_id == plan_id)
            .order_by(Objective.position, Objective.code)
        )
    )
    stake_code = {s.id: s.code for s in stakes}
    objective_code = {o.id: o.code for o in objectives}
    links = session.execute(
        sa.select(ObjectiveStake.objective_id, ObjectiveStake.stake_id)
        .join(Objective, Objective.id == ObjectiveStake.objective_id)
        .where(Objective.plan_id == plan_id)
    ).all()
    stakes_of: dict[int, list[str]] = defaultdict(list)
    objectives_of: dict[int, list[str]] = defaultdict(list)
    for objective_id, stake_id in links:
        stakes_of[objective_id].append(stake_code[stake_id])
        objectives_of[stake_id].append(objective_code[objective_id])

    actions = list(
        session.exec(
            select(Action)
            .where(Action.plan_id == plan_id, Action.archived == sa.false())
            .order_by(Action.position, Action.code)
        )
    )
    carriers: dict[int, list[str]] = defaultdict(list)
    for action_id, collectivity_id in session.execute(
        sa.select(ActionCarrier.action_id, ActionCarrier.collectivity_id)
        .join(Action, Action.id == ActionCarrier.action_id)
        .where(Action.plan_id == plan_id)
    ):
        carriers[action_id].append(collectivities[collectivity_id])
    order = list(collectivities.values())
    totals = milestone_totals(session, plan_id, at)
    action_rows = [
        ActionRow(
            id=a.id,
            code=a.code,
            title=a.title,
            objective_code=objective_code[a.objective_id],
            carriers=sorted(carriers[a.id], key=order.index),
            pilot_name=a.pilot_name,
            pilot_function=a.pilot_function,
            service=a.service,
            status=a.status,
            weather=a.weather,
            planned_end_date=a.planned_end_date,
            start_date=a.start_date,
            description=a.description,
            updated_at=a.updated_at,
            version=a.version,
            pilot_user_id=a.pilot_user_id,
            progress_mode=a.progress_mode,
            state=action_state(
                status=a.status,
                weather=a.weather,
                progress=a.progress,
                progress_mode=a.progress_mode,
                start_date=a.start_date,
                planned_end_date=a.planned_end_date,
                updated_at=a.updated_at,
                update_period_days=a.update_period_days,
                at=at,
                milestones=totals.get(a.id),
            ),
        )
        for a in actions
    ]
    return PlanStructure(
        plan_id=plan.id,
        name=plan.name,
        is_example=plan.is_example,
        description=plan.description,
        adopted_on=plan.adopted_on,
        deliberation_ref=plan.deliberation_ref,
        first_year=plan.first_year,
        last_year=plan.last_year,
        collectivities=order,
        stakes=[StakeRow(s.code, s.title, s.description, objectives_of[s.id]) for s in stakes],
        objectives=[
            ObjectiveRow(o.id, o.code, o.title, o.description, stakes_of[o.id]) for o in objectives
        ],
        actions=action_rows,
    )


def progress_by_objective(structure: PlanStructure) -> list[ObjectiveProgress]:
    """Mean actual and expected progress of each objective's actions.

    Abandoned actions are left out: they will never progress and would drag
    the mean down for good.
    """
    result = []
    for o in structure.objectives:
        rows = [a for a in structure.actions if a.objective_code == o.code]
        counted, progress, expected = mean_progress(rows)
        result.append(ObjectiveProgress(o.code, o.title, counted, progress, expected))
    return result


def mean_progress(rows: list[ActionRow]) -> tuple[int, float | None, float | None]:
    """(actions counted, mean actual progress, mean expected progress) of some actions.

    Abandoned actions are left out; the expected mean is over actions with dates.
    """
    counted = [a for a in rows if a.state.health is not Health.STOPPED]
    expected = [a.state.expected for a in counted if a.state.expected is not None]
    return (
        len(counted),
        sum(a.state.progress for a in counted) / len(counted) if counted else None,
        sum(expected) / len(expected) if expected else None,
    )


@dataclass(frozen=True)
class ActionFilter:
    """What the actions page filters on; empty means no filter on that field."""

    stakes: tuple[str, ...] = ()
    objectives: tuple[str, ...] = ()
    statuses: tuple[ActionStatus, ...] = ()
    weathers: tuple[Weather, ...] = ()
    pilots: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    collectivities: tuple[str, ...] = ()
    late_only: bool = False
    update_due_only: bool = False
    text: str = ""


def pilot_label(row: ActionRow) -> str:
    """How an action's pilot is shown and filtered: their name, else their function."""
    return row.pilot_name or row.pilot_function


def filter_actions(structure: PlanStructure, f: ActionFilter) -> list[ActionRow]:
    """The plan's actions matching every filter (text: in code, title or description)."""
    stakes_of = {o.code: set(o.stake_codes) for o in structure.objectives}
    needle = f.text.strip().casefold()
    result = []
    for a in structure.actions:
        if f.stakes and not stakes_of.get(a.objective_code, set()) & set(f.stakes):
            continue
        if f.objectives and a.objective_code not in f.objectives:
            continue
        if f.statuses and a.status not in f.statuses:
            continue
        if f.weathers and a.weather not in f.weathers:
            continue
        if f.pilots and pilot_label(a) not in f.pilots:
            continue
        if f.services and a.service not in f.services:
            continue
        if f.collectivities and not set(a.carriers) & set(f.collectivities):
            continue
        if f.late_only and not a.state.late:
            continue
        if f.update_due_only and not a.state.update_due:
            continue
        if needle and needle not in f"{a.code}\n{a.title}\n{a.description}".casefold():
            continue
        result.append(a)
    return result


def plan_data(session: Session, plan_id: int) -> tuple[PlanData, dict[str, int]]:
    """A whole plan read back as PlanData (what an export writes), with each
    action's version (so that a re-import can detect later edits). Archived
    actions are included: an export is a complete copy."""
    plan = get_plan(session, plan_id)
    collectivities = list(
        session.exec(
            select(Collectivity)
            .where(Collectivity.plan_id == plan_id)
            .order_by(Collectivity.position)
        )
    )
    collectivity_name = {c.id: c.name for c in collectivities}
    collectivity_rank = {c.id: c.position for c in collectivities}
    stakes = list(
        session.exec(
            select(Stake).where(Stake.plan_id == plan_id).order_by(Stake.position, Stake.code)
        )
    )
    stake_code = {s.id: s.code for s in stakes}
    objectives = list(
        session.exec(
            select(Objective)
            .where(Objective.plan_id == plan_id)
            .order_by(Objective.position, Objective.code)
        )
    )
    objective_code = {o.id: o.code for o in objectives}
    links: dict[int, list[str]] = defaultdict(list)
    for objective_id, stake_id in session.execute(
        sa.select(ObjectiveStake.objective_id, ObjectiveStake.stake_id)
        .join(Stake, Stake.id == ObjectiveStake.stake_id)
        .where(Stake.plan_id == plan_id)
        .order_by(Stake.position, Stake.code)
    ):
        links[objective_id].append(stake_code[stake_id])
    actions = list(
        session.exec(
            select(Action).where(Action.plan_id == plan_id).order_by(Action.position, Action.code)
        )
    )
    action_code = {a.id: a.code for a in actions}
    action_rank = {a.id: i for i, a in enumerate(actions)}
    carriers: dict[int, list[int]] = defaultdict(list)
    for action_id, collectivity_id in session.execute(
        sa.select(ActionCarrier.action_id, ActionCarrier.collectivity_id)
        .join(Action, Action.id == ActionCarrier.action_id)
        .where(Action.plan_id == plan_id)
    ):
        carriers[action_id].append(collectivity_id)
    action_fields = [
        f.name for f in fields(ActionData) if f.name not in {"code", "objective_code", "carriers"}
    ]
    data = PlanData(
        name=plan.name,
        collectivities=[c.name for c in collectivities],
        first_year=plan.first_year,
        last_year=plan.last_year,
        adopted_on=plan.adopted_on,
        deliberation_ref=plan.deliberation_ref,
        description=plan.description,
        is_example=plan.is_example,
        stakes=[StakeData(s.code, s.title, s.description) for s in stakes],
        objectives=[ObjectiveData(o.code, o.title, o.description, links[o.id]) for o in objectives],
        actions=[
            ActionData(
                code=a.code,
                objective_code=objective_code[a.objective_id],
                carriers=[
                    collectivity_name[c]
                    for c in sorted(carriers[a.id], key=collectivity_rank.__getitem__)
                ],
                **{name: getattr(a, name) for name in action_fields},
            )
            for a in actions
        ],
    )
    ids = list(action_code)
    milestones = session.exec(select(Milestone).where(Milestone.action_id.in_(ids)))
    data.milestones = [
        MilestoneData(action_code[m.action_id], m.title, m.due_date, m.done_date, m.weight)
        for m in sorted(milestones, key=lambda m: (action_rank[m.action_id], m.position, m.id))
    ]
    lines = session.exec(select(BudgetLine).where(BudgetLine.action_id.in_(ids)))
    data.budget_lines = [
        BudgetLineData(
            action_code[b.action_id],
            b.year,
            collectivity_name[b.collectivity_id],
            b.section,
            b.requested_cents,
            b.arbitrated_cents,
            b.spent_cents,
            b.comment,
        )
        for b in sorted(
            lines,
            key=lambda b: (
                action_rank[b.action_id],
                b.year,
                collectivity_rank[b.collectivity_id],
                b.section.value,
            ),
        )
    ]
    fundings = session.exec(select(Funding).where(Funding.action_id.in_(ids)))
    data.fundings = [
        FundingData(action_code[f.action_id], f.financer, f.amount_cents, f.status)
        for f in sorted(fundings, key=lambda f: (action_rank[f.action_id], f.id))
    ]
    indicators = list(
        session.exec(
            select(Indicator)
            .where(Indicator.plan_id == plan_id)
            .order_by(Indicator.position, Indicator.code)
        )
    )
    indicator_code = {i.id: i.code for i in indicators}
    indicator_actions: dict[int, list[str]] = defaultdict(list)
    for indicator_id, action_id in session.execute(
        sa.select(IndicatorAction.indicator_id, IndicatorAction.action_id)
        .join(Indicator, Indicator.id == IndicatorAction.indicator_id)
        .where(Indicator.plan_id == plan_id)
    ):
        indicator_actions[indicator_id].append(action_code[action_id])
    indicator_fields = [
        f.name
        for f in fields(IndicatorData)
        if f.name not in {"code", "objective_code", "action_codes"}
    ]
    data.indicators = [
        IndicatorData(
            code=i.code,
            objective_code=objective_code.get(i.objective_id) if i.objective_id else None,
            action_codes=sorted(
                indicator_actions[i.id],
                key=lambda c: next(r for a, r in action_rank.items() if action_code[a] == c),
            ),
            **{name: getattr(i, name) for name in indicator_fields},
        )
        for i in indicators
    ]
    iids = list(indicator_code)
    measures = session.exec(select(Measurement).where(Measurement.indicator_id.in_(iids)))
    rank = {i.id: n for n, i in enumerate(indicators)}
    data.measurements = [
        MeasurementData(
            indicator_code[m.indicator_id],
            m.date,
            m.value,
            m.source,
            m.sample_size,
            m.ci_low,
            m.ci_high,
            m.comment,
        )
        for m in sorted(measures, key=lambda m: (rank[m.indicator_id], m.date, m.source))
    ]
    refs = session.exec(select(ReferenceValue).where(ReferenceValue.indicator_id.in_(iids)))
    data.references = [
        ReferenceData(indicator_code[r.indicator_id], r.date, r.value, r.source)
        for r in sorted(refs, key=lambda r: (rank[r.indicator_id], r.date, r.source))
    ]
    return data, {a.code: a.version for a in actions}
