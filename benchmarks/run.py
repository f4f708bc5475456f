"""Every benchmark, and one table of results.

    python benchmarks/run.py [--scale smoke|full] [--runs N] [--only NAME ...] [--write FILE]
                             [--sequential]

Each benchmark generates its own data and measures its figures against a baseline
measured in the same run, interleaved (see each module's docstring). ``smoke`` runs
small sizes so that CI checks the scripts still work (their timings are not judged),
in two processes side by side (``SMOKE_GROUPS`` below; ``--sequential``: one), each
starting Chromium and the baseline page once for all its benchmarks; ``full`` is run by
hand on an otherwise idle machine, one benchmark after the other, and its output
committed as ``benchmarks/results.md`` (``--write benchmarks/results.md``), with the
machine's description. PostgreSQL figures need ``--pg-url`` or TEST_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
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
TITLES = dict(BENCHMARKS)
# smoke: the benchmarks run in two processes side by side, this one for the first group
# and another for the others: one benchmark at a time keeps about one of CI's two cores
# busy (measured: 2.8 min in one process, 2.2 in two; three gain nothing more), and a
# smoke run's timings are not judged. The benchmarks that empty the PostgreSQL database
# (save_visible, concurrency, crash) are all among the others, one after the other, so
# that none empties it under another. Measured in CI (a689e58): the browser pair 113 s, the
# two imports 5 s, the others 106 s: the imports go with the others.
SMOKE_GROUPS = (("overview_browser", "scale_browser"),)
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


def header_lines(scale: str, runs: int | None) -> list[str]:
    """The title of the results, the command and the machine's description."""
    return [
        f"# Mesures de performance ({scale})\n",
        f"Mesuré le {dt.datetime.now().strftime('%d/%m/%Y à %H:%M')} avec "
        f"`python benchmarks/run.py --scale {scale}" + (f" --runs {runs}" if runs else "") + "`.\n",
        machine(),
    ]


def write(
    args: argparse.Namespace,
    header: list[str],
    names: list[str],
    results: dict[str, tuple[str, bool]],
    footer: str = "",
) -> None:
    """The results so far into ``--write`` (Markdown) and ``--results`` (for run.py)."""
    if args.results is not None:
        args.results.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    if args.write:
        sections = [results[name][0] for name in names if name in results]
        args.write.write_text("\n".join([*header, *sections, footer]), encoding="utf-8")


def run_here(
    names: list[str],
    scale: str,
    runs: int,
    results: dict[str, tuple[str, bool]],
    written: Callable[[], None],
) -> None:
    """Run the benchmarks ``names`` in this process, one after the other, printing each
    one's table; ``results`` gets each one's section of the results and whether it
    worked, and ``written`` is called after each (a run stopped midway keeps what it
    measured)."""
    # smoke: Chromium and the baseline page are started once for all of them.
    with kept_for_the_run() if scale == "smoke" else contextlib.nullcontext():
        for name in names:
            title = TITLES[name]
            print(f"== {name} : {title}", flush=True)
            begin = time.perf_counter()
            try:
                module = importlib.import_module(name)
                rows = module.measure(scale, RUNS_OVERRIDE.get((name, scale), runs))
            except Exception:  # noqa: BLE001  (one broken benchmark must not hide the others)
                traceback.print_exc()
                results[name] = (f"### {title}\n\nÉchec de la mesure (voir la sortie).\n", False)
            else:
                text = print_table(title, rows)
                took = f"Durée de la mesure : {time.perf_counter() - begin:.0f} s."
                print(took, flush=True)
                results[name] = (text + f"\n_{took}_\n", True)
            written()


def start_beside(names: list[str], runs: int | None, folder: Path) -> subprocess.Popen:
    """``names`` run by another run.py process, its output and results into ``folder``."""
    folder.mkdir()
    command = [sys.executable, __file__, "--scale", "smoke", "--sequential"]
    command += ["--results", str(folder / "results.json"), "--only", *names]
    if runs:
        command += ["--runs", str(runs)]
    with open(folder / "output.txt", "wb") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)


def results_beside(
    process: subprocess.Popen, names: list[str], folder: Path
) -> dict[str, tuple[str, bool]]:
    """Wait for a process of ``start_beside``, print its output, and return its results."""
    process.wait()
    print(f"== Sortie du processus voisin ({', '.join(names)}) :", flush=True)
    print((folder / "output.txt").read_text(encoding="utf-8", errors="replace"), flush=True)
    found = folder / "results.json"
    results = json.loads(found.read_text(encoding="utf-8")) if found.exists() else {}
    failed = f"Le processus voisin s'est arrêté (code {process.returncode}) sans résultat."
    return {
        name: tuple(results[name])
        if name in results
        else (f"### {TITLES[name]}\n\n{failed}\n", False)
        for name in names
    }


def groups(names: list[str]) -> list[list[str]]:
    """The smoke run's groups (SMOKE_GROUPS, then the others), of ``names`` only."""
    grouped = [[name for name in names if name in group] for group in SMOKE_GROUPS]
    others = [name for name in names if all(name not in group for group in SMOKE_GROUPS)]
    return [group for group in [*grouped, others] if group]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=["smoke", "full"], default="smoke")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--only", nargs="*", help="noms de modules à lancer (par défaut : tous)")
    parser.add_argument("--pg-url", help="base PostgreSQL de mesure (sinon TEST_DATABASE_URL)")
    parser.add_argument("--write", type=Path, help="écrire les résultats dans ce fichier")
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="smoke : tout dans ce processus, l'un après l'autre (comme toujours en full)",
    )
    parser.add_argument("--results", type=Path, help=argparse.SUPPRESS)  # for start_beside
    args = parser.parse_args()
    if args.pg_url:
        os.environ["TEST_DATABASE_URL"] = args.pg_url  # the other processes inherit it
    runs = args.runs or DEFAULT_RUNS[args.scale]
    started = time.perf_counter()
    names = [name for name in TITLES if not args.only or name in args.only]
    sequential = args.scale == "full" or args.sequential
    here, *beside = [names] if sequential else groups(names) or [[]]
    results: dict[str, tuple[str, bool]] = {}
    with tempfile.TemporaryDirectory(prefix="tracker-run-") as folder:
        # Started first: describing the machine takes a few seconds.
        started_beside = [
            (start_beside(group, args.runs, Path(folder) / str(n)), group)
            for n, group in enumerate(beside)
        ]
        try:
            header = [] if args.results else header_lines(args.scale, args.runs)
            run_here(here, args.scale, runs, results, lambda: write(args, header, names, results))
        finally:
            for n, (process, group) in enumerate(started_beside):
                results |= results_beside(process, group, Path(folder) / str(n))
    total = time.perf_counter() - started
    write(args, header, names, results, f"\nDurée totale : {total / 60:.1f} min.\n")
    if args.write:
        print(f"Résultats écrits dans {args.write}")
    if args.results is None:  # the processes of start_beside leave the total to the first
        print(f"Durée totale : {total / 60:.1f} min.")
    failed = [name for name in names if not results[name][1]]
    if failed:
        print("Mesures en échec : " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
