"""The plan in a real browser, and a restart of the app that keeps everything."""

from __future__ import annotations

from tests.browser.conftest import log_in, save_artifact, start_app, stop_app, wait_for_script
from tests.conftest import TEST_PASSWORD


def _check_plan_page(page) -> None:  # noqa: ANN001
    wait_for_script(page)
    page.get_by_text("Plan d'exemple : données illustratives").wait_for(timeout=30_000)
    # The actions table (a canvas grid) and the plotly chart are drawn.
    page.locator("[data-testid='stDataFrame'] >> visible=true").first.wait_for(timeout=30_000)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    assert page.locator(".js-plotly-plot .main-svg .bars path").count() >= 6  # 3 x 2 bars
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_role("heading", name="Les actions", exact=True).count() == 1
    # The key figures and the stakes are drawn as HTML blocks: five figures, two stake cards
    # (each named for screen readers) and their objectives as lists.
    assert page.get_by_test_id("tkMetric").count() == 5
    assert page.get_by_role("region", name="Enjeu E1").count() == 1
    assert page.locator("section.tk-stake").count() == 2
    objectives = page.locator("section.tk-stake li").all_inner_texts()
    assert len({text.split(" :")[0] for text in objectives}) == 3  # one may serve two stakes


def _open_plan_page(page, url: str) -> None:  # noqa: ANN001
    """After logging in (the app opens on « Vue d'ensemble »), go to « Le plan »."""
    page.get_by_role("heading", name="Vue d'ensemble").wait_for(timeout=60_000)
    page.goto(f"{url}/plan")


def test_plan_shows_the_example_table_and_chart(seeded_server, page):
    log_in(page, seeded_server.url, "elu", TEST_PASSWORD)
    _open_plan_page(page, seeded_server.url)
    _check_plan_page(page)
    grid = page.locator("[data-testid='stDataFrame'] >> visible=true").last.locator("[role='grid']")
    assert grid.get_attribute("aria-rowcount") == "20"  # header + 19 actions
    save_artifact(page, "plan.png")
    assert page.dialogs == []


def test_stopping_and_restarting_the_app_keeps_data_and_login(seeded_server, page, tmp_path):
    log_in(page, seeded_server.url, "elu", TEST_PASSWORD)
    _open_plan_page(page, seeded_server.url)
    _check_plan_page(page)
    stop_app(seeded_server.process)
    restarted = start_app(tmp_path, seeded_server.database_url)
    try:
        # Cookies ignore the port: the session cookie set by the first server is sent
        # to the restarted one, whose database still holds the session.
        page.goto(f"{restarted.url}/plan")
        _check_plan_page(page)
        assert page.get_by_text("Connecté : elu").count() == 1
    finally:
        stop_app(restarted.process)
