"""The illustrative example plan shipped in data/exemple."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlmodel import Session, select

from tracker.io import parsing
from tracker.io.survey_file import read_survey_file
from tracker.io.template import read_csv_folder
from tracker.io.workbook import InputFile
from tracker.models import Plan, User
from tracker.services import surveys
from tracker.services.plans import create_plan
from tracker.services.users import system_actor
from tracker.settings import get_settings

EXAMPLE_CONTEXT = "chargement du plan d'exemple"
SURVEY_FOLDER = "enquetes"


def load_example(
    session: Session, folder: Path | None = None, *, actor: User | None = None
) -> Plan:
    """Load the example plan (always flagged as an example) in the caller's transaction.

    Without an actor, the app itself loads it (first run).
    """
    folder = folder or get_settings().example_dir
    data = read_csv_folder(folder)
    data.is_example = True
    actor = actor or system_actor("application (premier lancement)")
    plan = create_plan(session, data, actor=actor, context=EXAMPLE_CONTEXT)
    load_example_waves(session, plan, folder / SURVEY_FOLDER, actor=actor)
    return plan


def load_example_waves(session: Session, plan: Plan, folder: Path, *, actor: User) -> None:
    """The illustrative survey waves listed in ``Vagues.csv``, with their respondents."""
    listing = folder / "Vagues.csv"
    if not listing.is_file():
        return
    text = listing.read_text(encoding="utf-8-sig")
    for row in csv.DictReader(io.StringIO(text), delimiter=";"):
        wave = surveys.create_wave(
            session,
            actor,
            plan.id,
            surveys.WaveInput(
                name=row["Nom"],
                fieldwork_start=parsing.parse_date(row["Début du terrain"]),
                fieldwork_end=parsing.parse_date(row["Fin du terrain"]),
                method=row["Méthode"],
                population=row["Population"],
            ),
            is_example=True,
        )
        path = folder / row["Fichier"]
        table = read_survey_file(InputFile(path.name, path.read_bytes()))
        surveys.import_responses(session, actor, wave.id, table)


def example_present(session: Session) -> bool:
    return session.exec(select(Plan.id).where(Plan.is_example == True)).first() is not None  # noqa: E712
