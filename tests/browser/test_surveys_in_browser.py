"""A survey wave in a real browser: create it, import its responses, see the new measurement."""

from __future__ import annotations

import time
from datetime import date

from sqlmodel import select

from tests.browser.conftest import log_in, save_artifact, wait_for_script
from tests.conftest import TEST_PASSWORD
from tracker import db
from tracker.models import Indicator, SurveyWave

MEASURES = "Mesures locales"
WAVE = "Enquête test 2025"
HEADER = (
    "Identifiant;Commune;Tranche d'âge;Sexe;Smartphone;Fréquence internet;Démarche en ligne;"
    "Difficultés démarches;Suit les collectivités;Poids"
)
COMMUNES = ["Cahors", "Mercuès", "Le Montat", "Pradines"]
AGES = ["15-29 ans", "30-44 ans", "45-59 ans", "60-74 ans", "75 ans et plus"]
FREQUENCIES = ["Tous les jours ou presque", "Au moins une fois par semaine", "Plus rarement"]
DIFFICULTIES = ["Oui, souvent", "Oui, parfois", "Non", "Ne sait pas"]

# The measurement trace of the page's plotly chart: its dates (yyyy-mm-dd) and values.
# Plotly may keep the figure's arrays as base64 specs in `data`: the computed `_fullData`
# (typed arrays decoded) is read instead.
READ_MEASURES = """(prefix) => {
    const chart = document.querySelector('.js-plotly-plot');
    if (!chart || !chart._fullData) return null;
    const trace = chart._fullData.find((t) => (t.name || '').startsWith(prefix));
    if (!trace) return null;
    return {
        name: trace.name,
        x: Array.from(trace.x, (d) => String(d).slice(0, 10)),
        y: Array.from(trace.y, Number),
    };
}"""

# Streamlit has finished the run and removed what the previous run drew and this one did not
# (until then, e.g. the previous wave's file uploader is still on the page, marked stale).
SETTLED = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    return app !== null
        && app.getAttribute('data-test-script-state') === 'notRunning'
        && document.querySelector("[data-stale='true']") === null;
}"""


def _settle(page) -> None:  # noqa: ANN001
    wait_for_script(page)
    page.wait_for_function(SETTLED, timeout=60_000)


def _indicator_id(server, code: str) -> int:  # noqa: ANN001
    engine = db.make_engine(server.database_url)
    with db.session_scope(engine) as session:
        indicator_id = session.exec(select(Indicator.id).where(Indicator.code == code)).one()
    engine.dispose()
    return indicator_id


def _wave(server, name: str) -> SurveyWave:  # noqa: ANN001
    engine = db.make_engine(server.database_url)
    with db.session_scope(engine) as session:
        wave = session.exec(select(SurveyWave).where(SurveyWave.name == name)).one()
        session.expunge(wave)
    engine.dispose()
    return wave


def _survey_csv(path, respondents: int, with_smartphone: int):  # noqa: ANN001, ANN202
    """A respondents file like the example's, all weights 1."""
    lines = [HEADER]
    for n in range(respondents):
        lines.append(
            ";".join(
                [
                    f"T2025-{n + 1:04d}",
                    COMMUNES[n % len(COMMUNES)],
                    AGES[n % len(AGES)],
                    "Femme" if n % 2 else "Homme",
                    "Oui" if n < with_smartphone else "Non",
                    FREQUENCIES[n % len(FREQUENCIES)],
                    "Oui" if n % 3 else "Non",
                    DIFFICULTIES[n % len(DIFFICULTIES)],
                    "Oui" if n % 5 == 0 else "Non",
                    "1",
                ]
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _measures(page, url: str) -> dict:  # noqa: ANN001
    """Open an indicator page and read its measurement trace once plotly has drawn it."""
    page.goto(url)
    _settle(page)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    deadline = time.monotonic() + 30
    previous = None
    while time.monotonic() < deadline:
        current = page.evaluate(READ_MEASURES, MEASURES)
        # The same reading twice, half a second apart: the chart is settled.
        if current is not None and current == previous:
            return current
        previous = current
        page.wait_for_timeout(500)
    raise AssertionError(f"Pas de série « {MEASURES} » dans le graphique : {previous}")


def _type_date(form, label: str, day: str, month: str, year: str) -> None:  # noqa: ANN001
    """Type a date in a date field, segment by segment (each one moves to the next when full).

    The field hands its date to the form when the focus leaves it.
    """
    from playwright.sync_api import expect

    form.get_by_role("spinbutton", name=f"day, {label}").click()
    form.page.keyboard.type(day + month + year, delay=50)
    for segment, value in (("day", day), ("month", month), ("year", year)):
        expect(form.get_by_role("spinbutton", name=f"{segment}, {label}")).to_have_text(value)


def test_new_wave_import_adds_a_measurement_to_the_indicator_chart(seeded_server, page, tmp_path):
    from playwright.sync_api import expect

    indicator_url = f"{seeded_server.url}/indicateur?indicator={_indicator_id(seeded_server, 'I1')}"
    log_in(page, seeded_server.url, "admin", TEST_PASSWORD)
    page.get_by_text("Connecté :").wait_for(timeout=30_000)

    before = _measures(page, indicator_url)
    assert [d[:4] for d in before["x"]] == ["2012", "2018", "2024"], before

    # A new wave, its fieldwork ending on 30 June 2025 (the date of its measurements).
    page.goto(f"{seeded_server.url}/enquetes")
    _settle(page)
    page.get_by_role("heading", name="Enquêtes").wait_for(timeout=30_000)
    page.get_by_text("Nouvelle vague", exact=True).click()
    form = page.locator("[data-testid='stForm']").filter(has_text="Créer la vague")
    form.get_by_label("Nom de la vague").fill(WAVE)
    _type_date(form, "Début du terrain", "02", "06", "2025")
    _type_date(form, "Fin du terrain (date des mesures)", "30", "06", "2025")
    form.get_by_label("Méthode").fill("Questionnaire en ligne (test)")
    form.get_by_label("Population").fill("Habitants de test")
    form.get_by_role("button", name="Créer la vague").click()
    page.get_by_text("Vague créée.").wait_for(timeout=30_000)
    _settle(page)
    wave = _wave(seeded_server, WAVE)
    assert (wave.fieldwork_start, wave.fieldwork_end) == (date(2025, 6, 2), date(2025, 6, 30))
    # The waves' table (one HTML table) lists it, as typed.
    waves = page.locator("table.tk-table").filter(has_text="Réponses importées le")
    expect(waves.locator("td").get_by_text(WAVE, exact=True)).to_have_count(1)
    # The new wave is the selected one, with its own (single) file uploader, in a section
    # opened on demand.
    expect(page.get_by_role("combobox", name="Vague", exact=True)).to_have_value(WAVE)
    expect(page.get_by_test_id("stFileUploader")).to_have_count(0)
    page.get_by_text("Importer les réponses", exact=True).click()
    _settle(page)
    uploaders = page.get_by_test_id("stFileUploader")
    expect(uploaders).to_have_count(1)

    # Its respondents: 40, of which 30 have a smartphone, so I1 = 75 %.
    csv_file = _survey_csv(tmp_path / "enquete_2025.csv", respondents=40, with_smartphone=30)
    uploaders.locator("input[type='file']").set_input_files(str(csv_file))
    page.get_by_text("Rien n'est encore enregistré").wait_for(timeout=30_000)
    _settle(page)
    page.get_by_text("Fichier lu : 40 répondants").wait_for(timeout=30_000)
    page.get_by_role("button", name="Importer les 40 répondants").click()
    page.get_by_text(f"40 répondants importés dans « {WAVE} »").wait_for(timeout=60_000)
    _settle(page)
    # The wave's indicators (one HTML table): I1 = 75 %.
    results = page.locator("table.tk-table").filter(has_text="Répondants comptés")
    expect(results.locator("tr").filter(has_text="I1").locator("td").nth(2)).to_have_text(
        "75,0\u00a0%"
    )
    assert page.locator("[data-testid='stException']").count() == 0

    after = _measures(page, indicator_url)
    assert len(after["x"]) == 4, after
    points = dict(zip(after["x"], after["y"], strict=True))
    assert "2025-06-30" in points, after
    assert abs(points["2025-06-30"] - 75) < 0.01, after
    for when, value in zip(before["x"], before["y"], strict=True):
        assert abs(points[when] - value) < 1e-9, (when, before, after)
    save_artifact(page, "surveys.png")
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.dialogs == []
