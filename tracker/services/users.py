"""Accounts: passwords, logging in, sessions, and user management.

Passwords are hashed with Argon2 (argon2-cffi) and rehashed when the hashing
parameters change. Failed logins are recorded in the database: after
MAX_FAILURES failures on one login within LOCK_WINDOW, that login is refused
for LOCK_DURATION, across restarts and sessions. A browser session is a random
token whose SHA-256 hash is stored; the cookie carries the token signed with
HMAC, and every request checks it against the database, so logging out or
disabling the account ends it at once.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, select

from tracker.errors import NotFoundError, PermissionDenied, ValidationError
from tracker.models import Action, LoginAttempt, Role, Setting, User, UserSession, utcnow
from tracker.services import audit
from tracker.services.locking import lock_name, lock_rows, locked_get
from tracker.services.permissions import Permission, require
from tracker.services.revision import bump_revision

MIN_PASSWORD_LENGTH = 12
MAX_FAILURES = 5
LOCK_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
SESSION_DURATION = timedelta(hours=8)
LOGIN_CODE_DURATION = timedelta(minutes=1)
SECRET_SETTING = "session_secret"  # noqa: S105 - the name of a setting, not a secret

WRONG_CREDENTIALS = "Identifiant ou mot de passe incorrect."
LOCKED = (
    "Trop de tentatives de connexion échouées : cet identifiant est bloqué pendant "
    "15 minutes. Réessayez plus tard ou demandez à un administrateur."
)
_LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,119}$")

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the login is unknown, so that the answer takes as long
    as for a real account and does not reveal which logins exist.

    Made on first need rather than at import: a hash costs about 0.2 s, paid by
    every ``python -m tracker`` command otherwise.
    """
    return _hasher.hash("mot de passe factice pour l'égalité des temps")


def system_actor(label: str) -> User:
    """An actor that is not an account (never stored): the app itself, or the command line.

    It acts as an admin: whoever runs it already holds the database.
    Its label is what the history shows as the author.
    """
    return User(id=None, login=label, role=Role.ADMIN, active=True)


def command_line_actor() -> User:
    """The operator at the command line."""
    return system_actor("ligne de commande")


# --------------------------------------------------------------------------
# Passwords
# --------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """The Argon2 hash of a password (never store the password itself)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches the stored hash."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_new_password(password: str, confirmation: str) -> None:
    """Refuse a password that is too short or not confirmed."""
    if password != confirmation:
        raise ValidationError("Les deux mots de passe saisis ne sont pas identiques.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"Le mot de passe doit contenir au moins {MIN_PASSWORD_LENGTH} caractères."
        )
    if not password.strip():
        raise ValidationError("Le mot de passe ne peut pas être fait que d'espaces.")


def normalise_login(login: str) -> str:
    return login.strip().lower()


def _check_login(login: str) -> str:
    login = normalise_login(login)
    if not _LOGIN_PATTERN.match(login):
        raise ValidationError(
            "Identifiant invalide : 2 à 120 caractères, lettres sans accent, chiffres, "
            "point, tiret, @ ou soulignement, en commençant par une lettre ou un chiffre."
        )
    return login


def _check_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    email = email.strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise ValidationError(f"Adresse électronique invalide : « {email} ».")
    return email


# --------------------------------------------------------------------------
# User management
# --------------------------------------------------------------------------


def has_users(session: Session) -> bool:
    """Whether any account exists (the first-run screen is shown until one does)."""
    return session.exec(select(User.id).limit(1)).first() is not None


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"L'utilisateur n°{user_id} n'existe pas.")
    return user


def find_user(session: Session, login: str) -> User:
    user = session.exec(select(User).where(User.login == normalise_login(login))).first()
    if user is None:
        raise NotFoundError(f"Aucun utilisateur n'a l'identifiant « {login} ».")
    return user


def list_users(session: Session, actor: User | None) -> list[User]:
    """Every account, by login (admins only)."""
    require(actor, Permission.MANAGE_USERS)
    return list(session.exec(select(User).order_by(User.login)).all())


def _new_user(
    session: Session,
    *,
    actor: User | None,
    login: str,
    role: Role,
    display_name: str,
    email: str | None,
    password: str | None,
    confirmation: str | None,
    context: str,
) -> User:
    login = _check_login(login)
    email = _check_email(email)
    _lock_new_accounts(session)
    if session.exec(select(User.id).where(User.login == login)).first() is not None:
        raise ValidationError(f"L'identifiant « {login} » est déjà utilisé.")
    if email and session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise ValidationError(f"L'adresse « {email} » est déjà celle d'un autre compte.")
    password_hash = None
    if password is not None:
        check_new_password(password, password if confirmation is None else confirmation)
        password_hash = hash_password(password)
    user = User(
        login=login,
        display_name=display_name.strip() or login,
        email=email,
        role=Role(role),
        password_hash=password_hash,
        active=True,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor or user,
        entity="utilisateur",
        entity_id=user.id,
        operation="création",
        new=f"{login} ({user.role.value})",
        context=context,
    )
    bump_revision(session)
    return user


def _lock_new_accounts(session: Session) -> None:
    """Taken before checking that a login or email is free, or that no account exists
    yet (tracker.services.locking): without it, on PostgreSQL, two accounts created
    at once with one email both passed the check (and a login taken twice failed on
    the database's unique key instead of a French message)."""
    lock_name(session, "new accounts")


def create_first_admin(
    session: Session, *, login: str, display_name: str, password: str, confirmation: str
) -> User:
    """Create the first administrator; refused as soon as any account exists."""
    _lock_new_accounts(session)
    if has_users(session):
        raise PermissionDenied("Un administrateur existe déjà : connectez-vous.")
    return _new_user(
        session,
        actor=None,
        login=login,
        role=Role.ADMIN,
        display_name=display_name,
        email=None,
        password=password,
        confirmation=confirmation,
        context="premier administrateur",
    )


def create_user(
    session: Session,
    actor: User | None,
    *,
    login: str,
    role: Role | str,
    display_name: str = "",
    email: str | None = None,
    password: str | None = None,
    confirmation: str | None = None,
) -> User:
    """Create an account (admins only). Without a password, only single sign-on works."""
    require(actor, Permission.MANAGE_USERS)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError(f"Rôle inconnu : « {role} ».") from None
    return _new_user(
        session,
        actor=actor,
        login=login,
        role=role,
        display_name=display_name,
        email=email,
        password=password,
        confirmation=confirmation,
        context="",
    )


def pilot_accounts(session: Session, actor: User | None) -> list[tuple[int, str]]:
    """Active pilot accounts as (id, name) — what an editor may link to an action."""
    require(actor, Permission.EDIT_PLAN)
    rows = session.exec(
        select(User).where(User.role == Role.PILOT, User.active == sa.true()).order_by(User.login)
    )
    return [(u.id, f"{u.display_name or u.login} ({u.login})") for u in rows]


def _locked_account(session: Session, user_id: int) -> User:
    """The account as last committed, locked until the end of the transaction."""
    user = locked_get(session, User, user_id)
    if user is None:
        raise NotFoundError(f"L'utilisateur n°{user_id} n'existe pas.")
    return user


def _lock_account_and_admins(session: Session, user_id: int) -> User:
    """The account, locked with every active administrator's, in id order.

    So that « at least one active administrator stays » holds: two admins demoting
    or disabling each other at once each counted the other as the one staying (on
    PostgreSQL), and none was left. Now the second waits, then counts again.
    """
    rows = lock_rows(
        session,
        User,
        sa.or_(User.id == user_id, sa.and_(User.role == Role.ADMIN, User.active == sa.true())),
    )
    user = next((u for u in rows if u.id == user_id), None)
    if user is None:
        raise NotFoundError(f"L'utilisateur n°{user_id} n'existe pas.")
    return user


def _other_active_admins(session: Session, user: User) -> int:
    return session.execute(
        sa.select(sa.func.count(User.id)).where(
            User.role == Role.ADMIN, User.active == sa.true(), User.id != user.id
        )
    ).scalar_one()


def set_role(session: Session, actor: User | None, user_id: int, role: Role | str) -> User:
    """Change an account's role (admins only); the last active admin stays admin."""
    require(actor, Permission.MANAGE_USERS)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError(f"Rôle inconnu : « {role} ».") from None
    user = _lock_account_and_admins(session, user_id)
    if user.role == role:
        return user
    if user.role == Role.ADMIN and user.active and _other_active_admins(session, user) == 0:
        raise ValidationError("Il doit rester au moins un administrateur actif.")
    audit.record(
        session,
        actor=actor,
        entity="utilisateur",
        entity_id=user.id,
        operation="modification",
        field="role",
        old=user.role,
        new=role,
    )
    user.role = role
    if role != Role.PILOT:
        # Only pilots are linked to actions. Locked (after the account), so that an
        # action given another pilot meanwhile is left to that pilot.
        for action in lock_rows(session, Action, Action.pilot_user_id == user.id):
            _set_pilot(session, actor, action, None)
    session.add(user)
    bump_revision(session)
    return user


def set_active(session: Session, actor: User | None, user_id: int, active: bool) -> User:
    """Disable or re-enable an account (admins only). Disabling ends its sessions at once."""
    require(actor, Permission.MANAGE_USERS)
    user = _lock_account_and_admins(session, user_id)
    if user.active == active:
        return user
    if not active:
        if actor is not None and actor.id == user.id:
            raise ValidationError("Vous ne pouvez pas désactiver votre propre compte.")
        if user.role == Role.ADMIN and _other_active_admins(session, user) == 0:
            raise ValidationError("Il doit rester au moins un administrateur actif.")
        _revoke_sessions(session, user.id)
    audit.record(
        session,
        actor=actor,
        entity="utilisateur",
        entity_id=user.id,
        operation="activation" if active else "désactivation",
        field="active",
        old=user.active,
        new=active,
    )
    user.active = active
    session.add(user)
    bump_revision(session)
    return user


def reset_password(
    session: Session, actor: User | None, user_id: int, password: str, confirmation: str
) -> User:
    """Set a new password for an account (admins only); its sessions end."""
    require(actor, Permission.MANAGE_USERS)
    user = get_user(session, user_id)
    check_new_password(password, confirmation)
    user.password_hash = hash_password(password)
    _revoke_sessions(session, user.id)
    audit.record(
        session,
        actor=actor,
        entity="utilisateur",
        entity_id=user.id,
        operation="réinitialisation du mot de passe",
        field="password_hash",
    )
    session.add(user)
    # The accounts page is read per data revision: an account that only signed in with
    # the collectivity's account now has a password too.
    bump_revision(session)
    return user


def change_own_password(
    session: Session,
    actor: User | None,
    *,
    current: str,
    new: str,
    confirmation: str,
    keep_token: str | None = None,
) -> User:
    """A user changes their own password; their other sessions end."""
    if actor is None or actor.id is None:
        raise PermissionDenied("Vous devez être connecté pour changer votre mot de passe.")
    user = get_user(session, actor.id)
    if not user.active:
        raise PermissionDenied("Ce compte est désactivé.")
    if not verify_password(user.password_hash, current):
        raise ValidationError("Le mot de passe actuel est incorrect.")
    check_new_password(new, confirmation)
    user.password_hash = hash_password(new)
    keep = _token_hash(keep_token) if keep_token else None
    _revoke_sessions(session, user.id, except_hash=keep)
    audit.record(
        session,
        actor=user,
        entity="utilisateur",
        entity_id=user.id,
        operation="changement du mot de passe",
        field="password_hash",
    )
    session.add(user)
    return user


def link_pilot_actions(
    session: Session, actor: User | None, user_id: int, plan_id: int, action_ids: list[int]
) -> None:
    """Make a pilot account the pilot of exactly these actions of a plan (editors, admins).

    Links to actions of other plans are left as they are.
    """
    require(actor, Permission.EDIT_PLAN)
    # The account, then the plan's actions, locked (tracker.services.locking): without
    # it, on PostgreSQL, an account made editor meanwhile could still be linked, and
    # an action given another pilot meanwhile lost that pilot.
    user = _locked_account(session, user_id)
    if user.role != Role.PILOT:
        raise ValidationError("Seul un compte de pilote peut être lié à des actions.")
    wanted = set(action_ids)
    plan_actions = lock_rows(session, Action, Action.plan_id == plan_id)
    missing = wanted - {a.id for a in plan_actions}
    if missing:
        raise NotFoundError(f"Action(s) introuvable(s) dans ce plan : {sorted(missing)}.")
    for action in plan_actions:
        new = (
            user.id
            if action.id in wanted
            else (None if action.pilot_user_id == user.id else action.pilot_user_id)
        )
        if action.pilot_user_id != new:
            _set_pilot(session, actor, action, new)
    bump_revision(session)


def _set_pilot(session: Session, actor: User | None, action: Action, pilot_id: int | None) -> None:
    """Link a locked action to another pilot account (or none), with one version more.

    The pilot account is a field of the action's form: an action form opened before
    this change is refused as a conflict, instead of putting the previous pilot back.
    The action's last update date stays: it dates the follow-up, not its links.
    """
    action.version += 1
    audit.record(
        session,
        actor=actor,
        entity="action",
        entity_id=action.id,
        plan_id=action.plan_id,
        entity_version=action.version,
        operation="modification",
        field="pilot_user_id",
        old=action.pilot_user_id,
        new=pilot_id,
    )
    action.pilot_user_id = pilot_id
    session.add(action)


# --------------------------------------------------------------------------
# Logging in
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    message: str | None  # French message when refused


def locked_until(session: Session, login: str, now: datetime) -> datetime | None:
    """When a login's lock ends, if MAX_FAILURES failures fell within LOCK_WINDOW."""
    since = now - LOCK_WINDOW - LOCK_DURATION
    last_success = session.execute(
        sa.select(sa.func.max(LoginAttempt.at)).where(
            LoginAttempt.login == login, LoginAttempt.success == sa.true()
        )
    ).scalar()
    if last_success is not None and last_success > since:
        since = last_success
    failures = session.exec(
        select(LoginAttempt.at)
        .where(
            LoginAttempt.login == login, LoginAttempt.success == sa.false(), LoginAttempt.at > since
        )
        .order_by(LoginAttempt.at)
    ).all()
    until = None
    for i in range(MAX_FAILURES - 1, len(failures)):
        if failures[i] - failures[i - MAX_FAILURES + 1] <= LOCK_WINDOW:
            until = failures[i] + LOCK_DURATION
    return until if until is not None and until > now else None


def authenticate(
    session: Session, login: str, password: str, *, now: datetime | None = None
) -> LoginOutcome:
    """Check a login and password, recording the attempt.

    The caller commits even when refused: the failed attempt must be kept.
    Wrong login and wrong password give the same message.
    """
    now = now or utcnow()
    login = normalise_login(login)[:120]
    if locked_until(session, login, now) is not None:
        return LoginOutcome(None, LOCKED)
    # Made before the lookup, known login or not: the process's first attempt then
    # pays for it either way, and the timing still tells nothing.
    dummy_hash = _dummy_hash()
    user = session.exec(select(User).where(User.login == login)).first() if login else None
    valid = verify_password(user.password_hash if user else dummy_hash, password)
    ok = user is not None and user.active and valid
    session.add(LoginAttempt(login=login, at=now, success=ok))
    session.flush()
    if not ok:
        return LoginOutcome(None, WRONG_CREDENTIALS)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    audit.record(
        session, actor=user, entity="utilisateur", entity_id=user.id, operation="connexion"
    )
    return LoginOutcome(user, None)


def user_for_email(session: Session, email: str | None) -> LoginOutcome:
    """The active account matching a single sign-on identity's email."""
    email = (email or "").strip().lower()
    user = session.exec(select(User).where(User.email == email)).first() if email else None
    if user is None:
        return LoginOutcome(
            None,
            "Aucun compte actif ne correspond à votre adresse "
            f"« {email or 'inconnue'} ». Demandez un accès à un "
            "administrateur.",
        )
    if not user.active:
        return LoginOutcome(None, "Votre compte est désactivé. Adressez-vous à un administrateur.")
    return LoginOutcome(user, None)


# --------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User, *, now: datetime | None = None) -> tuple[str, str]:
    """Open a browser session: returns (session token, one-time login code)."""
    now = now or utcnow()
    token, code = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=_token_hash(token),
            expires_at=now + SESSION_DURATION,
            login_code_hash=_token_hash(code),
            login_code_expires_at=now + LOGIN_CODE_DURATION,
            created_at=now,
        )
    )
    session.flush()
    return token, code


def exchange_login_code(session: Session, code: str, *, now: datetime | None = None) -> str | None:
    """Trade a one-time login code for a fresh session token (for the cookie).

    The code works once, within LOGIN_CODE_DURATION; the session's token is
    replaced, so the token the code came with no longer works.
    """
    now = now or utcnow()
    # Locked: the same code sent twice at once was exchanged twice on PostgreSQL.
    # The second exchange now waits, then no longer finds the code.
    rows = lock_rows(session, UserSession, UserSession.login_code_hash == _token_hash(code))
    row = rows[0] if rows else None
    if row is None:
        return None
    valid = (
        row.login_code_expires_at is not None
        and row.login_code_expires_at > now
        and row.revoked_at is None
        and row.expires_at > now
    )
    row.login_code_hash = None
    row.login_code_expires_at = None
    if not valid:
        session.add(row)
        return None
    token = secrets.token_urlsafe(32)
    row.token_hash = _token_hash(token)
    session.add(row)
    return token


def user_for_token(
    session: Session, token: str | None, *, now: datetime | None = None
) -> User | None:
    """The active user of a valid, unexpired, unrevoked session token."""
    if not token:
        return None
    now = now or utcnow()
    row = session.execute(
        sa.select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.token_hash == _token_hash(token),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
            User.active == sa.true(),
        )
    ).scalar_one_or_none()
    return row


def end_session(session: Session, token: str | None) -> None:
    """Log out: the session token stops working at once."""
    if not token:
        return
    session.execute(
        sa.update(UserSession)
        .where(UserSession.token_hash == _token_hash(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def _revoke_sessions(session: Session, user_id: int, except_hash: str | None = None) -> None:
    stmt = sa.update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if except_hash:
        stmt = stmt.where(UserSession.token_hash != except_hash)
    session.execute(stmt.values(revoked_at=utcnow()))


# --------------------------------------------------------------------------
# Signed cookie values
# --------------------------------------------------------------------------


def session_secret(session: Session) -> bytes:
    """The key that signs session cookies: TRACKER_SECRET_KEY, or one kept in the database."""
    configured = os.environ.get("TRACKER_SECRET_KEY")
    if configured:
        return configured.encode()
    row = session.get(Setting, SECRET_SETTING)
    if row is None:
        row = Setting(key=SECRET_SETTING, value=secrets.token_hex(32))
        session.add(row)
        session.flush()
    return row.value.encode()


def sign(token: str, secret: bytes) -> str:
    """``token.signature``: what the cookie holds."""
    mac = hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()
    return f"{token}.{mac}"


def unsign(value: str | None, secret: bytes) -> str | None:
    """The token of a signed cookie value, or None if the signature is wrong."""
    if not value or "." not in value:
        return None
    token, mac = value.rsplit(".", 1)
    expected = hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()
    # Compared as bytes: compare_digest raises TypeError on non-ASCII str,
    # and a cookie can carry anything.
    return token if hmac.compare_digest(mac.encode(), expected.encode()) else None


class PlanAction(NamedTuple):
    """An action as the accounts page lists it: enough to show and link its pilot."""

    id: int
    code: str
    title: str
    pilot_user_id: int | None


def plan_actions(session: Session, plan_id: int) -> list[PlanAction]:
    """The plan's actions (not archived), in the plan's order, as light rows."""
    rows = session.execute(
        sa.select(Action.id, Action.code, Action.title, Action.pilot_user_id)
        .where(Action.plan_id == plan_id, Action.archived == sa.false())
        .order_by(Action.position, Action.code)
    )
    return [PlanAction(*row) for row in rows]
