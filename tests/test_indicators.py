"""Indicators: progress toward target, expected value, status and trend (pure
functions, checked against values computed by hand), the list and one
indicator's page on the example plan, saving measurements in one transaction,
and editing an indicator's definition (survey measurements recomputed in the
same transaction)."""

from __future__ import annotations

import math
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests.conftest import add_user, count_rows
from tracker import db
from tracker.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
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
    SourceType,
    SurveyWave,
)
from tracker.services import users
from tracker.services.indicators import (
    MeasurementEdit,
    Point,
    expected_value,
    indicator_detail,
    indicator_rows,
    indicator_state,
    measurement_period,
    save_measurements,
    target_progress,
    trend,
    update_indicator,
    value_range,
)
from tracker.services.revision import current_revision

ADMIN = users.system_actor("tests")
HIGHER, LOWER = Direction.HIGHER, Direction.LOWER
S = IndicatorStatus

AT = date(2026, 11, 28)  # the date the example plan is read at (and "today" when saving)
WAVE_2012 = date(2012, 6, 30)  # fieldwork end of the example's 2012 wave
WAVE_2024 = date(2024, 6, 28)  # fieldwork end of the example's 2024 wave
SURVEY_2018 = date(2018, 6, 30)  # aggregated 2018 results, typed (Mesures.csv)
I6_SOURCE = "Statistiques de l'application de signalement"
I7_SOURCE = "Portail open data"
I8_SOURCE = "Mesure d'audience des sites"

# Day counts the hand computations below rely on.
DAYS_2012_06_30_TO_2020_12_31 = 3106  # 2191 (to 2018-06-30) + 915
DAYS_2020_12_31_TO_2024_06_28 = 1275  # 3 x 365 + 180 (Jan 31 + Feb 29 + Mar 31 + Apr 30 + ...)
DAYS_2020_12_31_TO_2025_12_31 = 1826  # 5 x 365 + 1 (29/02/2024)
DAYS_2020_12_31_TO_2026_12_31 = 2191  # 6 x 365 + 1 (29/02/2024)
DAYS_2017_12_31_TO_2020_12_31 = 1096  # 3 x 365 + 1 (29/02/2020)
DAYS_2012_06_30_TO_2018_06_30 = 2191  # 6 x 365 + 1 (29/02/2016)


def test_the_day_counts_used_by_the_hand_computations_are_right():
    assert (date(2020, 12, 31) - WAVE_2012).days == DAYS_2012_06_30_TO_2020_12_31
    assert (WAVE_2024 - date(2020, 12, 31)).days == DAYS_2020_12_31_TO_2024_06_28
    assert (date(2025, 12, 31) - date(2020, 12, 31)).days == DAYS_2020_12_31_TO_2025_12_31
    assert (date(2026, 12, 31) - date(2020, 12, 31)).days == DAYS_2020_12_31_TO_2026_12_31
    assert (date(2020, 12, 31) - date(2017, 12, 31)).days == DAYS_2017_12_31_TO_2020_12_31
    assert (SURVEY_2018 - WAVE_2012).days == DAYS_2012_06_30_TO_2018_06_30


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _ind(
    direction: Direction = HIGHER,
    *,
    baseline: tuple[date, float] | None = None,
    intermediate: tuple[date, float] | None = None,
    target: tuple[date, float] | None = None,
    period: int | None = 365,
    unit: str = "%",
) -> Indicator:
    """An indicator in memory (no database): each point is (date, value) or None."""
    fields = {}
    for point, value_name, date_name in (
        (baseline, "baseline_value", "baseline_date"),
        (intermediate, "intermediate_target", "intermediate_target_date"),
        (target, "target_value", "target_date"),
    ):
        if point is not None:
            fields[date_name], fields[value_name] = point
    return Indicator(
        plan_id=1,
        code="T1",
        name="Indicateur de test",
        unit=unit,
        direction=direction,
        source_type=SourceType.ADMINISTRATIVE,
        update_period_days=period,
        **fields,
    )


def _indicator(engine, plan_id: int, code: str) -> Indicator:
    with db.session_scope(engine) as session:
        return session.exec(
            select(Indicator).where(Indicator.plan_id == plan_id, Indicator.code == code)
        ).one()


def _measurements(engine, indicator_id: int) -> list[Measurement]:
    """An indicator's measurements read straight from the table, by date then source."""
    with db.session_scope(engine) as session:
        return list(
            session.exec(
                select(Measurement)
                .where(Measurement.indicator_id == indicator_id)
                .order_by(Measurement.date, Measurement.source)
            )
        )


def _by_date(engine, indicator_id: int) -> dict[date, Measurement]:
    return {m.date: m for m in _measurements(engine, indicator_id)}


def _all_measurements(engine) -> list[dict]:
    with db.session_scope(engine) as session:
        return [m.model_dump() for m in session.exec(select(Measurement).order_by(Measurement.id))]


def _revision(engine) -> int:
    with db.session_scope(engine) as session:
        return current_revision(session)


def _last_audit_id(engine) -> int:
    with db.session_scope(engine) as session:
        return session.execute(sa.select(sa.func.max(AuditEntry.id))).scalar() or 0


def _audit_since(engine, last_id: int) -> list[AuditEntry]:
    with db.session_scope(engine) as session:
        return list(
            session.exec(select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id))
        )


def _rows(engine, plan_id: int, at: date = AT) -> dict:
    with db.session_scope(engine) as session:
        return {r.code: r for r in indicator_rows(session, plan_id, at)}


def _action_ids(engine, plan_id: int, *codes: str) -> list[int]:
    with db.session_scope(engine) as session:
        ids = {
            c: i
            for c, i in session.exec(
                select(Action.code, Action.id).where(Action.plan_id == plan_id)
            )
        }
    return [ids[c] for c in codes]


def _edit_of(m: Measurement, **changes) -> MeasurementEdit:
    """A MeasurementEdit re-saving an existing measurement, with some fields changed."""
    values = {
        "date": m.date,
        "value": m.value,
        "source": m.source,
        "sample_size": m.sample_size,
        "ci_low": m.ci_low,
        "ci_high": m.ci_high,
        "comment": m.comment,
        "measurement_id": m.id,
    }
    return MeasurementEdit(**(values | changes))


def _save(
    engine, indicator_id, edits, *, deleted_ids=None, actor=ADMIN, today=AT, expected=None
) -> int:
    with db.session_scope(engine, write=True) as session:
        return save_measurements(
            session,
            actor,
            indicator_id,
            edits,
            deleted_ids=deleted_ids,
            today=today,
            expected=expected,
        )


def _update(engine, indicator_id, changes, *, version=None, action_ids=None, actor=ADMIN):
    with db.session_scope(engine, write=True) as session:
        if version is None:
            version = session.get(Indicator, indicator_id).version
        return update_indicator(session, actor, indicator_id, version, changes, action_ids)


def _state_of_database(engine) -> tuple:
    """Everything a refused operation must leave as it was."""
    with db.session_scope(engine) as session:
        indicators = [
            i.model_dump() for i in session.exec(select(Indicator).order_by(Indicator.id))
        ]
        links = sorted(
            tuple(link)
            for link in session.exec(
                select(IndicatorAction.indicator_id, IndicatorAction.action_id)
            )
        )
    return count_rows(engine), _all_measurements(engine), indicators, links, _revision(engine)


def _refused(engine, operation, error=ValidationError):  # noqa: ANN001, ANN202
    """Run an operation, expect a refusal and check that nothing at all was written."""
    before = _state_of_database(engine)
    with pytest.raises(error) as refusal:
        operation()
    assert _state_of_database(engine) == before
    return refusal.value


def _problems(error) -> str:  # noqa: ANN001
    return "\n".join([error.message, *error.details])


# --------------------------------------------------------------------------
# Progress toward target
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "baseline", "target", "direction", "expected"),
    [
        # Higher is better: (50 - 20) / (80 - 20) = 30 / 60 = 50 %.
        (50, 20, 80, HIGHER, 50.0),
        # (35 - 20) / (80 - 20) = 15 / 60 = 25 %.
        (35, 20, 80, HIGHER, 25.0),
        # Lower is better: (50 - 65) / (40 - 65) = -15 / -25 = 60 %.
        (50, 65, 40, LOWER, 60.0),
        # (45 - 65) / (40 - 65) = -20 / -25 = 80 %.
        (45, 65, 40, LOWER, 80.0),
        # At the baseline: 0 %; at the target: 100 %.
        (20, 20, 80, HIGHER, 0.0),
        (80, 20, 80, HIGHER, 100.0),
        (65, 65, 40, LOWER, 0.0),
        (40, 65, 40, LOWER, 100.0),
    ],
)
def test_target_progress_is_the_share_of_the_way_from_baseline_to_target(
    current, baseline, target, direction, expected
):
    assert target_progress(current, baseline, target, direction) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("current", "baseline", "target", "direction", "expected"),
    [
        # Worse than the baseline: (10 - 20) / 60 = -16.7 % -> 0.
        (10, 20, 80, HIGHER, 0.0),
        # Beyond the target: (95 - 20) / 60 = 125 % -> 100.
        (95, 20, 80, HIGHER, 100.0),
        # Lower is better, worse than the baseline: (70 - 65) / (40 - 65) = -20 % -> 0.
        (70, 65, 40, LOWER, 0.0),
        # Lower is better, beyond the target: (30 - 65) / (40 - 65) = 140 % -> 100.
        (30, 65, 40, LOWER, 100.0),
    ],
)
def test_target_progress_is_clamped_to_0_and_100(current, baseline, target, direction, expected):
    assert target_progress(current, baseline, target, direction) == expected


@pytest.mark.parametrize(
    ("current", "direction", "expected"),
    [
        (50, HIGHER, 100.0),  # the target (= baseline) is held
        (51, HIGHER, 100.0),
        (49, HIGHER, 0.0),
        (50, LOWER, 100.0),
        (49, LOWER, 100.0),
        (51, LOWER, 0.0),
    ],
)
def test_target_progress_when_the_target_equals_the_baseline_is_all_or_nothing(
    current, direction, expected
):
    assert target_progress(current, 50, 50, direction) == expected


def test_target_progress_is_unknown_without_a_value_a_baseline_or_a_target():
    assert target_progress(None, 20, 80, HIGHER) is None
    assert target_progress(50, None, 80, HIGHER) is None
    assert target_progress(50, 20, None, HIGHER) is None


# --------------------------------------------------------------------------
# Expected value on the path baseline -> intermediate target -> target
# --------------------------------------------------------------------------

# Baseline 40 on 01/01/2020, intermediate 70 on 01/03/2020 (31 + 29 = 60 days later,
# 2020 is a leap year), target 100 on 01/03/2021 (365 days later).
PATH = _ind(
    baseline=(date(2020, 1, 1), 40.0),
    intermediate=(date(2020, 3, 1), 70.0),
    target=(date(2021, 3, 1), 100.0),
)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # 10/02/2020 is 40 days after the baseline: 40 + (70 - 40) * 40 / 60 = 60.
        (date(2020, 2, 10), 60.0),
        # 31/01/2020, 30 days: 40 + 30 * 30 / 60 = 55.
        (date(2020, 1, 31), 55.0),
        # The intermediate target itself.
        (date(2020, 3, 1), 70.0),
        # 01/09/2020 is 31+30+31+30+31+31 = 184 days after 01/03/2020:
        # 70 + (100 - 70) * 184 / 365 = 85.1233.
        (date(2020, 9, 1), 70 + 30 * 184 / 365),
        # 01/01/2021 is 306 days after 01/03/2020: 70 + 30 * 306 / 365 = 95.1507.
        (date(2021, 1, 1), 70 + 30 * 306 / 365),
    ],
)
def test_expected_value_is_linear_between_baseline_intermediate_and_final_targets(at, expected):
    assert (date(2020, 3, 1) - date(2020, 1, 1)).days == 60
    assert (date(2021, 3, 1) - date(2020, 3, 1)).days == 365
    assert expected_value(PATH, at) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (date(2019, 6, 1), 40.0),  # before the baseline: the baseline
        (date(2020, 1, 1), 40.0),
        (date(2021, 3, 1), 100.0),
        (date(2021, 3, 2), 100.0),  # after the target date: the target
        (date(2030, 1, 1), 100.0),
    ],
)
def test_expected_value_before_the_baseline_and_after_the_target_date(at, expected):
    assert expected_value(PATH, at) == expected


def test_expected_value_without_intermediate_target_is_one_straight_line():
    # 01/01/2020 -> 01/03/2021 = 366 + 31 + 28 = 425 days; at 10/02/2020 (40 days):
    # 40 + (100 - 40) * 40 / 425 = 45.6471.
    indicator = _ind(baseline=(date(2020, 1, 1), 40.0), target=(date(2021, 3, 1), 100.0))
    assert (date(2021, 3, 1) - date(2020, 1, 1)).days == 425
    assert expected_value(indicator, date(2020, 2, 10)) == pytest.approx(40 + 60 * 40 / 425)
    assert expected_value(indicator, date(2020, 2, 10)) == pytest.approx(45.6470588)


def test_expected_value_when_lower_is_better_goes_down_the_path():
    # Example I4: 65 (30/06/2012) -> 50 (31/12/2020) -> 40 (31/12/2026).
    # At 28/06/2024: 50 + (40 - 50) * 1275 / 2191 = 44.1807.
    indicator = _ind(
        LOWER,
        baseline=(WAVE_2012, 65.0),
        intermediate=(date(2020, 12, 31), 50.0),
        target=(date(2026, 12, 31), 40.0),
    )
    assert expected_value(indicator, WAVE_2024) == pytest.approx(44.1807394)
    # At 31/12/2016 (1645 days after the baseline, of 3106): 65 - 15 * 1645 / 3106.
    assert (date(2016, 12, 31) - WAVE_2012).days == 1645
    assert expected_value(indicator, date(2016, 12, 31)) == pytest.approx(65 - 15 * 1645 / 3106)


def test_expected_value_is_none_without_a_baseline_or_without_any_dated_target():
    no_baseline = _ind(intermediate=(date(2020, 3, 1), 70.0), target=(date(2021, 3, 1), 100.0))
    assert expected_value(no_baseline, date(2020, 9, 1)) is None
    only_baseline = _ind(baseline=(date(2020, 1, 1), 40.0))
    assert expected_value(only_baseline, date(2020, 9, 1)) is None
    undated_baseline = _ind(target=(date(2021, 3, 1), 100.0))
    undated_baseline.baseline_value = 40.0
    assert expected_value(undated_baseline, date(2020, 9, 1)) is None


# --------------------------------------------------------------------------
# Status of an indicator at a date
# --------------------------------------------------------------------------

# Higher is better: 20 on 01/01/2020, 50 on 01/01/2021 (366 days later), 80 on 01/01/2022
# (365 days later). A measurement on 02/07/2021 is 182 days after 01/01/2021: the value
# expected then is 50 + 30 * 182 / 365 = 64.9589.
UP = _ind(
    baseline=(date(2020, 1, 1), 20.0),
    intermediate=(date(2021, 1, 1), 50.0),
    target=(date(2022, 1, 1), 80.0),
)
# Lower is better, the mirror path: 80 -> 50 -> 20; expected on 02/07/2021:
# 50 - 30 * 182 / 365 = 35.0411.
DOWN = _ind(
    LOWER,
    baseline=(date(2020, 1, 1), 80.0),
    intermediate=(date(2021, 1, 1), 50.0),
    target=(date(2022, 1, 1), 20.0),
)
MEASURED = date(2021, 7, 2)
READ_AT = date(2021, 8, 1)  # 212 days after 01/01/2021, 30 days after MEASURED
UP_EXPECTED = 50 + 30 * 182 / 365  # 64.9589
DOWN_EXPECTED = 50 - 30 * 182 / 365  # 35.0411


def _state(indicator: Indicator, *points: tuple[date, float], at: date = READ_AT):
    return indicator_state(indicator, [Point(d, v) for d, v in points], at)


def test_on_track_higher_is_better_with_every_field_of_the_state():
    assert (MEASURED - date(2021, 1, 1)).days == 182
    assert (READ_AT - date(2021, 1, 1)).days == 212
    state = _state(UP, (MEASURED, 66.0), (date(2021, 1, 1), 45.0))
    assert state.status == S.ON_TRACK
    assert state.latest == Point(MEASURED, 66.0)
    assert state.previous == Point(date(2021, 1, 1), 45.0)
    assert state.change == pytest.approx(21.0)
    assert state.expected == pytest.approx(UP_EXPECTED)
    assert state.expected == pytest.approx(64.9589041)
    # Today's expected value: 50 + 30 * 212 / 365 = 67.4247.
    assert state.expected_today == pytest.approx(50 + 30 * 212 / 365)
    # (66 - 20) / (80 - 20) = 46 / 60 = 76.67 %.
    assert state.progress == pytest.approx(76.6666667)
    assert state.up_to_date is True
    assert state.next_due == date(2022, 7, 2)  # 02/07/2021 + 365 days


@pytest.mark.parametrize(
    ("indicator", "value", "status"),
    [
        (UP, 64.96, S.ON_TRACK),  # just above 64.9589
        (UP, 64.95, S.LATE),  # just below 64.9589
        (UP, 30.0, S.LATE),
        (UP, 79.99, S.ON_TRACK),
        (UP, 80.0, S.REACHED),  # the final target, six months early
        (UP, 95.0, S.REACHED),
        (DOWN, 35.04, S.ON_TRACK),  # just below 35.0411: better when lower
        (DOWN, 35.05, S.LATE),  # just above 35.0411
        (DOWN, 70.0, S.LATE),
        (DOWN, 20.0, S.REACHED),
        (DOWN, 5.0, S.REACHED),
    ],
)
def test_status_compares_the_latest_value_with_the_target_then_the_expected_value(
    indicator, value, status
):
    assert _state(indicator, (MEASURED, value)).status == status


def test_late_lower_is_better_has_the_progress_of_the_lower_path():
    state = _state(DOWN, (MEASURED, 40.0))
    assert state.status == S.LATE
    assert state.expected == pytest.approx(DOWN_EXPECTED)
    # (40 - 80) / (20 - 80) = 66.67 %.
    assert state.progress == pytest.approx(66.6666667)


def test_no_measurement_at_all_is_no_recent_measurement():
    state = _state(UP)
    assert state.status == S.NO_RECENT
    assert state.latest is None and state.previous is None
    assert state.progress is None and state.expected is None and state.next_due is None
    assert state.up_to_date is False
    assert state.expected_today == pytest.approx(50 + 30 * 212 / 365)


def test_a_measurement_older_than_the_periodicity_is_no_longer_recent():
    # Measured 02/07/2021, every 365 days: due 02/07/2022.
    assert _state(UP, (MEASURED, 66.0), at=date(2022, 7, 2)).status == S.ON_TRACK
    stale = _state(UP, (MEASURED, 66.0), at=date(2022, 7, 3))
    assert stale.status == S.NO_RECENT
    assert stale.up_to_date is False
    assert stale.next_due == date(2022, 7, 2)
    # Even a value that reached the target is "no recent measurement" once stale.
    assert _state(UP, (MEASURED, 95.0), at=date(2022, 7, 3)).status == S.NO_RECENT


def test_without_periodicity_a_measurement_never_gets_old():
    indicator = _ind(
        baseline=(date(2020, 1, 1), 20.0), target=(date(2022, 1, 1), 80.0), period=None
    )
    state = _state(indicator, (MEASURED, 79.0), at=date(2035, 1, 1))
    assert state.up_to_date is True and state.next_due is None
    # Expected on 02/07/2021: 20 + 60 * 548 / 731 = 64.98 (01/01/2020 -> 01/01/2022 = 731 days).
    assert (MEASURED - date(2020, 1, 1)).days == 548
    assert state.expected == pytest.approx(20 + 60 * 548 / 731)
    assert state.status == S.ON_TRACK


def test_without_final_target_the_status_is_no_target():
    indicator = _ind(baseline=(date(2020, 1, 1), 20.0), intermediate=(date(2021, 1, 1), 50.0))
    state = _state(indicator, (MEASURED, 99.0))
    assert state.status == S.NO_TARGET
    assert state.progress is None
    # A stale one is still "no recent measurement" first.
    assert _state(indicator, (MEASURED, 99.0), at=date(2023, 1, 1)).status == S.NO_RECENT


def test_a_target_without_baseline_cannot_be_assessed_unless_reached():
    indicator = _ind(target=(date(2022, 1, 1), 80.0))
    state = _state(indicator, (MEASURED, 60.0))
    assert state.status == S.NOT_ASSESSED
    assert state.progress is None and state.expected is None
    assert _state(indicator, (MEASURED, 80.0)).status == S.REACHED
    lower = _ind(LOWER, target=(date(2022, 1, 1), 20.0))
    assert _state(lower, (MEASURED, 30.0)).status == S.NOT_ASSESSED
    assert _state(lower, (MEASURED, 19.0)).status == S.REACHED


def test_measurements_after_the_date_are_ignored_and_order_does_not_matter():
    points = [(date(2021, 9, 1), 95.0), (MEASURED, 60.0), (date(2021, 1, 1), 45.0)]
    state = _state(UP, *points)
    assert state.latest == Point(MEASURED, 60.0)
    assert state.previous == Point(date(2021, 1, 1), 45.0)
    assert state.status == S.LATE  # 60 < 64.9589; the 95 of September is not yet known
    assert _state(UP, *points, at=date(2021, 9, 1)).status == S.REACHED
    # Read before any measurement: none is known.
    assert _state(UP, *points, at=date(2020, 12, 31)).latest is None


@pytest.mark.parametrize(
    ("direction", "previous", "latest", "arrow", "favourable"),
    [
        (HIGHER, 40.0, 45.0, "↗", True),
        (HIGHER, 45.0, 40.0, "↘", False),
        (LOWER, 45.0, 40.0, "↘", True),
        (LOWER, 40.0, 45.0, "↗", False),
        (HIGHER, 42.0, 42.0, "→", None),
        (LOWER, 42.0, 42.0, "→", None),
    ],
)
def test_trend_arrow_and_whether_the_change_goes_the_right_way(
    direction, previous, latest, arrow, favourable
):
    indicator = UP if direction == HIGHER else DOWN
    state = _state(indicator, (date(2021, 1, 1), previous), (MEASURED, latest))
    assert state.previous == Point(date(2021, 1, 1), previous)
    assert state.change == pytest.approx(latest - previous)
    assert trend(state, direction) == (arrow, favourable)


def test_no_trend_with_a_single_measurement():
    state = _state(UP, (MEASURED, 60.0))
    assert state.previous is None and state.change is None
    assert trend(state, HIGHER) == ("", None)


# --------------------------------------------------------------------------
# Units and allowed dates of measurements
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("%", (0.0, 100.0)),
        (" Pourcentage ", (0.0, 100.0)),
        ("pourcentage (%)", (0.0, 100.0)),
        ("nombre", (0.0, None)),
        ("Nombre de visites", (0.0, None)),
        ("€", (0.0, None)),
        ("jours", (0.0, None)),
        ("note sur 20", (None, None)),
        ("", (None, None)),
    ],
)
def test_value_range_by_unit(unit, expected):
    assert value_range(unit) == expected


def test_measurement_period_runs_from_the_plan_start_or_earlier_baseline_to_today_or_plan_end():
    plan = Plan(name="P", first_year=2018, last_year=2026)
    early = _ind(baseline=(WAVE_2012, 22.0))
    late = _ind(baseline=(date(2019, 6, 30), 22.0))
    assert measurement_period(plan, early, AT) == (WAVE_2012, AT)
    assert measurement_period(plan, late, AT) == (date(2018, 1, 1), AT)
    assert measurement_period(plan, _ind(), date(2030, 5, 1)) == (
        date(2018, 1, 1),
        date(2026, 12, 31),
    )


# --------------------------------------------------------------------------
# The example plan's indicators at a fixed date
# --------------------------------------------------------------------------


def test_example_indicators_are_listed_in_order_with_their_objective_and_actions(
    engine, example_plan
):
    with db.session_scope(engine) as session:
        rows = indicator_rows(session, example_plan.id, AT)
    assert [r.code for r in rows] == [f"I{n}" for n in range(1, 9)]
    by_code = {r.code: r for r in rows}
    assert by_code["I1"].objective_code == "2"
    assert by_code["I1"].objective_name == (
        "Impliquer les habitants et garantir l'inclusion numérique"
    )
    assert by_code["I3"].objective_code == "1"
    assert by_code["I5"].objective_code == "3"
    assert by_code["I1"].action_codes == ("2.1", "2.6")
    assert by_code["I2"].action_codes == ("2.2", "2.6", "3.3")
    assert by_code["I7"].action_codes == ("2.4",)
    assert by_code["I8"].action_codes == ("1.1", "1.2")
    assert by_code["I2"].action_ids == tuple(
        _action_ids(engine, example_plan.id, "2.2", "2.6", "3.3")
    )
    assert [r.code for r in rows if r.is_survey] == ["I1", "I2", "I3", "I4", "I5"]
    assert by_code["I4"].direction == LOWER
    assert by_code["I6"].unit == "nombre"
    assert by_code["I6"].source_type == SourceType.ADMINISTRATIVE
    assert (by_code["I6"].target_value, by_code["I6"].target_date) == (2500, date(2026, 12, 31))


def test_example_statuses_at_a_fixed_date_are_what_the_formula_gives(engine, example_plan):
    rows = _rows(engine, example_plan.id)
    wave = {code: _by_date(engine, rows[code].id)[WAVE_2024].value for code in rows if code < "I6"}
    # The 2024 wave's weighted results (computed from enquete_2024.csv at loading).
    assert wave == pytest.approx(
        {"I1": 85.96, "I2": 79.99, "I3": 69.96, "I4": 47.11, "I5": 33.02}, abs=0.01
    )

    # Survey indicators: latest = the 2024 wave (28/06/2024), 1275 days after the
    # intermediate target date (31/12/2020) on a 2191-day segment to 31/12/2026.
    share = DAYS_2020_12_31_TO_2024_06_28 / DAYS_2020_12_31_TO_2026_12_31
    hand = {
        # code: (baseline, intermediate, target, direction) from Indicateurs.csv
        "I1": (22.0, 70.0, 85.0),
        "I2": (52.0, 72.0, 82.0),
        "I3": (45.0, 65.0, 80.0),
        "I4": (65.0, 50.0, 40.0),
        "I5": (8.0, 25.0, 35.0),
    }
    for code, (baseline, intermediate, target) in hand.items():
        state = rows[code].state
        assert state.latest == Point(WAVE_2024, wave[code]), code
        assert state.previous == Point(
            SURVEY_2018, _by_date(engine, rows[code].id)[SURVEY_2018].value
        )
        assert state.expected == pytest.approx(intermediate + (target - intermediate) * share), code
        progress = min(100.0, (wave[code] - baseline) / (target - baseline) * 100)
        assert state.progress == pytest.approx(progress), code
        # Every 1095 days: due 27/06/2027, so still up to date on 28/11/2026.
        assert state.next_due == date(2027, 6, 28), code
        assert state.up_to_date, code

    # I1: 85.96 >= 85, the final target: reached (progress clamped to 100).
    assert rows["I1"].state.status == S.REACHED
    assert rows["I1"].state.progress == 100.0
    # I2: expected 72 + 10 * 1275 / 2191 = 77.82; 79.99 >= 77.82: on track.
    assert rows["I2"].state.expected == pytest.approx(77.8192606)
    assert rows["I2"].state.status == S.ON_TRACK
    # I3: expected 65 + 15 * 1275 / 2191 = 73.73; 69.96 < 73.73: late.
    assert rows["I3"].state.expected == pytest.approx(73.7288909)
    assert rows["I3"].state.status == S.LATE
    # I4 (lower is better): expected 50 - 10 * 1275 / 2191 = 44.18; 47.11 > 44.18: late.
    # Progress (47.11 - 65) / (40 - 65) = 71.5 %.
    assert rows["I4"].state.expected == pytest.approx(44.1807394)
    assert rows["I4"].state.progress == pytest.approx(71.54, abs=0.01)
    assert rows["I4"].state.status == S.LATE
    # I5: expected 25 + 10 * 1275 / 2191 = 30.82; 33.02 >= 30.82: on track.
    assert rows["I5"].state.status == S.ON_TRACK

    # Yearly indicators: latest 31/12/2025, 1826 days into the 2191-day last segment.
    share = DAYS_2020_12_31_TO_2025_12_31 / DAYS_2020_12_31_TO_2026_12_31
    # I6: expected 1500 + 1000 * 1826 / 2191 = 2333.41; 2240 < 2333.41: late.
    # Progress (2240 - 850) / (2500 - 850) = 1390 / 1650 = 84.24 %.
    i6 = rows["I6"].state
    assert i6.latest == Point(date(2025, 12, 31), 2240.0)
    assert i6.previous == Point(date(2024, 12, 31), 2150.0)
    assert i6.expected == pytest.approx(1500 + 1000 * share)
    assert i6.expected == pytest.approx(2333.4094021)
    assert i6.progress == pytest.approx(1390 / 1650 * 100)
    assert i6.status == S.LATE
    assert i6.next_due == date(2026, 12, 31)
    # I7: expected 20 + 40 * 1826 / 2191 = 53.34; 34 < 53.34: late.
    assert rows["I7"].state.expected == pytest.approx(20 + 40 * share)
    assert rows["I7"].state.status == S.LATE
    # I8: expected 550000 + 150000 * 1826 / 2191 = 675011.4; 689000 >= it: on track.
    # Progress (689000 - 410000) / (700000 - 410000) = 96.21 %.
    assert rows["I8"].state.expected == pytest.approx(550_000 + 150_000 * share)
    assert rows["I8"].state.progress == pytest.approx(279_000 / 290_000 * 100)
    assert rows["I8"].state.status == S.ON_TRACK


def test_example_trends_are_favourable_according_to_each_direction(engine, example_plan):
    rows = _rows(engine, example_plan.id)
    # I4 fell from 58 (2018) to 47.11 (2024): down, and lower is better.
    assert trend(rows["I4"].state, rows["I4"].direction) == ("↘", True)
    # I6 rose from 2150 to 2240: up, higher is better.
    assert trend(rows["I6"].state, rows["I6"].direction) == ("↗", True)
    assert rows["I6"].state.change == pytest.approx(90.0)
    # I8 in 2022: 598000 after 612000, a fall.
    at_2022 = _rows(engine, example_plan.id, date(2023, 1, 1))["I8"]
    assert at_2022.state.change == pytest.approx(-14_000)
    assert trend(at_2022.state, HIGHER) == ("↘", False)


def test_example_statuses_depend_on_the_date_they_are_read_at(engine, example_plan):
    # 01/01/2027: the yearly indicators' 2025 values were due again on 31/12/2026.
    later = _rows(engine, example_plan.id, date(2027, 1, 1))
    assert {c: r.state.status for c, r in later.items() if c >= "I6"} == dict.fromkeys(
        ("I6", "I7", "I8"), S.NO_RECENT
    )
    assert later["I1"].state.status == S.REACHED  # survey: due only on 27/06/2027
    # 01/01/2020: I1's latest is the typed 2018 value, 68, on 30/06/2018, 2191 days
    # into the 3106-day segment 30/06/2012 -> 31/12/2020: expected
    # 22 + 48 * 2191 / 3106 = 55.86; 68 >= 55.86: on track.
    early = _rows(engine, example_plan.id, date(2020, 1, 1))
    i1 = early["I1"].state
    assert i1.latest == Point(SURVEY_2018, 68.0)
    assert i1.expected == pytest.approx(22 + 48 * 2191 / 3106)
    assert i1.status == S.ON_TRACK
    # I8 at 01/01/2021: 585000 on 31/12/2020, the intermediate target date, where
    # 550000 is expected; the final target (700000) is not reached: on track.
    i8 = _rows(engine, example_plan.id, date(2021, 1, 1))["I8"].state
    assert i8.expected == 550_000
    assert i8.status == S.ON_TRACK
    # I6 at 01/01/2019: 1020 on 31/12/2018, 365 days into the 1096-day segment
    # 31/12/2017 -> 31/12/2020: 850 + 650 * 365 / 1096 = 1066.47; 1020 < it: late.
    i6 = _rows(engine, example_plan.id, date(2019, 1, 1))["I6"]
    assert i6.state.expected == pytest.approx(850 + 650 * 365 / DAYS_2017_12_31_TO_2020_12_31)
    assert i6.state.status == S.LATE
    assert i6.series == (1020.0,)


def test_example_series_are_in_date_order_and_stop_at_the_date(engine, example_plan):
    rows = _rows(engine, example_plan.id)
    assert rows["I8"].series == (
        425000.0,
        468000.0,
        585000.0,
        612000.0,
        598000.0,
        634000.0,
        661000.0,
        689000.0,
    )
    i1 = _by_date(engine, rows["I1"].id)
    assert rows["I1"].series == (i1[WAVE_2012].value, 68.0, i1[WAVE_2024].value)
    assert _rows(engine, example_plan.id, date(2022, 6, 30))["I7"].series == (3.0, 7.0, 11.0, 15.0)


def test_example_indicator_detail_lists_measurements_actions_and_history(engine, example_plan):
    i4 = _indicator(engine, example_plan.id, "I4")
    with db.session_scope(engine) as session:
        detail = indicator_detail(session, i4.id, AT)
        waves = {w.fieldwork_end: w for w in session.exec(select(SurveyWave))}
        titles = {c: t for c, t in session.exec(select(Action.code, Action.title))}
    assert detail.indicator.code == "I4"
    assert detail.plan.id == example_plan.id
    assert detail.row == _rows(engine, example_plan.id)["I4"]
    assert [m.date for m in detail.measurements] == [WAVE_2012, SURVEY_2018, WAVE_2024]
    wave_2012, typed, wave_2024 = detail.measurements
    assert (wave_2012.wave_id, wave_2012.wave_name) == (
        waves[WAVE_2012].id,
        "Étude usages 2012 (exemple illustratif)",
    )
    assert wave_2024.wave_name == "Mise à jour 2024 (exemple illustratif)"
    assert wave_2024.ci_low < wave_2024.value < wave_2024.ci_high
    assert (typed.wave_id, typed.wave_name, typed.value, typed.sample_size) == (
        None,
        None,
        58.0,
        611,
    )
    assert (typed.ci_low, typed.ci_high) == (54.1, 61.9)
    assert detail.actions == [
        (aid, code, titles[code])
        for aid, code in zip(
            _action_ids(engine, example_plan.id, "2.2", "2.6"), ("2.2", "2.6"), strict=True
        )
    ]
    # The history: I4's creation and its two wave measurements, computed at loading.
    assert sorted((h.entity, h.operation, h.new) for h in detail.history) == [
        ("indicateur", "création", "I4"),
        ("mesure", "création", "2012-06-30 : 65.02"),
        ("mesure", "création", "2024-06-28 : 47.11"),
    ]
    # ... newest first.
    assert [h.at for h in detail.history] == sorted((h.at for h in detail.history), reverse=True)


def test_example_indicator_references_are_sorted_by_source_then_date(engine, example_plan):
    i1 = _indicator(engine, example_plan.id, "I1")
    with db.session_scope(engine) as session:
        references = indicator_detail(session, i1.id, AT).references
    assert [(r.date.year, r.value) for r in references] == [
        (2012, 28.0),
        (2017, 73.0),
        (2018, 75.0),
        (2019, 77.0),
        (2020, 84.0),
        (2022, 87.0),
        (2024, 91.0),
    ]


def test_a_survey_wave_measurement_wins_over_a_typed_one_on_the_same_date(engine, example_plan):
    i1 = _indicator(engine, example_plan.id, "I1")
    wave_value = _by_date(engine, i1.id)[WAVE_2024].value
    _save(engine, i1.id, [MeasurementEdit(WAVE_2024, 10.0, source="Autre relevé")])
    with db.session_scope(engine) as session:
        detail = indicator_detail(session, i1.id, AT)
    assert detail.row.state.latest == Point(WAVE_2024, wave_value)
    assert detail.row.series == (_by_date(engine, i1.id)[WAVE_2012].value, 68.0, wave_value)
    # The page still lists both, by date then source.
    same_day = [(m.source, m.value) for m in detail.measurements if m.date == WAVE_2024]
    assert same_day == [
        ("Autre relevé", 10.0),
        ("Mise à jour 2024 (exemple illustratif)", wave_value),
    ]


def test_the_detail_of_a_missing_indicator_is_a_not_found_error(engine, example_plan):
    with db.session_scope(engine) as session, pytest.raises(NotFoundError, match="n'existe pas"):
        indicator_detail(session, 999_999, AT)


# --------------------------------------------------------------------------
# Saving measurements
# --------------------------------------------------------------------------


def test_adding_one_measurement_is_saved_audited_and_bumps_the_revision(engine, example_plan):
    i6 = _indicator(engine, example_plan.id, "I6")
    rows, revision, last = count_rows(engine), _revision(engine), _last_audit_id(engine)
    edit = MeasurementEdit(date(2026, 6, 30), 2300, source=f"  {I6_SOURCE} ", comment=" 1er sem. ")
    assert _save(engine, i6.id, [edit]) == 1
    after = count_rows(engine)
    assert after["measurement"] == rows["measurement"] + 1
    assert after["audit_entry"] == rows["audit_entry"] + 1
    assert _revision(engine) == revision + 1
    saved = _by_date(engine, i6.id)[date(2026, 6, 30)]
    assert (saved.value, saved.source, saved.comment, saved.wave_id) == (
        2300.0,
        I6_SOURCE,
        "1er sem.",
        None,
    )
    [entry] = _audit_since(engine, last)
    assert (entry.entity, entry.entity_id, entry.operation) == ("mesure", saved.id, "création")
    assert (entry.indicator_id, entry.plan_id, entry.user_login) == (
        i6.id,
        example_plan.id,
        "tests",
    )
    assert entry.new_value == "2026-06-30 : 2300"
    assert entry.context == "indicateur I6"
    # The list now reads the new value.
    assert _rows(engine, example_plan.id)["I6"].state.latest == Point(date(2026, 6, 30), 2300.0)


def test_adding_several_measurements_in_one_call_is_one_revision(engine, example_plan):
    i7 = _indicator(engine, example_plan.id, "I7")
    before, revision, last = (
        len(_measurements(engine, i7.id)),
        _revision(engine),
        _last_audit_id(engine),
    )
    edits = [
        MeasurementEdit(date(2026, 3, 31), 35, source=I7_SOURCE),
        MeasurementEdit(date(2026, 6, 30), 37, source=I7_SOURCE),
        MeasurementEdit(date(2026, 6, 30), 36, source="Autre décompte"),  # other source: allowed
    ]
    assert _save(engine, i7.id, edits) == 3
    saved = _measurements(engine, i7.id)
    assert len(saved) == before + 3
    assert [(m.date, m.value, m.source) for m in saved[-3:]] == [
        (date(2026, 3, 31), 35.0, I7_SOURCE),
        (date(2026, 6, 30), 36.0, "Autre décompte"),
        (date(2026, 6, 30), 37.0, I7_SOURCE),
    ]
    entries = _audit_since(engine, last)
    assert [(e.operation, e.indicator_id) for e in entries] == [("création", i7.id)] * 3
    assert _revision(engine) == revision + 1


def test_editing_a_measurement_audits_each_changed_field(engine, example_plan):
    i8 = _indicator(engine, example_plan.id, "I8")
    m = _by_date(engine, i8.id)[date(2025, 12, 31)]
    rows, revision, last = count_rows(engine), _revision(engine), _last_audit_id(engine)
    assert _save(engine, i8.id, [_edit_of(m, value=690_000, comment="Chiffre corrigé")]) == 1
    edited = _by_date(engine, i8.id)[date(2025, 12, 31)]
    assert (edited.id, edited.value, edited.comment, edited.source) == (
        m.id,
        690_000.0,
        "Chiffre corrigé",
        I8_SOURCE,
    )
    entries = _audit_since(engine, last)
    assert [(e.field, e.old_value, e.new_value) for e in entries] == [
        ("value", "689000.0", "690000.0"),
        ("comment", "", "Chiffre corrigé"),
    ]
    assert {(e.entity, e.entity_id, e.operation, e.indicator_id) for e in entries} == {
        ("mesure", m.id, "modification", i8.id)
    }
    assert entries[0].context == "indicateur I8, mesure du 2025-12-31"
    assert count_rows(engine)["measurement"] == rows["measurement"]
    assert _revision(engine) == revision + 1


def test_moving_a_measurement_to_another_date(engine, example_plan):
    i8 = _indicator(engine, example_plan.id, "I8")
    m = _by_date(engine, i8.id)[date(2025, 12, 31)]
    last = _last_audit_id(engine)
    assert _save(engine, i8.id, [_edit_of(m, date=date(2025, 12, 30))]) == 1
    assert _by_date(engine, i8.id)[date(2025, 12, 30)].id == m.id
    assert date(2025, 12, 31) not in _by_date(engine, i8.id)
    [entry] = _audit_since(engine, last)
    assert (entry.field, entry.old_value, entry.new_value) == ("date", "2025-12-31", "2025-12-30")


def test_deleting_a_measurement_is_audited(engine, example_plan):
    i7 = _indicator(engine, example_plan.id, "I7")
    m = _by_date(engine, i7.id)[date(2018, 12, 31)]
    rows, revision, last = count_rows(engine), _revision(engine), _last_audit_id(engine)
    assert _save(engine, i7.id, [], deleted_ids=[m.id]) == 1
    assert date(2018, 12, 31) not in _by_date(engine, i7.id)
    assert count_rows(engine)["measurement"] == rows["measurement"] - 1
    [entry] = _audit_since(engine, last)
    assert (entry.entity, entry.entity_id, entry.operation, entry.indicator_id) == (
        "mesure",
        m.id,
        "suppression",
        i7.id,
    )
    assert entry.old_value == "2018-12-31 : 3"
    assert _revision(engine) == revision + 1
    assert _rows(engine, example_plan.id)["I7"].series[0] == 7.0


def test_deleting_and_re_adding_the_same_date_and_source_in_one_call(engine, example_plan):
    i7 = _indicator(engine, example_plan.id, "I7")
    m = _by_date(engine, i7.id)[date(2025, 12, 31)]
    edit = MeasurementEdit(date(2025, 12, 31), 35, source=I7_SOURCE)
    assert _save(engine, i7.id, [edit], deleted_ids=[m.id]) == 2
    replaced = _by_date(engine, i7.id)[date(2025, 12, 31)]
    assert replaced.value == 35.0 and replaced.id != m.id


def test_adding_deleting_and_editing_together(engine, example_plan):
    i6 = _indicator(engine, example_plan.id, "I6")
    by_date = _by_date(engine, i6.id)
    revision, last = _revision(engine), _last_audit_id(engine)
    changed = _save(
        engine,
        i6.id,
        [
            MeasurementEdit(date(2026, 6, 30), 2290, source=I6_SOURCE),
            _edit_of(by_date[date(2024, 12, 31)], value=2160),
        ],
        deleted_ids=[by_date[date(2018, 12, 31)].id],
    )
    assert changed == 3
    after = {d: m.value for d, m in _by_date(engine, i6.id).items()}
    assert date(2018, 12, 31) not in after
    assert (after[date(2024, 12, 31)], after[date(2026, 6, 30)]) == (2160.0, 2290.0)
    entries = _audit_since(engine, last)
    assert sorted(e.operation for e in entries) == ["création", "modification", "suppression"]
    assert {e.indicator_id for e in entries} == {i6.id}
    assert _revision(engine) == revision + 1


def test_a_table_opened_before_someone_corrected_a_measurement_cannot_overwrite_it(
    engine, example_plan
):
    """A opens the table; B corrects the 2025 value; A saves a change to that row (or
    deletes it): refused in French, nothing written. A change to a row B left alone
    goes through."""
    i8 = _indicator(engine, example_plan.id, "I8")
    shown = {m.id: _edit_of(m) for m in _measurements(engine, i8.id)}  # A's table
    m = _by_date(engine, i8.id)[date(2025, 12, 31)]
    assert _save(engine, i8.id, [_edit_of(m, value=690_000)]) == 1  # B's correction
    before = _state_of_database(engine)
    for edits, deleted in (([_edit_of(m, comment="Chiffre provisoire")], None), ([], [m.id])):
        with pytest.raises(ConflictError) as refused:
            _save(engine, i8.id, edits, deleted_ids=deleted, expected=shown)
        assert "modifiées par quelqu'un d'autre" in str(refused.value)
        assert refused.value.details == ["Mesure du 31/12/2025 : modifiée entre-temps."]
        assert _state_of_database(engine) == before
    other = _by_date(engine, i8.id)[date(2024, 12, 31)]
    assert _save(engine, i8.id, [_edit_of(other, comment="Vérifié")], expected=shown) == 1
    assert _by_date(engine, i8.id)[date(2025, 12, 31)].value == 690_000.0  # B's value kept


def test_a_measurement_deleted_meanwhile_is_named_when_a_stale_table_is_saved(engine, example_plan):
    i7 = _indicator(engine, example_plan.id, "I7")
    shown = {m.id: _edit_of(m) for m in _measurements(engine, i7.id)}
    m = _by_date(engine, i7.id)[date(2018, 12, 31)]
    assert _save(engine, i7.id, [], deleted_ids=[m.id]) == 1  # B deletes it
    with pytest.raises(ConflictError) as refused:
        _save(engine, i7.id, [_edit_of(m, value=4)], expected=shown)
    assert refused.value.details == ["Mesure du 31/12/2018 : supprimée entre-temps."]


def test_saving_unchanged_measurements_writes_nothing(engine, example_plan):
    i8 = _indicator(engine, example_plan.id, "I8")
    before = _state_of_database(engine)
    edits = [_edit_of(m) for m in _measurements(engine, i8.id)]
    assert _save(engine, i8.id, edits) == 0
    assert _state_of_database(engine) == before


def test_the_comment_of_a_survey_wave_measurement_can_be_changed(engine, example_plan):
    i1 = _indicator(engine, example_plan.id, "I1")
    m = _by_date(engine, i1.id)[WAVE_2024]
    assert m.wave_id is not None
    revision, last = _revision(engine), _last_audit_id(engine)
    assert _save(engine, i1.id, [_edit_of(m, comment="Redressement par âge et sexe")]) == 1
    edited = _by_date(engine, i1.id)[WAVE_2024]
    assert edited.comment == "Redressement par âge et sexe"
    assert (edited.value, edited.wave_id, edited.ci_low, edited.effective_size) == (
        m.value,
        m.wave_id,
        m.ci_low,
        m.effective_size,
    )
    [entry] = _audit_since(engine, last)
    assert (entry.field, entry.indicator_id) == ("comment", i1.id)
    assert _revision(engine) == revision + 1


NEW = {"date": date(2026, 6, 30), "value": 50.0, "source": "Saisie de test"}


@pytest.mark.parametrize(
    ("code", "changes", "today", "message"),
    [
        ("I1", {"value": 120.0}, AT, "la valeur 120 doit être entre 0 et 100 (unité « % »)"),
        ("I1", {"value": -1.0}, AT, "la valeur -1 doit être entre 0 et 100"),
        ("I1", {"value": 100.5}, AT, "doit être entre 0 et 100"),
        ("I6", {"value": -5.0}, AT, "la valeur -5 doit être au moins 0 (unité « nombre »)"),
        # I6's baseline is 31/12/2017, before the plan's first year: the earliest date.
        ("I6", {"date": date(2017, 12, 30)}, AT, "hors de la période admise (31/12/2017 – 28/11"),
        # I1's baseline is 30/06/2012.
        ("I1", {"date": date(2012, 6, 29)}, AT, "hors de la période admise (30/06/2012"),
        # After the plan's last year (2026), even when today is later.
        ("I6", {"date": date(2027, 1, 1)}, date(2027, 6, 1), "31/12/2026)"),
        # In the future.
        ("I6", {"date": date(2026, 11, 29)}, AT, "la date 29/11/2026 est hors de la période"),
        ("I6", {"date": None}, AT, "la date est obligatoire"),
        ("I6", {"value": None}, AT, "la valeur est obligatoire"),
        ("I6", {"value": math.nan}, AT, "la valeur est obligatoire"),
        ("I1", {"ci_low": 60.0, "ci_high": 40.0}, AT, "la borne basse dépasse la borne haute"),
        ("I1", {"ci_low": -1.0, "ci_high": 60.0}, AT, "une borne de l'intervalle sort"),
        ("I1", {"ci_low": 40.0, "ci_high": 101.0}, AT, "une borne de l'intervalle sort"),
        ("I6", {"sample_size": -1}, AT, "l'effectif ne peut pas être négatif"),
        ("I6", {"source": "x" * 301}, AT, "la source dépasse 300 caractères"),
        # The same date and source as an existing measurement (source compared trimmed).
        (
            "I6",
            {"date": date(2025, 12, 31), "source": f" {I6_SOURCE} "},
            AT,
            "deux mesures le 31/12/2025 pour la même source",
        ),
    ],
)
def test_an_invalid_measurement_is_refused_with_nothing_written(
    engine, example_plan, code, changes, today, message
):
    indicator = _indicator(engine, example_plan.id, code)
    edit = MeasurementEdit(**(NEW | changes))
    error = _refused(engine, lambda: _save(engine, indicator.id, [edit], today=today))
    assert error.message == "Les mesures ne sont pas enregistrées : corrigez les points suivants."
    assert any(message in d and d.startswith("Mesure :") for d in error.details), error.details


def test_the_last_day_of_the_period_and_today_are_accepted(engine, example_plan):
    i6 = _indicator(engine, example_plan.id, "I6")
    assert _save(engine, i6.id, [MeasurementEdit(AT, 2300, source=I6_SOURCE)]) == 1
    edit = MeasurementEdit(date(2017, 12, 31), 850, source="Référence")
    assert _save(engine, i6.id, [edit]) == 1
    edit = MeasurementEdit(date(2026, 12, 31), 2400, source=I6_SOURCE)
    assert _save(engine, i6.id, [edit], today=date(2027, 3, 1)) == 1


def test_a_duplicate_inside_one_call_is_refused_and_the_valid_rows_are_not_written(
    engine, example_plan
):
    i7 = _indicator(engine, example_plan.id, "I7")
    edits = [
        MeasurementEdit(date(2026, 6, 30), 36, source=I7_SOURCE),
        MeasurementEdit(date(2026, 3, 31), 35, source=I7_SOURCE),  # valid on its own
        MeasurementEdit(date(2026, 6, 30), 37, source=I7_SOURCE),
    ]
    error = _refused(engine, lambda: _save(engine, i7.id, edits))
    assert error.details == [
        "Ligne 3 : deux mesures le 30/06/2026 pour la même source (« Portail open data ») ; "
        "voir la ligne 1."
    ]


def test_every_problem_of_every_row_is_listed(engine, example_plan):
    i1 = _indicator(engine, example_plan.id, "I1")
    edits = [
        MeasurementEdit(date(2026, 6, 30), 120.0),
        MeasurementEdit(None, 50.0),
        MeasurementEdit(date(2026, 7, 1), 50.0),  # valid
    ]
    error = _refused(engine, lambda: _save(engine, i1.id, edits))
    assert len(error.details) == 2
    assert error.details[0].startswith("Ligne 1 : la valeur 120")
    assert error.details[1] == "Ligne 2 : la date est obligatoire."


def test_moving_a_measurement_onto_another_ones_date_and_source_is_refused(engine, example_plan):
    i7 = _indicator(engine, example_plan.id, "I7")
    m = _by_date(engine, i7.id)[date(2024, 12, 31)]
    error = _refused(engine, lambda: _save(engine, i7.id, [_edit_of(m, date=date(2025, 12, 31))]))
    assert "deux mesures le 31/12/2025" in _problems(error)


@pytest.mark.parametrize(
    "changes",
    [
        {"value": 50.0},
        {"date": date(2024, 6, 27)},
        {"source": "Autre source"},
        {"sample_size": 600},
        {"ci_low": 80.0},
    ],
)
def test_a_survey_wave_measurement_cannot_be_edited(engine, example_plan, changes):
    i1 = _indicator(engine, example_plan.id, "I1")
    m = _by_date(engine, i1.id)[WAVE_2024]
    error = _refused(engine, lambda: _save(engine, i1.id, [_edit_of(m, **changes)]))
    assert "mesure calculée depuis une vague d'enquête" in _problems(error)


def test_a_survey_wave_measurement_cannot_be_deleted(engine, example_plan):
    i1 = _indicator(engine, example_plan.id, "I1")
    m = _by_date(engine, i1.id)[WAVE_2012]
    error = _refused(engine, lambda: _save(engine, i1.id, [], deleted_ids=[m.id]))
    assert error.details == [
        "Mesure du 30/06/2012 : calculée depuis une vague d'enquête, elle disparaît avec la "
        "vague ou se recalcule avec elle."
    ]


def test_a_measurement_of_another_indicator_cannot_be_edited_or_deleted(engine, example_plan):
    i6 = _indicator(engine, example_plan.id, "I6")
    i7 = _indicator(engine, example_plan.id, "I7")
    other = _by_date(engine, i7.id)[date(2025, 12, 31)]
    error = _refused(engine, lambda: _save(engine, i6.id, [_edit_of(other, value=1.0)]))
    assert "mesure introuvable" in _problems(error)
    error = _refused(engine, lambda: _save(engine, i6.id, [], deleted_ids=[other.id]))
    assert f"Mesure n°{other.id} : introuvable" in _problems(error)


@pytest.mark.parametrize("role", ["viewer", "pilot"])
def test_viewers_and_pilots_cannot_save_measurements(engine, example_plan, role):
    i7 = _indicator(engine, example_plan.id, "I7")
    user = add_user(engine, role)
    # Even the pilot of the action the indicator measures (2.4).
    with db.session_scope(engine, write=True) as session:
        action = session.get(Action, _action_ids(engine, example_plan.id, "2.4")[0])
        action.pilot_user_id = user.id
        session.add(action)
    m = _by_date(engine, i7.id)[date(2025, 12, 31)]
    attempts = [
        lambda: _save(engine, i7.id, [MeasurementEdit(**NEW)], actor=user),
        lambda: _save(engine, i7.id, [_edit_of(m, value=40.0)], actor=user),
        lambda: _save(engine, i7.id, [], deleted_ids=[m.id], actor=user),
    ]
    for attempt in attempts:
        error = _refused(engine, attempt, PermissionDenied)
        assert "Seuls la mission numérique (éditeurs) et les administrateurs" in str(error)


def test_nobody_logged_in_cannot_save_measurements(engine, example_plan):
    i7 = _indicator(engine, example_plan.id, "I7")
    edit = MeasurementEdit(**NEW)
    _refused(engine, lambda: _save(engine, i7.id, [edit], actor=None), PermissionDenied)


def test_an_editor_can_save_measurements_under_their_login(engine, example_plan):
    i7 = _indicator(engine, example_plan.id, "I7")
    editor = add_user(engine, "editor", login="mission.numerique")
    last = _last_audit_id(engine)
    assert _save(engine, i7.id, [MeasurementEdit(**NEW)], actor=editor) == 1
    [entry] = _audit_since(engine, last)
    assert (entry.user_id, entry.user_login) == (editor.id, "mission.numerique")


def test_saving_measurements_of_a_missing_indicator_is_a_not_found_error(engine, example_plan):
    _refused(engine, lambda: _save(engine, 999_999, [MeasurementEdit(**NEW)]), NotFoundError)


def test_swapping_the_dates_of_two_measurements_is_saved(engine, example_plan):
    i7 = _indicator(engine, example_plan.id, "I7")
    by_date = _by_date(engine, i7.id)
    a, b = by_date[date(2024, 12, 31)], by_date[date(2025, 12, 31)]
    edits = [_edit_of(a, date=b.date), _edit_of(b, date=a.date)]
    assert _save(engine, i7.id, edits) == 2
    after = _by_date(engine, i7.id)
    assert (after[date(2024, 12, 31)].value, after[date(2025, 12, 31)].value) == (34.0, 31.0)


def test_a_new_row_may_take_the_date_an_edited_row_moves_away_from(engine, example_plan):
    i7 = _indicator(engine, example_plan.id, "I7")
    m = _by_date(engine, i7.id)[date(2024, 12, 31)]
    edits = [
        MeasurementEdit(date(2024, 12, 31), 32, source=I7_SOURCE),
        _edit_of(m, date=date(2024, 12, 30)),
    ]
    assert _save(engine, i7.id, edits) == 2
    after = _by_date(engine, i7.id)
    assert (after[date(2024, 12, 30)].value, after[date(2024, 12, 31)].value) == (31.0, 32.0)


def test_an_infinite_count_is_refused(engine, example_plan):
    i6 = _indicator(engine, example_plan.id, "I6")
    edit = MeasurementEdit(date(2026, 6, 30), math.inf, source=I6_SOURCE)
    _refused(engine, lambda: _save(engine, i6.id, [edit]))


# --------------------------------------------------------------------------
# Editing an indicator's definition
# --------------------------------------------------------------------------


def test_changing_targets_and_name_is_audited_versioned_and_changes_the_status(
    engine, example_plan
):
    i3 = _indicator(engine, example_plan.id, "I3")
    assert i3.version == 1
    assert _rows(engine, example_plan.id)["I3"].state.status == S.LATE
    revision, last = _revision(engine), _last_audit_id(engine)
    updated = _update(
        engine,
        i3.id,
        {"name": "  Démarches en ligne des internautes ", "intermediate_target": 55.0},
        version=1,
    )
    assert updated.version == 2
    stored = _indicator(engine, example_plan.id, "I3")
    assert (stored.name, stored.intermediate_target, stored.version) == (
        "Démarches en ligne des internautes",
        55.0,
        2,
    )
    entries = _audit_since(engine, last)
    assert [(e.field, e.old_value, e.new_value) for e in entries] == [
        (
            "name",
            "Part des internautes ayant effectué une démarche administrative en ligne",
            "Démarches en ligne des internautes",
        ),
        ("intermediate_target", "65.0", "55.0"),
    ]
    assert {
        (e.entity, e.entity_id, e.indicator_id, e.entity_version, e.operation) for e in entries
    } == {("indicateur", i3.id, i3.id, 2, "modification")}
    assert _revision(engine) == revision + 1
    # Expected on 28/06/2024 now 55 + 25 * 1275 / 2191 = 69.55; 69.96 >= it: on track.
    row = _rows(engine, example_plan.id)["I3"]
    assert row.state.expected == pytest.approx(55 + 25 * 1275 / 2191)
    assert row.state.status == S.ON_TRACK
    assert row.name == "Démarches en ligne des internautes"

    # Then the final target and its date, from version 2.
    last = _last_audit_id(engine)
    changes = {"target_value": 90.0, "target_date": date(2027, 12, 31)}
    assert _update(engine, i3.id, changes, version=2).version == 3
    entries = _audit_since(engine, last)
    assert [(e.field, e.old_value, e.new_value, e.entity_version) for e in entries] == [
        ("target_value", "80.0", "90.0", 3),
        ("target_date", "2026-12-31", "2027-12-31", 3),
    ]
    # The detail page shows these entries first.
    with db.session_scope(engine) as session:
        history = indicator_detail(session, i3.id, AT).history
    assert [h.field for h in history[:2]] in (
        ["target_date", "target_value"],
        ["target_value", "target_date"],
    )
    assert {h.field for h in history} >= {"name", "intermediate_target"}


def test_a_survey_indicator_definition_change_does_not_touch_typed_values(engine, example_plan):
    # Changing only the name of a survey indicator does not recompute anything.
    i2 = _indicator(engine, example_plan.id, "I2")
    before = _all_measurements(engine)
    _update(engine, i2.id, {"name": "Internautes quotidiens"})
    assert _all_measurements(engine) == before


def test_unchanged_values_write_nothing_and_keep_the_version(engine, example_plan):
    i4 = _indicator(engine, example_plan.id, "I4")
    before = _state_of_database(engine)
    changes = {
        "name": i4.name,
        "target_value": 40,  # 40.0 stored
        "direction": "baisse",
        "survey_values": ["Oui, souvent", " Oui, parfois ", "Oui, souvent"],
    }
    assert _update(engine, i4.id, changes).version == 1
    assert _state_of_database(engine) == before


def test_a_stale_version_is_a_conflict_and_writes_nothing(engine, example_plan):
    i5 = _indicator(engine, example_plan.id, "I5")
    _update(engine, i5.id, {"target_value": 36.0}, version=1)
    error = _refused(
        engine,
        lambda: _update(engine, i5.id, {"target_value": 40.0}, version=1),
        ConflictError,
    )
    assert "I5 a été modifié par quelqu'un d'autre" in str(error)
    assert _indicator(engine, example_plan.id, "I5").target_value == 36.0
    _refused(
        engine,
        lambda: _update(engine, i5.id, {"name": "Autre"}, version=1, action_ids=[]),
        ConflictError,
    )


@pytest.mark.parametrize(
    ("code", "changes", "message"),
    [
        ("I6", {"target_value": None}, "La cible et sa date vont ensemble"),
        ("I6", {"baseline_date": None}, "La valeur de référence et sa date vont ensemble"),
        ("I6", {"intermediate_target_date": None}, "La cible intermédiaire et sa date"),
        ("I6", {"baseline_date": date(2021, 1, 1)}, "Les dates doivent se suivre"),
        ("I6", {"target_date": date(2020, 6, 30)}, "Les dates doivent se suivre"),
        ("I4", {"target_value": 70.0}, "Le sens ne correspond pas à la cible"),
        ("I1", {"direction": "baisse"}, "Le sens ne correspond pas à la cible"),
        ("I6", {"baseline_value": 2600.0}, "Le sens ne correspond pas à la cible"),
        ("I1", {"target_value": 120.0}, "La valeur 120 sort des valeurs admises"),
        ("I6", {"baseline_value": -1.0}, "La valeur -1 sort des valeurs admises"),
        ("I1", {"name": "   "}, "Le nom est obligatoire."),
        ("I1", {"unit": ""}, "L'unité est obligatoire"),
        ("I6", {"update_period_days": 0}, "La périodicité doit être un nombre de jours positif"),
        ("I1", {"survey_values": []}, "Indiquez les réponses comptées pour la question"),
        ("I1", {"survey_values": ["  "]}, "Indiquez les réponses comptées pour la question"),
        ("I1", {"survey_question": ""}, "Des réponses comptées sont indiquées sans question"),
        (
            "I6",
            {"survey_question": "Smartphone", "survey_values": ["Oui"]},
            "Une question d'enquête n'a de sens que pour un indicateur de source Enquête",
        ),
        ("I1", {"source_type": "administratif"}, "de source Enquête"),
        ("I1", {"unit": "nombre"}, "s'exprime en % (unité « % »)"),
        ("I3", {"survey_filter_values": []}, "Indiquez les réponses retenues pour le filtre"),
        ("I1", {"objective_id": 999_999}, "Objectif inconnu."),
        ("I1", {"couleur": "rouge"}, "Champs inconnus : couleur."),
    ],
)
def test_an_indicator_breaking_a_rule_is_refused_with_nothing_written(
    engine, example_plan, code, changes, message
):
    indicator = _indicator(engine, example_plan.id, code)
    error = _refused(engine, lambda: _update(engine, indicator.id, changes))
    assert message in _problems(error)


def test_several_broken_rules_are_listed_together(engine, example_plan):
    i6 = _indicator(engine, example_plan.id, "I6")
    changes = {"name": "", "target_value": None, "update_period_days": -3}
    error = _refused(engine, lambda: _update(engine, i6.id, changes))
    assert error.message == "L'indicateur I6 n'est pas enregistré : corrigez les points suivants."
    assert len(error.details) == 3


def test_changing_the_counted_answers_recomputes_the_waves_in_the_same_transaction(
    engine, example_plan
):
    i1 = _indicator(engine, example_plan.id, "I1")
    before = _by_date(engine, i1.id)
    rows, revision, last = count_rows(engine), _revision(engine), _last_audit_id(engine)
    _update(engine, i1.id, {"survey_values": ["Non"]})
    after = _by_date(engine, i1.id)
    # Nobody left "Smartphone" blank: the share answering "Non" is 100 - share of "Oui",
    # and the (symmetric) Wilson interval is mirrored.
    for wave in (WAVE_2012, WAVE_2024):
        old, new = before[wave], after[wave]
        assert new.id == old.id and new.wave_id == old.wave_id
        assert new.value == pytest.approx(100 - old.value, abs=2e-4)
        assert new.ci_low == pytest.approx(100 - old.ci_high, abs=2e-4)
        assert new.ci_high == pytest.approx(100 - old.ci_low, abs=2e-4)
        assert (new.sample_size, new.effective_size) == (old.sample_size, old.effective_size)
    assert after[WAVE_2012].value == pytest.approx(78.0, abs=0.01)
    assert after[WAVE_2024].value == pytest.approx(14.04, abs=0.01)
    # The typed 2018 result is not a wave's: untouched.
    assert after[SURVEY_2018].model_dump() == before[SURVEY_2018].model_dump()
    assert count_rows(engine)["measurement"] == rows["measurement"]
    entries = _audit_since(engine, last)
    assert [(e.entity, e.field, e.indicator_id) for e in entries] == [
        ("indicateur", "survey_values", i1.id),
        ("mesure", "value", i1.id),
        ("mesure", "value", i1.id),
    ]
    assert entries[0].old_value == "['Oui']" and entries[0].new_value == "['Non']"
    assert {e.entity_id for e in entries[1:]} == {before[WAVE_2012].id, before[WAVE_2024].id}
    assert _revision(engine) == revision + 1
    assert _rows(engine, example_plan.id)["I1"].state.latest == Point(
        WAVE_2024, after[WAVE_2024].value
    )


def test_narrowing_the_filter_recomputes_on_the_sub_population(engine, example_plan):
    i3 = _indicator(engine, example_plan.id, "I3")
    before = _by_date(engine, i3.id)
    # Internet users (every frequency but "Jamais"): 217 + 73 + 57 = 347 respondents in
    # 2012, 488 + 62 + 55 = 605 in 2024 (counts in enquete_*.csv).
    assert (before[WAVE_2012].sample_size, before[WAVE_2024].sample_size) == (347, 605)
    _update(engine, i3.id, {"survey_filter_values": ["tous les jours ou presque"]})
    after = _by_date(engine, i3.id)
    # Daily users only: 217 in 2012, 488 in 2024.
    assert (after[WAVE_2012].sample_size, after[WAVE_2024].sample_size) == (217, 488)
    assert after[WAVE_2024].value != before[WAVE_2024].value
    assert 0 <= after[WAVE_2024].ci_low < after[WAVE_2024].value < after[WAVE_2024].ci_high
    assert _indicator(engine, example_plan.id, "I3").survey_filter_values == [
        "tous les jours ou presque"
    ]


def test_an_empty_sub_population_is_refused_with_nothing_written(engine, example_plan):
    i3 = _indicator(engine, example_plan.id, "I3")
    error = _refused(
        engine, lambda: _update(engine, i3.id, {"survey_filter_values": ["Chaque heure"]})
    )
    assert "L'indicateur I3 n'est pas enregistré" in error.message
    assert "la sous-population est vide" in _problems(error)
    assert "« Étude usages 2012 (exemple illustratif) »" in _problems(error)
    assert _indicator(engine, example_plan.id, "I3").version == 1


def test_a_filter_question_nobody_was_asked_is_refused(engine, example_plan):
    i1 = _indicator(engine, example_plan.id, "I1")
    changes = {"survey_filter_question": "Revenu", "survey_filter_values": ["Élevé"]}
    error = _refused(engine, lambda: _update(engine, i1.id, changes))
    assert "la colonne de filtre « Revenu » est absente" in _problems(error)


def test_a_question_in_no_imported_wave_is_refused_and_keeps_the_wave_measurements(
    engine, example_plan
):
    i1 = _indicator(engine, example_plan.id, "I1")
    error = _refused(engine, lambda: _update(engine, i1.id, {"survey_question": "Tablette"}))
    assert "La question « Tablette » ne figure dans aucune vague importée" in _problems(error)
    assert {WAVE_2012, WAVE_2024} <= set(_by_date(engine, i1.id))


def test_turning_a_survey_indicator_into_a_typed_one_removes_its_wave_measurements(
    engine, example_plan
):
    i5 = _indicator(engine, example_plan.id, "I5")
    waves = {d: m.id for d, m in _by_date(engine, i5.id).items() if m.wave_id is not None}
    assert set(waves) == {WAVE_2012, WAVE_2024}
    last = _last_audit_id(engine)
    changes = {
        "source_type": "administratif",
        "survey_question": None,
        "survey_values": None,
    }
    _update(engine, i5.id, changes)
    assert [m.date for m in _measurements(engine, i5.id)] == [SURVEY_2018]
    removed = [e for e in _audit_since(engine, last) if e.entity == "mesure"]
    assert {(e.entity_id, e.operation, e.indicator_id) for e in removed} == {
        (mid, "suppression", i5.id) for mid in waves.values()
    }
    assert _rows(engine, example_plan.id)["I5"].is_survey is False


def test_the_measured_actions_can_be_changed_and_are_audited(engine, example_plan):
    i7 = _indicator(engine, example_plan.id, "I7")
    a24, a25, a13 = _action_ids(engine, example_plan.id, "2.4", "2.5", "1.3")
    revision, last = _revision(engine), _last_audit_id(engine)
    updated = _update(engine, i7.id, {}, action_ids=[a25, a24, a25])
    assert updated.version == 2
    assert _rows(engine, example_plan.id)["I7"].action_codes == ("2.4", "2.5")
    [entry] = _audit_since(engine, last)
    assert (entry.entity, entry.field, entry.indicator_id, entry.entity_version) == (
        "indicateur",
        "actions",
        i7.id,
        2,
    )
    assert (entry.old_value, entry.new_value) == ("2.4", "2.4, 2.5")
    assert _revision(engine) == revision + 1

    # The same set again: nothing written.
    before = _state_of_database(engine)
    assert _update(engine, i7.id, {}, action_ids=[a24, a25]).version == 2
    assert _state_of_database(engine) == before

    # Replaced by another action, then none.
    last = _last_audit_id(engine)
    _update(engine, i7.id, {}, action_ids=[a13])
    _update(engine, i7.id, {}, action_ids=[])
    entries = _audit_since(engine, last)
    assert [(e.old_value, e.new_value) for e in entries] == [("2.4, 2.5", "1.3"), ("1.3", "")]
    assert _rows(engine, example_plan.id)["I7"].action_codes == ()
    assert _indicator(engine, example_plan.id, "I7").version == 4


def test_an_unknown_measured_action_is_refused_with_nothing_written(engine, example_plan):
    i7 = _indicator(engine, example_plan.id, "I7")
    [a24] = _action_ids(engine, example_plan.id, "2.4")
    error = _refused(
        engine,
        lambda: _update(engine, i7.id, {"name": "Jeux ouverts"}, action_ids=[a24, 999_999]),
    )
    assert "Action inconnue dans la liste des actions mesurées." in error.details


def test_the_objective_can_be_changed_and_unset(engine, example_plan):
    i7 = _indicator(engine, example_plan.id, "I7")
    with db.session_scope(engine) as session:
        objective_3 = session.exec(
            select(Objective).where(Objective.plan_id == example_plan.id, Objective.code == "3")
        ).one()
    last = _last_audit_id(engine)
    _update(engine, i7.id, {"objective_id": objective_3.id})
    assert _rows(engine, example_plan.id)["I7"].objective_code == "3"
    [entry] = _audit_since(engine, last)
    assert (entry.field, entry.new_value) == ("objective_id", str(objective_3.id))
    _update(engine, i7.id, {"objective_id": None})
    row = _rows(engine, example_plan.id)["I7"]
    assert (row.objective_code, row.objective_name) == (None, None)


@pytest.mark.parametrize("role", ["viewer", "pilot"])
def test_viewers_and_pilots_cannot_change_an_indicator(engine, example_plan, role):
    i1 = _indicator(engine, example_plan.id, "I1")
    user = add_user(engine, role)
    for attempt in (
        lambda: _update(engine, i1.id, {"target_value": 90.0}, actor=user),
        lambda: _update(engine, i1.id, {"survey_values": ["Non"]}, actor=user),
        lambda: _update(engine, i1.id, {}, action_ids=[], actor=user),
    ):
        _refused(engine, attempt, PermissionDenied)


def test_changing_a_missing_indicator_is_a_not_found_error(engine, example_plan):
    _refused(engine, lambda: _update(engine, 999_999, {"name": "x"}, version=1), NotFoundError)
