"""Overview load time in a real browser, against a minimal page served the same way.

    python benchmarks/overview_browser.py [--scale smoke|full] [--runs 7]

`streamlit run` servers on loopback ports: the baseline (benchmarks/minimal_app.py,
one plotly bar chart and one 19-row table) and the app on a fresh SQLite database
with the example plan, where a viewer logs in once. Chromium (Debian's, at
/usr/bin/chromium) then reloads each page in turn (interleaved, the page brought to
the front first) and the time is measured from the reload to a finished page: the
script has stopped running and every plotly chart has drawn its SVG (1 on the
baseline; 1 on the overview too, whose five charts sit in tabs and only the open one
is drawn). Caches are warm after the first load, as for every user after the first.
Medians are printed with the overview/baseline ratio.

Then the time to open each chart tab of the overview (a click on the tab, until the
script has stopped and that tab's chart is drawn) is printed, for information: it is a
rerun of the page, not a reload, so it has no baseline of its own.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from common import (
    Row,
    baseline_server,
    chromium,
    create_viewer,
    interleaved,
    kept,
    log_in,
    median,
    reload_time,
    run_cli,
    streamlit_servers,
    temp_database,
    wait_finished,
)

OVERVIEW_CHARTS = 1
# Each chart tab, and how the title of its chart starts.
TABS = {
    "Avancement par objectif": "Avancement par objectif",
    "Calendrier": "Calendrier des actions",
    "Budget par année": "Budget par année",
    "Indicateurs": "Indicateurs : mesures",
}
FIRST_TAB = ("Enjeux et actions", "Le plan : enjeux")
BASELINE = "baseline"
VIEWPORT = {"width": 1280, "height": 900}
# Unmeasured rounds before the measured ones (a smoke run only checks the script works).
WARMUP = {"smoke": 0, "full": 2}


@dataclass
class App:
    """One app server to measure: its database (environment) and the address opened."""

    name: str
    env: dict[str, str]
    query: str = ""  # e.g. "?plan=12"
    password: str = ""
    login: str = "lecteur"


def _open_tab(page, label: str, title: str) -> None:  # noqa: ANN001
    page.get_by_role("tab", name=label).click()
    page.wait_for_function(
        "(title) => { const plots = [...document.querySelectorAll('.js-plotly-plot')];"
        " return plots.length === 1 && plots[0].querySelector('svg.main-svg')"
        " && (plots[0].querySelector('.gtitle') || {}).textContent?.startsWith(title); }",
        arg=title,
        timeout=120_000,
    )
    wait_finished(page, 1)


def _tab_time(page, label: str) -> float:  # noqa: ANN001
    """Seconds from a click on a chart tab to its chart drawn (the page left on the first)."""
    start = time.perf_counter()
    _open_tab(page, label, TABS[label])
    elapsed = time.perf_counter() - start
    _open_tab(page, *FIRST_TAB)
    return elapsed


@contextlib.contextmanager
def _baseline_page(browser, url: str) -> Iterator[object]:  # noqa: ANN001
    """The baseline page open in its own browser context, its first load done."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(url)
        wait_finished(page, 1)
        yield page
    finally:
        context.close()


def reload_times(
    apps: list[App], runs: int, tabs: bool = False, warmup: int = 2
) -> dict[str, list[float]]:
    """Reload times of the baseline page and of each app's overview, interleaved, after
    ``warmup`` unmeasured rounds (none in a smoke run: its timings are not judged).

    With ``tabs``, also the time to open each chart tab of the first app. Each page is
    in a browser context of its own (its own session cookie), closed before the servers
    stop; in a smoke run of benchmarks/run.py the browser, the baseline server and its
    page are kept for the next benchmark (see ``common.kept``)."""
    with contextlib.ExitStack() as stack:
        _, baseline_url = stack.enter_context(baseline_server())
        servers = stack.enter_context(streamlit_servers([("dashboard.py", a.env) for a in apps]))
        browser = stack.enter_context(chromium())
        baseline = stack.enter_context(
            kept("baseline page", lambda: _baseline_page(browser, baseline_url))
        )
        pages = {}
        for app, (_, url) in zip(apps, servers, strict=True):
            context = browser.new_context(viewport=VIEWPORT)
            stack.callback(context.close)
            page = context.new_page()
            log_in(page, url, app.login, app.password)
            if app.query:
                page.goto(url + "/" + app.query)
            page.get_by_role("heading", name="Vue d'ensemble").wait_for(timeout=120_000)
            wait_finished(page, OVERVIEW_CHARTS)
            pages[app.name] = page
        measures = {BASELINE: lambda: reload_time(baseline, 1)}
        for name, page in pages.items():
            measures[name] = lambda page=page: reload_time(page, OVERVIEW_CHARTS)
        times = interleaved(measures, runs, warmup=warmup)
        if tabs:
            first = pages[apps[0].name]
            times |= interleaved(
                {label: (lambda label=label: _tab_time(first, label)) for label in TABS},
                runs,
                warmup=min(warmup, 1),
            )
    return times


def example_app() -> App:
    _, env = temp_database()
    os.environ.update(env)
    return App("exemple", env, password=create_viewer())


def measure(scale: str = "full", runs: int = 7) -> list[Row]:
    times = reload_times([example_app()], runs, tabs=True, warmup=WARMUP[scale])
    base = median(times[BASELINE]) * 1000
    return [
        Row("Page minimale : 1 graphique, 1 tableau (référence)", base, baseline=base),
        Row(
            "Vue d'ensemble, plan d'exemple, lecteur",
            median(times["exemple"]) * 1000,
            baseline=base,
            target="≤ 1,5",
        ),
        *(
            Row(f"Ouverture de l'onglet « {label} » (clic → graphique dessiné)", median(v) * 1000)
            for label, v in times.items()
            if label in TABS
        ),
    ]


def main() -> int:
    return run_cli(
        __doc__,
        lambda args: f"Rechargement dans Chromium jusqu'à la page finie (médiane de {args.runs})",
        lambda args: measure(args.scale, args.runs),
        scale="full",
        runs=7,
    )


if __name__ == "__main__":
    raise SystemExit(main())
