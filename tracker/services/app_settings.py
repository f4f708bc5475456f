"""Application settings stored in the database, changed by admins."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from tracker.errors import ConflictError, ValidationError
from tracker.models import Setting, User
from tracker.services import audit
from tracker.services.locking import lock_name
from tracker.services.permissions import Permission, require
from tracker.services.revision import bump_revision

INITIALISED = "initialised"
PUBLIC_VIEW = "public_view"
# « Publier les noms des pilotes dans les données ouvertes » (off by default:
# a pilot's name is personal data; their function and service are published).
OPEN_DATA_PILOT_NAMES = "open_data_pilot_names"
UPLOAD_LIMIT_MB = "upload_limit_mb"
DEFAULT_UPLOAD_LIMIT_MB = 20


def get_setting(session: Session, key: str, default: str | None = None) -> str | None:
    """The setting's value, or ``default`` when it was never set."""
    setting = session.get(Setting, key)
    return setting.value if setting is not None else default


def set_setting(session: Session, key: str, value: str) -> None:
    """Create or change a setting in the caller's transaction (no rights check: internal)."""
    setting = session.get(Setting, key)
    if setting is None:
        session.add(Setting(key=key, value=value))
    else:
        setting.value = value
        session.add(setting)
    session.flush()


@dataclass(frozen=True)
class AppSettings:
    public_view: bool
    upload_limit_mb: int
    open_data_pilot_names: bool = False


def read_settings(session: Session) -> AppSettings:
    """The settings admins can change, with their defaults."""
    limit = get_setting(session, UPLOAD_LIMIT_MB)
    return AppSettings(
        public_view=get_setting(session, PUBLIC_VIEW, "non") == "oui",
        upload_limit_mb=int(limit) if limit else DEFAULT_UPLOAD_LIMIT_MB,
        open_data_pilot_names=get_setting(session, OPEN_DATA_PILOT_NAMES, "non") == "oui",
    )


def _yes_no(value: bool) -> str:
    return "oui" if value else "non"


def _differences(shown: AppSettings, now: AppSettings) -> list[str]:
    """What another admin changed, in French (« Taille maximale … : 20 Mo → 30 Mo »)."""
    labels = [
        ("Consultation publique", _yes_no(shown.public_view), _yes_no(now.public_view)),
        (
            "Taille maximale d'un fichier envoyé",
            f"{shown.upload_limit_mb} Mo",
            f"{now.upload_limit_mb} Mo",
        ),
        (
            "Noms des pilotes dans les données ouvertes",
            _yes_no(shown.open_data_pilot_names),
            _yes_no(now.open_data_pilot_names),
        ),
    ]
    return [f"{label} : {old} → {new}" for label, old, new in labels if old != new]


def update_settings(
    session: Session,
    actor: User | None,
    *,
    public_view: bool,
    upload_limit_mb: int,
    open_data_pilot_names: bool | None = None,
    expected: AppSettings | None = None,
) -> AppSettings:
    """Change the settings (admins only); each change goes to the audit log.

    ``open_data_pilot_names`` left at None keeps the current choice (callers
    written before the setting existed). ``expected``: the settings as the form
    showed them when it was opened; if another admin saved different ones since,
    nothing is written and a ConflictError names what changed (the form would
    otherwise put the old values back without anyone seeing it).
    """
    require(actor, Permission.MANAGE_SETTINGS)
    if not 1 <= upload_limit_mb <= 200:
        raise ValidationError("La taille maximale d'un fichier envoyé doit être entre 1 et 200 Mo.")
    # One change of the settings at a time (tracker.services.locking; a setting never
    # saved has no row to lock): on PostgreSQL two admins saving at once both read
    # the same values, and the history showed two changes from one old value.
    lock_name(session, "settings")
    before = read_settings(session)
    if expected is not None and before != expected:
        raise ConflictError(
            "Les réglages ont été modifiés par quelqu'un d'autre depuis que vous avez ouvert le "
            "formulaire : rien n'est enregistré. Rechargez la page pour voir les réglages en "
            "vigueur, puis refaites vos changements.",
            details=_differences(expected, before),
        )
    if open_data_pilot_names is None:
        open_data_pilot_names = before.open_data_pilot_names
    changes = {
        PUBLIC_VIEW: (before.public_view, public_view, "oui" if public_view else "non"),
        UPLOAD_LIMIT_MB: (before.upload_limit_mb, upload_limit_mb, str(upload_limit_mb)),
        OPEN_DATA_PILOT_NAMES: (
            before.open_data_pilot_names,
            open_data_pilot_names,
            "oui" if open_data_pilot_names else "non",
        ),
    }
    for key, (old, new, stored) in changes.items():
        if old != new:
            set_setting(session, key, stored)
            audit.record(
                session,
                actor=actor,
                entity="réglage",
                entity_id=None,
                operation="modification",
                field=key,
                old=old,
                new=new,
            )
    bump_revision(session)
    return read_settings(session)
