"""Page tests (AppTest): the budget page and the yearly arbitration flow."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.conftest import add_user, session_token
from tests.pages import open_page, run_app
from tracker import db
from tracker.bootstrap import prepare_database
from tracker.models import Action, BudgetLine, Collectivity


@pytest.fixture
def app_engine(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'app' / 'tracker.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    engine = db.get_engine(url)
    prepare_database(engine)
    return engine


def _budget_page(engine, role: str, year: int = 2026, login: str | None = None):
    at = open_page(run_app(session_token(engine, add_user(engine, role, login=login))), "Budget")
    at.selectbox(key="budget_year").set_value(year)
    return run_app(at=at)


def _line(engine, code: str, year: int, collectivity: str, section: str) -> BudgetLine:
    with db.session_scope(engine) as session:
        return session.exec(
            select(BudgetLine)
            .join(Action, Action.id == BudgetLine.action_id)
            .join(Collectivity, Collectivity.id == BudgetLine.collectivity_id)
            .where(
                Action.code == code,
                BudgetLine.year == year,
                Collectivity.name == collectivity,
                BudgetLine.section == section,
            )
        ).one()


def test_viewer_sees_the_year_the_period_charts_and_alerts_but_no_editor(app_engine):
    at = _budget_page(app_engine, "viewer", 2022)
    table = next(df.value for df in at.dataframe if "Arbitré − demandé" in df.value.columns)
    assert table["Action"].iloc[-1] == "Total général"
    assert any(a.startswith("Sous-total objectif 1") for a in table["Action"])
    assert len(at.get("plotly_chart")) == 3
    alerts = next(df.value for df in at.dataframe if "Alerte" in df.value.columns)
    assert "Dépense au-delà de l'arbitrage" in set(alerts["Alerte"])
    assert not at.get("data_editor")
    assert "Télécharger le budget (.xlsx)" in [b.label for b in at.get("download_button")]


def test_editor_arbitrates_a_request_then_a_closed_year_refuses_changes(app_engine):
    at = _budget_page(app_engine, "editor", 2026)
    editor_key = "budget_editor_2026"
    base = at.get("data_editor")[0].value
    row = int(base.index[(base["Action"] == "2.2")][0])
    at.session_state[editor_key] = {
        "edited_rows": {row: {"Arbitré (€)": "12 345,50 €"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at = run_app(at=at)
    at.button(key="budget_save_2026").click()
    at = run_app(at=at)
    assert any("1 ligne(s) enregistrée(s)" in s.value for s in at.success)
    line_code = base.loc[row]
    saved = _line(
        app_engine,
        "2.2",
        2026,
        line_code["Collectivité"],
        "fonctionnement" if line_code["Section"] == "Fonctionnement" else "investissement",
    )
    assert saved.arbitrated_cents == 1234550

    # An admin closes 2026: the arbitrated amount is then frozen for everyone.
    admin_at = _budget_page(app_engine, "admin", 2026)
    admin_at.button(key="close_2026").click()
    admin_at = run_app(at=admin_at)
    assert any("Arbitrage 2026 clôturé" in s.value for s in admin_at.success)

    at = _budget_page(app_engine, "editor", 2026, login="editrice2")
    assert any("sont figés" in i.value for i in at.info)
    base = at.get("data_editor")[0].value
    row = int(base.index[(base["Action"] == "2.2")][0])
    # Even if the browser sent a change of a frozen column, the service refuses it.
    at.session_state[editor_key] = {
        "edited_rows": {row: {"Arbitré (€)": "1 €", "Réalisé (€)": "5,00"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at = run_app(at=at)
    at.button(key="budget_save_2026").click()
    at = run_app(at=at)
    assert "L'arbitrage 2026 est clôturé" in at.error[0].value
    assert (
        _line(app_engine, "2.2", 2026, line_code["Collectivité"], saved.section).arbitrated_cents
        == 1234550
    )
