"""Overview load time in a real browser, against a minimal page served the same way.

    python benchmarks/overview_browser.py [--runs 10]

Two `streamlit run` servers on loopback ports: the baseline (benchmarks/minimal_app.py,
one plotly bar chart and one 19-row table) and the app on a fresh SQLite database
with the example plan, where a viewer logs in once. Chromium (Debian's, at
/usr/bin/chromium) then reloads each page in turn (interleaved) and the time is
measured from the reload to a finished page: the script has stopped running and every
plotly chart has drawn its SVG (1 on the baseline, 5 on the overview). Caches are warm
after the first load, as for every user after the first. Medians are printed with the
overview/baseline ratio.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
FINISHED = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(script: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            script,
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("Le serveur Streamlit n'a pas démarré.")


def _finished(page, charts: int) -> None:  # noqa: ANN001
    page.wait_for_selector(FINISHED, timeout=120_000)
    page.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot svg.main-svg').length >= {charts}",
        timeout=120_000,
    )
    page.wait_for_selector(FINISHED, timeout=120_000)


def _reload(page, charts: int) -> float:  # noqa: ANN001
    start = time.perf_counter()
    page.reload()
    _finished(page, charts)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="tracker-bench-")
    env = dict(
        os.environ,
        TRACKER_DATABASE_URL=f"sqlite:///{folder}/tracker.db",
        TRACKER_BACKUP_DIR=f"{folder}/backups",
    )
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from tracker import db  # noqa: PLC0415
    from tracker.bootstrap import prepare_database  # noqa: PLC0415
    from tracker.models import Role  # noqa: PLC0415
    from tracker.services import users  # noqa: PLC0415

    engine = db.get_engine()
    prepare_database(engine)
    password = secrets.token_urlsafe(16)
    with db.session_scope(engine, write=True) as session:
        users.create_user(
            session,
            users.system_actor("mesure"),
            login="lecteur",
            role=Role.VIEWER,
            password=password,
        )
    engine.dispose()
    baseline_server, baseline_url = _serve("benchmarks/minimal_app.py", env)
    app_server, app_url = _serve("dashboard.py", env)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            baseline = context.new_page()
            baseline.goto(baseline_url)
            _finished(baseline, 1)
            app = context.new_page()
            app.goto(app_url)
            app.wait_for_selector(FINISHED, timeout=120_000)
            app.get_by_label("Identifiant").fill("lecteur")
            app.get_by_label("Mot de passe", exact=True).fill(password)
            app.get_by_role("button", name="Se connecter").click()
            app.get_by_role("heading", name="Vue d'ensemble").wait_for(timeout=120_000)
            _finished(app, 5)
            times: dict[str, list[float]] = {"baseline": [], "overview": []}
            for _ in range(2):  # warm up
                _reload(baseline, 1)
                _reload(app, 5)
            for _ in range(args.runs):
                times["baseline"].append(_reload(baseline, 1))
                times["overview"].append(_reload(app, 5))
            browser.close()
    finally:
        baseline_server.terminate()
        app_server.terminate()
    base = statistics.median(times["baseline"])
    over = statistics.median(times["overview"])
    print(f"Rechargement dans Chromium jusqu'à la page finie (médiane de {args.runs} essais)")
    rows = [
        ("page minimale : 1 graphique, 1 tableau (référence)", base, 1.0),
        ("vue d'ensemble, plan d'exemple, lecteur", over, over / base),
    ]
    print(f"{'page':<58} {'ms':>7} {'ratio':>6}")
    for label, seconds, ratio in rows:
        print(f"{label:<58} {seconds * 1000:>7.0f} {ratio:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
