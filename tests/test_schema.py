"""The schema: migrations equal the models, and the database enforces the rules."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from tracker import db
from tracker.models import Action, BudgetLine, BudgetSection, Collectivity, Objective, Plan


def test_migrations_produce_exactly_the_models_schema(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []
    assert db.current_revision(engine) == db.head_revision()


def test_schema_covers_the_whole_mission(engine):
    tables = set(sa.inspect(engine).get_table_names())
    expected = {
        "plan",
        "collectivity",
        "stake",
        "objective",
        "objective_stake",
        "action",
        "action_carrier",
        "milestone",
        "note",
        "budget_line",
        "budget_year",
        "funding",
        "indicator",
        "indicator_action",
        "reference_value",
        "measurement",
        "survey_wave",
        "survey_response",
        "review",
        "decision",
        "audit_entry",
        "user",
        "login_attempt",
        "user_session",
        "setting",
        "data_revision",
    }
    assert expected <= tables


def test_money_columns_are_integers_not_floats(engine):
    inspector = sa.inspect(engine)
    money = {
        ("budget_line", "requested_cents"),
        ("budget_line", "arbitrated_cents"),
        ("budget_line", "spent_cents"),
        ("funding", "amount_cents"),
    }
    for table, column in money:
        kind = next(c["type"] for c in inspector.get_columns(table) if c["name"] == column)
        assert isinstance(kind, sa.Integer), (table, column, kind)


def test_downgrade_to_base_then_upgrade_again(engine):
    config = db.alembic_config(engine)
    command.downgrade(config, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert db.current_revision(engine) == db.head_revision()


def _plan_with_objective(session) -> tuple[Plan, Objective, Collectivity]:
    plan = Plan(name="P", first_year=2018, last_year=2022)
    session.add(plan)
    session.flush()
    objective = Objective(plan_id=plan.id, code="1", title="O")
    collectivity = Collectivity(plan_id=plan.id, name="Ville de Cahors")
    session.add_all([objective, collectivity])
    session.flush()
    return plan, objective, collectivity


def _insert_action(engine, **fields) -> None:
    with db.session_scope(engine, write=True) as session:
        plan, objective, _ = _plan_with_objective(session)
        session.add(
            Action(plan_id=plan.id, objective_id=objective.id, code="1.1", title="A", **fields)
        )


@pytest.mark.parametrize(
    "fields",
    [
        {"progress": 101},
        {"progress": -1},
        {"start_date": date(2020, 1, 1), "planned_end_date": date(2019, 12, 31)},
        {"start_date": date(2020, 1, 1), "actual_end_date": date(2019, 1, 1)},
        {"update_period_days": 0},
    ],
    ids=[
        "progress_over_100",
        "negative_progress",
        "planned_end_before_start",
        "actual_end_before_start",
        "zero_periodicity",
    ],
)
def test_database_refuses_an_invalid_action(engine, fields):
    with pytest.raises(sa.exc.IntegrityError):
        _insert_action(engine, **fields)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM plan")).scalar_one() == 0


def test_database_refuses_an_unknown_status_value(engine):
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        plan_id = conn.execute(
            sa.text(
                "INSERT INTO plan (name, description, deliberation_ref, first_year, last_year, "
                "is_example, created_at) "
                "VALUES ('P', '', '', 2018, 2022, false, CURRENT_TIMESTAMP) RETURNING id"
            )
        ).scalar_one()
        objective_id = conn.execute(
            sa.text(
                "INSERT INTO objective (plan_id, code, title, description, position) "
                "VALUES (:p, '1', 'O', '', 0) RETURNING id"
            ),
            {"p": plan_id},
        ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO action (plan_id, objective_id, code, title, description, pilot_name, "
                "pilot_function, service, elected_referent, partners, status, weather, progress, "
                "progress_mode, priority, update_period_days, updated_at, version, archived, "
                "position) VALUES (:p, :o, '1', 'A', '', '', '', '', '', '', 'termine', 'soleil', "
                "0, 'saisi', 'normale', 90, CURRENT_TIMESTAMP, 1, false, 0)"
            ),
            {"p": plan_id, "o": objective_id},
        )


def test_foreign_keys_are_enforced(engine):
    with pytest.raises(sa.exc.IntegrityError), db.session_scope(engine, write=True) as session:
        plan, _, _ = _plan_with_objective(session)
        session.add(Action(plan_id=plan.id, objective_id=999_999, code="1.1", title="A"))


@pytest.mark.parametrize("column", ["requested_cents", "arbitrated_cents", "spent_cents"])
def test_database_refuses_negative_amounts(engine, column):
    with pytest.raises(sa.exc.IntegrityError), db.session_scope(engine, write=True) as session:
        plan, objective, collectivity = _plan_with_objective(session)
        action = Action(plan_id=plan.id, objective_id=objective.id, code="1.1", title="A")
        session.add(action)
        session.flush()
        session.add(
            BudgetLine(
                action_id=action.id,
                year=2019,
                collectivity_id=collectivity.id,
                section=BudgetSection.FONCTIONNEMENT,
                **{column: -1},
            )
        )


def test_budget_line_is_unique_per_action_year_collectivity_and_section(engine):
    with pytest.raises(sa.exc.IntegrityError), db.session_scope(engine, write=True) as session:
        plan, objective, collectivity = _plan_with_objective(session)
        action = Action(plan_id=plan.id, objective_id=objective.id, code="1.1", title="A")
        session.add(action)
        session.flush()
        for _ in range(2):
            session.add(
                BudgetLine(
                    action_id=action.id,
                    year=2019,
                    collectivity_id=collectivity.id,
                    section=BudgetSection.INVESTISSEMENT,
                    requested_cents=100,
                )
            )
            session.flush()


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
