"""Page tests (AppTest): the budget page and the yearly arbitration flow. The editable
table, the single line form and the closing sit in sections built only once opened
(``components.lazy_section``), all three in the year's preparation section; the filters
other than the year and the period's other charts too."""

from __future__ import annotations

import json

from sqlmodel import select

from tests.conftest import add_user, session_token
from tests.pages import (
    editor_state_key,
    html_tables,
    metric_cards,
    open_page,
    open_sections,
    run_app,
)
from tracker import db
from tracker.formats import format_eur
from tracker.models import Action, BudgetLine, BudgetSection, Collectivity, Plan, User
from tracker.services import budgets

PREP = "budget_2026_prep_open"
TABLE = "budget_2026_table_open"
LINE = "budget_2026_line_open"
CLOSING = "budget_2026_closing_open"
FILTERS = "budget_filters_open"
MORE_CHARTS = "budget_more_charts_open"
PREP_TITLE = "Préparation budgétaire et arbitrage 2026"
TABLE_TITLE = "Modifier les lignes budgétaires (tableau modifiable)"
LINE_TITLE = "Saisir une ligne"
CLOSING_TITLE = "Clôture de l'arbitrage"


def _budget_page(engine, role: str, year: int = 2026, login: str | None = None):
    at = open_page(run_app(session_token(engine, add_user(engine, role, login=login))), "Budget")
    at.selectbox(key="budget_year").set_value(year)
    return run_app(at=at)


def _sections(at) -> list[str]:  # noqa: ANN001
    return [e.label for e in at.get("expander")]


def _open_tools(at, *keys: str):  # noqa: ANN001, ANN202
    """Open the year's preparation section, then the sections ``keys`` inside it."""
    return open_sections(open_sections(at, PREP), *keys)


def _alerts(at):  # noqa: ANN001, ANN202
    """The alerts table: an HTML table when short, a data grid when long."""
    found = [t for t in html_tables(at) if "Alerte" in t.columns]
    found += [df.value for df in at.dataframe if "Alerte" in df.value.columns]
    assert len(found) == 1
    return found[0]


def _lines(engine) -> list[tuple]:
    with db.session_scope(engine) as session:
        return [
            (b.id, b.version, b.requested_cents, b.arbitrated_cents)
            for b in session.exec(select(BudgetLine).order_by(BudgetLine.id))
        ]


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
    # The year's state and four key figures, as one block of cards.
    cards = metric_cards(at)
    assert [label for label, _, _ in cards] == [
        "Demandé",
        "Arbitré",
        "Réalisé",
        "Taux de réalisation",
    ]
    assert cards[0][1] == table["Demandé"].iloc[-1]
    assert any("Arbitrage 2022" in h.proto.body for h in at.get("html"))
    # At a glance, the per-year chart; the other three once their section is opened.
    assert len(at.get("plotly_chart")) == 1
    alerts = _alerts(at)
    assert "Dépense au-delà de l'arbitrage" in set(alerts["Alerte"])
    assert not at.get("data_editor") and not at.get("form")
    assert not {PREP_TITLE, TABLE_TITLE, LINE_TITLE, CLOSING_TITLE} & set(_sections(at))
    assert "Télécharger le budget (.xlsx)" in [b.label for b in at.get("download_button")]
    at = open_sections(at, MORE_CHARTS)
    assert len(at.get("plotly_chart")) == 4


def test_a_long_list_of_alerts_shows_its_counts_and_the_list_once_opened(app_engine, monkeypatch):
    """Beyond SHORT_LIST alerts (326 on a plan of 500 actions), the page shows their count
    by kind at once and sends the sortable list only once its section is opened. (The
    example plan has a few alerts: the limit is lowered to reach the long-list case.)"""
    from tracker.ui.pages import budget as budget_page

    monkeypatch.setattr(budget_page, "SHORT_LIST", 1)
    at = _budget_page(app_engine, "viewer", 2022)
    assert not [t for t in html_tables(at) if "Alerte" in t.columns]
    assert not [df for df in at.dataframe if "Alerte" in df.value.columns]
    caption = next(c.value for c in at.caption if " alerte(s) : " in c.value)
    count = int(caption.split(" alerte(s)")[0])
    assert count > 1 and "Dépense au-delà de l'arbitrage : " in caption
    assert f"Voir les {count} alertes" in _sections(at)
    at = open_sections(at, "budget_alerts_open")
    assert len(_alerts(at)) == count


def test_the_filters_are_folded_and_once_chosen_still_apply_and_are_named(app_engine):
    at = _budget_page(app_engine, "viewer", 2026)
    # Folded at first: only the year is chosen at a glance.
    assert [s.label for s in at.selectbox] == ["Année"]
    total = metric_cards(at)[0][1]

    at = open_sections(at, FILTERS)
    assert [s.label for s in at.selectbox] == ["Année", "Collectivité", "Section", "Objectif"]
    at.selectbox(key="budget_collectivity").set_value("Grand Cahors")
    at = run_app(at=at)
    filtered = metric_cards(at)[0][1]
    assert filtered != total

    # Folded again: the choice still applies, and a caption says which.
    at.session_state[FILTERS] = False
    at = run_app(at=at)
    assert [s.label for s in at.selectbox] == ["Année"]
    assert metric_cards(at)[0][1] == filtered
    assert "Filtres appliqués : Collectivité : Grand Cahors" in [c.value for c in at.caption]
    at = open_sections(at, FILTERS)
    assert at.selectbox(key="budget_collectivity").value == "Grand Cahors"


def test_editor_arbitrates_a_request_then_a_closed_year_refuses_changes(app_engine):
    at = _open_tools(_budget_page(app_engine, "editor", 2026), TABLE)
    editor_key = "budget_editor_2026"
    base = at.get("data_editor")[0].value
    row = int(base.index[(base["Action"] == "2.2")][0])
    at.session_state[editor_state_key(at, editor_key)] = {
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
    admin_at = _open_tools(_budget_page(app_engine, "admin", 2026), CLOSING)
    admin_at.button(key="close_2026").click()
    admin_at = run_app(at=admin_at)
    assert any("Arbitrage 2026 clôturé" in s.value for s in admin_at.success)

    at = _budget_page(app_engine, "editor", 2026, login="editrice2")
    assert any("sont figés" in i.value for i in at.info)  # at a glance, section closed
    at = _open_tools(at, TABLE)
    base = at.get("data_editor")[0].value
    row = int(base.index[(base["Action"] == "2.2")][0])
    # Even if the browser sent a change of a frozen column, the service refuses it.
    at.session_state[editor_state_key(at, editor_key)] = {
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


def test_the_editor_gets_the_table_and_the_line_form_only_once_their_sections_are_opened(
    app_engine,
):
    at = _budget_page(app_engine, "editor", 2026)
    # At a glance: the year's figures; the preparation folded, nothing of it built.
    tools = (PREP_TITLE, TABLE_TITLE, LINE_TITLE, CLOSING_TITLE)
    assert [s for s in _sections(at) if s in tools] == [PREP_TITLE]
    assert not at.get("data_editor") and not at.get("form")
    assert "Enregistrer le budget 2026" not in [b.label for b in at.button]
    year_table = next(df.value for df in at.dataframe if "Arbitré − demandé" in df.value.columns)
    assert year_table["Action"].iloc[-1] == "Total général"

    # Opened: the table and the form, each folded, and no closing for an editor
    # (administrators only).
    at = open_sections(at, PREP)
    assert [s for s in _sections(at) if s in tools] == [PREP_TITLE, TABLE_TITLE, LINE_TITLE]
    assert not at.get("data_editor") and not at.get("form")
    at = open_sections(at, TABLE, LINE)
    assert len(at.get("data_editor")) == 1
    assert "Enregistrer le budget 2026" in [b.label for b in at.button]
    assert {b.form_id for b in at.button if b.form_id} == {"budget_line_2026"}


def test_the_administrator_gets_the_closing_only_once_its_section_is_opened(app_engine):
    at = _budget_page(app_engine, "admin", 2026)
    assert CLOSING_TITLE not in _sections(at)
    at = open_sections(at, PREP)
    assert CLOSING_TITLE in _sections(at)
    assert "Clôturer l'arbitrage 2026" not in [b.label for b in at.button]
    at = open_sections(at, CLOSING)
    assert "Clôturer l'arbitrage 2026" in [b.label for b in at.button]


def _fill_line(at, requested: str, arbitrated: str):  # noqa: ANN001, ANN202
    """The single line form for 1.1 (the first action), Ville de Cahors, investissement."""
    form = "budget_line_2026"
    choices = {b.label: b for b in at.selectbox if b.form_id == form}
    assert (choices["Action"].value, choices["Collectivité"].value) == ("1.1", "Ville de Cahors")
    choices["Section"].set_value("Investissement")
    fields = {t.label: t for t in at.text_input if t.form_id == form}
    fields["Demandé (€)"].input(requested)
    fields["Arbitré (€)"].input(arbitrated)
    next(b for b in at.button if b.label == "Enregistrer la ligne 2026").click()
    return run_app(at=at)


def test_the_line_form_saves_a_line_and_stays_open(app_engine):
    at = _open_tools(_budget_page(app_engine, "editor", 2026), LINE)
    at = _fill_line(at, "150 000", "120 000,50 €")

    assert "Ligne 1.1 2026 enregistrée." in [s.value for s in at.success]
    line = _line(app_engine, "1.1", 2026, "Ville de Cahors", "investissement")
    assert (line.requested_cents, line.arbitrated_cents) == (15_000_000, 12_000_050)
    assert at.session_state[LINE] is True
    assert {b.form_id for b in at.button if b.form_id} == {"budget_line_2026"}


def test_an_unreadable_amount_in_the_line_form_writes_nothing_and_says_why(app_engine):
    before = _lines(app_engine)
    at = _open_tools(_budget_page(app_engine, "editor", 2026), LINE)
    at = _fill_line(at, "douze mille", "")

    assert at.error[0].value == (
        "Montant ou date illisible : montant illisible « douze mille ». Rien n'a été enregistré."
    )
    assert not at.success
    assert _lines(app_engine) == before


def _add_line_elsewhere(engine, user: User) -> None:
    """Another editor adds 1.1, Ville de Cahors, investissement for 2026."""
    with db.session_scope(engine, write=True) as session:
        plan_id = session.exec(select(Plan.id)).one()
        action_id = session.exec(select(Action.id).where(Action.code == "1.1")).one()
        edit = budgets.LineEdit(
            action_id, "Ville de Cahors", BudgetSection.INVESTISSEMENT, requested_cents=100
        )
        budgets.save_lines(session, user, plan_id, 2026, [edit])


def test_the_table_folded_then_opened_again_reads_the_lines_afresh(app_engine):
    at = _open_tools(_budget_page(app_engine, "editor", 2026), TABLE)
    rows = len(at.get("data_editor")[0].value)
    _add_line_elsewhere(app_engine, add_user(app_engine, "editor", login="editrice2"))

    # While open, the table keeps the lines it was opened with (edits in progress)...
    at = run_app(at=at)
    assert len(at.get("data_editor")[0].value) == rows
    # ...folded then opened again, it shows the line added meanwhile.
    at.session_state[TABLE] = False
    at = run_app(at=at)
    assert not at.get("data_editor")
    at = open_sections(at, TABLE)
    table = at.get("data_editor")[0].value
    assert len(table) == rows + 1
    assert format_eur(100, always_cents=True) in set(table["Demandé (€)"])


def test_the_per_collectivity_chart_draws_one_panel_per_collectivity_once_opened(app_engine):
    at = _budget_page(app_engine, "viewer", 2026)

    def panels(at) -> list[list[str]]:  # noqa: ANN001
        specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
        return [[a["text"] for a in spec["layout"].get("annotations", [])] for spec in specs]

    assert panels(at) == [[]]  # at a glance: the whole plan per year
    assert "Plus de graphiques : par collectivité, par objectif, dépenses par action" in (
        _sections(at)
    )
    at = open_sections(at, MORE_CHARTS)
    assert sorted(panels(at)[1]) == ["Grand Cahors", "Ville de Cahors"]
    at.session_state[MORE_CHARTS] = False
    at = run_app(at=at)
    assert len(at.get("plotly_chart")) == 1
