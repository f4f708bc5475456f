"""Configuration read from the environment.

TRACKER_DATABASE_URL   database URL; default: sqlite:///data/tracker.db (a
                       relative SQLite path is taken from the project root,
                       whatever the current directory).
TRACKER_BACKUP_DIR     where copies taken before a schema upgrade go;
                       default: a ``backups`` folder beside the SQLite file.
TRACKER_EXAMPLE_DIR    the example plan loaded on first run; default: data/exemple.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "sqlite:///data/tracker.db"


def normalise_database_url(url: str) -> str:
    """Make a relative SQLite path absolute (from the project root).

    Also maps ``postgresql://`` and ``postgres://`` to the psycopg 3 driver,
    the one the project installs.
    """
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = url[len("sqlite:///") :]
        if path and path != ":memory:" and not path.startswith("file:"):
            return "sqlite:///" + str((PROJECT_ROOT / path).resolve())
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str
    backup_dir: Path | None
    example_dir: Path


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call when needed)."""
    url = normalise_database_url(os.environ.get("TRACKER_DATABASE_URL") or DEFAULT_DATABASE_URL)
    backup = os.environ.get("TRACKER_BACKUP_DIR")
    example = os.environ.get("TRACKER_EXAMPLE_DIR")
    return Settings(
        database_url=url,
        backup_dir=Path(backup) if backup else None,
        example_dir=Path(example) if example else PROJECT_ROOT / "data" / "exemple",
    )
