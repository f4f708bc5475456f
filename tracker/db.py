"""Engine, SQLite pragmas, transactions, and schema upgrade on start.

One engine per database URL and process. On SQLite every connection turns
foreign keys on, uses WAL with a busy timeout, and write transactions start
with ``BEGIN IMMEDIATE`` so that two writers queue instead of failing when
they upgrade a read lock (and the writers of one process first wait their turn
on a lock of the process). The same code runs unchanged on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tracker.errors import DatabaseError
from tracker.settings import PROJECT_ROOT, get_settings

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported by the functions that migrate (below): it takes about a
# second to import, and a process that only opens sessions (``python -m tracker
# backup``, the app server before its first page) never needs it.

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
_WRITE_OPTION = "tracker_write"
# Streamlit runs each session's script in a thread of one server process, and each
# holds one pooled connection while it reads or saves. With SQLAlchemy's default
# pool (5 + 10 overflow), the 16th session at the same moment waited, and threads
# returning and retaking connections could pass it over until its 30 s ran out: a
# QueuePool TimeoutError on the page (on PostgreSQL, 7 in 60 s with 20 editors saving
# without pause, benchmarks/concurrency.py; 0 with this pool). 30 connections per
# process still leaves room for three app processes in PostgreSQL's default 100.
POOL = {"pool_size": 10, "max_overflow": 20}

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_path(engine: Engine) -> Path | None:
    """The file behind a SQLite engine (None for memory databases or other backends)."""
    if not is_sqlite(engine):
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        # Let SQLAlchemy's "begin" event below emit BEGIN itself, so that
        # write transactions can ask for BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if sqlite_path(engine) is not None:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        if conn.get_execution_options().get(_WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the project's connection settings."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        on_file = bool(path) and path != ":memory:"
        if on_file:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **(POOL if on_file else {}),  # a memory database keeps its single connection
        )
        _install_sqlite_hooks(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **POOL)


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: the configured database)."""
    url = url or get_settings().database_url
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, and before replacing a database file)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


# SQLite lets one writer in at a time and makes the others poll (the busy timeout):
# a waiter looks again every 100 ms at best, and a writer arriving just as the lock
# is freed takes it first. With 20 editors saving at once, some were passed over for
# the whole 10 s and failed with « database is locked » (benchmarks/concurrency.py).
# Waiting first on a lock of this process, a writer is woken as soon as the one before
# it ends (same test: no error, p99 of a write 7 s → 1 s); the busy timeout still
# arbitrates between processes. Reentrant: a nested writer behaves as before.
_sqlite_writers: dict[Path, threading.RLock] = {}


def _writer_lock(engine: Engine) -> threading.RLock | None:
    path = sqlite_path(engine)
    if path is None:
        return None
    with _engines_lock:
        return _sqlite_writers.setdefault(path.resolve(), threading.RLock())


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """One transaction: committed if the block succeeds, rolled back otherwise.

    ``write=True`` starts the transaction as a writer (``BEGIN IMMEDIATE`` on
    SQLite, after this process's earlier writers), so a user operation never
    fails half-way on a lock upgrade.
    """
    lock = _writer_lock(engine) if write else None
    with lock if lock is not None else contextlib.nullcontext():
        bind = engine.execution_options(**{_WRITE_OPTION: True}) if write else engine
        session = Session(bind=bind, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


# --------------------------------------------------------------------------
# Schema migrations
# --------------------------------------------------------------------------


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic configuration pointing at tracker/migrations."""
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _has_tables(engine: Engine) -> bool:
    return bool(sa.inspect(engine).get_table_names())


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None
    after: str
    backup: Path | None


def backup_sqlite(engine: Engine, destination: Path) -> Path:
    """Copy a SQLite database with the online backup API (safe while in use)."""
    source = sqlite_path(engine)
    if source is None:
        raise DatabaseError(
            "La sauvegarde intégrée ne concerne que SQLite. Pour PostgreSQL, utilisez pg_dump "
            "(voir le README, section « Sauvegarder »)."
        )
    if not source.exists():
        raise DatabaseError(f"La base de données {source} n'existe pas.")
    destination = Path(destination)
    if destination.is_dir():
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        destination = destination / f"{source.stem}-{stamp}.db"
    if destination.resolve() == source.resolve():
        raise DatabaseError("La copie ne peut pas remplacer la base elle-même.")
    tmp = destination.with_name(destination.name + ".partiel")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(source, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        tmp.replace(destination)
    except (sqlite3.Error, OSError) as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise DatabaseError(f"La sauvegarde vers {destination} a échoué : {exc}") from exc
    return destination


def upgrade_database(engine: Engine) -> UpgradeResult:
    """Bring the schema to the latest migration.

    On SQLite, a copy of a non-empty database is taken before any upgrade, in
    TRACKER_BACKUP_DIR or a ``backups`` folder beside the file.
    """
    from alembic import command  # noqa: PLC0415

    head = head_revision()
    try:
        before = current_revision(engine)
    except sa.exc.OperationalError as exc:
        raise DatabaseError(f"Impossible d'ouvrir la base de données : {exc.orig}") from exc
    if before == head:
        return UpgradeResult(before=before, after=head, backup=None)
    backup = None
    path = sqlite_path(engine)
    if path is not None and path.exists() and _has_tables(engine):
        folder = get_settings().backup_dir or path.parent / "backups"
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = backup_sqlite(engine, folder / f"{path.stem}-{stamp}-avant-{head}.db")
    try:
        command.upgrade(alembic_config(engine), "head")
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"La mise à jour du schéma de la base a échoué : {exc}") from exc
    return UpgradeResult(before=before, after=head, backup=backup)


__all__ = [
    "PROJECT_ROOT",
    "UpgradeResult",
    "backup_sqlite",
    "current_revision",
    "dispose_engines",
    "get_engine",
    "head_revision",
    "is_sqlite",
    "make_engine",
    "session_scope",
    "upgrade_database",
]
