"""The one computation of progress, expected progress, health and flags."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tracker.models import ActionStatus, Health, ProgressMode, Weather
from tracker.services.progress import (
    MilestoneTotals,
    action_state,
    derived_progress,
    expected_progress,
)

TODAY = date(2026, 11, 28)


def state(**overrides):
    fields = dict(
        status=ActionStatus.EN_COURS,
        weather=Weather.SOLEIL,
        progress=50,
        progress_mode=ProgressMode.ENTERED,
        start_date=date(2026, 1, 1),
        planned_end_date=date(2026, 12, 31),
        updated_at=datetime(2026, 11, 1, tzinfo=UTC),
        update_period_days=90,
        at=TODAY,
    )
    fields.update(overrides)
    return action_state(**fields)


def test_expected_progress_is_linear_between_start_and_planned_end():
    # 2026-01-01 -> 2027-01-01 is 365 days; 2026-07-02 is day 182.
    assert expected_progress(date(2026, 1, 1), date(2027, 1, 1), date(2026, 7, 2)) == (
        pytest.approx(100 * 182 / 365)
    )


def test_expected_progress_without_dates_is_unknown():
    assert expected_progress(None, date(2027, 1, 1), TODAY) is None
    assert expected_progress(date(2020, 1, 1), None, TODAY) is None


def test_expected_progress_is_zero_before_start_and_full_after_end():
    assert expected_progress(date(2027, 1, 1), date(2028, 1, 1), TODAY) == 0
    assert expected_progress(date(2020, 1, 1), date(2021, 1, 1), TODAY) == 100


def test_start_in_the_future_is_on_track_with_no_progress():
    s = state(
        status=ActionStatus.A_VENIR,
        progress=0,
        start_date=date(2027, 3, 1),
        planned_end_date=date(2027, 12, 31),
    )
    assert s.expected == 0
    assert s.health is Health.ON_TRACK
    assert not s.late


def test_milestone_progress_is_done_weight_over_total_weight():
    assert (
        derived_progress(MilestoneTotals(count=3, done_count=1, total_weight=4, done_weight=3))
        == 75
    )


def test_zero_total_weight_falls_back_to_counting_milestones():
    assert (
        derived_progress(MilestoneTotals(count=4, done_count=1, total_weight=0, done_weight=0))
        == 25
    )


def test_no_milestone_means_no_derived_progress():
    assert derived_progress(MilestoneTotals()) == 0


def test_all_milestones_done_gives_full_progress():
    s = state(
        progress_mode=ProgressMode.MILESTONES,
        progress=10,
        milestones=MilestoneTotals(count=2, done_count=2, total_weight=5, done_weight=5),
    )
    assert s.progress == 100


def test_entered_progress_ignores_milestones():
    s = state(
        progress=40,
        milestones=MilestoneTotals(count=2, done_count=2, total_weight=2, done_weight=2),
    )
    assert s.progress == 40


@pytest.mark.parametrize(
    ("progress", "health"),
    [
        (90, Health.ON_TRACK),
        (81, Health.ON_TRACK),
        (80, Health.BEHIND),
        (66, Health.BEHIND),
        (65, Health.AT_RISK),
    ],
)
def test_health_follows_the_gap_to_expected_progress(progress, health):
    # Expected on 2026-11-28 from 2026-01-01 to 2026-12-31: 100 * 331 / 364 = 90.93 %.
    # Behind beyond 10 points (progress < 80.93), at risk beyond 25 (progress < 65.93).
    s = state(progress=progress)
    assert s.gap == pytest.approx(100 * 331 / 364 - progress)
    assert s.health is health


def test_blocked_or_stormy_action_is_at_risk_even_on_schedule():
    assert state(progress=95, status=ActionStatus.BLOQUE).health is Health.AT_RISK
    assert state(progress=95, weather=Weather.ORAGE).health is Health.AT_RISK


def test_planned_end_passed_and_not_done_is_late_and_at_risk():
    s = state(progress=99, planned_end_date=date(2026, 6, 30))
    assert s.late
    assert s.health is Health.AT_RISK


def test_done_or_abandoned_action_is_never_late_nor_due_for_update():
    for status in (ActionStatus.REALISE, ActionStatus.ABANDONNE):
        s = state(
            status=status,
            planned_end_date=date(2025, 1, 1),
            updated_at=datetime(2020, 1, 1, tzinfo=UTC),
        )
        assert not s.late
        assert not s.update_due
    assert state(status=ActionStatus.REALISE, progress=100).health is Health.DONE
    assert state(status=ActionStatus.ABANDONNE).health is Health.STOPPED


def test_update_is_due_after_its_periodicity():
    assert not state(updated_at=datetime(2026, 8, 30, tzinfo=UTC), update_period_days=90).update_due
    assert state(updated_at=datetime(2026, 8, 29, tzinfo=UTC), update_period_days=90).update_due


def test_no_dates_means_no_gap_and_on_track():
    s = state(start_date=None, planned_end_date=None, progress=0)
    assert s.expected is None and s.gap is None
    assert s.health is Health.ON_TRACK
