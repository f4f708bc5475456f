"""Indicators: progress toward target, status, the list and one indicator's page,
and editing definitions and measurements.

The one progress function lives here (``indicator_state``); every page, export
and report uses it.

- Progress toward target = (current - baseline) / (target - baseline), clamped
  to 0-100 %; it reads the same whichever way is better, since the target sits
  below the baseline when lower is better.
- Expected value at a date: linear between (baseline date, baseline),
  (intermediate target date, intermediate target) and (target date, target);
  before the first point it is the first value, after the last the last.
- Status, in this order: "pas de mesure récente" (no measurement, or the
  latest is older than the indicator's periodicity), "sans cible" (no final
  target), "atteint" (the latest value reaches the final target), "en bonne
  voie" (it reaches the value expected at its date), "en retard" (it does
  not), "non évaluable" (a target but no baseline to draw the path from).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.errors import ConflictError, NotFoundError, ValidationError
from tracker.models import (
    Action,
    AuditEntry,
    Direction,
    Indicator,
    IndicatorAction,
    IndicatorStatus,
    Measurement,
    Objective,
    Plan,
    ReferenceValue,
    SourceType,
    SurveyWave,
    User,
)
from tracker.services import audit
from tracker.services.locking import changed_by, lock_rows, locked_get
from tracker.services.permissions import Permission, require
from tracker.services.plans import survey_definition_problems
from tracker.services.revision import bump_revision

PERCENT_UNITS = {"%", "pourcentage", "pourcentage (%)"}


@dataclass(frozen=True)
class Point:
    date: date
    value: float


@dataclass(frozen=True)
class IndicatorState:
    """Where an indicator stands at a date."""

    latest: Point | None
    previous: Point | None
    progress: float | None  # 0-100, toward the final target
    expected: float | None  # value expected at the latest measurement's date
    expected_today: float | None
    status: IndicatorStatus
    up_to_date: bool
    next_due: date | None  # when a new measurement is expected

    @property
    def change(self) -> float | None:
        if self.latest is None or self.previous is None:
            return None
        return self.latest.value - self.previous.value


def is_better_or_equal(value: float, reference: float, direction: Direction) -> bool:
    if Direction(direction) == Direction.LOWER:
        return value <= reference
    return value >= reference


def target_path(indicator: Indicator) -> list[Point]:
    """The baseline and the targets that are set, in date order."""
    candidates = [
        (indicator.baseline_date, indicator.baseline_value),
        (indicator.intermediate_target_date, indicator.intermediate_target),
        (indicator.target_date, indicator.target_value),
    ]
    points = [Point(d, float(v)) for d, v in candidates if d is not None and v is not None]
    return sorted(points, key=lambda p: p.date)


def expected_value(indicator: Indicator, at: date) -> float | None:
    """The value the path from the baseline to the targets gives at ``at``.

    None without a baseline and at least one dated target.
    """
    if indicator.baseline_value is None or indicator.baseline_date is None:
        return None
    path = target_path(indicator)
    if len(path) < 2:
        return None
    if at <= path[0].date:
        return path[0].value
    for a, b in zip(path, path[1:], strict=False):
        if at <= b.date:
            span = (b.date - a.date).days
            if span == 0:
                return b.value
            return a.value + (b.value - a.value) * (at - a.date).days / span
    return path[-1].value


def target_progress(
    current: float | None, baseline: float | None, target: float | None, direction: Direction
) -> float | None:
    """(current - baseline) / (target - baseline) in percent, clamped to 0-100."""
    if current is None or baseline is None or target is None:
        return None
    if target == baseline:
        return 100.0 if is_better_or_equal(current, target, direction) else 0.0
    share = (current - baseline) / (target - baseline) * 100
    return max(0.0, min(100.0, share))


def indicator_state(indicator: Indicator, points: list[Point], at: date) -> IndicatorState:
    """The one function that says where an indicator stands at ``at``.

    ``points`` are its measurements (any order); those after ``at`` are ignored.
    """
    series = sorted((p for p in points if p.date <= at), key=lambda p: p.date)
    latest = series[-1] if series else None
    previous = next((p for p in reversed(series) if p.date < latest.date), None) if latest else None
    period = indicator.update_period_days
    next_due = latest.date + timedelta(days=period) if latest and period else None
    up_to_date = latest is not None and (next_due is None or at <= next_due)
    expected = expected_value(indicator, latest.date) if latest else None
    direction = Direction(indicator.direction)
    progress = target_progress(
        latest.value if latest else None,
        indicator.baseline_value,
        indicator.target_value,
        direction,
    )
    if not up_to_date:
        status = IndicatorStatus.NO_RECENT
    elif indicator.target_value is None:
        status = IndicatorStatus.NO_TARGET
    elif is_better_or_equal(latest.value, indicator.target_value, direction):
        status = IndicatorStatus.REACHED
    elif expected is None:
        status = IndicatorStatus.NOT_ASSESSED
    elif is_better_or_equal(latest.value, expected, direction):
        status = IndicatorStatus.ON_TRACK
    else:
        status = IndicatorStatus.LATE
    return IndicatorState(
        latest=latest,
        previous=previous,
        progress=progress,
        expected=expected,
        expected_today=expected_value(indicator, at),
        status=status,
        up_to_date=up_to_date,
        next_due=next_due,
    )


def trend(state: IndicatorState, direction: Direction) -> tuple[str, bool | None]:
    """An arrow for the last change and whether that change goes the right way."""
    change = state.change
    if change is None:
        return "", None
    if change == 0:
        return "→", None
    good = (change > 0) == (Direction(direction) == Direction.HIGHER)
    return ("↗" if change > 0 else "↘"), good


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorRow:
    id: int
    code: str
    name: str
    unit: str
    direction: Direction
    source_type: SourceType
    source: str
    objective_code: str | None
    objective_name: str | None
    action_ids: tuple[int, ...]
    action_codes: tuple[str, ...]
    target_value: float | None
    target_date: date | None
    state: IndicatorState
    series: tuple[float, ...]  # values in date order, for a small chart
    is_survey: bool


@dataclass(frozen=True)
class MeasurementView:
    id: int
    date: date
    value: float
    source: str
    wave_id: int | None
    wave_name: str | None
    sample_size: int | None
    effective_size: float | None
    ci_low: float | None
    ci_high: float | None
    comment: str


@dataclass(frozen=True)
class ReferenceView:
    id: int
    date: date
    value: float
    source: str


@dataclass(frozen=True)
class HistoryLine:
    at: Any
    user: str
    entity: str
    operation: str
    field: str | None
    old: str | None
    new: str | None
    context: str


@dataclass
class IndicatorDetail:
    indicator: Indicator
    plan: Plan
    row: IndicatorRow
    measurements: list[MeasurementView]
    references: list[ReferenceView]
    actions: list[tuple[int, str, str]]  # id, code, title
    history: list[HistoryLine] = field(default_factory=list)


def _actions_by_indicator(session: Session, plan_id: int) -> dict[int, list[Action]]:
    links: dict[int, list[Action]] = defaultdict(list)
    rows = session.exec(
        select(IndicatorAction.indicator_id, Action)
        .join(Action, Action.id == IndicatorAction.action_id)
        .where(Action.plan_id == plan_id)
        .order_by(Action.position, Action.code)
    )
    for indicator_id, action in rows:
        links[indicator_id].append(action)
    return links


def _row(
    indicator: Indicator,
    points: list[Point],
    objectives: dict[int, Objective],
    actions: list[Action],
    at: date,
) -> IndicatorRow:
    objective = objectives.get(indicator.objective_id) if indicator.objective_id else None
    state = indicator_state(indicator, points, at)
    return IndicatorRow(
        id=indicator.id,
        code=indicator.code,
        name=indicator.name,
        unit=indicator.unit,
        direction=Direction(indicator.direction),
        source_type=SourceType(indicator.source_type),
        source=indicator.source,
        objective_code=objective.code if objective else None,
        objective_name=objective.title if objective else None,
        action_ids=tuple(a.id for a in actions),
        action_codes=tuple(a.code for a in actions),
        target_value=indicator.target_value,
        target_date=indicator.target_date,
        state=state,
        series=tuple(p.value for p in sorted(points, key=lambda p: p.date) if p.date <= at),
        is_survey=bool(indicator.survey_question),
    )


def _points(session: Session, indicator_ids: list[int]) -> dict[int, list[Point]]:
    """Measurements by indicator; one per date (a survey wave's wins over a typed one)."""
    chosen: dict[tuple[int, date], tuple[bool, int, float]] = {}
    for iid, d, value, wave_id, mid in session.execute(
        sa.select(
            Measurement.indicator_id,
            Measurement.date,
            Measurement.value,
            Measurement.wave_id,
            Measurement.id,
        ).where(Measurement.indicator_id.in_(indicator_ids))
    ):
        rank = (wave_id is not None, mid, value)
        key = (iid, d)
        if key not in chosen or rank > chosen[key]:
            chosen[key] = rank
    points: dict[int, list[Point]] = defaultdict(list)
    for (iid, d), (_, _, value) in sorted(chosen.items(), key=lambda kv: kv[0][1]):
        points[iid].append(Point(d, value))
    return points


def indicator_rows(session: Session, plan_id: int, at: date) -> list[IndicatorRow]:
    """Every indicator of a plan with where it stands at ``at``."""
    indicators = list(
        session.exec(
            select(Indicator)
            .where(Indicator.plan_id == plan_id)
            .order_by(Indicator.position, Indicator.code)
        )
    )
    objectives = {
        o.id: o for o in session.exec(select(Objective).where(Objective.plan_id == plan_id))
    }
    links = _actions_by_indicator(session, plan_id)
    points = _points(session, [i.id for i in indicators])
    return [_row(i, points.get(i.id, []), objectives, links.get(i.id, []), at) for i in indicators]


def get_indicator(session: Session, indicator_id: int) -> Indicator:
    indicator = session.get(Indicator, indicator_id)
    if indicator is None:
        raise NotFoundError(f"L'indicateur n°{indicator_id} n'existe pas.")
    return indicator


def _locked_indicator(session: Session, indicator_id: int) -> Indicator:
    """The indicator as last committed, locked until the end of the transaction.

    Every save of an indicator's definition or measurements takes this lock first
    (tracker.services.locking): two saves of one indicator run one after the
    other, the second checking against what the first wrote. Without it, on
    PostgreSQL two saves from the same version both passed the version check and
    the second overwrote the first.
    """
    indicator = locked_get(session, Indicator, indicator_id)
    if indicator is None:
        raise NotFoundError(f"L'indicateur n°{indicator_id} n'existe pas.")
    return indicator


def indicator_detail(session: Session, indicator_id: int, at: date) -> IndicatorDetail:
    indicator = get_indicator(session, indicator_id)
    plan = session.get(Plan, indicator.plan_id)
    objectives = {
        o.id: o for o in session.exec(select(Objective).where(Objective.plan_id == plan.id))
    }
    actions = _actions_by_indicator(session, plan.id).get(indicator.id, [])
    points = _points(session, [indicator.id]).get(indicator.id, [])
    waves = {
        w.id: w.name for w in session.exec(select(SurveyWave).where(SurveyWave.plan_id == plan.id))
    }
    measurements = [
        MeasurementView(
            id=m.id,
            date=m.date,
            value=m.value,
            source=m.source,
            wave_id=m.wave_id,
            wave_name=waves.get(m.wave_id) if m.wave_id else None,
            sample_size=m.sample_size,
            effective_size=m.effective_size,
            ci_low=m.ci_low,
            ci_high=m.ci_high,
            comment=m.comment,
        )
        for m in session.exec(
            select(Measurement)
            .where(Measurement.indicator_id == indicator.id)
            .order_by(Measurement.date, Measurement.source)
        )
    ]
    references = [
        ReferenceView(r.id, r.date, r.value, r.source)
        for r in session.exec(
            select(ReferenceValue)
            .where(ReferenceValue.indicator_id == indicator.id)
            .order_by(ReferenceValue.source, ReferenceValue.date)
        )
    ]
    history = [
        HistoryLine(
            e.at, e.user_login, e.entity, e.operation, e.field, e.old_value, e.new_value, e.context
        )
        for e in session.exec(
            select(AuditEntry)
            .where(AuditEntry.indicator_id == indicator.id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        )
    ]
    return IndicatorDetail(
        indicator=indicator,
        plan=plan,
        row=_row(indicator, points, objectives, actions, at),
        measurements=measurements,
        references=references,
        actions=[(a.id, a.code, a.title) for a in actions],
        history=history,
    )


# --------------------------------------------------------------------------
# Editing measurements
# --------------------------------------------------------------------------


@dataclass
class MeasurementEdit:
    """A measurement as typed in a form or a table row; ``measurement_id`` None: new."""

    date: date | None
    value: float | None
    source: str = ""
    sample_size: int | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    comment: str = ""
    measurement_id: int | None = None


def _measurement_values(m: Measurement | MeasurementEdit) -> dict[str, Any]:
    """A measurement's fields (MEASUREMENT_FIELDS) as stored: value a float, source and
    comment without surrounding spaces. What a save writes, and what a stale table is
    compared on."""
    return {
        "date": m.date,
        "value": float(m.value) if m.value is not None else None,
        "source": (m.source or "").strip(),
        "sample_size": m.sample_size,
        "ci_low": m.ci_low,
        "ci_high": m.ci_high,
        "comment": (m.comment or "").strip(),
    }


def _check_unchanged(
    existing: dict[int, Measurement], expected: Mapping[int, MeasurementEdit], touched: set[int]
) -> None:
    """ConflictError if a row the save touches differs from what the user's table showed."""
    stale = []
    for mid in sorted(touched):
        shown = expected.get(mid)
        if shown is None:
            continue
        when = shown.date.strftime("%d/%m/%Y") if shown.date else "sans date"
        current = existing.get(mid)
        if current is None:
            stale.append(f"Mesure du {when} : supprimée entre-temps.")
        elif _measurement_values(current) != _measurement_values(shown):
            stale.append(f"Mesure du {when} : modifiée entre-temps.")
    if stale:
        raise ConflictError(
            "Les mesures ont été modifiées par quelqu'un d'autre depuis que vous avez ouvert le "
            "tableau : rien n'est enregistré. Rechargez le tableau pour voir les valeurs en "
            "vigueur, puis refaites vos corrections.",
            details=stale,
        )


def value_range(unit: str) -> tuple[float | None, float | None]:
    """The values a unit allows: 0-100 for a percentage, ≥ 0 for counts and amounts."""
    text = (unit or "").strip().lower()
    if text in PERCENT_UNITS:
        return 0.0, 100.0
    if text.startswith(("nombre", "€", "euro", "jour", "visite", "heure")):
        return 0.0, None
    return None, None


def measurement_period(plan: Plan, indicator: Indicator, today: date) -> tuple[date, date]:
    """Measurements may be dated from the plan's start (or the indicator's
    baseline, if earlier) to the plan's end, and never in the future."""
    start = date(plan.first_year, 1, 1)
    if indicator.baseline_date is not None and indicator.baseline_date < start:
        start = indicator.baseline_date
    return start, min(date(plan.last_year, 12, 31), today)


def _measurement_problems(
    edit: MeasurementEdit, unit: str, period: tuple[date, date], where: str
) -> list[str]:
    problems = []
    if edit.date is None:
        problems.append(f"{where} : la date est obligatoire.")
    elif not period[0] <= edit.date <= period[1]:
        problems.append(
            f"{where} : la date {edit.date.strftime('%d/%m/%Y')} est hors de la période "
            f"admise ({period[0].strftime('%d/%m/%Y')} – {period[1].strftime('%d/%m/%Y')})."
        )
    if edit.value is None or (isinstance(edit.value, float) and math.isnan(edit.value)):
        problems.append(f"{where} : la valeur est obligatoire.")
        return problems
    numbers = (edit.value, edit.ci_low, edit.ci_high)
    if any(n is not None and not math.isfinite(n) for n in numbers):
        problems.append(f"{where} : valeur ou borne illisible (nombre infini).")
        return problems
    low, high = value_range(unit)
    if (low is not None and edit.value < low) or (high is not None and edit.value > high):
        limits = f"entre {low:g} et {high:g}" if high is not None else f"au moins {low:g}"
        problems.append(
            f"{where} : la valeur {edit.value:g} doit être {limits} (unité « {unit} »)."
        )
    if edit.sample_size is not None and edit.sample_size < 0:
        problems.append(f"{where} : l'effectif ne peut pas être négatif.")
    if edit.ci_low is not None and edit.ci_high is not None and edit.ci_low > edit.ci_high:
        problems.append(f"{where} : la borne basse dépasse la borne haute.")
    for bound in (edit.ci_low, edit.ci_high):
        if bound is not None and (
            (low is not None and bound < low) or (high is not None and bound > high)
        ):
            problems.append(f"{where} : une borne de l'intervalle sort des valeurs admises.")
            break
    if len(edit.source or "") > 300:
        problems.append(f"{where} : la source dépasse 300 caractères.")
    return problems


MEASUREMENT_FIELDS = ("date", "value", "source", "sample_size", "ci_low", "ci_high", "comment")


def save_measurements(
    session: Session,
    actor: User | None,
    indicator_id: int,
    edits: list[MeasurementEdit],
    *,
    deleted_ids: list[int] | None = None,
    today: date,
    expected: Mapping[int, MeasurementEdit] | None = None,
) -> int:
    """Add, change and delete an indicator's measurements in ONE transaction.

    Every problem is listed and nothing is written while any row is invalid:
    a missing date or value, a value out of range for the unit (0-100 for %),
    a date outside the plan's period or in the future, two measurements on the
    same date from the same source, a measurement computed from a survey wave
    (recompute the wave instead). Returns the number of measurements changed.

    ``expected``: the existing measurements as the user's table showed them (by id).
    If someone changed or deleted, meanwhile, a row this save changes or deletes,
    nothing is written and a ConflictError names those rows: saving would otherwise
    put back values its author never saw, or delete a correction unseen.
    """
    require(actor, Permission.EDIT_PLAN)
    # The indicator first, then its measurements: a second save waits, then sees a
    # row deleted or a date taken meanwhile, and is refused in French (on PostgreSQL
    # it used to fail on the database's unique key).
    indicator = _locked_indicator(session, indicator_id)
    plan = session.get(Plan, indicator.plan_id)
    period = measurement_period(plan, indicator, today)
    existing = {
        m.id: m for m in lock_rows(session, Measurement, Measurement.indicator_id == indicator_id)
    }
    deleted = set(deleted_ids or [])
    if expected is not None:
        _check_unchanged(
            existing,
            expected,
            deleted | {e.measurement_id for e in edits if e.measurement_id is not None},
        )
    problems: list[str] = []
    for mid in deleted:
        m = existing.get(mid)
        if m is None:
            problems.append(f"Mesure n°{mid} : introuvable (supprimée entre-temps ?).")
        elif m.wave_id is not None:
            problems.append(
                f"Mesure du {m.date.strftime('%d/%m/%Y')} : calculée depuis une vague d'enquête, "
                "elle disparaît avec la vague ou se recalcule avec elle."
            )
    keys: dict[tuple[date, str], str] = {
        (m.date, m.source): f"la mesure existante du {m.date.strftime('%d/%m/%Y')}"
        for m in existing.values()
        if m.id not in deleted
        and m.id not in {e.measurement_id for e in edits if e.measurement_id is not None}
    }
    planned: list[tuple[Measurement | None, dict[str, Any]]] = []
    for n, e in enumerate(edits, start=1):
        where = f"Ligne {n}" if len(edits) > 1 else "Mesure"
        current = None
        if e.measurement_id is not None:
            current = existing.get(e.measurement_id)
            if current is None:
                problems.append(f"{where} : mesure introuvable (supprimée entre-temps ?).")
                continue
        row_problems = _measurement_problems(e, indicator.unit, period, where)
        values = _measurement_values(e)
        computed = current is not None and current.wave_id is not None
        if computed and any(getattr(current, k) != v for k, v in values.items() if k != "comment"):
            row_problems.append(
                f"{where} : mesure calculée depuis une vague d'enquête ; modifiez la "
                "définition de l'indicateur ou les réponses, puis recalculez la vague."
            )
        if not row_problems and e.date is not None:
            key = (e.date, values["source"])
            if key in keys:
                source = f"« {values['source']} »" if values["source"] else "sans source"
                row_problems.append(
                    f"{where} : deux mesures le {e.date.strftime('%d/%m/%Y')} pour la même "
                    f"source ({source}) ; voir {keys[key]}."
                )
            keys[key] = f"la ligne {n}"
        problems.extend(row_problems)
        planned.append((current, values))
    if problems:
        raise ValidationError(
            "Les mesures ne sont pas enregistrées : corrigez les points suivants.",
            details=problems,
        )
    changed = 0
    label = f"indicateur {indicator.code}"
    for mid in sorted(deleted):
        m = existing[mid]
        audit.record_measurement(
            session,
            actor=actor,
            plan_id=plan.id,
            measurement=m,
            operation="suppression",
            context=label,
        )
        session.delete(m)
        changed += 1
    session.flush()
    # Rows that change date or source first step aside (a free key), so that
    # swapping two dates, or moving a row off a date a new row takes, never
    # meets the uniqueness rule half-way. Nothing of it outlives the transaction.
    moved = [
        (current, {n: getattr(current, n) for n in values})
        for current, values in planned
        if current is not None
        and (current.date, current.source) != (values["date"], values["source"])
    ]
    for current, _ in moved:
        current.source = f"\x1f{current.id}"  # a source no one types
        session.add(current)
    session.flush()
    originals = {current.id: before for current, before in moved}
    for current, values in sorted(planned, key=lambda p: p[0] is None):
        if current is None:
            m = Measurement(indicator_id=indicator.id, **values)
            session.add(m)
            session.flush()
            audit.record_measurement(
                session,
                actor=actor,
                plan_id=plan.id,
                measurement=m,
                operation="création",
                context=label,
            )
            changed += 1
            continue
        before = originals.get(current.id, {})
        touched = False
        for name, value in values.items():
            old = before.get(name, getattr(current, name))
            if old != value:
                audit.record_measurement(
                    session,
                    actor=actor,
                    plan_id=plan.id,
                    measurement=current,
                    operation="modification",
                    field=name,
                    old=old,
                    new=value,
                    context=f"{label}, mesure du {before.get('date', current.date).isoformat()}",
                )
                touched = True
            setattr(current, name, value)
        if touched:
            session.add(current)
            changed += 1
    if changed:
        bump_revision(session)
    return changed


# --------------------------------------------------------------------------
# Editing the definition
# --------------------------------------------------------------------------

DEFINITION_FIELDS = (
    "name",
    "definition",
    "unit",
    "direction",
    "source_type",
    "source",
    "baseline_value",
    "baseline_date",
    "intermediate_target",
    "intermediate_target_date",
    "target_value",
    "target_date",
    "update_period_days",
    "objective_id",
    "survey_question",
    "survey_values",
    "survey_filter_question",
    "survey_filter_values",
)


def _definition_problems(ind: Indicator, plan: Plan) -> list[str]:
    problems = []
    if not (ind.name or "").strip():
        problems.append("Le nom est obligatoire.")
    if len(ind.name or "") > 300:
        problems.append("Le nom dépasse 300 caractères.")
    if not (ind.unit or "").strip():
        problems.append("L'unité est obligatoire (%, nombre…).")
    if ind.update_period_days is not None and ind.update_period_days <= 0:
        problems.append("La périodicité doit être un nombre de jours positif.")
    for value, when, what in (
        (ind.baseline_value, ind.baseline_date, "La valeur de référence"),
        (ind.intermediate_target, ind.intermediate_target_date, "La cible intermédiaire"),
        (ind.target_value, ind.target_date, "La cible"),
    ):
        if (value is None) != (when is None):
            problems.append(f"{what} et sa date vont ensemble : indiquez les deux ou aucune.")
    dates = [
        d
        for d in (ind.baseline_date, ind.intermediate_target_date, ind.target_date)
        if d is not None
    ]
    if dates != sorted(dates):
        problems.append(
            "Les dates doivent se suivre : référence, puis cible intermédiaire, puis cible."
        )
    low, high = value_range(ind.unit)
    for value in (ind.baseline_value, ind.intermediate_target, ind.target_value):
        if value is not None and (
            (low is not None and value < low) or (high is not None and value > high)
        ):
            problems.append(
                f"La valeur {value:g} sort des valeurs admises pour l'unité « {ind.unit} »."
            )
    if (
        ind.baseline_value is not None
        and ind.target_value is not None
        and ind.target_value != ind.baseline_value
    ):
        rising = ind.target_value > ind.baseline_value
        if rising != (Direction(ind.direction) == Direction.HIGHER):
            problems.append(
                "Le sens ne correspond pas à la cible : avec le sens « Hausse », la cible doit "
                "dépasser la valeur de référence ; avec « Baisse », elle doit lui être inférieure."
            )
    problems.extend(p[0].upper() + p[1:] for p in survey_definition_problems(ind))
    return problems


def update_indicator(
    session: Session,
    actor: User | None,
    indicator_id: int,
    expected_version: int,
    changes: dict[str, Any],
    action_ids: list[int] | None = None,
) -> Indicator:
    """Change an indicator's definition (and the actions it measures).

    Refused, with nothing written, when someone saved it meanwhile, when a rule
    is broken, or when its new survey definition cannot be computed on a wave
    with responses (missing question, empty sub-population). Survey measurements
    are recomputed in the same transaction when the definition changes.
    """
    from tracker.services import surveys  # noqa: PLC0415 (surveys builds on this module)

    require(actor, Permission.EDIT_PLAN)
    indicator = _locked_indicator(session, indicator_id)
    plan = session.get(Plan, indicator.plan_id)
    if indicator.version != expected_version:
        who = changed_by(session, "indicateur", indicator.id, expected_version)
        raise ConflictError(
            f"L'indicateur {indicator.code} a été modifié par quelqu'un d'autre depuis que vous "
            "l'avez ouvert ; rechargez la page pour voir ses nouvelles valeurs.",
            details=[f"Enregistré entre-temps par : {', '.join(who)}."] if who else [],
        )
    unknown = set(changes) - set(DEFINITION_FIELDS)
    if unknown:
        raise ValidationError(f"Champs inconnus : {', '.join(sorted(unknown))}.")
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        if name in {"survey_question", "survey_filter_question"}:
            value = value or None
        if name in {"survey_values", "survey_filter_values"}:
            value = list(dict.fromkeys(v.strip() for v in value or [] if v.strip())) or None
        if name == "direction":
            value = Direction(value)
        if name == "source_type":
            value = SourceType(value)
        clean[name] = value
    before = {name: getattr(indicator, name) for name in clean}
    proposed = Indicator(**{**indicator.model_dump(), **clean})
    problems = _definition_problems(proposed, plan)
    objective_id = clean.get("objective_id")
    if objective_id is not None:
        objective = session.get(Objective, objective_id)
        if objective is None or objective.plan_id != plan.id:
            problems.append("Objectif inconnu.")
    plan_actions = {a.id: a for a in session.exec(select(Action).where(Action.plan_id == plan.id))}
    if action_ids is not None:
        missing = [a for a in action_ids if a not in plan_actions]
        if missing:
            problems.append("Action inconnue dans la liste des actions mesurées.")
    if problems:
        raise ValidationError(
            f"L'indicateur {indicator.code} n'est pas enregistré : corrigez les points suivants.",
            details=problems,
        )
    changed = [name for name in clean if before[name] != clean[name]]
    for name in changed:
        audit.record(
            session,
            actor=actor,
            entity="indicateur",
            entity_id=indicator.id,
            plan_id=plan.id,
            entity_version=indicator.version + 1,
            operation="modification",
            field=name,
            old=before[name],
            new=clean[name],
        )
        setattr(indicator, name, clean[name])
    links_changed = False
    if action_ids is not None:
        current = set(
            session.exec(
                select(IndicatorAction.action_id).where(
                    IndicatorAction.indicator_id == indicator.id
                )
            )
        )
        wanted = set(action_ids)
        if current != wanted:
            links_changed = True
            audit.record(
                session,
                actor=actor,
                entity="indicateur",
                entity_id=indicator.id,
                plan_id=plan.id,
                entity_version=indicator.version + 1,
                operation="modification",
                field="actions",
                old=", ".join(sorted(plan_actions[a].code for a in current if a in plan_actions)),
                new=", ".join(sorted(plan_actions[a].code for a in wanted)),
            )
            session.execute(
                sa.delete(IndicatorAction).where(IndicatorAction.indicator_id == indicator.id)
            )
            for aid in sorted(wanted):
                session.add(IndicatorAction(indicator_id=indicator.id, action_id=aid))
    if not changed and not links_changed:
        return indicator
    indicator.version += 1
    session.add(indicator)
    session.flush()
    survey_fields = {"survey_question", "survey_values", "survey_filter_question"}
    survey_fields |= {"survey_filter_values", "unit", "source_type"}
    if survey_fields & set(changed):
        surveys.recompute_indicator(session, actor, indicator)
    bump_revision(session)
    return indicator
