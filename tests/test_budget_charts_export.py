"""Budget charts (tracker.charts), the finance workbook (tracker.io.budget_export)
and its command (python -m tracker export-budget).

Charts are fed frames built here; the workbook is read back with openpyxl and
checked against the budget service, which sums in SQL.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from tracker import charts, db
from tracker.cli import main
from tracker.errors import ValidationError
from tracker.io.budget_export import finance_workbook
from tracker.io.export import EURO_FORMAT
from tracker.models import BudgetLine, Plan
from tracker.services import budgets

NBSP = "\u00a0"
NNBSP = "\u202f"  # Babel's French thousands separator

MONEY_COLUMNS = ["Demandé (€)", "Arbitré (€)", "Réalisé (€)", "Écart arbitré − demandé (€)"]
LINE_HEADERS = [
    "Code action",
    "Action",
    "Objectif",
    "Collectivité",
    "Section",
    *MONEY_COLUMNS,
    "Taux de réalisation",
    "Date de décision",
    "Commentaire",
]


# --------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------


def _years_frame() -> pd.DataFrame:
    """Two years, two collectivities, 2018 split in two sections (to be added up)."""
    return pd.DataFrame(
        [
            ("Ville de Cahors", 2018, 1_000_000, 800_000, 500_000),
            ("Ville de Cahors", 2018, 250_050, 200_000, 100_000),
            ("Grand Cahors", 2018, 3_000_000, 2_500_000, 2_000_000),
            ("Ville de Cahors", 2019, 400_000, None, 0),
            ("Grand Cahors", 2019, 600_000, 600_000, 700_000),
        ],
        columns=["collectivity", "year", "requested_cents", "arbitrated_cents", "spent_cents"],
    )


def _look(trace: go.Bar) -> tuple:
    pattern = trace.marker.pattern.shape if trace.marker.pattern else None
    return (trace.marker.color, pattern or "")


def test_budget_per_year_shows_requested_arbitrated_and_spent_in_euros():
    fig = charts.budget_per_year(_years_frame().drop(columns="collectivity"))

    assert [t.name for t in fig.data] == ["Demandé", "Arbitré", "Réalisé"]
    assert all(list(t.x) == ["2018", "2019"] for t in fig.data)
    requested, arbitrated, spent = (list(t.y) for t in fig.data)
    assert requested == [42_500.50, 10_000]
    assert arbitrated == [35_000, 6_000]  # a line not yet arbitrated counts for nothing
    assert spent == [26_000, 7_000]
    assert fig.data[0].customdata[0] == f"42{NNBSP}500,50{NBSP}€"
    assert "Budget par année" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "Année"
    assert fig.layout.yaxis.ticksuffix == " €"
    assert fig.layout.separators == ", "
    assert fig.layout.barmode == "group"


def test_budget_series_differ_by_pattern_not_only_by_colour():
    fig = charts.budget_per_year(_years_frame())
    looks = [_look(t) for t in fig.data]
    colours = {colour for colour, _ in looks}
    assert len(colours) == 3 and colours <= set(charts.OKABE_ITO.values())
    # Printed in black and white, only the fill patterns tell the series apart.
    assert len({pattern for _, pattern in looks}) == 3


def test_budget_per_year_by_collectivity_has_one_panel_per_collectivity():
    fig = charts.budget_per_year(_years_frame(), by_collectivity=True)

    assert len(fig.data) == 6
    panels = defaultdict(dict)
    for t in fig.data:
        panels[t.xaxis][t.name] = dict(zip(t.x, t.y, strict=True))
    assert panels["x"]["Demandé"] == {"2018": 12_500.50, "2019": 4_000}
    assert panels["x2"]["Réalisé"] == {"2018": 20_000, "2019": 7_000}
    titles = {a.text for a in fig.layout.annotations}
    assert {"Ville de Cahors", "Grand Cahors"} <= titles
    # One legend entry per series, not per panel.
    assert [t.name for t in fig.data if t.showlegend is not False] == [
        "Demandé",
        "Arbitré",
        "Réalisé",
    ]


def test_budget_per_objective_draws_horizontal_bars_in_euros():
    frame = pd.DataFrame(
        {
            "objective": ["1. Simplifier les démarches", "2. Inclusion numérique"],
            "arbitrated_cents": [12_345_600, 5_000_000],
            "spent_cents": [10_000_000, 5_500_050],
        }
    )
    fig = charts.budget_per_objective(frame)

    assert [t.name for t in fig.data] == ["Arbitré", "Réalisé"]
    assert all(t.orientation == "h" for t in fig.data)
    assert list(fig.data[0].y) == ["1. Simplifier les démarches", "2. Inclusion numérique"]
    assert list(fig.data[0].x) == [123_456, 50_000]
    assert list(fig.data[1].x) == [100_000, 55_000.50]
    assert "par objectif" in fig.layout.title.text
    assert fig.layout.xaxis.ticksuffix == " €"
    assert _look(fig.data[0]) != _look(fig.data[1])


def test_execution_vs_progress_places_each_action_against_the_diagonal():
    frame = pd.DataFrame(
        {
            "code": ["1.1", "2.3", "3.1"],
            "title": ["Sites internet", "Médiation", "Sans arbitrage"],
            "execution": [130.0, 40.0, None],
            "progress": [50, 80, 10],
        }
    )
    fig = charts.execution_vs_progress(frame)

    assert len(fig.data) == 2
    diagonal, points = fig.data
    assert diagonal.name == "dépense = avancement"
    assert list(diagonal.x) == list(diagonal.y)
    assert list(points.text) == ["1.1", "2.3"]  # no arbitrated money: no point
    assert list(points.x) == [50, 80]
    assert list(points.y) == [130.0, 40.0]
    assert fig.layout.xaxis.title.text == "Avancement (%)"
    assert fig.layout.yaxis.title.text == "Crédits arbitrés dépensés (%)"
    assert fig.layout.yaxis.range[1] > 130  # overspending stays visible
    assert fig.layout.title.text == "Dépense et avancement des actions"


@pytest.mark.parametrize(
    ("chart", "columns"),
    [
        (charts.budget_per_year, ["year", "requested_cents", "arbitrated_cents", "spent_cents"]),
        (charts.budget_per_objective, ["objective", "arbitrated_cents", "spent_cents"]),
        (charts.execution_vs_progress, ["code", "title", "execution", "progress"]),
    ],
)
@pytest.mark.parametrize("with_columns", [True, False])
def test_charts_say_when_there_is_no_budget_data(
    chart: Callable[[pd.DataFrame], go.Figure], columns: list[str], with_columns: bool
):
    fig = chart(pd.DataFrame(columns=columns if with_columns else None))
    assert len(fig.data) == 0
    assert [a.text for a in fig.layout.annotations] == ["Aucune donnée budgétaire"]
    assert fig.layout.title.text


# --------------------------------------------------------------------------
# Finance workbook
# --------------------------------------------------------------------------


def _workbook(engine, plan_id: int, year: int | None = None):
    with db.session_scope(engine) as session:
        content = finance_workbook(session, plan_id, year)
    return load_workbook(io.BytesIO(content))


def _lines_and_total(ws: Worksheet) -> tuple[list[dict], dict]:
    """The year sheet's lines and its totals row, as dicts keyed by header."""
    rows = list(ws.iter_rows(values_only=True))
    headers = list(rows[0])
    records = [dict(zip(headers, r, strict=True)) for r in rows[1:] if r[0] is not None]
    end = next(i for i, r in enumerate(records) if str(r["Code action"]).startswith("Total"))
    return records[:end], records[end]


def _summary(ws: Worksheet) -> dict[tuple, tuple]:
    """(year, collectivity or total label) -> (requested, arbitrated, spent) in euros."""
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "Année") + 1
    return {(r[0], r[1]): r[2:5] for r in rows[start:] if r[1] is not None}


def _service_totals(engine, plan_id: int) -> dict[tuple, list[int]]:
    """Cents per (year, collectivity), summed over sections, from the budget service."""
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    with db.session_scope(engine) as session:
        for s in budgets.budget_by_year(session, plan_id):
            t = totals[(s.year, s.collectivity)]
            t[0] += s.totals.requested_cents
            t[1] += s.totals.arbitrated_cents
            t[2] += s.totals.spent_cents
    return totals


def test_finance_workbook_has_a_summary_then_one_sheet_per_year(engine, example_plan):
    wb = _workbook(engine, example_plan.id)
    years = range(example_plan.first_year, example_plan.last_year + 1)
    assert wb.sheetnames == ["Synthèse"] + [str(y) for y in years]
    ws = wb["2019"]
    assert [c.value for c in ws[1]] == LINE_HEADERS
    assert ws.freeze_panes is not None and ws.freeze_panes.endswith("2")
    assert all(ws.column_dimensions[letter].width for letter in "ABCDEFGHIJKL")


def test_year_sheet_lists_every_line_and_its_totals_row_adds_them_up(engine, example_plan):
    ws = _workbook(engine, example_plan.id)["2019"]
    lines, total = _lines_and_total(ws)
    with db.session_scope(engine) as session:
        expected = budgets.year_lines(session, example_plan.id, 2019)
        service_total = budgets.year_budget(session, example_plan.id, 2019).total

    assert [(r["Code action"], r["Collectivité"]) for r in lines] == [
        (v.action_code, v.collectivity) for v in expected
    ]
    assert all(r["Action"] and r["Objectif"] for r in lines)
    for column in MONEY_COLUMNS:
        assert total[column] == pytest.approx(sum(r[column] or 0 for r in lines))
    assert total["Code action"] == "Total 2019"
    assert total["Demandé (€)"] == pytest.approx(service_total.requested_cents / 100)
    assert total["Arbitré (€)"] == pytest.approx(service_total.arbitrated_cents / 100)
    assert total["Réalisé (€)"] == pytest.approx(service_total.spent_cents / 100)
    assert total["Taux de réalisation"] == pytest.approx(service_total.execution / 100)


def test_amounts_are_numbers_with_a_euro_format_and_rates_are_percentages(engine, example_plan):
    ws = _workbook(engine, example_plan.id)["2019"]
    headers = [c.value for c in ws[1]]
    money = [headers.index(h) + 1 for h in MONEY_COLUMNS]
    rate = headers.index("Taux de réalisation") + 1
    checked = 0
    for row in ws.iter_rows(min_row=2):
        if row[0].value is None:
            continue
        for column in money:
            cell = row[column - 1]
            assert isinstance(cell.value, int | float), (cell.coordinate, cell.value)
            assert cell.number_format == EURO_FORMAT
            checked += 1
        assert isinstance(row[rate - 1].value, int | float)
        assert "%" in row[rate - 1].number_format
    assert checked > 4 * 10


def test_summary_totals_equal_the_budget_service(engine, example_plan):
    summary = _summary(_workbook(engine, example_plan.id)["Synthèse"])
    service = _service_totals(engine, example_plan.id)

    for (year, collectivity), cents in service.items():
        assert summary[(year, collectivity)] == pytest.approx([c / 100 for c in cents])
    for year in {y for y, _ in service}:
        per_year = [v for (y, _), v in service.items() if y == year]
        assert summary[(year, f"Total {year}")] == pytest.approx(
            [sum(v[i] for v in per_year) / 100 for i in range(3)]
        )
    grand = next(v for (y, label), v in summary.items() if label.startswith("Total général"))
    assert grand == pytest.approx([sum(v[i] for v in service.values()) / 100 for i in range(3)])


def test_summary_names_the_plan_and_says_the_example_is_illustrative(engine, example_plan):
    def texts() -> list[str]:
        ws = _workbook(engine, example_plan.id)["Synthèse"]
        return [c.value for row in ws.iter_rows(max_col=1) for c in row if isinstance(c.value, str)]

    assert example_plan.name in texts()[0]
    assert any("Plan d'exemple : données illustratives" in t for t in texts())
    with db.session_scope(engine, write=True) as session:
        session.get(Plan, example_plan.id).is_example = False
    assert not any("illustratives" in t for t in texts())


def test_a_single_year_export_holds_only_that_year(engine, example_plan):
    wb = _workbook(engine, example_plan.id, 2020)
    assert wb.sheetnames == ["Synthèse", "2020"]
    summary = _summary(wb["Synthèse"])
    assert {year for year, _ in summary} == {2020, None}


def test_a_year_outside_the_plan_or_without_lines_is_refused(engine, example_plan):
    with db.session_scope(engine) as session, pytest.raises(ValidationError, match="hors de la"):
        finance_workbook(session, example_plan.id, example_plan.last_year + 1)
    with db.session_scope(engine, write=True) as session:
        session.execute(sa.delete(BudgetLine).where(BudgetLine.year == 2026))
    with db.session_scope(engine) as session, pytest.raises(ValidationError, match="Aucune ligne"):
        finance_workbook(session, example_plan.id, 2026)
    # The whole export still shows the empty year, with zero totals.
    lines, total = _lines_and_total(_workbook(engine, example_plan.id)["2026"])
    assert lines == []
    assert total["Demandé (€)"] == 0 and total["Taux de réalisation"] is None


def test_a_line_not_yet_arbitrated_leaves_its_difference_and_rate_empty(engine, example_plan):
    with db.session_scope(engine, write=True) as session:
        line = (
            session.execute(
                sa.select(BudgetLine).where(BudgetLine.year == 2021).order_by(BudgetLine.id)
            )
            .scalars()
            .first()
        )
        line.arbitrated_cents = None
        requested = line.requested_cents / 100
    ws = _workbook(engine, example_plan.id)["2021"]
    lines, total = _lines_and_total(ws)
    pending = [r for r in lines if r["Arbitré (€)"] is None]
    assert len(pending) == 1
    assert pending[0]["Demandé (€)"] == pytest.approx(requested)
    assert pending[0]["Écart arbitré − demandé (€)"] is None
    assert pending[0]["Taux de réalisation"] is None
    for column in MONEY_COLUMNS:
        assert total[column] == pytest.approx(sum(r[column] or 0 for r in lines))
    notes = [
        c.value for c in ws["A"] if isinstance(c.value, str) and "pas encore arbitrée" in c.value
    ]
    assert notes


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


@pytest.fixture
def cli_database(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The app's database for the command line, initialised with the example plan."""
    monkeypatch.setenv("TRACKER_DATABASE_URL", sqlite_url)
    assert main(["init"]) == 0
    yield sqlite_url
    db.dispose_engines()


def test_export_budget_command_writes_the_finance_workbook(cli_database, tmp_path: Path, capsys):
    target = tmp_path / "budget.xlsx"
    assert main(["export-budget", str(target), "--year", "2020"]) == 0
    assert "exporté dans" in capsys.readouterr().out
    assert load_workbook(target).sheetnames == ["Synthèse", "2020"]

    everything = tmp_path / "tout.xlsx"
    assert main(["export-budget", str(everything)]) == 0
    assert len(load_workbook(everything).sheetnames) == 1 + (2026 - 2018 + 1)


def test_export_budget_command_refuses_a_year_outside_the_plan(
    cli_database, tmp_path: Path, capsys
):
    target = tmp_path / "budget.xlsx"
    assert main(["export-budget", str(target), "--year", "2031"]) != 0
    assert "hors de la période du plan" in capsys.readouterr().err
    assert not target.exists()


def test_export_budget_command_refuses_an_unknown_plan(cli_database, tmp_path: Path, capsys):
    target = tmp_path / "budget.xlsx"
    assert main(["export-budget", str(target), "--plan", "Plan inconnu"]) != 0
    assert "Aucun plan ne s'appelle « Plan inconnu »" in capsys.readouterr().err
    assert not target.exists()


def _tree(actions: int) -> pd.DataFrame:
    rows = [
        {"id": "g1", "parent": "", "label": "Enjeu E1", "value": actions, "health": ""},
        {"id": "o1", "parent": "g1", "label": "Objectif 1", "value": actions, "health": ""},
    ]
    rows += [
        {"id": f"a{i}", "parent": "o1", "label": f"1.{i}", "value": 1, "health": "dans_les_temps"}
        for i in range(actions)
    ]
    return pd.DataFrame(rows).assign(hover="")


@pytest.mark.parametrize("actions", [19, charts.TREE_LABELLED_ACTIONS + 1])
def test_plan_tree_labels_every_tile_until_tiles_get_too_small_to_read(actions):
    fig = charts.plan_tree(_tree(actions), by_budget=False)
    texts = list(fig.data[0].texttemplate)
    assert texts[:2] == ["%{label}", "%{label}"]  # the stake and the objective: always named
    leaves = set(texts[2:])
    assert leaves == ({"%{label}"} if actions <= charts.TREE_LABELLED_ACTIONS else {""})
    assert list(fig.data[0].labels[2:]) == [f"1.{i}" for i in range(actions)]  # on hover
