"""Import speed: a workbook of N actions and 5 x N budget lines, read, checked and applied.

    python benchmarks/import_plan.py [--scale smoke|full] [--runs 5]

full: 2,000 actions and 10,000 budget lines (the figure the import issue asks for:
applied in less than 20 s, i.e. at least 600 rows a second); smoke: 200 and 1,000.
Each step is timed ``--runs`` times (at least 5 in full) into a new SQLite file
and the median is printed, in seconds and in rows (actions and budget lines) a
second, with its ratio to a baseline measured in the same run, interleaved:
openpyxl merely iterating over every cell of the same workbook (the least any
import of it must cost).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Row, median, run_cli  # noqa: E402

from tracker import db  # noqa: E402
from tracker.io.export import workbook_bytes  # noqa: E402
from tracker.io.plan_import import run_import  # noqa: E402
from tracker.io.workbook import InputFile, read_sheets  # noqa: E402
from tracker.models import BudgetSection  # noqa: E402
from tracker.services.plans import (  # noqa: E402
    ActionData,
    BudgetLineData,
    ObjectiveData,
    PlanData,
    StakeData,
)
from tracker.services.users import system_actor  # noqa: E402

SCALES = {"smoke": 200, "full": 2000}
TARGET_SECONDS = 20  # for the full workbook: 2,000 actions and 10,000 budget lines


def generated_plan(actions: int) -> PlanData:
    """A plan of ``actions`` actions, each with 5 budget lines (years x collectivities)."""
    collectivities = ["Ville de Cahors", "Grand Cahors"]
    data = PlanData(
        name="Plan généré pour la mesure",
        collectivities=collectivities,
        first_year=2018,
        last_year=2030,
        adopted_on=date(2017, 11, 9),
        stakes=[StakeData("E1", "Enjeu"), StakeData("E2", "Enjeu 2")],
        objectives=[ObjectiveData(str(o), f"Objectif {o}", "", ["E1"]) for o in range(1, 4)],
    )
    for n in range(actions):
        code = f"{n % 3 + 1}.{n + 1}"
        data.actions.append(
            ActionData(
                code=code,
                title=f"Action n°{n + 1} « générée »",
                objective_code=str(n % 3 + 1),
                carriers=collectivities,
                pilot_function="Chargé(e) de mission numérique",
                progress=n % 101,
                start_date=date(2019, 1, 1),
                planned_end_date=date(2026, 12, 31),
                description="Description de l'action\nsur deux lignes",
            )
        )
        for k in range(5):
            data.budget_lines.append(
                BudgetLineData(
                    action_code=code,
                    year=2020 + k,
                    collectivity=collectivities[k % 2],
                    section=BudgetSection.FONCTIONNEMENT if k % 2 else BudgetSection.INVESTISSEMENT,
                    requested_cents=1_250_050 + n,
                    arbitrated_cents=1_000_000,
                    spent_cents=900_000,
                )
            )
    return data


def iterate_cells(content: bytes) -> int:
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    count = sum(1 for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for _ in row)
    wb.close()
    return count


def measure(scale: str, runs: int) -> list[Row]:
    """Seconds and rows a second of each step, against openpyxl's bare reading."""
    if scale == "full":
        runs = max(runs, 5)
    actions = SCALES[scale]
    rows_in_file = actions + 5 * actions
    content = workbook_bytes(generated_plan(actions))
    files = [InputFile("plan.xlsx", content)]
    actor = system_actor("mesure")
    baseline, reading, checking, applying = [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(runs):
            start = time.perf_counter()
            iterate_cells(content)
            baseline.append(time.perf_counter() - start)

            start = time.perf_counter()
            read_sheets(files)
            reading.append(time.perf_counter() - start)

            engine = db.make_engine(f"sqlite:///{folder}/run{run}.db")
            db.upgrade_database(engine)
            start = time.perf_counter()
            with db.session_scope(engine) as session:
                report, _ = run_import(session, actor, files)
            checking.append(time.perf_counter() - start)
            assert report.ok, report.problems[:5]

            start = time.perf_counter()
            with db.session_scope(engine, write=True) as session:
                run_import(session, actor, files, apply=True)
            applying.append(time.perf_counter() - start)
            engine.dispose()
    base = median(baseline)
    target = scale == "full"
    rows = [Row("openpyxl parcourt le classeur (référence)", base, "s")]
    for label, values in (
        ("lecture du classeur (read_sheets)", reading),
        ("essai complet (lecture + comparaison)", checking),
        ("import appliqué (lecture + écriture)", applying),
    ):
        applied = "appliqué" in label
        rows.append(
            Row(
                label,
                median(values),
                "s",
                baseline=base,
                target=f"< {TARGET_SECONDS} s" if applied and target else "",
            )
        )
    rows.append(
        Row(
            "import appliqué : débit (actions et lignes budgétaires)",
            rows_in_file / median(applying),
            "lignes/s",
            baseline=rows_in_file / base,
            target=f"≥ {rows_in_file // TARGET_SECONDS} lignes/s" if target else "",
        )
    )
    return rows


def main() -> int:
    def title(args: argparse.Namespace) -> str:
        actions = SCALES[args.scale]
        runs = max(args.runs, 5) if args.scale == "full" else args.runs
        sizes = f"{actions:,} actions et {5 * actions:,} lignes budgétaires".replace(",", " ")
        return f"Import d'un classeur de {sizes} (médiane de {runs} essais, SQLite)"

    return run_cli(
        __doc__, title, lambda args: measure(args.scale, args.runs), scales=SCALES, runs=5
    )


if __name__ == "__main__":
    raise SystemExit(main())
