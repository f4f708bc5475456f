"""Overview page speed: the landing page's server-side run, against a minimal page.

    python benchmarks/overview_page.py [--runs 15]

Each measure is one run of a page script with Streamlit's testing harness
(AppTest: the script runs and its output is serialised as for a browser;
nothing is drawn), each page in its own session, rerun as a user's
interaction reruns it. Interleaved in the same run:

- the baseline: a minimal page with one plotly chart and one 19-row table;
- a reference: a page showing five plotly charts built from in-memory data;
- the overview, logged in as a viewer, on the example plan, with warm caches
  (the usual case: every rerun and every user after the first, until the
  data changes);
- the overview just after a data change (caches keyed on the data revision
  miss: queries, aggregations and figures are rebuilt once).

The median of each is printed with its ratio to the baseline.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MINIMAL = """
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="Référence", layout="wide")
st.title("Page minimale")
frame = pd.DataFrame({"Code": [f"A{n}" for n in range(19)], "Avancement": range(0, 95, 5)})
st.plotly_chart(go.Figure(go.Bar(x=frame["Code"], y=frame["Avancement"])))
st.dataframe(frame, hide_index=True)
"""

FIVE_CHARTS = """
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="Cinq graphiques", layout="wide")
st.title("Cinq graphiques")
frame = pd.DataFrame({"Code": [f"A{n}" for n in range(19)], "Avancement": range(0, 95, 5)})
for n in range(5):
    st.plotly_chart(go.Figure(go.Bar(x=frame["Code"], y=frame["Avancement"])), key=f"c{n}")
st.dataframe(frame, hide_index=True)
"""


def _timed(at) -> float:  # noqa: ANN001
    start = time.perf_counter()
    at.run(timeout=120)
    elapsed = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"La page a levé une erreur : {at.exception[0].value}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="tracker-bench-")
    os.environ["TRACKER_DATABASE_URL"] = f"sqlite:///{folder}/tracker.db"
    os.environ["TRACKER_BACKUP_DIR"] = f"{folder}/backups"

    from streamlit.testing.v1 import AppTest  # noqa: PLC0415

    from tracker import db  # noqa: PLC0415
    from tracker.bootstrap import prepare_database  # noqa: PLC0415
    from tracker.models import Role  # noqa: PLC0415
    from tracker.services import users  # noqa: PLC0415
    from tracker.services.revision import bump_revision  # noqa: PLC0415

    engine = db.get_engine()
    prepare_database(engine)
    with db.session_scope(engine, write=True) as session:
        viewer = users.create_user(
            session,
            users.system_actor("mesure"),
            login="lecteur",
            role=Role.VIEWER,
            password=secrets.token_urlsafe(16),
            display_name="Lecteur",
        )
        token, _ = users.start_session(session, viewer)

    def overview() -> AppTest:
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
        at.session_state["auth_session"] = token
        return at

    pages = {
        "minimal": AppTest.from_string(MINIMAL, default_timeout=120),
        "five": AppTest.from_string(FIVE_CHARTS, default_timeout=120),
        "overview": overview(),
    }
    for at in pages.values():  # warm up: imports, the harness, first queries, caches
        _timed(at)
        _timed(at)
    times: dict[str, list[float]] = {name: [] for name in [*pages, "changed"]}
    for _ in range(args.runs):
        for name, at in pages.items():
            times[name].append(_timed(at))
        with db.session_scope(engine, write=True) as session:
            bump_revision(session)
        times["changed"].append(_timed(pages["overview"]))
    base = statistics.median(times["minimal"])
    print(f"Vue d'ensemble, plan d'exemple, SQLite (médiane de {args.runs} exécutions)")
    print(f"{'page':<62} {'ms':>7} {'ratio':>6}")
    for name, label in (
        ("minimal", "page minimale : 1 graphique, 1 tableau de 19 lignes (référence)"),
        ("five", "5 graphiques plotly depuis la mémoire"),
        ("overview", "vue d'ensemble, caches chauds (cas courant)"),
        ("changed", "vue d'ensemble juste après une modification"),
    ):
        median = statistics.median(times[name])
        print(f"{label:<62} {median * 1000:>7.0f} {median / base:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
