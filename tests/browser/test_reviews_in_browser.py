"""A steering committee in a real browser: open it, record a decision, close it, get its report."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from tests.browser.conftest import log_in, save_artifact, wait_for_script
from tests.conftest import TEST_PASSWORD
from tracker import db
from tracker.models import Decision, Review, ReviewStatus

TITLE = "Comité de pilotage test"
DECISION = "Relancer le prestataire"
OWNER = "Mission numérique"
PLAN_NAME = "Stratégie digitale commune"
CLOSED = "Comité clos : l'instantané du plan est enregistré."
PREPARE = "Préparer le rapport du comité (PDF et .xlsx)"
PDF_BUTTON = "Télécharger le rapport (PDF)"
XLSX_BUTTON = "Télécharger les chiffres (.xlsx)"
REPORT_TIMEOUT_MS = 90_000

# Streamlit has finished the run and removed what the previous run drew and this one did not.
SETTLED = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    return app !== null
        && app.getAttribute('data-test-script-state') === 'notRunning'
        && document.querySelector("[data-stale='true']") === null;
}"""


def _settle(page, timeout_ms: int = 60_000) -> None:  # noqa: ANN001
    wait_for_script(page, timeout_ms)
    page.wait_for_function(SETTLED, timeout=timeout_ms)


def _review(server, title: str) -> tuple[Review, list[Decision]]:  # noqa: ANN001
    engine = db.make_engine(server.database_url)
    with db.session_scope(engine) as session:
        review = session.exec(select(Review).where(Review.title == title)).one()
        decisions = list(session.exec(select(Decision).where(Decision.review_id == review.id)))
        session.expunge(review)
        for decision in decisions:
            session.expunge(decision)
    engine.dispose()
    return review, decisions


def _section(page, label: str):  # noqa: ANN001, ANN202
    """The section titled ``label``: the innermost one (a section holding it has the
    title inside too)."""
    summary = page.locator("summary", has_text=label)
    return page.get_by_test_id("stExpander").filter(has=summary).last


def _open(page, label: str):  # noqa: ANN001, ANN202
    """Unfold a section if it is folded, and wait for the rerun that sends its content
    (``components.lazy_section``: it stays open across the reruns that follow)."""
    from playwright.sync_api import expect

    section = _section(page, label)
    details = section.locator("details").first
    if details.get_attribute("open") is None:
        section.locator("summary").click()
        page.wait_for_timeout(100)  # the rerun starts after the click's message is sent
        _settle(page)
    expect(details).to_have_attribute("open", "")
    return section


def _flat(text: str) -> str:
    """The text with every run of whitespace (line breaks of the PDF included) as one space."""
    return " ".join(text.split())


def test_review_opened_decided_closed_and_reported(seeded_server, page, tmp_path):
    from openpyxl import load_workbook
    from playwright.sync_api import expect
    from pypdf import PdfReader

    log_in(page, seeded_server.url, "admin", TEST_PASSWORD)
    page.get_by_text("Connecté :").wait_for(timeout=30_000)
    page.goto(f"{seeded_server.url}/comites")
    _settle(page)
    page.get_by_role("heading", name="Comités de pilotage").wait_for(timeout=30_000)

    # A new review, on today's date (the field's default).
    new_review = _open(page, "Nouveau comité")
    form = new_review.locator("[data-testid='stForm']").filter(has_text="Ouvrir le comité")
    form.get_by_label("Titre").fill(TITLE)
    form.get_by_label("Participants").fill("Le président\nLa mission numérique")
    form.get_by_label("Ordre du jour").fill("1. Avancement\n2. Décisions")
    form.get_by_role("button", name="Ouvrir le comité").click()
    page.get_by_text("Comité ouvert.", exact=True).wait_for(timeout=30_000)
    _settle(page)
    review, decisions = _review(seeded_server, TITLE)
    assert (review.date, review.status, decisions) == (date.today(), ReviewStatus.OPEN, [])
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()

    # A decision for it: its form is sent once its section (in the committee's forms
    # section) is unfolded.
    expect(page.get_by_role("button", name="Enregistrer la décision")).to_have_count(0)
    _open(page, "Gérer ce comité")
    expect(page.get_by_role("button", name="Enregistrer la décision")).to_have_count(0)
    form = _open(page, "Nouvelle décision").get_by_test_id("stForm")
    form.get_by_label("Décision", exact=True).fill(DECISION)
    form.get_by_label("Responsable", exact=True).fill(OWNER)
    form.get_by_role("button", name="Enregistrer la décision").click()
    page.get_by_text("Décision enregistrée.", exact=True).wait_for(timeout=30_000)
    _settle(page)
    _, decisions = _review(seeded_server, TITLE)
    assert [(d.text, d.owner) for d in decisions] == [(DECISION, OWNER)]

    # Closed: the checkbox first enables the button.
    closing = _open(page, "Clore le comité")
    close_button = closing.get_by_role("button", name="Clore le comité")
    expect(close_button).to_be_disabled()
    closing.get_by_text("Je confirme la clôture").click()
    # That rerun drops the « Décision enregistrée. » message (so it has run once the message
    # is gone); the section stays open (its state is kept by the server).
    expect(page.get_by_text("Décision enregistrée.", exact=True)).to_have_count(0)
    _settle(page)
    expect(closing.locator("details").first).to_have_attribute("open", "")
    expect(closing.get_by_role("checkbox", name="Je confirme la clôture")).to_be_checked()
    expect(close_button).to_be_enabled()
    close_button.click()
    page.get_by_text(CLOSED, exact=True).wait_for(timeout=30_000)
    _settle(page)
    review, _ = _review(seeded_server, TITLE)
    assert review.status == ReviewStatus.CLOSED
    assert review.snapshot is not None
    expect(page.get_by_text("Comité clos le ")).to_be_visible()
    expect(page.get_by_role("button", name="Enregistrer la décision")).to_have_count(0)

    # The report: built on demand (charts drawn by kaleido), then downloaded.
    page.get_by_role("button", name=PREPARE).click()
    pdf_button = page.get_by_role("button", name=PDF_BUTTON)
    pdf_button.wait_for(timeout=REPORT_TIMEOUT_MS)
    _settle(page, REPORT_TIMEOUT_MS)
    assert page.locator("[data-testid='stException']").count() == 0

    with page.expect_download(timeout=30_000) as pdf_download:
        pdf_button.click()
    pdf_path = tmp_path / "rapport.pdf"
    pdf_download.value.save_as(pdf_path)
    assert pdf_download.value.suggested_filename.endswith(".pdf")
    assert pdf_path.read_bytes().startswith(b"%PDF")
    _settle(page)

    with page.expect_download(timeout=30_000) as xlsx_download:
        page.get_by_role("button", name=XLSX_BUTTON).click()
    xlsx_path = tmp_path / "chiffres.xlsx"
    xlsx_download.value.save_as(xlsx_path)
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    _settle(page)

    reader = PdfReader(pdf_path)
    text = _flat("\n".join(p.extract_text() or "" for p in reader.pages))
    for expected in (
        PLAN_NAME,
        TITLE,
        "Objectif 1",
        "Objectif 2",
        "Objectif 3",
        DECISION,
        "Page 1 /",
    ):
        assert expected in text, (expected, text[:3000])

    workbook = load_workbook(xlsx_path, read_only=True)
    try:
        assert "Synthèse" in workbook.sheetnames, workbook.sheetnames
    finally:
        workbook.close()

    save_artifact(page, "reviews.png")
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.dialogs == []
