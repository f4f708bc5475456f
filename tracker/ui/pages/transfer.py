"""« Import / export »: the plan in its Excel template, and loading the real plan from it."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from tracker import db
from tracker.errors import TrackerError
from tracker.io import opendata
from tracker.io.export import workbook_bytes
from tracker.io.plan_import import run_import
from tracker.io.template import SHEETS
from tracker.io.uploads import read_upload
from tracker.io.workbook import InputFile
from tracker.models import User
from tracker.services import plans as plan_service
from tracker.services.app_settings import read_settings
from tracker.services.imports import SHEET_ORDER, ImportReport
from tracker.services.permissions import Permission, has_permission
from tracker.settings import get_settings
from tracker.ui import auth, context, data
from tracker.ui.components import grid, lazy_section, plain, saved_message

_PENDING = "import_pending"
_SAVED = "import_saved"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# The plan's workbook and its open data are built when their button is clicked (and
# kept until the next data change), not on every page run after a save: on a plan of
# 500 actions they take seconds (benchmarks/pages.py).
@st.cache_data(max_entries=8, show_spinner=False)
def _export(url: str, plan_id: int, rev: int) -> bytes:
    with db.session_scope(db.get_engine(url)) as session:
        content, versions = plan_service.plan_data(session, plan_id)
    return workbook_bytes(content, versions)


@st.cache_data(max_entries=8, show_spinner=False)
def _open_data(url: str, plan_id: int, rev: int, today: date) -> bytes:
    with db.session_scope(db.get_engine(url)) as session:
        names = read_settings(session).open_data_pilot_names
        files = opendata.open_data_files(session, plan_id, include_pilot_names=names, at=today)
        return opendata.open_data_zip(files)


@st.cache_resource(max_entries=1, show_spinner=False)  # bytes: shared, never copied
def _empty_template() -> bytes:
    return workbook_bytes(None)


def _counts(report: ImportReport) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Feuille": sheet,
                "À créer": c.created,
                "À modifier": c.updated,
                "Inchangé(s)": c.unchanged,
            }
            for sheet in SHEET_ORDER
            if (c := report.counts[sheet]).created or c.updated or c.unchanged
        ]
    )


def _show_report(report: ImportReport, ignored: dict[str, list[str]], sheets: list[str]) -> None:
    st.subheader("Résultat de la vérification")
    plain(
        ("Nouveau plan" if report.new_plan else "Mise à jour du plan") + f" « {report.plan_name} »"
    )
    grid(_counts(report), hide_index=True, key="import_counts")
    for sheet, columns in ignored.items():
        st.info(f"Feuille « {sheet} » : colonne(s) ignorée(s) : {', '.join(columns)}.")
    if sheets:
        st.info(f"Feuille(s) ignorée(s) : {', '.join(sheets)}.")
    if report.conflicts:
        st.error(
            "Conflits : des actions ont été modifiées dans l'application après l'export du fichier."
        )
        for conflict in report.conflicts:
            plain(f"• {conflict}")
    if report.problems:
        st.error("Le fichier contient des erreurs ; rien ne sera enregistré.")
        for problem in report.problems:
            plain(f"• {problem}")
    if report.changes and not report.new_plan:
        with st.expander(f"Détail des changements ({len(report.changes)})"):
            for change in report.changes:
                plain(f"• {change}")


def _import_section(user: User) -> None:
    # Built only once opened: most visits only download. Closing it forgets a check
    # not applied (its files are no longer in the uploader).
    box = lazy_section("Importer un fichier", "transfer_import_open")
    if box is None:
        st.session_state.pop(_PENDING, None)
        return
    with box:
        _import_form(user)


def _import_form(user: User) -> None:
    st.caption(
        "Un classeur .xlsx au format du modèle, ou un fichier CSV par feuille (séparateur « ; » "
        "ou « , », UTF-8 ou Windows-1252), nommé d'après sa feuille (Actions.csv, Budget.csv…). "
        "Une vérification (essai) montre d'abord ce qui sera créé, modifié ou refusé ; "
        "l'import s'applique ensuite en une seule fois. Rien n'est jamais supprimé."
    )
    limit = data.app_settings().upload_limit_mb
    uploads = st.file_uploader(
        f"Fichier(s) à importer (au plus {limit} Mo chacun)",
        type=["xlsx", "csv"],
        accept_multiple_files=True,
        key="import_files",
    )
    cols = st.columns(2)
    sheet = cols[0].selectbox(
        "Feuille d'un fichier CSV (si son nom ne l'indique pas)",
        [None, *SHEETS],
        format_func=lambda s: "D'après le nom du fichier" if s is None else s,
        key="import_sheet",
    )
    choices = context.plan_choices()
    names = [None, *[name for _id, name, _example in choices]]
    plan_name = cols[1].selectbox(
        "Plan à mettre à jour",
        names,
        key="import_plan",
        format_func=lambda n: "D'après la feuille « Plan » du fichier" if n is None else n,
    )
    if st.button("Vérifier le fichier (essai)", disabled=not uploads, key="import_check"):
        progress = st.progress(0, text="Lecture du fichier…")
        try:
            files = [
                InputFile(u.name, read_upload(u, name=u.name, limit_mb=limit)) for u in uploads
            ]
            progress.progress(30, text="Comparaison avec la base…")
            with db.session_scope(context.engine()) as session:
                report, read = run_import(session, user, files, sheet=sheet, plan_name=plan_name)
        except TrackerError as exc:
            progress.empty()
            st.session_state.pop(_PENDING, None)
            st.error(str(exc))
            return
        progress.progress(100, text="Vérification terminée.")
        st.session_state[_PENDING] = (
            files,
            sheet,
            plan_name,
            report,
            read.ignored_columns,
            read.ignored_sheets,
        )
    pending = st.session_state.get(_PENDING)
    if not pending:
        return
    files, sheet, plan_name, report, ignored, ignored_sheets = pending
    _show_report(report, ignored, ignored_sheets)
    if not report.ok:
        return
    if not report.new_plan and report.total_changes == 0:
        st.success("Rien à changer : le fichier correspond déjà à la base.")
        return
    if st.button("Appliquer l'import", type="primary", key="import_apply"):
        progress = st.progress(10, text="Enregistrement…")
        try:
            with db.session_scope(context.engine(), write=True) as session:
                run_import(session, user, files, sheet=sheet, plan_name=plan_name, apply=True)
        except TrackerError as exc:
            progress.empty()
            st.error(str(exc))
            return
        st.session_state.pop(_PENDING, None)
        st.session_state[_SAVED] = (
            f"Import enregistré : {report.total_changes} élément(s) créé(s) ou modifié(s)."
            " Toutes les modifications sont dans l'historique."
        )
        st.rerun()  # the exports above and the plan chooser show the imported plan


def render() -> None:
    st.title("Import / export")
    plan_id = context.selected_plan_id()
    saved_message(_SAVED)
    st.header("Exporter")
    buttons = st.container(horizontal=True)  # one block, where columns are three
    url, rev, today = get_settings().database_url, context.revision(), context.today()
    name = next((n for i, n, _example in context.plan_choices() if i == plan_id), "")
    if plan_id is not None:
        buttons.download_button(
            "Télécharger le plan (.xlsx)",
            lambda: _export(url, plan_id, rev),
            file_name="plan.xlsx",
            mime=XLSX,
            key="export_plan",
            help=f"Le plan « {name} » au format du modèle d'import.",
        )
    buttons.download_button(
        "Télécharger le modèle vide (.xlsx)",
        _empty_template(),
        file_name="modele-plan.xlsx",
        mime=XLSX,
        key="export_template",
    )
    if plan_id is not None:
        st.subheader("Données ouvertes")
        st.caption(
            "Actions, lignes budgétaires, indicateurs et mesures en CSV (UTF-8, séparateur « , », "
            "dates ISO, euros avec un point décimal) et en JSON, décrits par un fichier "
            "datapackage.json (Frictionless Data), sous Licence Ouverte 2.0. Aucune donnée "
            "personnelle : ni comptes, ni noms des pilotes (sauf réglage contraire)."
        )
        st.download_button(
            "Télécharger les données ouvertes (.zip)",
            lambda: _open_data(url, plan_id, rev, today),
            file_name=f"{opendata.slug(name)}.zip",
            mime="application/zip",
            key="export_open_data",
        )
    user = auth.current_user()
    if has_permission(user, Permission.EDIT_PLAN):
        _import_section(user)
