"""Open data: the example plan published as a Frictionless Data Package (CSV and
JSON, Licence Ouverte 2.0) that validates against its own schema, with exact
euro amounts, and without personal data unless an administrator allows the
pilots' names."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests.conftest import add_user
from tracker import db, strings
from tracker.cli import main
from tracker.io.opendata import (
    DESCRIPTOR,
    euros_text,
    open_data_files,
    open_data_zip,
    write_open_data,
)
from tracker.models import (
    Action,
    BudgetLine,
    Collectivity,
    Indicator,
    Measurement,
    Plan,
    User,
)
from tracker.services import users
from tracker.services.actions import update_action
from tracker.services.app_settings import read_settings, update_settings

ADMIN = users.system_actor("tests")
AT = date(2024, 6, 1)
TABLES = ("actions", "lignes_budgetaires", "indicateurs", "mesures")
PILOT_NAME = "Camille Dupré-Lacoste"
LOGIN = "camille.pilote"
EMAIL = "camille.compte@cahors.example"
ACCOUNT_NAME = "Zoé Compte-Personnel"


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _files(engine, plan_id: int, *, include_pilot_names: bool = False) -> dict[str, bytes]:
    with db.session_scope(engine) as session:
        return open_data_files(session, plan_id, include_pilot_names=include_pilot_names, at=AT)


def _package(files: dict[str, bytes]) -> dict:
    return json.loads(files[DESCRIPTOR])


def _schema(files: dict[str, bytes], table: str) -> dict:
    return next(r for r in _package(files)["resources"] if r["name"] == table)["schema"]


def _csv_rows(files: dict[str, bytes], table: str) -> list[dict[str, str]]:
    text = files[f"{table}.csv"].decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=","))


def _typed(kind: str, value):
    """A cell read by its Table Schema type (CSV text or JSON value alike)."""
    if value is None or value == "":
        return None
    if kind == "integer":
        return int(value)
    if kind == "number":
        return Decimal(str(value))
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else value == "true"
    return value


def _cents(text: str) -> int:
    """Euros as written in the CSV, back to cents, checking the two decimals."""
    assert re.fullmatch(r"\d+\.\d\d", text), text
    return int(Decimal(text) * 100)


@pytest.fixture
def pilot(engine, example_plan) -> User:
    """A pilot account, set as the pilot of action 1.2, whose name is also typed in."""
    user = add_user(engine, "pilot", login=LOGIN, email=EMAIL, display_name=ACCOUNT_NAME)
    with db.session_scope(engine, write=True) as session:
        action = session.exec(
            select(Action).where(Action.plan_id == example_plan.id, Action.code == "1.2")
        ).one()
        update_action(
            session,
            ADMIN,
            action.id,
            expected_version=action.version,
            changes={"pilot_name": PILOT_NAME, "pilot_user_id": user.id},
        )
    return user


# --------------------------------------------------------------------------
# The package and its files
# --------------------------------------------------------------------------


def test_package_validates_against_its_schema(engine, example_plan, tmp_path):
    from frictionless import validate

    folder = tmp_path / "donnees-ouvertes"
    write_open_data(folder, _files(engine, example_plan.id))
    report = validate(str(folder / DESCRIPTOR))
    errors = report.flatten(["resource", "rowNumber", "fieldName", "type", "note"])
    assert report.valid, errors
    rows = {task.name: task.stats["rows"] for task in report.tasks if task.type == "table"}
    assert set(rows) == set(TABLES)


def test_package_describes_every_file_in_french_under_the_licence_ouverte(engine, example_plan):
    files = _files(engine, example_plan.id)
    package = _package(files)
    assert set(files) == {f"{t}.{e}" for t in TABLES for e in ("csv", "json")} | {DESCRIPTOR}
    assert {r["path"] for r in package["resources"]} == set(files) - {DESCRIPTOR}
    assert re.fullmatch(r"[a-z0-9-]+", package["name"])
    assert package["title"] == example_plan.name
    assert package["licenses"] == [
        {
            "name": "etalab-2.0",
            "title": "Licence Ouverte / Open Licence version 2.0",
            "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
        }
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", package["created"])
    assert example_plan.name in package["description"]
    assert "données illustratives" in package["description"]
    for resource in package["resources"]:
        if resource["format"] == "csv":
            assert resource["mediatype"] == "text/csv"
            assert resource["encoding"] == "utf-8"
            assert resource["dialect"]["delimiter"] == ","
            for field in resource["schema"]["fields"]:
                assert field["type"] in {"string", "integer", "number", "date", "boolean"}
                assert field["title"] and field["description"]
        else:
            assert resource["format"] == "json"
            assert resource["path"].removesuffix(".json") in resource["description"]
    fields = {f["name"]: f for f in _schema(files, "actions")["fields"]}
    assert fields["statut"]["constraints"]["enum"] == list(strings.STATUS_LABELS.values())
    assert _schema(files, "lignes_budgetaires")["foreignKeys"] == [
        {"fields": ["action"], "reference": {"resource": "actions", "fields": ["code"]}}
    ]
    assert _schema(files, "mesures")["foreignKeys"][0]["reference"]["resource"] == "indicateurs"


def test_a_real_plan_is_not_called_illustrative(engine, example_plan):
    with db.session_scope(engine, write=True) as session:
        plan = session.get(Plan, example_plan.id)
        plan.is_example, plan.name = False, "Stratégie digitale commune 2018-2026"
    package = _package(_files(engine, example_plan.id))
    assert "illustrati" not in package["description"]
    assert "« Stratégie digitale commune 2018-2026 »" in package["description"]
    assert package["name"] == "strategie-digitale-commune-2018-2026"


def test_csv_files_are_utf8_comma_separated_with_iso_dates(engine, example_plan):
    files = _files(engine, example_plan.id)
    for table in TABLES:
        content = files[f"{table}.csv"]
        assert not content.startswith(b"\xef\xbb\xbf")
        header = content.decode("utf-8").splitlines()[0]
        names = [f["name"] for f in _schema(files, table)["fields"]]
        assert header == ",".join(names)
    action = _csv_rows(files, "actions")[0]
    assert action["statut"] == "Réalisé"
    assert action["date_debut"] == "2018-03-01"
    assert action["porteurs"] == "Ville de Cahors; Grand Cahors"
    assert {r["statut"] for r in _csv_rows(files, "actions")} <= set(strings.STATUS_LABELS.values())


def test_each_csv_reads_back_as_the_same_rows_as_its_json(engine, example_plan):
    files = _files(engine, example_plan.id)
    for table in TABLES:
        kinds = {f["name"]: f["type"] for f in _schema(files, table)["fields"]}
        from_csv = [
            {name: _typed(kinds[name], value) for name, value in row.items()}
            for row in _csv_rows(files, table)
        ]
        records = json.loads(files[f"{table}.json"], parse_float=Decimal)
        assert all(list(r) == list(kinds) for r in records)
        from_json = [{name: _typed(kinds[name], v) for name, v in r.items()} for r in records]
        assert from_csv == from_json, table
        assert from_csv


def test_counts_match_the_example_plan(engine, example_plan):
    files = _files(engine, example_plan.id)
    with db.session_scope(engine) as session:
        lines = session.exec(
            select(sa.func.count(BudgetLine.id))
            .join(Action, Action.id == BudgetLine.action_id)
            .where(Action.plan_id == example_plan.id)
        ).one()
        measurements = session.exec(
            select(sa.func.count(Measurement.id))
            .join(Indicator, Indicator.id == Measurement.indicator_id)
            .where(Indicator.plan_id == example_plan.id)
        ).one()
    assert lines > 100 and measurements > 20
    counts = {t: len(_csv_rows(files, t)) for t in TABLES}
    assert counts == {
        "actions": 19,
        "lignes_budgetaires": lines,
        "indicateurs": 8,
        "mesures": measurements,
    }
    assert {t: len(json.loads(files[f"{t}.json"])) for t in TABLES} == counts


def test_euro_amounts_are_the_stored_cents_exactly(engine, example_plan):
    with db.session_scope(engine, write=True) as session:
        # Amounts that a float would print badly (0.1 + 0.2, 1/3...).
        lines = session.exec(
            select(BudgetLine)
            .join(Action, Action.id == BudgetLine.action_id)
            .where(Action.plan_id == example_plan.id)
            .order_by(BudgetLine.id)
            .limit(3)
        ).all()
        lines[0].requested_cents, lines[0].spent_cents = 1_234_567_801, 30
        lines[1].arbitrated_cents = None
        lines[2].requested_cents = 7
    files = _files(engine, example_plan.id)
    with db.session_scope(engine) as session:
        stored = {
            (code, year, collectivity, strings.SECTION_LABELS[section]): (req, arb, spent)
            for code, year, collectivity, section, req, arb, spent in session.execute(
                sa.select(
                    Action.code,
                    BudgetLine.year,
                    Collectivity.name,
                    BudgetLine.section,
                    BudgetLine.requested_cents,
                    BudgetLine.arbitrated_cents,
                    BudgetLine.spent_cents,
                )
                .join(Action, Action.id == BudgetLine.action_id)
                .join(Collectivity, Collectivity.id == BudgetLine.collectivity_id)
                .where(Action.plan_id == example_plan.id)
            )
        }
    rows = _csv_rows(files, "lignes_budgetaires")
    written = {
        (r["action"], int(r["annee"]), r["collectivite"], r["section"]): (
            _cents(r["demande_euros"]),
            _cents(r["arbitre_euros"]) if r["arbitre_euros"] else None,
            _cents(r["realise_euros"]),
        )
        for r in rows
    }
    assert written == stored
    assert "12345678.01" in {r["demande_euros"] for r in rows}
    assert "0.30" in {r["realise_euros"] for r in rows}
    assert "0.07" in {r["demande_euros"] for r in rows}
    assert "" in {r["arbitre_euros"] for r in rows}
    records = json.loads(files["lignes_budgetaires.json"], parse_float=Decimal)
    assert Decimal("12345678.01") in {r["demande_euros"] for r in records}
    assert None in {r["arbitre_euros"] for r in records}


def test_euros_text_formats_cents_without_float():
    assert euros_text(0) == "0.00"
    assert euros_text(5) == "0.05"
    assert euros_text(123_450) == "1234.50"
    assert euros_text(10**17 + 1) == "1000000000000000.01"
    assert euros_text(-250) == "-2.50"


# --------------------------------------------------------------------------
# Personal data
# --------------------------------------------------------------------------


def test_no_account_data_and_no_pilot_name_by_default(engine, example_plan, pilot):
    with db.session_scope(engine) as session:
        password_hash = session.get(User, pilot.id).password_hash
        assert read_settings(session).open_data_pilot_names is False
    assert password_hash
    files = _files(engine, example_plan.id)
    text = "\n".join(content.decode("utf-8") for content in files.values())
    for secret in (LOGIN, EMAIL, ACCOUNT_NAME, password_hash, PILOT_NAME, "Dupré-Lacoste"):
        assert secret not in text
    assert "pilote" not in _csv_rows(files, "actions")[0]
    assert "pilote" not in {f["name"] for f in _schema(files, "actions")["fields"]}
    action = next(r for r in _csv_rows(files, "actions") if r["code"] == "1.2")
    assert action["fonction_pilote"] == "Chef(fe) de projet administration numérique"
    assert action["service"] == "Direction des systèmes d'information"


def test_pilot_names_are_published_only_when_an_admin_allows_it(engine, example_plan, pilot):
    with db.session_scope(engine, write=True) as session:
        settings = update_settings(
            session, ADMIN, public_view=False, upload_limit_mb=20, open_data_pilot_names=True
        )
    assert settings.open_data_pilot_names
    with db.session_scope(engine) as session:
        allowed = read_settings(session).open_data_pilot_names
    files = _files(engine, example_plan.id, include_pilot_names=allowed)
    actions = _csv_rows(files, "actions")
    assert next(r for r in actions if r["code"] == "1.2")["pilote"] == PILOT_NAME
    assert next(r for r in actions if r["code"] == "1.1")["pilote"] == ""
    assert "pilote" in {f["name"] for f in _schema(files, "actions")["fields"]}
    records = json.loads(files["actions.json"])
    assert next(r for r in records if r["code"] == "1.2")["pilote"] == PILOT_NAME
    text = "\n".join(content.decode("utf-8") for content in files.values())
    for secret in (LOGIN, EMAIL, ACCOUNT_NAME):
        assert secret not in text


def test_an_older_caller_of_update_settings_keeps_the_pilot_names_choice(engine):
    with db.session_scope(engine, write=True) as session:
        update_settings(
            session, ADMIN, public_view=False, upload_limit_mb=20, open_data_pilot_names=True
        )
        settings = update_settings(session, ADMIN, public_view=True, upload_limit_mb=30)
    assert settings.open_data_pilot_names
    assert settings.public_view


# --------------------------------------------------------------------------
# Download and command line
# --------------------------------------------------------------------------


def test_zip_holds_every_file(engine, example_plan):
    files = _files(engine, example_plan.id)
    with zipfile.ZipFile(io.BytesIO(open_data_zip(files))) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == files


def _use_test_database(engine, monkeypatch) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", engine.url.render_as_string(hide_password=False))


def test_command_line_writes_the_files(engine, example_plan, pilot, tmp_path, monkeypatch, capsys):
    _use_test_database(engine, monkeypatch)
    folder = tmp_path / "publication" / "plan"
    assert main(["opendata", str(folder), "--plan", example_plan.name]) == 0
    out = capsys.readouterr().out
    written = {p.name for p in folder.iterdir()}
    assert written == {f"{t}.{e}" for t in TABLES for e in ("csv", "json")} | {DESCRIPTOR}
    assert str(folder / DESCRIPTOR) in out
    assert "noms des pilotes non publiés" in out
    assert PILOT_NAME not in (folder / "actions.csv").read_text(encoding="utf-8")

    with db.session_scope(engine, write=True) as session:
        update_settings(
            session, ADMIN, public_view=False, upload_limit_mb=20, open_data_pilot_names=True
        )
    assert main(["opendata", str(folder)]) == 0
    assert "noms des pilotes publiés" in capsys.readouterr().out
    assert PILOT_NAME in (folder / "actions.csv").read_text(encoding="utf-8")


def test_command_line_refuses_an_unwritable_folder_in_french(
    engine, example_plan, tmp_path, monkeypatch, capsys
):
    _use_test_database(engine, monkeypatch)
    blocker = tmp_path / "un-fichier"
    blocker.write_text("x")
    assert main(["opendata", str(blocker / "donnees")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Erreur : Impossible d'écrire les données ouvertes")
    assert "un fichier (et non un dossier)" in err
    assert "Traceback" not in err
    assert main(["opendata", str(tmp_path / "x"), "--plan", "Plan inconnu"]) == 2
    assert "Aucun plan ne s'appelle « Plan inconnu »" in capsys.readouterr().err


def test_write_open_data_creates_the_folder(engine, example_plan, tmp_path):
    files = _files(engine, example_plan.id)
    written = write_open_data(tmp_path / "a" / "b", files)
    assert written[-1] == Path(tmp_path / "a" / "b" / DESCRIPTOR)
    assert all(p.read_bytes() == files[p.name] for p in written)
