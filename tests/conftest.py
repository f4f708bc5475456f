"""Shared fixtures: a migrated database per test, on SQLite and (when
TEST_DATABASE_URL is set) on PostgreSQL, and the example plan loaded in it.

The suite runs on every core with pytest-xdist (``-n auto`` in pyproject.toml):
each worker is a separate process with its own temporary folder and, on
PostgreSQL, its own database (see ``PG_URL``). ``python -m pytest -n0`` runs in
one process (for ``--pdb``, or to read a single test's output more easily).
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

from tracker import db
from tracker.bootstrap import prepare_database
from tracker.io.example import load_example
from tracker.models import Plan, User
from tracker.services import users
from tracker.settings import normalise_database_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# "gw0", "gw1"... in a pytest-xdist worker; None in a single-process run.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _worker_database_url(url: str | None) -> str | None:
    """The database this process tests on: TEST_DATABASE_URL itself, or under
    pytest-xdist a sibling database per worker (``tracker_test_gw0``...), since the
    fixtures below drop the schema and truncate every table between tests."""
    if not url or not XDIST_WORKER:
        return url
    parsed = make_url(normalise_database_url(url))
    return parsed.set(database=f"{parsed.database}_{XDIST_WORKER}").render_as_string(
        hide_password=False
    )


PG_URL = _worker_database_url(os.environ.get("TEST_DATABASE_URL"))
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


# Test files whose module-scoped fixture is expensive (the committee's PDF report, an
# app database prepared as on first start, the generated demonstration databases):
# under pytest-xdist their tests go to one worker, so the fixture is built once. Only
# a matter of time, never of correctness.
SHARED_SETUP_MODULES = {
    "tests/test_generate.py",
    "tests/test_report.py",
    "tests/test_page_overview.py",
    "tests/test_page_indicators.py",
}


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: unknown without the plugin
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # noqa: ANN001, ANN201
    """``--dist load`` (the default with ``-n``): tests handed out one by one to the
    first free worker, except two kinds handed to one worker as one batch.

    - The browser tests: they run one after the other, with one Chromium, and
      never two Streamlit servers and two browsers at once on CI's two cores.
    - The tests of each file in SHARED_SETUP_MODULES.

    Batches are made from the tests' ids, which stay as they are (the marks of
    ``--dist loadgroup`` append ``@group`` to them, which breaks ``--lf``).
    """
    if config.getvalue("dist") != "load":
        return None  # --dist loadfile, worksteal...: as asked
    from xdist.scheduler import LoadScopeScheduling

    class SharedSetupTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path.startswith("tests/browser/"):
                return "tests/browser"
            return path if path in SHARED_SETUP_MODULES else nodeid

    return SharedSetupTogether(config, log)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy (much faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade_database(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _reset_postgres_schema(url: str) -> Engine:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    return engine


def _create_worker_database(url: str) -> None:
    """Create this worker's database (kept afterwards, like TEST_DATABASE_URL's own),
    connected to TEST_DATABASE_URL's database: the role needs CREATEDB."""
    name = make_url(url).database
    admin = db.make_engine(normalise_database_url(os.environ["TEST_DATABASE_URL"]))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if found is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.DBAPIError as error:
        pytest.fail(
            f"Impossible de créer la base de test {name} du processus {XDIST_WORKER} : "
            "le rôle doit avoir le droit CREATEDB (sinon, lancer les tests dans un seul "
            f"processus : python -m pytest -n0).\n{error}"
        )
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """The PostgreSQL test database, emptied and migrated once per run (per worker)."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL n'est pas défini")
    if XDIST_WORKER:
        _create_worker_database(PG_URL)
    engine = _reset_postgres_schema(normalise_database_url(PG_URL))
    db.upgrade_database(engine)
    yield engine
    engine.dispose()


def truncate_all(engine: Engine) -> None:
    """Empty every table (but alembic_version) and restart every id sequence.

    DELETE, children first, rather than TRUNCATE: on tables of a few hundred rows it
    is several times faster (TRUNCATE makes new files for each table and index), and
    it runs before each PostgreSQL test. TRUNCATE ... CASCADE remains for a table the
    models do not know (which should not exist: see tests/test_schema.py).
    """
    tables = {t for t in sa.inspect(engine).get_table_names() if t != "alembic_version"}
    children_first = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if tables <= set(children_first):
            for table in children_first:
                if table in tables:
                    conn.exec_driver_sql(f'DELETE FROM "{table}"')
            conn.execute(
                sa.text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass,"
                    " start_value, false) FROM pg_sequences WHERE schemaname = current_schema()"
                )
            )
        else:
            conn.exec_driver_sql(
                "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
            )


@pytest.fixture(params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Engine]:
    """An empty, migrated database: a SQLite file, then PostgreSQL if configured."""
    if request.param == "sqlite":
        path = tmp_path / "tracker.db"
        shutil.copy(sqlite_template, path)
        engine = db.make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
    else:
        pg = request.getfixturevalue("postgres_engine")
        truncate_all(pg)
        yield pg


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A migrated SQLite file, for what only concerns SQLite (pragmas, file backups)."""
    path = tmp_path / "only-sqlite.db"
    shutil.copy(sqlite_template, path)
    engine = db.make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_example_template(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> tuple[Path, int]:
    """A migrated SQLite file with the example plan loaded once (copied per test)."""
    path = tmp_path_factory.mktemp("example") / "example.db"
    shutil.copy(sqlite_template, path)
    engine = db.make_engine(f"sqlite:///{path}")
    with db.session_scope(engine, write=True) as session:
        plan_id = load_example(session).id
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path, plan_id


# The schema where the PostgreSQL example's rows are kept (see postgres_example_copy):
# outside the tested schema, which tests/test_schema.py compares with the models.
EXAMPLE_COPY_SCHEMA = "example_copy"


@dataclass(frozen=True)
class ExampleCopy:
    """The example plan as loaded once on PostgreSQL: its rows (in EXAMPLE_COPY_SCHEMA)
    and where each id sequence stood afterwards."""

    plan_id: int
    columns: dict[str, list[str]]  # table -> its columns, parents before children
    sequences: dict[str, int]  # sequence -> its last value


@pytest.fixture(scope="session")
def postgres_example_copy(postgres_engine: Engine) -> ExampleCopy:
    """The example plan loaded once per run (per worker) on PostgreSQL, its rows kept
    in a schema of their own: a test copies them back, much faster than loading it."""
    truncate_all(postgres_engine)
    with db.session_scope(postgres_engine, write=True) as session:
        plan_id = load_example(session).id
    inspector = sa.inspect(postgres_engine)
    rows = count_rows(postgres_engine)
    columns = {
        table.name: [c["name"] for c in inspector.get_columns(table.name)]
        for table in SQLModel.metadata.sorted_tables
        if rows.get(table.name)
    }
    with postgres_engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {EXAMPLE_COPY_SCHEMA} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {EXAMPLE_COPY_SCHEMA}")
        for table in columns:
            conn.exec_driver_sql(f'CREATE TABLE {EXAMPLE_COPY_SCHEMA}."{table}" AS TABLE "{table}"')
        sequences = dict(
            conn.exec_driver_sql(
                "SELECT sequencename, last_value FROM pg_sequences"
                " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
            ).all()
        )
    truncate_all(postgres_engine)
    return ExampleCopy(plan_id, columns, sequences)


def _copy_example_back(engine: Engine, copy: ExampleCopy) -> None:
    with engine.begin() as conn:
        for table, columns in copy.columns.items():
            names = ", ".join(f'"{c}"' for c in columns)
            kept = f'{EXAMPLE_COPY_SCHEMA}."{table}"'
            conn.exec_driver_sql(f'INSERT INTO "{table}" ({names}) SELECT {names} FROM {kept}')
        for sequence, last_value in copy.sequences.items():
            conn.execute(
                sa.text("SELECT setval(CAST(:sequence AS regclass), :last_value)"),
                {"sequence": f'"{sequence}"', "last_value": last_value},
            )


def _has_rows(engine: Engine) -> bool:
    """Whether any table but alembic_version has a row (in one query)."""
    tables = [t for t in sa.inspect(engine).get_table_names() if t != "alembic_version"]
    if not tables:
        return False
    with engine.connect() as conn:
        found = " OR ".join(f'EXISTS (SELECT 1 FROM "{t}")' for t in tables)
        return bool(conn.exec_driver_sql(f"SELECT {found}").scalar_one())


@pytest.fixture
def example_plan(engine: Engine, request: pytest.FixtureRequest) -> Plan:
    """The shipped example plan, loaded in the test database.

    The test's (still empty) database gets a copy of the rows of the example loaded
    once per run: the same rows and ids, without loading it for every test. On
    SQLite the file is replaced by a copy of a file where the example was loaded; on
    PostgreSQL the rows are copied back from another schema.
    """
    if _has_rows(engine):
        # A test that wrote before asking for the example: load it.
        with db.session_scope(engine, write=True) as session:
            return load_example(session)
    path = db.sqlite_path(engine)
    if path is None:
        copy = request.getfixturevalue("postgres_example_copy")
        _copy_example_back(engine, copy)
        with db.session_scope(engine) as session:
            return session.get(Plan, copy.plan_id)
    template, plan_id = request.getfixturevalue("sqlite_example_template")
    engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(template, path)
    with db.session_scope(engine) as session:
        return session.get(Plan, plan_id)


@pytest.fixture
def app_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The database of a page test: a new SQLite file, prepared as on the app's first run
    (schema, example plan), that the app under test opens (TRACKER_DATABASE_URL). A test
    module may define its own (a shared or copied database)."""
    url = f"sqlite:///{tmp_path / 'app' / 'tracker.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    engine = db.get_engine(url)
    prepare_database(engine)
    return engine


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """The URL of a fresh, migrated SQLite file (for app and CLI tests)."""
    path = tmp_path / "app.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def count_rows(engine: Engine) -> dict[str, int]:
    """Rows per table: compared before and after a refused operation."""
    with engine.connect() as conn:
        return {
            table: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one()
            for table in sa.inspect(engine).get_table_names()
        }


TEST_PASSWORD = "mot-de-passe-de-test"  # noqa: S105 - a test account's password


@functools.cache
def hashed_test_password() -> str:
    """TEST_PASSWORD's Argon2 hash, made once per process by the app's own hasher.

    Argon2 is slow on purpose (a tenth of a second a hash or more, several times that
    on a busy machine), and the accounts made for tests all share this password:
    hashing it again for each one cost seconds per run. Hashing and verifying
    passwords are tested in tests/test_users.py; logins still verify this real hash.
    """
    return users.hash_password(TEST_PASSWORD)


def add_user(engine: Engine, role: str, login: str | None = None, **fields) -> User:
    """Create an account directly, with TEST_PASSWORD as its password (a real Argon2
    hash of it, see hashed_test_password)."""
    with db.session_scope(engine, write=True) as session:
        admin = users.system_actor("tests")
        user = users.create_user(session, admin, login=login or role, role=role, **fields)
        user.password_hash = hashed_test_password()
        return user


def session_token(engine: Engine, user: User) -> str:
    """A valid browser-session token for the user (what the login form would open)."""
    with db.session_scope(engine, write=True) as session:
        token, _code = users.start_session(session, user)
    return token
