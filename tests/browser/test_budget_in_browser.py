"""The yearly arbitration in a real browser: request, arbitrate, close, refusal. The
single line form and the closing sit in sections inside the year's preparation section."""

from __future__ import annotations

from tests.browser.conftest import log_in, open_section, wait_for_script
from tests.conftest import TEST_PASSWORD


def _per_year_chart(page) -> str:  # noqa: ANN001
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for(timeout=30_000)
    return chart.locator(".main-svg").first.inner_html()


def _save_line(page, requested: str, arbitrated: str) -> None:  # noqa: ANN001
    form = page.locator("[data-testid='stForm']").filter(has_text="Enregistrer la ligne 2026")
    form.get_by_label("Demandé (€)").fill(requested)
    form.get_by_label("Arbitré (€)").fill(arbitrated)
    form.get_by_role("button", name="Enregistrer la ligne 2026").click()
    wait_for_script(page)


def test_request_arbitrate_close_and_refuse_a_later_change(seeded_server, page):
    log_in(page, seeded_server.url, "admin", TEST_PASSWORD)
    page.get_by_text("Connecté :").wait_for(timeout=30_000)
    page.goto(f"{seeded_server.url}/budget")
    wait_for_script(page)
    page.get_by_role("heading", name="Alertes").wait_for(timeout=30_000)
    before = _per_year_chart(page)

    # The year's figures at a glance, as key figures.
    assert page.get_by_test_id("tkMetricLabel").all_inner_texts()[:4] == [
        "Demandé",
        "Arbitré",
        "Réalisé",
        "Taux de réalisation",
    ]
    # The form is sent once its section is unfolded; it stays open after each save.
    assert page.locator("[data-testid='stForm']").count() == 0
    open_section(page, "Préparation budgétaire et arbitrage 2026")
    assert page.locator("[data-testid='stForm']").count() == 0
    open_section(page, "Saisir une ligne")
    # The form's first choices (1.1, Ville de Cahors, fonctionnement): a new 2026 line.
    _save_line(page, "150 000", "120 000,50 €")
    page.get_by_text("Ligne 1.1 2026 enregistrée.").wait_for(timeout=30_000)
    wait_for_script(page)
    # The per-year chart is redrawn with the new amounts (plotly draws after the run).
    page.wait_for_function(
        "(before) => { const chart = document.querySelector('.js-plotly-plot .main-svg');"
        " return chart !== null && chart.innerHTML !== before; }",
        arg=before,
        timeout=30_000,
    )
    after = _per_year_chart(page)
    assert after != before

    open_section(page, "Clôture de l'arbitrage")
    page.get_by_role("button", name="Clôturer l'arbitrage 2026").click()
    page.get_by_text("Arbitrage 2026 clôturé.").wait_for(timeout=30_000)
    page.get_by_text("sont figés").first.wait_for(timeout=30_000)

    _save_line(page, "", "1")
    page.get_by_text("L'arbitrage 2026 est clôturé").first.wait_for(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.dialogs == []
