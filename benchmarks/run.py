"""Every benchmark, one after the other, and one table of results.

    python benchmarks/run.py [--scale smoke|full] [--runs N] [--only NAME ...] [--write FILE]

Each benchmark generates its own data and measures its figures against a baseline
measured in the same run, interleaved (see each module's docstring). ``smoke`` runs
small sizes so that CI checks the scripts still work (their timings are not judged),
and starts Chromium and the baseline page once for all the benchmarks; ``full`` is run
by hand on an otherwise idle machine and its output committed as
``benchmarks/results.md`` (``--write benchmarks/results.md``), with the machine's
description. PostgreSQL figures need ``--pg-url`` or TEST_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import kept_for_the_run, print_table  # noqa: E402

# (module, title), in the order of the issue: browser, pages, save-to-visible,
# concurrency, imports, memory, crash safety.
BENCHMARKS = [
    ("overview_browser", "Vue d'ensemble dans Chromium, contre une page minimale"),
    ("scale_browser", "Vue d'ensemble à l'échelle : portefeuille de plans et grand plan"),
    ("pages", "Temps serveur de chaque page, cache froid et chaud"),
    ("save_visible", "De l'enregistrement à l'affichage dans une autre session"),
    ("concurrency", "Vingt éditeurs simultanés"),
    ("import_plan", "Import d'un classeur"),
    ("survey_import", "Import d'une enquête"),
    ("memory", "Mémoire du serveur par session"),
    ("crash", "Arrêt brutal au milieu d'un enregistrement groupé"),
]
# Runs per benchmark when --runs is not given: at least 5 for medians (full).
DEFAULT_RUNS = {"smoke": 1, "full": 7}
# Benchmarks whose one run is already long and repeated inside (concurrency: two 60 s
# phases per database).
RUNS_OVERRIDE = {("concurrency", "full"): 1}


def machine() -> str:
    """What the figures were measured on."""
    cpu = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as f:
        memory_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    try:
        chromium = subprocess.run(
            ["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except OSError:
        chromium = "Chromium absent"
    import streamlit  # noqa: PLC0415

    return (
        f"- Processeur : {cpu}, {os.cpu_count()} cœurs\n"
        f"- Mémoire : {memory_kb / 1024 / 1024:.0f} Gio\n"
        f"- Système : {platform.platform()}\n"
        f"- Python {platform.python_version()}, Streamlit {streamlit.__version__}, {chromium}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=["smoke", "full"], default="smoke")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--only", nargs="*", help="noms de modules à lancer (par défaut : tous)")
    parser.add_argument("--pg-url", help="base PostgreSQL de mesure (sinon TEST_DATABASE_URL)")
    parser.add_argument("--write", type=Path, help="écrire les résultats dans ce fichier")
    args = parser.parse_args()
    if args.pg_url:
        os.environ["TEST_DATABASE_URL"] = args.pg_url
    runs = args.runs or DEFAULT_RUNS[args.scale]
    started = time.perf_counter()
    sections = [
        f"# Mesures de performance ({args.scale})\n",
        f"Mesuré le {dt.datetime.now().strftime('%d/%m/%Y à %H:%M')} avec "
        f"`python benchmarks/run.py --scale {args.scale}"
        + (f" --runs {args.runs}" if args.runs else "")
        + "`.\n",
        machine(),
    ]
    failed = []
    # smoke: Chromium and the baseline page are started once, for all the benchmarks.
    with kept_for_the_run() if args.scale == "smoke" else contextlib.nullcontext():
        for name, title in BENCHMARKS:
            if args.only and name not in args.only:
                continue
            print(f"== {name} : {title}", flush=True)
            begin = time.perf_counter()
            try:
                module = importlib.import_module(name)
                rows = module.measure(args.scale, RUNS_OVERRIDE.get((name, args.scale), runs))
            except Exception:  # noqa: BLE001  (one broken benchmark must not hide the others)
                traceback.print_exc()
                failed.append(name)
                sections.append(f"### {title}\n\nÉchec de la mesure (voir la sortie).\n")
                continue
            text = print_table(title, rows)
            took = f"Durée de la mesure : {time.perf_counter() - begin:.0f} s."
            print(took, flush=True)
            sections.append(text + f"\n_{took}_\n")
            if args.write:  # written as it goes: a run stopped midway keeps what it measured
                args.write.write_text("\n".join(sections), encoding="utf-8")
    total = time.perf_counter() - started
    sections.append(f"\nDurée totale : {total / 60:.1f} min.\n")
    if args.write:
        args.write.write_text("\n".join(sections), encoding="utf-8")
        print(f"Résultats écrits dans {args.write}")
    print(f"Durée totale : {total / 60:.1f} min.")
    if failed:
        print("Mesures en échec : " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
