"""Alembic environment: runs on the app's engine (or the URL in the config)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import tracker.models  # noqa: F401  (registers every table on the metadata)
from tracker.db import get_engine

config = context.config
target_metadata = SQLModel.metadata


def _configure(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or get_engine(
        config.get_main_option("sqlalchemy.url") or None
    )
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Several app processes may start at once: one migrates, the others wait.
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(7319001)"))
            context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
