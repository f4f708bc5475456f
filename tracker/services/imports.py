"""Importing a plan file into the database: a dry run first, then one transaction.

Keys are the codes (and, for lines without a code, their natural key: a
milestone by action and title, a budget line by action, year, collectivity and
section...). Importing the same file twice changes nothing; an updated file
updates what changed, with audit entries naming the import; nothing the file
does not mention is ever deleted. An action edited in the app after the file
was exported (its version in the file is older) is a conflict.

Applying competes with the app's saves of the same rows, so it first locks what
they lock (tracker.services.locking): the plan (as budget saves, year closings and
reopenings do), then its actions and its indicators, ids ascending. A save of those
rows waits for the import, or the import for it, and each checks what the other
wrote. Changed actions, budget lines and indicators get one version more, as a
save from the app gives them: a form or table read before the import is refused.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.errors import NotFoundError, ValidationError
from tracker.models import (
    Action,
    ActionCarrier,
    BudgetLine,
    Collectivity,
    Funding,
    Indicator,
    IndicatorAction,
    Measurement,
    Milestone,
    Objective,
    ObjectiveStake,
    Plan,
    ReferenceValue,
    Stake,
    User,
    utcnow,
)
from tracker.services import audit, surveys
from tracker.services.actions import describe_change
from tracker.services.budgets import closed_years, frozen_message
from tracker.services.locking import lock_name, lock_rows, locked_get
from tracker.services.permissions import Permission, require
from tracker.services.plans import PlanData, create_plan, validate_plan_data
from tracker.services.revision import bump_revision

SHEET_ORDER = (
    "Plan",
    "Enjeux",
    "Objectifs",
    "Actions",
    "Jalons",
    "Budget",
    "Financements",
    "Indicateurs",
    "Mesures",
    "Références",
)
# Rows saved with a version in the app (optimistic locking), by audit entity.
VERSIONED = {"action": Action, "budget": BudgetLine, "indicateur": Indicator}


@dataclass
class SheetCount:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportReport:
    """What an import would do (dry run) or did."""

    plan_name: str
    new_plan: bool
    counts: dict[str, SheetCount] = field(
        default_factory=lambda: {s: SheetCount() for s in SHEET_ORDER}
    )
    changes: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.problems

    @property
    def total_changes(self) -> int:
        return sum(c.created + c.updated for c in self.counts.values())


class _Writer:
    """Compares the file with the database and, when applying, writes the differences."""

    def __init__(
        self,
        session: Session,
        actor: User | None,
        plan: Plan,
        report: ImportReport,
        *,
        apply: bool,
        context: str,
    ) -> None:
        self.session, self.actor, self.plan, self.report = session, actor, plan, report
        self.apply, self.context = apply, context
        # Ids of the rows that get one version more, by entity (VERSIONED).
        self.touched: dict[str, set[int]] = defaultdict(set)

    def log(
        self,
        sheet: str,
        label: str,
        entity: str,
        obj: Any,
        name: str,
        old: Any,
        new: Any,
        action_id: int | None = None,
        indicator_id: int | None = None,
    ) -> None:
        self.report.changes.append(f"{sheet} — {label} : {describe_change(name, old, new)}")
        if self.apply:
            # Versioned rows get one version more, once, when the import is applied.
            version = None
            if entity in VERSIONED:
                version = obj.version + 1
                self.touched[entity].add(obj.id)
            audit.record(
                self.session,
                actor=self.actor,
                entity=entity,
                entity_id=obj.id,
                plan_id=self.plan.id,
                action_id=action_id,
                indicator_id=indicator_id,
                entity_version=version,
                operation="modification",
                field=name,
                old=old,
                new=new,
                context=self.context,
            )

    def sync(
        self,
        sheet: str,
        label: str,
        entity: str,
        obj: Any,
        values: dict[str, Any],
        *,
        action_id: int | None = None,
        indicator_id: int | None = None,
    ) -> bool:
        """Update ``obj`` with ``values``; count it as updated or unchanged."""
        changed = False
        for name, new in values.items():
            old = getattr(obj, name)
            if old != new:
                changed = True
                self.log(sheet, label, entity, obj, name, old, new, action_id, indicator_id)
                if self.apply:
                    setattr(obj, name, new)
        count = self.report.counts[sheet]
        if changed:
            count.updated += 1
            if self.apply:
                self.session.add(obj)
        else:
            count.unchanged += 1
        return changed

    def link_changed(self, sheet: str, *, fields_changed: bool) -> None:
        """A row whose links (stakes, carriers, actions) changed counts as updated once."""
        if not fields_changed:
            count = self.report.counts[sheet]
            count.unchanged -= 1
            count.updated += 1

    def create(
        self,
        sheet: str,
        label: str,
        entity: str,
        obj: Any,
        *,
        action_id: int | None = None,
        indicator_id: int | None = None,
    ) -> Any:
        self.report.counts[sheet].created += 1
        self.report.changes.append(f"{sheet} — {label} : création")
        if self.apply:
            self.session.add(obj)
            self.session.flush()
            audit.record(
                self.session,
                actor=self.actor,
                entity=entity,
                entity_id=obj.id,
                plan_id=self.plan.id,
                action_id=action_id if entity != "action" else obj.id,
                indicator_id=indicator_id,
                operation="création",
                new=label,
                context=self.context,
            )
        return obj


def _values(item: object, exclude: set[str]) -> dict[str, Any]:
    return {f.name: getattr(item, f.name) for f in fields(item) if f.name not in exclude}


def _existing_codes(session: Session, plan_id: int) -> dict[str, set[str]]:
    def codes(model: Any) -> set[str]:
        return set(session.exec(select(model.code).where(model.plan_id == plan_id)))

    return {
        "stakes": codes(Stake),
        "objectives": codes(Objective),
        "actions": codes(Action),
        "indicators": codes(Indicator),
    }


def _update_plan(w: _Writer, data: PlanData, versions: dict[str, int]) -> None:
    s, plan = w.session, w.plan
    w.sync(
        "Plan",
        plan.name,
        "plan",
        plan,
        {
            "description": data.description,
            "adopted_on": data.adopted_on,
            "deliberation_ref": data.deliberation_ref,
            "first_year": data.first_year,
            "last_year": data.last_year,
        },
    )
    collectivities = {
        c.name: c for c in s.exec(select(Collectivity).where(Collectivity.plan_id == plan.id))
    }
    for position, name in enumerate(data.collectivities):
        if name not in collectivities:
            c = Collectivity(plan_id=plan.id, name=name, position=len(collectivities) + position)
            w.report.changes.append(f"Plan — collectivité « {name} » : ajout")
            if w.apply:
                s.add(c)
                s.flush()
            collectivities[name] = c

    stakes = {x.code: x for x in s.exec(select(Stake).where(Stake.plan_id == plan.id))}
    for position, item in enumerate(data.stakes):
        values = {"title": item.title, "description": item.description}
        if item.code in stakes:
            w.sync("Enjeux", f"enjeu {item.code}", "enjeu", stakes[item.code], values)
        else:
            stakes[item.code] = w.create(
                "Enjeux",
                f"enjeu {item.code}",
                "enjeu",
                Stake(plan_id=plan.id, code=item.code, position=len(stakes) + position, **values),
            )

    objectives = {x.code: x for x in s.exec(select(Objective).where(Objective.plan_id == plan.id))}
    stake_code = {x.id: code for code, x in stakes.items()}
    for position, item in enumerate(data.objectives):
        values = {"title": item.title, "description": item.description}
        label = f"objectif {item.code}"
        obj = objectives.get(item.code)
        if obj is None:
            obj = w.create(
                "Objectifs",
                label,
                "objectif",
                Objective(
                    plan_id=plan.id, code=item.code, position=len(objectives) + position, **values
                ),
            )
            objectives[item.code] = obj
            current: list[str] = []
        else:
            changed = w.sync("Objectifs", label, "objectif", obj, values)
            current = sorted(
                stake_code.get(sid, "?")
                for sid in s.exec(
                    select(ObjectiveStake.stake_id).where(ObjectiveStake.objective_id == obj.id)
                )
            )
            if sorted(item.stake_codes) != current:
                w.link_changed("Objectifs", fields_changed=changed)
        if sorted(item.stake_codes) != current:
            w.log(
                "Objectifs",
                label,
                "objectif",
                obj,
                "stakes",
                ", ".join(current),
                ", ".join(sorted(item.stake_codes)),
            )
            if w.apply:
                s.execute(sa.delete(ObjectiveStake).where(ObjectiveStake.objective_id == obj.id))
                for code in dict.fromkeys(item.stake_codes):
                    s.add(ObjectiveStake(objective_id=obj.id, stake_id=stakes[code].id))

    actions = {x.code: x for x in s.exec(select(Action).where(Action.plan_id == plan.id))}
    objective_code = {x.id: code for code, x in objectives.items()}
    collectivity_name = {c.id: name for name, c in collectivities.items()}
    for position, item in enumerate(data.actions):
        values = _values(item, {"code", "objective_code", "carriers"})
        label = f"action {item.code}"
        action = actions.get(item.code)
        if action is None:
            actions[item.code] = w.create(
                "Actions",
                label,
                "action",
                Action(
                    plan_id=plan.id,
                    objective_id=objectives[item.objective_code].id,
                    code=item.code,
                    position=len(actions) + position,
                    **values,
                ),
            )
            if w.apply:
                for name in dict.fromkeys(item.carriers):
                    s.add(
                        ActionCarrier(
                            action_id=actions[item.code].id, collectivity_id=collectivities[name].id
                        )
                    )
            continue
        differs = {k for k, v in values.items() if getattr(action, k) != v}
        carriers = sorted(
            collectivity_name[cid]
            for cid in s.exec(
                select(ActionCarrier.collectivity_id).where(ActionCarrier.action_id == action.id)
            )
        )
        moved = objective_code.get(action.objective_id) != item.objective_code
        carriers_differ = carriers != sorted(dict.fromkeys(item.carriers))
        file_version = versions.get(item.code)
        if (
            (differs or moved or carriers_differ)
            and file_version is not None
            and (action.version > file_version)
        ):
            w.report.conflicts.append(
                f"Action {item.code} : modifiée dans l'application (version {action.version}) "
                f"après l'export du fichier (version {file_version}) ; exportez à nouveau le plan "
                "et reportez-y vos modifications."
            )
            w.report.counts["Actions"].unchanged += 1
            continue
        if moved:
            values["objective_id"] = objectives[item.objective_code].id
        changed = w.sync("Actions", label, "action", action, values, action_id=action.id)
        if carriers_differ:
            w.log(
                "Actions",
                label,
                "action",
                action,
                "carriers",
                " et ".join(carriers),
                " et ".join(dict.fromkeys(item.carriers)),
                action.id,
            )
            w.link_changed("Actions", fields_changed=changed)
            if w.apply:
                s.execute(sa.delete(ActionCarrier).where(ActionCarrier.action_id == action.id))
                for name in dict.fromkeys(item.carriers):
                    s.add(
                        ActionCarrier(action_id=action.id, collectivity_id=collectivities[name].id)
                    )

    _update_lines(w, data, actions, collectivities)
    _update_indicators(w, data, objectives, actions)


def _update_lines(
    w: _Writer, data: PlanData, actions: dict[str, Action], collectivities: dict[str, Collectivity]
) -> None:
    s = w.session
    action_ids = [a.id for a in actions.values() if a.id is not None]
    milestones = {
        (m.action_id, m.title): m
        for m in s.exec(select(Milestone).where(Milestone.action_id.in_(action_ids)))
    }
    next_position: dict[int, int] = defaultdict(int)
    for m in milestones.values():
        next_position[m.action_id] = max(next_position[m.action_id], m.position + 1)
    for item in data.milestones:
        action = actions[item.action_code]
        label = f"jalon « {item.title} » de l'action {item.action_code}"
        values = {"due_date": item.due_date, "done_date": item.done_date, "weight": item.weight}
        existing = milestones.get((action.id, item.title))
        if existing is not None:
            if w.sync("Jalons", label, "jalon", existing, values, action_id=action.id):
                w.touched["action"].add(action.id)
        else:
            w.create(
                "Jalons",
                label,
                "jalon",
                Milestone(
                    action_id=action.id,
                    title=item.title,
                    position=next_position[action.id],
                    **values,
                ),
                action_id=action.id,
            )
            next_position[action.id] += 1
            w.touched["action"].add(action.id or 0)

    lines = {
        (b.action_id, b.year, b.collectivity_id, b.section): b
        for b in s.exec(select(BudgetLine).where(BudgetLine.action_id.in_(action_ids)))
    }
    frozen_years = closed_years(s, w.plan.id)
    for item in data.budget_lines:
        action = actions[item.action_code]
        collectivity = collectivities[item.collectivity]
        label = f"budget {item.action_code} {item.year} {item.collectivity} {item.section.value}"
        values = {
            "requested_cents": item.requested_cents,
            "arbitrated_cents": item.arbitrated_cents,
            "spent_cents": item.spent_cents,
            "comment": item.comment,
        }
        existing = lines.get((action.id, item.year, collectivity.id, item.section))
        if item.year in frozen_years:
            before = (
                (existing.requested_cents, existing.arbitrated_cents) if existing else (0, None)
            )
            if (item.requested_cents, item.arbitrated_cents) != before:
                w.report.problems.append(f"Budget {label} : {frozen_message(item.year)}")
                w.report.counts["Budget"].unchanged += 1
                continue
        if existing is not None:
            w.sync("Budget", label, "budget", existing, values, action_id=action.id)
        else:
            w.create(
                "Budget",
                label,
                "budget",
                BudgetLine(
                    action_id=action.id,
                    year=item.year,
                    collectivity_id=collectivity.id,
                    section=item.section,
                    **values,
                ),
                action_id=action.id,
            )

    fundings = {
        (f.action_id, f.financer): f
        for f in s.exec(select(Funding).where(Funding.action_id.in_(action_ids)))
    }
    for item in data.fundings:
        action = actions[item.action_code]
        label = f"financement {item.financer} de l'action {item.action_code}"
        values = {"amount_cents": item.amount_cents, "status": item.status}
        existing = fundings.get((action.id, item.financer))
        if existing is not None:
            w.sync("Financements", label, "financement", existing, values, action_id=action.id)
        else:
            w.create(
                "Financements",
                label,
                "financement",
                Funding(action_id=action.id, financer=item.financer, **values),
                action_id=action.id,
            )


SURVEY_DEFINITION = (
    "survey_question",
    "survey_values",
    "survey_filter_question",
    "survey_filter_values",
    "unit",
    "source_type",
)


def _update_indicators(
    w: _Writer, data: PlanData, objectives: dict[str, Objective], actions: dict[str, Action]
) -> None:
    s, plan = w.session, w.plan
    indicators = {x.code: x for x in s.exec(select(Indicator).where(Indicator.plan_id == plan.id))}
    action_code = {a.id: code for code, a in actions.items()}
    for position, item in enumerate(data.indicators):
        values = _values(item, {"code", "objective_code", "action_codes"})
        values["objective_id"] = objectives[item.objective_code].id if item.objective_code else None
        label = f"indicateur {item.code}"
        existing = indicators.get(item.code)
        if existing is None:
            indicator = w.create(
                "Indicateurs",
                label,
                "indicateur",
                Indicator(
                    plan_id=plan.id, code=item.code, position=len(indicators) + position, **values
                ),
            )
            indicators[item.code] = indicator
            if w.apply:
                for code in dict.fromkeys(item.action_codes):
                    s.add(IndicatorAction(indicator_id=indicator.id, action_id=actions[code].id))
            continue
        before = {name: getattr(existing, name) for name in SURVEY_DEFINITION}
        changed = w.sync("Indicateurs", label, "indicateur", existing, values)
        if w.apply and any(getattr(existing, n) != v for n, v in before.items()):
            # Survey measurements follow the new definition, in the same transaction.
            s.flush()
            surveys.recompute_indicator(s, w.actor, existing)
        current = sorted(
            action_code.get(aid, "?")
            for aid in s.exec(
                select(IndicatorAction.action_id).where(IndicatorAction.indicator_id == existing.id)
            )
        )
        wanted = sorted(dict.fromkeys(item.action_codes))
        if current != wanted:
            w.log(
                "Indicateurs",
                label,
                "indicateur",
                existing,
                "actions",
                ", ".join(current),
                ", ".join(wanted),
            )
            w.link_changed("Indicateurs", fields_changed=changed)
            if w.apply:
                s.execute(
                    sa.delete(IndicatorAction).where(IndicatorAction.indicator_id == existing.id)
                )
                for code in wanted:
                    s.add(IndicatorAction(indicator_id=existing.id, action_id=actions[code].id))

    ids = [i.id for i in indicators.values() if i.id is not None]
    measurements = {
        (m.indicator_id, m.date, m.source): m
        for m in s.exec(select(Measurement).where(Measurement.indicator_id.in_(ids)))
    }
    for item in data.measurements:
        indicator = indicators[item.indicator_code]
        label = f"mesure {item.indicator_code} du {item.date.isoformat()}"
        values = _values(item, {"indicator_code", "date", "source"})
        existing = measurements.get((indicator.id, item.date, item.source))
        if existing is not None and existing.wave_id is not None:
            # Computed from a survey wave: only its comment comes from the file.
            values = {"comment": values["comment"]}
        if existing is not None:
            w.sync("Mesures", label, "mesure", existing, values, indicator_id=indicator.id)
        else:
            w.create(
                "Mesures",
                label,
                "mesure",
                Measurement(
                    indicator_id=indicator.id, date=item.date, source=item.source, **values
                ),
                indicator_id=indicator.id,
            )

    references = {
        (r.indicator_id, r.date, r.source): r
        for r in s.exec(select(ReferenceValue).where(ReferenceValue.indicator_id.in_(ids)))
    }
    for item in data.references:
        indicator = indicators[item.indicator_code]
        label = f"référence {item.indicator_code} du {item.date.isoformat()}"
        existing = references.get((indicator.id, item.date, item.source))
        if existing is not None:
            w.sync(
                "Références",
                label,
                "référence",
                existing,
                {"value": item.value},
                indicator_id=indicator.id,
            )
        else:
            w.create(
                "Références",
                label,
                "référence",
                ReferenceValue(
                    indicator_id=indicator.id, date=item.date, value=item.value, source=item.source
                ),
                indicator_id=indicator.id,
            )


def _new_plan_report(data: PlanData) -> ImportReport:
    report = ImportReport(plan_name=data.name, new_plan=True)
    for sheet, items in (
        ("Plan", [data]),
        ("Enjeux", data.stakes),
        ("Objectifs", data.objectives),
        ("Actions", data.actions),
        ("Jalons", data.milestones),
        ("Budget", data.budget_lines),
        ("Financements", data.fundings),
        ("Indicateurs", data.indicators),
        ("Mesures", data.measurements),
        ("Références", data.references),
    ):
        report.counts[sheet].created = len(items)
    report.changes.append(f"Création du plan « {data.name} »")
    return report


def _find_plan(session: Session, name: str) -> Plan | None:
    return session.exec(select(Plan).where(Plan.name == name)).first()


def _lock_plan(session: Session, plan_id: int) -> None:
    """Lock the plan, then its actions and indicators (ids ascending), until the end of
    the transaction, before anything is compared.

    Without it, on PostgreSQL, the import checked action versions and closed years on
    rows another save changed before the import wrote: a year closed meanwhile got
    frozen amounts changed, and an action or indicator saved meanwhile was silently
    overwritten.
    """
    if locked_get(session, Plan, plan_id) is None:
        raise NotFoundError(f"Le plan n°{plan_id} n'existe pas.")
    lock_rows(session, Action, Action.plan_id == plan_id)
    lock_rows(session, Indicator, Indicator.plan_id == plan_id)


def import_plan(
    session: Session,
    actor: User | None,
    data: PlanData,
    *,
    versions: dict[str, int] | None = None,
    plan_name: str | None = None,
    apply: bool = False,
    source: str = "fichier",
) -> ImportReport:
    """Compare a plan file with the database (dry run), or apply it (``apply=True``).

    ``plan_name`` overrides the name in the file: it picks the plan to update
    (or names the new one). Applying refuses any problem or conflict with a
    ValidationError and writes nothing; it is one transaction in the caller's session.
    """
    require(actor, Permission.EDIT_PLAN)
    if plan_name:
        data.name = plan_name
    versions = versions or {}
    plan = _find_plan(session, data.name)
    if plan is None and apply:
        # Two imports of one new plan at once: the second waits for the first to
        # commit, then updates the plan it created (on PostgreSQL it used to fail on
        # the unique name, in English).
        lock_name(session, "new plans")
        plan = _find_plan(session, data.name)
    if plan is not None and apply:
        _lock_plan(session, plan.id)
    if plan is None:
        report = _new_plan_report(data)
        report.problems = validate_plan_data(data)
        if apply and report.ok:
            create_plan(session, data, actor=actor, context=f"import : {source}")
        elif apply:
            raise ValidationError(
                "L'import est refusé ; rien n'a été enregistré.", details=report.problems
            )
        return report

    report = ImportReport(plan_name=plan.name, new_plan=False)
    known = _existing_codes(session, plan.id)
    collectivities = set(
        session.exec(select(Collectivity.name).where(Collectivity.plan_id == plan.id))
    )
    report.problems = validate_plan_data(data, known=known, collectivities=collectivities)
    if report.problems:
        if apply:
            raise ValidationError(
                "L'import est refusé ; rien n'a été enregistré.", details=report.problems
            )
        return report
    writer = _Writer(session, actor, plan, report, apply=apply, context=f"import : {source}")
    _update_plan(writer, data, versions)
    if apply:
        if not report.ok:
            raise ValidationError(
                "L'import est refusé ; rien n'a été enregistré.",
                details=report.conflicts + report.problems,
            )
        now = utcnow()
        for entity, ids in writer.touched.items():
            model = VERSIONED[entity]
            for row in session.exec(select(model).where(model.id.in_(ids))):
                row.version += 1
                if model is Action:
                    row.updated_at = now
                session.add(row)
        session.flush()
        if report.total_changes or report.changes:
            bump_revision(session)
    return report
