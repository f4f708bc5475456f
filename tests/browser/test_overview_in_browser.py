"""The landing page « Vue d'ensemble » in a real browser, on a tablet (1024 x 768)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.browser.conftest import log_in, save_artifact, wait_for_script
from tests.conftest import TEST_PASSWORD

TABLET = {"width": 1024, "height": 768}
# Each chart tab and the title of the chart it shows (the first tab is open on arrival).
CHARTS = {
    "Enjeux et actions": "Le plan : enjeux, objectifs et actions",
    "Avancement par objectif": "Avancement par objectif",
    "Calendrier": "Calendrier des actions",
    "Budget par année": "Budget par année",
    "Indicateurs": "Indicateurs : mesures et trajectoire vers la cible",
}
CHART_DATA = "Voir les données du graphique"

# Streamlit has finished the run and removed what the previous run drew and this one did not.
SETTLED = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    return app !== null
        && app.getAttribute('data-test-script-state') === 'notRunning'
        && document.querySelector("[data-stale='true']") === null;
}"""

# Every plotly chart of the page has drawn its svg.
CHARTS_DRAWN = """(count) => {
    const charts = [...document.querySelectorAll('.js-plotly-plot')];
    return charts.length === count && charts.every((c) => c.querySelector('svg.main-svg'));
}"""

# Each chart, its title and what comes right after its element in the page.
CHARTS_AND_NEXT = """() => [...document.querySelectorAll('.js-plotly-plot')].map((chart) => {
    const element = chart.closest("[data-testid='stElementContainer']");
    const next = element ? element.nextElementSibling : null;
    const expander = next ? next.querySelector("[data-testid='stExpander']") : null;
    return {
        title: (chart.querySelector('.gtitle') || {}).textContent || '',
        expander: expander ? expander.querySelector('summary').textContent : null,
    };
})"""

# Streamlit 1.67 scrolls the page inside [data-testid='stMain'] (no more section.main).
SCROLLER = "[data-testid='stMain']"

SCROLL_TO_BOTTOM = f"""() => {{
    const main = document.querySelector("{SCROLLER}");
    main.scrollTop = main.scrollHeight;
    window.scrollTo(0, document.documentElement.scrollHeight);
    return main.scrollTop;
}}"""

WIDTHS = f"""() => {{
    const main = document.querySelector("{SCROLLER}");
    const doc = document.documentElement;
    return {{
        mainScroll: main.scrollWidth, mainClient: main.clientWidth,
        docScroll: doc.scrollWidth, bodyScroll: document.body.scrollWidth,
        inner: window.innerWidth, mainHeight: main.scrollHeight,
    }};
}}"""


@pytest.fixture
def tablet(browser) -> Iterator[object]:  # noqa: ANN001
    context = browser.new_context(viewport=TABLET, locale="fr-FR")
    page = context.new_page()
    dialogs: list[str] = []
    context.on("page", lambda p: p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss())))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def _settle(page) -> None:  # noqa: ANN001
    wait_for_script(page)
    page.wait_for_function(SETTLED, timeout=60_000)


def _wait_for_charts(page) -> None:  # noqa: ANN001
    """Wait until the chart of the open tab is drawn (plotly loads and draws after the run)."""
    _settle(page)
    page.wait_for_function(CHARTS_DRAWN, arg=1, timeout=60_000, polling=250)


def _open_overview(page, url: str) -> None:  # noqa: ANN001
    log_in(page, url, "elu", TEST_PASSWORD)
    page.get_by_role("heading", name="Vue d'ensemble").wait_for(timeout=30_000)
    _wait_for_charts(page)
    # The landing page after login is « Vue d'ensemble », current in the navigation.
    current = page.locator("[data-testid='stSidebarNavLink'][aria-current='page']")
    assert current.inner_text().strip().endswith("Vue d'ensemble")
    assert page.get_by_text("Connecté : elu").count() == 1


def _arbitrated(page) -> tuple[str, str]:  # noqa: ANN001
    """The label and value of the « Arbitré 20xx » key figure (components.metric_cards)."""
    metric = page.get_by_test_id("tkMetric").filter(
        has=page.get_by_test_id("tkMetricLabel").filter(has_text=re.compile(r"^Arbitré \d{4}"))
    )
    label = metric.get_by_test_id("tkMetricLabel").inner_text().strip()
    return label, metric.get_by_test_id("tkMetricValue").inner_text().strip()


def _no_errors(page) -> None:  # noqa: ANN001
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.dialogs == []


def _open_tab(page, label: str) -> None:  # noqa: ANN001
    page.get_by_role("tab", name=label).click()
    _wait_for_charts(page)
    page.wait_for_function(
        "(title) => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
        ".some((t) => t.textContent.startsWith(title))",
        arg=CHARTS[label],
        timeout=60_000,
    )


def _check_charts_and_their_tables(page) -> list[dict]:  # noqa: ANN001
    """Each tab, opened in turn, shows its chart alone, followed by the expander holding
    its figures, with nothing wider than the page; returns the widths seen per tab."""
    from playwright.sync_api import expect

    expect(page.get_by_role("tab")).to_have_count(len(CHARTS))
    widths = []
    for label, title in CHARTS.items():
        if label != "Enjeux et actions":
            _open_tab(page, label)
        expect(page.get_by_role("tab", name=label)).to_have_attribute("aria-selected", "true")
        charts = page.evaluate(CHARTS_AND_NEXT)
        assert len(charts) == 1, charts
        assert charts[0]["title"].startswith(title), charts
        assert charts[0]["expander"] is not None and CHART_DATA in charts[0]["expander"], charts
        widths.append(_check_no_horizontal_scroll(page))
        if label == "Calendrier":
            assert "graphique=calendrier" in page.url
            save_artifact(page, "overview-calendrier.png")
        if label == "Avancement par objectif":
            progress = page.get_by_test_id("stExpander").filter(has_text=CHART_DATA)
            progress.locator("summary").click()
            _settle(page)
            # Sent once opened: an HTML table (read as such by screen readers).
            table = progress.locator("table")
            table.wait_for(state="visible", timeout=30_000)
            expect(table.locator("thead th").first).to_contain_text("Objectif")
            expect(table.locator("tbody tr")).to_have_count(3)  # the 3 objectives
            expect(table.locator("tbody tr").first).to_contain_text("1 : ")
            progress.locator("summary").click()
            _settle(page)
            expect(table).to_be_hidden()
    _open_tab(page, "Enjeux et actions")  # back to the first, for the screenshot
    assert "graphique=" not in page.url
    return widths


def _check_no_horizontal_scroll(page) -> dict:  # noqa: ANN001
    """Nothing wider than the page at 1024 px, once everything down to the bottom is laid out."""
    page.evaluate(SCROLL_TO_BOTTOM)
    page.wait_for_timeout(300)
    _wait_for_charts(page)
    widths = page.evaluate(WIDTHS)
    assert widths["mainScroll"] <= widths["mainClient"] + 1, widths
    assert widths["docScroll"] <= widths["inner"], widths
    assert widths["bodyScroll"] <= widths["inner"], widths
    return widths


def _save_whole_page(page, height: int) -> None:  # noqa: ANN001
    """A screenshot of the whole page for human review: Streamlit scrolls inside its own
    container, so the viewport is made as tall as the page (same width) for the shot."""
    page.evaluate(f'() => {{ document.querySelector("{SCROLLER}").scrollTop = 0; }}')
    page.set_viewport_size({"width": TABLET["width"], "height": height + 40})
    page.wait_for_timeout(500)
    _wait_for_charts(page)
    tall = page.evaluate(WIDTHS)
    assert tall["mainScroll"] <= tall["mainClient"] + 1, tall
    save_artifact(page, "overview.png")
    page.set_viewport_size(TABLET)
    _settle(page)


def _open_filters(page) -> None:  # noqa: ANN001
    """Unfold « Modifier les filtres » (its widgets are sent once it is open)."""
    page.get_by_test_id("stExpander").filter(has_text="Modifier les filtres").locator(
        "summary"
    ).click()
    page.get_by_role("combobox", name="Collectivité").wait_for(timeout=30_000)
    _settle(page)


def _filters_applied(page) -> str:  # noqa: ANN001
    return page.get_by_text(re.compile(r"^Filtres appliqués :")).inner_text().strip()


def _choose_collectivity(page, name: str) -> None:  # noqa: ANN001
    collectivity = page.get_by_role("combobox", name="Collectivité")
    collectivity.click()
    page.keyboard.type(name)  # the list filters as one types
    page.get_by_role("option").filter(has_text=name).wait_for(timeout=30_000)
    page.keyboard.press("Enter")


def test_overview_on_a_tablet_charts_layout_and_filters_in_the_address(seeded_server, tablet):
    from playwright.sync_api import expect

    page = tablet
    _open_overview(page, seeded_server.url)
    # The key figures, side by side: the four of the plan, then one per status.
    expect(page.get_by_test_id("tkMetric")).to_have_count(10)
    expect(page.get_by_test_id("tkMetricLabel").first).to_have_text("Avancement moyen")
    _check_charts_and_their_tables(page)
    widths = _check_no_horizontal_scroll(page)
    _save_whole_page(page, widths["mainHeight"])
    _no_errors(page)

    # Collectivité « Ville de Cahors »: the address and the figures follow.
    label, before = _arbitrated(page)
    assert "collectivite=" not in page.url
    assert "les deux collectivités" in _filters_applied(page)
    assert page.get_by_role("combobox", name="Collectivité").count() == 0  # folded
    _open_filters(page)
    expect(page.get_by_role("combobox", name="Collectivité")).to_have_value("Les deux")
    _choose_collectivity(page, "Ville de Cahors")
    page.wait_for_url(re.compile(r"[?&]collectivite=Ville"), timeout=30_000)
    _wait_for_charts(page)
    expect(page.get_by_role("combobox", name="Collectivité")).to_have_value("Ville de Cahors")
    assert "collectivite=Ville" in page.url
    page.wait_for_function(
        """([label, before]) => [...document.querySelectorAll("[data-testid='tkMetric']")]
            .some((m) => m.innerText.trim().startsWith(label)
                && m.querySelector("[data-testid='tkMetricValue']").innerText.trim() !== before)""",
        arg=[label, before],
        timeout=30_000,
    )
    after_label, after = _arbitrated(page)
    assert after_label == label
    assert "Ville de Cahors" in _filters_applied(page)
    assert after != before, (before, after)
    _no_errors(page)

    # The link, opened in a new tab, shows the same filter and figures.
    link = page.url
    other = page.context.new_page()
    other.dialogs = page.dialogs
    other.goto(link)
    other.get_by_role("heading", name="Vue d'ensemble").wait_for(timeout=30_000)
    _wait_for_charts(other)
    assert "Ville de Cahors" in _filters_applied(other)  # the filters folded, yet applied
    _open_filters(other)
    expect(other.get_by_role("combobox", name="Collectivité")).to_have_value("Ville de Cahors")
    assert "collectivite=Ville" in other.url
    assert _arbitrated(other) == (label, after)
    _no_errors(other)
    other.close()

    # An action to watch: its code is a link to its page (the session survives the load).
    link = page.locator("table a[href^='action?action=']").first
    code = link.inner_text().strip()
    link.click()
    page.get_by_role("heading", name="Fiche action").wait_for(timeout=30_000)
    _settle(page)
    assert "action=" in page.url
    expect(page.get_by_text(re.compile(rf"^{re.escape(code)} — ")).first).to_be_visible()
    assert page.get_by_text("Connecté : elu").count() == 1
    _no_errors(page)
