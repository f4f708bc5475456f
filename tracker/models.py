"""The domain's nouns: every table of the tracker, and the enums they use.

The schema covers the whole mission (plan structure, follow-up, budgets,
indicators and surveys, steering committees, accounts and history) so that
later capabilities add behaviour, not tables. Constraints live in the
database too: foreign keys, unique keys and CHECK constraints.

Conventions:
- money is stored as integer cents (``*_cents`` columns, BIGINT);
- timestamps are timezone-aware UTC datetimes (``utcnow()``), dates are dates;
- enums are stored as short ASCII codes in VARCHAR columns guarded by a CHECK
  constraint (portable between SQLite and PostgreSQL); French labels live in
  ``tracker.strings``.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# A naming convention makes constraint names stable across SQLite and
# PostgreSQL, which Alembic needs to alter them (batch mode on SQLite).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


# Alias so that fields named `date` can still be annotated with the type.
Date = date


def utcnow() -> datetime:
    """Current time as an aware UTC datetime (how every timestamp is stored)."""
    return datetime.now(UTC)


class ActionStatus(enum.StrEnum):
    A_VENIR = "a_venir"
    EN_COURS = "en_cours"
    REALISE = "realise"
    EN_PAUSE = "en_pause"
    BLOQUE = "bloque"
    ABANDONNE = "abandonne"


class Weather(enum.StrEnum):
    SOLEIL = "soleil"
    NUAGEUX = "nuageux"
    ORAGE = "orage"


class Health(enum.StrEnum):
    """An action's health, computed (never stored) by services.progress."""

    ON_TRACK = "dans_les_temps"
    BEHIND = "en_retard"
    AT_RISK = "a_risque"
    DONE = "terminee"
    STOPPED = "arretee"


class ProgressMode(enum.StrEnum):
    ENTERED = "saisi"
    MILESTONES = "jalons"


class Priority(enum.StrEnum):
    HAUTE = "haute"
    NORMALE = "normale"
    BASSE = "basse"


class BudgetSection(enum.StrEnum):
    FONCTIONNEMENT = "fonctionnement"
    INVESTISSEMENT = "investissement"


class FundingStatus(enum.StrEnum):
    ENVISAGE = "envisage"
    SOLLICITE = "sollicite"
    ACCORDE = "accorde"
    VERSE = "verse"
    REFUSE = "refuse"


class Direction(enum.StrEnum):
    HIGHER = "hausse"  # higher is better
    LOWER = "baisse"  # lower is better


class SourceType(enum.StrEnum):
    SURVEY = "enquete"
    ADMINISTRATIVE = "administratif"
    WEB_ANALYTICS = "audience_web"


class IndicatorStatus(enum.StrEnum):
    """Where an indicator stands (computed, never stored)."""

    REACHED = "atteint"
    ON_TRACK = "en_bonne_voie"
    LATE = "en_retard"
    NO_RECENT = "pas_de_mesure_recente"
    NO_TARGET = "sans_cible"
    NOT_ASSESSED = "non_evaluable"


class ReviewStatus(enum.StrEnum):
    OPEN = "ouvert"
    CLOSED = "clos"


class DecisionStatus(enum.StrEnum):
    A_FAIRE = "a_faire"
    EN_COURS = "en_cours"
    FAIT = "fait"
    ABANDONNE = "abandonne"


class Role(enum.StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    PILOT = "pilot"
    VIEWER = "viewer"


def _enum_column(
    enum_cls: type[enum.Enum], name: str, *, nullable: bool = False, default: Any = None
) -> sa.Column:
    """A VARCHAR column holding the enum's values, guarded by a CHECK constraint."""
    return sa.Column(
        sa.Enum(
            enum_cls,
            name=name,
            native_enum=False,
            create_constraint=True,
            length=24,
            validate_strings=True,
            values_callable=lambda members: [m.value for m in members],
        ),
        nullable=nullable,
        default=default,
    )


def _money_column(*, nullable: bool = False) -> sa.Column:
    return sa.Column(sa.BigInteger, nullable=nullable, default=None if nullable else 0)


def _fk(target: str, *, ondelete: str = "CASCADE", nullable: bool = False, index: bool = True):
    return Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
        ),
    )


# --------------------------------------------------------------------------
# Plan structure
# --------------------------------------------------------------------------


class Plan(SQLModel, table=True):
    """A strategy: its stakes, objectives and actions. Several may coexist."""

    __table_args__ = (
        sa.CheckConstraint("last_year >= first_year", name="period"),
        sa.CheckConstraint("first_year BETWEEN 1990 AND 2100", name="first_year_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    description: str = Field(default="")
    adopted_on: date | None = None
    deliberation_ref: str = Field(default="", max_length=300)
    first_year: int
    last_year: int
    is_example: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)


class Collectivity(SQLModel, table=True):
    """A collectivity the plan is common to (Ville de Cahors, Grand Cahors...)."""

    __table_args__ = (sa.UniqueConstraint("plan_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = _fk("plan.id")
    name: str = Field(max_length=120)
    position: int = Field(default=0)


class Stake(SQLModel, table=True):
    """A strategic stake (enjeu)."""

    __table_args__ = (sa.UniqueConstraint("plan_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = _fk("plan.id")
    code: str = Field(max_length=20)
    title: str = Field(max_length=300)
    description: str = Field(default="")
    position: int = Field(default=0)


class Objective(SQLModel, table=True):
    """An objective of the plan; it serves one or more stakes."""

    __table_args__ = (sa.UniqueConstraint("plan_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = _fk("plan.id")
    code: str = Field(max_length=20)
    title: str = Field(max_length=300)
    description: str = Field(default="")
    position: int = Field(default=0)


class ObjectiveStake(SQLModel, table=True):
    """Which stakes an objective serves (many to many)."""

    __tablename__ = "objective_stake"

    objective_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("objective.id", ondelete="CASCADE"), primary_key=True
        )
    )
    stake_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("stake.id", ondelete="CASCADE"), primary_key=True
        )
    )


class Action(SQLModel, table=True):
    """One of the plan's actions. Archived, never deleted."""

    __table_args__ = (
        sa.UniqueConstraint("plan_id", "code"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        sa.CheckConstraint(
            "planned_end_date IS NULL OR start_date IS NULL OR planned_end_date >= start_date",
            name="planned_end_after_start",
        ),
        sa.CheckConstraint(
            "actual_end_date IS NULL OR start_date IS NULL OR actual_end_date >= start_date",
            name="actual_end_after_start",
        ),
        sa.CheckConstraint("update_period_days > 0", name="update_period_positive"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = _fk("plan.id")
    objective_id: int = _fk("objective.id", ondelete="RESTRICT")
    code: str = Field(max_length=20)
    title: str = Field(max_length=300)
    description: str = Field(default="")
    pilot_name: str = Field(default="", max_length=200)
    pilot_function: str = Field(default="", max_length=200)
    # The account allowed to update this action as its pilot (accounts issue).
    pilot_user_id: int | None = _fk("user.id", ondelete="SET NULL", nullable=True)
    service: str = Field(default="", max_length=200)
    elected_referent: str = Field(default="", max_length=200)
    partners: str = Field(default="")
    status: ActionStatus = Field(
        default=ActionStatus.A_VENIR, sa_column=_enum_column(ActionStatus, "status")
    )
    weather: Weather = Field(default=Weather.SOLEIL, sa_column=_enum_column(Weather, "weather"))
    progress: int = Field(default=0)
    progress_mode: ProgressMode = Field(
        default=ProgressMode.ENTERED, sa_column=_enum_column(ProgressMode, "progress_mode")
    )
    priority: Priority = Field(
        default=Priority.NORMALE, sa_column=_enum_column(Priority, "priority")
    )
    start_date: date | None = None
    planned_end_date: date | None = None
    actual_end_date: date | None = None
    update_period_days: int = Field(default=90)
    updated_at: datetime = Field(default_factory=utcnow)
    # Optimistic locking: every save carries the version it started from.
    version: int = Field(default=1)
    archived: bool = Field(default=False)
    position: int = Field(default=0)


class ActionCarrier(SQLModel, table=True):
    """The collectivities carrying an action (one of them, or both)."""

    __tablename__ = "action_carrier"

    action_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("action.id", ondelete="CASCADE"), primary_key=True
        )
    )
    collectivity_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("collectivity.id", ondelete="RESTRICT"), primary_key=True
        )
    )


class Milestone(SQLModel, table=True):
    """A milestone (jalon) of an action; its weight drives derived progress."""

    __table_args__ = (sa.CheckConstraint("weight >= 0", name="weight_non_negative"),)

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = _fk("action.id")
    title: str = Field(max_length=300)
    due_date: date | None = None
    done_date: date | None = None
    weight: int = Field(default=1)
    position: int = Field(default=0)
    version: int = Field(default=1)


class Note(SQLModel, table=True):
    """A dated comment on an action, by its author."""

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = _fk("action.id")
    author_id: int | None = _fk("user.id", ondelete="SET NULL", nullable=True)
    author_name: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    text: str


# --------------------------------------------------------------------------
# Budgets
# --------------------------------------------------------------------------


class BudgetLine(SQLModel, table=True):
    """Money for one action, year, collectivity and section, in integer cents."""

    __tablename__ = "budget_line"
    __table_args__ = (
        sa.UniqueConstraint("action_id", "year", "collectivity_id", "section"),
        sa.CheckConstraint("requested_cents >= 0", name="requested_non_negative"),
        sa.CheckConstraint(
            "arbitrated_cents IS NULL OR arbitrated_cents >= 0", name="arbitrated_non_negative"
        ),
        sa.CheckConstraint("spent_cents >= 0", name="spent_non_negative"),
        sa.CheckConstraint("year BETWEEN 1990 AND 2100", name="year_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = _fk("action.id")
    # No index on year alone: it led the planner to every plan's lines of a year;
    # the unique key (action_id, year, ...) serves the per-plan queries.
    year: int
    collectivity_id: int = _fk("collectivity.id", ondelete="RESTRICT")
    section: BudgetSection = Field(sa_column=_enum_column(BudgetSection, "section"))
    requested_cents: int = Field(default=0, sa_column=_money_column())
    # NULL until the line has been arbitrated.
    arbitrated_cents: int | None = Field(default=None, sa_column=_money_column(nullable=True))
    spent_cents: int = Field(default=0, sa_column=_money_column())
    decision_date: date | None = None
    comment: str = Field(default="")
    version: int = Field(default=1)


class BudgetYear(SQLModel, table=True):
    """A plan's budget year: whether its arbitration is closed (amounts frozen)."""

    __tablename__ = "budget_year"
    __table_args__ = (sa.UniqueConstraint("plan_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = _fk("plan.id")
    year: int
    arbitration_closed_at: datetime | None = None
    closed_by_id: int | None = _fk("user.id", ondelete="SET NULL", nullable=True)


class Funding(SQLModel, table=True):
    """Co-financing of an action by a financer (State, Region, Europe...)."""

    __table_args__ = (sa.CheckConstraint("amount_cents >= 0", name="amount_non_negative"),)

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = _fk("action.id")
    financer: str = Field(max_length=200)
    amount_cents: int = Field(default=0, sa_column=_money_column())
    status: FundingStatus = Field(
        default=FundingStatus.SOLLICITE, sa_column=_enum_column(FundingStatus, "status")
    )
    comment: str = Field(default="")


# --------------------------------------------------------------------------
# Indicators and surveys
# --------------------------------------------------------------------------


class Indicator(SQLModel, table=True):
    """A measure of the strategy's progress, with its baseline and targets."""

    __table_args__ = (
        sa.UniqueConstraint("plan_id", "code"),
        sa.CheckConstraint(
            "update_period_days IS NULL OR update_period_days > 0", name="period_positive"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = _fk("plan.id")
    code: str = Field(max_length=20)
    name: str = Field(max_length=300)
    definition: str = Field(default="")
    unit: str = Field(default="%", max_length=40)
    direction: Direction = Field(
        default=Direction.HIGHER, sa_column=_enum_column(Direction, "direction")
    )
    source_type: SourceType = Field(
        default=SourceType.SURVEY, sa_column=_enum_column(SourceType, "source_type")
    )
    source: str = Field(default="", max_length=300)
    baseline_value: float | None = None
    baseline_date: date | None = None
    intermediate_target: float | None = None
    intermediate_target_date: date | None = None
    target_value: float | None = None
    target_date: date | None = None
    update_period_days: int | None = None
    objective_id: int | None = _fk("objective.id", ondelete="SET NULL", nullable=True)
    # Survey definition: share of respondents whose answer to `survey_question`
    # is among `survey_values`, optionally among those whose answer to
    # `survey_filter_question` is among `survey_filter_values`.
    survey_question: str | None = Field(default=None, max_length=120)
    survey_values: list[str] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    survey_filter_question: str | None = Field(default=None, max_length=120)
    survey_filter_values: list[str] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    position: int = Field(default=0)
    version: int = Field(default=1)


class IndicatorAction(SQLModel, table=True):
    """Which actions an indicator measures (many to many)."""

    __tablename__ = "indicator_action"
    # The primary key starts with indicator_id: this serves « the indicators of an action ».
    __table_args__ = (sa.Index("ix_indicator_action_action_id", "action_id"),)

    indicator_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("indicator.id", ondelete="CASCADE"), primary_key=True
        )
    )
    action_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("action.id", ondelete="CASCADE"), primary_key=True
        )
    )


class ReferenceValue(SQLModel, table=True):
    """A point of a national reference series drawn beside an indicator."""

    __tablename__ = "reference_value"
    __table_args__ = (sa.UniqueConstraint("indicator_id", "date", "source"),)

    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = _fk("indicator.id")
    date: Date
    value: float
    source: str = Field(max_length=300)


class SurveyWave(SQLModel, table=True):
    """One run of the residents' digital-uses survey (2012, its updates...)."""

    __tablename__ = "survey_wave"
    __table_args__ = (
        sa.UniqueConstraint("plan_id", "name"),
        sa.CheckConstraint(
            "fieldwork_end IS NULL OR fieldwork_start IS NULL OR fieldwork_end >= fieldwork_start",
            name="fieldwork_dates",
        ),
        sa.CheckConstraint("sample_size IS NULL OR sample_size >= 0", name="sample_size"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = _fk("plan.id")
    name: str = Field(max_length=200)
    fieldwork_start: date | None = None
    fieldwork_end: date | None = None
    method: str = Field(default="", max_length=300)
    population: str = Field(default="", max_length=300)
    sample_size: int | None = None
    is_example: bool = Field(default=False)
    imported_at: datetime | None = None
    # The columns of the imported file, in order, and the one holding weights.
    columns: list[str] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    weight_column: str | None = Field(default=None, max_length=120)


class SurveyResponse(SQLModel, table=True):
    """One respondent of a wave: answers by question, weight and profile."""

    __tablename__ = "survey_response"
    __table_args__ = (
        sa.UniqueConstraint("wave_id", "respondent"),
        sa.CheckConstraint("weight > 0", name="weight_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = _fk("survey_wave.id")
    respondent: str = Field(max_length=80)
    weight: float = Field(default=1.0)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))


class Measurement(SQLModel, table=True):
    """A dated value of an indicator, with its source and uncertainty."""

    __table_args__ = (
        sa.UniqueConstraint("indicator_id", "date", "source"),
        sa.CheckConstraint("sample_size IS NULL OR sample_size >= 0", name="sample_size"),
        sa.CheckConstraint(
            "ci_low IS NULL OR ci_high IS NULL OR ci_low <= ci_high", name="interval_order"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = _fk("indicator.id")
    date: Date
    value: float
    source: str = Field(default="", max_length=300)
    wave_id: int | None = _fk("survey_wave.id", ondelete="SET NULL", nullable=True)
    sample_size: int | None = None
    effective_size: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    comment: str = Field(default="")


# --------------------------------------------------------------------------
# Steering committee
# --------------------------------------------------------------------------


class Review(SQLModel, table=True):
    """A steering-committee meeting; closing it freezes a snapshot of the plan."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = _fk("plan.id")
    date: Date
    title: str = Field(max_length=300)
    attendees: str = Field(default="")
    agenda: str = Field(default="")
    status: ReviewStatus = Field(
        default=ReviewStatus.OPEN, sa_column=_enum_column(ReviewStatus, "status")
    )
    closed_at: datetime | None = None
    snapshot: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    created_by_id: int | None = _fk("user.id", ondelete="SET NULL", nullable=True)


class Decision(SQLModel, table=True):
    """A decision recorded during a review, followed up in later ones."""

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = _fk("review.id")
    text: str
    action_id: int | None = _fk("action.id", ondelete="SET NULL", nullable=True)
    objective_id: int | None = _fk("objective.id", ondelete="SET NULL", nullable=True)
    owner: str = Field(default="", max_length=200)
    due_date: date | None = None
    status: DecisionStatus = Field(
        default=DecisionStatus.A_FAIRE, sa_column=_enum_column(DecisionStatus, "status")
    )
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = Field(default=1)


# --------------------------------------------------------------------------
# Accounts, history, settings
# --------------------------------------------------------------------------


class User(SQLModel, table=True):
    """An account. Passwords are stored as Argon2 hashes only."""

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=120, sa_column_kwargs={"unique": True})
    display_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=254, index=True)
    role: Role = Field(default=Role.VIEWER, sa_column=_enum_column(Role, "role"))
    password_hash: str | None = Field(default=None, max_length=300)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)


class LoginAttempt(SQLModel, table=True):
    """A login attempt, kept to refuse brute force across restarts."""

    __tablename__ = "login_attempt"
    __table_args__ = (sa.Index("ix_login_attempt_login_at", "login", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=120)
    at: datetime = Field(default_factory=utcnow)
    success: bool = Field(default=False)


class UserSession(SQLModel, table=True):
    """A logged-in browser session; only the token's hash is stored."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = _fk("user.id")
    token_hash: str = Field(max_length=128, sa_column_kwargs={"unique": True})
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None
    # One-time code exchanged (once, within a minute) for the session cookie,
    # so that no long-lived token ever travels in a URL.
    login_code_hash: str | None = Field(
        default=None, max_length=128, sa_column_kwargs={"unique": True}
    )
    login_code_expires_at: datetime | None = None


class AuditEntry(SQLModel, table=True):
    """One changed field: who, when, which entity, old value -> new value."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        sa.Index("ix_audit_entry_entity", "entity", "entity_id"),
        # An action's past statuses (overview, « depuis le dernier comité »): the
        # same cost whatever the number of plans in the database.
        sa.Index("ix_audit_entry_action_field", "action_id", "entity", "field", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user_id: int | None = _fk("user.id", ondelete="SET NULL", nullable=True)
    # Kept as text so history stays readable if the account is renamed.
    user_login: str = Field(default="", max_length=120)
    plan_id: int | None = _fk("plan.id", ondelete="SET NULL", nullable=True)
    # The action an entry concerns (the action itself, its milestones, notes,
    # budget lines...), so that an action's full history is one query.
    action_id: int | None = _fk("action.id", ondelete="SET NULL", nullable=True)
    # Likewise for an indicator, its measurements and reference values.
    indicator_id: int | None = _fk("indicator.id", ondelete="SET NULL", nullable=True)
    entity: str = Field(max_length=40)
    entity_id: int | None = None
    # The entity's version after the change (optimistic locking): a refused save
    # lists the changes made since the version the user started from.
    entity_version: int | None = None
    operation: str = Field(max_length=40)
    field: str | None = Field(default=None, max_length=80)
    old_value: str | None = None
    new_value: str | None = None
    context: str = Field(default="", max_length=200)


class Setting(SQLModel, table=True):
    """A key/value setting changed by admins (public view, upload limit...)."""

    key: str = Field(primary_key=True, max_length=80)
    value: str = Field(default="")


class DataRevision(SQLModel, table=True):
    """A counter bumped by every write; cached reads are keyed on it."""

    __tablename__ = "data_revision"

    id: int = Field(default=1, primary_key=True)
    value: int = Field(default=0)
