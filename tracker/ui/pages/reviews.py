"""« Comités de pilotage »: the meetings, their frozen snapshots, what changed
since the previous one, and the decisions followed up from one to the next."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tracker import charts, db, strings
from tracker.charts import format_value
from tracker.errors import TrackerError
from tracker.formats import format_date, format_datetime, format_eur
from tracker.io.report import (
    change_counts,
    change_label,
    change_value,
    done_text,
    report_content,
    report_pdf,
    report_xlsx,
)
from tracker.models import DecisionStatus, ReviewStatus, User
from tracker.services import reviews as review_service
from tracker.services.permissions import Permission, has_permission
from tracker.services.reviews import Comparison, DecisionInput, ReviewInput
from tracker.settings import get_settings
from tracker.ui import auth, context, data
from tracker.ui.components import (
    Table,
    arrow_table,
    chart_with_table,
    example_banner,
    frozen_figure,
    lazy_section,
    plain,
    saved_message,
)

_SAVED = "reviews_saved"
NOW = 0  # the "review" standing for the plan as it is now, in comparisons
# Changes of one kind shown at once; more are folded under their count, in a section
# built once opened (hundreds of rows, a dozen tables, on every run otherwise).
FIRST_ROWS = 15


@dataclass(frozen=True)
class Reviews:
    """The plan's committees (with their frozen snapshots), and the list the page shows."""

    items: list[dict]
    table: Table | None  # None when there is no committee yet


# The committees (with their frozen snapshots of the whole plan) and the decisions
# are read once per data change and shared by every session without a copy
# (st.cache_resource; nothing mutates them): unpickling st.cache_data's copy of the
# snapshots took milliseconds on every run. The tables shown are built with them. The
# page calls the cached functions with keyword arguments: for each positional one,
# Streamlit (1.67) works out the function's signature again, on every run.
@st.cache_resource(max_entries=16, show_spinner=False)
def _reviews(url: str, plan_id: int, rev: int) -> Reviews:
    with db.session_scope(db.get_engine(url)) as session:
        items = [
            {
                "id": r.id,
                "date": r.date,
                "title": r.title,
                "attendees": r.attendees,
                "agenda": r.agenda,
                "status": ReviewStatus(r.status),
                "closed_at": r.closed_at,
                "snapshot": r.snapshot,
            }
            for r in review_service.list_reviews(session, plan_id)
        ]
    table = pd.DataFrame(
        [
            {
                "Date": format_date(r["date"]),
                "Comité": r["title"],
                "État": strings.REVIEW_STATUS_LABELS[r["status"]],
                "Instantané du": format_date(date.fromisoformat(r["snapshot"]["at"]))
                if r["snapshot"]
                else "",
            }
            for r in items
        ]
    )
    return Reviews(items, arrow_table(table) if items else None)


@dataclass(frozen=True)
class Decisions:
    """The decisions followed up, as the page shows them."""

    rows: list[review_service.DecisionView]
    frame: pd.DataFrame  # what the follow-up editor starts from (it copies it)
    shown: Table  # the read-only table: no id, dates as text
    late: int


@st.cache_resource(max_entries=16, show_spinner=False)
def _decisions(url: str, plan_id: int, rev: int, at: date) -> Decisions:
    with db.session_scope(db.get_engine(url)) as session:
        rows = review_service.decisions(session, plan_id, at)
    frame = pd.DataFrame(
        [
            {
                "id": d.id,
                "Comité": f"{d.review_title} ({format_date(d.review_date)})",
                "Décision": d.text,
                "Action": d.action_code or "",
                "Objectif": d.objective_code or "",
                "Responsable": d.owner,
                "Échéance": d.due_date,
                "Statut": strings.DECISION_STATUS_LABELS[d.status],
                "En retard": "⏰ oui" if d.overdue else "",
            }
            for d in rows
        ]
    )
    shown = frame  # an empty frame has no columns
    if rows:
        due = [format_date(d) for d in frame["Échéance"]]
        shown = frame.drop(columns=["id"]).assign(Échéance=due)
    return Decisions(rows, frame, arrow_table(shown), sum(1 for d in rows if d.overdue))


@st.cache_data(max_entries=8, show_spinner="Instantané du plan…")
def _current_snapshot(url: str, plan_id: int, rev: int, at: date) -> dict:
    with db.session_scope(db.get_engine(url)) as session:
        return review_service.take_snapshot(session, plan_id, at)


def _write(operation, message: str) -> None:  # noqa: ANN001
    try:
        with db.session_scope(context.engine(), write=True) as session:
            operation(session)
    except TrackerError as exc:
        st.error(str(exc))
        return
    st.session_state[_SAVED] = message
    st.rerun()


def _review_form(user: User, plan_id: int, review: dict | None) -> None:
    key = f"review_form_{review['id'] if review else 'new'}"
    with st.form(key, clear_on_submit=review is None):
        cols = st.columns([1, 3])
        when = cols[0].date_input(
            "Date du comité",
            value=review["date"] if review else context.today(),
            format="DD/MM/YYYY",
        )
        title = cols[1].text_input(
            "Titre",
            value=review["title"] if review else "",
            max_chars=300,
            placeholder="Comité de pilotage n°…",
        )
        attendees = st.text_area("Participants", value=review["attendees"] if review else "")
        agenda = st.text_area("Ordre du jour", value=review["agenda"] if review else "")
        submitted = st.form_submit_button(
            "Ouvrir le comité" if review is None else "Enregistrer", type="primary"
        )
    if not submitted:
        return
    values = ReviewInput(when, title, attendees, agenda)
    if review is None:
        _write(
            lambda s: st.session_state.__setitem__(
                "reviews_selected", review_service.open_review(s, user, plan_id, values).id
            ),
            "Comité ouvert.",
        )
    else:
        _write(
            lambda s: review_service.update_review(s, user, review["id"], values),
            "Comité enregistré.",
        )


def _decision_form(user: User, plan_id: int, review: dict) -> None:
    structure = data.plan_structure(plan_id)
    actions = {a.id: f"{a.code} — {a.title}" for a in structure.actions}
    objectives = {o.id: f"{o.code} : {o.title}" for o in structure.objectives}
    with st.form(f"decision_new_{review['id']}", clear_on_submit=True):
        text = st.text_area("Décision")
        cols = st.columns(2)
        action = cols[0].selectbox(
            "Action concernée",
            [None, *actions],
            format_func=lambda a: "(aucune)" if a is None else actions[a],
        )
        objective = cols[1].selectbox(
            "Objectif concerné",
            [None, *objectives],
            format_func=lambda o: "(aucun)" if o is None else objectives[o],
        )
        cols = st.columns(2)
        owner = cols[0].text_input("Responsable", max_chars=200)
        due = cols[1].date_input("Échéance", value=None, format="DD/MM/YYYY")
        submitted = st.form_submit_button("Enregistrer la décision")
    if submitted:
        values = DecisionInput(text, action, objective, owner, due)
        _write(
            lambda s: review_service.add_decision(s, user, review["id"], values),
            "Décision enregistrée.",
        )


def _decisions_table(user: User | None, plan_id: int) -> None:
    st.header("Suivi des décisions")
    decisions = _decisions(
        url=get_settings().database_url, plan_id=plan_id, rev=context.revision(), at=context.today()
    )
    if not decisions.rows:
        st.info("Aucune décision n'a encore été enregistrée.")
        return
    if decisions.late:
        st.warning(f"{decisions.late} décision(s) en retard sur leur échéance.", icon="⏰")
    st.dataframe(decisions.shown, hide_index=True, key="reviews_decisions")
    if not has_permission(user, Permission.EDIT_PLAN):
        return
    # The editable table is built only once opened: most visits read the page.
    label = "Modifier le suivi des décisions (tableau modifiable)"
    if (box := lazy_section(label, "reviews_decisions_table_open")) is not None:
        with box:
            _decisions_editor(user, decisions)


def _decisions_editor(user: User, decisions: Decisions) -> None:
    labels = list(strings.DECISION_STATUS_LABELS.values())
    edited = st.data_editor(
        decisions.frame,
        hide_index=True,
        key="reviews_decisions_editor",
        disabled=["id", "Comité", "Décision", "Action", "Objectif", "En retard"],
        column_config={
            "id": None,
            "Statut": st.column_config.SelectboxColumn(options=labels, required=True),
            "Échéance": st.column_config.DateColumn(format="DD/MM/YYYY"),
        },
    )
    st.caption("Modifiez le statut, le responsable ou l'échéance, puis enregistrez le suivi.")
    if st.button("Enregistrer le suivi des décisions", key="reviews_decisions_save"):
        by_label = {label: status for status, label in strings.DECISION_STATUS_LABELS.items()}
        views = {d.id: d for d in decisions.rows}

        def save(session) -> None:  # noqa: ANN001
            for _, row in edited.iterrows():
                d = views[int(row["id"])]
                due = row["Échéance"]
                due = due.date() if hasattr(due, "date") and not isinstance(due, date) else due
                due = None if pd.isna(due) else due
                owner = "" if pd.isna(row["Responsable"]) else str(row["Responsable"])
                status = by_label[row["Statut"]]
                if (status, owner, due) != (d.status, d.owner, d.due_date):
                    review_service.follow_up_decision(
                        session, user, d.id, d.version, status=status, owner=owner, due_date=due
                    )

        _write(save, "Suivi des décisions enregistré.")


def _snapshot_label(review: dict) -> str:
    return f"{review['title']} ({format_date(review['date'])})"


def _comparison(plan_id: int, reviews: list[dict]) -> None:
    st.header("Depuis le dernier comité")
    closed = [r for r in reviews if r["status"] == ReviewStatus.CLOSED and r["snapshot"]]
    if not closed:
        st.info("Aucun comité n'est encore clos : la comparaison commencera après le premier.")
        return
    choices = {r["id"]: _snapshot_label(r) for r in closed}
    cols = st.columns(2)
    before_id = cols[0].selectbox(
        "Depuis", list(choices), index=len(choices) - 1, format_func=choices.get
    )
    later = [
        r["id"]
        for r in closed
        if (r["date"], r["id"]) > next((x["date"], x["id"]) for x in closed if x["id"] == before_id)
    ]
    after_options = [*later, NOW]
    after_id = cols[1].selectbox(
        "Jusqu'à",
        after_options,
        index=len(after_options) - 1,
        format_func=lambda i: "Aujourd'hui (le plan tel qu'il est)" if i == NOW else choices[i],
    )
    show_comparison(
        _comparison_view(
            url=get_settings().database_url,
            plan_id=plan_id,
            rev=context.revision(),
            before_id=before_id,
            after_id=after_id,
            at=context.today(),
        )
    )


@dataclass(frozen=True)
class ComparisonView:
    """What changed between two snapshots, with the chart and tables the page shows
    (as Arrow tables: see ``arrow_table``)."""

    comparison: Comparison
    figure: go.Figure | None
    summary: Table
    objectives: list[tuple[str, Table]] = field(default_factory=list)
    action_changes: int = 0  # rows of the objectives' tables
    milestones: Table | None = None
    budget: Table | None = None
    indicators: Table | None = None
    decisions: Table | None = None


# Built once per data change and choice of committees, and shared by every session
# without a copy (st.cache_resource; nothing mutates it): on a plan of 500 actions,
# comparing and formatting the changes took more than a second on every run.
@st.cache_resource(max_entries=16, show_spinner=False)
def _comparison_view(
    url: str, plan_id: int, rev: int, before_id: int, after_id: int, at: date
) -> ComparisonView:
    snapshots = {r["id"]: r["snapshot"] for r in _reviews(url, plan_id, rev).items if r["snapshot"]}
    after = _current_snapshot(url, plan_id, rev, at) if after_id == NOW else snapshots[after_id]
    return comparison_view(review_service.compare(snapshots[before_id], after), after)


def comparison_view(c: Comparison, after: dict) -> ComparisonView:
    """The chart and tables of a comparison (``after``: the later snapshot)."""
    summary = change_counts(c)
    titles = {o["code"]: o["title"] for o in after["objectives"]}
    objectives = [
        (
            f"{code} : {titles.get(code, '')}",
            arrow_table(
                pd.DataFrame(
                    [
                        {
                            "Action": f"{ch.code} — {ch.title}",
                            "Quoi": change_label(ch.field),
                            "Avant": change_value(ch.field, ch.old),
                            "Après": change_value(ch.field, ch.new),
                        }
                        for ch in items
                    ]
                )
            ),
        )
        for code, items in sorted(c.by_objective.items())
    ]
    milestones = [
        {
            "Action": m["action"],
            "Jalon": m["title"],
            "Échéance": format_date(date.fromisoformat(m["due"])) if m["due"] else "",
            "Changement": done_text(m),
        }
        for m in c.completed_milestones
    ] + [
        {
            "Action": m["action"],
            "Jalon": m["title"],
            "Échéance": format_date(date.fromisoformat(m["due"])),
            "Changement": "passé en retard",
        }
        for m in c.newly_late_milestones
    ]
    budget = [
        {"Année": year, "Montant": what, "Avant": format_eur(old), "Après": format_eur(new)}
        for year, what, old, new in c.budget
    ]
    indicators = [
        {
            "Indicateur": f"{new['code']} — {new['name']}",
            "Avant": (
                f"{format_value(old['value'], new['unit'])} "
                f"({format_date(date.fromisoformat(old['date']))})"
            )
            if old and old.get("date")
            else "–",
            "Après": f"{format_value(new['value'], new['unit'])} "
            f"({format_date(date.fromisoformat(new['date']))})",
            "Statut": strings.indicator_status_label(new["status"]),
        }
        for old, new in c.indicators
    ]
    decisions = [
        {"Décision": d["text"], "Changement": "ouverte", "Comité": d["review_title"]}
        for d in c.decisions_opened
    ] + [
        {
            "Décision": d["text"],
            "Changement": strings.DECISION_STATUS_LABELS[DecisionStatus(d["status"])],
            "Comité": d["review_title"],
        }
        for d in c.decisions_closed
    ]

    def table(rows: list[dict]) -> Table | None:
        return arrow_table(pd.DataFrame(rows)) if rows else None

    return ComparisonView(
        comparison=c,
        figure=None if c.empty else frozen_figure(charts.changes_summary(summary)),
        summary=arrow_table(summary.rename(columns={"quoi": "Changement", "nombre": "Nombre"})),
        objectives=objectives,
        action_changes=sum(len(items) for items in c.by_objective.values()),
        milestones=table(milestones),
        budget=table(budget),
        indicators=table(indicators),
        decisions=table(decisions),
    )


def show_comparison(view: ComparisonView) -> None:
    """The changes between two snapshots: a compact chart, then the changes of each kind
    (a list longer than FIRST_ROWS folded under its count, built once opened)."""
    c = view.comparison
    st.caption(f"Du {format_date(c.before_at)} au {format_date(c.after_at)}.")
    if c.empty:
        st.success("Aucun changement entre ces deux dates.")
        return
    chart_with_table(
        view.figure,
        view.summary,
        key="reviews_changes_chart",
        alt="Nombre de changements de chaque sorte depuis le comité choisi.",
    )
    if view.objectives:
        st.subheader("Actions, par objectif")
        count = view.action_changes
        if count <= FIRST_ROWS:
            _objective_tables(view)
        else:
            label = f"Voir les {count} changements des actions, par objectif"
            if (box := lazy_section(label, "reviews_changes_actions_open")) is not None:
                with box:
                    _objective_tables(view)
    for title, table, key, what in (
        ("Jalons", view.milestones, "reviews_changes_milestones", "jalons"),
        ("Budget", view.budget, "reviews_changes_budget", "changements de budget"),
        (
            "Indicateurs : nouvelles mesures",
            view.indicators,
            "reviews_changes_indicators",
            "nouvelles mesures",
        ),
        ("Décisions", view.decisions, "reviews_changes_decisions", "décisions"),
    ):
        if table is None:
            continue
        st.subheader(title)
        if len(table) <= FIRST_ROWS:
            st.dataframe(table, hide_index=True, key=key)
        elif (box := lazy_section(f"Voir les {len(table)} {what}", f"{key}_open")) is not None:
            with box:
                st.dataframe(table, hide_index=True, key=key)


def _objective_tables(view: ComparisonView) -> None:
    for label, table in view.objectives:
        st.markdown(f"**Objectif {label}**")
        code = label.split(" : ")[0]
        st.dataframe(table, hide_index=True, key=f"reviews_changes_{code}")


def _report_buttons(plan_id: int, review_id: int) -> None:
    """The committee's report: built on demand (a few seconds), then downloaded."""
    key = f"reviews_report_{review_id}_{context.revision()}"
    if st.button(
        "Préparer le rapport du comité (PDF et .xlsx)", key=f"reviews_prepare_{review_id}"
    ):
        with st.spinner("Préparation du rapport (graphiques compris)…"):
            try:
                with db.session_scope(context.engine()) as session:
                    content = report_content(session, plan_id, review_id, context.today())
                st.session_state[key] = (
                    content.file_stem,
                    report_pdf(content),
                    report_xlsx(content),
                )
            except TrackerError as exc:
                st.error(str(exc))
    prepared = st.session_state.get(key)
    if prepared:
        stem, pdf, xlsx = prepared
        cols = st.columns(2)
        cols[0].download_button(
            "Télécharger le rapport (PDF)",
            pdf,
            file_name=f"{stem}.pdf",
            mime="application/pdf",
            key=f"reviews_pdf_{review_id}",
        )
        cols[1].download_button(
            "Télécharger les chiffres (.xlsx)",
            xlsx,
            file_name=f"{stem}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"reviews_xlsx_{review_id}",
        )


def _review_detail(user: User | None, plan_id: int, review: dict) -> None:
    editor = has_permission(user, Permission.EDIT_PLAN)
    closed = review["status"] == ReviewStatus.CLOSED
    st.subheader(_snapshot_label(review))
    if closed:
        st.success(
            f"Comité clos le {format_datetime(review['closed_at'])} : l'instantané du plan est "
            f"figé au {format_date(date.fromisoformat(review['snapshot']['at']))}."
        )
    else:
        st.info("Comité ouvert : les décisions s'y enregistrent ; sa clôture fige le plan.")
    if review["attendees"]:
        st.markdown("**Participants**")
        plain(review["attendees"])
    if review["agenda"]:
        st.markdown("**Ordre du jour**")
        plain(review["agenda"])
    _report_buttons(plan_id, review["id"])
    if not editor or closed:
        return
    # The forms are built only once opened: most visits read the page.
    review_id = review["id"]
    if (box := lazy_section("Modifier le comité", f"review_{review_id}_edit_open")) is not None:
        with box:
            _review_form(user, plan_id, review)
    if (box := lazy_section("Nouvelle décision", f"review_{review_id}_decision_open")) is not None:
        with box:
            _decision_form(user, plan_id, review)
    if (box := lazy_section("Clore le comité", f"review_{review_id}_close_open")) is not None:
        with box:
            _closing(user, review_id)


def _closing(user: User, review_id: int) -> None:
    st.caption(
        "La clôture fige un instantané de tout le plan (statut, météo, avancement, dates et "
        "santé de chaque action, budget par année, indicateurs, décisions) : les "
        "modifications ultérieures ne le changent plus."
    )
    sure = st.checkbox("Je confirme la clôture", key=f"reviews_close_sure_{review_id}")
    if st.button("Clore le comité", disabled=not sure, key=f"reviews_close_{review_id}"):
        _write(
            lambda s: review_service.close_review(s, user, review_id, context.today()),
            "Comité clos : l'instantané du plan est enregistré.",
        )
    if st.button("Supprimer ce comité ouvert", key=f"reviews_delete_{review_id}"):
        _write(
            lambda s: review_service.delete_review(s, user, review_id),
            "Comité supprimé.",
        )


def render() -> None:
    st.title("Comités de pilotage")
    plan_id = context.selected_plan_id()
    if plan_id is None:
        st.info("Aucun plan n'est enregistré.")
        return
    user = auth.current_user()
    structure = data.plan_structure(plan_id)
    example_banner(structure.is_example)
    saved_message(_SAVED)
    listed = _reviews(url=get_settings().database_url, plan_id=plan_id, rev=context.revision())
    reviews = listed.items
    if listed.table is not None:
        st.dataframe(listed.table, hide_index=True, key="reviews_list")
    else:
        st.info("Aucun comité de pilotage n'est encore enregistré.")
    if has_permission(user, Permission.EDIT_PLAN):
        # Open at first, when there is no committee yet; otherwise built once opened.
        box = lazy_section("Nouveau comité", "reviews_new_open", expanded=not reviews)
        if box is not None:
            with box:
                _review_form(user, plan_id, None)
    if reviews:
        by_id = {r["id"]: r for r in reviews}
        ids = list(by_id)
        wanted = st.session_state.get("reviews_selected")
        selected = st.selectbox(
            "Comité",
            ids,
            index=ids.index(wanted) if wanted in ids else len(ids) - 1,
            format_func=lambda i: _snapshot_label(by_id[i]),
        )
        st.session_state["reviews_selected"] = selected
        _review_detail(user, plan_id, by_id[selected])
    _decisions_table(user, plan_id)
    _comparison(plan_id, reviews)
