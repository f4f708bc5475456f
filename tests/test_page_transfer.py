"""Page tests (AppTest): the import / export page."""

from __future__ import annotations

import io

import openpyxl
from sqlmodel import select

from tests.conftest import add_user, session_token
from tests.pages import open_page, open_sections, run_app
from tracker import db
from tracker.io.export import workbook_bytes
from tracker.models import Action, Plan
from tracker.services.plans import plan_data

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _exported(engine) -> bytes:
    with db.session_scope(engine) as session:
        data, versions = plan_data(session, session.exec(select(Plan.id)).one())
    return workbook_bytes(data, versions)


def _with_status(content: bytes, row: int, status: str) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    wb["Actions"][f"J{row}"] = status
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_every_user_can_download_the_plan_the_empty_template_and_the_open_data(app_engine):
    at = open_page(
        run_app(session_token(app_engine, add_user(app_engine, "viewer"))), "Import / export"
    )
    labels = [b.label for b in at.get("download_button")]
    assert labels == [
        "Télécharger le plan (.xlsx)",
        "Télécharger le modèle vide (.xlsx)",
        "Télécharger les données ouvertes (.zip)",
    ]
    assert not at.get("file_uploader")  # a viewer imports nothing
    assert not at.expander


def _editor_page(engine):
    at = open_page(run_app(session_token(engine, add_user(engine, "editor"))), "Import / export")
    return open_sections(at, "transfer_import_open")


def test_the_import_form_is_built_only_once_opened(app_engine):
    at = open_page(
        run_app(session_token(app_engine, add_user(app_engine, "editor"))), "Import / export"
    )
    assert [e.label for e in at.expander] == ["Importer un fichier"]
    assert not at.get("file_uploader") and not at.selectbox
    assert "import_check" not in [b.key for b in at.button]
    at = open_sections(at, "transfer_import_open")
    assert len(at.get("file_uploader")) == 1
    assert [s.key for s in at.selectbox] == ["import_sheet", "import_plan"]


def test_editor_checks_then_applies_an_import(app_engine):
    content = _with_status(_exported(app_engine), 3, "Bloqué")  # row 3: action 1.2
    at = _editor_page(app_engine)
    at.get("file_uploader")[0].set_value([("plan.xlsx", content, XLSX)])
    at = run_app(at=at)
    at.button(key="import_check").click()
    at = run_app(at=at)
    counts = next(df.value for df in at.dataframe if "À modifier" in df.value.columns)
    assert counts.set_index("Feuille").loc["Actions", "À modifier"] == 1
    with db.session_scope(app_engine) as session:
        assert session.exec(select(Action.status).where(Action.code == "1.2")).one() == "en_cours"
    at.button(key="import_apply").click()
    at = run_app(at=at)
    assert any("Import enregistré : 1 élément(s)" in s.value for s in at.success)
    assert "import_apply" not in [b.key for b in at.button]  # the check applied is done
    assert at.session_state["transfer_import_open"]  # the section stays open
    with db.session_scope(app_engine) as session:
        assert session.exec(select(Action.status).where(Action.code == "1.2")).one() == "bloque"


def test_closing_the_import_section_forgets_a_check_not_applied(app_engine):
    content = _with_status(_exported(app_engine), 3, "Bloqué")
    at = _editor_page(app_engine)
    at.get("file_uploader")[0].set_value([("plan.xlsx", content, XLSX)])
    at = run_app(at=at)
    at.button(key="import_check").click()
    at = run_app(at=at)
    assert at.button(key="import_apply")
    at.session_state["transfer_import_open"] = False  # a click on the section's title
    at = run_app(at=at)
    assert not at.get("file_uploader") and "import_pending" not in at.session_state
    at = open_sections(at, "transfer_import_open")
    assert "import_apply" not in [b.key for b in at.button]
    with db.session_scope(app_engine) as session:
        assert session.exec(select(Action.status).where(Action.code == "1.2")).one() == "en_cours"


def test_a_bad_file_shows_every_problem_and_offers_no_apply(app_engine):
    content = _with_status(_exported(app_engine), 3, "terminé")
    at = _editor_page(app_engine)
    at.get("file_uploader")[0].set_value([("plan.xlsx", content, XLSX)])
    at = run_app(at=at)
    at.button(key="import_check").click()
    at = run_app(at=at)
    assert "ligne 3, colonne « Statut » : valeur inconnue « terminé »" in at.error[0].value
    assert "import_apply" not in [b.key for b in at.button]
