"""Survey waves: reading respondent files, computing survey indicators on import,
refusals that write nothing, recomputation, breakdowns and wave comparisons.

Every expected statistic is worked out by hand in the comments (or recomputed
in the test with pandas / the textbook formulas), never copied from the code:

- weighted share p = Σ w·success / Σ w over the counted respondents;
- Kish effective size n_eff = (Σw)² / Σw²;
- Wilson 95 % interval on n_eff: centre = (p + z²/2n) / (1 + z²/n),
  half = z / (1 + z²/n) · √(p(1-p)/n + z²/4n²), with z = 1.959963984540054.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.conftest import PROJECT_ROOT, add_user, count_rows
from tracker import db
from tracker.errors import ConflictError, PermissionDenied, ValidationError
from tracker.io.survey_file import REFUSED, SurveyTable, read_survey_file
from tracker.io.workbook import InputFile
from tracker.models import (
    Direction,
    Indicator,
    Measurement,
    Plan,
    SourceType,
    SurveyResponse,
    SurveyWave,
)
from tracker.services import stats, surveys, users
from tracker.services.indicators import MeasurementEdit, save_measurements, update_indicator
from tracker.services.plans import IndicatorData, PlanData, create_plan
from tracker.services.surveys import (
    RELIABLE_MIN,
    WaveInput,
    breakdown,
    breakdown_columns,
    compare_waves,
    create_wave,
    delete_wave,
    import_responses,
    list_waves,
    load_responses,
    recompute_wave,
    responses_from_table,
    update_wave,
)

ADMIN = users.system_actor("tests")
Z = 1.959963984540054
TOL = 1e-4  # stored values are rounded to 4 decimals (percent)
EXAMPLE_SURVEYS = PROJECT_ROOT / "data" / "exemple" / "enquetes"
WAVE_2012 = "Étude usages 2012 (exemple illustratif)"
WAVE_2024 = "Mise à jour 2024 (exemple illustratif)"

WAVE_NAME = "Enquête test 2023"
START, END = date(2023, 5, 1), date(2023, 6, 30)


def _wilson(p: float, n: float) -> tuple[float, float]:
    """The textbook Wilson interval (written out again here, not imported)."""
    z2 = Z * Z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return centre - half, centre + half


# ==========================================================================
# 1. Reading respondent files
# ==========================================================================

HEADER = ["Identifiant", "Fréquence internet", "Difficultés", "Âge", "Poids"]
ROWS = [
    ("R1", "Tous les jours", "Oui, souvent", 45, 1.5),
    ("R2", "Jamais", "Non", 72, 2.0),
    ("R3", "Très souvent", "Oui, parfois", 18, 0.75),
]
EXPECTED = SurveyTable(
    file_name="",
    columns=["Fréquence internet", "Difficultés", "Âge"],
    respondents=["R1", "R2", "R3"],
    answers=[
        ["Tous les jours", "Oui, souvent", "45"],
        ["Jamais", "Non", "72"],
        ["Très souvent", "Oui, parfois", "18"],
    ],
    weights=[1.5, 2.0, 0.75],
    weight_column="Poids",
    id_column="Identifiant",
)


def _weight_text(weight: float, decimal: str) -> str:
    text = f"{weight:g}"  # 1.5, 2, 0.75
    return text.replace(".", decimal)


def _csv_bytes(sep: str, decimal: str, encoding: str, *, lineterminator: str = "\r\n") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator=lineterminator)
    writer.writerow(HEADER)
    for ident, freq, diff, age, weight in ROWS:
        writer.writerow([ident, freq, diff, str(age), _weight_text(weight, decimal)])
    return buffer.getvalue().encode(encoding)


def _xlsx_bytes(*, tab: str | None = None, blank_row: bool = False) -> bytes:
    """A workbook with numeric cells (45.0 must read as "45", 2.0 as 2)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if tab is not None:
        sheet.title = "Notice"
        sheet.append(["Ce classeur contient les réponses dans l'onglet suivant."])
        sheet = workbook.create_sheet(tab)
    sheet.append(HEADER)
    for n, (ident, freq, diff, age, weight) in enumerate(ROWS):
        if blank_row and n == 1:
            sheet.append([])
        sheet.append([ident, freq, diff, float(age), float(weight)])
    out = io.BytesIO()
    workbook.save(out)
    return _integral_numbers_as_floats(out.getvalue())


def _integral_numbers_as_floats(content: bytes) -> bytes:
    """Write whole numbers as "45.0" (openpyxl writes "45", which reads back as an
    int): so the reader really meets float cells such as 45.0 and 2.0."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'(<c [^>]*t="n"[^>]*><v>)(-?\d+)(</v>)', rb"\1\2.0\3", data)
            target.writestr(item, data)
    return out.getvalue()


def _same_table(table: SurveyTable, expected: SurveyTable = EXPECTED) -> None:
    assert table.columns == expected.columns
    assert table.respondents == expected.respondents
    assert table.answers == expected.answers
    assert table.weights == pytest.approx(expected.weights)
    assert table.weight_column == expected.weight_column
    assert table.id_column == expected.id_column
    assert table.size == len(expected.respondents)


FORMATS = {
    "csv ; utf-8 virgule": ("r.csv", lambda: _csv_bytes(";", ",", "utf-8")),
    "csv ; utf-8-bom virgule": ("r.csv", lambda: _csv_bytes(";", ",", "utf-8-sig")),
    "csv ; cp1252 virgule": ("r.csv", lambda: _csv_bytes(";", ",", "cp1252")),
    "csv ; cp1252 point": ("r.csv", lambda: _csv_bytes(";", ".", "cp1252")),
    "csv , utf-8 point": ("r.csv", lambda: _csv_bytes(",", ".", "utf-8")),
    "csv , utf-8-bom virgule": ("r.csv", lambda: _csv_bytes(",", ",", "utf-8-sig")),
    "csv , cp1252 virgule lf": (
        "r.csv",
        lambda: _csv_bytes(",", ",", "cp1252", lineterminator="\n"),
    ),
    "xlsx": ("r.xlsx", _xlsx_bytes),
    "xlsx onglet Réponses": ("r.xlsx", lambda: _xlsx_bytes(tab="Réponses")),
}


@pytest.mark.parametrize("variant", list(FORMATS))
def test_every_format_reads_the_same_table(variant: str) -> None:
    name, build = FORMATS[variant]
    content = build()
    # The variants really differ where they should.
    if "cp1252" in variant:
        assert b"Fr\xe9quence" in content
        with pytest.raises(UnicodeDecodeError):
            content.decode("utf-8")
    if "bom" in variant:
        assert content.startswith(b"\xef\xbb\xbf")
    if variant.startswith("csv ,"):
        assert b'"Oui, souvent"' in content
        if "virgule" in variant:
            assert b'"1,5"' in content
    table = read_survey_file(InputFile(name, content))
    assert table.file_name == name
    _same_table(table)


def test_xlsx_numeric_cells_read_as_typed_and_blank_rows_are_skipped() -> None:
    content = _xlsx_bytes(blank_row=True)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    assert b"<v>45.0</v>" in sheet and b"<v>2.0</v>" in sheet and b"<v>1.5</v>" in sheet
    table = read_survey_file(InputFile("r.xlsx", content))
    _same_table(table)
    assert [a[2] for a in table.answers] == ["45", "72", "18"]  # not "45.0"


@pytest.mark.parametrize(
    ("id_header", "weight_header"),
    [
        ("IDENTIFIANT", "poids"),
        ("Numéro", "Pondération"),
        ("répondant", "POIDS FINAL"),
        ("N°", "Weight"),
        ("id", "Coefficient de pondération"),
    ],
)
def test_identifier_and_weight_columns_recognised_by_name(
    id_header: str, weight_header: str
) -> None:
    content = f"Commune;{weight_header};Smartphone;{id_header}\nCahors;1,25;Oui;A7\n"
    content += "Pradines;0,5;Non;B2\n"
    table = read_survey_file(InputFile("r.csv", content.encode("utf-8")))
    assert table.columns == ["Commune", "Smartphone"]
    assert table.id_column == id_header
    assert table.weight_column == weight_header
    assert table.respondents == ["A7", "B2"]
    assert table.weights == [1.25, 0.5]
    assert table.answers == [["Cahors", "Oui"], ["Pradines", "Non"]]


def test_without_identifier_or_weight_respondents_are_numbered_by_line() -> None:
    content = "Smartphone;Commune\nOui;Cahors\nNon;Pradines\n;\nOui;Espère\n"
    table = read_survey_file(InputFile("r.csv", content.encode("utf-8")))
    # Line 1 holds the headers; line 4 is blank (not a respondent).
    assert table.respondents == ["2", "3", "5"]
    assert table.id_column is None
    assert table.weights is None
    assert table.weight_column is None
    assert table.columns == ["Smartphone", "Commune"]
    assert table.answers == [["Oui", "Cahors"], ["Non", "Pradines"], ["Oui", "Espère"]]


def _refusal(name: str, content: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        read_survey_file(InputFile(name, content))
    assert info.value.message == REFUSED
    assert info.value.details
    return info.value


GARBAGE = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(64))

REFUSALS = {
    "vide": ("r.csv", b"", ["Le fichier « r.csv » est vide."]),
    "blancs seulement": ("r.csv", b" \r\n\r\n  \n", ["Le fichier « r.csv » est vide."]),
    "séparateurs seulement": ("r.csv", b";;\n;;\n", ["Le fichier « r.csv » est vide."]),
    "en-têtes seulement": (
        "r.csv",
        b"Identifiant;Smartphone;Poids\n",
        ["Le fichier ne contient aucune réponse : seule la ligne d'en-têtes est remplie."],
    ),
    "en-tête vide": (
        "r.csv",
        b"Identifiant;;Poids\nR1;Oui;1\n",
        ["Ligne 1, colonne 2 : en-tête vide"],
    ),
    "colonne en double": (
        "r.csv",
        "Identifiant;Fréquence internet;FREQUENCE  INTERNET\nR1;Oui;Non\n".encode(),
        ["Ligne 1 : la colonne « FREQUENCE INTERNET » apparaît deux fois (colonnes 2 et 3)."],
    ),
    "poids manquant": (
        "r.csv",
        b"Identifiant;Smartphone;Poids\nR1;Oui;1,2\nR2;Non;\n",
        ["Ligne 3, colonne « Poids » : poids manquant."],
    ),
    "poids négatif": (
        "r.csv",
        b"Identifiant;Smartphone;Poids\nR1;Oui;-1\n",
        [
            "Ligne 2, colonne « Poids » : le poids doit être un nombre strictement positif "
            "(lu : -1)."
        ],
    ),
    "poids nul": (
        "r.csv",
        b"Identifiant;Smartphone;Poids\nR1;Oui;1\nR2;Oui;0,0\n",
        [
            "Ligne 3, colonne « Poids » : le poids doit être un nombre strictement positif "
            "(lu : 0,0)."
        ],
    ),
    "poids illisible": (
        "r.csv",
        b"Identifiant;Smartphone;Poids\nR1;Oui;abc\n",
        ["Ligne 2, colonne « Poids » : poids illisible « abc »."],
    ),
    "identifiant en double": (
        "r.csv",
        b"Identifiant;Smartphone\nR1;Oui\nR2;Non\nR1;Oui\n",
        ["Ligne 4, colonne « Identifiant » : identifiant « R1 » déjà utilisé ligne 2."],
    ),
    "identifiant manquant": (
        "r.csv",
        b"Identifiant;Smartphone\nR1;Oui\n;Non\n",
        ["Ligne 3, colonne « Identifiant » : identifiant manquant."],
    ),
    "cellules en trop": (
        "r.csv",
        b"Identifiant;Smartphone\nR1;Oui;en trop\n",
        ["Ligne 2 : plus de cellules remplies que de colonnes nommées."],
    ),
    "plusieurs problèmes": (
        "r.csv",
        b"Identifiant;Smartphone;Poids\nR1;Oui;\nR2;Non;-2\nR2;Oui;1\n",
        [
            "Ligne 2, colonne « Poids » : poids manquant.",
            "Ligne 3, colonne « Poids » : le poids doit être un nombre strictement positif",
            "Ligne 4, colonne « Identifiant » : identifiant « R2 » déjà utilisé ligne 3.",
        ],
    ),
    "utf-16 avec bom": (
        "r.csv",
        "Identifiant;Fréquence internet\nR1;Très souvent\n".encode("utf-16"),
        ["encodage UTF-16"],
    ),
    "utf-16 sans bom": (
        "r.csv",
        "Identifiant;Smartphone\nR1;Oui\n".encode("utf-16-le"),
        ["encodage UTF-16"],
    ),
    "xls (signature OLE)": (
        "r.xls",
        bytes.fromhex("D0CF11E0A1B11AE1") + bytes(512),
        ["Classeur au format .xls ou protégé par mot de passe"],
    ),
    "faux xlsx commençant par PK": (
        "r.xlsx",
        b"PK\x03\x04" + GARBAGE,
        ["Classeur illisible : ouvrez-le et enregistrez-le de nouveau au format .xlsx."],
    ),
    "octets quelconques nommés .xlsx": ("r.xlsx", GARBAGE, []),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_reader_refusals_name_line_and_column_in_french(case: str) -> None:
    name, content, expected = REFUSALS[case]
    error = _refusal(name, content)
    for text in expected:
        assert any(text in d for d in error.details), (text, error.details)
    assert "rien n'a été enregistré" in str(error)


def test_xlsx_refusal_names_the_sheet_line() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Identifiant", "Smartphone", "Poids"])
    sheet.append(["R1", "Oui", 1.0])
    sheet.append([])
    sheet.append(["R2", "Non", -2.0])
    out = io.BytesIO()
    workbook.save(out)
    error = _refusal("r.xlsx", out.getvalue())
    assert error.details == [
        "Ligne 4, colonne « Poids » : le poids doit être un nombre strictement positif (lu : -2)."
    ]


def test_comma_csv_with_a_leading_blank_line() -> None:
    content = b"\r\n" + _csv_bytes(",", ".", "utf-8")
    _same_table(read_survey_file(InputFile("r.csv", content)))


# ==========================================================================
# Helpers for the services: a small hand-made plan and hand-made tables
# ==========================================================================


def _plan_data(name: str = "Plan de test des enquêtes") -> PlanData:
    return PlanData(
        name=name,
        collectivities=["Ville de Cahors"],
        first_year=2020,
        last_year=2026,
        indicators=[
            IndicatorData(
                code="S1",
                name="Part des habitants équipés d'un smartphone",
                survey_question="Smartphone",
                survey_values=["Oui"],
            ),
            IndicatorData(
                code="S2",
                name="Part des internautes ayant fait une démarche en ligne",
                survey_question="Démarche",
                survey_values=["Oui"],
                survey_filter_question="Fréquence internet",
                # "Tres" without accent: the answers carry one.
                survey_filter_values=["Tous les jours", "Tres souvent"],
            ),
            IndicatorData(
                code="S3",
                name="Part des habitants en difficulté",
                direction=Direction.LOWER,
                survey_question="Difficultés",
                survey_values=["Oui, souvent", "Oui, parfois"],
            ),
            IndicatorData(
                code="A1",
                name="Visites du site",
                unit="nombre",
                source_type=SourceType.ADMINISTRATIVE,
            ),
        ],
    )


@dataclass(frozen=True)
class Small:
    plan_id: int
    ids: dict[str, int]  # indicator id by code
    wave_id: int  # "Enquête test 2023", created without respondents


@pytest.fixture
def small(engine: Engine) -> Small:
    with db.session_scope(engine, write=True) as session:
        plan = create_plan(session, _plan_data(), actor=ADMIN)
        ids = {
            i.code: i.id
            for i in session.exec(select(Indicator).where(Indicator.plan_id == plan.id))
        }
        wave = create_wave(session, ADMIN, plan.id, WaveInput(WAVE_NAME, START, END))
        return Small(plan.id, ids, wave.id)


COLUMNS = ["Smartphone", "Fréquence internet", "Démarche", "Difficultés", "Commune"]
# Answers written as people and tools do: case, accents and spaces vary.
HAND_ROWS = [
    ["Oui", "Tous les jours", "Oui", "Non", "Cahors"],  # R1, weight 1
    ["OUI ", "  tous les JOURS", "Non", "oui,  SOUVENT", "Cahors"],  # R2, weight 2
    ["Non", "Jamais", "Oui", "Oui, parfois", "Pradines"],  # R3, weight 1
    ["Non", "très  souvent", "oui", "Non", "Pradines"],  # R4, weight 1
    ["oui", "Très souvent", "", "", "Cahors"],  # R5, weight 1
]
HAND_WEIGHTS = [1.0, 2.0, 1.0, 1.0, 1.0]
# By hand:
# S1 (Smartphone = Oui): all 5 counted; Oui = R1, R2, R5 -> (1+2+1)/6 = 4/6 = 66.6667 %;
#    n_eff = 6² / (1+4+1+1+1) = 36/8 = 4.5; Wilson(2/3, 4.5): z²/n = 0.853658,
#    centre = (0.666667 + 0.426829) / 1.853658 = 0.589912,
#    half = 1.057350 · √(0.049383 + 0.047426) = 0.328984 -> [26.0929 %, 91.8896 %].
# S2 (Démarche = Oui among Fréquence ∈ {Tous les jours, Tres souvent}): R3 and the
#    blank-Démarche R5 are left out; R1 (1, Oui), R2 (2, Non), R4 (1, oui) counted:
#    2/4 = 50 %, n = 3, n_eff = 16/6 = 2.6667; Wilson(0.5, 2.6667) = [11.5859, 88.4141].
# S3 (Difficultés ∈ {Oui, souvent; Oui, parfois}): R5 blank; R1 (1, Non), R2 (2, oui
#    souvent), R3 (1, Oui parfois), R4 (1, Non): 3/5 = 60 %, n = 4,
#    n_eff = 25/7 = 3.5714; Wilson(0.6, 3.5714) = [19.1728 %, 90.4629 %].
HAND = {
    "S1": (66.6667, 5, 4.5, 26.0929, 91.8896),
    "S2": (50.0, 3, 2.6667, 11.5859, 88.4141),
    "S3": (60.0, 4, 3.5714, 19.1728, 90.4629),
}


def _table(
    rows: list[list[str]],
    weights: list[float] | None = None,
    columns: list[str] | None = None,
    *,
    prefix: str = "R",
) -> SurveyTable:
    return SurveyTable(
        file_name="test.csv",
        columns=list(columns or COLUMNS),
        respondents=[f"{prefix}{n}" for n in range(1, len(rows) + 1)],
        answers=[list(r) for r in rows],
        weights=list(weights) if weights is not None else None,
        weight_column="Poids" if weights is not None else None,
        id_column="Identifiant",
    )


def _hand_table() -> SurveyTable:
    return _table(HAND_ROWS, HAND_WEIGHTS)


def _import(engine: Engine, wave_id: int, table: SurveyTable, actor=ADMIN, **options):
    with db.session_scope(engine, write=True) as session:
        return import_responses(session, actor, wave_id, table, **options)


def _new_wave(engine: Engine, plan_id: int, name: str, end: date, start: date | None = None) -> int:
    with db.session_scope(engine, write=True) as session:
        return create_wave(session, ADMIN, plan_id, WaveInput(name, start, end)).id


def _wave_measurements(engine: Engine, wave_id: int) -> dict[str, Measurement]:
    with db.session_scope(engine) as session:
        rows = session.exec(
            select(Measurement, Indicator.code)
            .join(Indicator, Indicator.id == Measurement.indicator_id)
            .where(Measurement.wave_id == wave_id)
        ).all()
    return {code: m for m, code in rows}


def _snapshot(engine: Engine, wave_id: int) -> tuple:
    """What a refused operation must leave as it was: the wave, its respondents
    and its measurements."""
    with db.session_scope(engine) as session:
        wave = session.get(SurveyWave, wave_id)
        wave_fields = (wave.name, wave.fieldwork_start, wave.fieldwork_end, wave.sample_size)
        responses = session.execute(
            sa.select(SurveyResponse.respondent, SurveyResponse.weight, SurveyResponse.answers)
            .where(SurveyResponse.wave_id == wave_id)
            .order_by(SurveyResponse.respondent)
        ).all()
    measurements = sorted(
        (code, m.date, m.source, m.value, m.sample_size)
        for code, m in _wave_measurements(engine, wave_id).items()
    )
    return wave_fields, [tuple(r) for r in responses], measurements


def _refused(engine: Engine, call, *expected: str, error=ValidationError):
    """Run ``call(session)`` as a page does; it must raise and leave every table as it was."""
    before = count_rows(engine)
    with pytest.raises(error) as info, db.session_scope(engine, write=True) as session:
        call(session)
    assert count_rows(engine) == before
    text = str(info.value)
    for fragment in expected:
        assert fragment in text, (fragment, text)
    return info.value


def _typed(engine: Engine, indicator_id: int, when: date, source: str, value: float = 50.0) -> None:
    with db.session_scope(engine, write=True) as session:
        save_measurements(
            session,
            ADMIN,
            indicator_id,
            [MeasurementEdit(date=when, value=value, source=source)],
            today=date.today(),
        )


def _wave_id(engine: Engine, plan_id: int, name: str) -> int:
    with db.session_scope(engine) as session:
        return next(w.id for w in list_waves(session, plan_id) if w.name == name)


# ==========================================================================
# 2. Importing responses and computing survey indicators
# ==========================================================================


def test_import_computes_weighted_shares_checked_by_hand(engine: Engine, small: Small) -> None:
    # The Wilson numbers of the comment, recomputed from the formula.
    low, high = _wilson(4 / 6, 36 / 8)
    assert (low * 100, high * 100) == pytest.approx((26.0929, 91.8896), abs=TOL)

    outcome = _import(engine, small.wave_id, _hand_table())
    assert outcome.applied is True
    assert outcome.respondents == 5
    assert outcome.replaced == 0
    assert outcome.weight_column == "Poids"
    assert outcome.effective_size == pytest.approx(4.5)
    assert outcome.warnings == []
    results = {r.code: r for r in outcome.results}
    assert set(results) == {"S1", "S2", "S3"}  # A1 is not a survey indicator
    for code, (value, n, n_eff, ci_low, ci_high) in HAND.items():
        r = results[code]
        assert r.indicator_id == small.ids[code]
        assert r.value == pytest.approx(value, abs=TOL), code
        assert r.n == n, code
        assert r.effective_size == pytest.approx(n_eff, abs=TOL), code
        assert (r.ci_low, r.ci_high) == pytest.approx((ci_low, ci_high), abs=TOL), code


def test_measurements_are_stored_linked_to_the_wave(engine: Engine, small: Small) -> None:
    _import(engine, small.wave_id, _hand_table())
    stored = _wave_measurements(engine, small.wave_id)
    assert set(stored) == {"S1", "S2", "S3"}
    for code, (value, n, n_eff, ci_low, ci_high) in HAND.items():
        m = stored[code]
        assert m.indicator_id == small.ids[code]
        assert m.wave_id == small.wave_id
        assert m.date == END  # fieldwork end
        assert m.source == WAVE_NAME
        assert m.value == pytest.approx(value, abs=TOL)
        assert m.sample_size == n
        assert m.effective_size == pytest.approx(n_eff, abs=0.01)
        assert m.ci_low == pytest.approx(ci_low, abs=TOL)
        assert m.ci_high == pytest.approx(ci_high, abs=TOL)
    with db.session_scope(engine) as session:
        assert not session.exec(
            select(Measurement).where(Measurement.indicator_id == small.ids["A1"])
        ).all()
        wave = session.get(SurveyWave, small.wave_id)
        assert wave.sample_size == 5
        assert wave.weight_column == "Poids"
        assert wave.columns == COLUMNS
        assert wave.imported_at is not None
        (summary,) = list_waves(session, small.plan_id)
        stored = session.execute(
            sa.select(SurveyResponse.respondent, SurveyResponse.weight, SurveyResponse.answers)
            .where(SurveyResponse.wave_id == small.wave_id)
            .order_by(SurveyResponse.respondent)
        ).all()
    assert summary.respondents == 5
    assert summary.effective_size == pytest.approx(4.5)
    assert summary.weight_column == "Poids"
    assert summary.columns == tuple(COLUMNS)
    assert [(r, w) for r, w, _ in stored] == list(
        zip([f"R{n}" for n in range(1, 6)], HAND_WEIGHTS, strict=True)
    )
    # Answers kept as written; blank answers are not stored.
    assert stored[1][2]["Difficultés"] == "oui,  SOUVENT"
    assert "Démarche" not in stored[4][2]


def test_stored_responses_reload_as_imported(engine: Engine, small: Small) -> None:
    _import(engine, small.wave_id, _hand_table())
    with db.session_scope(engine) as session:
        r = load_responses(session, small.wave_id)
    assert r.columns == COLUMNS
    assert r.weighted is True
    assert r.weights.tolist() == HAND_WEIGHTS
    assert r.raw["Démarche"].tolist() == ["Oui", "Non", "Oui", "oui", ""]
    assert r.frame["Fréquence internet"].tolist() == [
        "tous les jours",
        "tous les jours",
        "jamais",
        "tres souvent",
        "tres souvent",
    ]


def test_unweighted_import(engine: Engine, small: Small) -> None:
    outcome = _import(engine, small.wave_id, _table(HAND_ROWS))
    # S1 without weights: R1, R2, R5 of 5 = 60 %, n_eff = 5;
    # Wilson(0.6, 5) = [23.0724 %, 88.2379 %].
    s1 = next(r for r in outcome.results if r.code == "S1")
    assert s1.value == pytest.approx(60.0)
    assert s1.effective_size == pytest.approx(5.0)
    assert (s1.ci_low, s1.ci_high) == pytest.approx((23.0724, 88.2379), abs=TOL)
    assert outcome.weight_column is None
    with db.session_scope(engine) as session:
        weights = session.exec(
            select(SurveyResponse.weight).where(SurveyResponse.wave_id == small.wave_id)
        ).all()
        assert list_waves(session, small.plan_id)[0].effective_size == pytest.approx(5.0)
        assert session.get(SurveyWave, small.wave_id).weight_column is None
    assert weights == [1.0] * 5


def test_sub_population_filter_and_blank_answers(engine: Engine, small: Small) -> None:
    with db.session_scope(engine) as session:
        s2 = session.get(Indicator, small.ids["S2"])
    r = responses_from_table(COLUMNS, HAND_ROWS, HAND_WEIGHTS)
    result, problems = surveys.compute_indicator(s2, r)
    assert problems == []
    assert (result.value, result.n) == (pytest.approx(50.0), 3)
    # R3 ("Jamais") answered Oui but is outside the sub-population: bringing it
    # into the filter adds weight 1 of success -> 3/5 = 60 %, n = 4.
    rows = [list(x) for x in HAND_ROWS]
    rows[2][1] = "Tous les jours"
    result, _ = surveys.compute_indicator(s2, responses_from_table(COLUMNS, rows, HAND_WEIGHTS))
    assert (result.value, result.n) == (pytest.approx(60.0), 4)
    # R5 is in the sub-population but left "Démarche" blank: answering Non adds
    # weight 1 to the denominator only -> 2/5 = 40 %, n = 4.
    rows = [list(x) for x in HAND_ROWS]
    rows[4][2] = "Non"
    result, _ = surveys.compute_indicator(s2, responses_from_table(COLUMNS, rows, HAND_WEIGHTS))
    assert (result.value, result.n) == (pytest.approx(40.0), 4)


@pytest.mark.parametrize(
    "answer",
    ["Oui, souvent", "OUI, SOUVENT", "  oui,   souvent ", "Oui,\tsouvent", "oùi, sôuvent"],
)
def test_answers_match_without_case_accents_or_spaces(
    engine: Engine, small: Small, answer: str
) -> None:
    with db.session_scope(engine) as session:
        s3 = session.get(Indicator, small.ids["S3"])
    # One success among four unweighted respondents: 25 %.
    rows = [
        ["Oui", "Jamais", "", answer, "Cahors"],
        ["Oui", "Jamais", "", "Non", "Cahors"],
        ["Oui", "Jamais", "", "Non", "Cahors"],
        ["Oui", "Jamais", "", "Non, jamais", "Cahors"],
    ]
    result, problems = surveys.compute_indicator(s3, responses_from_table(COLUMNS, rows, None))
    assert problems == []
    assert result.value == pytest.approx(25.0)
    assert result.n == 4


def test_a_counted_answer_that_never_appears_is_a_warning(engine: Engine, small: Small) -> None:
    rows = [list(x) for x in HAND_ROWS]
    rows[2][3] = "Non"  # nobody answers "Oui, parfois" any more
    rows[3][1] = "Tous les jours"  # nobody answers "Très souvent" any more
    rows[4][1] = "Jamais"
    outcome = _import(engine, small.wave_id, _table(rows, HAND_WEIGHTS))
    assert outcome.applied is True
    assert any(
        "Indicateur S3 : la réponse « Oui, parfois » n'apparaît jamais dans la colonne "
        "« Difficultés »" in w
        for w in outcome.warnings
    ), outcome.warnings
    assert any(
        "Indicateur S2 : la réponse « Tres souvent » n'apparaît jamais" in w
        for w in outcome.warnings
    ), outcome.warnings
    assert not any("S1" in w for w in outcome.warnings)
    # Still computed and stored: S3 = R2 (weight 2) of 1+2+1+1 = 40 %.
    stored = _wave_measurements(engine, small.wave_id)
    assert stored["S3"].value == pytest.approx(40.0)


def test_dry_run_writes_nothing(engine: Engine, small: Small) -> None:
    before = count_rows(engine)
    outcome = _import(engine, small.wave_id, _hand_table(), dry_run=True)
    assert count_rows(engine) == before
    assert outcome.applied is False
    assert outcome.respondents == 5
    assert {r.code: round(r.value, 4) for r in outcome.results} == {
        code: v[0] for code, v in HAND.items()
    }
    with db.session_scope(engine) as session:
        wave = session.get(SurveyWave, small.wave_id)
        assert wave.sample_size is None and wave.columns is None and wave.imported_at is None
    # On a wave that already has respondents: they would be replaced, nothing moves.
    _import(engine, small.wave_id, _hand_table())
    kept = _snapshot(engine, small.wave_id)
    before = count_rows(engine)
    outcome = _import(engine, small.wave_id, _table(HAND_ROWS[:3], prefix="X"), dry_run=True)
    assert outcome.replaced == 5
    assert outcome.respondents == 3
    assert count_rows(engine) == before
    assert _snapshot(engine, small.wave_id) == kept


def test_second_import_replaces_the_respondents(engine: Engine, small: Small) -> None:
    _import(engine, small.wave_id, _hand_table())
    first_ids = {m.id for m in _wave_measurements(engine, small.wave_id).values()}
    # Three new respondents, unweighted: S1 = Oui, Non, Non -> 1/3 = 33.3333 %.
    rows = [HAND_ROWS[0], HAND_ROWS[2], HAND_ROWS[3]]
    outcome = _import(engine, small.wave_id, _table(rows, prefix="N"))
    assert outcome.replaced == 5
    assert outcome.respondents == 3
    with db.session_scope(engine) as session:
        respondents = session.exec(
            select(SurveyResponse.respondent).where(SurveyResponse.wave_id == small.wave_id)
        ).all()
        wave = session.get(SurveyWave, small.wave_id)
        assert wave.sample_size == 3 and wave.weight_column is None
    assert sorted(respondents) == ["N1", "N2", "N3"]
    stored = _wave_measurements(engine, small.wave_id)
    assert {m.id for m in stored.values()} == first_ids  # updated, not duplicated
    assert stored["S1"].value == pytest.approx(100 / 3, abs=TOL)
    assert stored["S1"].sample_size == 3
    assert stored["S1"].effective_size == pytest.approx(3.0)


def test_progress_fractions_increase_to_one(engine: Engine, small: Small, monkeypatch) -> None:
    monkeypatch.setattr(surveys, "INSERT_CHUNK", 2)  # 5 respondents: 3 insert batches
    calls: list[tuple[float, str]] = []
    _import(engine, small.wave_id, _hand_table(), progress=lambda f, t: calls.append((f, t)))
    fractions = [f for f, _ in calls]
    assert len(fractions) >= 3 + 2  # at least one call per batch, plus start and end
    assert all(a < b for a, b in zip(fractions, fractions[1:], strict=False)), fractions
    assert fractions[0] > 0 and fractions[-1] == 1.0
    assert all(text for _, text in calls)
    with db.session_scope(engine) as session:
        assert surveys.respondent_count(session, small.wave_id) == 5


# ==========================================================================
# 3. Refusals leave the database unchanged
# ==========================================================================


def _without(column: str) -> SurveyTable:
    keep = [i for i, c in enumerate(COLUMNS) if c != column]
    rows = [[r[i] for i in keep] for r in HAND_ROWS]
    return _table(rows, HAND_WEIGHTS, [COLUMNS[i] for i in keep])


IMPORT_REFUSALS = {
    "question absente": (
        lambda: _without("Difficultés"),
        "Indicateur S3 : la colonne « Difficultés » est absente du fichier des réponses",
    ),
    "question de filtre absente": (
        lambda: _without("Fréquence internet"),
        "Indicateur S2 : la colonne de filtre « Fréquence internet » est absente",
    ),
    "sous-population vide": (
        lambda: _table([[r[0], "Jamais", *r[2:]] for r in HAND_ROWS], HAND_WEIGHTS),
        "Indicateur S2 : la sous-population est vide",
    ),
    "question sans réponse": (
        lambda: _table([[*r[:3], "", r[4]] for r in HAND_ROWS], HAND_WEIGHTS),
        "Indicateur S3 : aucun répondant concerné n'a répondu à « Difficultés »",
    ),
    "aucun répondant": (
        lambda: _table([], []),
        "Le fichier ne contient aucune réponse",
    ),
}


@pytest.mark.parametrize("case", list(IMPORT_REFUSALS))
@pytest.mark.parametrize("already_imported", [False, True])
def test_refused_import_writes_nothing(
    engine: Engine,
    small: Small,
    case: str,
    already_imported: bool,
) -> None:
    build, expected = IMPORT_REFUSALS[case]
    if already_imported:
        _import(engine, small.wave_id, _hand_table())
    kept = _snapshot(engine, small.wave_id)
    _refused(engine, lambda s: import_responses(s, ADMIN, small.wave_id, build()), expected)
    # A dry run refuses the same way.
    _refused(
        engine,
        lambda s: import_responses(s, ADMIN, small.wave_id, build(), dry_run=True),
        expected,
    )
    assert _snapshot(engine, small.wave_id) == kept


@pytest.mark.parametrize("role", ["viewer", "pilot"])
def test_viewers_and_pilots_cannot_touch_waves(engine: Engine, small: Small, role: str) -> None:
    _import(engine, small.wave_id, _hand_table())
    actor = add_user(engine, role)
    kept = _snapshot(engine, small.wave_id)
    text = "Seuls la mission numérique (éditeurs) et les administrateurs peuvent modifier le plan."
    operations = [
        lambda s: create_wave(s, actor, small.plan_id, WaveInput("Autre vague", None, END)),
        lambda s: import_responses(s, actor, small.wave_id, _hand_table()),
        lambda s: import_responses(s, actor, small.wave_id, _hand_table(), dry_run=True),
        lambda s: update_wave(s, actor, small.wave_id, WaveInput("Renommée", START, END)),
        lambda s: recompute_wave(s, actor, small.wave_id),
        lambda s: delete_wave(s, actor, small.wave_id),
    ]
    for operation in operations:
        _refused(engine, operation, text, error=PermissionDenied)
    assert _snapshot(engine, small.wave_id) == kept


def test_an_editor_may_create_and_import(engine: Engine, small: Small) -> None:
    editor = add_user(engine, "editor")
    with db.session_scope(engine, write=True) as session:
        wave = create_wave(session, editor, small.plan_id, WaveInput("Vague éditeur", None, END))
    outcome = _import(engine, wave.id, _hand_table(), actor=editor)
    assert outcome.applied is True


WAVE_REFUSALS = {
    "sans fin de terrain": (
        WaveInput("Nouvelle vague", START, None),
        "La date de fin du terrain est obligatoire",
    ),
    "nom déjà pris (casse)": (
        WaveInput("ENQUÊTE TEST 2023", None, END),
        f"Une vague s'appelle déjà « {WAVE_NAME} » dans ce plan.",
    ),
    "nom déjà pris (espaces)": (
        WaveInput("  enquête   Test 2023 ", None, END),
        f"Une vague s'appelle déjà « {WAVE_NAME} » dans ce plan.",
    ),
    "fin avant début": (
        WaveInput("Nouvelle vague", date(2023, 6, 30), date(2023, 6, 29)),
        "Le terrain ne peut pas finir avant d'avoir commencé.",
    ),
    "fin dans le futur": (
        WaveInput("Nouvelle vague", None, date.today() + timedelta(days=1)),
        "La fin du terrain ne peut pas être dans le futur.",
    ),
    "sans nom": (
        WaveInput("   ", None, END),
        "Le nom de la vague est obligatoire",
    ),
}


@pytest.mark.parametrize("case", list(WAVE_REFUSALS))
def test_refused_wave_creation_writes_nothing(engine: Engine, small: Small, case: str) -> None:
    data, expected = WAVE_REFUSALS[case]
    error = _refused(engine, lambda s: create_wave(s, ADMIN, small.plan_id, data), expected)
    assert error.message == "La vague n'est pas créée."


@pytest.mark.parametrize(
    "case", ["sans fin de terrain", "fin avant début", "fin dans le futur", "sans nom"]
)
def test_refused_wave_update_writes_nothing(engine: Engine, small: Small, case: str) -> None:
    _import(engine, small.wave_id, _hand_table())
    data, expected = WAVE_REFUSALS[case]
    kept = _snapshot(engine, small.wave_id)
    error = _refused(engine, lambda s: update_wave(s, ADMIN, small.wave_id, data), expected)
    assert error.message == "La vague n'est pas modifiée."
    assert _snapshot(engine, small.wave_id) == kept


def test_a_wave_form_opened_before_someone_saved_the_wave_cannot_overwrite_it(
    engine: Engine, small: Small
) -> None:
    """A and B open the same wave's form; B corrects the method; A's rename is refused
    in French, naming the field B changed, and nothing is written."""
    other = _new_wave(engine, small.plan_id, "Enquête test 2021", date(2021, 6, 30))
    shown = WaveInput("Enquête test 2021", None, date(2021, 6, 30))
    with db.session_scope(engine, write=True) as session:
        update_wave(
            session,
            ADMIN,
            other,
            WaveInput("Enquête test 2021", None, date(2021, 6, 30), method="Téléphone"),
            expected=shown,
        )
    kept = _snapshot(engine, other)
    error = _refused(
        engine,
        lambda s: update_wave(
            s, ADMIN, other, WaveInput("Enquête 2021", None, date(2021, 6, 30)), expected=shown
        ),
        "modifiée par quelqu'un d'autre",
        "Modifié entre-temps : Méthode.",
        error=ConflictError,
    )
    assert error.details == ["Modifié entre-temps : Méthode."]
    assert _snapshot(engine, other) == kept


def test_renaming_onto_another_wave_is_refused(engine: Engine, small: Small) -> None:
    other = _new_wave(engine, small.plan_id, "Enquête test 2021", date(2021, 6, 30))
    kept = _snapshot(engine, other)
    _refused(
        engine,
        lambda s: update_wave(s, ADMIN, other, WaveInput("enquête TEST 2023", None, END)),
        f"Une vague s'appelle déjà « {WAVE_NAME} » dans ce plan.",
    )
    assert _snapshot(engine, other) == kept
    # Its own name in another case is not a clash.
    with db.session_scope(engine, write=True) as session:
        wave = update_wave(session, ADMIN, other, WaveInput("ENQUÊTE TEST 2021", None, END))
        assert wave.name == "ENQUÊTE TEST 2021"


def test_typed_measurement_on_the_wave_date_and_name_refuses_the_import(
    engine: Engine,
    small: Small,
) -> None:
    _typed(engine, small.ids["S1"], END, WAVE_NAME)
    # On the same date from another source, or from the same source on another
    # date: no clash.
    _typed(engine, small.ids["S2"], END, "Saisie manuelle")
    _typed(engine, small.ids["S3"], date(2023, 7, 1), WAVE_NAME)
    kept = _snapshot(engine, small.wave_id)
    error = _refused(engine, lambda s: import_responses(s, ADMIN, small.wave_id, _hand_table()))
    assert error.message == "Les mesures de la vague ne peuvent pas être enregistrées."
    assert error.details == [
        f"Indicateur S1 : une mesure saisie existe déjà le 30/06/2023 avec la source "
        f"« {WAVE_NAME} » ; supprimez-la ou renommez la vague."
    ]
    assert _snapshot(engine, small.wave_id) == kept
    # Another wave on the same date is not concerned.
    other = _new_wave(engine, small.plan_id, "Autre vague", END)
    assert _import(engine, other, _hand_table()).applied is True


def test_dry_run_reports_the_typed_measurement_clash(engine: Engine, small: Small) -> None:
    _typed(engine, small.ids["S1"], END, WAVE_NAME)
    with pytest.raises(ValidationError), db.session_scope(engine) as session:
        import_responses(session, ADMIN, small.wave_id, _hand_table(), dry_run=True)


def test_typed_measurement_refuses_a_rename_onto_it(engine: Engine, small: Small) -> None:
    _import(engine, small.wave_id, _hand_table())
    new_end, new_name = date(2023, 9, 30), "Enquête test 2023 (redressée)"
    _typed(engine, small.ids["S3"], new_end, new_name)
    kept = _snapshot(engine, small.wave_id)
    _refused(
        engine,
        lambda s: update_wave(s, ADMIN, small.wave_id, WaveInput(new_name, START, new_end)),
        f"Indicateur S3 : une mesure saisie existe déjà le 30/09/2023 avec la source "
        f"« {new_name} »",
    )
    assert _snapshot(engine, small.wave_id) == kept


# ==========================================================================
# 4. Recomputation, renaming and deleting a wave
# ==========================================================================


def test_recompute_after_a_direct_definition_change(engine: Engine, small: Small) -> None:
    _import(engine, small.wave_id, _hand_table())
    with db.session_scope(engine, write=True) as session:
        session.get(Indicator, small.ids["S1"]).survey_values = ["Non"]
    assert _wave_measurements(engine, small.wave_id)["S1"].value == pytest.approx(66.6667)
    with db.session_scope(engine, write=True) as session:
        results = recompute_wave(session, ADMIN, small.wave_id)
    assert {r.code for r in results} == {"S1", "S2", "S3"}
    # S1 now counts "Non": R3 + R4 = 2 of 6 = 33.3333 %; the interval mirrors the
    # one of 4/6: [100 - 91.8896, 100 - 26.0929] = [8.1104 %, 73.9071 %].
    m = _wave_measurements(engine, small.wave_id)["S1"]
    assert m.value == pytest.approx(100 / 3, abs=TOL)
    assert (m.ci_low, m.ci_high) == pytest.approx((8.1104, 73.9071), abs=TOL)
    assert m.sample_size == 5
    assert m.date == END and m.source == WAVE_NAME
    # The other indicators did not move.
    assert _wave_measurements(engine, small.wave_id)["S3"].value == pytest.approx(60.0)


def test_update_indicator_recomputes_the_wave(engine: Engine, small: Small) -> None:
    _import(engine, small.wave_id, _hand_table())
    with db.session_scope(engine, write=True) as session:
        version = session.get(Indicator, small.ids["S3"]).version
        update_indicator(
            session, ADMIN, small.ids["S3"], version, {"survey_values": ["Oui, souvent"]}
        )
    # S3 counts only "Oui, souvent": R2 (weight 2) of 5 = 40 %.
    assert _wave_measurements(engine, small.wave_id)["S3"].value == pytest.approx(40.0)
    with db.session_scope(engine, write=True) as session:
        recompute_wave(session, ADMIN, small.wave_id)
    assert _wave_measurements(engine, small.wave_id)["S3"].value == pytest.approx(40.0)


def test_recompute_drops_the_measurement_of_a_former_survey_indicator(
    engine: Engine,
    small: Small,
) -> None:
    _import(engine, small.wave_id, _hand_table())
    with db.session_scope(engine, write=True) as session:
        ind = session.get(Indicator, small.ids["S2"])
        ind.survey_question = ind.survey_values = None
        ind.survey_filter_question = ind.survey_filter_values = None
        ind.source_type = SourceType.ADMINISTRATIVE
    with db.session_scope(engine, write=True) as session:
        recompute_wave(session, ADMIN, small.wave_id)
    assert set(_wave_measurements(engine, small.wave_id)) == {"S1", "S3"}


def test_recompute_needs_respondents(engine: Engine, small: Small) -> None:
    _refused(
        engine,
        lambda s: recompute_wave(s, ADMIN, small.wave_id),
        f"La vague « {WAVE_NAME} » n'a aucun répondant",
    )


def test_update_wave_moves_the_measurements(engine: Engine, small: Small) -> None:
    _import(engine, small.wave_id, _hand_table())
    before = _wave_measurements(engine, small.wave_id)
    new_name, new_end = "Enquête test 2023 (redressée)", date(2023, 7, 15)
    with db.session_scope(engine, write=True) as session:
        update_wave(session, ADMIN, small.wave_id, WaveInput(new_name, START, new_end))
    after = _wave_measurements(engine, small.wave_id)
    assert set(after) == set(before) == {"S1", "S2", "S3"}
    for code, m in after.items():
        assert m.id == before[code].id
        assert (m.date, m.source) == (new_end, new_name)
        assert m.value == before[code].value
        assert m.wave_id == small.wave_id
    with db.session_scope(engine) as session:
        wave = session.get(SurveyWave, small.wave_id)
        assert (wave.name, wave.fieldwork_end) == (new_name, new_end)
        assert surveys.respondent_count(session, small.wave_id) == 5


def test_delete_wave_keeps_typed_measurements(engine: Engine, small: Small) -> None:
    _import(engine, small.wave_id, _hand_table())
    other = _new_wave(engine, small.plan_id, "Enquête test 2021", date(2021, 6, 30))
    _import(engine, other, _table(HAND_ROWS, prefix="O"))
    _typed(engine, small.ids["S1"], END, "Saisie manuelle", 42.0)
    _typed(engine, small.ids["S1"], date(2022, 1, 15), WAVE_NAME, 41.0)
    with db.session_scope(engine) as session:
        typed_before = sorted(
            (m.indicator_id, m.date, m.source, m.value)
            for m in session.exec(select(Measurement).where(Measurement.wave_id.is_(None)))
        )
    assert len(typed_before) == 2
    other_kept = _snapshot(engine, other)
    with db.session_scope(engine, write=True) as session:
        delete_wave(session, ADMIN, small.wave_id)
    with db.session_scope(engine) as session:
        assert session.get(SurveyWave, small.wave_id) is None
        assert surveys.respondent_count(session, small.wave_id) == 0
        typed_after = sorted(
            (m.indicator_id, m.date, m.source, m.value)
            for m in session.exec(select(Measurement).where(Measurement.wave_id.is_(None)))
        )
        assert [w.name for w in list_waves(session, small.plan_id)] == ["Enquête test 2021"]
    assert _wave_measurements(engine, small.wave_id) == {}
    assert typed_after == typed_before
    assert _snapshot(engine, other) == other_kept


def test_delete_example_wave(engine: Engine, example_plan: Plan) -> None:
    first = _wave_id(engine, example_plan.id, WAVE_2012)
    second = _wave_id(engine, example_plan.id, WAVE_2024)
    with db.session_scope(engine) as session:
        typed = session.exec(
            select(sa.func.count()).select_from(Measurement).where(Measurement.wave_id.is_(None))
        ).one()
        responses = surveys.respondent_count(session, first)
    assert typed > 0 and responses == 512
    before = count_rows(engine)
    kept = _snapshot(engine, second)
    with db.session_scope(engine, write=True) as session:
        delete_wave(session, ADMIN, first)
    after = count_rows(engine)
    assert after["survey_response"] == before["survey_response"] - 512
    assert after["measurement"] == before["measurement"] - 5
    assert after["survey_wave"] == before["survey_wave"] - 1
    with db.session_scope(engine) as session:
        assert (
            session.exec(
                select(sa.func.count())
                .select_from(Measurement)
                .where(Measurement.wave_id.is_(None))
            ).one()
            == typed
        )
    assert _snapshot(engine, second) == kept


# ==========================================================================
# 5. Breakdowns (example 2024 wave)
# ==========================================================================


def _example_frame(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame["w"] = frame["Poids"].str.replace(",", ".").astype(float)
    return frame


@pytest.mark.parametrize("code", ["I1", "I3", "I4"])
def test_breakdown_by_commune_on_the_example(engine: Engine, example_plan: Plan, code: str) -> None:
    wave_id = _wave_id(engine, example_plan.id, WAVE_2024)
    with db.session_scope(engine) as session:
        ind = session.exec(
            select(Indicator).where(Indicator.plan_id == example_plan.id, Indicator.code == code)
        ).one()
        r = load_responses(session, wave_id)
    groups = breakdown(ind, r, "Commune")
    measured = _wave_measurements(engine, wave_id)[code]

    # Independently, with pandas on the shipped file (its answers are clean).
    df = _example_frame(EXAMPLE_SURVEYS / "enquete_2024.csv")
    counted = df[ind.survey_question] != ""
    if ind.survey_filter_question:
        counted &= df[ind.survey_filter_question].isin(ind.survey_filter_values)
    df = df[counted]
    df = df.assign(success=df[ind.survey_question].isin(ind.survey_values))
    expected = {
        commune: (len(g), 100 * g.loc[g.success, "w"].sum() / g["w"].sum(), g["w"])
        for commune, g in df.groupby("Commune")
    }

    assert [g.label for g in groups] == sorted(expected)
    assert sum(g.n for g in groups) == len(df) == measured.sample_size
    for g in groups:
        n, value, weights = expected[g.label]
        assert g.n == n, g.label
        assert g.value == pytest.approx(value, abs=1e-9), g.label
        n_eff = weights.sum() ** 2 / (weights**2).sum()
        assert g.effective_size == pytest.approx(n_eff), g.label
        low, high = _wilson(value / 100, n_eff)
        assert (g.ci_low, g.ci_high) == pytest.approx((low * 100, high * 100), abs=1e-9)
        assert g.reliable is (n >= RELIABLE_MIN), g.label
    assert any(g.reliable for g in groups) and any(not g.reliable for g in groups)
    # Cahors has most respondents; a small commune is flagged.
    assert next(g for g in groups if g.label == "Cahors").reliable is True
    assert next(g for g in groups if g.label == "Cieurac").reliable is False


def test_breakdown_groups_spellings_and_leaves_blanks_out(engine: Engine, small: Small) -> None:
    with db.session_scope(engine) as session:
        s1 = session.get(Indicator, small.ids["S1"])
    rows = [list(x) for x in HAND_ROWS]
    rows[1][4] = "CAHORS "  # same commune as R1 and R5
    rows[4][4] = ""  # R5 gives no commune
    r = responses_from_table(COLUMNS, rows, HAND_WEIGHTS)
    groups = breakdown(s1, r, "commune")  # the column is found in any case
    # Cahors: R1 (1, Oui) + R2 (2, Oui) -> 100 %, n = 2; Pradines: R3, R4 -> 0 %, n = 2.
    assert [(g.label, g.n, round(g.value, 6)) for g in groups] == [
        ("Cahors", 2, 100.0),
        ("Pradines", 2, 0.0),
    ]
    assert not any(g.reliable for g in groups)
    with pytest.raises(ValidationError, match="La colonne « Âge » n'existe pas"):
        breakdown(s1, r, "Âge")


def test_breakdown_columns(engine: Engine, example_plan: Plan, small: Small) -> None:
    wave_id = _wave_id(engine, example_plan.id, WAVE_2024)
    with db.session_scope(engine) as session:
        inds = {
            i.code: i
            for i in session.exec(select(Indicator).where(Indicator.plan_id == example_plan.id))
        }
        r = load_responses(session, wave_id)
    profile = ["Commune", "Tranche d'âge", "Sexe"]
    i1 = breakdown_columns(r, inds["I1"])
    assert "Smartphone" not in i1
    assert set(profile) <= set(i1)
    i3 = breakdown_columns(r, inds["I3"])
    assert "Démarche en ligne" not in i3
    assert "Fréquence internet" in i3  # the filter question may be used
    assert "Smartphone" in breakdown_columns(r)  # no indicator: every usable column

    # Hand-made: 61 respondents; an identifier-like column (61 values), a column with
    # exactly 60 values (the limit), a constant column and an empty one.
    n = 61
    columns = ["Numéro de questionnaire", "Code", "Pays", "Remarque", "Smartphone"]
    rows = [
        [f"Q-{i:03d}", f"C{min(i, 59)}", "France", "", "Oui" if i % 2 else "Non"] for i in range(n)
    ]
    usable = breakdown_columns(responses_from_table(columns, rows, None))
    assert usable == ["Code", "Smartphone"]
    with db.session_scope(engine) as session:
        s1 = session.get(Indicator, small.ids["S1"])
    assert breakdown_columns(responses_from_table(columns, rows, None), s1) == ["Code"]


# ==========================================================================
# 6. Comparing waves
# ==========================================================================


def _check_comparison(c, first: Measurement, second: Measurement) -> None:
    assert c.first.id == first.id and c.second.id == second.id
    assert c.difference == pytest.approx(second.value - first.value, abs=1e-9)
    expected = stats.two_proportion_test(
        first.value / 100, first.effective_size, second.value / 100, second.effective_size
    )
    assert c.p_value == pytest.approx(expected.p_value, rel=1e-9, abs=1e-300)
    assert c.significant is (c.p_value < 0.05)


def test_compare_example_waves(engine: Engine, example_plan: Plan) -> None:
    first = _wave_id(engine, example_plan.id, WAVE_2012)
    second = _wave_id(engine, example_plan.id, WAVE_2024)
    a, b = _wave_measurements(engine, first), _wave_measurements(engine, second)
    with db.session_scope(engine) as session:
        forward = compare_waves(session, first, second)
        backward = compare_waves(session, second, first)
    assert [c.code for c in forward] == ["I1", "I2", "I3", "I4", "I5"]
    for c in forward:
        _check_comparison(c, a[c.code], b[c.code])
        # Every indicator moved the right way between 2012 and 2024, clearly.
        assert c.significant is True
        assert c.favourable is True, c.code
    i4 = next(c for c in forward if c.code == "I4")
    assert i4.direction == "baisse"
    assert i4.difference < 0  # I4 falls: lower is better
    i1 = next(c for c in forward if c.code == "I1")
    assert i1.direction == "hausse" and i1.difference > 0
    for c in backward:
        _check_comparison(c, b[c.code], a[c.code])
        assert c.favourable is False, c.code


def _rows(smartphone: list[str], difficulties: list[str], demarche: list[str]) -> list[list[str]]:
    return [
        [s, "Tous les jours", d, diff, "Cahors"]
        for s, diff, d in zip(smartphone, difficulties, demarche, strict=True)
    ]


def test_compare_hand_made_waves_not_significant(engine: Engine, small: Small) -> None:
    # Five unweighted respondents each. S1: 3/5 = 60 % then 2/5 = 40 %.
    # By hand: pooled = 0.5, se = √(0.25 · (1/5 + 1/5)) = √0.1 = 0.316228,
    # z = -0.2 / 0.316228 = -0.632456, p = erfc(0.632456 / √2) = 0.527089 ≥ 0.05.
    first = _new_wave(engine, small.plan_id, "Vague A", date(2021, 6, 30))
    yes3, yes2 = ["Oui"] * 3 + ["Non"] * 2, ["Oui"] * 2 + ["Non"] * 3
    hard3 = ["Oui, parfois"] * 3 + ["Non"] * 2
    hard2 = ["Oui, parfois"] * 2 + ["Non"] * 3
    _import(engine, first, _table(_rows(yes3, hard3, yes3)))
    _import(engine, small.wave_id, _table(_rows(yes2, hard2, yes2)))
    with db.session_scope(engine) as session:
        comparisons = {c.code: c for c in compare_waves(session, first, small.wave_id)}
    assert set(comparisons) == {"S1", "S2", "S3"}  # A1 is never measured by a wave
    s1 = comparisons["S1"]
    assert s1.difference == pytest.approx(-20.0)
    assert s1.p_value == pytest.approx(0.527089, abs=1e-6)
    assert s1.significant is False
    assert s1.favourable is None
    # S3 (lower is better) falls by as much: still not significant, so not favourable.
    s3 = comparisons["S3"]
    assert s3.direction == "baisse"
    assert s3.p_value == pytest.approx(0.527089, abs=1e-6)
    assert (s3.significant, s3.favourable) == (False, None)


def test_compare_hand_made_waves_significant(engine: Engine, small: Small) -> None:
    # 40 unweighted respondents each. S1 (higher is better): 30/40 -> 10/40;
    # S3 (lower is better): 30/40 -> 10/40; S2: 20/40 both times.
    # By hand for S1 and S3: pooled 0.5, se = √(0.25 · 2/40) = 0.111803,
    # |z| = 0.5 / 0.111803 = 4.472136, p = erfc(4.472136 / √2) = 7.7442e-06.
    many, few = ["Oui"] * 30 + ["Non"] * 10, ["Oui"] * 10 + ["Non"] * 30
    half = ["Oui"] * 20 + ["Non"] * 20
    many_diff = ["Oui, souvent"] * 30 + ["Non"] * 10
    few_diff = ["Oui, souvent"] * 10 + ["Non"] * 30
    first = _new_wave(engine, small.plan_id, "Vague A", date(2021, 6, 30))
    _import(engine, first, _table(_rows(many, many_diff, half)))
    _import(engine, small.wave_id, _table(_rows(few, few_diff, half)))
    with db.session_scope(engine) as session:
        comparisons = {c.code: c for c in compare_waves(session, first, small.wave_id)}
    s1, s2, s3 = comparisons["S1"], comparisons["S2"], comparisons["S3"]
    for c in (s1, s3):
        assert c.difference == pytest.approx(-50.0)
        assert c.p_value == pytest.approx(7.7442e-06, rel=1e-4)
        assert c.significant is True
    assert s1.favourable is False  # higher is better, it fell
    assert s3.favourable is True  # lower is better, it fell
    assert (s2.difference, s2.p_value, s2.significant, s2.favourable) == (0.0, 1.0, False, None)


def test_compare_refuses_the_same_wave_or_two_plans(engine: Engine, small: Small) -> None:
    _import(engine, small.wave_id, _hand_table())
    with db.session_scope(engine, write=True) as session:
        plan = create_plan(session, _plan_data("Autre plan"), actor=ADMIN)
        other = create_wave(session, ADMIN, plan.id, WaveInput(WAVE_NAME, None, END)).id
    _import(engine, other, _hand_table())
    with db.session_scope(engine) as session:
        with pytest.raises(ValidationError, match="Choisissez deux vagues différentes"):
            compare_waves(session, small.wave_id, small.wave_id)
        with pytest.raises(ValidationError, match="n'appartiennent pas au même plan"):
            compare_waves(session, small.wave_id, other)


def test_hand_numbers_of_the_module_docstring() -> None:
    """The hand-computed constants used above, checked once against the formulas."""
    w = np.array(HAND_WEIGHTS)
    assert w.sum() ** 2 / (w**2).sum() == pytest.approx(4.5)
    for p, n, (_, _, _, low, high) in (
        (4 / 6, 4.5, HAND["S1"]),
        (0.5, 16 / 6, HAND["S2"]),
        (0.6, 25 / 7, HAND["S3"]),
    ):
        assert tuple(100 * x for x in _wilson(p, n)) == pytest.approx((low, high), abs=TOL)
    assert math.erfc(0.2 / math.sqrt(0.1) / math.sqrt(2)) == pytest.approx(0.527089, abs=1e-6)
