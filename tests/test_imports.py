"""Importing and exporting the plan template: dry run, one transaction, keys, conflicts,
round trips."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests.conftest import count_rows
from tracker import db
from tracker.cli import main
from tracker.errors import PermissionDenied, ValidationError
from tracker.io.export import workbook_bytes
from tracker.io.plan_import import run_import
from tracker.io.workbook import InputFile
from tracker.models import (
    Action,
    ActionStatus,
    AuditEntry,
    BudgetLine,
    BudgetSection,
    Direction,
    FundingStatus,
    Plan,
    Priority,
    ProgressMode,
    SourceType,
    Weather,
)
from tracker.services import actions as action_service
from tracker.services.plans import (
    ActionData,
    BudgetLineData,
    FundingData,
    IndicatorData,
    MeasurementData,
    MilestoneData,
    ObjectiveData,
    PlanData,
    ReferenceData,
    StakeData,
    create_plan,
    plan_data,
)
from tracker.services.revision import current_revision
from tracker.services.users import system_actor

ACTOR = system_actor("tests")


def _export(engine, plan_id: int) -> bytes:
    with db.session_scope(engine) as session:
        data, versions = plan_data(session, plan_id)
    return workbook_bytes(data, versions)


def _import(
    engine, content: bytes, *, apply: bool, name: str = "plan.xlsx", actor=ACTOR, **options
):
    with db.session_scope(engine, write=apply) as session:
        report, _read = run_import(
            session, actor, [InputFile(name, content)], apply=apply, **options
        )
    return report


def _edit(content: bytes, sheet: str, cell: str, value) -> bytes:  # noqa: ANN001
    wb = openpyxl.load_workbook(io.BytesIO(content))
    wb[sheet][cell] = value
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _plan_id(engine, name: str | None = None) -> int:
    with db.session_scope(engine) as session:
        query = select(Plan.id) if name is None else select(Plan.id).where(Plan.name == name)
        return session.exec(query).first()


def test_reimporting_the_exported_file_changes_nothing(engine, example_plan):
    content = _export(engine, example_plan.id)
    before_rows, before_revision = count_rows(engine), _revision(engine)
    report = _import(engine, content, apply=False)
    assert report.ok and report.total_changes == 0
    assert report.counts["Actions"].unchanged == 19
    _import(engine, content, apply=True)
    assert count_rows(engine) == before_rows
    assert _revision(engine) == before_revision


def _revision(engine) -> int:
    with db.session_scope(engine) as session:
        return current_revision(session)


def test_an_updated_file_updates_what_changed_with_history_naming_the_import(engine, example_plan):
    content = _export(engine, example_plan.id)
    # Actions!J is « Statut », row 3 is action 1.2; Budget!E2 is the first line's request.
    content = _edit(content, "Actions", "J3", "bloqué")
    content = _edit(content, "Budget", "E2", "12 500,50 €")
    report = _import(engine, content, apply=False, name="mise-a-jour.xlsx")
    assert report.ok
    assert (report.counts["Actions"].updated, report.counts["Budget"].updated) == (1, 1)
    assert "Actions — action 1.2 : Statut : En cours → Bloqué" in report.changes
    _import(engine, content, apply=True, name="mise-a-jour.xlsx")
    with db.session_scope(engine) as session:
        action = session.exec(select(Action).where(Action.code == "1.2")).one()
        assert (action.status, action.version) == (ActionStatus.BLOQUE, 2)
        entries = session.exec(
            select(AuditEntry).where(AuditEntry.context == "import : mise-a-jour.xlsx")
        ).all()
    assert {(e.entity, e.field) for e in entries} == {
        ("action", "status"),
        ("budget", "requested_cents"),
    }
    assert next(e for e in entries if e.field == "requested_cents").new_value == "1250050"


def test_what_the_file_does_not_mention_is_never_deleted(engine, example_plan):
    content = _export(engine, example_plan.id)
    wb = openpyxl.load_workbook(io.BytesIO(content))
    wb["Actions"].delete_rows(2, 5)  # five actions left out
    wb["Budget"].delete_rows(2, 100)
    buffer = io.BytesIO()
    wb.save(buffer)
    before = count_rows(engine)
    report = _import(engine, buffer.getvalue(), apply=True)
    assert report.counts["Actions"].unchanged == 14
    assert count_rows(engine) == before


def test_an_action_edited_after_the_export_is_a_conflict_and_nothing_is_written(
    engine, example_plan
):
    content = _export(engine, example_plan.id)
    with db.session_scope(engine, write=True) as session:
        action = session.exec(select(Action).where(Action.code == "1.2")).one()
        action_service.update_action(
            session, ACTOR, action.id, expected_version=1, changes={"weather": "orage"}
        )
    content = _edit(content, "Actions", "L3", 60)  # the file changes 1.2's progress too
    report = _import(engine, content, apply=False)
    assert not report.ok
    assert report.conflicts[0].startswith("Action 1.2 : modifiée dans l'application")
    before = count_rows(engine)
    with pytest.raises(ValidationError, match="refusé"):
        _import(engine, content, apply=True)
    assert count_rows(engine) == before


def test_an_unchanged_action_edited_after_the_export_is_no_conflict(engine, example_plan):
    content = _export(engine, example_plan.id)
    with db.session_scope(engine, write=True) as session:
        action = session.exec(select(Action).where(Action.code == "1.2")).one()
        action_service.update_action(
            session, ACTOR, action.id, expected_version=1, changes={"weather": "orage"}
        )
    content = _edit(content, "Actions", "K3", "Orage")  # the file says the same
    report = _import(engine, content, apply=False)
    assert report.ok and report.total_changes == 0


@pytest.mark.parametrize(
    ("sheet", "cell", "value", "message"),
    [
        ("Actions", "A3", "1.1", "Code d'action en double : « 1.1 »"),
        ("Actions", "C2", "9", "Action 1.1 : objectif inconnu « 9 »"),
        ("Actions", "J2", "terminé", "valeur inconnue « terminé »"),
        ("Actions", "L2", 150, "avancement 150 hors de 0 à 100"),
        ("Actions", "P2", date(2000, 1, 1), "la fin prévue précède le début"),
        ("Budget", "E2", "-5", "montant négatif"),
        ("Budget", "B2", 2035, "année hors de la période du plan"),
        ("Jalons", "A2", "7.7", "action inconnue « 7.7 »"),
        ("Mesures", "A2", "I99", "indicateur inconnu « I99 »"),
    ],
    ids=[
        "duplicate_code",
        "unknown_objective",
        "unknown_status",
        "progress_out_of_range",
        "end_before_start",
        "negative_amount",
        "year_outside_period",
        "unknown_action",
        "unknown_indicator",
    ],
)
def test_a_bad_file_is_refused_and_the_database_is_unchanged(
    engine, example_plan, sheet, cell, value, message
):
    content = _edit(_export(engine, example_plan.id), sheet, cell, value)
    before = count_rows(engine)
    try:  # the dry run: reading refuses bad cells, the comparison reports bad references
        details = _import(engine, content, apply=False).problems
    except ValidationError as refused:
        details = refused.details
    assert any(message in d for d in details), details
    with pytest.raises(ValidationError):
        _import(engine, content, apply=True)
    assert count_rows(engine) == before


def test_a_viewer_cannot_import(engine, example_plan):
    from tests.conftest import add_user

    viewer = add_user(engine, "viewer")
    content = _export(engine, example_plan.id)
    before = count_rows(engine)
    with pytest.raises(PermissionDenied):
        _import(engine, content, apply=True, actor=viewer)
    assert count_rows(engine) == before


def test_a_single_csv_sheet_updates_an_existing_plan(engine, example_plan):
    csv = (
        "Action;Année;Collectivité;Section;Demandé (€);Arbitré (€);Réalisé (€);Commentaire\n"
        "1.1;2026;Ville de Cahors;Fonctionnement;1 234,50 €;;;Nouvelle ligne\n"
    ).encode("cp1252")
    report = _import(
        engine, csv, apply=True, name="budget-2026.csv", sheet="Budget", plan_name=example_plan.name
    )
    assert report.counts["Budget"].created == 1
    with db.session_scope(engine) as session:
        line = session.exec(select(BudgetLine).where(BudgetLine.comment == "Nouvelle ligne")).one()
    assert (line.requested_cents, line.arbitrated_cents, line.year) == (123450, None, 2026)


def _full_plan() -> PlanData:
    """A plan with every field filled, accents and line breaks included."""
    return PlanData(
        name="Plan complet — essai « accentué »",
        collectivities=["Ville de Cahors", "Grand Cahors"],
        first_year=2020,
        last_year=2027,
        adopted_on=date(2019, 12, 12),
        deliberation_ref="Délibération n°7\nséance du 12 décembre",
        description="Ligne 1\nLigne 2",
        stakes=[StakeData("É1", "Enjeu éprouvé", "Détail\nsur deux lignes")],
        objectives=[ObjectiveData("O1", "Objectif à œuvrer", "Desc. « guillemets »", ["É1"])],
        actions=[
            ActionData(
                code="A.1",
                title="Action n°1 : l'été",
                objective_code="O1",
                carriers=["Ville de Cahors", "Grand Cahors"],
                pilot_name="Camille Dupré",
                pilot_function="Chargée de mission",
                service="DSI",
                elected_referent="Adjointe",
                partners="Région; État",
                status=ActionStatus.EN_PAUSE,
                weather=Weather.NUAGEUX,
                progress=37,
                progress_mode=ProgressMode.ENTERED,
                priority=Priority.HAUTE,
                start_date=date(2020, 2, 3),
                planned_end_date=date(2027, 6, 30),
                actual_end_date=None,
                update_period_days=45,
                description="Première ligne\nSeconde",
            )
        ],
        milestones=[MilestoneData("A.1", "Jalon « un »", date(2021, 1, 4), date(2021, 1, 5), 3)],
        budget_lines=[
            BudgetLineData(
                "A.1",
                2021,
                "Grand Cahors",
                BudgetSection.INVESTISSEMENT,
                1250050,
                1000000,
                999999,
                "Coupe\nà l'arbitrage",
            )
        ],
        fundings=[FundingData("A.1", "Région Occitanie", 500001, FundingStatus.ACCORDE)],
        indicators=[
            IndicatorData(
                code="I.1",
                name="Part d'habitants équipés",
                definition="Enquête\nquestion Q3",
                unit="%",
                direction=Direction.LOWER,
                source_type=SourceType.WEB_ANALYTICS,
                source="Étude 2012",
                baseline_value=12.5,
                baseline_date=date(2012, 6, 30),
                intermediate_target=20.25,
                intermediate_target_date=date(2022, 12, 31),
                target_value=30.0,
                target_date=date(2027, 12, 31),
                update_period_days=365,
                objective_code="O1",
                action_codes=["A.1"],
            )
        ],
        measurements=[
            MeasurementData(
                "I.1",
                date(2024, 6, 30),
                18.4,
                "Enquête 2024",
                612,
                15.3,
                21.5,
                "Vague « mise à jour »\nillustrative",
            )
        ],
        references=[
            ReferenceData(
                "I.1", date(2024, 12, 31), 44.0, "Baromètre du numérique (CREDOC), édition 2025"
            )
        ],
    )


@pytest.mark.parametrize("which", ["example", "every_field"])
def test_export_import_into_an_empty_database_then_export_gives_the_same_data(
    engine, tmp_path, which, sqlite_template
):
    from tracker.io.example import load_example

    with db.session_scope(engine, write=True) as session:
        plan = (
            load_example(session)
            if which == "example"
            else create_plan(session, _full_plan(), actor=ACTOR)
        )
    first = _export(engine, plan.id)
    with db.session_scope(engine) as session:
        data_before, _ = plan_data(session, plan.id)

    target = db.make_engine(f"sqlite:///{tmp_path / 'vide.db'}")
    db.upgrade_database(target)
    _import(target, first, apply=True)
    with db.session_scope(target) as session:
        data_after, versions = plan_data(session, session.exec(select(Plan.id)).one())
    assert data_after == data_before
    second = _export(target, _plan_id(target))
    assert _sheet_values(first) == _sheet_values(second)
    target.dispose()


def _sheet_values(content: bytes) -> dict[str, list[list]]:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def test_export_writes_amounts_as_euro_numbers_dates_as_dates_and_frozen_headers(
    engine, example_plan
):
    wb = openpyxl.load_workbook(io.BytesIO(_export(engine, example_plan.id)))
    assert wb.sheetnames[0] == "À lire"
    budget, actions = wb["Budget"], wb["Actions"]
    assert isinstance(budget["E2"].value, int | float) and "€" in budget["E2"].number_format
    assert actions["O2"].is_date and actions["O2"].number_format == "DD/MM/YYYY"
    assert budget.freeze_panes == "A2" and actions.freeze_panes == "A2"
    assert actions.column_dimensions["B"].width > 20
    readme = [row[1].value for row in wb["À lire"].iter_rows(min_row=5)]
    assert "Avancement (%)" in readme and "Arbitré (€)" in readme


def test_readme_documents_every_template_column():
    from tests.conftest import PROJECT_ROOT
    from tracker.io.columns import COLUMN_HELP

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for sheet, columns in COLUMN_HELP.items():
        assert f"Feuille « {sheet} »" in readme
        for header in columns:
            assert f"| {header} |" in readme, (sheet, header)


def test_command_line_dry_run_then_import_then_reimport(engine, tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    assert main(["init"]) == 0
    assert main(["export", str(tmp_path / "plan.xlsx")]) == 0
    capsys.readouterr()
    assert main(["import", str(tmp_path / "plan.xlsx"), "--dry-run"]) == 0
    assert "Rien à changer" in capsys.readouterr().out
    content = _edit((tmp_path / "plan.xlsx").read_bytes(), "Actions", "J3", "Bloqué")
    (tmp_path / "plan2.xlsx").write_bytes(content)
    assert main(["import", str(tmp_path / "plan2.xlsx"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Actions : 0 à créer, 1 à modifier, 18 inchangé(s)" in out
    assert "Essai seulement" in out
    assert main(["import", str(tmp_path / "plan2.xlsx")]) == 0
    assert "Import enregistré : 1 élément(s)" in capsys.readouterr().out
    with db.make_engine(url).connect() as conn:
        status = conn.execute(sa.text("SELECT status FROM action WHERE code = '1.2'")).scalar()
    assert status == "bloque"
    bad = _edit(content, "Actions", "L2", 150)
    (tmp_path / "bad.xlsx").write_bytes(bad)
    assert main(["import", str(tmp_path / "bad.xlsx")]) == 1
    assert "ligne 2, colonne « Avancement (%) » : avancement 150" in capsys.readouterr().err


def _workbook_without(sheet: str | None = None, column: str | None = None) -> bytes:
    from tests.conftest import PROJECT_ROOT
    from tracker.io.export import build_workbook
    from tracker.io.template import read_csv_folder

    wb = build_workbook(read_csv_folder(PROJECT_ROOT / "data" / "exemple"))
    if sheet:
        del wb[sheet]
    if column:
        ws = wb["Actions"]
        index = next(c.column for c in ws[1] if c.value == column)
        ws.delete_cols(index)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _formula_without_cached_value() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Budget"
    ws.append(["Action", "Année", "Collectivité", "Section", "Demandé (€)"])
    ws.append(["1.1", 2024, "Ville de Cahors", "Fonctionnement", "=1000*2"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("plan.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "ni un classeur Excel"),
        ("plan.xlsx", bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 512, "mot de passe"),
        ("plan.xlsx", b"", "vide"),
        ("plan.xlsx", "actions", "Feuille « Actions » absente"),
        ("plan.xlsx", "Objectif", "colonne obligatoire absente"),
        ("Budget.xlsx", "formula", "formule sans valeur calculée"),
    ],
    ids=[
        "not_a_workbook",
        "password_protected",
        "empty",
        "missing_sheet",
        "missing_column",
        "formula_without_value",
    ],
)
def test_an_unreadable_file_is_refused_in_french_and_nothing_is_written(
    engine, example_plan, name, content, message
):
    if content == "actions":
        content = _workbook_without(sheet="Actions")
    elif content == "Objectif":
        content = _workbook_without(column="Objectif")
    elif content == "formula":
        content = _formula_without_cached_value()
    before = count_rows(engine)
    with pytest.raises(ValidationError) as refused:
        _import(engine, content, apply=True, name=name, plan_name=example_plan.name)
    assert message in str(refused.value)
    assert count_rows(engine) == before


def test_a_file_over_the_upload_limit_is_refused_before_reading():
    from tracker.io.uploads import read_upload

    with pytest.raises(ValidationError, match="taille maximale autorisée \\(1 Mo\\)"):
        read_upload(io.BytesIO(b"x" * (1024 * 1024 + 1)), name="plan.xlsx", limit_mb=1)
