"""The steering committee's report (tracker.io.report): the PDF's text read back
with pypdf (cover, headline figures, one page per objective, page numbers,
charts as images), a closed review's report frozen while the plan moves on,
the same content as a workbook, and ``python -m tracker report``.

The reports with charts start a headless Chromium: they are built once for the
module (on a copy of the example plan) and their generation time is printed.
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.conftest import add_user
from tracker import db, strings
from tracker.cli import main
from tracker.formats import format_date, format_eur, format_percent
from tracker.io import report as report_module
from tracker.io.report import SHEETS, ReportContent, report_content, report_pdf, report_xlsx
from tracker.models import Action, ActionStatus, Plan, User
from tracker.services import reviews
from tracker.services.actions import update_action

TODAY = date.today()
SPRING = TODAY - timedelta(days=90)
ON_TRACK = {"atteint", "en_bonne_voie"}


def text_pages(pdf: bytes) -> list[str]:
    """Each page's text, spaces normalised (French formats use no-break spaces)."""
    pages = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        text = page.extract_text().replace("\u00a0", " ").replace("\u202f", " ")
        pages.append("\n".join(line.strip() for line in text.splitlines()))
    return pages


def french(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def image_count(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def action_id(engine: Engine, code: str) -> tuple[int, int]:
    with db.session_scope(engine) as session:
        action = session.exec(select(Action).where(Action.code == code)).one()
        return action.id, action.version


def set_status(engine: Engine, editor: User, code: str, status: ActionStatus) -> None:
    aid, version = action_id(engine, code)
    with db.session_scope(engine, write=True) as session:
        update_action(session, editor, aid, expected_version=version, changes={"status": status})


def close_a_review(
    engine: Engine, editor: User, plan_id: int, when: date, title: str, **fields
) -> int:
    with db.session_scope(engine, write=True) as session:
        review = reviews.open_review(
            session, editor, plan_id, reviews.ReviewInput(when, title, **fields)
        )
        reviews.close_review(session, editor, review.id, when)
        return review.id


def build(engine: Engine, plan_id: int, review_id: int | None) -> ReportContent:
    with db.session_scope(engine) as session:
        return report_content(session, plan_id, review_id, TODAY)


# --------------------------------------------------------------------------
# The committee: two closed reviews of the example plan, built once
# --------------------------------------------------------------------------


@dataclass
class Committee:
    engine: Engine
    url: str
    plan_id: int
    spring: int
    autumn: int


@dataclass
class Built:
    content: ReportContent
    pdf: bytes
    pages: list[str]
    seconds: float


@pytest.fixture(scope="module")
def committee(
    tmp_path_factory: pytest.TempPathFactory, sqlite_example_template: tuple[Path, int]
) -> Iterator[Committee]:
    """Spring review closed 90 days ago (with a decision now overdue); then action
    1.5 blocked; the autumn review closed today with a decision on 1.5."""
    template, plan_id = sqlite_example_template
    path = tmp_path_factory.mktemp("report") / "tracker.db"
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    editor = add_user(engine, "editor")
    with db.session_scope(engine, write=True) as session:
        spring = reviews.open_review(
            session,
            editor,
            plan_id,
            reviews.ReviewInput(SPRING, "Comité de printemps", "M. le Maire", "1. Bilan"),
        )
        reviews.add_decision(
            session,
            editor,
            spring.id,
            reviews.DecisionInput(
                "Relancer le prestataire du site", owner="DSI", due_date=TODAY - timedelta(days=10)
            ),
        )
        reviews.close_review(session, editor, spring.id, SPRING)
        spring_id = spring.id
    set_status(engine, editor, "1.5", ActionStatus.BLOQUE)
    aid, _ = action_id(engine, "1.5")
    with db.session_scope(engine, write=True) as session:
        autumn = reviews.open_review(
            session,
            editor,
            plan_id,
            reviews.ReviewInput(
                TODAY, "Comité de pilotage d'automne", "Élus référents\nDGS", "Point d'étape"
            ),
        )
        reviews.add_decision(
            session,
            editor,
            autumn.id,
            reviews.DecisionInput(
                "Débloquer l'action 1.5",
                action_id=aid,
                owner="Mission numérique",
                due_date=TODAY + timedelta(days=30),
            ),
        )
        reviews.close_review(session, editor, autumn.id, TODAY)
        autumn_id = autumn.id
    yield Committee(engine, url, plan_id, spring_id, autumn_id)
    engine.dispose()


@pytest.fixture(scope="module")
def autumn_report(committee: Committee) -> Built:
    """The autumn review's PDF, charts included (timed)."""
    content = build(committee.engine, committee.plan_id, committee.autumn)
    started = time.perf_counter()
    pdf = report_pdf(content)
    seconds = time.perf_counter() - started
    pages = text_pages(pdf)
    print(f"\nRapport PDF du comité : {seconds:.1f} s, {len(pages)} pages, {len(pdf) // 1024} Ko")
    return Built(content, pdf, pages, seconds)


# --------------------------------------------------------------------------
# The PDF
# --------------------------------------------------------------------------


def test_cover_names_the_plan_the_meeting_and_says_the_data_are_illustrative(
    autumn_report: Built,
) -> None:
    cover = autumn_report.pages[0]
    assert "Stratégie digitale commune 2018-2026 (exemple illustratif)" in cover
    assert "Comité de pilotage d'automne" in cover
    assert f"Réunion du {french(format_date(TODAY))}" in cover
    assert strings.EXAMPLE_BANNER in cover
    assert "Élus référents\nDGS" in cover  # attendees, line breaks kept
    assert "comparées au comité « Comité de printemps »" in cover


def test_every_page_is_numbered_page_n_of_m(autumn_report: Built) -> None:
    pages = autumn_report.pages
    assert "Page 1 / " in pages[0]
    for n, text in enumerate(pages, start=1):
        assert f"Page {n} / {len(pages)}" in text


def test_one_page_per_objective_lists_its_own_actions(autumn_report: Built) -> None:
    snapshot = autumn_report.content.snapshot
    pages = autumn_report.pages
    found = {}
    for objective in snapshot["objectives"]:
        heading = f"Objectif {objective['code']} — "
        starting = [n for n, text in enumerate(pages) if text.startswith(heading)]
        assert len(starting) == 1, (objective["code"], starting)
        found[objective["code"]] = starting[0]
    assert len(set(found.values())) == len(snapshot["objectives"]) == 3
    for code, page in found.items():
        lines = pages[page].splitlines()
        own = [a["code"] for a in snapshot["actions"] if a["objective"] == code]
        others = [a["code"] for a in snapshot["actions"] if a["objective"] != code]
        assert own and all(c in lines for c in own), (code, own)
        assert not any(c in lines for c in others)
    # Each action's status and health are there in words, beside their symbols.
    blocked = next(a for a in snapshot["actions"] if a["code"] == "1.5")
    objective_1 = pages[found["1"]]
    assert blocked["status"] == ActionStatus.BLOQUE
    assert strings.status_label(ActionStatus.BLOQUE) in objective_1
    assert strings.health_label(blocked["health"]) in objective_1
    assert "▲ en retard" in objective_1  # 1.5's planned end is passed


def test_headline_figures_are_the_snapshots_in_french(autumn_report: Built) -> None:
    snapshot = autumn_report.content.snapshot
    year = min(max(TODAY.year, snapshot["plan"]["first_year"]), snapshot["plan"]["last_year"])
    budget = snapshot["budget"][str(year)]
    on_track = sum(1 for i in snapshot["indicators"] if i["status"] in ON_TRACK)
    text = autumn_report.pages[1]
    assert text.startswith("Chiffres clés")
    expected = [
        f"Avancement moyen\n{format_percent(snapshot['progress'])}\n"
        f"attendu {format_percent(snapshot['expected'])}",
        f"Arbitré {year}\n{format_eur(budget['arbitrated'])}\n"
        f"demandé {format_eur(budget['requested'])}",
        f"Réalisé {year}\n{format_eur(budget['spent'])}\n"
        f"exécution {format_percent(100 * budget['spent'] / budget['arbitrated'])}",
        f"Indicateurs en bonne voie\n{on_track} / {len(snapshot['indicators'])}",
    ]
    for figure in expected:
        assert french(figure) in text
    for status in ActionStatus:
        count = sum(1 for a in snapshot["actions"] if a["status"] == status)
        assert f"{strings.status_label(status)}\n{count}\n" in text


def test_changes_since_the_previous_review_budget_indicators_and_decisions(
    autumn_report: Built,
) -> None:
    text = "\n".join(autumn_report.pages)
    changes = next(p for p in autumn_report.pages if p.startswith("Depuis le comité précédent"))
    assert "Objectif 1 : " in changes
    assert "1.5 — Nouveaux services de la carte Grand Pass" in changes
    assert strings.status_label(ActionStatus.BLOQUE) in changes
    assert "Débloquer l'action 1.5" in changes  # opened at this review
    assert f"Budget de l'année {TODAY.year}" in text
    assert "Indicateurs en retard" in text
    decisions = text[text.index("Décisions à suivre") :]
    assert "Relancer le prestataire du site" in decisions
    assert "▲ en retard" in decisions  # its due date is passed
    assert "Débloquer l'action 1.5" in decisions and "Action 1.5" in decisions


def test_charts_are_images_rendered_in_seconds(autumn_report: Built) -> None:
    # progress, budget, timeline, indicators and the changes summary
    assert image_count(autumn_report.pdf) >= 5
    assert "Graphiques non disponibles" not in "\n".join(autumn_report.pages)
    assert autumn_report.seconds < 60  # a few seconds; generous on a busy machine


def test_a_closed_reviews_report_never_changes_when_the_plan_does(
    engine: Engine, example_plan: Plan
) -> None:
    editor = add_user(engine, "editor")
    review_id = close_a_review(engine, editor, example_plan.id, TODAY, "Comité de juin")
    before = report_pdf(build(engine, example_plan.id, review_id), with_charts=False)

    set_status(engine, editor, "1.1", ActionStatus.EN_PAUSE)

    after = report_pdf(build(engine, example_plan.id, review_id), with_charts=False)
    assert text_pages(after) == text_pages(before)
    assert after == before  # byte for byte
    now = text_pages(report_pdf(build(engine, example_plan.id, None), with_charts=False))
    paused = strings.status_label(ActionStatus.EN_PAUSE)
    objective_1 = next(p for p in now if p.startswith("Objectif 1 — "))
    assert paused in objective_1
    assert paused not in next(p for p in text_pages(before) if p.startswith("Objectif 1 — "))
    assert f"État du plan au {french(format_date(TODAY))}" in now[0]
    changes = next(p for p in now if p.startswith("Depuis le comité précédent"))
    assert "(comité « Comité de juin »)" in changes
    assert "1.1 — " in changes and paused in changes


def test_without_any_closed_review_there_is_nothing_to_compare(
    engine: Engine, example_plan: Plan
) -> None:
    pages = text_pages(report_pdf(build(engine, example_plan.id, None), with_charts=False))
    assert "Aucun comité clos auparavant" in pages[0]
    changes = next(p for p in pages if p.startswith("Depuis le comité précédent"))
    assert "pas encore de comparaison possible" in changes
    assert "Graphiques non disponibles : rapport demandé sans graphiques." in pages[1]


def test_without_dejavu_the_report_falls_back_to_helvetica_and_plain_symbols(
    engine: Engine, example_plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_module, "FONT_DIRS", ())
    report_module._fonts.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="fonts-dejavu-core"):
            pdf = report_pdf(build(engine, example_plan.id, None), with_charts=False)
    finally:
        report_module._fonts.cache_clear()
    text = "\n".join(text_pages(pdf))
    assert "Objectif 1 — " in text
    assert "✓" not in text and "v Dans les temps" in text


# --------------------------------------------------------------------------
# The workbook
# --------------------------------------------------------------------------


def test_workbook_has_the_reports_sheets_with_numbers_and_dates(committee: Committee) -> None:
    content = build(committee.engine, committee.plan_id, committee.autumn)
    snapshot = content.snapshot
    wb = load_workbook(io.BytesIO(report_xlsx(content)))
    assert wb.sheetnames == list(SHEETS)
    assert SHEETS == ("Synthèse", "Actions", "Changements", "Budget", "Indicateurs", "Décisions")

    summary = {row[0]: row[1] for row in wb["Synthèse"].iter_rows(min_row=2, values_only=True)}
    year = content.year
    assert summary["Plan"] == snapshot["plan"]["name"]
    assert summary["Comité"] == "Comité de pilotage d'automne"
    assert summary[f"Arbitré {year}"] == snapshot["budget"][str(year)]["arbitrated"] / 100
    assert summary["Date du comité"] == datetime(TODAY.year, TODAY.month, TODAY.day)
    assert summary[strings.EXAMPLE_BANNER]  # the notice comes first

    actions = list(wb["Actions"].iter_rows(values_only=True))
    header, rows = actions[0], actions[1:]
    assert header[:4] == ("Objectif", "Titre de l'objectif", "Code", "Action")
    assert len(rows) == len(snapshot["actions"]) == 19
    blocked = next(r for r in rows if r[2] == "1.5")
    assert blocked[0] == "1" and blocked[4] == strings.status_label(ActionStatus.BLOQUE)
    assert isinstance(blocked[header.index("Fin prévue")], datetime)

    budget = wb["Budget"]
    amounts = [c for c in budget["D"][1:] if c.value is not None]
    assert amounts and all(c.number_format.endswith('"€"') for c in amounts)
    total = next(
        r for r in budget.iter_rows(min_row=2, values_only=True) if r[:2] == (year, "Total")
    )
    assert total[2] == snapshot["budget"][str(year)]["requested"] / 100

    changes = [r for r in wb["Changements"].iter_rows(min_row=2, values_only=True)]
    assert ("Action", "1", "1.5 — Nouveaux services de la carte Grand Pass", "Statut") in [
        r[:4] for r in changes
    ]
    decisions = list(wb["Décisions"].iter_rows(min_row=2, values_only=True))
    texts = {d[2] for d in decisions}
    assert texts == {"Relancer le prestataire du site", "Débloquer l'action 1.5"}
    late = next(d for d in decisions if d[2] == "Relancer le prestataire du site")
    assert late[-1] == "Oui" and isinstance(late[6], datetime)
    assert wb["Indicateurs"].max_row == len(snapshot["indicators"]) + 1


# --------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------


def test_command_line_writes_the_pdf_and_the_workbook(
    committee: Committee, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", committee.url)
    pdf, xlsx = tmp_path / "comite.pdf", tmp_path / "comite.xlsx"

    code = main(["report", str(pdf), "--review", str(committee.spring), "--xlsx", str(xlsx)])

    out = capsys.readouterr().out
    assert code == 0, out
    assert f"écrit dans {pdf}" in out and "Comité de printemps" in out and " s)." in out
    assert f"Chiffres du rapport écrits dans {xlsx}." in out
    pages = text_pages(pdf.read_bytes())
    assert "Comité de printemps" in pages[0]
    assert "Aucun comité clos auparavant" in pages[0]  # the first one
    assert load_workbook(xlsx).sheetnames == list(SHEETS)


def test_command_line_refuses_an_unknown_review_in_french(
    committee: Committee, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", committee.url)
    pdf = tmp_path / "comite.pdf"

    assert main(["report", str(pdf), "--review", "999"]) == 2

    err = capsys.readouterr().err
    assert "Erreur : Le comité n°999 n'existe pas." in err
    assert f"n°{committee.spring} « Comité de printemps »" in err
    assert not pdf.exists()


def test_command_line_refuses_a_file_it_cannot_write(
    committee: Committee, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", committee.url)
    target = tmp_path / "absent" / "comite.pdf"

    assert main(["report", str(target)]) == 2

    assert "Impossible d'écrire" in capsys.readouterr().err
    assert not target.exists()
