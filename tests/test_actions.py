"""Following up actions (tracker.services.actions): updates with their history,
validation, optimistic locking, rights, milestones, archiving, the bulk editor,
the action's page, and filtering the list of actions (plans.filter_actions).

The example plan is loaded in every test; its actions are named by code
(data/exemple/Actions.csv). A refused operation must leave the database as it
was: every refusal is checked with :func:`assert_refused`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.conftest import PROJECT_ROOT, count_rows
from tracker import db
from tracker.errors import ConflictError, PermissionDenied, TrackerError, ValidationError
from tracker.formats import format_date
from tracker.models import Action, ActionStatus, AuditEntry, Milestone, Note, Plan, User, Weather
from tracker.services import users
from tracker.services.actions import (
    MAX_NOTE_LENGTH,
    BulkRow,
    MilestoneInput,
    action_detail,
    add_note,
    bulk_update,
    save_milestones,
    set_archived,
    update_action,
)
from tracker.services.plans import ActionFilter, PlanStructure, filter_actions, plan_structure
from tracker.services.revision import current_revision

TODAY = date.today()
EXAMPLE_DIR = PROJECT_ROOT / "data" / "exemple"
EXAMPLE_ACTION_COUNT = 19

# What people type into a free-text field, pasted from anywhere or typed to probe.
HOSTILE_TEXTS = {
    "script-tag": "<script>alert(1)</script>",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "sql-injection": "'; DROP TABLE action; --",
    "right-to-left": "تحديث الموقع — المرحلة ٢ (עדכון האתר)",
    "emoji": "Déploiement 🚀✅ terminé par 👩🏽‍💻 🇫🇷",
}
TEN_THOUSAND_CHARACTERS = "<a>é😀';--|" * 1000


# --------------------------------------------------------------------------
# The people involved, and small helpers
# --------------------------------------------------------------------------


@dataclass
class Team:
    """The example plan and the accounts acting on it.

    The pilot account is linked to actions 1.5 and 2.2 only.
    """

    engine: Engine
    plan_id: int
    ids: dict[str, int]  # action code -> action id
    # action code -> version as a test starts: 1, or 2 for 1.5 and 2.2 (their link
    # to the pilot account is a change of the action).
    versions: dict[str, int]
    admin: User
    editor: User
    other_editor: User
    pilot: User
    viewer: User


@pytest.fixture
def team(engine: Engine, example_plan: Plan) -> Team:
    system = users.system_actor("tests")
    with db.session_scope(engine, write=True) as session:
        # No password: hashing one would only slow the tests down.
        made = {
            login: users.create_user(
                session, system, login=login, role=role, display_name=display_name
            )
            for login, role, display_name in (
                ("admin", "admin", "Alice Admin"),
                ("redaction", "editor", "Rémi Rédaction"),
                ("relecture", "editor", "Rose Relecture"),
                ("pilote", "pilot", "Paul Pilote"),
                ("elu", "viewer", "Élodie Élue"),
            )
        }
        ids = {
            a.code: a.id
            for a in session.exec(select(Action).where(Action.plan_id == example_plan.id))
        }
        users.link_pilot_actions(
            session, system, made["pilote"].id, example_plan.id, [ids["1.5"], ids["2.2"]]
        )
        versions = {
            a.code: a.version
            for a in session.exec(select(Action).where(Action.plan_id == example_plan.id))
        }
    return Team(
        engine=engine,
        plan_id=example_plan.id,
        ids=ids,
        versions=versions,
        admin=made["admin"],
        editor=made["redaction"],
        other_editor=made["relecture"],
        pilot=made["pilote"],
        viewer=made["elu"],
    )


def write(engine: Engine, operation: Callable[[Session], Any]) -> Any:
    """Run one user operation in its own transaction, as a page does."""
    with db.session_scope(engine, write=True) as session:
        return operation(session)


def read_action(team: Team, code: str) -> Action:
    with db.session_scope(team.engine) as session:
        return session.get(Action, team.ids[code])


def version_of(team: Team, code: str) -> int:
    return read_action(team, code).version


def revision(engine: Engine) -> int:
    with db.session_scope(engine) as session:
        return current_revision(session)


def last_audit_id(engine: Engine) -> int:
    with db.session_scope(engine) as session:
        return session.execute(sa.select(sa.func.max(AuditEntry.id))).scalar() or 0


def audit_since(engine: Engine, after_id: int) -> list[AuditEntry]:
    """The audit entries written after ``after_id``, oldest first."""
    with db.session_scope(engine) as session:
        return list(
            session.exec(select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id))
        )


def milestones_of(team: Team, code: str) -> list[Milestone]:
    with db.session_scope(team.engine) as session:
        return list(
            session.exec(
                select(Milestone)
                .where(Milestone.action_id == team.ids[code])
                .order_by(Milestone.position, Milestone.id)
            )
        )


def notes_of(team: Team, code: str) -> list[Note]:
    with db.session_scope(team.engine) as session:
        return list(
            session.exec(select(Note).where(Note.action_id == team.ids[code]).order_by(Note.id))
        )


def as_input(m: Milestone, **changes: Any) -> MilestoneInput:
    """A stored milestone as the form sends it back, with ``changes``."""
    values = {
        "id": m.id,
        "title": m.title,
        "due_date": m.due_date,
        "done_date": m.done_date,
        "weight": m.weight,
    }
    return MilestoneInput(**(values | changes))


def assert_refused(
    team: Team,
    error: type[TrackerError],
    operation: Callable[[Session], Any],
    *,
    codes: tuple[str, ...] = (),
) -> TrackerError:
    """The operation raises ``error`` and leaves every table, and these actions
    and their milestones, exactly as they were."""
    rows_before = count_rows(team.engine)
    revision_before = revision(team.engine)
    actions_before = {c: read_action(team, c).model_dump() for c in codes}
    milestones_before = {c: [m.model_dump() for m in milestones_of(team, c)] for c in codes}
    with pytest.raises(error) as refused:
        write(team.engine, operation)
    assert count_rows(team.engine) == rows_before
    assert revision(team.engine) == revision_before
    assert {c: read_action(team, c).model_dump() for c in codes} == actions_before
    assert {c: [m.model_dump() for m in milestones_of(team, c)] for c in codes} == (
        milestones_before
    )
    return refused.value


def structure(team: Team, at: date = TODAY) -> PlanStructure:
    with db.session_scope(team.engine) as session:
        return plan_structure(session, team.plan_id, at)


# --------------------------------------------------------------------------
# update_action: changes and their history
# --------------------------------------------------------------------------


def test_update_writes_one_audit_entry_per_changed_field(team: Team) -> None:
    before = read_action(team, "1.5")
    revision_before = revision(team.engine)
    first_new_entry = last_audit_id(team.engine)

    saved = write(
        team.engine,
        lambda s: update_action(
            s,
            team.editor,
            team.ids["1.5"],
            expected_version=before.version,
            changes={
                "status": "bloque",
                "weather": Weather.ORAGE,
                "progress": 75,
                "title": before.title,  # sent back unchanged by the form
            },
        ),
    )

    after = read_action(team, "1.5")
    assert saved.version == after.version == before.version + 1
    assert (after.status, after.weather, after.progress, after.title) == (
        ActionStatus.BLOQUE,
        Weather.ORAGE,
        75,
        before.title,
    )
    assert after.updated_at > before.updated_at
    assert revision(team.engine) == revision_before + 1
    entries = audit_since(team.engine, first_new_entry)
    assert sorted((e.field, e.old_value, e.new_value) for e in entries) == [
        ("progress", "70", "75"),
        ("status", "en_cours", "bloque"),
        ("weather", "nuageux", "orage"),
    ]
    for e in entries:
        assert (e.entity, e.entity_id, e.action_id, e.plan_id) == (
            "action",
            after.id,
            after.id,
            team.plan_id,
        )
        assert (e.operation, e.user_login, e.user_id) == (
            "modification",
            "redaction",
            team.editor.id,
        )
        assert e.entity_version == after.version


def test_saving_unchanged_values_writes_nothing(team: Team) -> None:
    before = read_action(team, "1.5")
    rows_before = count_rows(team.engine)
    revision_before = revision(team.engine)

    write(
        team.engine,
        lambda s: update_action(
            s,
            team.editor,
            team.ids["1.5"],
            expected_version=before.version,
            changes={
                "status": "en_cours",
                "weather": "nuageux",
                "progress": 70,
                "title": before.title,
                "planned_end_date": before.planned_end_date,
            },
        ),
    )

    assert read_action(team, "1.5").model_dump() == before.model_dump()
    assert count_rows(team.engine) == rows_before
    assert revision(team.engine) == revision_before


PROGRESS_RANGE = "L'avancement doit être un nombre entier de 0 à 100 %"
# (action code, changes, note, what the French message says)
INVALID_UPDATES = [
    pytest.param("1.5", {"progress": 101}, None, PROGRESS_RANGE, id="progress-above-100"),
    pytest.param("1.5", {"progress": -1}, None, PROGRESS_RANGE, id="progress-below-0"),
    pytest.param(
        "1.5",
        {"planned_end_date": date(2018, 8, 31)},
        None,
        "La date de fin prévue précède la date de début.",
        id="planned-end-before-start",
    ),
    pytest.param(
        "1.5",
        {"actual_end_date": date(2018, 8, 31)},
        None,
        "La date de fin réelle précède la date de début.",
        id="actual-end-before-start",
    ),
    pytest.param(
        "1.5",
        {"actual_end_date": TODAY + timedelta(days=1)},
        None,
        "La date de fin réelle ne peut pas être dans le futur.",
        id="actual-end-in-the-future",
    ),
    pytest.param(
        "1.5",
        {"title": "   "},
        None,
        "Le titre de l'action ne peut pas être vide.",
        id="empty-title",
    ),
    pytest.param(
        "1.5",
        {"update_period_days": 0},
        None,
        "La périodicité de mise à jour doit être un nombre de jours positif.",
        id="periodicity-zero",
    ),
    pytest.param(
        "1.5",
        {"status": "realise"},
        None,
        "Une action réalisée doit avoir une date de fin réelle.",
        id="done-without-actual-end",
    ),
    pytest.param(
        "1.5",
        {"status": "abandonne"},
        "  ",
        "Indiquez dans une note la raison de l'abandon de l'action.",
        id="abandoned-without-note",
    ),
    pytest.param(
        "1.2",
        {"progress": 60},
        None,
        "L'avancement de cette action est calculé à partir de ses jalons",
        id="progress-of-a-milestone-mode-action",
    ),
    pytest.param(
        "1.5", {"budget": 1000}, None, "Champ(s) inconnu(s) : budget.", id="unknown-field"
    ),
    pytest.param(
        "1.5",
        {"status": "termine"},
        None,
        "Valeur inconnue pour « Statut » : « termine ».",
        id="unknown-status",
    ),
    pytest.param(
        "1.5",
        {"title": "T" * 301},
        None,
        "« Titre » ne peut pas dépasser 300 caractères (saisi : 301).",
        id="title-longer-than-its-column",
    ),
    pytest.param(
        "1.5",
        {"service": "S" * 201},
        None,
        "« Service » ne peut pas dépasser 200 caractères (saisi : 201).",
        id="service-longer-than-its-column",
    ),
]


@pytest.mark.parametrize(("code", "changes", "note", "message"), INVALID_UPDATES)
def test_invalid_update_is_refused_in_french_and_writes_nothing(
    team: Team, code: str, changes: dict, note: str | None, message: str
) -> None:
    version = version_of(team, code)
    refused = assert_refused(
        team,
        ValidationError,
        lambda s: update_action(
            s, team.editor, team.ids[code], expected_version=version, changes=changes, note=note
        ),
        codes=(code,),
    )
    assert message in str(refused)


def test_title_of_exactly_300_characters_is_saved(team: Team) -> None:
    title = "é" * 299 + "😀"
    write(
        team.engine,
        lambda s: update_action(
            s,
            team.editor,
            team.ids["1.5"],
            expected_version=team.versions["1.5"],
            changes={"title": title},
        ),
    )
    assert read_action(team, "1.5").title == title


def test_marking_done_with_an_actual_end_date_sets_progress_to_100(team: Team) -> None:
    first_new_entry = last_audit_id(team.engine)
    write(
        team.engine,
        lambda s: update_action(
            s,
            team.editor,
            team.ids["1.5"],
            expected_version=team.versions["1.5"],
            changes={"status": "realise", "actual_end_date": TODAY},
        ),
    )
    after = read_action(team, "1.5")
    assert (after.status, after.actual_end_date, after.progress) == (
        ActionStatus.REALISE,
        TODAY,
        100,
    )
    assert ("progress", "70", "100") in {
        (e.field, e.old_value, e.new_value) for e in audit_since(team.engine, first_new_entry)
    }


def test_abandoning_with_a_note_stores_the_note_and_its_history(team: Team) -> None:
    reason = "Le conseiller numérique n'est pas remplacé : ateliers repris par le Département."
    first_new_entry = last_audit_id(team.engine)
    write(
        team.engine,
        lambda s: update_action(
            s,
            team.editor,
            team.ids["2.6"],
            expected_version=1,
            changes={"status": "abandonne"},
            note=reason,
        ),
    )
    assert read_action(team, "2.6").status is ActionStatus.ABANDONNE
    [note] = notes_of(team, "2.6")
    assert (note.text, note.author_id, note.author_name) == (
        reason,
        team.editor.id,
        "Rémi Rédaction",
    )
    entries = audit_since(team.engine, first_new_entry)
    assert [(e.entity, e.entity_id, e.action_id, e.operation, e.new_value) for e in entries] == [
        ("action", team.ids["2.6"], team.ids["2.6"], "modification", "abandonne"),
        ("note", note.id, team.ids["2.6"], "création", reason),
    ]


# --------------------------------------------------------------------------
# Optimistic locking
# --------------------------------------------------------------------------


def test_save_on_an_outdated_version_is_refused_naming_who_changed_what(team: Team) -> None:
    opened_at = version_of(team, "1.5")  # both editors open the action
    write(
        team.engine,
        lambda s: update_action(
            s,
            team.other_editor,
            team.ids["1.5"],
            expected_version=opened_at,
            changes={"status": "bloque"},
        ),
    )

    conflict = assert_refused(
        team,
        ConflictError,
        lambda s: update_action(
            s,
            team.editor,
            team.ids["1.5"],
            expected_version=opened_at,
            changes={"weather": "orage", "progress": 80},
        ),
        codes=("1.5",),
    )

    assert "modifiée par quelqu'un d'autre" in conflict.message
    assert any("relecture" in d and "Statut : En cours → Bloqué" in d for d in conflict.details)
    first_saved = read_action(team, "1.5")
    assert (first_saved.status, first_saved.weather, first_saved.progress) == (
        ActionStatus.BLOQUE,
        Weather.NUAGEUX,
        70,
    )

    # Having re-read the action, the second editor saves on top of the first one's change.
    write(
        team.engine,
        lambda s: update_action(
            s,
            team.editor,
            team.ids["1.5"],
            expected_version=first_saved.version,
            changes={"weather": "orage", "progress": 80},
        ),
    )
    final = read_action(team, "1.5")
    assert (final.status, final.weather, final.progress, final.version) == (
        ActionStatus.BLOQUE,
        Weather.ORAGE,
        80,
        opened_at + 2,
    )


# --------------------------------------------------------------------------
# Rights
# --------------------------------------------------------------------------


def test_pilot_updates_status_weather_progress_and_actual_end_of_own_action(team: Team) -> None:
    write(
        team.engine,
        lambda s: update_action(
            s,
            team.pilot,
            team.ids["1.5"],
            expected_version=team.versions["1.5"],
            changes={"status": "bloque", "weather": "orage", "progress": 72},
        ),
    )
    write(
        team.engine,
        lambda s: update_action(
            s,
            team.pilot,
            team.ids["1.5"],
            expected_version=team.versions["1.5"] + 1,
            changes={"status": "realise", "actual_end_date": TODAY},
        ),
    )
    after = read_action(team, "1.5")
    assert (after.status, after.weather, after.progress, after.actual_end_date) == (
        ActionStatus.REALISE,
        Weather.ORAGE,
        100,
        TODAY,
    )
    with db.session_scope(team.engine) as session:
        logins = set(
            session.exec(
                select(AuditEntry.user_login).where(
                    AuditEntry.action_id == team.ids["1.5"],
                    AuditEntry.entity_version > team.versions["1.5"],
                )
            )
        )
    assert logins == {"pilote"}


def test_pilot_may_send_back_unchanged_fields_they_cannot_edit(team: Team) -> None:
    title = read_action(team, "2.2").title
    write(
        team.engine,
        lambda s: update_action(
            s,
            team.pilot,
            team.ids["2.2"],
            expected_version=team.versions["2.2"],
            changes={"title": title, "weather": "nuageux"},
        ),
    )
    assert read_action(team, "2.2").weather is Weather.NUAGEUX


def test_pilot_cannot_update_an_action_not_linked_to_them(team: Team) -> None:
    refused = assert_refused(
        team,
        PermissionDenied,
        lambda s: update_action(
            s, team.pilot, team.ids["2.5"], expected_version=1, changes={"progress": 90}
        ),
        codes=("2.5",),
    )
    assert "l'action 2.5 ne vous est pas confiée" in refused.message


@pytest.mark.parametrize(
    ("changes", "label"),
    [
        ({"title": "Nouveau titre"}, "Titre"),
        ({"planned_end_date": date(2027, 12, 31)}, "Fin prévue"),
        ({"progress": 75, "service": "Autre service"}, "Service"),
    ],
    ids=["title", "planned-end-date", "service-with-progress"],
)
def test_pilot_cannot_change_fields_beyond_status_weather_progress_actual_end(
    team: Team, changes: dict, label: str
) -> None:
    refused = assert_refused(
        team,
        PermissionDenied,
        lambda s: update_action(
            s, team.pilot, team.ids["1.5"], expected_version=team.versions["1.5"], changes=changes
        ),
        codes=("1.5",),
    )
    assert f"il ne peut pas modifier : {label}" in refused.message


def test_viewer_cannot_update_an_action(team: Team) -> None:
    refused = assert_refused(
        team,
        PermissionDenied,
        lambda s: update_action(
            s,
            team.viewer,
            team.ids["1.5"],
            expected_version=team.versions["1.5"],
            changes={"weather": "orage"},
        ),
        codes=("1.5",),
    )
    assert "ne permet pas de mettre à jour des actions" in refused.message


@pytest.mark.parametrize(("who", "code"), [("editor", "2.5"), ("pilot", "1.5")])
def test_editor_adds_notes_to_any_action_and_pilot_to_their_own(
    team: Team, who: str, code: str
) -> None:
    actor = getattr(team, who)
    write(team.engine, lambda s: add_note(s, actor, team.ids[code], "Point d'étape."))
    [note] = notes_of(team, code)
    assert (note.text, note.author_id) == ("Point d'étape.", actor.id)


@pytest.mark.parametrize(
    ("who", "code", "message"),
    [
        ("pilot", "2.5", "l'action 2.5 ne vous est pas confiée"),
        ("viewer", "1.5", "Votre compte ne permet pas d'ajouter des notes."),
    ],
    ids=["pilot-on-another-action", "viewer"],
)
def test_note_refused_to_pilot_of_another_action_and_to_viewer(
    team: Team, who: str, code: str, message: str
) -> None:
    refused = assert_refused(
        team,
        PermissionDenied,
        lambda s: add_note(s, getattr(team, who), team.ids[code], "Point d'étape."),
        codes=(code,),
    )
    assert message in refused.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" \n\t ", "La note est vide."),
        ("n" * (MAX_NOTE_LENGTH + 1), f"ne peut pas dépasser {MAX_NOTE_LENGTH} caractères"),
    ],
    ids=["empty", "one-character-too-long"],
)
def test_empty_or_too_long_note_is_refused(team: Team, text: str, message: str) -> None:
    refused = assert_refused(
        team,
        ValidationError,
        lambda s: add_note(s, team.editor, team.ids["1.5"], text),
        codes=("1.5",),
    )
    assert message in refused.message


def test_note_of_the_maximum_length_is_saved(team: Team) -> None:
    text = "n" * MAX_NOTE_LENGTH
    write(team.engine, lambda s: add_note(s, team.editor, team.ids["1.5"], text))
    assert [n.text for n in notes_of(team, "1.5")] == [text]


# --------------------------------------------------------------------------
# Hostile text is stored as typed
# --------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE_TEXTS.values(), ids=HOSTILE_TEXTS.keys())
def test_hostile_title_is_saved_exactly_as_typed(team: Team, text: str) -> None:
    write(
        team.engine,
        lambda s: update_action(
            s,
            team.editor,
            team.ids["1.5"],
            expected_version=team.versions["1.5"],
            changes={"title": text},
        ),
    )
    assert read_action(team, "1.5").title == text
    rows = structure(team).actions
    assert [a.title for a in rows if a.code == "1.5"] == [text]
    assert count_rows(team.engine)["action"] == EXAMPLE_ACTION_COUNT


@pytest.mark.parametrize(
    "text",
    [*HOSTILE_TEXTS.values(), TEN_THOUSAND_CHARACTERS],
    ids=[*HOSTILE_TEXTS.keys(), "ten-thousand-characters"],
)
def test_hostile_note_is_saved_exactly_as_typed(team: Team, text: str) -> None:
    write(team.engine, lambda s: add_note(s, team.editor, team.ids["1.5"], text))
    assert [n.text for n in notes_of(team, "1.5")] == [text]
    with db.session_scope(team.engine) as session:
        assert [n.text for n in action_detail(session, team.ids["1.5"], TODAY).notes] == [text]
    assert count_rows(team.engine)["action"] == EXAMPLE_ACTION_COUNT


def test_ten_thousand_character_title_is_refused_in_french_on_every_database(
    team: Team,
) -> None:
    # The column holds 300 characters: the service says so rather than letting
    # PostgreSQL fail (and SQLite silently store what PostgreSQL would refuse).
    assert len(TEN_THOUSAND_CHARACTERS) == 10_000
    refused = assert_refused(
        team,
        ValidationError,
        lambda s: update_action(
            s,
            team.editor,
            team.ids["1.5"],
            expected_version=team.versions["1.5"],
            changes={"title": TEN_THOUSAND_CHARACTERS},
        ),
        codes=("1.5",),
    )
    assert "« Titre » ne peut pas dépasser 300 caractères (saisi : 10000)" in str(refused)
    assert count_rows(team.engine)["action"] == EXAMPLE_ACTION_COUNT


# --------------------------------------------------------------------------
# Milestones
# --------------------------------------------------------------------------


def test_save_milestones_adds_edits_completes_reorders_and_removes_in_one_call(
    team: Team,
) -> None:
    # 1.2 has five milestones weighing 2, 3, 3, 3, 4; the first three are done.
    choice, civil, planning, payment, account = milestones_of(team, "1.2")
    renamed = "Compte usager unique et connecté"
    first_new_entry = last_audit_id(team.engine)
    revision_before = revision(team.engine)

    warnings = write(
        team.engine,
        lambda s: save_milestones(
            s,
            team.editor,
            team.ids["1.2"],
            expected_version=1,
            milestones=[
                as_input(account, title=renamed, weight=5),
                as_input(choice),
                as_input(civil),
                as_input(payment, done_date=TODAY),
                MilestoneInput(
                    title="Prise de rendez-vous en ligne", due_date=date(2027, 1, 15), weight=4
                ),
            ],
        ),
    )

    assert warnings == []
    saved = milestones_of(team, "1.2")
    new = saved[-1]
    assert [(m.id, m.title, m.due_date, m.done_date, m.weight, m.position) for m in saved] == [
        (account.id, renamed, account.due_date, None, 5, 0),
        (choice.id, choice.title, choice.due_date, choice.done_date, 2, 1),
        (civil.id, civil.title, civil.due_date, civil.done_date, 3, 2),
        (payment.id, payment.title, payment.due_date, TODAY, 3, 3),
        (new.id, "Prise de rendez-vous en ligne", date(2027, 1, 15), None, 4, 4),
    ]
    entries = audit_since(team.engine, first_new_entry)
    assert {e.action_id for e in entries} == {team.ids["1.2"]}
    assert sorted(
        (e.operation, e.entity_id, e.field or "", e.old_value or "", e.new_value or "")
        for e in entries
        if e.entity == "jalon"
    ) == sorted(
        [
            ("suppression", planning.id, "", planning.title, ""),
            ("modification", account.id, "title", account.title, renamed),
            ("modification", account.id, "weight", "4", "5"),
            ("réordonnancement", account.id, "position", "4", "0"),
            ("réordonnancement", choice.id, "position", "0", "1"),
            ("réordonnancement", civil.id, "position", "1", "2"),
            ("modification", payment.id, "done_date", "", TODAY.isoformat()),
            ("création", new.id, "", "", "Prise de rendez-vous en ligne"),
        ]
    )
    assert [(e.entity, e.operation, e.entity_version) for e in entries if e.entity != "jalon"] == [
        ("action", "jalons modifiés", 2)
    ]
    assert version_of(team, "1.2") == 2
    assert revision(team.engine) == revision_before + 1
    # Done weight 2 + 3 + 3 = 8 out of 5 + 2 + 3 + 3 + 4 = 17.
    expected_progress = round(100 * 8 / 17)
    [row] = [a for a in structure(team).actions if a.code == "1.2"]
    assert row.state.progress == expected_progress == 47
    with db.session_scope(team.engine) as session:
        assert action_detail(session, team.ids["1.2"], TODAY).state.progress == expected_progress


def test_milestone_due_outside_the_action_dates_is_saved_with_a_warning(team: Team) -> None:
    existing = [as_input(m) for m in milestones_of(team, "1.2")]
    late_title = "Bilan d'usage du compte usager"  # 1.2 is planned to end on 30 June 2027
    warnings = write(
        team.engine,
        lambda s: save_milestones(
            s,
            team.editor,
            team.ids["1.2"],
            expected_version=1,
            milestones=[*existing, MilestoneInput(title=late_title, due_date=date(2027, 9, 30))],
        ),
    )
    assert warnings == [f"Jalon « {late_title} » : échéance hors des dates de l'action."]
    assert [m.title for m in milestones_of(team, "1.2")][-1] == late_title


def _with_first(team: Team, **changes: Any) -> list[MilestoneInput]:
    first, *others = milestones_of(team, "1.2")
    return [as_input(first, **changes), *(as_input(m) for m in others)]


def _with_new(team: Team, **fields: Any) -> list[MilestoneInput]:
    return [*(as_input(m) for m in milestones_of(team, "1.2")), MilestoneInput(**fields)]


def _with_foreign_id(team: Team) -> list[MilestoneInput]:
    foreign = milestones_of(team, "1.1")[0]
    return _with_new(team, id=foreign.id, title=foreign.title)


INVALID_MILESTONES: dict[str, tuple[Callable[[Team], list[MilestoneInput]], str]] = {
    "empty-title": (lambda t: _with_first(t, title="  "), "Jalon n°1 : le titre est vide."),
    "negative-weight": (
        lambda t: _with_new(t, title="Nouveau jalon", weight=-1),
        "Jalon n°6 : le poids doit être un entier positif ou nul.",
    ),
    "done-in-the-future": (
        lambda t: _with_first(t, done_date=TODAY + timedelta(days=1)),
        "Jalon n°1 : la date de réalisation est dans le futur.",
    ),
    "milestone-of-another-action": (_with_foreign_id, "introuvable"),
    "title-longer-than-300": (
        lambda t: _with_new(t, title="J" * 301),
        "Jalon n°6 : le titre ne peut pas dépasser 300 caractères.",
    ),
}


@pytest.mark.parametrize(
    ("milestones", "message"), INVALID_MILESTONES.values(), ids=INVALID_MILESTONES.keys()
)
def test_invalid_milestones_are_refused_and_nothing_is_written(
    team: Team, milestones: Callable[[Team], list[MilestoneInput]], message: str
) -> None:
    edited = milestones(team)
    refused = assert_refused(
        team,
        ValidationError,
        lambda s: save_milestones(
            s, team.editor, team.ids["1.2"], expected_version=1, milestones=edited
        ),
        codes=("1.2", "1.1"),
    )
    assert "Les jalons de l'action 1.2 n'ont pas été enregistrés." in refused.message
    assert any(message in d for d in refused.details), refused.details


def test_milestones_saved_on_an_outdated_version_are_refused(team: Team) -> None:
    write(
        team.engine,
        lambda s: update_action(
            s, team.other_editor, team.ids["1.2"], expected_version=1, changes={"weather": "orage"}
        ),
    )
    edited = _with_first(team, done_date=TODAY)
    conflict = assert_refused(
        team,
        ConflictError,
        lambda s: save_milestones(
            s, team.editor, team.ids["1.2"], expected_version=1, milestones=edited
        ),
        codes=("1.2",),
    )
    assert any("relecture" in d and "Météo : Nuageux → Orage" in d for d in conflict.details)


# --------------------------------------------------------------------------
# Archiving
# --------------------------------------------------------------------------


def test_editor_archives_an_action_and_it_leaves_the_plan(team: Team) -> None:
    first_new_entry = last_audit_id(team.engine)
    write(team.engine, lambda s: set_archived(s, team.editor, team.ids["2.5"], True))

    assert read_action(team, "2.5").archived
    codes = [a.code for a in structure(team).actions]
    assert "2.5" not in codes and len(codes) == EXAMPLE_ACTION_COUNT - 1
    [entry] = audit_since(team.engine, first_new_entry)
    assert (entry.entity, entry.entity_id, entry.operation, entry.field) == (
        "action",
        team.ids["2.5"],
        "archivage",
        "archived",
    )
    assert (entry.old_value, entry.new_value, entry.user_login, entry.entity_version) == (
        "non",
        "oui",
        "redaction",
        2,
    )


def test_only_an_admin_restores_an_archived_action(team: Team) -> None:
    write(team.engine, lambda s: set_archived(s, team.editor, team.ids["2.5"], True))
    refused = assert_refused(
        team,
        PermissionDenied,
        lambda s: set_archived(s, team.editor, team.ids["2.5"], False),
        codes=("2.5",),
    )
    assert "Seuls les administrateurs peuvent restaurer" in refused.message

    first_new_entry = last_audit_id(team.engine)
    write(team.engine, lambda s: set_archived(s, team.admin, team.ids["2.5"], False))

    assert not read_action(team, "2.5").archived
    assert "2.5" in [a.code for a in structure(team).actions]
    [entry] = audit_since(team.engine, first_new_entry)
    assert (entry.operation, entry.old_value, entry.new_value, entry.user_login) == (
        "restauration",
        "oui",
        "non",
        "admin",
    )


@pytest.mark.parametrize("who", ["pilot", "viewer"])
def test_pilot_and_viewer_cannot_archive(team: Team, who: str) -> None:
    # 1.5 is the pilot's own action: piloting it does not allow archiving it.
    assert_refused(
        team,
        PermissionDenied,
        lambda s: set_archived(s, getattr(team, who), team.ids["1.5"], True),
        codes=("1.5",),
    )


# --------------------------------------------------------------------------
# Bulk editor
# --------------------------------------------------------------------------


def test_bulk_update_saves_every_changed_row_in_one_call(team: Team) -> None:
    first_new_entry = last_audit_id(team.engine)
    revision_before = revision(team.engine)
    comment = "Recharge en ligne toujours fermée."

    changed = write(
        team.engine,
        lambda s: bulk_update(
            s,
            team.editor,
            [
                BulkRow(team.ids["1.5"], team.versions["1.5"], weather="orage", comment=comment),
                BulkRow(team.ids["2.2"], team.versions["2.2"], progress=90),
                BulkRow(team.ids["2.5"], 1, status=ActionStatus.REALISE),
                # Unchanged: shown in the table, saved as is.
                BulkRow(team.ids["3.1"], 1, status="en_cours", weather="soleil", progress=95),
            ],
            today=TODAY,
        ),
    )

    assert changed == 3
    assert revision(team.engine) > revision_before
    assert read_action(team, "1.5").weather is Weather.ORAGE
    assert read_action(team, "2.2").progress == 90
    done = read_action(team, "2.5")
    assert (done.status, done.actual_end_date, done.progress) == (ActionStatus.REALISE, TODAY, 100)
    assert read_action(team, "3.1").version == 1
    [note] = notes_of(team, "1.5")
    assert (note.text, note.author_id) == (comment, team.editor.id)
    entries = audit_since(team.engine, first_new_entry)
    by_action = {
        code: sorted((e.entity, e.field or "", e.new_value) for e in entries if e.action_id == i)
        for code, i in team.ids.items()
        if any(e.action_id == i for e in entries)
    }
    assert by_action == {
        "1.5": [("action", "weather", "orage"), ("note", "", comment)],
        "2.2": [("action", "progress", "90")],
        "2.5": [
            ("action", "actual_end_date", TODAY.isoformat()),
            ("action", "progress", "100"),
            ("action", "status", "realise"),
        ],
    }
    assert {e.context for e in entries} == {"mise à jour groupée"}
    assert {e.user_login for e in entries} == {"redaction"}


def test_bulk_update_with_nothing_changed_writes_nothing(team: Team) -> None:
    rows_before = count_rows(team.engine)
    revision_before = revision(team.engine)
    changed = write(
        team.engine,
        lambda s: bulk_update(
            s,
            team.editor,
            [
                BulkRow(
                    team.ids["2.2"],
                    team.versions["2.2"],
                    status="en_cours",
                    progress=85,
                    comment="  ",
                )
            ],
        ),
    )
    assert changed == 0
    assert count_rows(team.engine) == rows_before
    assert revision(team.engine) == revision_before


def _outdated_1_5(team: Team) -> None:
    write(
        team.engine,
        lambda s: update_action(
            s,
            team.other_editor,
            team.ids["1.5"],
            expected_version=team.versions["1.5"],
            changes={"progress": 71},
        ),
    )


# id: (who acts, what happens first, the bad row, its action's code, the reason given)
BAD_BULK_ROWS: dict[str, tuple[str, Callable[[Team], None] | None, Callable, str, str]] = {
    "progress-150": (
        "editor",
        None,
        lambda t: BulkRow(t.ids["1.5"], t.versions["1.5"], progress=150),
        "1.5",
        "L'avancement doit être un nombre entier de 0 à 100 % (saisi : 150).",
    ),
    "abandoned-without-comment": (
        "editor",
        None,
        lambda t: BulkRow(t.ids["2.6"], 1, status="abandonne", comment=" "),
        "2.6",
        "Indiquez dans une note la raison de l'abandon de l'action.",
    ),
    "pilot-includes-an-action-not-theirs": (
        "pilot",
        None,
        lambda t: BulkRow(t.ids["2.5"], 1, weather="orage"),
        "2.5",
        "cette action ne vous est pas confiée.",
    ),
    "outdated-version": (
        "editor",
        _outdated_1_5,
        lambda t: BulkRow(t.ids["1.5"], t.versions["1.5"], weather="orage"),
        "1.5",
        "modifiée entre-temps par relecture ; rechargez le tableau.",
    ),
    "unknown-status": (
        "editor",
        None,
        lambda t: BulkRow(t.ids["1.5"], t.versions["1.5"], status="termine"),
        "1.5",
        "Valeur inconnue pour « Statut » : « termine ».",
    ),
}


@pytest.mark.parametrize(
    ("who", "before", "bad_row", "code", "reason"),
    BAD_BULK_ROWS.values(),
    ids=BAD_BULK_ROWS.keys(),
)
def test_bulk_update_with_one_invalid_row_saves_nothing(
    team: Team,
    who: str,
    before: Callable[[Team], None] | None,
    bad_row: Callable[[Team], BulkRow],
    code: str,
    reason: str,
) -> None:
    if before is not None:
        before(team)
    # 2.2 is linked to the pilot, so the valid row is valid for every actor.
    rows = [
        BulkRow(team.ids["2.2"], team.versions["2.2"], progress=90, comment="Bilan en cours."),
        bad_row(team),
    ]
    refused = assert_refused(
        team,
        ValidationError,
        lambda s: bulk_update(s, getattr(team, who), rows),
        codes=("2.2", code),
    )
    assert refused.message == "Aucune modification n'a été enregistrée : corrigez ces lignes."
    assert refused.details == [f"{code} : {reason}"]


def test_bulk_update_lists_every_invalid_row_by_code_with_its_reason(team: Team) -> None:
    _outdated_1_5(team)
    refused = assert_refused(
        team,
        ValidationError,
        lambda s: bulk_update(
            s,
            team.editor,
            [
                BulkRow(team.ids["3.1"], 1, progress=96),
                BulkRow(team.ids["2.2"], team.versions["2.2"], progress=150),
                BulkRow(team.ids["2.6"], 1, status="abandonne"),
                BulkRow(team.ids["1.5"], team.versions["1.5"], weather="orage"),
            ],
        ),
        codes=("3.1", "2.2", "2.6", "1.5"),
    )
    assert refused.details == [
        "2.2 : L'avancement doit être un nombre entier de 0 à 100 % (saisi : 150).",
        "2.6 : Indiquez dans une note la raison de l'abandon de l'action.",
        "1.5 : modifiée entre-temps par relecture ; rechargez le tableau.",
    ]


# --------------------------------------------------------------------------
# The action's page
# --------------------------------------------------------------------------


def test_action_detail_shows_notes_newest_first_and_the_whole_history(team: Team) -> None:
    action_id = team.ids["1.2"]
    payment = milestones_of(team, "1.2")[3]
    write(team.engine, lambda s: add_note(s, team.editor, action_id, "Premier point."))
    write(
        team.engine,
        lambda s: update_action(
            s, team.editor, action_id, expected_version=1, changes={"weather": "orage"}
        ),
    )
    edited = [
        as_input(m, done_date=TODAY) if m.id == payment.id else as_input(m)
        for m in milestones_of(team, "1.2")
    ]
    write(
        team.engine,
        lambda s: save_milestones(s, team.editor, action_id, expected_version=2, milestones=edited),
    )
    write(team.engine, lambda s: add_note(s, team.editor, action_id, "Second point."))

    with db.session_scope(team.engine) as session:
        detail = action_detail(session, action_id, TODAY)

    assert [(n.text, n.author) for n in detail.notes] == [
        ("Second point.", "Rémi Rédaction"),
        ("Premier point.", "Rémi Rédaction"),
    ]
    ours = [(h.what, h.change) for h in detail.history if h.user == "redaction"]
    assert ours == [
        ("Note — création", "Second point."),
        ("Action — jalons modifiés", ""),
        ("Jalon — modification", f"Réalisé le : (vide) → {format_date(TODAY)}"),
        ("Action — modification", "Météo : Nuageux → Orage"),
        ("Note — création", "Premier point."),
    ]
    times = [h.at for h in detail.history]
    assert times == sorted(times, reverse=True)
    # Done weight 2 + 3 + 3 + 3 = 11 out of 15.
    assert detail.state.progress == round(100 * 11 / 15)


def _example_csv(name: str) -> list[dict[str, str]]:
    with (EXAMPLE_DIR / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


def test_action_detail_shows_the_example_budget_lines_and_indicators(team: Team) -> None:
    with db.session_scope(team.engine) as session:
        detail = action_detail(session, team.ids["1.2"], TODAY)

    budget = [r for r in _example_csv("Budget.csv") if r["Action"] == "1.2"]
    assert len(budget) > 5
    assert sorted(
        (line.year, line.collectivity, line.section, line.requested_cents, line.spent_cents)
        for line in detail.budget_lines
    ) == sorted(
        (
            int(r["Année"]),
            r["Collectivité"],
            r["Section"],
            int(r["Demandé (€)"]) * 100,
            int(r["Réalisé (€)"]) * 100,
        )
        for r in budget
    )
    indicators = {
        r["Code"] for r in _example_csv("Indicateurs.csv") if "1.2" in r["Actions"].split(";")
    }
    assert "I3" in indicators
    assert {i.code for i in detail.indicators} == indicators
    assert len(detail.indicators) == len(indicators)


# --------------------------------------------------------------------------
# Filtering the list of actions
# --------------------------------------------------------------------------

# Which stakes each objective serves (data/exemple/Objectifs.csv).
EXAMPLE_STAKES_OF = {"1": {"E1"}, "2": {"E1", "E2"}, "3": {"E2"}}
RECENTLY_FORGOTTEN = ("1.1", "1.5", "2.2")  # not updated for 400 days; 1.1 is done


def _words(a) -> str:
    return " ".join((a.code, a.title, a.description)).lower()


# id: (filter, an independent way to tell whether an action matches it)
FILTERS: dict[str, tuple[ActionFilter, Callable]] = {
    "stake": (ActionFilter(stakes=("E2",)), lambda a: "E2" in EXAMPLE_STAKES_OF[a.objective_code]),
    "objective": (ActionFilter(objectives=("3",)), lambda a: a.code.startswith("3.")),
    "status": (
        ActionFilter(statuses=(ActionStatus.BLOQUE, ActionStatus.EN_PAUSE)),
        lambda a: a.status.value in {"bloque", "en_pause"},
    ),
    "weather": (ActionFilter(weathers=(Weather.ORAGE,)), lambda a: a.weather.value == "orage"),
    "pilot": (
        ActionFilter(pilots=("Chargé(e) de mission numérique",)),
        lambda a: a.pilot_function == "Chargé(e) de mission numérique",
    ),
    "service": (
        ActionFilter(services=("Direction des systèmes d'information",)),
        lambda a: a.service == "Direction des systèmes d'information",
    ),
    "collectivity": (
        ActionFilter(collectivities=("Ville de Cahors",)),
        lambda a: "Ville de Cahors" in a.carriers,
    ),
    "late-only": (
        ActionFilter(late_only=True),
        lambda a: (
            a.planned_end_date is not None
            and a.planned_end_date < TODAY
            and a.status.value not in {"realise", "abandonne"}
        ),
    ),
    "update-due-only": (
        ActionFilter(update_due_only=True),
        lambda a: a.code in RECENTLY_FORGOTTEN and a.status.value not in {"realise", "abandonne"},
    ),
    "text-in-code": (ActionFilter(text=" 2.4 "), lambda a: a.code == "2.4"),
    "text-in-title-any-case": (ActionFilter(text="WIFI"), lambda a: "wifi" in a.title.lower()),
    "text-in-description-any-case": (
        ActionFilter(text="PONT VALENTRÉ"),
        lambda a: "pont valentré" in a.description.lower(),
    ),
    "combination": (
        ActionFilter(
            stakes=("E1",),
            statuses=(ActionStatus.EN_COURS,),
            collectivities=("Grand Cahors",),
            text="en ligne",
        ),
        lambda a: (
            EXAMPLE_STAKES_OF[a.objective_code] & {"E1"}
            and a.status.value == "en_cours"
            and "Grand Cahors" in a.carriers
            and "en ligne" in _words(a)
        ),
    ),
}


@pytest.mark.parametrize(("wanted", "matches"), FILTERS.values(), ids=FILTERS.keys())
def test_filter_actions_keeps_exactly_the_matching_actions(
    team: Team, wanted: ActionFilter, matches: Callable
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=400)
    with db.session_scope(team.engine, write=True) as session:
        session.execute(
            sa.update(Action)
            .where(Action.id.in_([team.ids[c] for c in RECENTLY_FORGOTTEN]))
            .values(updated_at=long_ago)
        )
    plan = structure(team)
    assert len(plan.actions) == EXAMPLE_ACTION_COUNT

    expected = [a.code for a in plan.actions if matches(a)]

    assert 0 < len(expected) < EXAMPLE_ACTION_COUNT  # the filter really filters
    assert [a.code for a in filter_actions(plan, wanted)] == expected


def test_filter_combination_on_the_example_plan(team: Team) -> None:
    # Read off data/exemple/Actions.csv: objectives 1 and 2 serve E1; of their
    # actions in progress carried by the Grand Cahors, these mention « en ligne ».
    wanted = ActionFilter(
        stakes=("E1",),
        statuses=(ActionStatus.EN_COURS,),
        collectivities=("Grand Cahors",),
        text="EN LIGNE",
    )
    assert [a.code for a in filter_actions(structure(team), wanted)] == ["1.2", "1.5", "2.2"]


def test_an_archived_action_takes_no_note_nor_milestone_change(team: Team) -> None:
    action = read_action(team, "3.3")
    with db.session_scope(team.engine, write=True) as session:
        set_archived(session, team.editor, action.id, True)
    archived = read_action(team, "3.3")
    assert_refused(
        team,
        ValidationError,
        lambda s: add_note(s, team.editor, action.id, "Une note."),
        codes=("3.3",),
    )
    assert_refused(
        team,
        ValidationError,
        lambda s: save_milestones(
            s, team.editor, action.id, expected_version=archived.version, milestones=[]
        ),
        codes=("3.3",),
    )


def test_the_same_milestone_twice_in_one_list_is_refused(team: Team) -> None:
    action = read_action(team, "1.2")
    with db.session_scope(team.engine) as session:
        first = session.exec(select(Milestone).where(Milestone.action_id == action.id)).first()
    twice = [MilestoneInput(id=first.id, title=first.title)] * 2
    message = assert_refused(
        team,
        ValidationError,
        lambda s: save_milestones(
            s, team.editor, action.id, expected_version=action.version, milestones=twice
        ),
        codes=("1.2",),
    )
    assert "deux fois" in str(message)


def test_editor_links_a_pilot_account_from_the_action_and_history_names_it(team: Team) -> None:
    action = read_action(team, "3.3")
    with db.session_scope(team.engine, write=True) as session:
        update_action(
            session,
            team.editor,
            action.id,
            expected_version=action.version,
            changes={"pilot_user_id": team.pilot.id},
        )
    assert read_action(team, "3.3").pilot_user_id == team.pilot.id
    with db.session_scope(team.engine) as session:
        history = action_detail(session, action.id, TODAY).history
    assert f"Compte du pilote : (vide) → {team.pilot.login}" in [h.change for h in history]


def test_only_an_active_pilot_account_can_be_linked_to_an_action(team: Team) -> None:
    action = read_action(team, "3.3")
    assert_refused(
        team,
        ValidationError,
        lambda s: update_action(
            s,
            team.editor,
            action.id,
            expected_version=action.version,
            changes={"pilot_user_id": team.viewer.id},
        ),
        codes=("3.3",),
    )
