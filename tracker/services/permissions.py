"""Who may do what. Every service checks rights here, on every write.

Roles:
- admin: everything an editor can, plus users, settings, and closing or
  reopening a year's budget arbitration;
- editor (mission numérique): edits the whole plan;
- pilot: edits only the actions linked to their account, and adds notes;
- viewer (elected officials, steering committee): reads, writes nothing.
"""

from __future__ import annotations

import enum
from typing import Protocol

from tracker.errors import PermissionDenied
from tracker.models import Action, Role, User


class Permission(enum.StrEnum):
    READ = "lire"
    EDIT_PLAN = "modifier le plan"
    EDIT_OWN_ACTIONS = "mettre à jour ses actions"
    ADD_NOTE = "ajouter une note"
    MANAGE_USERS = "gérer les utilisateurs"
    MANAGE_SETTINGS = "modifier les réglages"
    CLOSE_BUDGET_YEAR = "clôturer ou rouvrir un exercice budgétaire"
    RESTORE_ACTION = "restaurer une action archivée"


_EDITOR = {Permission.READ, Permission.EDIT_PLAN, Permission.EDIT_OWN_ACTIONS, Permission.ADD_NOTE}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.EDITOR: frozenset(_EDITOR),
    Role.PILOT: frozenset({Permission.READ, Permission.EDIT_OWN_ACTIONS, Permission.ADD_NOTE}),
    Role.VIEWER: frozenset({Permission.READ}),
}

_REFUSALS = {
    Permission.READ: "Vous devez être connecté pour consulter le plan.",
    Permission.EDIT_PLAN: "Seuls la mission numérique (éditeurs) et les administrateurs "
    "peuvent modifier le plan.",
    Permission.EDIT_OWN_ACTIONS: "Votre compte ne permet pas de mettre à jour des actions.",
    Permission.ADD_NOTE: "Votre compte ne permet pas d'ajouter des notes.",
    Permission.MANAGE_USERS: "Seuls les administrateurs peuvent gérer les utilisateurs.",
    Permission.MANAGE_SETTINGS: "Seuls les administrateurs peuvent modifier les réglages.",
    Permission.CLOSE_BUDGET_YEAR: "Seuls les administrateurs peuvent clôturer ou rouvrir "
    "un exercice budgétaire.",
    Permission.RESTORE_ACTION: "Seuls les administrateurs peuvent restaurer une action archivée.",
}


def has_permission(actor: User | None, permission: Permission) -> bool:
    """Whether an active account holds the permission (None: nobody logged in)."""
    if actor is None or not actor.active:
        return False
    return permission in ROLE_PERMISSIONS[Role(actor.role)]


def require(actor: User | None, permission: Permission) -> User:
    """The actor, or PermissionDenied with a French message."""
    if actor is None:
        raise PermissionDenied("Vous devez être connecté pour effectuer cette opération.")
    if not actor.active:
        raise PermissionDenied("Ce compte est désactivé.")
    if not has_permission(actor, permission):
        raise PermissionDenied(_REFUSALS[permission])
    return actor


class PilotedAction(Protocol):
    """Anything that says who pilots an action (the Action row, or a row read from it)."""

    pilot_user_id: int | None


def can_edit_action(actor: User | None, action: PilotedAction) -> bool:
    """Editors and admins edit every action; a pilot only the actions linked to them."""
    if has_permission(actor, Permission.EDIT_PLAN):
        return True
    return (
        has_permission(actor, Permission.EDIT_OWN_ACTIONS)
        and actor is not None
        # An unsaved account (id None) must not match an unassigned action.
        and action.pilot_user_id is not None
        and action.pilot_user_id == actor.id
    )


def require_action_edit(actor: User | None, action: Action) -> User:
    """The actor if they may update this action, else PermissionDenied."""
    require(actor, Permission.EDIT_OWN_ACTIONS)
    if not can_edit_action(actor, action):
        raise PermissionDenied(
            f"Vous ne pouvez mettre à jour que les actions dont vous êtes le pilote ; "
            f"l'action {action.code} ne vous est pas confiée."
        )
    return actor
