"""The overview at scale, in Chromium: one plan among 1,000, and a plan of 500 actions.

    python benchmarks/scale_browser.py [--scale smoke|full] [--runs 7]

Databases built by benchmarks/generate.py (SQLite files, every table filled):

- « portefeuille »: 1,000 plans of 19 actions (smoke: 5), and the same generator's
  first plan alone in a database of its own (plans are generated from a seed each, so
  it is the same plan, row for row);
- « grand »: one plan of 500 actions (smoke: 101, past charts.TREE_LABELLED_ACTIONS
  as 500 is: the overview opens on the same chart tab, not the tree of every action).

One `streamlit run dashboard.py` server per database, a viewer logged in on each
(« lecteur1 », generated account), the overview of plan 1 open (``?plan=1``). The
baseline is the minimal page (one plotly chart, one 19-row table). Every page is
reloaded in turn (interleaved) until the script has stopped and its chart is drawn, as
in benchmarks/overview_browser.py. Targets: the plan in the portfolio within 1.1 times
the same plan alone (the cost must not grow with the number of plans), the grand plan
within 2 times the baseline.
"""

from __future__ import annotations

import time

import generate
from common import Row, median, run_cli, temp_database
from overview_browser import BASELINE, WARMUP, App, reload_times


def _database(kind: str, scale: str, size: int | None = None) -> tuple[dict[str, str], float]:
    _, env = temp_database()
    started = time.perf_counter()
    result = generate.build(kind, env["TRACKER_DATABASE_URL"], scale, size=size)
    if result["problems"]:
        raise SystemExit(f"Base générée incohérente ({kind}) : {result['problems']}")
    return env, time.perf_counter() - started


def measure(scale: str = "full", runs: int = 7) -> list[Row]:
    portfolio, portfolio_seconds = _database("portefeuille", scale)
    alone, _ = _database("portefeuille", scale, size=1)
    grand, grand_seconds = _database("grand", scale)
    apps = [
        App("seul", alone, "?plan=1", generate.PASSWORD, "lecteur1"),
        App("portefeuille", portfolio, "?plan=1", generate.PASSWORD, "lecteur1"),
        App("grand", grand, "?plan=1", generate.PASSWORD, "lecteur1"),
    ]
    times = reload_times(apps, runs, warmup=WARMUP[scale])
    base = median(times[BASELINE]) * 1000
    alone_ms = median(times["seul"]) * 1000
    plans = generate.SIZES[("portefeuille", scale)]
    actions = generate.SIZES[("grand", scale)]
    return [
        Row("Page minimale : 1 graphique, 1 tableau (référence)", base, baseline=base),
        Row("Vue d'ensemble, plan 1 seul dans sa base", alone_ms, baseline=base),
        Row(
            f"Vue d'ensemble, le même plan parmi {plans} (référence : le plan seul)",
            median(times["portefeuille"]) * 1000,
            baseline=alone_ms,
            target="≤ 1,1",
        ),
        Row(
            f"Vue d'ensemble, grand plan de {actions} actions",
            median(times["grand"]) * 1000,
            baseline=base,
            target="≤ 2",
        ),
        Row(f"Génération du portefeuille ({plans} plans)", portfolio_seconds, unit="s"),
        Row(f"Génération du grand plan ({actions} actions)", grand_seconds, unit="s"),
    ]


def main() -> int:
    return run_cli(
        __doc__,
        lambda args: (
            f"Vue d'ensemble à l'échelle, rechargée dans Chromium (médiane de {args.runs})"
        ),
        lambda args: measure(args.scale, args.runs),
        scale="full",
        runs=7,
    )


if __name__ == "__main__":
    raise SystemExit(main())
