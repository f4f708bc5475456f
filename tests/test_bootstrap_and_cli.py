"""First run, restarts, upgrades with a safety copy, and the command line."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from tests.conftest import PG_URL, PROJECT_ROOT
from tracker import db
from tracker.bootstrap import prepare_database
from tracker.cli import ROLES, main
from tracker.models import Role
from tracker.services import users
from tracker.services.plans import list_plans


def _actions(url: str) -> int:
    with db.make_engine(url).connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM action")).scalar_one()


@pytest.fixture
def new_db(tmp_path, monkeypatch) -> str:
    """A database file that does not exist yet, configured as the app's database."""
    url = f"sqlite:///{tmp_path / 'data' / 'tracker.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    monkeypatch.setenv("TRACKER_BACKUP_DIR", str(tmp_path / "backups"))
    return url


def test_first_run_creates_the_database_and_loads_the_example(new_db):
    result = prepare_database(db.get_engine(new_db))
    assert result.example_loaded
    assert Path(new_db.split("///")[1]).exists()
    assert _actions(new_db) == 19


def test_restart_keeps_everything_and_loads_nothing_twice(new_db):
    prepare_database(db.get_engine(new_db))
    db.dispose_engines()  # as if the app stopped
    result = prepare_database(db.get_engine(new_db))
    assert not result.example_loaded
    assert _actions(new_db) == 19
    with db.session_scope(db.get_engine(new_db)) as session:
        assert len(list_plans(session)) == 1


def test_a_database_initialised_empty_is_never_refilled(new_db):
    assert main(["init", "--empty"]) == 0
    prepare_database(db.get_engine(new_db))
    assert _actions(new_db) == 0


def test_init_example_adds_the_example_to_an_empty_database(new_db, capsys):
    assert main(["init", "--empty"]) == 0
    assert main(["init", "--example"]) == 0
    assert "Plan d'exemple chargé" in capsys.readouterr().out
    assert main(["init", "--example"]) == 0
    assert "déjà présent" in capsys.readouterr().out
    assert _actions(new_db) == 19


def test_upgrading_a_non_empty_database_takes_a_copy_first(new_db, tmp_path):
    engine = db.get_engine(new_db)
    db.upgrade_database(engine)
    command.downgrade(db.alembic_config(engine), "base")
    # An older database that holds data: its content must survive in the copy.
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ancienne_table (valeur TEXT)")
        conn.exec_driver_sql("INSERT INTO ancienne_table VALUES ('à garder')")
    result = db.upgrade_database(engine)
    assert result.backup is not None and result.backup.parent == tmp_path / "backups"
    with sqlite3.connect(result.backup) as copy:
        assert copy.execute("SELECT valeur FROM ancienne_table").fetchall() == [("à garder",)]
    assert db.current_revision(engine) == db.head_revision()


def test_upgrading_a_database_already_at_head_takes_no_copy(new_db, tmp_path):
    engine = db.get_engine(new_db)
    db.upgrade_database(engine)
    assert db.upgrade_database(engine).backup is None
    assert not (tmp_path / "backups").exists()


def test_backup_is_consistent_while_a_write_is_in_progress(new_db, tmp_path, capsys):
    prepare_database(db.get_engine(new_db))
    writer = sqlite3.connect(new_db.split("///")[1], isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE action SET title = 'pas encore validé'")
    try:
        assert main(["backup", str(tmp_path / "copie.db")]) == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert "Sauvegarde écrite" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "copie.db") as copy:
        assert copy.execute("SELECT COUNT(*) FROM action").fetchone() == (19,)
        titles = copy.execute("SELECT COUNT(*) FROM action WHERE title = 'pas encore validé'")
        assert titles.fetchone() == (0,)
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_check_passes_on_a_sound_database(new_db, capsys):
    prepare_database(db.get_engine(new_db))
    assert main(["check"]) == 0
    assert "aucun problème" in capsys.readouterr().out


def test_check_reports_broken_references_and_exits_non_zero(new_db, capsys):
    prepare_database(db.get_engine(new_db))
    raw = sqlite3.connect(new_db.split("///")[1])
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("UPDATE action SET objective_id = 424242 WHERE code = '1.1'")
    raw.execute(
        "DELETE FROM action_carrier WHERE action_id = (SELECT id FROM action WHERE code = '1.2')"
    )
    raw.commit()
    raw.close()
    assert main(["check"]) == 1
    err = capsys.readouterr().err
    assert "Clé étrangère rompue" in err
    assert "action sans collectivité porteuse" in err


def test_check_reports_a_schema_behind_the_code(new_db, capsys):
    engine = db.get_engine(new_db)
    db.upgrade_database(engine)
    command.downgrade(db.alembic_config(engine), "base")
    assert main(["check"]) == 1
    assert "python -m tracker init" in capsys.readouterr().err


def test_backup_to_an_impossible_place_fails_in_french(new_db, tmp_path, capsys):
    prepare_database(db.get_engine(new_db))
    blocker = tmp_path / "un-fichier"
    blocker.write_text("x")
    assert main(["backup", str(blocker / "copie.db")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Erreur : ")
    assert "Traceback" not in err


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL n'est pas défini")
def test_backup_on_postgresql_points_to_pg_dump(monkeypatch, capsys, postgres_engine, tmp_path):
    monkeypatch.setenv("TRACKER_DATABASE_URL", PG_URL)
    assert main(["backup", str(tmp_path / "inutile.db")]) == 2
    assert "pg_dump" in capsys.readouterr().err


def test_command_line_runs_as_a_module(tmp_path):
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "tracker", "init"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Plan d'exemple chargé" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "tracker", "commande-inconnue"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "Erreur" in bad.stderr


# --------------------------------------------------------------------------
# Start-up time: the CLI runs in many subprocesses (tests, benchmarks, cron)
# --------------------------------------------------------------------------

_HEAVY_MODULES = ("sqlalchemy", "sqlmodel", "alembic", "pandas", "argon2", "openpyxl")


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_and_argument_errors_answer_without_loading_the_database_or_pandas():
    done = _python(f"""
import sys
from tracker.cli import main
for argv in (["--help"], ["users", "add", "alice", "--role", "chef"]):
    try:
        main(argv)
    except SystemExit as stop:
        print("sortie", stop.code)
print("chargés", [m for m in {_HEAVY_MODULES!r} if m in sys.modules])
""")
    assert done.returncode == 0, done.stderr
    assert "sortie 0\nsortie 2\n" in done.stdout
    assert "Erreur : " in done.stderr and "'chef'" in done.stderr
    assert done.stdout.rstrip().endswith("chargés []")


def test_importing_the_accounts_module_computes_no_password_hash():
    # An Argon2 hash costs about 0.2 s: made at import, every command paid for it.
    done = _python("""
import argon2
made = []
original = argon2.PasswordHasher.hash
argon2.PasswordHasher.hash = lambda self, *args: made.append(1) or original(self, *args)
import tracker.services.users
print("hachages", len(made))
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hachages 0"


def test_unknown_login_is_checked_against_a_hash_as_costly_as_a_real_one(engine, monkeypatch):
    # Timing equality: an unknown login must cost a full Argon2 verification.
    checked = []
    real_verify = users.verify_password

    def spy(password_hash: str | None, password: str) -> bool:
        checked.append(password_hash)
        return real_verify(password_hash, password)

    monkeypatch.setattr(users, "verify_password", spy)
    with db.session_scope(engine, write=True) as session:
        outcome = users.authenticate(session, "personne", "un mot de passe")
    assert outcome == users.LoginOutcome(None, users.WRONG_CREDENTIALS)
    [dummy] = checked
    assert dummy.startswith("$argon2") and not users.needs_rehash(dummy)


def test_command_line_role_choices_are_the_roles_of_the_model():
    assert tuple(role.value for role in Role) == ROLES
