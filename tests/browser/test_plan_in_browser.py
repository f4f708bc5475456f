"""The app in a real browser: first run on a new database, and a restart."""

from __future__ import annotations

from tests.browser.conftest import save_artifact, start_app, stop_app, wait_for_script


def _check_plan_page(page) -> None:  # noqa: ANN001
    wait_for_script(page)
    page.get_by_text("Plan d'exemple : données illustratives").wait_for(timeout=30_000)
    # The actions table (a canvas grid) and the plotly chart are drawn.
    page.locator("[data-testid='stDataFrame'] >> visible=true").first.wait_for(timeout=30_000)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    assert page.locator(".js-plotly-plot .main-svg .bars path").count() >= 6  # 3 x 2 bars
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_role("heading", name="Les actions").count() == 1


def test_first_run_shows_the_example_plan_table_and_chart(app_server, page):
    page.goto(app_server.url)
    _check_plan_page(page)
    # The table holds the 19 actions: Streamlit exposes its size to assistive tech.
    grid = page.locator("[data-testid='stDataFrame'] >> visible=true").last.locator("[role='grid']")
    assert grid.get_attribute("aria-rowcount") == "20"  # header + 19 actions
    save_artifact(page, "plan.png")
    assert page.dialogs == []


def test_stopping_and_restarting_the_app_keeps_the_data(app_server, page, tmp_path):
    page.goto(app_server.url)
    _check_plan_page(page)
    stop_app(app_server.process)
    restarted = start_app(tmp_path, app_server.database_url)
    try:
        page.goto(restarted.url)
        _check_plan_page(page)
        assert "Le plan d'exemple" not in restarted.log.read_text()
    finally:
        stop_app(restarted.process)
