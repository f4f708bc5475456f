"""Build a database of any size, with every table filled, for the benchmarks.

    python benchmarks/generate.py KIND --url sqlite:///chemin/tracker.db [--scale smoke|full]
                                       [--size N]

KIND:

- ``exemple``: the shipped example plan, loaded as the app does on its first run
  (``tracker.bootstrap.prepare_database``), plus the accounts below;
- ``portefeuille``: many plans (full: 1,000, smoke: 5; ``--size`` to choose) of
  19 actions each; each action has budget lines for 5 years x 2 collectivities x 2
  sections, milestones, notes, co-financing and its history; each plan has 10
  indicators of 20 measurements, one survey wave of 500 respondents (three
  indicators computed from it, as the app computes them), a closed steering
  committee with its frozen snapshot and decisions, closed budget years...;
- ``grand``: one plan of 500 actions (smoke: 101; ``--size`` to choose), with
  indicators, milestones, budgets, notes and two survey waves in proportion.

The schema is created exactly as the app creates it (Alembic migrations, then the
first-run settings), so that the app opens on the database without migrating
or loading the example. Rows are written with SQLAlchemy Core bulk inserts
(executemany), one transaction per batch of plans, with explicit ids (on
PostgreSQL the sequences are moved past them at the end).

Everything is drawn from a fixed random seed, relative to today's date, so that
the overview has late actions, milestones due, indicators on track and behind.
The history is consistent with the current values: each action has its creation
entry (the import that created the plan) and one entry per changed field of each
later save, with the versions the app would have given; the committee's
snapshot is taken (by ``reviews.take_snapshot``) on the plan as it stood on the
committee's day, before the saves that followed.

Accounts (password ``PASSWORD`` below): ``mission`` (administrator), ``editeur1``
and ``editeur2`` (editors), ``pilote1`` to ``pilote8`` (pilots), ``lecteur1`` to
``lecteur3`` (viewers).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time as timer
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker import db  # noqa: E402
from tracker.bootstrap import prepare_database  # noqa: E402
from tracker.charts import TREE_LABELLED_ACTIONS  # noqa: E402
from tracker.formats import TIMEZONE  # noqa: E402
from tracker.models import (  # noqa: E402
    ActionStatus,
    BudgetSection,
    DecisionStatus,
    Direction,
    FundingStatus,
    Indicator,
    Priority,
    ProgressMode,
    ReviewStatus,
    Role,
    SourceType,
    Weather,
)
from tracker.services import reviews, surveys, users  # noqa: E402
from tracker.services.app_settings import (  # noqa: E402
    OPEN_DATA_PILOT_NAMES,
    PUBLIC_VIEW,
    UPLOAD_LIMIT_MB,
)
from tracker.services.integrity import run_checks  # noqa: E402
from tracker.services.progress import MilestoneTotals, derived_progress  # noqa: E402
from tracker.services.revision import bump_revision  # noqa: E402
from tracker.settings import normalise_database_url  # noqa: E402

KINDS = ("exemple", "portefeuille", "grand")
SIZES = {
    ("portefeuille", "full"): 1000,
    ("portefeuille", "smoke"): 5,
    ("grand", "full"): 500,
    # Past TREE_LABELLED_ACTIONS, as at full size: the overview opens on the same chart.
    ("grand", "smoke"): TREE_LABELLED_ACTIONS + 1,
}
SEED = 20171109  # the day the strategy was adopted
PASSWORD = "mesure-tracker-2026"  # noqa: S105 - the generated accounts' password, documented
PLANS_PER_TRANSACTION = 25
PARIS = ZoneInfo(TIMEZONE)

# Every table with an integer id, in an order that respects foreign keys.
_ORDER = [
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
    "survey_wave",
    "survey_response",
    "measurement",
    "review",
    "decision",
    "audit_entry",
    "login_attempt",
    "user_session",
]
_WITH_ID = [t for t in _ORDER if t not in {"objective_stake", "action_carrier", "indicator_action"}]
# survey_response without column types: answers are serialised once, as the app does.
_RESPONSES = sa.table(
    "survey_response",
    sa.column("id"),
    sa.column("wave_id"),
    sa.column("respondent"),
    sa.column("weight"),
    sa.column("answers"),
)

# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

TOWNS = [
    "Cahors", "Figeac", "Gourdon", "Souillac", "Gramat", "Rodez", "Millau", "Albi",
    "Castres", "Montauban", "Auch", "Tarbes", "Foix", "Pamiers", "Mende", "Villefranche",
    "Decazeville", "Saint-Céré", "Moissac", "Castelsarrasin", "Lourdes", "Bagnères",
    "Carmaux", "Gaillac", "Lavaur", "Condom", "Lectoure", "Millau-Larzac", "Espalion",
    "Saint-Affrique", "Marvejols", "Lodève", "Limoux", "Castelnaudary", "Lézignan",
    "Saint-Girons", "Muret", "Revel", "Caussade", "Valence-d'Agen",
]  # fmt: skip
STAKES = [
    "Un territoire connecté et attractif",
    "Des services publics simples et accessibles à tous",
    "Une administration numérique efficace et sobre",
    "Des habitants acteurs de la transition numérique",
    "Une donnée publique ouverte et maîtrisée",
]
OBJECTIVES = [
    "Développer les services en ligne",
    "Accompagner les habitants vers l'autonomie numérique",
    "Moderniser les outils des agents",
    "Ouvrir et valoriser les données publiques",
    "Améliorer la couverture en très haut débit",
    "Renforcer la sécurité des systèmes d'information",
    "Faire connaître le territoire sur les réseaux",
    "Réduire l'empreinte environnementale du numérique",
    "Développer la participation citoyenne en ligne",
    "Numériser les équipements culturels et sportifs",
    "Simplifier la relation avec les entreprises",
    "Mutualiser les moyens entre la ville et l'agglomération",
]
ACTIONS = [
    "Refonte du site internet",
    "Développement des démarches en ligne",
    "Application de signalement d'incidents",
    "Information voyageurs en temps réel",
    "Portail famille et paiement en ligne",
    "Espace France Services itinérant",
    "Conseillers numériques dans les quartiers",
    "Ateliers numériques pour les seniors",
    "Wifi public dans les centres-bourgs",
    "Déploiement de la fibre dans les zones d'activité",
    "Plateforme de données ouvertes",
    "Gestion électronique des courriers",
    "Parapheur et signature électroniques",
    "Télétravail et équipements mobiles des agents",
    "Plan de continuité informatique",
    "Sensibilisation des agents à la cybersécurité",
    "Médias sociaux de la collectivité",
    "Billetterie en ligne des équipements culturels",
    "Réservation en ligne des salles et équipements",
    "Budget participatif en ligne",
    "Carte de services unique pour les habitants",
    "Numérisation des archives et de l'état civil",
    "Tiers-lieu numérique",
    "Accompagnement numérique des commerces",
    "Capteurs de consommation énergétique des bâtiments",
    "Reconditionnement des ordinateurs réformés",
    "Guichet numérique des autorisations d'urbanisme",
    "Cartographie en ligne du territoire",
    "Bornes interactives dans les mairies annexes",
    "Outils collaboratifs partagés entre la ville et l'agglomération",
]
FUNCTIONS = [
    "Chargé(e) de mission numérique",
    "Directeur(rice) des systèmes d'information",
    "Responsable du pôle web",
    "Chef(fe) de projet administration numérique",
    "Responsable de la médiation numérique",
    "Responsable des transports et mobilités",
    "Responsable du service proximité",
    "Directeur(rice) de la culture",
    "Responsable de l'aménagement numérique",
    "Archiviste",
]
SERVICES = [
    "Mission numérique",
    "Direction des systèmes d'information",
    "Direction de la communication",
    "Direction des mobilités",
    "Direction de la culture",
    "Service proximité",
    "Direction de l'aménagement",
    "Direction des ressources humaines",
]
ELECTED = [
    "Vice-président(e) délégué(e) au numérique",
    "Adjoint(e) au maire délégué(e) à la communication",
    "Adjoint(e) au maire délégué(e) à la démocratie de proximité",
    "Vice-président(e) délégué(e) aux mobilités",
]
PARTNERS = ["", "", "Région Occitanie", "Département", "Banque des Territoires", "La Poste"]
FINANCERS = [
    "État (DSIL)",
    "Région Occitanie",
    "Union européenne (FEDER)",
    "Banque des Territoires",
    "Département",
]
NOTES = [
    "Point d'étape avec le prestataire : calendrier confirmé.",
    "Réunion du comité technique ; les services valident la suite.",
    "Retard de livraison annoncé par le fournisseur, nouvelle date à confirmer.",
    "Le marché est attribué ; démarrage des travaux le mois prochain.",
    "Premiers retours des usagers positifs, quelques corrections demandées.",
    "Recrutement en cours sur le poste de chef de projet.",
    "Arbitrage budgétaire attendu pour poursuivre la deuxième phase.",
    "Formation des agents organisée sur deux demi-journées.",
    "Test auprès d'un panel d'habitants : ajustements de l'ergonomie.",
    "Dépendance à la migration du logiciel métier, décalage du calendrier.",
]
ABANDON_NOTES = [
    "Action abandonnée : le projet est repris par la Région dans son propre dispositif.",
    "Action abandonnée faute de financement après l'arbitrage budgétaire.",
    "Action abandonnée : la solution retenue ne répond plus au besoin des services.",
]
DECISIONS = [
    "Présenter un calendrier révisé au prochain comité.",
    "Lancer la consultation des entreprises avant la fin du trimestre.",
    "Associer les communes membres au groupe de travail.",
    "Chiffrer la deuxième phase pour la préparation budgétaire.",
    "Faire un bilan des usages avec les services concernés.",
]
ADMIN_INDICATORS = [
    ("Démarches réalisées en ligne", "démarches", Direction.HIGHER, 400, 6000),
    ("Visites du site internet", "visites", Direction.HIGHER, 20000, 90000),
    ("Délai moyen de traitement des signalements", "jours", Direction.LOWER, 20, 5),
    (
        "Personnes accompagnées par les conseillers numériques",
        "personnes",
        Direction.HIGHER,
        0,
        900,
    ),
    ("Abonnés aux réseaux sociaux de la collectivité", "abonnés", Direction.HIGHER, 1500, 12000),
    ("Jeux de données publiés en données ouvertes", "jeux", Direction.HIGHER, 0, 120),
    ("Part des courriers traités sous forme électronique", "%", Direction.HIGHER, 10, 90),
    ("Locaux raccordables à la fibre", "%", Direction.HIGHER, 25, 100),
    ("Part des agents formés à la cybersécurité", "%", Direction.HIGHER, 5, 95),
    ("Pages imprimées par agent et par an", "pages", Direction.LOWER, 4000, 1500),
]
# Survey indicators: (name, question, counted answers, filter question, filter answers,
# direction, baseline, target). Questions are the columns of the generated files.
SURVEY_INDICATORS = [
    ("Part des habitants possédant un smartphone", "Smartphone", ["Oui"], None, None,
     Direction.HIGHER, 45.0, 88.0),
    ("Part des habitants utilisant internet tous les jours", "Fréquence internet",
     ["Tous les jours ou presque"], None, None, Direction.HIGHER, 55.0, 85.0),
    ("Part des 60 ans et plus ayant fait une démarche en ligne", "Démarche en ligne", ["Oui"],
     "Tranche d'âge", ["60-74 ans", "75 ans et plus"], Direction.HIGHER, 25.0, 60.0),
    ("Part des habitants en difficulté avec les démarches en ligne", "Difficultés démarches",
     ["Oui, souvent", "Oui, parfois"], None, None, Direction.LOWER, 40.0, 20.0),
    ("Part des habitants qui suivent les collectivités en ligne", "Suit les collectivités",
     ["Oui"], None, None, Direction.HIGHER, 15.0, 45.0),
]  # fmt: skip
SURVEY_COLUMNS = [
    "Commune",
    "Tranche d'âge",
    "Sexe",
    "Smartphone",
    "Fréquence internet",
    "Démarche en ligne",
    "Difficultés démarches",
    "Suit les collectivités",
]
AGES = ["15-29 ans", "30-44 ans", "45-59 ans", "60-74 ans", "75 ans et plus"]
FREQUENCIES = ["Tous les jours ou presque", "Au moins une fois par semaine", "Plus rarement"]


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _moment(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A local time on a day, as the aware UTC datetime the app stores."""
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS).astimezone(UTC)


def _end_of(day: date) -> datetime:
    """Midnight after ``day`` in the collectivities' time zone (as the overview cuts days)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=PARIS).astimezone(UTC)


def _text(value: Any) -> str | None:
    """A value as the audit log stores it (see tracker.services.audit)."""
    if value is None:
        return None
    if hasattr(value, "value"):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _round_to(cents: float, step: int = 10_000) -> int:
    return max(0, int(round(cents / step)) * step)


class _Ids:
    """The next free id of each table (explicit ids: the database starts empty of plans)."""

    def __init__(self, conn: Connection) -> None:
        self._next = {
            name: (conn.execute(sa.text(f'SELECT MAX(id) FROM "{name}"')).scalar() or 0) + 1
            for name in _WITH_ID
        }

    def take(self, table: str) -> int:
        value = self._next[table]
        self._next[table] = value + 1
        return value


@dataclass
class _Accounts:
    admin: tuple[int, str, str]  # (id, login, display name)
    editors: list[tuple[int, str, str]]
    pilots: list[tuple[int, str, str]]
    viewers: list[tuple[int, str, str]]


@dataclass
class _Batch:
    """Rows to write in one transaction, and what to do once they are written."""

    rows: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    snapshots: list[tuple[int, int, date, datetime]] = field(default_factory=list)
    action_updates: list[dict] = field(default_factory=list)
    decision_updates: list[dict] = field(default_factory=list)

    def add(self, table: str, row: dict) -> None:
        self.rows[table].append(row)


@dataclass(frozen=True)
class _PlanShape:
    actions: int
    stakes: int
    objectives: int
    indicators: int
    survey_indicators: int
    waves: list[int]  # respondents per wave, oldest first
    name: str | None = None


# --------------------------------------------------------------------------
# One plan
# --------------------------------------------------------------------------


class _PlanWriter:
    """Draws one plan and appends its rows to a batch."""

    def __init__(
        self, index: int, shape: _PlanShape, ids: _Ids, accounts: _Accounts, batch: _Batch
    ) -> None:
        self.index = index
        self.shape = shape
        self.ids = ids
        self.accounts = accounts
        self.batch = batch
        self.rng = random.Random(f"{SEED}-{shape.actions}-{index}")  # noqa: S311 - test data
        self.np = np.random.default_rng(SEED + index)
        self.today = date.today()
        self.now = datetime.now(UTC)
        # How well this plan goes: drives progress, weather and indicators.
        self.pace = self.rng.uniform(0.65, 1.15)

    # -- audit ---------------------------------------------------------------

    def audit(
        self,
        at: datetime,
        actor: tuple[int, str, str] | None,
        entity: str,
        entity_id: int | None,
        operation: str,
        *,
        action_id: int | None = None,
        indicator_id: int | None = None,
        version: int | None = None,
        field_name: str | None = None,
        old: Any = None,
        new: Any = None,
        context: str = "",
    ) -> None:
        self.batch.add(
            "audit_entry",
            {
                "id": self.ids.take("audit_entry"),
                "at": at,
                "user_id": actor[0] if actor else None,
                "user_login": actor[1] if actor else "système",
                "plan_id": self.plan_id,
                "action_id": action_id,
                "indicator_id": indicator_id,
                "entity": entity,
                "entity_id": entity_id,
                "entity_version": version,
                "operation": operation,
                "field": field_name,
                "old_value": _text(old),
                "new_value": _text(new),
                "context": context,
            },
        )

    def editor(self) -> tuple[int, str, str]:
        return self.rng.choice([self.accounts.admin, *self.accounts.editors])

    # -- the plan --------------------------------------------------------------

    def write(self) -> None:
        rng, shape, today = self.rng, self.shape, self.today
        self.plan_id = self.ids.take("plan")
        self.town = TOWNS[self.index % len(TOWNS)]
        name = shape.name or f"Stratégie numérique de {self.town} – plan n°{self.index + 1:04d}"
        self.first_year = today.year - rng.randint(4, 9)
        self.last_year = max(self.first_year + rng.randint(8, 12), today.year + 2)
        adopted = date(self.first_year - 1, rng.randint(9, 12), rng.randint(1, 28))
        # The day the plan was imported into the tool (its history starts there).
        self.created = _moment(today - timedelta(days=rng.randint(420, 900)), 9, 30)
        self.created_day = self.created.astimezone(PARIS).date()
        self.context = f"import : plan-{self.index + 1:04d}.xlsx"
        self.batch.add(
            "plan",
            {
                "id": self.plan_id,
                "name": name,
                "description": f"Stratégie numérique commune de la ville et de l'agglomération "
                f"de {self.town} (données générées pour les mesures).",
                "adopted_on": adopted,
                "deliberation_ref": f"Délibération n°{rng.randint(1, 60)} du {adopted:%d/%m/%Y}",
                "first_year": self.first_year,
                "last_year": self.last_year,
                "is_example": False,
                "created_at": self.created,
            },
        )
        admin = self.accounts.admin
        self.audit(
            self.created, admin, "plan", self.plan_id, "création", new=name, context=self.context
        )
        self.collectivities = []
        for position, label in enumerate(
            [f"Ville de {self.town}", f"Agglomération de {self.town}"]
        ):
            cid = self.ids.take("collectivity")
            self.collectivities.append(cid)
            self.batch.add(
                "collectivity",
                {"id": cid, "plan_id": self.plan_id, "name": label, "position": position},
            )
        self._structure()
        self.review_day = today - timedelta(days=rng.randint(35, 150))
        self.cutoff = _end_of(self.review_day)
        for position in range(shape.actions):
            self._action(position)
        self._indicators()
        self._budget_years()
        self._reviews()

    def _structure(self) -> None:
        rng, shape = self.rng, self.shape
        self.stake_ids = []
        for n in range(shape.stakes):
            sid = self.ids.take("stake")
            self.stake_ids.append(sid)
            self.batch.add(
                "stake",
                {
                    "id": sid,
                    "plan_id": self.plan_id,
                    "code": f"E{n + 1}",
                    "title": STAKES[n % len(STAKES)],
                    "description": "",
                    "position": n,
                },
            )
            self.audit(
                self.created,
                self.accounts.admin,
                "enjeu",
                sid,
                "création",
                new=f"E{n + 1}",
                context=self.context,
            )
        self.objective_ids = []
        for n in range(shape.objectives):
            oid = self.ids.take("objective")
            self.objective_ids.append(oid)
            self.batch.add(
                "objective",
                {
                    "id": oid,
                    "plan_id": self.plan_id,
                    "code": str(n + 1),
                    "title": OBJECTIVES[n % len(OBJECTIVES)],
                    "description": "",
                    "position": n,
                },
            )
            served = {self.stake_ids[n % shape.stakes]}
            if shape.stakes > 1 and rng.random() < 0.4:
                served.add(rng.choice(self.stake_ids))
            for sid in sorted(served):
                self.batch.add("objective_stake", {"objective_id": oid, "stake_id": sid})
            self.audit(
                self.created,
                self.accounts.admin,
                "objectif",
                oid,
                "création",
                new=str(n + 1),
                context=self.context,
            )
        self.action_ids: list[int] = []
        self.action_objective: dict[int, int] = {}
        self.action_codes: dict[int, str] = {}
        self.action_status: dict[int, ActionStatus] = {}
        self.counters = defaultdict(int)

    # -- actions ---------------------------------------------------------------

    def _final_state(self) -> dict[str, Any]:
        """The action as it is today: status, dates and progress, drawn together."""
        rng, today = self.rng, self.today
        status = rng.choices(
            list(ActionStatus), weights=[10, 45 * self.pace, 25 * self.pace, 6, 7, 7]
        )[0]
        actual_end = None
        if status is ActionStatus.REALISE:
            start = today - timedelta(days=rng.randint(700, 2800))
            planned_end = start + timedelta(days=rng.randint(300, 1500))
            actual_end = planned_end + timedelta(days=rng.randint(-60, 200))
            actual_end = max(start + timedelta(days=30), min(actual_end, today - timedelta(days=2)))
            progress = 100
        elif status is ActionStatus.A_VENIR:
            start = today + timedelta(days=rng.randint(-90, 300))
            planned_end = start + timedelta(days=rng.randint(365, 1100))
            progress = 0
        else:
            if rng.random() < 0.15 + 0.2 * (1.15 - self.pace):  # the planned end has passed
                planned_end = today - timedelta(days=rng.randint(10, 400))
            else:
                planned_end = today + timedelta(days=rng.randint(30, 1400))
            start = planned_end - timedelta(days=rng.randint(365, 2000))
            start = min(start, today - timedelta(days=60))
            span = (planned_end - start).days
            expected = 100 * min(1.0, (today - start).days / span)
            # Slower plans lag behind their calendar more often.
            progress = round(expected - rng.gauss((1 - self.pace) * 30, 12))
            if status in (ActionStatus.EN_PAUSE, ActionStatus.BLOQUE):
                progress -= 10
            if status is ActionStatus.ABANDONNE:
                progress = rng.randint(5, 60)
            progress = max(0, min(95, progress))
        gap = 0.0
        if status not in (ActionStatus.REALISE, ActionStatus.ABANDONNE, ActionStatus.A_VENIR):
            gap = 100 * min(1.0, (today - start).days / (planned_end - start).days) - progress
        if status is ActionStatus.BLOQUE or gap > 25:
            weather = rng.choices(list(Weather), weights=[1, 3, 4])[0]
        elif gap > 10:
            weather = rng.choices(list(Weather), weights=[2, 5, 1])[0]
        else:
            weather = rng.choices(list(Weather), weights=[8, 2, 0.3])[0]
        return {
            "status": status,
            "weather": weather,
            "progress": progress,
            "start_date": start,
            "planned_end_date": planned_end,
            "actual_end_date": actual_end,
        }

    def _milestones(self, action_id: int, final: dict, mode: ProgressMode) -> list[dict]:
        rng, today = self.rng, self.today
        start, end = final["start_date"], final["planned_end_date"]
        status, progress = final["status"], final["progress"]
        count = rng.randint(3, 6)
        weights = [rng.randint(1, 3) for _ in range(count)]
        total = sum(weights)
        rows, cumulated = [], 0
        span = (end - start).days
        for n in range(count):
            due = start + timedelta(days=round(span * (n + 1) / count) + rng.randint(-20, 20))
            cumulated += weights[n]
            done = None
            if status is ActionStatus.REALISE:
                done = min(due + timedelta(days=rng.randint(-15, 40)), final["actual_end_date"])
            elif due < today - timedelta(days=20) and (
                cumulated * 100 <= (progress + 15) * total or rng.random() < 0.75
            ):
                done = due + timedelta(days=rng.randint(-20, 40))
            elif due < today + timedelta(days=60) and rng.random() < 0.1:  # done early
                done = today - timedelta(days=rng.randint(1, 30))
            if done is not None:
                done = max(start, min(done, today - timedelta(days=1)))
            rows.append(
                {
                    "id": self.ids.take("milestone"),
                    "action_id": action_id,
                    "title": f"Étape {n + 1} : "
                    + rng.choice(
                        [
                            "cahier des charges",
                            "choix du prestataire",
                            "paramétrage",
                            "tests avec les services",
                            "mise en service",
                            "bilan et ajustements",
                            "formation des agents",
                            "communication aux habitants",
                        ]
                    ),  # fmt: skip
                    "due_date": due,
                    "done_date": done,
                    "weight": weights[n],
                    "position": n,
                    "version": 1,
                }
            )
        if mode is ProgressMode.MILESTONES and status is not ActionStatus.REALISE:
            totals = MilestoneTotals(
                count=count,
                done_count=sum(1 for m in rows if m["done_date"]),
                total_weight=total,
                done_weight=sum(m["weight"] for m in rows if m["done_date"]),
            )
            final["progress"] = derived_progress(totals)
        return rows

    def _action(self, position: int) -> None:
        rng = self.rng
        aid = self.ids.take("action")
        objective_index = position * self.shape.objectives // self.shape.actions
        oid = self.objective_ids[objective_index]
        self.counters[objective_index] += 1
        code = f"{objective_index + 1}.{self.counters[objective_index]}"
        final = self._final_state()
        mode = ProgressMode.MILESTONES if rng.random() < 0.25 else ProgressMode.ENTERED
        milestones = self._milestones(aid, final, mode)
        pilot = rng.choice(self.accounts.pilots) if rng.random() < 0.4 else None
        title = ACTIONS[(position + self.index) % len(ACTIONS)]
        if position >= len(ACTIONS):
            title += f" – volet {position // len(ACTIONS) + 1}"
        self.action_ids.append(aid)
        self.action_objective[aid] = oid
        self.action_codes[aid] = code
        self.action_status[aid] = final["status"]
        row = {
            "id": aid,
            "plan_id": self.plan_id,
            "objective_id": oid,
            "code": code,
            "title": title,
            "description": f"{title} : description de l'action pour {self.town} "
            "(données générées).",
            "pilot_name": pilot[2] if pilot else "",
            "pilot_function": rng.choice(FUNCTIONS),
            "pilot_user_id": pilot[0] if pilot else None,
            "service": rng.choice(SERVICES),
            "elected_referent": rng.choice(ELECTED),
            "partners": rng.choice(PARTNERS),
            "progress_mode": mode,
            "priority": rng.choices(list(Priority), weights=[2, 5, 1])[0],
            "start_date": final["start_date"],
            "planned_end_date": final["planned_end_date"],
            "update_period_days": rng.choice([30, 60, 90, 90, 180]),
            "archived": False,
            "position": position,
        }
        self.batch.rows["milestone"].extend(milestones)
        carriers = self.collectivities if rng.random() < 0.7 else [rng.choice(self.collectivities)]
        for cid in carriers:
            self.batch.add("action_carrier", {"action_id": aid, "collectivity_id": cid})
        self.audit(
            self.created,
            self.accounts.admin,
            "action",
            aid,
            "création",
            action_id=aid,
            new=code,
            context=self.context,
        )
        then, now = self._history(aid, code, final, mode, milestones, pilot)
        self.batch.add("action", {**row, **then})
        if then != now:
            self.batch.action_updates.append({"b_id": aid, **now})
        self._budget(aid, final)
        self._fundings(aid)

    def _history(
        self,
        aid: int,
        code: str,
        final: dict,
        mode: ProgressMode,
        milestones: list[dict],
        pilot: tuple[int, str, str] | None,
    ) -> tuple[dict, dict]:
        """Saves since the import, their audit entries and notes.

        Returns the action's values on the committee's day and today.
        """
        rng, today = self.rng, self.today
        status = final["status"]
        created_day = self.created_day
        # What the action looked like when the plan was imported.
        if status is ActionStatus.REALISE:
            initial = ActionStatus.REALISE if final["actual_end_date"] < created_day else None
        elif status is ActionStatus.A_VENIR or final["start_date"] > created_day:
            initial = ActionStatus.A_VENIR
        elif status is ActionStatus.EN_COURS or rng.random() < 0.8:
            initial = ActionStatus.EN_COURS
        else:
            initial = status
        initial = initial or ActionStatus.EN_COURS
        path = [initial]
        if initial is ActionStatus.A_VENIR and status not in (
            ActionStatus.A_VENIR,
            ActionStatus.EN_COURS,
        ):
            path.append(ActionStatus.EN_COURS)
        if path[-1] is not status:
            path.append(status)
        entered = mode is ProgressMode.ENTERED
        current: dict[str, Any] = {
            "status": initial,
            "weather": rng.choice(list(Weather)[:2]),
            "progress": (
                100
                if initial is ActionStatus.REALISE
                else round(final["progress"] * rng.uniform(0.2, 0.8))
                if entered and initial is not ActionStatus.A_VENIR
                else 0
                if entered
                else final["progress"]
            ),
            "actual_end_date": final["actual_end_date"]
            if initial is ActionStatus.REALISE
            else None,
        }
        if initial in (ActionStatus.REALISE, ActionStatus.ABANDONNE):
            current["weather"] = final["weather"]
        # When the last save happened.
        if status is ActionStatus.REALISE and initial is not ActionStatus.REALISE:
            last = _moment(final["actual_end_date"], 17, rng.randint(0, 59))
        else:
            last_day = today - timedelta(days=rng.choice([rng.randint(0, 60), rng.randint(0, 250)]))
            last = _moment(max(last_day, created_day + timedelta(days=2)), rng.randint(8, 18))
        transitions = path[1:]
        saves = len(transitions) + rng.randint(0 if initial is ActionStatus.REALISE else 1, 3)
        if initial is ActionStatus.REALISE or (
            status is ActionStatus.A_VENIR and rng.random() < 0.5
        ):
            saves = len(transitions)
        span = max(1, int((last - self.created).total_seconds() // 3600) - 24)
        times = sorted(
            self.created + timedelta(hours=24 + rng.randrange(span)) for _ in range(saves - 1)
        )
        if saves:
            times.append(last)
        events: list[tuple[datetime, str, Any]] = []
        for n, at in enumerate(times):
            changes: dict[str, Any] = {}
            is_last = n == saves - 1
            if transitions and (is_last or n < len(transitions) - 1):
                target = transitions[-1] if is_last else transitions[n]
                changes["status"] = target
            if entered:
                changes["progress"] = (
                    final["progress"]
                    if is_last
                    else max(current["progress"], round(final["progress"] * (n + 1) / saves))
                )
            changes["weather"] = final["weather"] if is_last else rng.choice(list(Weather)[:2])
            if is_last and status is ActionStatus.REALISE and initial is not ActionStatus.REALISE:
                changes["actual_end_date"] = final["actual_end_date"]
            events.append((at, "save", changes))
        if not entered:
            for m in milestones:
                if m["done_date"] and m["done_date"] > created_day:
                    events.append((_moment(m["done_date"], 11), "milestone", m))
        events.sort(key=lambda e: e[0])

        version = 1
        updated = self.created
        then: dict | None = None
        for at, kind, payload in events:
            if then is None and at >= self.cutoff:
                then = {**current, "updated_at": updated, "version": version}
            if kind == "milestone":
                version += 1
                actor = pilot or self.editor()
                self.audit(
                    at,
                    actor,
                    "jalon",
                    payload["id"],
                    "modification",
                    action_id=aid,
                    field_name="done_date",
                    old=None,
                    new=payload["done_date"],
                )
                self.audit(
                    at, actor, "action", aid, "jalons modifiés", action_id=aid, version=version
                )
                updated = at
                continue
            changed = {k: v for k, v in payload.items() if current.get(k) != v}
            actor = pilot or self.editor()
            note = None
            if payload.get("status") is ActionStatus.ABANDONNE and "status" in changed:
                note = rng.choice(ABANDON_NOTES)
            elif rng.random() < 0.35 or not changed:
                note = rng.choice(NOTES)
            if changed:
                version += 1
                for name, value in sorted(changed.items()):
                    self.audit(
                        at,
                        actor,
                        "action",
                        aid,
                        "modification",
                        action_id=aid,
                        version=version,
                        field_name=name,
                        old=current.get(name),
                        new=value,
                    )
                    current[name] = value
            if note:
                nid = self.ids.take("note")
                self.batch.add(
                    "note",
                    {
                        "id": nid,
                        "action_id": aid,
                        "author_id": actor[0],
                        "author_name": actor[2],
                        "created_at": at,
                        "text": note,
                    },
                )
                self.audit(at, actor, "note", nid, "création", action_id=aid, new=note)
            updated = at
        now = {**current, "updated_at": updated, "version": version}
        if entered:
            now["progress"] = final["progress"]
        if then is None:
            then = now
        if now["status"] is not status:  # cannot happen: the last save sets it
            raise AssertionError(f"{code}: {now['status']} != {status}")
        return then, now

    def _budget(self, aid: int, final: dict) -> None:
        rng, year = self.rng, self.today.year
        size = rng.choice([2_000_000, 5_000_000, 10_000_000, 30_000_000])  # cents a year
        start_year = final["start_date"].year
        stop_year = (final["actual_end_date"] or final["planned_end_date"]).year
        for y in range(year - 3, year + 2):
            for cid in self.collectivities:
                for section in BudgetSection:
                    share = 0.6 if section is BudgetSection.INVESTISSEMENT else 0.4
                    active = start_year <= y <= stop_year
                    requested = _round_to(size * share * rng.uniform(0.4, 1.2)) if active else 0
                    arbitrated = None
                    spent = 0
                    if y <= year:
                        arbitrated = _round_to(requested * rng.choice([1, 1, 0.9, 0.8, 0.6]))
                        # A few lines spend beyond their arbitration (a budget alert).
                        over = rng.uniform(1.01, 1.1) if rng.random() < 0.04 else 1.0
                        if y < year:
                            spent = _round_to(arbitrated * rng.uniform(0.6, 1.0) * over, 100)
                        else:
                            spent = _round_to(arbitrated * rng.uniform(0.3, 0.9) * over, 100)
                        if self.action_status[aid] is ActionStatus.ABANDONNE and y == year:
                            spent = 0
                    self.batch.add(
                        "budget_line",
                        {
                            "id": self.ids.take("budget_line"),
                            "action_id": aid,
                            "year": y,
                            "collectivity_id": cid,
                            "section": section,
                            "requested_cents": requested,
                            "arbitrated_cents": arbitrated,
                            "spent_cents": spent,
                            "decision_date": date(y - 1, 12, 15)
                            if arbitrated is not None
                            else None,
                            "comment": "" if rng.random() < 0.9 else "Coupe lors de l'arbitrage",
                            "version": 1,
                        },
                    )

    def _fundings(self, aid: int) -> None:
        rng = self.rng
        if rng.random() > 0.3:
            return
        for financer in rng.sample(FINANCERS, rng.randint(1, 2)):
            self.batch.add(
                "funding",
                {
                    "id": self.ids.take("funding"),
                    "action_id": aid,
                    "financer": financer,
                    "amount_cents": _round_to(rng.uniform(5_000_00, 80_000_00)),
                    "status": rng.choice(list(FundingStatus)),
                    "comment": "",
                },
            )

    # -- indicators and surveys ------------------------------------------------

    def _indicators(self) -> None:
        rng, shape, today = self.rng, self.shape, self.today
        baseline_day = date(self.first_year, 6, 30)
        target_day = date(self.last_year, 12, 31)
        middle_day = date((self.first_year + self.last_year) // 2, 12, 31)
        waves = self._waves()
        survey: list[Indicator] = []
        # The share each wave should find for each question (drawn below with the indicator).
        shares: dict[int, dict[str, float]] = {w["id"]: {} for w in waves}
        for n in range(shape.indicators):
            iid = self.ids.take("indicator")
            code = f"I{n + 1}"
            perf = rng.gauss(1.0 + (self.pace - 0.9) * 0.5, 0.15)
            if n < shape.survey_indicators:
                name, question, values, fq, fv, direction, base, target = SURVEY_INDICATORS[
                    n % len(SURVEY_INDICATORS)
                ]
                unit, kind, period = "%", SourceType.SURVEY, 730
            else:
                name, unit, direction, base, target = ADMIN_INDICATORS[n % len(ADMIN_INDICATORS)]
                question = values = fq = fv = None
                kind = rng.choice([SourceType.ADMINISTRATIVE, SourceType.WEB_ANALYTICS])
                period = rng.choice([92, 92, 183])
            if n >= len(ADMIN_INDICATORS) + shape.survey_indicators:
                name = f"{name} ({n + 1})"
            middle = base + (target - base) * 0.5
            row = {
                "id": iid,
                "plan_id": self.plan_id,
                "code": code,
                "name": name,
                "definition": f"{name}, mesurée pour {self.town}.",
                "unit": unit,
                "direction": direction,
                "source_type": kind,
                "source": "Enquête sur les usages numériques" if question else "Tableau de bord",
                "baseline_value": base,
                "baseline_date": baseline_day,
                "intermediate_target": round(middle, 1),
                "intermediate_target_date": middle_day,
                "target_value": target,
                "target_date": target_day,
                "update_period_days": period,
                "objective_id": rng.choice(self.objective_ids),
                "survey_question": question,
                "survey_values": values,
                "survey_filter_question": fq,
                "survey_filter_values": fv,
                "position": n,
                "version": 1,
            }
            self.batch.add("indicator", row)
            self.audit(
                self.created,
                self.accounts.admin,
                "indicateur",
                iid,
                "création",
                indicator_id=iid,
                new=code,
                context=self.context,
            )
            for aid in rng.sample(self.action_ids, min(len(self.action_ids), rng.randint(1, 3))):
                self.batch.add("indicator_action", {"indicator_id": iid, "action_id": aid})

            def value_at(day: date, base=base, target=target, perf=perf, unit=unit) -> float:
                share = (day - baseline_day).days / (target_day - baseline_day).days
                value = (
                    base + (target - base) * share * perf + rng.gauss(0, abs(target - base) / 40)
                )
                if unit == "%":
                    value = min(99.0, max(1.0, value))
                return round(max(0.0, value), 1)

            if question:
                survey.append(Indicator(**row))
                for wave in waves:
                    shares[wave["id"]].setdefault(question, value_at(wave["fieldwork_end"]) / 100)
                self._survey_measurements(iid, waves, value_at)
                self._references(iid, value_at)
            else:
                recent = rng.random() < 0.85
                last = today - timedelta(
                    days=rng.randint(5, 80) if recent else rng.randint(100, 300)
                )
                days = [last - timedelta(days=period * k) for k in range(20)]
                for day in sorted(days):
                    self._measurement(iid, day, value_at(day), "Tableau de bord des services")
        self._responses(waves, survey, shares)

    def _measurement(self, iid: int, day: date, value: float, source: str, **extra: Any) -> None:
        mid = self.ids.take("measurement")
        row = {
            "id": mid,
            "indicator_id": iid,
            "date": day,
            "value": value,
            "source": source,
            "wave_id": None,
            "sample_size": None,
            "effective_size": None,
            "ci_low": None,
            "ci_high": None,
            "comment": "",
        }
        row.update(extra)
        self.batch.add("measurement", row)
        if day > self.created_day:  # typed in the app (earlier ones came with the import)
            at = min(_moment(day + timedelta(days=self.rng.randint(1, 20)), 14), self.now)
            text = f"{round(row['value'], 2):f}".rstrip("0").rstrip(".")
            self.audit(
                at,
                self.editor(),
                "mesure",
                mid,
                "création",
                indicator_id=iid,
                new=f"{day.isoformat()} : {text}",
                context="saisie des mesures",
            )

    def _survey_measurements(self, iid: int, waves: list[dict], value_at) -> None:  # noqa: ANN001
        """Aggregated results every six months before the oldest wave (the waves' own
        measurements are computed from their respondents)."""
        first = waves[0]["fieldwork_end"]
        for k in range(20 - len(waves), 0, -1):
            day = first - timedelta(days=182 * k)
            value = value_at(day)
            n = self.rng.randint(400, 900)
            half = 196 * (value / 100 * (1 - value / 100) / n) ** 0.5
            self._measurement(
                iid,
                day,
                value,
                f"Baromètre local {day.year} (résultats agrégés)",
                sample_size=n,
                ci_low=round(max(0.0, value - half), 1),
                ci_high=round(min(100.0, value + half), 1),
            )

    def _references(self, iid: int, value_at) -> None:  # noqa: ANN001
        for year in range(self.today.year - 4, self.today.year):
            day = date(year, 12, 1)
            self.batch.add(
                "reference_value",
                {
                    "id": self.ids.take("reference_value"),
                    "indicator_id": iid,
                    "date": day,
                    "value": round(min(99.0, value_at(day) + 5), 1),
                    "source": f"Baromètre du numérique (CREDOC), édition {year + 1}",
                },
            )

    def _waves(self) -> list[dict]:
        rng, today = self.rng, self.today
        waves = []
        count = len(self.shape.waves)
        for n, size in enumerate(self.shape.waves):
            years_ago = (count - 1 - n) * 3
            end = today - timedelta(days=365 * years_ago + rng.randint(60, 300))
            wave = {
                "id": self.ids.take("survey_wave"),
                "plan_id": self.plan_id,
                "name": f"Enquête usages numériques {end.year}",
                "fieldwork_start": end - timedelta(days=rng.randint(20, 60)),
                "fieldwork_end": end,
                "method": "Questionnaire téléphonique et en ligne, quotas par âge et sexe",
                "population": f"Habitants de l'agglomération de {self.town}, 15 ans et plus",
                "sample_size": size,
                "is_example": False,
                "imported_at": min(_moment(end + timedelta(days=15), 11), self.now),
                "columns": SURVEY_COLUMNS,
                "weight_column": "Poids",
            }
            waves.append(wave)
        return waves

    def _responses(
        self, waves: list[dict], survey: list[Indicator], shares: dict[int, dict[str, float]]
    ) -> None:
        """Each wave's respondents, and its measurements computed as the app computes them."""
        gen = self.np
        towns = [self.town, *self.rng.sample([t for t in TOWNS if t != self.town], 5)]
        for wave in waves:
            size = wave["sample_size"]
            end = wave["fieldwork_end"]
            progress = (end.year - self.first_year) / max(1, self.last_year - self.first_year)
            pace = min(1.3, progress * self.pace)

            wanted = shares[wave["id"]]

            def p(
                question: str, base: float, target: float, pace: float = pace, wanted=wanted
            ) -> float:
                share = wanted.get(question, (base + (target - base) * pace) / 100)
                return min(0.97, max(0.03, share))

            ages = gen.choice(AGES, size, p=[0.2, 0.22, 0.24, 0.2, 0.14])
            old = np.isin(ages, AGES[3:])
            smartphone = np.where(gen.random(size) < p("Smartphone", 45, 88), "Oui", "Non")
            daily = gen.random(size) < p("Fréquence internet", 55, 85)
            frequency = np.where(
                daily, FREQUENCIES[0], gen.choice([*FREQUENCIES[1:], "Jamais"], size)
            )
            # The indicator counts the 60 and over: the younger do more online.
            online = gen.random(size) < p("Démarche en ligne", 25, 60) + 0.2 * ~old
            online = np.where(online, "Oui", "Non")
            trouble = gen.random(size) < p("Difficultés démarches", 40, 20)
            difficulty = np.where(
                trouble,
                gen.choice(["Oui, souvent", "Oui, parfois"], size),
                gen.choice(["Non", "Non", "Ne sait pas"], size),
            )
            follows = np.where(gen.random(size) < p("Suit les collectivités", 15, 45), "Oui", "Non")
            columns = [
                gen.choice(towns, size),
                ages,
                gen.choice(["Femme", "Homme"], size),
                smartphone,
                frequency,
                online,
                difficulty,
                follows,
            ]
            # A few blank answers, as in real files.
            blank = gen.random(size) < 0.02
            columns[6] = np.where(blank, "", columns[6])
            answers = [list(row) for row in zip(*(c.tolist() for c in columns), strict=True)]
            weights = np.round(gen.uniform(0.5, 2.0, size), 3).tolist()
            self.batch.add("survey_wave", wave)
            dumps = json.dumps
            for n in range(size):
                self.batch.add(
                    "survey_response",
                    {
                        "id": self.ids.take("survey_response"),
                        "wave_id": wave["id"],
                        "respondent": f"R{n + 1:05d}",
                        "weight": weights[n],
                        "answers": dumps(
                            {c: a for c, a in zip(SURVEY_COLUMNS, answers[n], strict=True) if a}
                        ),
                    },
                )
            editor = self.editor()
            at = wave["imported_at"]
            self.audit(
                at - timedelta(minutes=5), editor, "vague", wave["id"], "création", new=wave["name"]
            )
            results, problems = surveys.compute_all(
                survey,
                surveys.responses_from_table(SURVEY_COLUMNS, answers, weights),
            )
            if problems:
                raise AssertionError(problems)
            for r in results:
                mid = self.ids.take("measurement")
                self.batch.add(
                    "measurement",
                    {
                        "id": mid,
                        "indicator_id": r.indicator_id,
                        "date": end,
                        "value": round(r.value, 4),
                        "source": wave["name"],
                        "wave_id": wave["id"],
                        "sample_size": r.n,
                        "effective_size": round(r.effective_size, 2),
                        "ci_low": round(r.ci_low, 4),
                        "ci_high": round(r.ci_high, 4),
                        "comment": "",
                    },
                )
                text = f"{round(round(r.value, 4), 2):f}".rstrip("0").rstrip(".")
                self.audit(
                    at,
                    editor,
                    "mesure",
                    mid,
                    "création",
                    indicator_id=r.indicator_id,
                    new=f"{end.isoformat()} : {text}",
                    context=f"calcul de la vague « {wave['name']} »",
                )
            self.audit(
                at,
                editor,
                "vague",
                wave["id"],
                "import des réponses",
                new=f"{size} répondants (reponses-{end.year}.csv)",
            )

    # -- budget years, committees ----------------------------------------------

    def _budget_years(self) -> None:
        year = self.today.year
        last_closed = year if self.rng.random() < 0.8 else year - 1
        for y in range(year - 3, last_closed + 1):
            closed = _moment(date(y - 1, 12, 20), 18)
            byid = self.ids.take("budget_year")
            self.batch.add(
                "budget_year",
                {
                    "id": byid,
                    "plan_id": self.plan_id,
                    "year": y,
                    "arbitration_closed_at": closed,
                    "closed_by_id": self.accounts.admin[0],
                },
            )
            if closed > self.created:
                self.audit(
                    closed,
                    self.accounts.admin,
                    "exercice",
                    byid,
                    "clôture de l'arbitrage",
                    new=str(y),
                )

    def _reviews(self) -> None:
        rng, admin = self.rng, self.accounts.admin
        day = self.review_day
        rid = self.ids.take("review")
        title = f"Comité de pilotage du {day:%d/%m/%Y}"
        closed_at = _moment(day, 18)
        self.batch.add(
            "review",
            {
                "id": rid,
                "plan_id": self.plan_id,
                "date": day,
                "title": title,
                "attendees": "Élus référents, direction générale, mission numérique, pilotes",
                "agenda": "Avancement des actions ; budget ; indicateurs ; décisions",
                "status": ReviewStatus.CLOSED,
                "closed_at": closed_at,
                "snapshot": None,
                "created_by_id": admin[0],
            },
        )
        self.audit(
            _moment(day - timedelta(days=20), 9),
            admin,
            "comité",
            rid,
            "création",
            new=f"{title} ({day.isoformat()})",
        )
        for n in range(2):
            did = self.ids.take("decision")
            action = rng.choice(self.action_ids) if n == 0 else None
            text = rng.choice(DECISIONS)
            due = day + timedelta(days=rng.randint(20, 120))
            self.batch.add(
                "decision",
                {
                    "id": did,
                    "review_id": rid,
                    "text": text,
                    "action_id": action,
                    "objective_id": None if action else rng.choice(self.objective_ids),
                    "owner": rng.choice(FUNCTIONS),
                    "due_date": due,
                    "status": DecisionStatus.A_FAIRE,
                    "updated_at": _moment(day, 17),
                    "version": 1,
                },
            )
            self.audit(
                _moment(day, 17),
                admin,
                "décision",
                did,
                "création",
                action_id=action,
                new=text,
                context=f"comité « {title} »",
            )
            follow = _moment(day + timedelta(days=rng.randint(10, 30)), 10)
            status = rng.choice([None, DecisionStatus.EN_COURS, DecisionStatus.FAIT])
            if status is not None and follow < self.now:
                self.audit(
                    follow,
                    admin,
                    "décision",
                    did,
                    "modification",
                    action_id=action,
                    version=2,
                    field_name="status",
                    old=DecisionStatus.A_FAIRE,
                    new=status,
                )
                self.batch.decision_updates.append(
                    {"b_id": did, "status": status, "version": 2, "updated_at": follow}
                )
        self.audit(
            closed_at,
            admin,
            "comité",
            rid,
            "clôture",
            new=f"{title} : instantané du plan au {day.isoformat()}",
        )
        self.batch.snapshots.append((rid, self.plan_id, day, closed_at))
        if rng.random() < 0.5:  # the next committee, already scheduled
            nid = self.ids.take("review")
            next_day = self.today + timedelta(days=rng.randint(10, 70))
            self.batch.add(
                "review",
                {
                    "id": nid,
                    "plan_id": self.plan_id,
                    "date": next_day,
                    "title": f"Comité de pilotage du {next_day:%d/%m/%Y}",
                    "attendees": "",
                    "agenda": "Avancement des actions ; préparation budgétaire",
                    "status": ReviewStatus.OPEN,
                    "closed_at": None,
                    "snapshot": None,
                    "created_by_id": admin[0],
                },
            )
            self.audit(
                min(self.now, _moment(self.today - timedelta(days=3), 9)),
                admin,
                "comité",
                nid,
                "création",
                new=f"Comité de pilotage du {next_day:%d/%m/%Y} ({next_day.isoformat()})",
            )


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def _tables() -> dict[str, sa.Table]:
    tables = dict(SQLModel.metadata.tables)
    tables["survey_response"] = _RESPONSES
    return tables


def _write(engine: Engine, batch: _Batch) -> None:
    """One transaction: the rows, the committees' snapshots, then the later saves."""
    tables = _tables()
    with engine.begin() as conn:
        for name in _ORDER:
            rows = batch.rows.get(name)
            if rows:
                conn.execute(tables[name].insert(), rows)
        session = Session(bind=conn)
        snapshots = []
        for review_id, plan_id, day, closed_at in batch.snapshots:
            snapshot = reviews.take_snapshot(session, plan_id, day)
            snapshot["taken_at"] = closed_at.isoformat()
            snapshots.append({"b_id": review_id, "snapshot": snapshot})
        review = tables["review"]
        if snapshots:
            conn.execute(
                review.update().where(review.c.id == sa.bindparam("b_id")),
                snapshots,
            )
        for name, updates in (
            ("action", batch.action_updates),
            ("decision", batch.decision_updates),
        ):
            if updates:
                table = tables[name]
                conn.execute(table.update().where(table.c.id == sa.bindparam("b_id")), updates)
        bump_revision(session)
        session.flush()
        session.close()


def _accounts(engine: Engine) -> _Accounts:
    """The accounts, created through the service (hashes, audit entries), and a few
    login attempts and sessions."""
    actor = users.system_actor("générateur de données")
    specs = (
        [("mission", Role.ADMIN, "Mission numérique")]
        + [(f"editeur{n}", Role.EDITOR, f"Éditeur {n}") for n in (1, 2)]
        + [(f"pilote{n}", Role.PILOT, f"Pilote {n}") for n in range(1, 9)]
        + [(f"lecteur{n}", Role.VIEWER, f"Lecteur {n}") for n in range(1, 4)]
    )
    made: dict[Role, list[tuple[int, str, str]]] = defaultdict(list)
    # One Argon2 hash for every account: hashing takes about a second each.
    password_hash = users.hash_password(PASSWORD)
    with db.session_scope(engine, write=True) as session:
        for login, role, name in specs:
            user = users.create_user(session, actor, login=login, role=role, display_name=name)
            user.password_hash = password_hash
            session.add(user)
            made[role].append((user.id, user.login, user.display_name))
        now = datetime.now(UTC)
        session.execute(
            sa.insert(SQLModel.metadata.tables["login_attempt"]),
            [
                {"login": login, "at": now - timedelta(hours=hours), "success": success}
                for login, hours, success in (
                    ("mission", 30, True),
                    ("editeur1", 5, False),
                    ("editeur1", 5, True),
                )
            ],
        )
        for user_id, _, _ in made[Role.EDITOR][:1] + made[Role.PILOT][:1]:
            user = session.get(users.User, user_id)
            token, _code = users.start_session(session, user, now=now - timedelta(days=3))
            users.end_session(session, token)
    return _Accounts(
        admin=made[Role.ADMIN][0],
        editors=made[Role.EDITOR],
        pilots=made[Role.PILOT],
        viewers=made[Role.VIEWER],
    )


def _settings(engine: Engine, admin: tuple[int, str, str]) -> None:
    tables = SQLModel.metadata.tables
    with engine.begin() as conn:
        conn.execute(
            tables["setting"].insert(),
            [
                {"key": PUBLIC_VIEW, "value": "non"},
                {"key": UPLOAD_LIMIT_MB, "value": "50"},
                {"key": OPEN_DATA_PILOT_NAMES, "value": "non"},
            ],
        )
        conn.execute(
            tables["audit_entry"].insert(),
            [
                {
                    "at": datetime.now(UTC) - timedelta(days=30),
                    "user_id": admin[0],
                    "user_login": admin[1],
                    "entity": "réglage",
                    "operation": "modification",
                    "field": UPLOAD_LIMIT_MB,
                    "old_value": "20",
                    "new_value": "50",
                    "context": "",
                }
            ],
        )


def _move_sequences(engine: Engine) -> None:
    """PostgreSQL: sequences past the explicit ids, so that the app's inserts get new ones."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for name in _WITH_ID:
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                    f'COALESCE((SELECT MAX(id) FROM "{name}"), 0) + 1, false)'
                )
            )


def _shapes(kind: str, size: int) -> list[_PlanShape]:
    if kind == "portefeuille":
        shape = _PlanShape(
            actions=19, stakes=2, objectives=3, indicators=10, survey_indicators=3, waves=[500]
        )
        return [shape] * size
    indicators = max(10, round(size * 10 / 19))
    return [
        _PlanShape(
            actions=size,
            stakes=min(len(STAKES), max(2, size // 100)),
            objectives=min(len(OBJECTIVES), max(3, size // 40)),
            indicators=indicators,
            survey_indicators=max(5, indicators // 10),
            waves=[1000, 1000] if size >= 200 else [500, 500],
            name=f"Grand plan numérique ({size} actions, données générées)",
        )
    ]


def count_rows(engine: Engine) -> dict[str, int]:
    """Rows per table of the application (alembic_version left out)."""
    with engine.connect() as conn:
        return {
            name: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
            for name in sorted(SQLModel.metadata.tables)
        }


def build(kind: str, database_url: str, scale: str = "full", *, size: int | None = None) -> dict:
    """Build a database of ``kind`` at ``database_url`` (new, or without any plan).

    ``size``: plans for « portefeuille », actions for « grand » (default: by scale).
    Returns {"kind", "seconds", "counts": rows per table, "problems": integrity check}.
    """
    if kind not in KINDS:
        raise ValueError(f"Type de base inconnu : « {kind} » (attendu : {', '.join(KINDS)}).")
    if scale not in ("smoke", "full"):
        raise ValueError(f"Échelle inconnue : « {scale} » (attendu : smoke ou full).")
    started = timer.perf_counter()
    engine = db.make_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            if (
                "plan" in inspector.get_table_names()
                and conn.execute(sa.text("SELECT COUNT(*) FROM plan")).scalar()
            ):
                raise ValueError("La base contient déjà des plans : donnez une base neuve.")
        # Exactly what the app does on its first start (the example only for « exemple »).
        prepare_database(engine, load_example_plan=kind == "exemple")
        accounts = _accounts(engine)
        if kind != "exemple":
            _settings(engine, accounts.admin)
            size = size or SIZES[(kind, scale)]
            shapes = _shapes(kind, size)
            with engine.connect() as conn:
                ids = _Ids(conn)
            for first in range(0, len(shapes), PLANS_PER_TRANSACTION):
                batch = _Batch()
                for index in range(first, min(first + PLANS_PER_TRANSACTION, len(shapes))):
                    _PlanWriter(index, shapes[index], ids, accounts, batch).write()
                _write(engine, batch)
            _move_sequences(engine)
        if db.is_sqlite(engine):
            # No ANALYZE: the app never runs it, so the planner sees what it sees in service.
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        seconds = timer.perf_counter() - started
        with db.session_scope(engine) as session:
            problems = run_checks(session)
        return {
            "kind": kind,
            "seconds": seconds,
            "counts": count_rows(engine),
            "problems": problems,
        }
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument(
        "--url", required=True, help="la base à créer (sqlite:///… ou postgresql://…)"
    )
    parser.add_argument("--scale", choices=["smoke", "full"], default="full")
    parser.add_argument("--size", type=int, help="plans (portefeuille) ou actions (grand)")
    args = parser.parse_args()
    try:
        summary = build(args.kind, args.url, args.scale, size=args.size)
    except ValueError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    total = sum(summary["counts"].values())
    lines = f"{total:,}".replace(",", " ")
    print(f"Base « {args.kind} » construite en {summary['seconds']:.1f} s : {lines} lignes.")
    for name, count in summary["counts"].items():
        print(f"  {name:<18} {count:>10,}".replace(",", " "))
    print(
        f"Comptes : mission (administrateur), editeur1, pilote1, lecteur1… ; "
        f"mot de passe : {PASSWORD}"
    )
    if summary["problems"]:
        print("Problèmes trouvés par la vérification :", file=sys.stderr)
        for problem in summary["problems"]:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("Vérification de la base : aucun problème.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
