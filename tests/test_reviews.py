"""Steering-committee reviews: a closed review's snapshot never changes, the
comparison of two snapshots lists exactly what was edited in between, the rules
(each refusal writing nothing), overdue decisions, and the previous closed review."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from tests.conftest import add_user, count_rows
from tracker import db
from tracker.errors import ConflictError, PermissionDenied, TrackerError, ValidationError
from tracker.models import (
    Action,
    Decision,
    DecisionStatus,
    Indicator,
    Milestone,
    Objective,
    Review,
    ReviewStatus,
    User,
)
from tracker.services import users
from tracker.services.actions import MilestoneInput, save_milestones, update_action
from tracker.services.budgets import LineEdit, budget_by_year, save_lines, year_lines
from tracker.services.indicators import MeasurementEdit, indicator_rows, save_measurements
from tracker.services.overview import OverviewFilter, build_overview
from tracker.services.plans import (
    ActionData,
    ObjectiveData,
    PlanData,
    create_plan,
    pilot_label,
    plan_structure,
)
from tracker.services.reviews import (
    ActionChange,
    DecisionInput,
    ReviewInput,
    add_decision,
    close_review,
    compare,
    decisions,
    delete_review,
    follow_up_decision,
    open_review,
    previous_closed,
    take_snapshot,
    update_review,
)

ADMIN = users.system_actor("tests")
TODAY = date(2026, 11, 20)  # the day the edits are made (services refuse future dates)
A_DAY, B_DAY = date(2026, 10, 1), date(2026, 11, 15)  # two committees, before TODAY
MEASURED = date(2026, 11, 1)  # a new measurement between them
SIGNALEMENTS = "Statistiques de l'application de signalement"  # I6's source
VILLE, AGGLO = "Ville de Cahors", "Grand Cahors"
FAIT, A_FAIRE = DecisionStatus.FAIT, DecisionStatus.A_FAIRE


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _write(engine, operation: Callable[[Session], object]):  # noqa: ANN202
    with db.session_scope(engine, write=True) as session:
        return operation(session)


def _read(engine, operation: Callable[[Session], object]):  # noqa: ANN202
    with db.session_scope(engine) as session:
        return operation(session)


def _refused(engine, error: type[TrackerError], operation: Callable[[Session], object]):  # noqa: ANN202
    """The operation raises ``error`` and no table gains, loses or keeps a changed row count."""
    before = count_rows(engine)
    with pytest.raises(error) as caught:
        _write(engine, operation)
    assert count_rows(engine) == before
    return caught.value


def _action(session: Session, plan_id: int, code: str) -> Action:
    return session.exec(select(Action).where(Action.plan_id == plan_id, Action.code == code)).one()


def _titles(engine, plan_id: int) -> dict[str, str]:
    return _read(
        engine,
        lambda s: {
            code: title
            for code, title in s.exec(
                select(Action.code, Action.title).where(Action.plan_id == plan_id)
            )
        },
    )


def _open(engine, actor: User, plan_id: int, day: date, title: str, **fields) -> int:
    return _write(
        engine, lambda s: open_review(s, actor, plan_id, ReviewInput(day, title, **fields)).id
    )


def _close(engine, actor: User, review_id: int, at: date) -> dict:
    return _write(engine, lambda s: close_review(s, actor, review_id, at).snapshot)


def _review(engine, review_id: int) -> Review:
    return _read(engine, lambda s: s.get(Review, review_id))


def _decide(engine, actor: User, review_id: int, data: DecisionInput) -> int:
    return _write(engine, lambda s: add_decision(s, actor, review_id, data).id)


def _decision(engine, decision_id: int) -> Decision:
    return _read(engine, lambda s: s.get(Decision, decision_id))


def _edit_action(engine, actor: User, plan_id: int, code: str, **changes) -> None:
    def edit(session: Session) -> None:
        action = _action(session, plan_id, code)
        update_action(
            session,
            actor,
            action.id,
            expected_version=action.version,
            changes=changes,
            today=TODAY,
        )

    _write(engine, edit)


def _complete_milestone(engine, actor: User, plan_id: int, code: str, title: str, on: date) -> int:
    """Mark one milestone of an action done (the others kept as they are); its id."""

    def complete(session: Session) -> int:
        action = _action(session, plan_id, code)
        rows = session.exec(
            select(Milestone)
            .where(Milestone.action_id == action.id)
            .order_by(Milestone.position, Milestone.id)
        ).all()
        target = next(m for m in rows if m.title == title)
        assert target.done_date is None
        save_milestones(
            session,
            actor,
            action.id,
            expected_version=action.version,
            milestones=[
                MilestoneInput(
                    m.title, m.due_date, on if m is target else m.done_date, m.weight, m.id
                )
                for m in rows
            ],
            today=TODAY,
        )
        return target.id

    return _write(engine, complete)


def _arbitrated_total(engine, plan_id: int, year: int) -> int:
    return _read(
        engine,
        lambda s: sum(
            split.totals.arbitrated_cents
            for split in budget_by_year(s, plan_id)
            if split.year == year
        ),
    )


def _raise_arbitration(engine, actor: User, plan_id: int, year: int, code: str, cents: int):  # noqa: ANN202
    """Add ``cents`` to the arbitrated amount of the action's first line of the year."""

    def save(session: Session) -> None:
        line = next(v for v in year_lines(session, plan_id, year) if v.action_code == code)
        edit = LineEdit(
            line.action_id,
            line.collectivity,
            line.section,
            line.requested_cents,
            (line.arbitrated_cents or 0) + cents,
            line.spent_cents,
            line.decision_date,
            line.comment,
            line_id=line.id,
            expected_version=line.version,
        )
        assert save_lines(session, actor, plan_id, year, [edit]) == 1

    _write(engine, save)


def _measure(engine, actor: User, plan_id: int, code: str, on: date, value: float) -> None:
    def save(session: Session) -> None:
        indicator = session.exec(
            select(Indicator).where(Indicator.plan_id == plan_id, Indicator.code == code)
        ).one()
        edit = MeasurementEdit(on, value, source=SIGNALEMENTS)
        assert save_measurements(session, actor, indicator.id, [edit], today=TODAY) == 1

    _write(engine, save)


def _by_code(rows: list[dict], code: str) -> dict:
    return next(r for r in rows if r["code"] == code)


def _other_plan(engine) -> tuple[int, int, int]:
    """A second, tiny plan: (plan id, its objective's id, its action's id)."""

    def create(session: Session) -> tuple[int, int, int]:
        plan = create_plan(
            session,
            PlanData(
                name="Autre plan",
                collectivities=[VILLE],
                first_year=2026,
                last_year=2027,
                objectives=[ObjectiveData("9", "Objectif d'un autre plan")],
                actions=[ActionData("9.1", "Action d'un autre plan", "9", [VILLE])],
            ),
            actor=ADMIN,
        )
        objective = session.exec(select(Objective).where(Objective.plan_id == plan.id)).one()
        return plan.id, objective.id, _action(session, plan.id, "9.1").id

    return _write(engine, create)


# --------------------------------------------------------------------------
# Snapshots
# --------------------------------------------------------------------------


def test_a_closed_review_snapshot_never_changes_when_the_plan_is_edited(engine, example_plan):
    plan_id = example_plan.id
    editor = add_user(engine, "editor")
    review_id = _open(engine, editor, plan_id, B_DAY, "Comité de novembre")
    returned = _close(engine, editor, review_id, B_DAY)
    frozen = _review(engine, review_id).snapshot
    assert returned == frozen  # what was stored is what was computed, JSON round trip included
    assert frozen["at"] == B_DAY.isoformat()
    action = _by_code(frozen["actions"], "2.2")
    assert (action["status"], action["progress"]) == ("en_cours", 85)
    old_arbitrated = frozen["budget"]["2026"]["arbitrated"]
    assert old_arbitrated == _arbitrated_total(engine, plan_id, 2026)
    i6 = _by_code(frozen["indicators"], "I6")
    assert (i6["value"], i6["date"]) == (2240.0, "2025-12-31")

    _edit_action(engine, editor, plan_id, "2.2", status="en_pause", progress=70)
    _raise_arbitration(engine, editor, plan_id, 2026, "2.2", 250_000)
    _measure(engine, editor, plan_id, "I6", MEASURED, 2300)

    review = _review(engine, review_id)
    assert review.snapshot == frozen
    assert review.status == ReviewStatus.CLOSED

    fresh = _read(engine, lambda s: take_snapshot(s, plan_id, B_DAY))
    action = _by_code(fresh["actions"], "2.2")
    assert (action["status"], action["progress"]) == ("en_pause", 70)
    assert fresh["budget"]["2026"]["arbitrated"] == old_arbitrated + 250_000
    i6 = _by_code(fresh["indicators"], "I6")
    assert (i6["value"], i6["date"]) == (2300.0, MEASURED.isoformat())
    assert i6["series"][-1] == [MEASURED.isoformat(), 2300.0]
    assert fresh != frozen


# --------------------------------------------------------------------------
# Comparing two snapshots
# --------------------------------------------------------------------------


def test_the_comparison_lists_exactly_the_edits_made_between_two_reviews(engine, example_plan):
    plan_id = example_plan.id
    editor = add_user(engine, "editor")
    titles = _titles(engine, plan_id)

    a_id = _open(engine, editor, plan_id, A_DAY, "Comité A", attendees="Élus", agenda="Bilan")
    older = _decide(
        engine,
        editor,
        a_id,
        DecisionInput(
            "Relancer la consultation",
            action_id=_read(engine, lambda s: _action(s, plan_id, "2.3").id),
            owner="Mission numérique",
            due_date=date(2026, 10, 20),
        ),
    )
    _close(engine, editor, a_id, A_DAY)
    frozen_a = _review(engine, a_id).snapshot
    old_arbitrated = _arbitrated_total(engine, plan_id, 2026)

    _edit_action(engine, editor, plan_id, "2.2", status="bloque")
    _edit_action(engine, editor, plan_id, "3.1", weather="nuageux", progress=97)
    _edit_action(engine, editor, plan_id, "2.5", planned_end_date=date(2027, 12, 31))
    milestone = _complete_milestone(
        engine, editor, plan_id, "3.2", "Rapport annuel d'e-réputation 2026", date(2026, 11, 10)
    )
    _raise_arbitration(engine, editor, plan_id, 2026, "2.2", 500_000)
    _measure(engine, editor, plan_id, "I6", MEASURED, 2300)
    b_id = _open(engine, editor, plan_id, B_DAY, "Comité B")
    objective_2 = _read(
        engine,
        lambda s: s.exec(
            select(Objective.id).where(Objective.plan_id == plan_id, Objective.code == "2")
        ).one(),
    )
    newer = _decide(
        engine,
        editor,
        b_id,
        DecisionInput(
            "Étendre le bus aux communes du nord",
            objective_id=objective_2,
            owner="DGS",
            due_date=date(2026, 12, 31),
        ),
    )
    _write(
        engine,
        lambda s: follow_up_decision(s, editor, older, 1, status=FAIT, due_date=date(2026, 10, 20)),
    )
    _close(engine, editor, b_id, B_DAY)
    snapshot_b = _review(engine, b_id).snapshot
    assert _review(engine, a_id).snapshot == frozen_a  # closing B left A alone

    c = compare(frozen_a, snapshot_b)

    assert (c.before_at, c.after_at) == (A_DAY, B_DAY)
    status = ActionChange("2", "2.2", titles["2.2"], "status", "en_cours", "bloque")
    end = ActionChange("2", "2.5", titles["2.5"], "planned_end", "2027-08-31", "2027-12-31")
    weather = ActionChange("3", "3.1", titles["3.1"], "weather", "soleil", "nuageux")
    progress = ActionChange("3", "3.1", titles["3.1"], "progress", 95, 97)
    assert c.actions == [status, end, weather, progress]
    assert c.by_objective == {"2": [status, end], "3": [weather, progress]}
    assert c.completed_milestones == [
        {
            "id": milestone,
            "action": "3.2",
            "title": "Rapport annuel d'e-réputation 2026",
            "due": "2026-12-15",
            "done": "2026-11-10",
        }
    ]
    assert c.newly_late_milestones == []
    assert c.budget == [("2026", "arbitré", old_arbitrated, old_arbitrated + 500_000)]
    assert c.indicators == [
        (_by_code(frozen_a["indicators"], "I6"), _by_code(snapshot_b["indicators"], "I6"))
    ]
    before_i6, after_i6 = c.indicators[0]
    assert (before_i6["value"], before_i6["date"]) == (2240.0, "2025-12-31")
    assert (after_i6["value"], after_i6["date"]) == (2300.0, MEASURED.isoformat())
    assert c.decisions_opened == [
        {
            "id": newer,
            "review": b_id,
            "review_title": "Comité B",
            "review_date": B_DAY.isoformat(),
            "text": "Étendre le bus aux communes du nord",
            "action": None,
            "objective": "2",
            "owner": "DGS",
            "due": "2026-12-31",
            "status": "a_faire",
        }
    ]
    assert c.decisions_closed == [
        {
            "id": older,
            "review": a_id,
            "review_title": "Comité A",
            "review_date": A_DAY.isoformat(),
            "text": "Relancer la consultation",
            "action": "2.3",
            "objective": None,
            "owner": "Mission numérique",
            "due": "2026-10-20",
            "status": "fait",
        }
    ]
    assert not c.empty
    # Compared with itself, a snapshot shows nothing.
    assert compare(snapshot_b, snapshot_b).empty


def test_a_milestone_falling_due_between_two_dates_is_listed_as_newly_late(engine, example_plan):
    plan_id = example_plan.id
    before = _read(engine, lambda s: take_snapshot(s, plan_id, date(2026, 12, 1)))
    after = _read(engine, lambda s: take_snapshot(s, plan_id, date(2026, 12, 20)))

    c = compare(before, after)

    # 2.4's and 3.2's milestones fall due on 15 December 2026, undone; 2.2's is due on
    # the 31st (not late yet) and 2.3's « Relance » was late already (not newly late).
    late = [(m["action"], m["title"], m["due"], m["done"]) for m in c.newly_late_milestones]
    assert late == [
        ("2.4", "Publication du socle commun des données locales", "2026-12-15", None),
        ("3.2", "Rapport annuel d'e-réputation 2026", "2026-12-15", None),
    ]
    assert c.newly_late_milestones == [
        m for m in after["milestones"] if m["action"] in {"2.4", "3.2"} and m["due"] == "2026-12-15"
    ]
    assert c.actions == [] and c.completed_milestones == [] and c.budget == []
    assert c.indicators == [] and c.decisions_opened == [] and c.decisions_closed == []


# --------------------------------------------------------------------------
# Rules: each refusal writes nothing
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "title", "problem"),
    [
        (None, "Comité de pilotage", "La date du comité est obligatoire."),
        (A_DAY, "   ", "Le titre du comité est obligatoire."),
        (A_DAY, "x" * 301, "Le titre dépasse 300 caractères."),
    ],
)
def test_a_review_needs_a_date_and_a_title(engine, example_plan, day, title, problem):
    editor = add_user(engine, "editor")
    error = _refused(
        engine,
        ValidationError,
        lambda s: open_review(s, editor, example_plan.id, ReviewInput(day, title)),
    )
    assert error.details == [problem]


def test_a_closed_review_can_no_longer_change_take_decisions_be_deleted_or_closed_again(
    engine, example_plan
):
    editor = add_user(engine, "editor")
    review_id = _open(engine, editor, example_plan.id, A_DAY, "Comité A")
    _close(engine, editor, review_id, A_DAY)
    frozen = _review(engine, review_id)

    _refused(
        engine,
        ValidationError,
        lambda s: update_review(s, editor, review_id, ReviewInput(B_DAY, "Autre titre")),
    )
    _refused(
        engine,
        ValidationError,
        lambda s: add_decision(s, editor, review_id, DecisionInput("Trop tard")),
    )
    _refused(engine, ValidationError, lambda s: delete_review(s, editor, review_id))
    _refused(engine, ConflictError, lambda s: close_review(s, editor, review_id, B_DAY))

    review = _review(engine, review_id)
    assert (review.date, review.title, review.status) == (A_DAY, "Comité A", ReviewStatus.CLOSED)
    assert review.snapshot == frozen.snapshot and review.closed_at == frozen.closed_at


def test_a_review_form_opened_before_someone_saved_the_review_cannot_overwrite_it(
    engine, example_plan
):
    """A and B open the same review's form; B saves new attendees; A's save (of the
    title) is refused in French, naming the field B changed, and nothing is written."""
    editor = add_user(engine, "editor")
    review_id = _open(engine, editor, example_plan.id, A_DAY, "Comité A", attendees="Élus")
    shown = ReviewInput(A_DAY, "Comité A", "Élus", "")
    _write(
        engine,
        lambda s: update_review(
            s, editor, review_id, ReviewInput(A_DAY, "Comité A", "Élus, DGS"), expected=shown
        ),
    )
    error = _refused(
        engine,
        ConflictError,
        lambda s: update_review(
            s, editor, review_id, ReviewInput(A_DAY, "Comité A bis", "Élus"), expected=shown
        ),
    )
    assert "modifié par quelqu'un d'autre" in str(error)
    assert error.details == ["Modifié entre-temps : Participants."]
    review = _review(engine, review_id)
    assert (review.title, review.attendees) == ("Comité A", "Élus, DGS")


def test_an_open_review_can_be_edited_and_deleted_with_its_decisions(engine, example_plan):
    editor = add_user(engine, "editor")
    before = count_rows(engine)
    review_id = _open(engine, editor, example_plan.id, A_DAY, "Comité A")
    _write(
        engine,
        lambda s: update_review(
            s, editor, review_id, ReviewInput(B_DAY, " Comité B ", "Élus", "Budget")
        ),
    )
    review = _review(engine, review_id)
    assert (review.date, review.title, review.attendees, review.agenda) == (
        B_DAY,
        "Comité B",
        "Élus",
        "Budget",
    )
    decision = _decide(engine, editor, review_id, DecisionInput("Une décision"))
    _write(engine, lambda s: delete_review(s, editor, review_id))
    assert _review(engine, review_id) is None and _decision(engine, decision) is None
    after = count_rows(engine)
    assert after["review"] == before["review"] and after["decision"] == before["decision"]


def test_a_decision_needs_a_text_and_links_within_its_plan(engine, example_plan):
    editor = add_user(engine, "editor")
    review_id = _open(engine, editor, example_plan.id, A_DAY, "Comité A")
    _, other_objective, other_action = _other_plan(engine)

    for data, problem in (
        (DecisionInput("  "), "Le texte de la décision est obligatoire."),
        (DecisionInput("Lier", action_id=other_action), "Action inconnue."),
        (DecisionInput("Lier", objective_id=other_objective), "Objectif inconnu."),
        (DecisionInput("Lier", action_id=987_654), "Action inconnue."),
    ):
        error = _refused(
            engine, ValidationError, lambda s, d=data: add_decision(s, editor, review_id, d)
        )
        assert error.details == [problem]


def test_a_follow_up_from_a_stale_version_is_refused(engine, example_plan):
    editor = add_user(engine, "editor")
    other = add_user(engine, "editor", login="relecture")
    review_id = _open(engine, editor, example_plan.id, A_DAY, "Comité A")
    decision_id = _decide(engine, editor, review_id, DecisionInput("Relancer", owner="DGS"))
    _write(
        engine,
        lambda s: follow_up_decision(s, other, decision_id, 1, status=DecisionStatus.EN_COURS),
    )
    assert _decision(engine, decision_id).version == 2

    _refused(
        engine,
        ConflictError,
        lambda s: follow_up_decision(s, editor, decision_id, 1, status=FAIT),
    )
    decision = _decision(engine, decision_id)
    assert (decision.status, decision.version) == (DecisionStatus.EN_COURS, 2)


def test_a_follow_up_changing_only_the_status_keeps_the_due_date(engine, example_plan):
    editor = add_user(engine, "editor")
    review_id = _open(engine, editor, example_plan.id, A_DAY, "Comité A")
    due = date(2026, 12, 31)
    decision_id = _decide(engine, editor, review_id, DecisionInput("Relancer", due_date=due))
    _write(engine, lambda s: follow_up_decision(s, editor, decision_id, 1, status=FAIT))
    decision = _decision(engine, decision_id)
    assert decision.status == FAIT
    assert decision.due_date == due


@pytest.mark.parametrize("role", ["viewer", "pilot"])
def test_viewers_and_pilots_cannot_run_reviews_or_record_decisions(engine, example_plan, role):
    editor = add_user(engine, "editor")
    user = add_user(engine, role)
    review_id = _open(engine, editor, example_plan.id, A_DAY, "Comité A")
    decision_id = _decide(engine, editor, review_id, DecisionInput("Relancer"))

    for operation in (
        lambda s: open_review(s, user, example_plan.id, ReviewInput(B_DAY, "Comité B")),
        lambda s: update_review(s, user, review_id, ReviewInput(B_DAY, "Comité B")),
        lambda s: add_decision(s, user, review_id, DecisionInput("Décider")),
        lambda s: follow_up_decision(s, user, decision_id, 1, status=FAIT),
        lambda s: close_review(s, user, review_id, A_DAY),
        lambda s: delete_review(s, user, review_id),
    ):
        _refused(engine, PermissionDenied, operation)
    assert _review(engine, review_id).status == ReviewStatus.OPEN


# --------------------------------------------------------------------------
# Overdue decisions
# --------------------------------------------------------------------------


def test_overdue_decisions_are_flagged_and_shown_on_the_overview_within_its_filters(
    engine, example_plan
):
    plan_id = example_plan.id
    editor = add_user(engine, "editor")
    at = TODAY
    ids = _read(
        engine,
        lambda s: {
            **{code: _action(s, plan_id, code).id for code in ("2.2", "3.3")},
            "objective 1": s.exec(
                select(Objective.id).where(Objective.plan_id == plan_id, Objective.code == "1")
            ).one(),
        },
    )
    review_id = _open(engine, editor, plan_id, at - timedelta(days=40), "Comité d'octobre")
    made = {
        name: _decide(engine, editor, review_id, data)
        for name, data in {
            # 2.2: objective 2, carried by the Grand Cahors only.
            "late to do": DecisionInput(
                "Bus", action_id=ids["2.2"], due_date=at - timedelta(days=1)
            ),
            "late in progress": DecisionInput(
                "Objectif 1",
                objective_id=ids["objective 1"],
                due_date=at - timedelta(days=10),
                status=DecisionStatus.EN_COURS,
            ),
            # 3.3: objective 3, carried by the Ville de Cahors only.
            "late on 3.3": DecisionInput(
                "Wifi", action_id=ids["3.3"], due_date=at - timedelta(days=2)
            ),
            "due today": DecisionInput("Aujourd'hui", action_id=ids["2.2"], due_date=at),
            "due later": DecisionInput("Plus tard", due_date=at + timedelta(days=5)),
            "no due date": DecisionInput("Sans échéance", action_id=ids["2.2"]),
            "done": DecisionInput(
                "Faite", action_id=ids["2.2"], due_date=at - timedelta(days=30), status=FAIT
            ),
            "abandoned": DecisionInput(
                "Abandonnée",
                action_id=ids["2.2"],
                due_date=at - timedelta(days=30),
                status=DecisionStatus.ABANDONNE,
            ),
            "finished later": DecisionInput("Finie", due_date=at - timedelta(days=3)),
        }.items()
    }
    _write(
        engine,
        lambda s: follow_up_decision(
            s, editor, made["finished later"], 1, status=FAIT, due_date=at - timedelta(days=3)
        ),
    )
    name_of = {decision_id: name for name, decision_id in made.items()}
    late = ["late to do", "late in progress", "late on 3.3"]

    views = _read(engine, lambda s: decisions(s, plan_id, at))
    assert sorted(name_of[v.id] for v in views) == sorted(made)
    assert [name_of[v.id] for v in views if v.overdue] == late
    assert {name_of[v.id]: v.status for v in views if not v.overdue} == {
        "due today": A_FAIRE,
        "due later": A_FAIRE,
        "no due date": A_FAIRE,
        "done": FAIT,
        "abandoned": DecisionStatus.ABANDONNE,
        "finished later": FAIT,
    }
    # The day before, « late to do » (due yesterday) was not late yet.
    earlier = _read(engine, lambda s: decisions(s, plan_id, at - timedelta(days=1)))
    assert [name_of[v.id] for v in earlier if v.overdue] == ["late in progress", "late on 3.3"]

    def overdue(f: OverviewFilter) -> list[str]:
        def build(session: Session) -> list[str]:
            structure = plan_structure(session, plan_id, at)
            o = build_overview(session, structure, indicator_rows(session, plan_id, at), at, f)
            assert all(d.overdue for d in o.overdue_decisions)
            return [name_of[d.id] for d in o.overdue_decisions]

        return _read(engine, build)

    pilot_22 = _read(
        engine,
        lambda s: pilot_label(
            next(a for a in plan_structure(s, plan_id, at).actions if a.code == "2.2")
        ),
    )
    assert overdue(OverviewFilter(2026)) == late
    assert overdue(OverviewFilter(2026, objective="2")) == ["late to do"]
    assert overdue(OverviewFilter(2026, objective="1")) == ["late in progress"]
    assert overdue(OverviewFilter(2026, objective="3")) == ["late on 3.3"]
    assert overdue(OverviewFilter(2026, collectivity=AGGLO)) == ["late to do"]
    assert overdue(OverviewFilter(2026, collectivity=VILLE)) == ["late on 3.3"]
    assert overdue(OverviewFilter(2026, pilot=pilot_22)) == ["late to do"]
    assert overdue(OverviewFilter(2026, objective="2", collectivity=VILLE)) == []


# --------------------------------------------------------------------------
# The previous closed review
# --------------------------------------------------------------------------


def test_previous_closed_is_the_last_closed_review_before_the_given_one(engine, example_plan):
    plan_id = example_plan.id
    editor = add_user(engine, "editor")
    other_plan, _, _ = _other_plan(engine)
    made: dict[str, int] = {}
    for name, day, closed, plan in (
        ("janvier", date(2026, 1, 10), True, plan_id),
        ("mars", date(2026, 3, 10), True, plan_id),
        ("mars ouvert", date(2026, 3, 10), False, plan_id),
        ("mars bis", date(2026, 3, 10), True, plan_id),
        ("autre plan", date(2026, 4, 1), True, other_plan),
        ("avril ouvert", date(2026, 4, 20), False, plan_id),
        ("mai", date(2026, 5, 10), True, plan_id),
        ("juin ouvert", date(2026, 6, 10), False, plan_id),
    ):
        made[name] = _open(engine, editor, plan, day, f"Comité {name}")
        if closed:
            _close(engine, editor, made[name], day)
    name_of = {review_id: name for name, review_id in made.items()}

    def previous(name: str) -> str | None:
        def find(session: Session) -> str | None:
            found = previous_closed(session, session.get(Review, made[name]))
            return None if found is None else name_of[found.id]

        return _read(engine, find)

    assert previous("juin ouvert") == "mai"
    assert previous("mai") == "mars bis"  # open reviews and another plan's are skipped
    assert previous("avril ouvert") == "mars bis"
    assert previous("mars bis") == "mars"  # same date: the earlier one
    assert previous("mars ouvert") == "mars"
    assert previous("mars") == "janvier"
    assert previous("janvier") is None
    assert previous("autre plan") is None
