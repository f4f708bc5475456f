"""Who may do what: every write operation the services offer, for every role,
and who may update which action (tracker.services.permissions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.conftest import PROJECT_ROOT, count_rows
from tracker import db
from tracker.errors import PermissionDenied
from tracker.io.template import read_csv_folder
from tracker.models import Action, Role, User
from tracker.services import app_settings, plans, users
from tracker.services.permissions import can_edit_action, require_action_edit

NEW_PASSWORD = "un nouveau mot de passe"  # noqa: S105 - a test value

# Who acts: the four roles, nobody logged in, and an admin whose account was disabled.
ACTORS = ("admin", "editor", "pilot", "viewer", "anonymous", "disabled-admin")
Y, N = True, False

# fmt: off
#                        admin  editor pilot  viewer anonymous disabled-admin
MATRIX = {
    "create_plan":        (Y,    Y,     N,     N,     N,        N),
    "create_user":        (Y,    N,     N,     N,     N,        N),
    "set_role":           (Y,    N,     N,     N,     N,        N),
    "set_active":         (Y,    N,     N,     N,     N,        N),
    "reset_password":     (Y,    N,     N,     N,     N,        N),
    "link_pilot_actions": (Y,    Y,     N,     N,     N,        N),
    "update_settings":    (Y,    N,     N,     N,     N,        N),
    "list_users":         (Y,    N,     N,     N,     N,        N),
}
# fmt: on
READ_ONLY = {"list_users"}


@dataclass
class World:
    """The accounts an operation is tried on, and what it acts upon."""

    engine: Engine
    actors: dict[str, User | None]
    target: User  # a viewer account that user-management operations change
    pilot: User  # a pilot account that link_pilot_actions links
    plan_id: int | None = None  # the example plan, loaded only when an operation needs it


def _account(session: Session, login: str, role: str) -> User:
    # No password: hashing would only slow the matrix down.
    return users.create_user(session, users.system_actor("tests"), login=login, role=role)


@pytest.fixture
def world(engine) -> World:
    with db.session_scope(engine, write=True) as session:
        actors: dict[str, User | None] = {
            role: _account(session, role, role) for role in ("admin", "editor", "pilot", "viewer")
        }
        actors["anonymous"] = None
        disabled = _account(session, "ancien-admin", "admin")
        users.set_active(session, users.system_actor("tests"), disabled.id, False)
        actors["disabled-admin"] = disabled
        target = _account(session, "cible", "viewer")
        pilot = _account(session, "pilote-cible", "pilot")
    return World(engine, actors, target, pilot)


def _first_action_id(session: Session, plan_id: int) -> int:
    return session.exec(select(Action.id).where(Action.plan_id == plan_id)).first()


OPERATIONS: dict[str, Callable[[Session, User | None, World], object]] = {
    "create_plan": lambda s, actor, w: plans.create_plan(s, _other_plan_data(), actor=actor),
    "create_user": lambda s, actor, w: users.create_user(s, actor, login="nouveau", role="viewer"),
    "set_role": lambda s, actor, w: users.set_role(s, actor, w.target.id, Role.EDITOR),
    "set_active": lambda s, actor, w: users.set_active(s, actor, w.target.id, False),
    "reset_password": lambda s, actor, w: users.reset_password(
        s, actor, w.target.id, NEW_PASSWORD, NEW_PASSWORD
    ),
    "link_pilot_actions": lambda s, actor, w: users.link_pilot_actions(
        s, actor, w.pilot.id, w.plan_id, [_first_action_id(s, w.plan_id)]
    ),
    "update_settings": lambda s, actor, w: app_settings.update_settings(
        s, actor, public_view=True, upload_limit_mb=50
    ),
    "list_users": lambda s, actor, w: users.list_users(s, actor),
}


def _other_plan_data() -> plans.PlanData:
    data = read_csv_folder(PROJECT_ROOT / "data" / "exemple")
    data.name = "Autre plan"
    return data


def _cases(allowed: bool) -> list:
    return [
        pytest.param(operation, actor, id=f"{actor}-{operation}")
        for operation, row in MATRIX.items()
        for actor, may in zip(ACTORS, row, strict=True)
        if may is allowed
    ]


def _prepare(request: pytest.FixtureRequest, world: World, operation: str) -> None:
    if operation == "link_pilot_actions":
        world.plan_id = request.getfixturevalue("example_plan").id


def test_matrix_covers_every_operation():
    assert set(MATRIX) == set(OPERATIONS)


@pytest.mark.parametrize(("operation", "actor"), _cases(allowed=True))
def test_allowed_role_performs_the_operation(request, world, operation, actor):
    _prepare(request, world, operation)
    before = count_rows(world.engine)

    with db.session_scope(world.engine, write=True) as session:
        result = OPERATIONS[operation](session, world.actors[actor], world)

    if operation in READ_ONLY:
        assert "cible" in [user.login for user in result]
    else:
        # Every write leaves its trace in the history.
        assert count_rows(world.engine)["audit_entry"] > before["audit_entry"]


@pytest.mark.parametrize(("operation", "actor"), _cases(allowed=False))
def test_refused_role_gets_permission_denied_and_nothing_is_written(
    request, world, operation, actor
):
    _prepare(request, world, operation)
    before = count_rows(world.engine)

    with (
        pytest.raises(PermissionDenied),
        db.session_scope(world.engine, write=True) as session,
    ):
        OPERATIONS[operation](session, world.actors[actor], world)

    assert count_rows(world.engine) == before


# --------------------------------------------------------------------------
# Who may update which action
# --------------------------------------------------------------------------

ME, OTHER_PILOT = 1, 2


def _actor(kind: str) -> User | None:
    role, _, state = kind.partition("-")
    if role == "anonymous":
        return None
    return User(id=ME, login=kind, role=Role(role), active=state != "disabled")


# fmt: off
#                   the actor's own action | another pilot's | nobody's
ACTION_MATRIX = {
    "admin":           (Y,                    Y,                Y),
    "editor":          (Y,                    Y,                Y),
    "pilot":           (Y,                    N,                N),
    "viewer":          (N,                    N,                N),
    "anonymous":       (N,                    N,                N),
    "pilot-disabled":  (N,                    N,                N),
    "editor-disabled": (N,                    N,                N),
}
# fmt: on
ACTION_PILOTS = {"own": ME, "other-pilot": OTHER_PILOT, "unassigned": None}

ACTION_CASES = [
    pytest.param(kind, pilot_user_id, may, id=f"{kind}-{'may' if may else 'may-not'}-edit-{owner}")
    for kind, row in ACTION_MATRIX.items()
    for (owner, pilot_user_id), may in zip(ACTION_PILOTS.items(), row, strict=True)
]


@pytest.mark.parametrize(("kind", "pilot_user_id", "may"), ACTION_CASES)
def test_can_edit_action_follows_role_and_pilot_link(kind, pilot_user_id, may):
    action = Action(code="1.1", title="Action", pilot_user_id=pilot_user_id)
    assert can_edit_action(_actor(kind), action) is may


@pytest.mark.parametrize(("kind", "pilot_user_id", "may"), ACTION_CASES)
def test_require_action_edit_refuses_exactly_who_cannot_edit(kind, pilot_user_id, may):
    actor = _actor(kind)
    action = Action(code="1.1", title="Action", pilot_user_id=pilot_user_id)
    if may:
        assert require_action_edit(actor, action) is actor
    else:
        with pytest.raises(PermissionDenied):
            require_action_edit(actor, action)


def test_pilot_without_an_account_id_cannot_edit_an_unassigned_action():
    # A User not (yet) stored has no id; None must not match "no pilot".
    pilot = User(login="pas-enregistre", role=Role.PILOT, active=True)
    action = Action(code="1.1", title="Action", pilot_user_id=None)
    assert not can_edit_action(pilot, action)
    with pytest.raises(PermissionDenied):
        require_action_edit(pilot, action)


def test_pilot_may_edit_exactly_the_actions_linked_to_their_account(engine, example_plan, world):
    with db.session_scope(engine) as session:
        ids = list(
            session.exec(
                select(Action.id).where(Action.plan_id == example_plan.id).order_by(Action.id)
            )
        )
    with db.session_scope(engine, write=True) as session:
        users.link_pilot_actions(
            session, world.actors["editor"], world.pilot.id, example_plan.id, ids[:3]
        )

    with db.session_scope(engine) as session:
        actions = session.exec(select(Action).where(Action.plan_id == example_plan.id)).all()
        editable = {a.id for a in actions if can_edit_action(world.pilot, a)}
        other_pilot_editable = {a.id for a in actions if can_edit_action(world.actors["pilot"], a)}
    assert editable == set(ids[:3])
    assert other_pilot_editable == set()
