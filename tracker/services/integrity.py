"""Checking a database: storage integrity, constraints and cross-plan references.

The database enforces most rules itself; these checks catch what a file
copied from elsewhere, a manual edit or a crash could still have broken.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

# Each rule: a French description and a query returning the offending ids.
_RULES: list[tuple[str, str]] = [
    (
        "action dont l'avancement est hors de 0 à 100",
        "SELECT id FROM action WHERE progress < 0 OR progress > 100",
    ),
    (
        "action dont la fin prévue précède le début",
        "SELECT id FROM action WHERE planned_end_date < start_date",
    ),
    (
        "action dont la fin réelle précède le début",
        "SELECT id FROM action WHERE actual_end_date < start_date",
    ),
    (
        "action rattachée à un objectif d'un autre plan",
        "SELECT a.id FROM action a JOIN objective o ON o.id = a.objective_id "
        "WHERE o.plan_id <> a.plan_id",
    ),
    (
        "action sans collectivité porteuse",
        "SELECT a.id FROM action a WHERE NOT EXISTS "
        "(SELECT 1 FROM action_carrier c WHERE c.action_id = a.id)",
    ),
    (
        "collectivité porteuse d'un autre plan",
        "SELECT a.id FROM action_carrier c JOIN action a ON a.id = c.action_id "
        "JOIN collectivity k ON k.id = c.collectivity_id WHERE k.plan_id <> a.plan_id",
    ),
    (
        "ligne budgétaire avec un montant négatif",
        "SELECT id FROM budget_line WHERE requested_cents < 0 OR arbitrated_cents < 0 "
        "OR spent_cents < 0",
    ),
    (
        "ligne budgétaire d'une collectivité d'un autre plan",
        "SELECT b.id FROM budget_line b JOIN action a ON a.id = b.action_id "
        "JOIN collectivity k ON k.id = b.collectivity_id WHERE k.plan_id <> a.plan_id",
    ),
    (
        "objectif lié à un enjeu d'un autre plan",
        "SELECT o.id FROM objective_stake l JOIN objective o ON o.id = l.objective_id "
        "JOIN stake s ON s.id = l.stake_id WHERE s.plan_id <> o.plan_id",
    ),
    (
        "indicateur lié à une action d'un autre plan",
        "SELECT i.id FROM indicator_action l JOIN indicator i ON i.id = l.indicator_id "
        "JOIN action a ON a.id = l.action_id WHERE a.plan_id <> i.plan_id",
    ),
    ("financement avec un montant négatif", "SELECT id FROM funding WHERE amount_cents < 0"),
    ("jalon avec un poids négatif", "SELECT id FROM milestone WHERE weight < 0"),
    ("mesure dont les bornes sont inversées", "SELECT id FROM measurement WHERE ci_low > ci_high"),
    (
        "mesure calculée depuis une vague d'un autre plan",
        "SELECT m.id FROM measurement m JOIN indicator i ON i.id = m.indicator_id "
        "JOIN survey_wave w ON w.id = m.wave_id WHERE w.plan_id <> i.plan_id",
    ),
    (
        "mesure d'enquête dont la date n'est pas la fin du terrain de sa vague",
        "SELECT m.id FROM measurement m JOIN survey_wave w ON w.id = m.wave_id "
        "WHERE w.fieldwork_end IS NULL OR m.date <> w.fieldwork_end",
    ),
    (
        "réponse d'enquête avec un poids nul ou négatif",
        "SELECT id FROM survey_response WHERE weight <= 0",
    ),
    (
        "plan dont la dernière année précède la première",
        "SELECT id FROM plan WHERE last_year < first_year",
    ),
]


def run_checks(session: Session) -> list[str]:
    """Every problem found, in French (an empty list means the database is sound)."""
    problems: list[str] = []
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        result = [r[0] for r in session.execute(sa.text("PRAGMA integrity_check"))]
        if result != ["ok"]:
            problems.extend(f"Intégrité du fichier SQLite : {r}" for r in result)
        for table, rowid, parent, _fk in session.execute(sa.text("PRAGMA foreign_key_check")):
            problems.append(
                f"Clé étrangère rompue : table {table}, ligne {rowid}, référence vers {parent}."
            )
    for description, query in _RULES:
        ids = [str(r[0]) for r in session.execute(sa.text(query))]
        if ids:
            shown = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
            problems.append(f"{len(ids)} {description} (identifiants : {shown}).")
    return problems
