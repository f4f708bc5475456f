"""Accounts: password hashes, the first admin, logging in, lockout, sessions,
signed cookies, user management and single sign-on (tracker.services.users)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.conftest import PROJECT_ROOT, TEST_PASSWORD, add_user, count_rows
from tracker import db
from tracker.errors import NotFoundError, PermissionDenied, ValidationError
from tracker.io.template import read_csv_folder
from tracker.models import Action, AuditEntry, LoginAttempt, Plan, Role, User, UserSession
from tracker.services import users
from tracker.services.plans import create_plan

# A fixed clock for everything that takes ``now=``.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NEW_PASSWORD = "un nouveau mot de passe"  # noqa: S105 - a test value
WRONG_PASSWORD = "pas le bon mot de passe"  # noqa: S105 - a test value

# Hashes made with these cheap parameters verify in milliseconds instead of a
# quarter of a second; the lockout tests, which only need failures, use them.
# (A successful login replaces such a hash, as test_successful_login_... proves.)
_OLD_PARAMETERS = PasswordHasher(time_cost=1, memory_cost=8192)


def _minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def _account(
    engine: Engine,
    login: str,
    role: str = "viewer",
    *,
    cheap_password: bool = False,
    **fields,
) -> User:
    """An account created without Argon2 work: no password, or a cheap hash of TEST_PASSWORD."""
    with db.session_scope(engine, write=True) as session:
        user = users.create_user(
            session, users.system_actor("tests"), login=login, role=role, **fields
        )
        if cheap_password:
            user.password_hash = _OLD_PARAMETERS.hash(TEST_PASSWORD)
            session.add(user)
    return user


def _login(engine: Engine, login: str, password: str, at: datetime) -> users.LoginOutcome:
    """One login attempt in its own transaction, committed even when refused (as the page does)."""
    with db.session_scope(engine, write=True) as session:
        return users.authenticate(session, login, password, now=at)


def _fail(engine: Engine, login: str, *offsets: float) -> None:
    """Failed attempts at T0 + each offset, in minutes."""
    for offset in offsets:
        outcome = _login(engine, login, WRONG_PASSWORD, T0 + _minutes(offset))
        assert outcome.message == users.WRONG_CREDENTIALS


def _stored_hash(engine: Engine, user_id: int) -> str | None:
    with db.session_scope(engine) as session:
        return session.get(User, user_id).password_hash


def _start(engine: Engine, user: User, at: datetime | None = None) -> tuple[str, str]:
    with db.session_scope(engine, write=True) as session:
        return users.start_session(session, user, now=at)


def _user_for(engine: Engine, token: str | None, at: datetime | None = None) -> User | None:
    with db.session_scope(engine) as session:
        return users.user_for_token(session, token, now=at)


# --------------------------------------------------------------------------
# Password hashes
# --------------------------------------------------------------------------


def test_stored_password_is_an_argon2_hash_never_the_plain_text(engine):
    user = add_user(engine, "viewer")
    stored = _stored_hash(engine, user.id)
    assert stored.startswith("$argon2")
    assert TEST_PASSWORD not in stored


def test_verify_password_accepts_only_the_right_password():
    stored = users.hash_password(TEST_PASSWORD)
    assert users.verify_password(stored, TEST_PASSWORD)
    assert not users.verify_password(stored, WRONG_PASSWORD)
    assert not users.verify_password(None, TEST_PASSWORD)
    assert not users.verify_password("pas un hash", TEST_PASSWORD)


def test_hash_made_with_other_argon2_parameters_needs_rehash():
    assert users.needs_rehash(_OLD_PARAMETERS.hash(TEST_PASSWORD))
    assert not users.needs_rehash(users.hash_password(TEST_PASSWORD))


def test_successful_login_replaces_an_outdated_hash_with_a_current_one(engine):
    user = _account(engine, "ancien-hash", cheap_password=True)
    old_hash = _stored_hash(engine, user.id)

    assert _login(engine, "ancien-hash", TEST_PASSWORD, T0).user is not None

    new_hash = _stored_hash(engine, user.id)
    assert new_hash != old_hash
    assert not users.needs_rehash(new_hash)
    assert users.verify_password(new_hash, TEST_PASSWORD)


# --------------------------------------------------------------------------
# The first administrator
# --------------------------------------------------------------------------


def test_first_admin_is_created_on_an_empty_database(engine):
    with db.session_scope(engine, write=True) as session:
        users.create_first_admin(
            session,
            login="Mission.Numerique",
            display_name="Mission numérique",
            password=TEST_PASSWORD,
            confirmation=TEST_PASSWORD,
        )
    with db.session_scope(engine) as session:
        admin = users.find_user(session, "mission.numerique")
        assert admin.role == Role.ADMIN
        assert admin.active
        assert users.verify_password(admin.password_hash, TEST_PASSWORD)
        entry = session.exec(select(AuditEntry)).one()
        assert (entry.entity, entry.operation, entry.entity_id) == (
            "utilisateur",
            "création",
            admin.id,
        )


@pytest.mark.parametrize(
    ("password", "confirmation", "message"),
    [
        pytest.param("court", "court", "12 caractères", id="far-too-short"),
        pytest.param("a" * 11, "a" * 11, "12 caractères", id="eleven-characters"),
        pytest.param(TEST_PASSWORD, TEST_PASSWORD + "!", "identiques", id="confirmation-differs"),
        pytest.param(" " * 12, " " * 12, "espaces", id="only-spaces"),
    ],
)
def test_first_admin_refuses_a_weak_or_unconfirmed_password_and_writes_nothing(
    engine, password, confirmation, message
):
    before = count_rows(engine)
    with (
        pytest.raises(ValidationError, match=message),
        db.session_scope(engine, write=True) as session,
    ):
        users.create_first_admin(
            session, login="admin", display_name="", password=password, confirmation=confirmation
        )
    assert count_rows(engine) == before


def test_first_admin_is_refused_once_any_account_exists(engine):
    _account(engine, "lecteur", "viewer")
    before = count_rows(engine)
    with pytest.raises(PermissionDenied), db.session_scope(engine, write=True) as session:
        users.create_first_admin(
            session,
            login="intrus",
            display_name="",
            password=TEST_PASSWORD,
            confirmation=TEST_PASSWORD,
        )
    assert count_rows(engine) == before


# --------------------------------------------------------------------------
# Logging in
# --------------------------------------------------------------------------


def test_wrong_password_and_unknown_login_get_exactly_the_same_message(engine):
    _account(engine, "alice", cheap_password=True)

    wrong_password = _login(engine, "alice", WRONG_PASSWORD, T0)
    unknown_login = _login(engine, "personne", TEST_PASSWORD, T0)

    assert wrong_password == unknown_login == users.LoginOutcome(None, users.WRONG_CREDENTIALS)


def test_every_login_attempt_is_recorded(engine):
    _account(engine, "alice", cheap_password=True)

    _login(engine, "alice", WRONG_PASSWORD, T0)
    _login(engine, "  Alice ", TEST_PASSWORD, T0 + _minutes(1))
    _login(engine, "personne", TEST_PASSWORD, T0 + _minutes(2))

    with db.session_scope(engine) as session:
        attempts = session.exec(
            select(LoginAttempt.login, LoginAttempt.at, LoginAttempt.success).order_by(
                LoginAttempt.id
            )
        ).all()
    assert [tuple(a) for a in attempts] == [
        ("alice", T0, False),
        ("alice", T0 + _minutes(1), True),
        ("personne", T0 + _minutes(2), False),
    ]


def test_disabled_account_cannot_log_in_even_with_the_right_password(engine):
    user = _account(engine, "parti", cheap_password=True)
    with db.session_scope(engine, write=True) as session:
        users.set_active(session, users.command_line_actor(), user.id, False)

    outcome = _login(engine, "parti", TEST_PASSWORD, T0)

    assert outcome == users.LoginOutcome(None, users.WRONG_CREDENTIALS)


# --------------------------------------------------------------------------
# Lockout after repeated failures
# --------------------------------------------------------------------------


def test_five_failures_within_fifteen_minutes_lock_the_login(engine):
    _account(engine, "alice", cheap_password=True)
    _fail(engine, "alice", 0, 3, 6, 9, 12)

    outcome = _login(engine, "alice", TEST_PASSWORD, T0 + _minutes(13))

    assert outcome == users.LoginOutcome(None, users.LOCKED)


def test_four_failures_do_not_lock_the_login(engine):
    _account(engine, "alice", cheap_password=True)
    _fail(engine, "alice", 0, 1, 2, 3)

    assert _login(engine, "alice", TEST_PASSWORD, T0 + _minutes(4)).user is not None


def test_lock_lasts_fifteen_minutes_after_the_fifth_failure(engine):
    _account(engine, "alice", cheap_password=True)
    _fail(engine, "alice", 0, 1, 2, 3, 4)
    fifth = T0 + _minutes(4)

    still_locked = _login(
        engine, "alice", TEST_PASSWORD, fifth + _minutes(15) - timedelta(seconds=1)
    )
    unlocked = _login(engine, "alice", TEST_PASSWORD, fifth + _minutes(15))

    assert still_locked.message == users.LOCKED
    assert unlocked.user is not None and unlocked.user.login == "alice"


def test_five_failures_spread_over_more_than_fifteen_minutes_do_not_lock(engine):
    _account(engine, "alice", cheap_password=True)
    _fail(engine, "alice", 0, 4, 8, 12, 16)

    assert _login(engine, "alice", TEST_PASSWORD, T0 + _minutes(17)).user is not None


def test_the_five_latest_failures_lock_even_after_older_spread_out_ones(engine):
    _account(engine, "alice", cheap_password=True)
    # The first five span 16 minutes and do not lock; the last five (4 to 17) span 13.
    _fail(engine, "alice", 0, 4, 8, 12, 16, 17)

    assert _login(engine, "alice", TEST_PASSWORD, T0 + _minutes(18)).message == users.LOCKED


def test_lock_is_kept_in_the_database_and_survives_a_restart(engine):
    _account(engine, "alice", cheap_password=True)
    _fail(engine, "alice", 0, 1, 2, 3, 4)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()  # the app stops

    restarted = db.make_engine(url)
    try:
        outcome = _login(restarted, "alice", TEST_PASSWORD, T0 + _minutes(5))
    finally:
        restarted.dispose()

    assert outcome.message == users.LOCKED


def test_lock_on_one_login_does_not_affect_another_login(engine):
    _account(engine, "alice", cheap_password=True)
    _account(engine, "bob", cheap_password=True)
    _fail(engine, "alice", 0, 1, 2, 3, 4)

    assert _login(engine, "alice", TEST_PASSWORD, T0 + _minutes(5)).message == users.LOCKED
    assert _login(engine, "bob", TEST_PASSWORD, T0 + _minutes(5)).user is not None


# --------------------------------------------------------------------------
# Browser sessions
# --------------------------------------------------------------------------


def test_started_session_token_identifies_its_user_and_only_its_hash_is_stored(engine):
    user = _account(engine, "alice")

    token, code = _start(engine, user)

    assert token and code and token != code
    assert _user_for(engine, token).id == user.id
    with db.session_scope(engine) as session:
        row = session.exec(select(UserSession)).one()
    assert token not in (row.token_hash, row.login_code_hash)


def test_unknown_or_missing_token_identifies_nobody(engine):
    _start(engine, _account(engine, "alice"))

    assert _user_for(engine, "jeton-inconnu") is None
    assert _user_for(engine, None) is None
    assert _user_for(engine, "") is None


def test_ended_session_stops_working_at_once(engine):
    user = _account(engine, "alice")
    token, _ = _start(engine, user)
    other_token, _ = _start(engine, user)

    with db.session_scope(engine, write=True) as session:
        users.end_session(session, token)

    assert _user_for(engine, token) is None
    assert _user_for(engine, other_token).id == user.id


def test_disabling_an_account_ends_its_sessions_for_good(engine):
    user = _account(engine, "alice")
    token, _ = _start(engine, user)

    with db.session_scope(engine, write=True) as session:
        users.set_active(session, users.command_line_actor(), user.id, False)
    assert _user_for(engine, token) is None

    # Enabling it again does not revive the ended session.
    with db.session_scope(engine, write=True) as session:
        users.set_active(session, users.command_line_actor(), user.id, True)
    assert _user_for(engine, token) is None


def test_password_reset_by_an_admin_ends_the_target_sessions_only(engine):
    admin = _account(engine, "chef", "admin")
    target = _account(engine, "alice")
    admin_token, _ = _start(engine, admin)
    target_token, _ = _start(engine, target)

    with db.session_scope(engine, write=True) as session:
        users.reset_password(session, admin, target.id, NEW_PASSWORD, NEW_PASSWORD)

    assert _user_for(engine, target_token) is None
    assert _user_for(engine, admin_token).id == admin.id
    assert users.verify_password(_stored_hash(engine, target.id), NEW_PASSWORD)


def test_changing_own_password_keeps_the_current_session_and_ends_the_others(engine):
    user = _account(engine, "alice", cheap_password=True)
    current, _ = _start(engine, user)
    elsewhere, _ = _start(engine, user)

    with db.session_scope(engine, write=True) as session:
        users.change_own_password(
            session,
            user,
            current=TEST_PASSWORD,
            new=NEW_PASSWORD,
            confirmation=NEW_PASSWORD,
            keep_token=current,
        )

    assert _user_for(engine, current).id == user.id
    assert _user_for(engine, elsewhere) is None
    assert users.verify_password(_stored_hash(engine, user.id), NEW_PASSWORD)


def test_changing_own_password_refuses_a_wrong_current_password(engine):
    user = _account(engine, "alice", cheap_password=True)
    token, _ = _start(engine, user)
    before = count_rows(engine)

    with (
        pytest.raises(ValidationError, match="actuel"),
        db.session_scope(engine, write=True) as session,
    ):
        users.change_own_password(
            session, user, current=WRONG_PASSWORD, new=NEW_PASSWORD, confirmation=NEW_PASSWORD
        )

    assert count_rows(engine) == before
    assert users.verify_password(_stored_hash(engine, user.id), TEST_PASSWORD)
    assert _user_for(engine, token).id == user.id


def test_session_expires_after_session_duration(engine):
    user = _account(engine, "alice")
    token, _ = _start(engine, user, T0)

    assert _user_for(engine, token, T0 + users.SESSION_DURATION - timedelta(seconds=1)) is not None
    assert _user_for(engine, token, T0 + users.SESSION_DURATION) is None


# --------------------------------------------------------------------------
# One-time login code (traded for the cookie's token)
# --------------------------------------------------------------------------


def _exchange(engine: Engine, code: str, at: datetime | None = None) -> str | None:
    with db.session_scope(engine, write=True) as session:
        return users.exchange_login_code(session, code, now=at)


def test_login_code_gives_a_new_token_and_retires_the_old_one(engine):
    user = _account(engine, "alice")
    old_token, code = _start(engine, user)

    new_token = _exchange(engine, code)

    assert new_token is not None and new_token != old_token
    assert _user_for(engine, new_token).id == user.id
    assert _user_for(engine, old_token) is None


def test_login_code_works_only_once(engine):
    user = _account(engine, "alice")
    _, code = _start(engine, user)

    first = _exchange(engine, code)
    second = _exchange(engine, code)

    assert first is not None
    assert second is None
    assert _user_for(engine, first).id == user.id


def test_expired_login_code_gives_nothing(engine):
    user = _account(engine, "alice")
    _, in_time = _start(engine, user, T0)
    _, too_late = _start(engine, user, T0)

    assert _exchange(engine, in_time, T0 + users.LOGIN_CODE_DURATION - timedelta(seconds=1))
    assert _exchange(engine, too_late, T0 + users.LOGIN_CODE_DURATION) is None


def test_login_code_of_an_ended_session_gives_nothing(engine):
    user = _account(engine, "alice")
    token, code = _start(engine, user)
    with db.session_scope(engine, write=True) as session:
        users.end_session(session, token)

    assert _exchange(engine, code) is None


# --------------------------------------------------------------------------
# Signed cookie values
# --------------------------------------------------------------------------

SECRET = b"secret-de-test"
OTHER_SECRET = b"un-autre-secret"


def test_signed_token_unsigns_to_itself():
    assert users.unsign(users.sign("jeton", SECRET), SECRET) == "jeton"


def _tampered_values() -> dict[str, str | None]:
    signed = users.sign("jeton", SECRET)
    token, signature = signed.rsplit(".", 1)
    flipped = "0" if signature[-1] != "0" else "1"
    return {
        "tampered-token": f"jetoN.{signature}",
        "tampered-signature": f"{token}.{signature[:-1]}{flipped}",
        "signature-removed": f"{token}.",
        "no-dot": token + signature,
        "none": None,
        "empty": "",
        "signed-with-another-secret": users.sign("jeton", OTHER_SECRET),
        "non-ascii-signature": f"{token}.{signature[:-1]}é",
    }


@pytest.mark.parametrize("case", list(_tampered_values()))
def test_unsign_refuses_a_value_not_signed_with_the_secret(case):
    assert users.unsign(_tampered_values()[case], SECRET) is None


def test_session_secret_is_kept_in_the_database_unless_configured(engine, monkeypatch):
    monkeypatch.delenv("TRACKER_SECRET_KEY", raising=False)
    with db.session_scope(engine, write=True) as session:
        first = users.session_secret(session)
    with db.session_scope(engine, write=True) as session:
        assert users.session_secret(session) == first

    monkeypatch.setenv("TRACKER_SECRET_KEY", "cle-configuree")
    with db.session_scope(engine, write=True) as session:
        assert users.session_secret(session) == b"cle-configuree"


# --------------------------------------------------------------------------
# User management
# --------------------------------------------------------------------------


def _admin(engine: Engine) -> User:
    """The acting admin (like add_user(engine, "admin"), without hashing a password)."""
    return _account(engine, "admin", "admin")


def _create(engine: Engine, actor: User, **fields) -> User:
    with db.session_scope(engine, write=True) as session:
        return users.create_user(session, actor, **fields)


def _refused_and_nothing_written(engine: Engine, error: type[Exception], operation) -> str:
    """Run ``operation(session)`` in a transaction; it must raise ``error`` and write nothing."""
    before = count_rows(engine)
    with pytest.raises(error) as raised, db.session_scope(engine, write=True) as session:
        operation(session)
    assert count_rows(engine) == before
    return str(raised.value)


def test_create_user_refuses_a_login_already_taken(engine):
    admin = _admin(engine)
    _create(engine, admin, login="alice", role="viewer")

    message = _refused_and_nothing_written(
        engine,
        ValidationError,
        lambda s: users.create_user(s, admin, login=" Alice ", role="editor"),
    )
    assert "déjà utilisé" in message


@pytest.mark.parametrize(
    "login",
    [
        pytest.param("x", id="one-character"),
        pytest.param("é-accent", id="accented-letter"),
        pytest.param("a b", id="inner-space"),
        pytest.param("-tiret", id="starts-with-a-dash"),
        pytest.param("", id="empty"),
        pytest.param("a" * 121, id="longer-than-120"),
    ],
)
def test_create_user_refuses_a_malformed_login(engine, login):
    admin = _admin(engine)

    message = _refused_and_nothing_written(
        engine,
        ValidationError,
        lambda s: users.create_user(s, admin, login=login, role="viewer"),
    )
    assert "Identifiant invalide" in message


def test_create_user_refuses_an_email_already_used_whatever_its_case(engine):
    admin = _admin(engine)
    _create(engine, admin, login="alice", role="viewer", email="alice@cahors.fr")

    message = _refused_and_nothing_written(
        engine,
        ValidationError,
        lambda s: users.create_user(
            s, admin, login="alice2", role="viewer", email="Alice@Cahors.FR"
        ),
    )
    assert "alice@cahors.fr" in message


def test_create_user_refuses_an_unknown_role(engine):
    admin = _admin(engine)

    message = _refused_and_nothing_written(
        engine,
        ValidationError,
        lambda s: users.create_user(s, admin, login="alice", role="superviseur"),
    )
    assert "Rôle inconnu" in message


def test_last_active_admin_cannot_be_demoted(engine):
    admin = _admin(engine)
    # A disabled admin does not count as a remaining admin.
    former = _create(engine, admin, login="ancien-admin", role="admin")
    with db.session_scope(engine, write=True) as session:
        users.set_active(session, admin, former.id, False)

    message = _refused_and_nothing_written(
        engine, ValidationError, lambda s: users.set_role(s, admin, admin.id, Role.EDITOR)
    )
    assert "au moins un administrateur actif" in message


def test_an_admin_can_be_demoted_while_another_admin_remains_active(engine):
    admin = _admin(engine)
    other = _create(engine, admin, login="autre-admin", role="admin")

    with db.session_scope(engine, write=True) as session:
        users.set_role(session, admin, other.id, Role.EDITOR)

    with db.session_scope(engine) as session:
        assert session.get(User, other.id).role == Role.EDITOR


def test_last_active_admin_cannot_be_disabled(engine):
    admin = _admin(engine)
    command_line = users.command_line_actor()

    message = _refused_and_nothing_written(
        engine, ValidationError, lambda s: users.set_active(s, command_line, admin.id, False)
    )
    assert "au moins un administrateur actif" in message


def test_admin_cannot_disable_their_own_account(engine):
    admin = _admin(engine)
    _create(engine, admin, login="autre-admin", role="admin")

    message = _refused_and_nothing_written(
        engine, ValidationError, lambda s: users.set_active(s, admin, admin.id, False)
    )
    assert "votre propre compte" in message


def test_every_account_change_is_recorded_with_the_acting_admin(engine):
    admin = add_user(engine, "admin")
    with db.session_scope(engine) as session:
        already = session.execute(sa.select(sa.func.max(AuditEntry.id))).scalar_one()

    target = _create(engine, admin, login="alice", role="viewer")
    with db.session_scope(engine, write=True) as session:
        users.set_role(session, admin, target.id, Role.EDITOR)
    with db.session_scope(engine, write=True) as session:
        users.set_active(session, admin, target.id, False)
    with db.session_scope(engine, write=True) as session:
        users.set_active(session, admin, target.id, True)
    with db.session_scope(engine, write=True) as session:
        users.reset_password(session, admin, target.id, NEW_PASSWORD, NEW_PASSWORD)

    with db.session_scope(engine) as session:
        entries = session.exec(
            select(AuditEntry).where(AuditEntry.id > already).order_by(AuditEntry.id)
        ).all()
    assert {(e.entity, e.entity_id, e.user_id, e.user_login) for e in entries} == {
        ("utilisateur", target.id, admin.id, "admin")
    }
    assert [(e.operation, e.field, e.old_value, e.new_value) for e in entries] == [
        ("création", None, None, "alice (viewer)"),
        ("modification", "role", "viewer", "editor"),
        ("désactivation", "active", "oui", "non"),
        ("activation", "active", "non", "oui"),
        ("réinitialisation du mot de passe", "password_hash", None, None),
    ]


def _pilot_of(engine: Engine, plan_id: int) -> dict[str, int | None]:
    """Each action's pilot account, by action code."""
    with db.session_scope(engine) as session:
        rows = session.exec(
            select(Action.code, Action.pilot_user_id).where(Action.plan_id == plan_id)
        ).all()
    return dict(rows)


def _action_ids(engine: Engine, plan_id: int) -> dict[str, int]:
    with db.session_scope(engine) as session:
        rows = session.exec(select(Action.code, Action.id).where(Action.plan_id == plan_id)).all()
    return dict(rows)


def _versions(engine: Engine, plan_id: int) -> dict[str, int]:
    """Each action's version, by action code."""
    with db.session_scope(engine) as session:
        rows = session.exec(select(Action.code, Action.version).where(Action.plan_id == plan_id))
        return dict(rows.all())


def _link(engine: Engine, actor: User, pilot: User, plan_id: int, codes: list[str]) -> None:
    ids = _action_ids(engine, plan_id)
    with db.session_scope(engine, write=True) as session:
        users.link_pilot_actions(session, actor, pilot.id, plan_id, [ids[c] for c in codes])


@pytest.mark.parametrize("new_role", [Role.ADMIN, Role.EDITOR, Role.VIEWER])
def test_a_pilot_given_another_role_is_unlinked_from_their_actions(engine, example_plan, new_role):
    admin = _admin(engine)
    pilot = _create(engine, admin, login="pilote", role="pilot")
    other = _create(engine, admin, login="autre-pilote", role="pilot")
    codes = sorted(_action_ids(engine, example_plan.id))
    _link(engine, admin, pilot, example_plan.id, codes[:2])
    _link(engine, admin, other, example_plan.id, codes[2:3])
    before = _versions(engine, example_plan.id)

    with db.session_scope(engine, write=True) as session:
        users.set_role(session, admin, pilot.id, new_role)

    linked = {code: p for code, p in _pilot_of(engine, example_plan.id).items() if p}
    assert linked == {codes[2]: other.id}
    # Unlinking changes the action: a form opened before is refused as a conflict.
    after = _versions(engine, example_plan.id)
    assert {c for c in codes if after[c] != before[c]} == set(codes[:2])
    assert all(after[c] == before[c] + 1 for c in codes[:2])
    with db.session_scope(engine) as session:
        unlinks = session.exec(
            select(AuditEntry).where(
                AuditEntry.entity == "action",
                AuditEntry.field == "pilot_user_id",
                AuditEntry.old_value == str(pilot.id),
                AuditEntry.new_value.is_(None),
            )
        ).all()
    assert len(unlinks) == 2  # both unlinked actions are in the history


# --------------------------------------------------------------------------
# Linking a pilot account to actions
# --------------------------------------------------------------------------


def _other_plan(engine: Engine, actor: User) -> Plan:
    data = read_csv_folder(PROJECT_ROOT / "data" / "exemple")
    data.name = "Autre plan"
    with db.session_scope(engine, write=True) as session:
        return create_plan(session, data, actor=actor)


def test_link_pilot_actions_links_exactly_the_given_actions_of_the_plan(engine, example_plan):
    editor = _account(engine, "mission", "editor")
    pilot = _account(engine, "pilote", "pilot")
    other = _account(engine, "autre-pilote", "pilot")
    second_plan = _other_plan(engine, editor)
    codes = sorted(_action_ids(engine, example_plan.id))
    _link(engine, editor, pilot, example_plan.id, codes[0:2])
    _link(engine, editor, other, example_plan.id, codes[2:3])
    _link(engine, editor, pilot, second_plan.id, codes[0:1])

    _link(engine, editor, pilot, example_plan.id, [codes[1], codes[3]])

    linked = {code: p for code, p in _pilot_of(engine, example_plan.id).items() if p}
    assert linked == {codes[1]: pilot.id, codes[2]: other.id, codes[3]: pilot.id}
    # Links to the other plan's actions are left as they were.
    linked_elsewhere = {code: p for code, p in _pilot_of(engine, second_plan.id).items() if p}
    assert linked_elsewhere == {codes[0]: pilot.id}


def test_linking_a_pilot_gives_each_action_it_changes_a_new_version_in_the_history(
    engine, example_plan
):
    editor = _account(engine, "mission", "editor")
    pilot = _account(engine, "pilote", "pilot")
    codes = sorted(_action_ids(engine, example_plan.id))
    _link(engine, editor, pilot, example_plan.id, codes[0:2])
    before = _versions(engine, example_plan.id)

    # codes[0] is unlinked, codes[1] stays linked, codes[2] is linked.
    _link(engine, editor, pilot, example_plan.id, codes[1:3])

    after = _versions(engine, example_plan.id)
    changed = {c: after[c] - before[c] for c in codes if after[c] != before[c]}
    assert changed == {codes[0]: 1, codes[2]: 1}
    ids = _action_ids(engine, example_plan.id)
    with db.session_scope(engine) as session:
        entries = session.exec(
            select(AuditEntry)
            .where(AuditEntry.field == "pilot_user_id", AuditEntry.user_login == "mission")
            .order_by(AuditEntry.id)
        ).all()
    assert [(e.action_id, e.entity_version, e.old_value, e.new_value) for e in entries[-2:]] == [
        (ids[codes[0]], after[codes[0]], str(pilot.id), None),
        (ids[codes[2]], after[codes[2]], None, str(pilot.id)),
    ]


@pytest.mark.parametrize("role", ["admin", "editor", "viewer"])
def test_link_pilot_actions_refuses_an_account_that_is_not_a_pilot(engine, example_plan, role):
    editor = _account(engine, "mission", "editor")
    target = _account(engine, "cible", role)
    action_id = min(_action_ids(engine, example_plan.id).values())

    message = _refused_and_nothing_written(
        engine,
        ValidationError,
        lambda s: users.link_pilot_actions(s, editor, target.id, example_plan.id, [action_id]),
    )
    assert "pilote" in message


def test_link_pilot_actions_refuses_an_action_outside_the_plan(engine, example_plan):
    editor = _account(engine, "mission", "editor")
    pilot = _account(engine, "pilote", "pilot")
    second_plan = _other_plan(engine, editor)
    inside = min(_action_ids(engine, example_plan.id).values())
    outside = min(_action_ids(engine, second_plan.id).values())

    message = _refused_and_nothing_written(
        engine,
        NotFoundError,
        lambda s: users.link_pilot_actions(
            s, editor, pilot.id, example_plan.id, [inside, outside, 999_999]
        ),
    )
    assert str(outside) in message and "999999" in message
    assert not any(_pilot_of(engine, example_plan.id).values())


# --------------------------------------------------------------------------
# Single sign-on: finding the account by email
# --------------------------------------------------------------------------


def test_single_sign_on_finds_the_active_account_whatever_the_email_case(engine):
    user = _account(engine, "alice", email="alice@cahors.fr")

    with db.session_scope(engine) as session:
        outcome = users.user_for_email(session, "  Alice@CAHORS.fr ")

    assert outcome.message is None
    assert outcome.user.id == user.id


@pytest.mark.parametrize(
    ("email", "message"),
    [
        pytest.param("inconnu@cahors.fr", "Aucun compte actif", id="unknown-email"),
        pytest.param(None, "Aucun compte actif", id="no-email"),
        pytest.param("parti@cahors.fr", "désactivé", id="disabled-account"),
    ],
)
def test_single_sign_on_refuses_unknown_email_or_disabled_account(engine, email, message):
    _account(engine, "alice", email="alice@cahors.fr")
    gone = _account(engine, "parti", email="parti@cahors.fr")
    with db.session_scope(engine, write=True) as session:
        users.set_active(session, users.command_line_actor(), gone.id, False)

    with db.session_scope(engine) as session:
        outcome = users.user_for_email(session, email)

    assert outcome.user is None
    assert message in outcome.message
    assert "administrateur" in outcome.message
