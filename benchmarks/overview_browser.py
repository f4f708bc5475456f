"""Overview load time in a real browser, against a minimal page served the same way.

    python benchmarks/overview_browser.py [--runs 10]

Two `streamlit run` servers on loopback ports: the baseline (benchmarks/minimal_app.py,
one plotly bar chart and one 19-row table) and the app on a fresh SQLite database
with the example plan, where a viewer logs in once. Chromium (Debian's, at
/usr/bin/chromium) then reloads each page in turn (interleaved, the page brought to
the front first) and the time is measured from the reload to a finished page: the
script has stopped running and every plotly chart has drawn its SVG (1 on the
baseline, 5 on the overview). Caches are warm after the first load, as for every
user after the first. Medians are printed with the overview/baseline ratio.
"""

from __future__ import annotations

import argparse
import os

from common import (
    MINIMAL_APP,
    Row,
    chromium,
    create_viewer,
    interleaved,
    log_in,
    median,
    print_table,
    reload_time,
    streamlit_server,
    temp_database,
    wait_finished,
)
from playwright.sync_api import sync_playwright

OVERVIEW_CHARTS = 5


def measure(runs: int) -> list[Row]:
    _, env = temp_database()
    os.environ.update(env)
    password = create_viewer()
    with (
        streamlit_server(MINIMAL_APP, env) as (_, baseline_url),
        streamlit_server("dashboard.py", env) as (_, app_url),
        sync_playwright() as pw,
        chromium(pw) as browser,
    ):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        baseline = context.new_page()
        baseline.goto(baseline_url)
        wait_finished(baseline, 1)
        app = context.new_page()
        log_in(app, app_url, "lecteur", password)
        wait_finished(app, OVERVIEW_CHARTS)
        times = interleaved(
            {
                "baseline": lambda: reload_time(baseline, 1),
                "overview": lambda: reload_time(app, OVERVIEW_CHARTS),
            },
            runs,
            warmup=2,
        )
    base = median(times["baseline"]) * 1000
    return [
        Row("Page minimale : 1 graphique, 1 tableau (référence)", base, baseline=base),
        Row(
            "Vue d'ensemble, plan d'exemple, lecteur",
            median(times["overview"]) * 1000,
            baseline=base,
            target="≤ 1,5",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    print_table(
        f"Rechargement dans Chromium jusqu'à la page finie (médiane de {args.runs})",
        measure(args.runs),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
