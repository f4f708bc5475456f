"""Domain errors: what a user can cause, each with a French message.

Pages show them with ``st.error``; the command line prints them and exits
non-zero. Services raise them before writing anything (or inside the
transaction, which is then rolled back).
"""

from __future__ import annotations


class TrackerError(Exception):
    """Base of every error a user can cause; ``str(error)`` is the French message."""

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def __str__(self) -> str:
        if not self.details:
            return self.message
        return self.message + "\n" + "\n".join(f"- {d}" for d in self.details)


class ValidationError(TrackerError):
    """Input that breaks a rule (a value out of range, a missing field...)."""


class NotFoundError(TrackerError):
    """A plan, action or other entity that does not exist."""


class PermissionDenied(TrackerError):
    """The acting user lacks the right for this operation."""


class ConflictError(TrackerError):
    """Someone else saved the same thing since the user started editing."""


class DatabaseError(TrackerError):
    """The database cannot be reached, upgraded or backed up."""
