"""« Comités de pilotage »: the meetings, their frozen snapshots, what changed
since the previous one, and the decisions followed up from one to the next."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import streamlit as st

from tracker import db, strings
from tracker.charts import format_value
from tracker.errors import TrackerError
from tracker.formats import format_date, format_datetime, format_eur, format_number
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
    Metric,
    Table,
    arrow_table,
    editor,
    editor_key,
    example_banner,
    forget_opened,
    grid,
    lazy_section,
    md_escape,
    metric_cards_html,
    opened_on,
    reset_editor,
    saved_message,
    stale_form_warning,
)
from tracker.ui.tables import table_block

_SAVED = "reviews_saved"
NOW = 0  # the "review" standing for the plan as it is now, in comparisons
# Changes of one kind shown at once; more are folded under their count, in a section
# built once opened (hundreds of rows, a dozen tables, on every run otherwise).
FIRST_ROWS = 15
# The two committees compared: the last closed one and the plan today, unless another
# pair is chosen in this section (built once opened; the choice outlives it).
COMPARED_TITLE = "Comparer d'autres comités"
# The open committee's three forms (change it, record a decision, close it), in one section.
MANAGE_TITLE = "Gérer ce comité : le modifier, noter une décision, le clore"


@dataclass(frozen=True)
class Reviews:
    """The plan's committees (with their frozen snapshots), and the list the page shows
    (one HTML table)."""

    items: list[dict]
    table: str | None  # None when there is no committee yet


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
    return Reviews(items, table_block(table) if items else None)


@dataclass(frozen=True)
class Decisions:
    """The decisions followed up, as the page shows them."""

    rows: list[review_service.DecisionView]
    frame: pd.DataFrame  # what the follow-up editor starts from (it copies it)
    shown: str  # the read-only table (one HTML table): no id, dates as text
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
    return Decisions(
        rows,
        frame,
        table_block(shown, scroll_after=FIRST_ROWS) if rows else "",
        sum(1 for d in rows if d.overdue),
    )


@st.cache_data(max_entries=8, show_spinner="Instantané du plan…")
def _current_snapshot(url: str, plan_id: int, rev: int, at: date) -> dict:
    with db.session_scope(db.get_engine(url)) as session:
        return review_service.take_snapshot(session, plan_id, at)


def _write(operation, message: str, then=None) -> None:  # noqa: ANN001
    """Run one write in one transaction; once committed, ``then()`` (if any), the
    message and a rerun; a French error otherwise."""
    try:
        with db.session_scope(context.engine(), write=True) as session:
            operation(session)
    except TrackerError as exc:
        st.error(str(exc))
        return
    if then is not None:
        then()
    st.session_state[_SAVED] = message
    st.rerun()


# The committee as its edit form showed it when opened: (review id, ReviewInput). The
# form keeps showing it (stable keys) even if someone saves meanwhile, and saving
# checks nobody did (update_review(expected=…)); dropped once saved or folded.
_FORM_BASE = "review_form_base"
_FIELDS = ("date", "title", "attendees", "agenda")


def _widgets(review_id: int) -> list[str]:
    return [f"review_form_{review_id}_{field}" for field in _FIELDS]


def _edit_base(review: dict) -> ReviewInput:
    current = ReviewInput(*(review[f] for f in _FIELDS))
    return opened_on(_FORM_BASE, review["id"], current, _widgets(review["id"]))


def _forget_edit_form() -> None:
    forget_opened(_FORM_BASE, _widgets)


def _review_form(user: User, plan_id: int, review: dict | None) -> None:
    key = f"review_form_{review['id'] if review else 'new'}"
    base = _edit_base(review) if review is not None else None
    if base is not None and base != ReviewInput(*(review[f] for f in _FIELDS)):
        stale_form_warning(
            "Ce comité a été modifié", "sa version enregistrée est affichée au-dessus"
        )

    def widget(field: str) -> str | None:  # stable keys for the edit form only
        return f"{key}_{field}" if base is not None else None

    with st.form(key, clear_on_submit=review is None):
        cols = st.columns([1, 3])
        when = cols[0].date_input(
            "Date du comité",
            value=base.date if base else context.today(),
            format="DD/MM/YYYY",
            key=widget("date"),
        )
        title = cols[1].text_input(
            "Titre",
            value=base.title if base else "",
            max_chars=300,
            placeholder="Comité de pilotage n°…",
            key=widget("title"),
        )
        attendees = st.text_area(
            "Participants", value=base.attendees if base else "", key=widget("attendees")
        )
        agenda = st.text_area(
            "Ordre du jour", value=base.agenda if base else "", key=widget("agenda")
        )
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
            lambda s: review_service.update_review(s, user, review["id"], values, expected=base),
            "Comité enregistré.",
            then=_forget_edit_form,
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


def _decisions_table(user: User | None, decisions: Decisions) -> None:
    st.header("Suivi des décisions")
    if not decisions.rows:
        st.info("Aucune décision n'a encore été enregistrée.")
        return
    if decisions.late:
        st.warning(f"{decisions.late} décision(s) en retard sur leur échéance.", icon="⏰")
    st.html(decisions.shown)
    if not has_permission(user, Permission.EDIT_PLAN):
        return
    # The editable table is built only once opened: most visits read the page.
    label = "Modifier le suivi des décisions (tableau modifiable)"
    if (box := lazy_section(label, "reviews_decisions_table_open")) is not None:
        with box:
            _decisions_editor(user, decisions)


_DECISIONS_EDITOR = "reviews_decisions_editor"


def _decisions_editor(user: User, decisions: Decisions) -> None:
    labels = list(strings.DECISION_STATUS_LABELS.values())
    edited = editor(
        decisions.frame,
        hide_index=True,
        key=editor_key(_DECISIONS_EDITOR),
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

        _write(
            save, "Suivi des décisions enregistré.", then=lambda: reset_editor(_DECISIONS_EDITOR)
        )


def _snapshot_label(review: dict) -> str:
    return f"{review['title']} ({format_date(review['date'])})"


def _closed(reviews: list[dict]) -> dict[int, str]:
    """The closed committees with a snapshot, oldest first: id -> label."""
    return {
        r["id"]: _snapshot_label(r)
        for r in reviews
        if r["status"] == ReviewStatus.CLOSED and r["snapshot"]
    }


def _later(reviews: list[dict], closed: dict[int, str], before_id: int) -> list[int]:
    """What a comparison from ``before_id`` may run to: a later closed committee, or NOW."""
    order = {r["id"]: (r["date"], r["id"]) for r in reviews if r["id"] in closed}
    return [*(i for i in closed if order[i] > order[before_id]), NOW]


def _compared(reviews: list[dict], before_id: object, after_id: object) -> tuple[int, int] | None:
    """The committees compared (None: none is closed yet): those chosen if they still
    make a pair, otherwise the last closed one and the plan today."""
    closed = _closed(reviews)
    if not closed:
        return None
    if before_id not in closed:
        before_id = list(closed)[-1]
    if after_id not in _later(reviews, closed, before_id):
        after_id = NOW
    return before_id, after_id


def _comparison(page: ReviewsPage) -> None:
    st.header("Depuis le dernier comité")
    if page.compared is None or page.comparison is None:
        st.info("Aucun comité n'est encore clos : la comparaison commencera après le premier.")
        return
    reviews = page.listed.items
    choices = _closed(reviews)

    def until(i: int) -> str:
        return "Aujourd'hui (le plan tel qu'il est)" if i == NOW else choices[i]

    # By default the last closed committee and the plan today; another pair is chosen
    # in a section built only once opened (persist_state: the choice outlives it).
    if (box := lazy_section(COMPARED_TITLE, "reviews_compare_open")) is not None:
        with box:
            cols = st.columns(2)
            before_id = cols[0].selectbox(
                "Depuis",
                list(choices),
                index=len(choices) - 1,
                format_func=choices.get,
                key="reviews_compare_from",
                persist_state="page",
            )
            options = _later(reviews, choices, before_id)
            cols[1].selectbox(
                "Jusqu'à",
                options,
                index=len(options) - 1,
                format_func=until,
                key="reviews_compare_to",
                persist_state="page",
            )
    before_id, after_id = page.compared
    after = "aujourd'hui (le plan tel qu'il est)" if after_id == NOW else choices[after_id]
    show_comparison(page.comparison, compared=f"Depuis {choices[before_id]} jusqu'à {after}")


@dataclass(frozen=True)
class ReviewsPage:
    """Everything the page shows at a glance, read in one cached call per run."""

    listed: Reviews
    decisions: Decisions
    compared: tuple[int, int] | None  # the committees compared (NOW: the plan today)
    comparison: ComparisonView | None


# One cached call per run instead of three (each costs a few tenths of a millisecond:
# hashing its arguments, looking up its entry); on a miss, the parts come from their own
# caches. ``before_id``/``after_id``: the comparison chosen (checked here; None: the
# default one).
@st.cache_resource(max_entries=32, show_spinner=False)
def _page(
    url: str, plan_id: int, rev: int, at: date, before_id: int | None, after_id: int | None
) -> ReviewsPage:
    listed = _reviews(url=url, plan_id=plan_id, rev=rev)
    decisions = _decisions(url=url, plan_id=plan_id, rev=rev, at=at)
    compared = _compared(listed.items, before_id, after_id)
    comparison = None
    if compared is not None:
        comparison = _comparison_view(
            url=url,
            plan_id=plan_id,
            rev=rev,
            before_id=compared[0],
            after_id=compared[1],
            at=at,
        )
    return ReviewsPage(listed, decisions, compared, comparison)


@dataclass(frozen=True)
class ComparisonView:
    """What changed between two snapshots, with the key figures and tables the page shows
    (as Arrow tables: see ``arrow_table``; a list of at most FIRST_ROWS rows also as one
    HTML block, shown at once)."""

    comparison: Comparison
    counts: str  # how many things changed, by kind: key figures as one HTML block
    objectives: list[tuple[str, Table]] = field(default_factory=list)
    action_changes: int = 0  # rows of the objectives' tables
    milestones: Table | None = None
    budget: Table | None = None
    indicators: Table | None = None
    decisions: Table | None = None
    # The short lists as HTML: "objectives" (every objective's table, each captioned),
    # "milestones", "budget", "indicators", "decisions".
    blocks: dict[str, str] = field(default_factory=dict)


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
    """The key figures and tables of a comparison (``after``: the later snapshot)."""
    summary = change_counts(c)
    titles = {o["code"]: o["title"] for o in after["objectives"]}
    per_objective = [
        (
            f"{code} : {titles.get(code, '')}",
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

    blocks = {
        key: table_block(pd.DataFrame(rows))
        for key, rows in (
            ("milestones", milestones),
            ("budget", budget),
            ("indicators", indicators),
            ("decisions", decisions),
        )
        if 0 < len(rows) <= FIRST_ROWS
    }
    if 0 < sum(len(frame) for _, frame in per_objective) <= FIRST_ROWS:
        blocks["objectives"] = "".join(
            table_block(frame, caption=f"Objectif {label}") for label, frame in per_objective
        )

    return ComparisonView(
        comparison=c,
        counts=metric_cards_html(
            [
                Metric(what, format_number(n))
                for what, n in zip(summary["quoi"], summary["nombre"], strict=True)
            ]
        ),
        objectives=[(label, arrow_table(frame)) for label, frame in per_objective],
        action_changes=sum(len(items) for items in c.by_objective.values()),
        milestones=table(milestones),
        budget=table(budget),
        indicators=table(indicators),
        decisions=table(decisions),
        blocks=blocks,
    )


def show_comparison(view: ComparisonView, compared: str = "") -> None:
    """The changes between two snapshots (``compared``: which, as a sentence): how many
    of each kind, then the changes of each kind: a short list at once, the lists longer
    than FIRST_ROWS together in one section under their counts, built once opened."""
    c = view.comparison
    dates = f"du {format_date(c.before_at)} au {format_date(c.after_at)}."
    st.caption(f"{md_escape(compared)}, {dates}" if compared else dates.capitalize())
    if c.empty:
        st.success("Aucun changement entre ces deux dates.")
        return
    # Seven counts: key figures, read at once (a bar chart of them cost a chart and the
    # section of its figures on every run).
    st.html(view.counts)
    # The lists longer than FIRST_ROWS, together in one section built once opened.
    folded: list[tuple[str, Table | None, str]] = []  # title, table (None: per objective), key
    counts: list[str] = []
    if view.objectives:
        if "objectives" in view.blocks:
            st.subheader("Actions, par objectif")
            st.html(view.blocks["objectives"])
        else:
            folded.append(("Actions, par objectif", None, ""))
            counts.append(f"{view.action_changes} changements des actions")
    for name, title, table, key, what in (
        ("milestones", "Jalons", view.milestones, "reviews_changes_milestones", "jalons"),
        ("budget", "Budget", view.budget, "reviews_changes_budget", "changements de budget"),
        (
            "indicators",
            "Indicateurs : nouvelles mesures",
            view.indicators,
            "reviews_changes_indicators",
            "nouvelles mesures",
        ),
        ("decisions", "Décisions", view.decisions, "reviews_changes_decisions", "décisions"),
    ):
        if table is None:
            continue
        if name in view.blocks:
            st.subheader(title)
            st.html(view.blocks[name])
        else:
            folded.append((title, table, key))
            counts.append(f"{len(table)} {what}")
    if not folded:
        return
    label = "Voir les " + ", ".join(counts)
    if (box := lazy_section(label, "reviews_changes_open")) is not None:
        with box:
            for title, table, key in folded:
                st.subheader(title)
                if table is None:
                    _objective_tables(view)
                else:
                    grid(table, hide_index=True, key=key)


def _objective_tables(view: ComparisonView) -> None:
    for label, table in view.objectives:
        st.markdown(f"**Objectif {label}**")
        code = label.split(" : ")[0]
        grid(table, hide_index=True, key=f"reviews_changes_{code}")


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
    review_id = review["id"]
    if not (
        st.session_state.get(f"review_{review_id}_manage_open")
        and st.session_state.get(f"review_{review_id}_edit_open")
    ):
        _forget_edit_form()  # opened again, the edit form starts from the saved committee
    editor = has_permission(user, Permission.EDIT_PLAN)
    closed = review["status"] == ReviewStatus.CLOSED
    st.html(_detail_html(review))
    _report_buttons(plan_id, review["id"])
    if not editor or closed:
        return
    # The forms are built only once opened, each in its own section, all three in one:
    # most visits read the page.
    if (outer := lazy_section(MANAGE_TITLE, f"review_{review_id}_manage_open")) is None:
        return
    with outer:
        if (box := lazy_section("Modifier le comité", f"review_{review_id}_edit_open")) is not None:
            with box:
                _review_form(user, plan_id, review)
        decision = lazy_section("Nouvelle décision", f"review_{review_id}_decision_open")
        if decision is not None:
            with decision:
                _decision_form(user, plan_id, review)
        if (box := lazy_section("Clore le comité", f"review_{review_id}_close_open")) is not None:
            with box:
                _closing(user, review_id)


# The committee's state, in a box coloured as Streamlit's success (closed) and info
# (open) messages; the text says the state, not the colour alone.
_STATE_STYLE = {
    True: "background: rgba(33, 195, 84, 0.1); color: #177233",
    False: "background: rgba(28, 131, 225, 0.1); color: #004280",
}


def _detail_html(review: dict) -> str:
    """The committee's title, state, participants and agenda (as typed: escaped, line
    breaks kept), in one element instead of up to six."""
    closed = review["status"] == ReviewStatus.CLOSED
    if closed:
        state = (
            f"Comité clos le {format_datetime(review['closed_at'])} : l'instantané du plan est "
            f"figé au {format_date(date.fromisoformat(review['snapshot']['at']))}."
        )
    else:
        state = "Comité ouvert : les décisions s'y enregistrent ; sa clôture fige le plan."
    parts = [
        f'<dt style="font-weight: 600">{title}</dt>'
        f'<dd style="margin: 0 0 0.5rem; white-space: pre-wrap">{html.escape(text)}</dd>'
        for title, text in (
            ("Participants", review["attendees"]),
            ("Ordre du jour", review["agenda"]),
        )
        if text
    ]
    minutes = f'<dl style="margin: 0 0 0.5rem">{"".join(parts)}</dl>' if parts else ""
    return (
        f"<h3>{html.escape(_snapshot_label(review))}</h3>"
        f'<p style="padding: 0.75rem 1rem; border-radius: 0.5rem; margin: 0 0 0.75rem; '
        f'{_STATE_STYLE[closed]}">{html.escape(state)}</p>{minutes}'
    )


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
    state = st.session_state
    page = context.reuse(
        _page,
        url=get_settings().database_url,
        plan_id=plan_id,
        rev=context.revision(),
        at=context.today(),
        before_id=state.get("reviews_compare_from"),
        after_id=state.get("reviews_compare_to"),
    )
    listed = page.listed
    reviews = listed.items
    editor = has_permission(user, Permission.EDIT_PLAN)
    if listed.table is not None:
        st.html(listed.table)
    else:
        st.info(
            "Aucun comité de pilotage n'est encore enregistré."
            + (" Ouvrez « Nouveau comité » ci-dessous pour en créer un." if editor else "")
        )
    # Built once opened, even before the first committee (the message above says where).
    if editor and (box := lazy_section("Nouveau comité", "reviews_new_open")) is not None:
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
    _decisions_table(user, page.decisions)
    _comparison(page)
