"""The one computation of an action's progress, expected progress and health.

Pages, exports and reports all call :func:`action_state`; nothing else
derives these figures.

Rules (documented in the README, « Avancement et santé des actions »):
- progress: the entered value, or, in milestone mode, the weight of the
  milestones done by the date over their total weight (each milestone counts
  1 when all weights are 0; no milestone: 0);
- expected progress: linear from the start date (0 %) to the planned end date
  (100 %), None without both dates;
- gap: expected minus actual progress, in points;
- health: "terminée" when réalisé, "arrêtée" when abandonné; otherwise
  "à risque" when blocked, under a storm (météo orage), late, or more than
  AT_RISK_GAP points behind; "en retard sur le calendrier" when more than
  BEHIND_GAP points behind; else "dans les temps";
- late ("en retard"): planned end passed and neither réalisé nor abandonné;
- update due ("mise à jour attendue"): not updated within its periodicity,
  unless réalisé or abandonné.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tracker.models import ActionStatus, Health, ProgressMode, Weather

BEHIND_GAP = 10.0
AT_RISK_GAP = 25.0

CLOSED_STATUSES = frozenset({ActionStatus.REALISE, ActionStatus.ABANDONNE})


@dataclass(frozen=True)
class MilestoneTotals:
    """An action's milestones summed at a date (computed in SQL by the callers)."""

    count: int = 0
    done_count: int = 0
    total_weight: int = 0
    done_weight: int = 0


@dataclass(frozen=True)
class ActionState:
    progress: int
    expected: float | None
    gap: float | None
    health: Health
    late: bool
    update_due: bool


def derived_progress(totals: MilestoneTotals) -> int:
    """Progress from weighted milestones: done weight / total weight, in %."""
    if totals.total_weight > 0:
        return round(100 * totals.done_weight / totals.total_weight)
    if totals.count > 0:
        return round(100 * totals.done_count / totals.count)
    return 0


def expected_progress(start: date | None, planned_end: date | None, at: date) -> float | None:
    """Progress expected at ``at`` if work ran linearly from start to planned end."""
    if start is None or planned_end is None:
        return None
    if at <= start:
        return 0.0
    if at >= planned_end:
        return 100.0
    return 100.0 * (at - start).days / (planned_end - start).days


def action_state(
    *,
    status: ActionStatus,
    weather: Weather,
    progress: int,
    progress_mode: ProgressMode,
    start_date: date | None,
    planned_end_date: date | None,
    updated_at: datetime | None,
    update_period_days: int,
    at: date,
    milestones: MilestoneTotals | None = None,
) -> ActionState:
    """Progress, expected progress, health and flags of one action at a date."""
    status = ActionStatus(status)
    if ProgressMode(progress_mode) is ProgressMode.MILESTONES:
        actual = derived_progress(milestones or MilestoneTotals())
    else:
        actual = int(progress)
    expected = expected_progress(start_date, planned_end_date, at)
    gap = None if expected is None else expected - actual
    closed = status in CLOSED_STATUSES
    late = not closed and planned_end_date is not None and planned_end_date < at
    update_due = (
        not closed and updated_at is not None and (at - updated_at.date()).days > update_period_days
    )
    if status is ActionStatus.REALISE:
        health = Health.DONE
    elif status is ActionStatus.ABANDONNE:
        health = Health.STOPPED
    elif (
        status is ActionStatus.BLOQUE
        or Weather(weather) is Weather.ORAGE
        or late
        or (gap is not None and gap > AT_RISK_GAP)
    ):
        health = Health.AT_RISK
    elif gap is not None and gap > BEHIND_GAP:
        health = Health.BEHIND
    else:
        health = Health.ON_TRACK
    return ActionState(
        progress=actual, expected=expected, gap=gap, health=health, late=late, update_due=update_due
    )
