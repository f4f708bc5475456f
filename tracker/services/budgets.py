"""Budgets arbitrated each year: requests, arbitration, execution, closing a year.

All totals are summed in SQL. Money is integer cents. Once an admin closes a
year's arbitration, its requested and arbitrated amounts are frozen (spent
amounts stay editable) on every write path: this module, the import, any
service call. Reopening needs an admin and a reason; both are audited.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.errors import NotFoundError, ValidationError
from tracker.formats import format_eur, format_percent
from tracker.models import (
    Action,
    ActionStatus,
    BudgetLine,
    BudgetSection,
    BudgetYear,
    Collectivity,
    Funding,
    Objective,
    Plan,
    User,
    utcnow,
)
from tracker.services import audit
from tracker.services.locking import changed_by, locked_get
from tracker.services.permissions import Permission, require
from tracker.services.plans import plan_structure
from tracker.services.revision import bump_revision

# An action whose share of budget spent exceeds its progress by more than this
# many points is flagged (money going out faster than the work gets done).
SPENDING_AHEAD_MARGIN = 20


@dataclass(frozen=True)
class Totals:
    requested_cents: int = 0
    arbitrated_cents: int = 0
    spent_cents: int = 0
    cofinancing_cents: int = 0

    @property
    def difference_cents(self) -> int:
        """Arbitrated minus requested (negative: the request was cut)."""
        return self.arbitrated_cents - self.requested_cents

    @property
    def execution(self) -> float | None:
        """Spent as a share of arbitrated, in % (None when nothing was arbitrated)."""
        if not self.arbitrated_cents:
            return None
        return 100 * self.spent_cents / self.arbitrated_cents


@dataclass(frozen=True)
class ActionBudget:
    action_id: int
    code: str
    title: str
    objective_code: str
    objective_title: str
    totals: Totals


@dataclass(frozen=True)
class YearBudget:
    plan_id: int
    year: int
    closed: bool
    closed_at: object | None
    rows: list[ActionBudget]
    by_objective: dict[str, Totals]
    by_collectivity: dict[str, Totals]
    total: Totals


def _closure(session: Session, plan_id: int, year: int) -> BudgetYear | None:
    return session.exec(
        select(BudgetYear)
        .where(BudgetYear.plan_id == plan_id, BudgetYear.year == year)
        .execution_options(populate_existing=True)
    ).first()


def is_closed(session: Session, plan_id: int, year: int) -> bool:
    """Whether the year's arbitration is closed (requested and arbitrated amounts frozen)."""
    row = _closure(session, plan_id, year)
    return row is not None and row.arbitration_closed_at is not None


def closed_years(session: Session, plan_id: int) -> set[int]:
    return set(
        session.exec(
            select(BudgetYear.year).where(
                BudgetYear.plan_id == plan_id, BudgetYear.arbitration_closed_at.is_not(None)
            )
        )
    )


def _line_filters(
    plan_id: int,
    year: int | None,
    collectivity: str | None,
    section: BudgetSection | None,
    objective: str | None,
    action_ids: list[int] | None = None,
) -> list:
    conditions = [Action.plan_id == plan_id, Action.archived == sa.false()]
    if action_ids is not None:
        conditions.append(Action.id.in_(action_ids))
    if year is not None:
        conditions.append(BudgetLine.year == year)
    if collectivity:
        conditions.append(Collectivity.name == collectivity)
    if section:
        conditions.append(BudgetLine.section == section)
    if objective:
        conditions.append(Objective.code == objective)
    return conditions


def _sums():  # noqa: ANN202
    return (
        sa.func.coalesce(sa.func.sum(BudgetLine.requested_cents), 0),
        sa.func.coalesce(sa.func.sum(BudgetLine.arbitrated_cents), 0),
        sa.func.coalesce(sa.func.sum(BudgetLine.spent_cents), 0),
    )


def _base():  # noqa: ANN202
    return (
        sa.select()
        .select_from(BudgetLine)
        .join(Action, Action.id == BudgetLine.action_id)
        .join(Objective, Objective.id == Action.objective_id)
        .join(Collectivity, Collectivity.id == BudgetLine.collectivity_id)
    )


def year_budget(
    session: Session,
    plan_id: int,
    year: int,
    *,
    collectivity: str | None = None,
    section: BudgetSection | None = None,
    objective: str | None = None,
    action_ids: list[int] | None = None,
) -> YearBudget:
    """One year: a row per action (with its co-financing), subtotals per objective and
    per collectivity, and the grand total, all summed in SQL."""
    where = _line_filters(plan_id, year, collectivity, section, objective, action_ids)
    per_action = session.execute(
        _base()
        .add_columns(
            Action.id, Action.code, Action.title, Objective.code, Objective.title, *_sums()
        )
        .where(*where)
        .group_by(
            Action.id,
            Action.code,
            Action.title,
            Objective.code,
            Objective.title,
            Action.position,
            Objective.position,
        )
        .order_by(Objective.position, Objective.code, Action.position, Action.code)
    ).all()
    cofinancing = dict(
        session.execute(
            sa.select(Funding.action_id, sa.func.sum(Funding.amount_cents))
            .join(Action, Action.id == Funding.action_id)
            .where(Action.plan_id == plan_id)
            .group_by(Funding.action_id)
        ).all()
    )
    rows = [
        ActionBudget(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            Totals(int(r[5]), int(r[6]), int(r[7]), int(cofinancing.get(r[0], 0))),
        )
        for r in per_action
    ]
    by_objective: dict[str, Totals] = {}
    for r in rows:
        t = by_objective.get(r.objective_code, Totals())
        by_objective[r.objective_code] = Totals(
            t.requested_cents + r.totals.requested_cents,
            t.arbitrated_cents + r.totals.arbitrated_cents,
            t.spent_cents + r.totals.spent_cents,
            t.cofinancing_cents + r.totals.cofinancing_cents,
        )
    per_collectivity = session.execute(
        _base()
        .add_columns(Collectivity.name, *_sums())
        .where(*where)
        .group_by(Collectivity.name, Collectivity.position)
        .order_by(Collectivity.position)
    ).all()
    by_collectivity = {r[0]: Totals(int(r[1]), int(r[2]), int(r[3])) for r in per_collectivity}
    grand = session.execute(_base().add_columns(*_sums()).where(*where)).one()
    closure = _closure(session, plan_id, year)
    return YearBudget(
        plan_id=plan_id,
        year=year,
        closed=closure is not None and closure.arbitration_closed_at is not None,
        closed_at=closure.arbitration_closed_at if closure else None,
        rows=rows,
        by_objective=by_objective,
        by_collectivity=by_collectivity,
        total=Totals(
            int(grand[0]),
            int(grand[1]),
            int(grand[2]),
            sum(r.totals.cofinancing_cents for r in rows),
        ),
    )


@dataclass(frozen=True)
class YearSplit:
    year: int
    collectivity: str
    section: BudgetSection
    totals: Totals


def budget_by_year(
    session: Session,
    plan_id: int,
    *,
    objective: str | None = None,
    collectivity: str | None = None,
    action_ids: list[int] | None = None,
) -> list[YearSplit]:
    """Per year, collectivity and section: requested, arbitrated, spent (summed in SQL)."""
    rows = session.execute(
        _base()
        .add_columns(BudgetLine.year, Collectivity.name, BudgetLine.section, *_sums())
        .where(*_line_filters(plan_id, None, collectivity, None, objective, action_ids))
        .group_by(BudgetLine.year, Collectivity.name, Collectivity.position, BudgetLine.section)
        .order_by(BudgetLine.year, Collectivity.position, BudgetLine.section)
    ).all()
    return [
        YearSplit(r[0], r[1], BudgetSection(r[2]), Totals(int(r[3]), int(r[4]), int(r[5])))
        for r in rows
    ]


def _period_totals(session: Session, plan_id: int, model: type) -> dict[str, Totals]:
    """Totals over the whole period per code of ``model`` (Objective or Action), in SQL."""
    rows = session.execute(
        _base()
        .add_columns(model.code, *_sums())
        .where(*_line_filters(plan_id, None, None, None, None))
        .group_by(model.code, model.position)
        .order_by(model.position)
    ).all()
    return {r[0]: Totals(int(r[1]), int(r[2]), int(r[3])) for r in rows}


def budget_by_objective(session: Session, plan_id: int) -> dict[str, Totals]:
    """Per objective code, over the whole period."""
    return _period_totals(session, plan_id, Objective)


def budget_by_action(session: Session, plan_id: int) -> dict[str, Totals]:
    """Per action code, over the whole period."""
    return _period_totals(session, plan_id, Action)


# --------------------------------------------------------------------------
# Editing lines
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LineView:
    id: int
    version: int
    action_id: int
    action_code: str
    collectivity: str
    section: BudgetSection
    requested_cents: int
    arbitrated_cents: int | None
    spent_cents: int
    decision_date: date | None
    comment: str


def year_lines(session: Session, plan_id: int, year: int) -> list[LineView]:
    """Every budget line of a year, for the editable tables."""
    rows = session.execute(
        sa.select(BudgetLine, Action.code, Collectivity.name)
        .join(Action, Action.id == BudgetLine.action_id)
        .join(Collectivity, Collectivity.id == BudgetLine.collectivity_id)
        .where(Action.plan_id == plan_id, BudgetLine.year == year, Action.archived == sa.false())
        .order_by(Action.position, Action.code, Collectivity.position, BudgetLine.section)
    ).all()
    return [
        LineView(
            b.id,
            b.version,
            b.action_id,
            code,
            name,
            b.section,
            b.requested_cents,
            b.arbitrated_cents,
            b.spent_cents,
            b.decision_date,
            b.comment,
        )
        for b, code, name in rows
    ]


@dataclass
class LineEdit:
    """A line as saved from a table: ``line_id`` None for a new line."""

    action_id: int
    collectivity: str
    section: BudgetSection | str
    requested_cents: int = 0
    arbitrated_cents: int | None = None
    spent_cents: int = 0
    decision_date: date | None = None
    comment: str = ""
    line_id: int | None = None
    expected_version: int | None = None


FROZEN = ("requested_cents", "arbitrated_cents", "decision_date")


def frozen_message(year: int) -> str:
    return (
        f"L'arbitrage {year} est clôturé : les montants demandés et arbitrés de {year} "
        "sont figés (seul le réalisé reste modifiable). Un administrateur peut rouvrir "
        "l'exercice en donnant une raison."
    )


def _locked_plan(session: Session, plan_id: int) -> Plan:
    """The plan, locked until the end of the transaction: what every budget save,
    closing and reopening of the plan takes first (tracker.services.locking).

    A budget save checks its lines against the lines as they are (versions, a line
    added meanwhile) and against the year's closure, which may have no row yet:
    the plan's row stands for both. Without it, on PostgreSQL, two saves from the
    same table both passed the version check and the second overwrote the first,
    and a year could be closed between a save's check and its write, leaving
    frozen amounts changed after the closure.
    """
    plan = locked_get(session, Plan, plan_id)
    if plan is None:
        raise NotFoundError(f"Le plan n°{plan_id} n'existe pas.")
    return plan


def _changed_meanwhile(session: Session, line: BudgetLine, version: int) -> str:
    """« quelqu'un d'autre (logins) » who saved the line after ``version``."""
    who = ", ".join(changed_by(session, "budget", line.id, version))
    return f"quelqu'un d'autre ({who})" if who else "quelqu'un d'autre"


def save_lines(
    session: Session, actor: User | None, plan_id: int, year: int, edits: list[LineEdit]
) -> int:
    """Save a year's lines (requests, arbitration, spending) in ONE transaction.

    Every problem is listed and nothing is saved while any line is invalid: a
    negative amount, an unknown action or collectivity, a year outside the
    plan's period, a duplicate line, a line changed meanwhile by someone else (or
    a new row for a line that exists: added meanwhile), or a frozen amount of a
    closed year. Returns the number of lines changed.
    """
    require(actor, Permission.EDIT_PLAN)
    plan = _locked_plan(session, plan_id)
    problems: list[str] = []
    if not plan.first_year <= year <= plan.last_year:
        problems.append(
            f"L'année {year} est hors de la période du plan ({plan.first_year}-{plan.last_year})."
        )
    closed = is_closed(session, plan_id, year)
    actions = {a.id: a for a in session.exec(select(Action).where(Action.plan_id == plan_id))}
    collectivities = {
        c.name: c for c in session.exec(select(Collectivity).where(Collectivity.plan_id == plan_id))
    }
    existing = {
        b.id: b
        for b in session.exec(
            select(BudgetLine)
            .join(Action, Action.id == BudgetLine.action_id)
            .where(Action.plan_id == plan_id, BudgetLine.year == year)
            .execution_options(populate_existing=True)
        )
    }
    keys = {(b.action_id, b.collectivity_id, b.section): b.id for b in existing.values()}
    planned: list[tuple[BudgetLine | None, dict]] = []
    seen: set[tuple] = set()
    for n, e in enumerate(edits, start=1):
        action = actions.get(e.action_id)
        where = f"Ligne {n}" + (f" ({action.code})" if action else "")
        if action is None:
            problems.append(f"{where} : action inconnue.")
            continue
        collectivity = collectivities.get(e.collectivity)
        if collectivity is None:
            problems.append(f"{where} : collectivité inconnue « {e.collectivity} ».")
            continue
        try:
            section = BudgetSection(getattr(e.section, "value", e.section))
        except ValueError:
            problems.append(f"{where} : section inconnue « {e.section} ».")
            continue
        amounts = (e.requested_cents, e.arbitrated_cents or 0, e.spent_cents)
        if any(not isinstance(v, int) or isinstance(v, bool) for v in amounts):
            problems.append(f"{where} : montant illisible.")
            continue
        if any(v < 0 for v in amounts):
            problems.append(f"{where} : un montant ne peut pas être négatif.")
            continue
        key = (action.id, collectivity.id, section)
        if key in seen:
            problems.append(f"{where} : ligne en double ({e.collectivity}, {section.value}).")
            continue
        seen.add(key)
        values = {
            "requested_cents": e.requested_cents,
            "arbitrated_cents": e.arbitrated_cents,
            "spent_cents": e.spent_cents,
            "decision_date": e.decision_date,
            "comment": e.comment or "",
        }
        if e.line_id is None and key in keys:
            # A new row for a line that exists: added since the table was read (or
            # its row removed and typed again). Saving it would overwrite that line
            # without a look at what it holds.
            line = existing[keys[key]]
            who = _changed_meanwhile(session, line, 0)
            problems.append(
                f"{where} : la ligne {e.collectivity}, {section.value} existe déjà, peut-être "
                f"ajoutée entre-temps par {who} ; rechargez le tableau pour la modifier."
            )
            continue
        line = existing.get(e.line_id) if e.line_id is not None else None
        if e.line_id is not None and line is None:
            problems.append(f"{where} : ligne introuvable (supprimée entre-temps ?).")
            continue
        # A row whose id names another line would silently overwrite that line.
        if line is not None and (line.action_id, line.collectivity_id, line.section) != key:
            problems.append(
                f"{where} : la ligne n°{line.id} ne correspond pas à l'action, la collectivité "
                "ou la section indiquées ; rechargez le tableau."
            )
            continue
        if (
            line is not None
            and e.expected_version is not None
            and line.version != e.expected_version
        ):
            who = _changed_meanwhile(session, line, e.expected_version)
            problems.append(f"{where} : modifiée entre-temps par {who} ; rechargez le tableau.")
            continue
        if closed:
            before = {
                f: getattr(line, f) if line else (0 if f == "requested_cents" else None)
                for f in FROZEN
            }
            if any(values[f] != before[f] for f in FROZEN):
                problems.append(f"{where} : {frozen_message(year)}")
                continue
        planned.append(
            (line, {"action": action, "collectivity": collectivity, "section": section, **values})
        )
    if problems:
        raise ValidationError("Aucune ligne budgétaire n'a été enregistrée.", details=problems)
    changed = 0
    for line, values in planned:
        action, collectivity, section = (
            values.pop("action"),
            values.pop("collectivity"),
            values.pop("section"),
        )
        label = f"{action.code} {year} {collectivity.name} {section.value}"
        if line is None:
            line = BudgetLine(
                action_id=action.id,
                year=year,
                collectivity_id=collectivity.id,
                section=section,
                **values,
            )
            session.add(line)
            session.flush()
            audit.record(
                session,
                actor=actor,
                entity="budget",
                entity_id=line.id,
                plan_id=plan_id,
                action_id=action.id,
                entity_version=line.version,
                operation="création",
                new=label,
            )
            changed += 1
            continue
        diff = {k: v for k, v in values.items() if getattr(line, k) != v}
        if not diff:
            continue
        line.version += 1
        for name, value in diff.items():
            audit.record(
                session,
                actor=actor,
                entity="budget",
                entity_id=line.id,
                plan_id=plan_id,
                action_id=action.id,
                entity_version=line.version,
                operation="modification",
                field=name,
                old=getattr(line, name),
                new=value,
                context=label,
            )
            setattr(line, name, value)
        session.add(line)
        changed += 1
    if changed:
        bump_revision(session)
    return changed


def close_year(session: Session, actor: User | None, plan_id: int, year: int) -> BudgetYear:
    """Close a year's arbitration (admins): its requested and arbitrated amounts freeze."""
    require(actor, Permission.CLOSE_BUDGET_YEAR)
    plan = _locked_plan(session, plan_id)
    if not plan.first_year <= year <= plan.last_year:
        raise ValidationError(
            f"L'année {year} est hors de la période du plan ({plan.first_year}-{plan.last_year})."
        )
    row = _closure(session, plan_id, year) or BudgetYear(plan_id=plan_id, year=year)
    if row.arbitration_closed_at is not None:
        raise ValidationError(f"L'arbitrage {year} est déjà clôturé.")
    row.arbitration_closed_at = utcnow()
    row.closed_by_id = actor.id
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity="exercice",
        entity_id=row.id,
        plan_id=plan_id,
        operation="clôture de l'arbitrage",
        new=str(year),
    )
    bump_revision(session)
    return row


def reopen_year(
    session: Session, actor: User | None, plan_id: int, year: int, reason: str
) -> BudgetYear:
    """Reopen a closed year (admins), giving a reason that goes to the history."""
    require(actor, Permission.CLOSE_BUDGET_YEAR)
    if not (reason or "").strip():
        raise ValidationError("Indiquez la raison de la réouverture de l'exercice.")
    _locked_plan(session, plan_id)
    row = _closure(session, plan_id, year)
    if row is None or row.arbitration_closed_at is None:
        raise ValidationError(f"L'arbitrage {year} n'est pas clôturé.")
    row.arbitration_closed_at = None
    row.closed_by_id = None
    session.add(row)
    audit.record(
        session,
        actor=actor,
        entity="exercice",
        entity_id=row.id,
        plan_id=plan_id,
        operation="réouverture de l'arbitrage",
        old=str(year),
        new=reason.strip(),
    )
    bump_revision(session)
    return row


# --------------------------------------------------------------------------
# Alerts
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetAlert:
    action_code: str
    kind: str
    message: str
    year: int | None = None


ALERT_KINDS = {
    "overspent": "Dépense au-delà de l'arbitrage",
    "spending_ahead": "Dépense en avance sur l'avancement",
    "unspent_closed": "Crédits non consommés sur une action terminée",
    "outside_period": "Demande hors de la période du plan",
}


def budget_alerts(session: Session, plan_id: int, at: date) -> list[BudgetAlert]:
    """The four budget alerts of a plan (rules documented in the README)."""
    plan = session.get(Plan, plan_id)
    structure = plan_structure(session, plan_id, at)
    progress = {a.id: a.state.progress for a in structure.actions}
    status = {a.id: a.status for a in structure.actions}
    code = {a.id: a.code for a in structure.actions}
    alerts: list[BudgetAlert] = []
    per_line = session.execute(
        sa.select(
            BudgetLine.action_id,
            BudgetLine.year,
            Collectivity.name,
            BudgetLine.section,
            BudgetLine.requested_cents,
            BudgetLine.arbitrated_cents,
            BudgetLine.spent_cents,
        )
        .join(Action, Action.id == BudgetLine.action_id)
        .join(Collectivity, Collectivity.id == BudgetLine.collectivity_id)
        .where(Action.plan_id == plan_id, Action.archived == sa.false())
        .order_by(Action.position, BudgetLine.year)
    ).all()
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for action_id, year, name, section, requested, arbitrated, spent in per_line:
        totals[action_id][0] += arbitrated or 0
        totals[action_id][1] += spent
        if spent > (arbitrated or 0):
            alerts.append(
                BudgetAlert(
                    code[action_id],
                    "overspent",
                    f"{year}, {name}, {BudgetSection(section).value} : réalisé {format_eur(spent)} "
                    f"pour {format_eur(arbitrated or 0)} arbitrés.",
                    year,
                )
            )
        if requested and not plan.first_year <= year <= plan.last_year:
            alerts.append(
                BudgetAlert(
                    code[action_id],
                    "outside_period",
                    f"{format_eur(requested)} demandés pour {year}, hors de la période "
                    f"{plan.first_year}-{plan.last_year}.",
                    year,
                )
            )
    for action_id, (arbitrated, spent) in totals.items():
        if not arbitrated:
            continue
        share = 100 * spent / arbitrated
        if share > progress[action_id] + SPENDING_AHEAD_MARGIN:
            alerts.append(
                BudgetAlert(
                    code[action_id],
                    "spending_ahead",
                    f"{format_percent(share)} des crédits arbitrés dépensés pour "
                    f"{format_percent(progress[action_id])} d'avancement.",
                )
            )
        finished = status[action_id] in (ActionStatus.REALISE, ActionStatus.ABANDONNE)
        if finished and spent < arbitrated:
            state = "réalisée" if status[action_id] is ActionStatus.REALISE else "abandonnée"
            alerts.append(
                BudgetAlert(
                    code[action_id],
                    "unspent_closed",
                    f"Action {state} : {format_eur(arbitrated - spent)} arbitrés non dépensés.",
                )
            )
    return alerts
