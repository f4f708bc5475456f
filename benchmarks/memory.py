"""Memory of one app server: right after start, with 1 session, with N sessions.

    python benchmarks/memory.py [--scale smoke|full] [--runs 1]

One `streamlit run dashboard.py` server on a loopback port, on a fresh SQLite
database prepared as on first start (example plan) with one viewer account.
Chromium (Debian's, /usr/bin/chromium) opens sessions one after the other, each in
its own browser context (its own cookies: a separate Streamlit session), logged in
as that viewer and left open on the overview once its script has stopped and the
open chart tab has drawn its plotly chart. full: 1 then 20 sessions; smoke: 1 then 2.

Measured: the resident set size of the server, i.e. VmRSS in /proc/PID/status of
the `streamlit run` process plus that of its descendants (there are none today; a
sum would count shared pages twice), in MB of 1,048,576 bytes. It is read once the
server is idle and its RSS has moved by less than STABLE_MB over SETTLE_S seconds
(sampled every 0.5 s): the server keeps growing for a few seconds after its port
opens, as it finishes loading. No garbage collection is forced in the server, and
CPython keeps most freed memory for reuse rather than giving it back, so this is
the memory the server holds, not only its live objects. Chromium's own memory is
not counted. Before each reading the server must report exactly the sessions
expected (``active_sessions`` in Streamlit's /_stcore/metrics), else the script
stops.

Rows: the server right after start, before any session (Streamlit, with pandas,
numpy and pyarrow, and the app module with its HTTP routes are loaded; the pages'
own modules, plotly among them, come with the first session), which is the
baseline of the ratios; with 1 session; with N; and
(N - 1 sessions) / (N - 1), the cost of each session after the first (the first
also pays for imports and the shared caches). With ``--runs`` > 1, each run starts
a new server and the medians are printed.
"""

from __future__ import annotations

import os
import re
import time
import urllib.request
from pathlib import Path

from common import (
    Row,
    chromium,
    create_viewer,
    log_in,
    median,
    run_cli,
    streamlit_server,
    temp_database,
    wait_finished,
)

SCALES = {"smoke": 2, "full": 20}
SETTLE_S = 2.0  # RSS is read once it has been stable (within STABLE_MB) for this long
STABLE_MB = 1.0
CHARTS = 1  # the open chart tab of the overview; the other tabs draw when opened
VIEWER = "lecteur"


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from the parent field of /proc/*/stat)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        todo += kids
    return found


def rss_mb(pid: int) -> float:
    """VmRSS of the process and its descendants, in MB (2**20 bytes)."""
    total_kb = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])  # in kB
        except OSError:
            continue
    return total_kb / 1024


def active_sessions(url: str) -> int:
    """The sessions the server holds, as Streamlit counts them (/_stcore/metrics)."""
    with urllib.request.urlopen(f"{url}/_stcore/metrics?families=active_sessions") as r:  # noqa: S310
        text = r.read().decode()
    found = re.search(r"^active_sessions\S*\s+(\d+)", text, re.MULTILINE)
    if found is None:
        raise SystemExit(f"Nombre de sessions introuvable dans /_stcore/metrics :\n{text}")
    return int(found.group(1))


def _settled_rss(pid: int, url: str, sessions: int) -> float:
    """RSS once it has moved by less than STABLE_MB over SETTLE_S seconds, the server
    holding exactly ``sessions`` sessions."""
    step = 0.5
    window = int(SETTLE_S / step) + 1
    readings = [rss_mb(pid)]
    deadline = time.monotonic() + 120
    while len(readings) < window or max(readings[-window:]) - min(readings[-window:]) >= STABLE_MB:
        if time.monotonic() > deadline:
            raise SystemExit("La mémoire du serveur ne se stabilise pas.")
        time.sleep(step)
        readings.append(rss_mb(pid))
    held = active_sessions(url)
    if held != sessions:
        raise SystemExit(f"Le serveur tient {held} session(s) au lieu de {sessions}.")
    return readings[-1]


def _one_run(sessions: int, env: dict[str, str], password: str) -> tuple[float, float, float]:
    """RSS (MB) of a new server: after start, with 1 session, with ``sessions``."""
    with streamlit_server("dashboard.py", env) as (process, url), chromium() as browser:
        at_start = _settled_rss(process.pid, url, 0)
        contexts, with_one = [], 0.0
        try:
            for n in range(sessions):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                contexts.append(context)
                page = context.new_page()
                page.bring_to_front()  # a page in the background draws late
                log_in(page, url, VIEWER, password)
                wait_finished(page, CHARTS)
                if n == 0:
                    with_one = _settled_rss(process.pid, url, 1)
            with_all = _settled_rss(process.pid, url, sessions)
        finally:
            for context in contexts:
                context.close()
    return at_start, with_one, with_all


def measure(scale: str, runs: int) -> list[Row]:
    sessions = SCALES[scale]
    _, env = temp_database()
    os.environ.update(env)
    password = create_viewer(VIEWER)  # also prepares the database: schema, example plan
    results = [_one_run(sessions, env, password) for _ in range(runs)]
    at_start = median([r[0] for r in results])
    with_one = median([r[1] for r in results])
    with_all = median([r[2] for r in results])
    per_session = median([(r[2] - r[1]) / (sessions - 1) for r in results])
    return [
        Row("Serveur démarré, aucune session (référence)", at_start, "MB", baseline=at_start),
        Row("1 session ouverte sur la vue d'ensemble", with_one, "MB", baseline=at_start),
        Row(
            f"{sessions} sessions ouvertes sur la vue d'ensemble", with_all, "MB", baseline=at_start
        ),
        Row(
            f"Par session au-delà de la première : (RSS à {sessions} − RSS à 1) / {sessions - 1}",
            per_session,
            "MB/session",
        ),
    ]


def main() -> int:
    return run_cli(
        __doc__,
        lambda args: (
            f"Mémoire résidente du serveur Streamlit, plan d'exemple, lecteurs "
            f"({SCALES[args.scale]} sessions, médiane de {args.runs} essai(s))"
        ),
        lambda args: measure(args.scale, args.runs),
        scales=SCALES,
    )


if __name__ == "__main__":
    raise SystemExit(main())
