"""Budgets: totals summed in SQL, saving lines in one transaction, closing a year's
arbitration (and what it freezes on every write path), and the budget alerts."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests.conftest import count_rows
from tracker import db
from tracker.errors import NotFoundError, PermissionDenied, ValidationError
from tracker.models import (
    Action,
    ActionStatus,
    AuditEntry,
    BudgetLine,
    BudgetSection,
    Collectivity,
    Funding,
    Objective,
    Plan,
    Role,
)
from tracker.services import users
from tracker.services.budgets import (
    SPENDING_AHEAD_MARGIN,
    LineEdit,
    Totals,
    budget_alerts,
    budget_by_objective,
    budget_by_year,
    close_year,
    is_closed,
    reopen_year,
    save_lines,
    year_budget,
    year_lines,
)
from tracker.services.imports import import_plan
from tracker.services.plans import (
    ActionData,
    BudgetLineData,
    FundingData,
    ObjectiveData,
    PlanData,
    create_plan,
    plan_data,
)
from tracker.services.revision import current_revision

ADMIN = users.system_actor("tests")
VILLE, AGGLO = "Ville de Cahors", "Grand Cahors"
FONCT, INVEST = BudgetSection.FONCTIONNEMENT, BudgetSection.INVESTISSEMENT
FROZEN_TEXT = "L'arbitrage 2026 est clôturé"
AT = date(2024, 6, 1)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """A budget line as read straight from the table, with its labels."""

    action_id: int
    action_code: str
    objective: str
    collectivity: str
    section: BudgetSection
    year: int
    requested: int
    arbitrated: int  # None read as 0
    spent: int


def _lines(engine, plan_id: int) -> list[Line]:
    """Every line of the plan's non-archived actions, read without the service."""
    with db.session_scope(engine) as session:
        actions = {
            a.id: a for a in session.exec(select(Action).where(Action.plan_id == plan_id)).all()
        }
        objectives = {o.id: o.code for o in session.exec(select(Objective)).all()}
        collectivities = {c.id: c.name for c in session.exec(select(Collectivity)).all()}
        return [
            Line(
                b.action_id,
                actions[b.action_id].code,
                objectives[actions[b.action_id].objective_id],
                collectivities[b.collectivity_id],
                BudgetSection(b.section),
                b.year,
                b.requested_cents,
                b.arbitrated_cents or 0,
                b.spent_cents,
            )
            for b in session.exec(select(BudgetLine)).all()
            if b.action_id in actions and not actions[b.action_id].archived
        ]


def _cofinancing(engine, plan_id: int) -> dict[int, int]:
    with db.session_scope(engine) as session:
        rows = session.exec(
            select(Funding)
            .join(Action, Action.id == Funding.action_id)
            .where(Action.plan_id == plan_id)
        ).all()
    total: dict[int, int] = defaultdict(int)
    for f in rows:
        total[f.action_id] += f.amount_cents
    return dict(total)


def _sum(lines: list[Line]) -> tuple[int, int, int]:
    return (
        sum(x.requested for x in lines),
        sum(x.arbitrated for x in lines),
        sum(x.spent for x in lines),
    )


def _amounts(t: Totals) -> tuple[int, int, int]:
    return (t.requested_cents, t.arbitrated_cents, t.spent_cents)


def _grouped(lines: list[Line], key) -> dict:  # noqa: ANN001
    groups: dict = defaultdict(list)
    for x in lines:
        groups[key(x)].append(x)
    return {k: _sum(v) for k, v in groups.items()}


def _filters(lines: list[Line]) -> list[dict]:
    """No filter, then each collectivity, each section and each objective alone,
    and one combination of the three."""
    return (
        [{}]
        + [{"collectivity": c} for c in sorted({x.collectivity for x in lines})]
        + [{"section": s} for s in BudgetSection]
        + [{"objective": o} for o in sorted({x.objective for x in lines})]
        + [{"collectivity": lines[0].collectivity, "section": INVEST, "objective": "1"}]
    )


def _matches(line: Line, collectivity=None, section=None, objective=None) -> bool:  # noqa: ANN001
    return (
        (collectivity is None or line.collectivity == collectivity)
        and (section is None or line.section == section)
        and (objective is None or line.objective == objective)
    )


def _check_year_budget(engine, plan_id: int, year: int, lines, cofinancing, **filters) -> int:
    """Compare year_budget with Python sums; return how many lines were selected."""
    selected = [x for x in lines if x.year == year and _matches(x, **filters)]
    with db.session_scope(engine) as session:
        result = year_budget(session, plan_id, year, **filters)
    where = f"{year} {filters}"

    per_action = _grouped(selected, lambda x: x.action_id)
    assert {r.action_id: _amounts(r.totals) for r in result.rows} == per_action, where
    codes = {x.action_id: (x.action_code, x.objective) for x in selected}
    assert {r.action_id: (r.code, r.objective_code) for r in result.rows} == codes, where
    assert {r.action_id: r.totals.cofinancing_cents for r in result.rows} == {
        a: cofinancing.get(a, 0) for a in per_action
    }, where

    assert {k: _amounts(t) for k, t in result.by_objective.items()} == _grouped(
        selected, lambda x: x.objective
    ), where
    objective_of = {x.action_id: x.objective for x in selected}
    cofinancing_by_objective: dict[str, int] = defaultdict(int)
    for action_id in per_action:
        cofinancing_by_objective[objective_of[action_id]] += cofinancing.get(action_id, 0)
    assert {k: t.cofinancing_cents for k, t in result.by_objective.items()} == dict(
        cofinancing_by_objective
    ), where
    assert {k: _amounts(t) for k, t in result.by_collectivity.items()} == _grouped(
        selected, lambda x: x.collectivity
    ), where

    requested, arbitrated, spent = _sum(selected)
    assert _amounts(result.total) == (requested, arbitrated, spent), where
    assert result.total.cofinancing_cents == sum(cofinancing.get(a, 0) for a in per_action)
    assert result.total.difference_cents == arbitrated - requested, where
    if arbitrated:
        assert result.total.execution == pytest.approx(100 * spent / arbitrated), where
    else:
        assert result.total.execution is None, where
    return len(selected)


def _check_period_totals(engine, plan_id: int, lines: list[Line]) -> None:
    """budget_by_year (with and without an objective) and budget_by_objective."""
    with db.session_scope(engine) as session:
        by_objective = budget_by_objective(session, plan_id)
        splits = {o: budget_by_year(session, plan_id, objective=o) for o in [None, "1", "2", "3"]}
    assert {k: _amounts(t) for k, t in by_objective.items()} == _grouped(
        lines, lambda x: x.objective
    )
    for objective, result in splits.items():
        selected = [x for x in lines if _matches(x, objective=objective)]
        assert {(s.year, s.collectivity, s.section): _amounts(s.totals) for s in result} == (
            _grouped(selected, lambda x: (x.year, x.collectivity, x.section))
        ), objective
        assert len(result) == len({(s.year, s.collectivity, s.section) for s in result})


def _plan_id(engine, name: str) -> int:
    with db.session_scope(engine) as session:
        return session.exec(select(Plan.id).where(Plan.name == name)).one()


def _create(engine, data: PlanData) -> int:
    with db.session_scope(engine, write=True) as session:
        return create_plan(session, data, actor=ADMIN).id


def _action_id(engine, plan_id: int, code: str) -> int:
    with db.session_scope(engine) as session:
        return session.exec(
            select(Action.id).where(Action.plan_id == plan_id, Action.code == code)
        ).one()


def _snapshot(engine, plan_id: int, year: int) -> list:
    with db.session_scope(engine) as session:
        return year_lines(session, plan_id, year)


def _line(engine, plan_id: int, year: int, code: str, collectivity: str, section):  # noqa: ANN001
    return next(
        x
        for x in _snapshot(engine, plan_id, year)
        if (x.action_code, x.collectivity, x.section) == (code, collectivity, section)
    )


def _edit_of(view, **changes) -> LineEdit:  # noqa: ANN001
    """A LineEdit that re-saves an existing line, with some fields changed."""
    values = {
        "action_id": view.action_id,
        "collectivity": view.collectivity,
        "section": view.section,
        "requested_cents": view.requested_cents,
        "arbitrated_cents": view.arbitrated_cents,
        "spent_cents": view.spent_cents,
        "decision_date": view.decision_date,
        "comment": view.comment,
        "line_id": view.id,
        "expected_version": view.version,
    }
    return LineEdit(**(values | changes))


def _save(engine, plan_id: int, year: int, edits: list[LineEdit], actor=ADMIN) -> int:  # noqa: ANN001
    with db.session_scope(engine, write=True) as session:
        return save_lines(session, actor, plan_id, year, edits)


def _account(engine, role: Role, login: str):  # noqa: ANN202
    """An account without password (no Argon2 hashing: fast)."""
    with db.session_scope(engine, write=True) as session:
        return users.create_user(session, ADMIN, login=login, role=role)


def _close(engine, plan_id: int, year: int, actor=ADMIN) -> None:  # noqa: ANN001
    with db.session_scope(engine, write=True) as session:
        close_year(session, actor, plan_id, year)


def _reopen(engine, plan_id: int, year: int, reason: str, actor=ADMIN) -> None:  # noqa: ANN001
    with db.session_scope(engine, write=True) as session:
        reopen_year(session, actor, plan_id, year, reason)


def _refused(engine, plan_id: int, year: int, edits, error=ValidationError, actor=ADMIN):  # noqa: ANN001, ANN202
    """Save, expect a refusal, and check that nothing at all was written."""
    rows, lines = count_rows(engine), _snapshot(engine, plan_id, year)
    with pytest.raises(error) as refusal:
        _save(engine, plan_id, year, edits, actor=actor)
    assert count_rows(engine) == rows
    assert _snapshot(engine, plan_id, year) == lines
    return refusal.value


# --------------------------------------------------------------------------
# Totals summed in SQL
# --------------------------------------------------------------------------


def test_totals_difference_is_arbitrated_minus_requested_and_execution_spent_over_arbitrated():
    cut = Totals(requested_cents=1_000_00, arbitrated_cents=800_00, spent_cents=200_00)
    assert cut.difference_cents == -200_00
    assert cut.execution == pytest.approx(25.0)
    assert Totals(requested_cents=500, arbitrated_cents=0, spent_cents=0).execution is None
    assert Totals(requested_cents=500, arbitrated_cents=0, spent_cents=300).execution is None
    assert Totals(arbitrated_cents=400, spent_cents=600).execution == pytest.approx(150.0)


def test_example_year_budgets_equal_the_sums_of_their_lines_for_every_filter(engine, example_plan):
    lines = _lines(engine, example_plan.id)
    cofinancing = _cofinancing(engine, example_plan.id)
    assert cofinancing, "the example plan has co-financing"
    for year in (2018, 2021, 2024, 2026):
        checked = [
            _check_year_budget(engine, example_plan.id, year, lines, cofinancing, **filters)
            for filters in _filters(lines)
        ]
        assert checked[0] > 0, year


def test_example_totals_per_year_and_per_objective_equal_the_sums_of_their_lines(
    engine, example_plan
):
    lines = _lines(engine, example_plan.id)
    assert {x.year for x in lines} == set(range(2018, 2027))
    _check_period_totals(engine, example_plan.id, lines)


def _generated_plan(seed: int = 7) -> PlanData:
    """30 actions over 3 objectives, 4 years x 2 collectivities x 2 sections of lines
    (about one combination in six left out), varied amounts, a fifth not arbitrated,
    and action G30 never arbitrated at all."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    collectivities = ["Ville", "Agglo"]
    actions = [
        ActionData(
            code=f"G{n:02d}",
            title=f"Action générée {n}",
            objective_code=str(1 + n % 3),
            carriers=collectivities[: 1 + n % 2],
        )
        for n in range(1, 31)
    ]
    lines = []
    for action in actions:
        for year in range(2021, 2025):
            for collectivity in collectivities:
                for section in BudgetSection:
                    if rng.random() < 1 / 6:
                        continue
                    requested = rng.randrange(0, 5_000_000)
                    arbitrated = (
                        None
                        if action.code == "G30" or rng.random() < 0.2
                        else rng.randrange(0, requested + 100_000)
                    )
                    spent = rng.randrange(0, (arbitrated or requested) + 50_000)
                    lines.append(
                        BudgetLineData(
                            action.code, year, collectivity, section, requested, arbitrated, spent
                        )
                    )
    return PlanData(
        name="Plan généré",
        collectivities=collectivities,
        first_year=2021,
        last_year=2024,
        objectives=[ObjectiveData(str(n), f"Objectif {n}") for n in (1, 2, 3)],
        actions=actions,
        budget_lines=lines,
        fundings=[
            FundingData("G03", "Région", 1_234_500),
            FundingData("G03", "État", 99),
            FundingData("G17", "Europe", 400_000),
        ],
    )


def test_generated_plan_totals_equal_the_sums_of_their_lines_archived_actions_left_out(engine):
    data = _generated_plan()
    assert any(b.arbitrated_cents is None for b in data.budget_lines)
    plan_id = _create(engine, data)
    with db.session_scope(engine, write=True) as session:
        session.execute(
            sa.update(Action)
            .where(Action.plan_id == plan_id, Action.code == "G05")
            .values(archived=True)
        )
    lines = _lines(engine, plan_id)
    assert "G05" not in {x.action_code for x in lines}
    assert len(lines) == len([b for b in data.budget_lines if b.action_code != "G05"])
    cofinancing = _cofinancing(engine, plan_id)
    for year in range(2021, 2025):
        for filters in _filters(lines):
            _check_year_budget(engine, plan_id, year, lines, cofinancing, **filters)
    _check_period_totals(engine, plan_id, lines)


def test_an_action_never_arbitrated_has_no_execution_rate(engine):
    plan_id = _create(engine, _generated_plan())
    with db.session_scope(engine) as session:
        row = next(r for r in year_budget(session, plan_id, 2022).rows if r.code == "G30")
    assert row.totals.arbitrated_cents == 0
    assert row.totals.requested_cents > 0
    assert row.totals.difference_cents == -row.totals.requested_cents
    assert row.totals.execution is None


# --------------------------------------------------------------------------
# Saving lines
# --------------------------------------------------------------------------


def test_save_lines_creates_and_updates_in_one_call_with_history_and_a_new_revision(
    engine, example_plan
):
    plan_id = example_plan.id
    existing = _line(engine, plan_id, 2026, "1.2", VILLE, INVEST)
    new_action = _action_id(engine, plan_id, "1.1")
    assert not any(x.action_code == "1.1" for x in _snapshot(engine, plan_id, 2026))
    with db.session_scope(engine) as session:
        revision = current_revision(session)

    changed = _save(
        engine,
        plan_id,
        2026,
        [
            _edit_of(
                existing,
                arbitrated_cents=existing.arbitrated_cents - 500_00,
                decision_date=date(2026, 3, 15),
            ),
            LineEdit(new_action, AGGLO, "fonctionnement", 12_000_00, None, 0, comment="Relance"),
        ],
    )

    assert changed == 2
    updated = _line(engine, plan_id, 2026, "1.2", VILLE, INVEST)
    assert updated.arbitrated_cents == existing.arbitrated_cents - 500_00
    assert updated.decision_date == date(2026, 3, 15)
    assert updated.requested_cents == existing.requested_cents
    assert updated.version == existing.version + 1
    created = _line(engine, plan_id, 2026, "1.1", AGGLO, FONCT)
    assert (created.requested_cents, created.arbitrated_cents, created.spent_cents) == (
        12_000_00,
        None,
        0,
    )
    assert created.comment == "Relance"
    with db.session_scope(engine) as session:
        assert current_revision(session) == revision + 1
        entries = session.exec(
            select(AuditEntry).where(AuditEntry.entity == "budget").order_by(AuditEntry.id)
        ).all()
    changes = {
        (e.entity_id, e.action_id, e.field, e.old_value, e.new_value)
        for e in entries
        if e.operation == "modification"
    }
    assert changes == {
        (
            existing.id,
            existing.action_id,
            "arbitrated_cents",
            str(existing.arbitrated_cents),
            str(existing.arbitrated_cents - 500_00),
        ),
        (existing.id, existing.action_id, "decision_date", None, "2026-03-15"),
    }
    creations = [e for e in entries if e.operation == "création"]
    assert [(e.entity_id, e.action_id, e.user_login) for e in creations] == [
        (created.id, new_action, "tests")
    ]


def test_saving_unchanged_lines_writes_nothing_and_keeps_the_revision(engine, example_plan):
    lines = _snapshot(engine, example_plan.id, 2025)
    rows = count_rows(engine)
    assert _save(engine, example_plan.id, 2025, [_edit_of(x) for x in lines]) == 0
    assert count_rows(engine) == rows
    assert _snapshot(engine, example_plan.id, 2025) == lines


def _valid_new_line(engine, plan_id: int) -> LineEdit:
    """A line that would be saved if the call were not refused."""
    return LineEdit(_action_id(engine, plan_id, "1.1"), VILLE, FONCT, requested_cents=1_000_00)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("negative requested", "ne peut pas être négatif"),
        ("negative arbitrated", "ne peut pas être négatif"),
        ("negative spent", "ne peut pas être négatif"),
        ("unknown collectivity", "collectivité inconnue « Commune voisine »"),
        ("unknown section", "section inconnue « exceptionnelle »"),
        ("duplicate line", "ligne en double"),
    ],
)
def test_save_lines_refuses_an_invalid_line_and_writes_nothing(
    engine, example_plan, case, expected
):
    plan_id = example_plan.id
    line = _line(engine, plan_id, 2026, "1.2", VILLE, INVEST)
    bad = {
        "negative requested": _edit_of(line, requested_cents=-1),
        "negative arbitrated": _edit_of(line, arbitrated_cents=-1),
        "negative spent": _edit_of(line, spent_cents=-1),
        "unknown collectivity": _edit_of(line, line_id=None, collectivity="Commune voisine"),
        "unknown section": _edit_of(line, line_id=None, section="exceptionnelle"),
        "duplicate line": _edit_of(line, line_id=None, spent_cents=line.spent_cents + 1),
    }[case]
    edits = [_edit_of(line, spent_cents=line.spent_cents + 100), _valid_new_line(engine, plan_id)]
    error = _refused(engine, plan_id, 2026, [*edits, bad])
    assert error.message == "Aucune ligne budgétaire n'a été enregistrée."
    assert len(error.details) == 1
    assert error.details[0].startswith("Ligne 3 (1.2) : ")
    assert expected in error.details[0]


def test_save_lines_refuses_a_year_outside_the_plan_period(engine, example_plan):
    edit = _valid_new_line(engine, example_plan.id)
    error = _refused(engine, example_plan.id, 2027, [edit])
    assert "L'année 2027 est hors de la période du plan (2018-2026)." in error.details
    with db.session_scope(engine) as session:
        assert session.exec(select(BudgetLine).where(BudgetLine.year == 2027)).first() is None


def test_save_lines_refuses_a_line_changed_by_someone_else_meanwhile(engine, example_plan):
    plan_id = example_plan.id
    seen = _line(engine, plan_id, 2026, "1.2", VILLE, INVEST)
    _save(engine, plan_id, 2026, [_edit_of(seen, spent_cents=seen.spent_cents + 1)])
    stale = _edit_of(seen, arbitrated_cents=0)  # still carries the version first read
    error = _refused(engine, plan_id, 2026, [stale, _valid_new_line(engine, plan_id)])
    assert "modifiée entre-temps par quelqu'un d'autre" in str(error)
    assert _line(engine, plan_id, 2026, "1.2", VILLE, INVEST).arbitrated_cents == (
        seen.arbitrated_cents
    )


def test_save_lines_refuses_a_line_id_that_names_another_line(engine, example_plan):
    # The table row says "investissement" but carries the id of the "fonctionnement"
    # line: saving it would silently overwrite the wrong line.
    plan_id = example_plan.id
    invest = _line(engine, plan_id, 2026, "1.2", VILLE, INVEST)
    fonct = _line(engine, plan_id, 2026, "1.2", VILLE, FONCT)
    mislabelled = _edit_of(invest, spent_cents=invest.spent_cents + 1, line_id=fonct.id)
    mislabelled.expected_version = fonct.version
    error = _refused(engine, plan_id, 2026, [mislabelled])
    assert "ne correspond pas" in str(error)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.PILOT])
def test_viewers_and_pilots_cannot_save_budget_lines(engine, example_plan, role):
    actor = _account(engine, role, f"compte-{role.value}")
    line = _line(engine, example_plan.id, 2026, "1.2", VILLE, INVEST)
    edit = _edit_of(line, spent_cents=line.spent_cents + 1)
    error = _refused(engine, example_plan.id, 2026, [edit], PermissionDenied, actor=actor)
    assert "peuvent modifier le plan" in str(error)


@pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN])
def test_editors_and_admins_can_save_budget_lines(engine, example_plan, role):
    actor = _account(engine, role, f"compte-{role.value}")
    line = _line(engine, example_plan.id, 2026, "1.2", VILLE, INVEST)
    edit = _edit_of(line, spent_cents=line.spent_cents + 1)
    assert _save(engine, example_plan.id, 2026, [edit], actor=actor) == 1
    assert _line(engine, example_plan.id, 2026, "1.2", VILLE, INVEST).spent_cents == (
        line.spent_cents + 1
    )
    with db.session_scope(engine) as session:
        entry = session.exec(
            select(AuditEntry).where(
                AuditEntry.entity == "budget", AuditEntry.field == "spent_cents"
            )
        ).one()
    assert (entry.user_id, entry.user_login) == (actor.id, actor.login)


def test_nobody_logged_in_cannot_save_budget_lines(engine, example_plan):
    line = _line(engine, example_plan.id, 2026, "1.2", VILLE, INVEST)
    edit = _edit_of(line, spent_cents=line.spent_cents + 1)
    _refused(engine, example_plan.id, 2026, [edit], PermissionDenied, actor=None)


# --------------------------------------------------------------------------
# Closing a year's arbitration
# --------------------------------------------------------------------------


def test_only_admins_close_or_reopen_a_year(engine, example_plan):
    editor = _account(engine, Role.EDITOR, "editeur")
    rows = count_rows(engine)
    with pytest.raises(PermissionDenied, match="Seuls les administrateurs"):
        _close(engine, example_plan.id, 2026, actor=editor)
    assert count_rows(engine) == rows
    _close(engine, example_plan.id, 2026)
    rows = count_rows(engine)
    with pytest.raises(PermissionDenied, match="Seuls les administrateurs"):
        _reopen(engine, example_plan.id, 2026, "erreur d'arbitrage", actor=editor)
    assert count_rows(engine) == rows
    with db.session_scope(engine) as session:
        assert is_closed(session, example_plan.id, 2026)


def test_closing_a_year_marks_only_that_year_closed(engine, example_plan):
    with db.session_scope(engine) as session:
        assert not is_closed(session, example_plan.id, 2026)
        assert not year_budget(session, example_plan.id, 2026).closed
    _close(engine, example_plan.id, 2026)
    with db.session_scope(engine) as session:
        assert is_closed(session, example_plan.id, 2026)
        assert not is_closed(session, example_plan.id, 2025)
        closed = year_budget(session, example_plan.id, 2026)
        assert closed.closed and closed.closed_at is not None
        assert not year_budget(session, example_plan.id, 2025).closed


@pytest.mark.parametrize(
    "change",
    [
        {"requested_cents": 1},
        {"arbitrated_cents": 0},
        {"arbitrated_cents": None},
        {"decision_date": date(2026, 2, 1)},
    ],
    ids=["requested", "arbitrated", "arbitration removed", "decision date"],
)
def test_a_closed_year_refuses_changes_to_requested_or_arbitrated_amounts(
    engine, example_plan, change
):
    plan_id = example_plan.id
    _close(engine, plan_id, 2026)
    line = _line(engine, plan_id, 2026, "1.2", VILLE, INVEST)
    field, value = next(iter(change.items()))
    if field == "requested_cents":
        change = {field: line.requested_cents + value}
    other = _line(engine, plan_id, 2026, "1.2", VILLE, FONCT)
    edits = [_edit_of(other, spent_cents=other.spent_cents + 1), _edit_of(line, **change)]
    error = _refused(engine, plan_id, 2026, edits)
    assert len(error.details) == 1
    assert FROZEN_TEXT in error.details[0]
    assert "seul le réalisé reste modifiable" in error.details[0]


def test_a_closed_year_still_accepts_spent_amounts(engine, example_plan):
    plan_id = example_plan.id
    _close(engine, plan_id, 2026)
    line = _line(engine, plan_id, 2026, "1.2", VILLE, INVEST)
    edit = _edit_of(line, spent_cents=line.spent_cents + 250_00, comment="Facture reçue")
    assert _save(engine, plan_id, 2026, [edit]) == 1
    after = _line(engine, plan_id, 2026, "1.2", VILLE, INVEST)
    assert after.spent_cents == line.spent_cents + 250_00
    assert (after.requested_cents, after.arbitrated_cents) == (
        line.requested_cents,
        line.arbitrated_cents,
    )


def test_a_closed_year_refuses_a_new_line_with_a_requested_amount(engine, example_plan):
    plan_id = example_plan.id
    _close(engine, plan_id, 2026)
    error = _refused(engine, plan_id, 2026, [_valid_new_line(engine, plan_id)])
    assert FROZEN_TEXT in str(error)


def test_a_closed_year_accepts_a_new_line_with_only_a_spent_amount(engine, example_plan):
    plan_id = example_plan.id
    _close(engine, plan_id, 2026)
    action_id = _action_id(engine, plan_id, "1.1")
    assert _save(engine, plan_id, 2026, [LineEdit(action_id, VILLE, FONCT, spent_cents=80_00)])
    line = _line(engine, plan_id, 2026, "1.1", VILLE, FONCT)
    assert (line.requested_cents, line.arbitrated_cents, line.spent_cents) == (0, None, 80_00)


def _import_changing_2026(engine, plan_id: int, *, apply: bool, field: str = "arbitrated_cents"):  # noqa: ANN202
    with db.session_scope(engine) as session:
        data, versions = plan_data(session, plan_id)
    line = next(b for b in data.budget_lines if b.year == 2026 and b.arbitrated_cents)
    setattr(line, field, getattr(line, field) + 1_000_00)
    with db.session_scope(engine, write=apply) as session:
        report = import_plan(
            session, users.system_actor("import"), data, versions=versions, apply=apply
        )
    return report, line


def test_an_import_cannot_change_the_frozen_amounts_of_a_closed_year(engine, example_plan):
    plan_id = example_plan.id
    _close(engine, plan_id, 2026)
    rows = count_rows(engine)

    report, line = _import_changing_2026(engine, plan_id, apply=False)
    assert not report.ok
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"Budget budget {line.action_code} 2026 ")
    assert FROZEN_TEXT in report.problems[0]

    with pytest.raises(ValidationError, match="L'import est refusé") as refusal:
        _import_changing_2026(engine, plan_id, apply=True)
    assert any(FROZEN_TEXT in d for d in refusal.value.details)
    assert count_rows(engine) == rows
    stored = _line(engine, plan_id, 2026, line.action_code, line.collectivity, line.section)
    assert stored.arbitrated_cents == line.arbitrated_cents - 1_000_00


def test_an_import_may_change_the_spent_amounts_of_a_closed_year(engine, example_plan):
    plan_id = example_plan.id
    _close(engine, plan_id, 2026)
    report, line = _import_changing_2026(engine, plan_id, apply=True, field="spent_cents")
    assert report.ok
    stored = _line(engine, plan_id, 2026, line.action_code, line.collectivity, line.section)
    assert stored.spent_cents == line.spent_cents


@pytest.mark.parametrize("reason", ["", "   "])
def test_reopening_a_year_needs_a_reason(engine, example_plan, reason):
    _close(engine, example_plan.id, 2026)
    rows = count_rows(engine)
    with pytest.raises(ValidationError, match="raison de la réouverture"):
        _reopen(engine, example_plan.id, 2026, reason)
    assert count_rows(engine) == rows
    with db.session_scope(engine) as session:
        assert is_closed(session, example_plan.id, 2026)


def test_closing_and_reopening_are_recorded_in_the_history(engine, example_plan):
    admin = _account(engine, Role.ADMIN, "administratrice")
    _close(engine, example_plan.id, 2026, actor=admin)
    _reopen(engine, example_plan.id, 2026, "  Décision modificative de juin  ", actor=admin)
    with db.session_scope(engine) as session:
        entries = session.exec(
            select(AuditEntry).where(AuditEntry.entity == "exercice").order_by(AuditEntry.id)
        ).all()
    assert [(e.operation, e.old_value, e.new_value, e.user_id, e.plan_id) for e in entries] == [
        ("clôture de l'arbitrage", None, "2026", admin.id, example_plan.id),
        (
            "réouverture de l'arbitrage",
            "2026",
            "Décision modificative de juin",
            admin.id,
            example_plan.id,
        ),
    ]


def test_a_reopened_year_accepts_changes_again_from_the_app_and_the_import(engine, example_plan):
    plan_id = example_plan.id
    _close(engine, plan_id, 2026)
    _reopen(engine, plan_id, 2026, "Budget supplémentaire")
    with db.session_scope(engine) as session:
        assert not is_closed(session, plan_id, 2026)
    line = _line(engine, plan_id, 2026, "1.2", VILLE, INVEST)
    assert _save(engine, plan_id, 2026, [_edit_of(line, arbitrated_cents=0)]) == 1
    assert _line(engine, plan_id, 2026, "1.2", VILLE, INVEST).arbitrated_cents == 0

    report, changed = _import_changing_2026(engine, plan_id, apply=True)
    assert report.ok
    stored = _line(
        engine, plan_id, 2026, changed.action_code, changed.collectivity, changed.section
    )
    assert stored.arbitrated_cents == changed.arbitrated_cents


def test_a_reopened_year_can_be_closed_again(engine, example_plan):
    _close(engine, example_plan.id, 2026)
    _reopen(engine, example_plan.id, 2026, "Correction")
    _close(engine, example_plan.id, 2026)
    with db.session_scope(engine) as session:
        assert is_closed(session, example_plan.id, 2026)


def test_closing_an_already_closed_year_is_refused(engine, example_plan):
    _close(engine, example_plan.id, 2026)
    rows = count_rows(engine)
    with pytest.raises(ValidationError, match="L'arbitrage 2026 est déjà clôturé"):
        _close(engine, example_plan.id, 2026)
    assert count_rows(engine) == rows


def test_closing_a_year_of_a_missing_plan_is_a_not_found_error(engine, example_plan):
    rows = count_rows(engine)
    with pytest.raises(NotFoundError, match="n'existe pas"):
        _close(engine, example_plan.id + 1000, 2026)
    assert count_rows(engine) == rows


def test_reopening_a_year_that_is_not_closed_is_refused(engine, example_plan):
    rows = count_rows(engine)
    with pytest.raises(ValidationError, match="L'arbitrage 2025 n'est pas clôturé"):
        _reopen(engine, example_plan.id, 2025, "Par erreur")
    assert count_rows(engine) == rows


# --------------------------------------------------------------------------
# Alerts
# --------------------------------------------------------------------------


def _alert_plan(engine, actions: list[ActionData], lines: list[BudgetLineData]) -> int:
    return _create(
        engine,
        PlanData(
            name="Plan des alertes",
            collectivities=["Ville"],
            first_year=2022,
            last_year=2025,
            objectives=[ObjectiveData("1", "Objectif")],
            actions=actions,
            budget_lines=lines,
        ),
    )


def _action(code: str, status: ActionStatus = ActionStatus.EN_COURS, progress: int = 50):  # noqa: ANN202
    return ActionData(code, f"Action {code}", "1", ["Ville"], status=status, progress=progress)


def _budget(code: str, arbitrated: int | None, spent: int, requested: int = 10_000, year=2023):  # noqa: ANN001, ANN202
    return BudgetLineData(code, year, "Ville", FONCT, requested, arbitrated, spent)


def _alerts(engine, plan_id: int) -> set[tuple[str, str, int | None]]:
    with db.session_scope(engine) as session:
        return {(a.action_code, a.kind, a.year) for a in budget_alerts(session, plan_id, AT)}


def test_spending_above_the_arbitrated_amount_is_flagged(engine):
    plan_id = _alert_plan(
        engine,
        [_action("A"), _action("B"), _action("C"), _action("D")],
        [
            _budget("A", arbitrated=8_000, spent=8_001),
            _budget("B", arbitrated=8_000, spent=8_000),
            _budget("C", arbitrated=None, spent=1),
            _budget("D", arbitrated=None, spent=0),
        ],
    )
    flagged = {(code, year) for code, kind, year in _alerts(engine, plan_id) if kind == "overspent"}
    assert flagged == {("A", 2023), ("C", 2023)}


def test_nothing_arbitrated_and_nothing_spent_raises_no_alert(engine):
    plan_id = _alert_plan(
        engine,
        [_action("A", progress=0), _action("B", ActionStatus.REALISE, 100)],
        [_budget("A", arbitrated=0, spent=0), _budget("B", arbitrated=0, spent=0)],
    )
    assert _alerts(engine, plan_id) == set()


@pytest.mark.parametrize(
    ("progress", "spent", "flagged"),
    [
        (30, 4_999, False),
        (30, 5_000, False),  # exactly the margin: not more than it
        (30, 5_001, True),
        (0, 2_000, False),
        (0, 2_001, True),
        (80, 10_000, False),
    ],
)
def test_spending_ahead_of_progress_is_flagged_only_beyond_the_margin(
    engine, progress, spent, flagged
):
    assert SPENDING_AHEAD_MARGIN == 20  # the cases above sit around 20 points
    plan_id = _alert_plan(
        engine, [_action("A", progress=progress)], [_budget("A", arbitrated=10_000, spent=spent)]
    )
    assert _alerts(engine, plan_id) == ({("A", "spending_ahead", None)} if flagged else set())


def test_spending_ahead_compares_the_whole_action_not_each_year(engine):
    # 2022 fully spent, 2023 untouched: 50 % of 10 000 spent for 30 % progress.
    plan_id = _alert_plan(
        engine,
        [_action("A", progress=30)],
        [
            _budget("A", arbitrated=5_000, spent=5_000, year=2022),
            _budget("A", arbitrated=5_000, spent=0, year=2023),
        ],
    )
    assert _alerts(engine, plan_id) == set()


def test_unspent_credits_of_a_finished_or_abandoned_action_are_flagged(engine):
    plan_id = _alert_plan(
        engine,
        [
            _action("R", ActionStatus.REALISE, 100),
            _action("X", ActionStatus.ABANDONNE, 40),
            _action("E", ActionStatus.EN_COURS, 40),
            _action("F", ActionStatus.REALISE, 100),
        ],
        [
            _budget("R", arbitrated=10_000, spent=9_000),
            _budget("X", arbitrated=10_000, spent=1_000),
            _budget("E", arbitrated=10_000, spent=1_000),
            _budget("F", arbitrated=10_000, spent=10_000),
        ],
    )
    assert _alerts(engine, plan_id) == {
        ("R", "unspent_closed", None),
        ("X", "unspent_closed", None),
    }
    with db.session_scope(engine) as session:
        messages = {a.action_code: a.message for a in budget_alerts(session, plan_id, AT)}
    assert messages["R"].startswith("Action réalisée : ")
    assert messages["X"].startswith("Action abandonnée : ")


def test_a_request_for_a_year_outside_the_plan_period_is_flagged(engine):
    plan_id = _alert_plan(
        engine,
        [_action("A"), _action("B")],
        [
            _budget("A", arbitrated=None, spent=0, requested=7_000, year=2025),
            _budget("A", arbitrated=None, spent=0, requested=7_000, year=2024),
            _budget("B", arbitrated=None, spent=0, requested=0, year=2025),
        ],
    )
    assert _alerts(engine, plan_id) == set()
    with db.session_scope(engine, write=True) as session:
        session.execute(sa.update(Plan).where(Plan.id == plan_id).values(last_year=2024))
    assert _alerts(engine, plan_id) == {("A", "outside_period", 2025)}
    with db.session_scope(engine) as session:
        (alert,) = budget_alerts(session, plan_id, AT)
    assert "hors de la période 2022-2024" in alert.message


def test_closing_a_year_outside_the_plan_period_is_refused(engine, example_plan):
    from tracker.services.budgets import close_year
    from tracker.services.users import system_actor

    before = count_rows(engine)
    with (
        pytest.raises(ValidationError, match="hors de la période"),
        db.session_scope(engine, write=True) as session,
    ):
        close_year(session, system_actor("tests"), example_plan.id, 2040)
    assert count_rows(engine) == before
