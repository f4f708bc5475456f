"""The illustrative example plan: complete, consistent, and labelled as an example."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests.conftest import count_rows
from tracker import db
from tracker.errors import ValidationError
from tracker.io.example import load_example
from tracker.models import (
    Action,
    AuditEntry,
    BudgetLine,
    Collectivity,
    Indicator,
    Measurement,
    Milestone,
    Objective,
    Plan,
    ReferenceValue,
    Stake,
)
from tracker.services.integrity import run_checks
from tracker.services.plans import plan_structure, progress_by_objective
from tracker.services.revision import current_revision


def _count(session, model) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_example_has_two_stakes_three_objectives_and_nineteen_actions(engine, example_plan):
    with db.session_scope(engine) as session:
        assert _count(session, Stake) == 2
        assert _count(session, Objective) == 3
        assert _count(session, Action) == 19
        plan = session.get(Plan, example_plan.id)
        assert plan.is_example
        assert "exemple" in plan.name.lower()
        assert plan.adopted_on == date(2017, 11, 9)
        names = session.exec(select(Collectivity.name).order_by(Collectivity.position)).all()
        assert names == ["Ville de Cahors", "Grand Cahors"]


def test_example_fills_every_part_of_the_model(engine, example_plan):
    with db.session_scope(engine) as session:
        assert _count(session, Milestone) >= 19 * 2
        assert 6 <= _count(session, Indicator) <= 10
        assert _count(session, Measurement) > 0
        years = set(session.exec(select(BudgetLine.year)).all())
        assert set(range(2018, 2023)) <= years
        collectivities = session.execute(
            sa.select(sa.func.count(sa.distinct(BudgetLine.collectivity_id)))
        ).scalar_one()
        assert collectivities == 2
        assert run_checks(session) == []


def test_example_pilots_are_functions_never_named_people(engine, example_plan):
    with db.session_scope(engine) as session:
        actions = session.exec(select(Action)).all()
    assert all(a.pilot_name == "" for a in actions)
    assert all(a.pilot_function for a in actions)


def test_example_national_references_match_the_barometre(engine, example_plan):
    """Smartphone owners, Baromètre du numérique (CREDOC): 73 % in 2017, 91 % in 2024."""
    with db.session_scope(engine) as session:
        rows = session.execute(
            sa.select(ReferenceValue.date, ReferenceValue.value, ReferenceValue.source)
            .join(Indicator, Indicator.id == ReferenceValue.indicator_id)
            .where(Indicator.name.ilike("%smartphone%"))
        ).all()
    by_year = {d.year: v for d, v, _ in rows}
    assert by_year[2017] == 73
    assert by_year[2024] == 91
    assert all("Baromètre du numérique" in source for _, _, source in rows)


def test_loading_the_example_records_history_and_bumps_the_revision(engine, example_plan):
    with db.session_scope(engine) as session:
        assert current_revision(session) >= 1
        created = session.exec(
            select(AuditEntry.entity).where(AuditEntry.operation == "création")
        ).all()
    assert created.count("action") == 19
    assert created.count("plan") == 1


def test_loading_the_example_twice_is_refused_and_writes_nothing(engine, example_plan):
    before = count_rows(engine)
    with (
        pytest.raises(ValidationError, match="existe déjà"),
        db.session_scope(engine, write=True) as session,
    ):
        load_example(session)
    assert count_rows(engine) == before


def test_plan_structure_gives_each_action_its_state(engine, example_plan):
    with db.session_scope(engine) as session:
        structure = plan_structure(session, example_plan.id, date(2026, 11, 28))
    assert len(structure.actions) == 19
    assert [s.code for s in structure.stakes] == ["E1", "E2"]
    assert all(0 <= a.state.progress <= 100 for a in structure.actions)
    objectives = progress_by_objective(structure)
    assert [o.code for o in objectives] == ["1", "2", "3"]
    assert sum(o.action_count for o in objectives) == 19 - sum(
        1 for a in structure.actions if a.status.value == "abandonne"
    )


def test_milestone_mode_progress_is_derived_from_weights(engine, example_plan):
    at = date(2026, 11, 28)
    with db.session_scope(engine) as session:
        structure = plan_structure(session, example_plan.id, at)
        for action in session.exec(select(Action).where(Action.progress_mode == "jalons")):
            milestones = session.exec(
                select(Milestone).where(Milestone.action_id == action.id)
            ).all()
            total = sum(m.weight for m in milestones)
            done = sum(m.weight for m in milestones if m.done_date and m.done_date <= at)
            row = next(a for a in structure.actions if a.code == action.code)
            assert row.state.progress == round(100 * done / total)


def test_a_plan_with_text_too_long_for_its_columns_is_refused_before_writing(engine):
    from tests.conftest import PROJECT_ROOT
    from tracker.io.template import read_csv_folder
    from tracker.services.plans import create_plan
    from tracker.services.users import system_actor

    data = read_csv_folder(PROJECT_ROOT / "data" / "exemple")
    data.actions[0].title = "x" * 301
    before = count_rows(engine)
    with pytest.raises(ValidationError) as refused, db.session_scope(engine, write=True) as s:
        create_plan(s, data, actor=system_actor("tests"))
    assert "Action 1.1 : « Titre » dépasse 300 caractères (301)." in refused.value.details
    assert count_rows(engine) == before
