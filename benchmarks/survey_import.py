"""Survey import speed: a respondent-level CSV file of N respondents read,
computed and stored in a wave, then the wave recomputed and broken down.

    python benchmarks/survey_import.py [--scale smoke|full] [--runs 3]

full: 100,000 respondents (the figure the survey issue asks for: imported, file
read and checked included, in less than 10 s, i.e. at least 10,000 respondents a
second); smoke: 10,000. Each file has the example's questions, a commune, an age
group and a weight column with decimal commas. Each step is timed ``--runs``
times (at least 5 in full) into a new SQLite file and the median is printed, in
seconds and in respondents a second, with its ratio to a baseline measured in the
same run, interleaved: Python's csv module merely splitting the same file into
cells (the least any import of it must cost).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Row, median, run_cli  # noqa: E402

from tracker import db  # noqa: E402
from tracker.io.example import load_example  # noqa: E402
from tracker.io.survey_file import read_survey_file  # noqa: E402
from tracker.io.workbook import InputFile  # noqa: E402
from tracker.services import surveys  # noqa: E402
from tracker.services.users import system_actor  # noqa: E402

SCALES = {"smoke": 10_000, "full": 100_000}
TARGET_SECONDS = 10  # for the full file: 100,000 respondents
COMMUNES = ["Cahors", "Pradines", "Mercuès", "Arcambal", "Espère", "Lalbenque", "Douelle"]
AGES = ["15-29 ans", "30-44 ans", "45-59 ans", "60-74 ans", "75 ans et plus"]


def generated_file(respondents: int) -> bytes:
    """A CSV file as a survey tool exports it (`;`, UTF-8, decimal commas)."""
    rng = random.Random(2024)  # noqa: S311 (test data, not secrets)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(
        [
            "Identifiant",
            "Commune",
            "Tranche d'âge",
            "Sexe",
            "Smartphone",
            "Fréquence internet",
            "Démarche en ligne",
            "Difficultés démarches",
            "Suit les collectivités",
            "Poids",
        ]
    )
    frequencies = ["Tous les jours ou presque", "Au moins une fois par semaine", "Plus rarement"]
    for n in range(respondents):
        writer.writerow(
            [
                f"R{n + 1:06d}",
                rng.choice(COMMUNES),
                rng.choice(AGES),
                rng.choice(["Femme", "Homme"]),
                rng.choice(["Oui", "Oui", "Non"]),
                rng.choice([*frequencies, "Jamais"]),
                rng.choice(["Oui", "Non"]),
                rng.choice(["Oui, souvent", "Oui, parfois", "Non", "Ne sait pas"]),
                rng.choice(["Oui", "Non", "Non"]),
                f"{rng.uniform(0.5, 2.0):.3f}".replace(".", ","),
            ]
        )
    return out.getvalue().encode("utf-8")


def split_cells(content: bytes) -> int:
    text = content.decode("utf-8")
    return sum(len(row) for row in csv.reader(io.StringIO(text), delimiter=";"))


def measure(scale: str, runs: int) -> list[Row]:
    """Seconds and respondents a second of each step, against the csv module's splitting."""
    if scale == "full":
        runs = max(runs, 5)
    size = SCALES[scale]
    content = generated_file(size)
    file = InputFile("reponses.csv", content)
    actor = system_actor("mesure")
    steps: dict[str, list[float]] = {
        "base": [],
        "read": [],
        "import": [],
        "recompute": [],
        "breakdown": [],
    }
    with tempfile.TemporaryDirectory() as folder:
        for run in range(runs):
            start = time.perf_counter()
            split_cells(content)
            steps["base"].append(time.perf_counter() - start)

            start = time.perf_counter()
            table = read_survey_file(file)
            steps["read"].append(time.perf_counter() - start)
            assert table.size == size

            engine = db.make_engine(f"sqlite:///{folder}/run{run}.db")
            db.upgrade_database(engine)
            with db.session_scope(engine, write=True) as session:
                plan = load_example(session, actor=actor)
                wave = surveys.create_wave(
                    session,
                    actor,
                    plan.id,
                    surveys.WaveInput("Vague mesurée", fieldwork_end=plan.adopted_on),
                )
                wave_id = wave.id
            start = time.perf_counter()
            with db.session_scope(engine, write=True) as session:
                outcome = surveys.import_responses(session, actor, wave_id, table)
            steps["import"].append(time.perf_counter() - start)
            assert outcome.respondents == size and outcome.results

            start = time.perf_counter()
            with db.session_scope(engine, write=True) as session:
                surveys.recompute_wave(session, actor, wave_id)
            steps["recompute"].append(time.perf_counter() - start)

            with db.session_scope(engine) as session:
                indicator = surveys.survey_indicators(session, plan.id)[0]
                start = time.perf_counter()
                responses = surveys.load_responses(session, wave_id)
                surveys.breakdown(indicator, responses, "Commune")
                steps["breakdown"].append(time.perf_counter() - start)
            engine.dispose()
    # What a user waits for: the file read and checked, then imported.
    whole = [r + i for r, i in zip(steps["read"], steps["import"], strict=True)]
    base = median(steps["base"])
    target = scale == "full"
    rows = [Row("module csv découpe le fichier (référence)", base, "s")]
    for values, label in (
        (steps["read"], "lecture et contrôle du fichier"),
        (steps["import"], "import : calcul + enregistrement"),
        (whole, "import complet (lecture, contrôle, calcul, enregistrement)"),
        (steps["recompute"], "recalcul de la vague (relecture)"),
        (steps["breakdown"], "relecture + résultats par commune"),
    ):
        complete = values is whole
        rows.append(
            Row(
                label,
                median(values),
                "s",
                baseline=base,
                target=f"< {TARGET_SECONDS} s" if complete and target else "",
            )
        )
    rows.append(
        Row(
            "import complet : débit (répondants)",
            size / median(whole),
            "lignes/s",
            baseline=size / base,
            target=f"≥ {size // TARGET_SECONDS:,} lignes/s".replace(",", " ") if target else "",
        )
    )
    return rows


def main() -> int:
    def title(args: argparse.Namespace) -> str:
        runs = max(args.runs, 5) if args.scale == "full" else args.runs
        return (
            f"Import d'une vague de {SCALES[args.scale]:,} répondants".replace(",", " ")
            + f" (médiane de {runs} essais, SQLite)"
        )

    return run_cli(
        __doc__, title, lambda args: measure(args.scale, args.runs), scales=SCALES, runs=3
    )


if __name__ == "__main__":
    raise SystemExit(main())
