"""« Fiche indicateur »: definition, source, baseline and targets, the chart over
time (measurements with their intervals, target path, national references),
every measurement, linked objective and actions, history; for editors, forms to
add and correct measurements and to change the definition."""

from __future__ import annotations

import ast
import html
import math
from dataclasses import dataclass
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tracker import charts, db, strings
from tracker.charts import format_value
from tracker.errors import TrackerError
from tracker.formats import format_date, format_datetime, format_number, format_percent
from tracker.models import Direction, SourceType, User
from tracker.services import indicators as indicator_service
from tracker.services.indicators import IndicatorDetail, MeasurementEdit, target_path, trend
from tracker.services.permissions import Permission, has_permission
from tracker.settings import get_settings
from tracker.ui import auth, context, data, navigation
from tracker.ui.components import (
    Metric,
    Table,
    arrow_table,
    chart_with_table,
    editor,
    editor_key,
    example_banner,
    frozen_figure,
    lazy_section,
    metric_cards_html,
    reset_editor,
    saved_message,
)
from tracker.ui.tables import table_block

_SAVED = "indicator_saved"


def _indicator_id() -> int | None:
    raw = st.query_params.get("indicator", "")
    return int(raw) if raw.isdigit() else None


def _summary_html(detail: IndicatorDetail) -> str:
    """The indicator's code and name (as typed: escaped), its key figures and how it
    moved, as one block (metric_cards)."""
    r, s = detail.row, detail.row.state
    name = html.escape(f"{detail.indicator.code} — {detail.indicator.name}")
    title = f'<p class="tk-indicator-name" dir="auto">{name}</p>'
    delta, tone = None, "off"
    if s.change is not None:
        delta = format_value(s.change, r.unit).replace("%", "pt") if r.unit == "%" else None
        if delta is None:
            delta = format_number(s.change, 0 if float(s.change).is_integer() else 1)
        if not delta.startswith(("-", "−")):
            delta = "+" + delta if s.change > 0 else delta
        if s.change:  # a rise is good when higher is wanted, a fall when lower is
            tone = "good" if (s.change > 0) == (r.direction == Direction.HIGHER) else "bad"
    arrow, good = trend(s, r.direction)
    cards = metric_cards_html(
        [
            Metric(
                "Dernière valeur",
                format_value(s.latest.value, r.unit) if s.latest else "–",
                delta=delta,
                tone=tone,
                help=f"Mesurée le {format_date(s.latest.date)}." if s.latest else "Aucune mesure.",
            ),
            Metric(
                "Vers la cible",
                format_percent(s.progress) if s.progress is not None else "–",
                help="(Dernière valeur − valeur de référence) / (cible − valeur de référence), "
                "entre 0 et 100 %.",
            ),
            Metric(
                "Statut",
                strings.indicator_status_label(s.status),
                help=strings.INDICATOR_STATUS_HELP[s.status].capitalize() + ".",
            ),
            Metric(
                "Attendu aujourd'hui",
                format_value(s.expected_today, r.unit) if s.expected_today is not None else "–",
                help="Valeur attendue à la date du jour sur la trajectoire entre la valeur de "
                "référence, la cible intermédiaire et la cible.",
            ),
        ]
    )
    if not arrow:
        return _SUMMARY_STYLE + title + cards
    way = "" if good is None else (" (favorable)" if good else " (défavorable)")
    evolution = f"Évolution depuis la mesure précédente : {arrow}{way}. " + (
        f"Prochaine mesure attendue le {format_date(s.next_due)}."
        if s.next_due
        else "Pas de périodicité fixée."
    )
    return _SUMMARY_STYLE + title + cards + f'<p class="tk-evolution">{html.escape(evolution)}</p>'


# The name keeps its line breaks and spaces as typed; the line under the key figures
# reads like a caption (st.caption's size and colour).
_SUMMARY_STYLE = """<style>
.tk-indicator-name { white-space: pre-wrap; margin: 0 0 0.75rem; }
.tk-evolution { font-size: 0.875rem; color: rgba(49, 51, 63, 0.6); margin: -0.5rem 0 1rem; }
</style>"""


def _chart(detail: IndicatorDetail) -> tuple[go.Figure, pd.DataFrame]:
    """The indicator's chart over time, and the same figures as a table."""
    ind, unit = detail.indicator, detail.indicator.unit
    measurements = pd.DataFrame(
        [
            {
                "date": m.date,
                "valeur": m.value,
                "basse": m.ci_low,
                "haute": m.ci_high,
                "source": m.source,
            }
            for m in detail.measurements
        ],
        columns=["date", "valeur", "basse", "haute", "source"],
    )
    names = {
        ind.baseline_date: "Valeur de référence",
        ind.intermediate_target_date: "Cible intermédiaire",
        ind.target_date: "Cible",
    }
    path = pd.DataFrame(
        [{"date": p.date, "valeur": p.value, "etape": names[p.date]} for p in target_path(ind)],
        columns=["date", "valeur", "etape"],
    )
    references = pd.DataFrame(
        [{"date": r.date, "valeur": r.value, "source": r.source} for r in detail.references],
        columns=["date", "valeur", "source"],
    )
    fig = charts.indicator_timeline(
        measurements, path, references, title=f"{ind.code} — {ind.name}", unit=unit
    )
    table = pd.concat(
        [
            pd.DataFrame(
                {
                    "Série": "Mesure locale",
                    "Date": [format_date(d) for d in measurements["date"]],
                    "Valeur": [format_value(v, unit) for v in measurements["valeur"]],
                    "Intervalle à 95 %": [
                        f"{format_value(lo, unit)} – {format_value(hi, unit)}"
                        if pd.notna(lo) and pd.notna(hi)
                        else ""
                        for lo, hi in zip(measurements["basse"], measurements["haute"], strict=True)
                    ],
                    "Source": measurements["source"],
                }
            ),
            pd.DataFrame(
                {
                    "Série": path["etape"],
                    "Date": [format_date(d) for d in path["date"]],
                    "Valeur": [format_value(v, unit) for v in path["valeur"]],
                    "Intervalle à 95 %": "",
                    "Source": "Trajectoire vers la cible",
                }
            ),
            pd.DataFrame(
                {
                    "Série": "Référence nationale",
                    "Date": [format_date(d) for d in references["date"]],
                    "Valeur": [format_value(v, unit) for v in references["valeur"]],
                    "Intervalle à 95 %": "",
                    "Source": references["source"],
                }
            ),
        ],
        ignore_index=True,
    )
    return frozen_figure(fig), table


def _target_text(value: float | None, when: date | None, unit: str) -> str:
    if value is None:
        return "–"
    return format_value(value, unit) + (f" ({format_date(when)})" if when else "")


def _info_table(detail: IndicatorDetail) -> pd.DataFrame:
    ind, r = detail.indicator, detail.row
    rows = [
        ("Définition", ind.definition or "–"),
        ("Unité", ind.unit),
        ("Sens souhaité", strings.DIRECTION_LABELS[Direction(ind.direction)]),
        ("Type de source", strings.SOURCE_TYPE_LABELS[SourceType(ind.source_type)]),
        ("Source", ind.source or "–"),
        ("Valeur de référence", _target_text(ind.baseline_value, ind.baseline_date, ind.unit)),
        (
            "Cible intermédiaire",
            _target_text(ind.intermediate_target, ind.intermediate_target_date, ind.unit),
        ),
        ("Cible", _target_text(ind.target_value, ind.target_date, ind.unit)),
        (
            "Périodicité",
            f"{ind.update_period_days} jours" if ind.update_period_days else "non fixée",
        ),
        ("Objectif", f"{r.objective_code} : {r.objective_name}" if r.objective_code else "–"),
    ]
    if ind.survey_question:
        rows += [
            ("Question d'enquête", ind.survey_question),
            ("Réponses comptées", " ; ".join(ind.survey_values or [])),
        ]
        if ind.survey_filter_question:
            rows += [
                ("Sous-population : question", ind.survey_filter_question),
                ("Sous-population : réponses", " ; ".join(ind.survey_filter_values or [])),
            ]
    rows.append(("Version", str(ind.version)))
    return pd.DataFrame(rows, columns=["Champ", "Valeur"])


def _actions_block(detail: IndicatorDetail) -> str | None:
    """The actions the indicator measures, each a link to its page: one HTML table."""
    if not detail.actions:
        return None
    frame = pd.DataFrame(
        [(code, title) for _, code, title in detail.actions], columns=["Code", "Action"]
    )
    links = [navigation.action_link(action_id) for action_id, _, _ in detail.actions]
    return table_block(
        frame, caption="Actions mesurées par l'indicateur", links={"Code": links, "Action": links}
    )


def _measurements_frame(detail: IndicatorDetail) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": m.id,
                "Date": m.date,
                "Valeur": m.value,
                "Source": m.source,
                "Effectif": m.sample_size,
                "Borne basse": m.ci_low,
                "Borne haute": m.ci_high,
                "Commentaire": m.comment,
                "Vague d'enquête": m.wave_name or "",
            }
            for m in detail.measurements
        ],
        columns=[
            "id",
            "Date",
            "Valeur",
            "Source",
            "Effectif",
            "Borne basse",
            "Borne haute",
            "Commentaire",
            "Vague d'enquête",
        ],
    )


def _number(value: object) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _as_date(value: object) -> date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value if isinstance(value, date) else None


def _edit_from_row(row: pd.Series, measurement_id: int | None) -> MeasurementEdit:
    size = _number(row.get("Effectif"))
    return MeasurementEdit(
        date=_as_date(row.get("Date")),
        value=_number(row.get("Valeur")),
        source=_text(row.get("Source")),
        sample_size=int(size) if size is not None else None,
        ci_low=_number(row.get("Borne basse")),
        ci_high=_number(row.get("Borne haute")),
        comment=_text(row.get("Commentaire")),
        measurement_id=measurement_id,
    )


def _table_base_key(indicator_id: int) -> str:
    """The measurements as the correction table showed them when it was opened."""
    return f"indicator_{indicator_id}_table_base"


def _save(
    user: User,
    detail: IndicatorDetail,
    edits: list[MeasurementEdit],
    deleted: list[int],
    expected: dict[int, MeasurementEdit] | None = None,
):
    try:
        with db.session_scope(context.engine(), write=True) as session:
            changed = indicator_service.save_measurements(
                session,
                user,
                detail.indicator.id,
                edits,
                deleted_ids=deleted,
                today=context.today(),
                expected=expected,
            )
    except TrackerError as exc:
        st.error(str(exc))
        return
    st.session_state[_SAVED] = (
        f"{changed} mesure(s) enregistrée(s)." if changed else "Aucun changement à enregistrer."
    )
    st.session_state.pop(_table_base_key(detail.indicator.id), None)
    st.rerun()


def _shown_measurements(frame: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The measurements as a reader sees them: French dates and numbers."""
    shown = frame.drop(columns=["id"])
    shown["Date"] = [format_date(d) for d in shown["Date"]]
    for column in ("Valeur", "Borne basse", "Borne haute"):
        shown[column] = [format_value(v, unit) for v in frame[column]]
    shown["Effectif"] = [format_number(v) if pd.notna(v) else "" for v in frame["Effectif"]]
    return shown


def _measurements(user: User | None, detail: IndicatorDetail, view: IndicatorView) -> None:
    st.header("Mesures")
    frame = view.measurements
    if frame.empty:
        st.info("Aucune mesure enregistrée.")
    else:
        st.html(view.shown_measurements)
    if not has_permission(user, Permission.EDIT_PLAN):
        return
    # The forms are built only once opened: most visits read the page.
    ind = detail.indicator
    if (box := lazy_section("Ajouter une mesure", f"indicator_{ind.id}_add_open")) is not None:
        with box:
            _admitted(detail)
            _add_form(user, detail)
    label = "Corriger les mesures (tableau modifiable)"
    if (box := lazy_section(label, f"indicator_{ind.id}_table_open")) is not None:
        with box:
            _admitted(detail)
            _editor(user, detail, frame)
    else:  # opened again, the table starts from the measurements saved
        st.session_state.pop(_table_base_key(ind.id), None)


def _admitted(detail: IndicatorDetail) -> None:
    """The dates and values a measurement may take."""
    ind = detail.indicator
    unit = ind.unit
    low, high = indicator_service.value_range(unit)
    start, end = indicator_service.measurement_period(detail.plan, ind, context.today())
    st.caption(
        f"Dates admises : du {format_date(start)} au {format_date(end)}. "
        + (
            f"Valeurs admises : de {format_number(low)} à {format_number(high)}. "
            if high is not None
            else (f"Valeurs admises : au moins {format_number(low)}. " if low is not None else "")
        )
        + "Les mesures calculées depuis une vague d'enquête ne se modifient pas ici "
        "(seul leur commentaire) : elles se recalculent avec la vague."
    )


def _add_form(user: User, detail: IndicatorDetail) -> None:
    ind = detail.indicator
    start, end = indicator_service.measurement_period(detail.plan, ind, context.today())
    with st.form(f"indicator_{ind.id}_add", clear_on_submit=True):
        cols = st.columns(3)
        when = cols[0].date_input(
            "Date", value=None, min_value=start, max_value=end, format="DD/MM/YYYY"
        )
        value = cols[1].number_input("Valeur", value=None, step=1.0, format="%.2f")
        source = cols[2].text_input("Source", value=ind.source, max_chars=300)
        cols = st.columns(4)
        size = cols[0].number_input("Effectif (facultatif)", value=None, min_value=0, step=1)
        ci_low = cols[1].number_input("Borne basse (facultatif)", value=None, format="%.2f")
        ci_high = cols[2].number_input("Borne haute (facultatif)", value=None, format="%.2f")
        comment = cols[3].text_input("Commentaire (facultatif)")
        if st.form_submit_button("Ajouter la mesure", type="primary"):
            _save(
                user,
                detail,
                [
                    MeasurementEdit(
                        date=when,
                        value=value,
                        source=source,
                        sample_size=int(size) if size is not None else None,
                        ci_low=ci_low,
                        ci_high=ci_high,
                        comment=comment,
                    )
                ],
                [],
            )


def _editor(user: User, detail: IndicatorDetail, frame: pd.DataFrame) -> None:
    ind = detail.indicator
    st.caption(
        "Modifiez les cellules, ajoutez des lignes en bas du tableau ou supprimez-en, puis "
        "enregistrez : tout est vérifié et enregistré en une fois, ou rien ne l'est."
    )
    key = f"indicator_{ind.id}_table"
    # The table the user edits stays the one they opened, even if someone saves
    # meanwhile: the editor's changes are kept by row position, so rows must not move
    # under them; saving then checks the rows it touches are still as shown.
    if _table_base_key(ind.id) not in st.session_state:
        st.session_state[_table_base_key(ind.id)] = frame
        reset_editor(key)  # the browser drops its edits of any earlier table
    base: pd.DataFrame = st.session_state[_table_base_key(ind.id)]
    if not base.equals(frame):
        st.warning(
            "Les mesures ont été modifiées par quelqu'un d'autre depuis que vous avez ouvert ce "
            "tableau (elles sont à jour au-dessus) : corriger ou supprimer une ligne qui a changé "
            "sera refusé. « Recharger le tableau » repart des mesures enregistrées et abandonne "
            "vos saisies."
        )
        if st.button("Recharger le tableau", key=f"indicator_{ind.id}_reload_table"):
            st.session_state.pop(_table_base_key(ind.id), None)
            st.rerun()
    edited = editor(
        base,
        key=editor_key(key),
        hide_index=True,
        num_rows="dynamic",
        disabled=["id", "Vague d'enquête"],
        column_config={
            "id": None,
            "Date": st.column_config.DateColumn(format="DD/MM/YYYY", required=True),
            "Valeur": st.column_config.NumberColumn(required=True, format="%.2f"),
            "Effectif": st.column_config.NumberColumn(min_value=0, step=1),
            "Borne basse": st.column_config.NumberColumn(format="%.2f"),
            "Borne haute": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    if st.button("Enregistrer les mesures", key=f"indicator_{ind.id}_save_table"):
        kept = {int(i) for i in edited["id"].dropna()} if not edited.empty else set()
        deleted = [int(i) for i in base["id"] if int(i) not in kept]
        edits = []
        originals = base.set_index("id")
        for _, row in edited.iterrows():
            mid = None if pd.isna(row["id"]) else int(row["id"])
            if mid is not None:
                before = originals.loc[mid]
                same = all(
                    _text(before[c]) == _text(row[c])
                    for c in ("Date", "Valeur", "Source", "Effectif", "Borne basse")
                    + ("Borne haute", "Commentaire")
                )
                if same:
                    continue
            edits.append(_edit_from_row(row, mid))
        shown = {int(row["id"]): _edit_from_row(row, int(row["id"])) for _, row in base.iterrows()}
        _save(user, detail, edits, deleted, shown)


def _history(indicator_id: int, view: IndicatorView) -> None:
    # Who changed what is read now and then: built only once its section is opened.
    box = lazy_section("Historique des changements", f"indicator_{indicator_id}_history_open")
    if box is None:
        return
    with box:
        if view.history is None:
            st.info("Aucun changement enregistré.")
        else:
            st.html(view.history)


def _history_table(detail: IndicatorDetail) -> pd.DataFrame | None:
    if not detail.history:
        return None
    rows = []
    for h in detail.history:
        what = strings.FIELD_LABELS.get(h.field or "", h.field or "")
        change = h.operation
        if h.old is not None or h.new is not None:
            old, new = _shown(h.field, h.old), _shown(h.field, h.new)
            change = f"{h.operation} : {old} → {new}"
        rows.append(
            {
                "Date": format_datetime(h.at),
                "Par": h.user,
                "Quoi": f"{h.entity} {what}".strip(),
                "Changement": change,
                "Contexte": h.context,
            }
        )
    return pd.DataFrame(rows)


_ENUM_LABELS = {"direction": strings.DIRECTION_LABELS, "source_type": strings.SOURCE_TYPE_LABELS}


def _shown(field: str | None, text: str | None) -> str:
    """An audited value as a user reads it: French numbers and dates, labels, lists."""
    if text is None or text == "":
        return "–"
    labels = _ENUM_LABELS.get(field or "")
    if labels is not None:
        return next((label for key, label in labels.items() if key.value == text), text)
    if text.startswith("[") and text.endswith("]"):
        try:
            items = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        return " ; ".join(str(i) for i in items)
    try:
        return format_date(date.fromisoformat(text[:10])) + text[10:]
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return format_number(number, 0 if number.is_integer() else 2)


def _answers(values: str) -> list[str]:
    return [v.strip() for v in values.split(";") if v.strip()]


def _definition_form(user: User, detail: IndicatorDetail) -> None:
    ind = detail.indicator
    box = lazy_section("Modifier la définition", f"indicator_{ind.id}_definition_open")
    if box is None:
        return
    structure = data.plan_structure(ind.plan_id)
    with box:
        waves = data.waves(ind.plan_id)
        columns = sorted({c for w in waves for c in w.columns})
        if columns:
            st.caption(
                "Questions des vagues importées (à recopier telles quelles) : "
                + " · ".join(f"« {c} »" for c in columns)
                + ". Les réponses possibles se lisent dans la page Enquêtes."
            )
        objectives = {o.id: f"{o.code} : {o.title}" for o in structure.objectives}
        actions = {a.id: f"{a.code} — {a.title}" for a in structure.actions}
        linked = [a for a, _, _ in detail.actions if a in actions]
        with st.form(f"indicator_{ind.id}_definition"):
            name = st.text_input("Nom", value=ind.name, max_chars=300)
            definition = st.text_area("Définition", value=ind.definition)
            cols = st.columns(3)
            unit = cols[0].text_input("Unité", value=ind.unit, max_chars=40)
            direction = cols[1].selectbox(
                "Sens souhaité",
                list(Direction),
                index=list(Direction).index(Direction(ind.direction)),
                format_func=strings.DIRECTION_LABELS.__getitem__,
            )
            source_type = cols[2].selectbox(
                "Type de source",
                list(SourceType),
                index=list(SourceType).index(SourceType(ind.source_type)),
                format_func=strings.SOURCE_TYPE_LABELS.__getitem__,
            )
            source = st.text_input("Source", value=ind.source, max_chars=300)
            values: dict = {}
            for label, value_field, date_field in (
                ("Valeur de référence", "baseline_value", "baseline_date"),
                ("Cible intermédiaire", "intermediate_target", "intermediate_target_date"),
                ("Cible", "target_value", "target_date"),
            ):
                cols = st.columns(2)
                values[value_field] = cols[0].number_input(
                    label, value=getattr(ind, value_field), format="%.2f"
                )
                values[date_field] = cols[1].date_input(
                    f"Date — {label.lower()}",
                    value=getattr(ind, date_field),
                    min_value=date(2000, 1, 1),
                    max_value=date(2100, 12, 31),
                    format="DD/MM/YYYY",
                )
            cols = st.columns(2)
            period = cols[0].number_input(
                "Périodicité (jours)", value=ind.update_period_days, min_value=1, step=1
            )
            objective_ids = [None, *objectives]
            objective = cols[1].selectbox(
                "Objectif",
                objective_ids,
                index=objective_ids.index(ind.objective_id)
                if ind.objective_id in objective_ids
                else 0,
                format_func=lambda o: "(aucun)" if o is None else objectives[o],
            )
            chosen_actions = st.multiselect(
                "Actions mesurées", list(actions), default=linked, format_func=actions.get
            )
            st.markdown("**Calcul depuis l'enquête** (indicateurs de source Enquête, en %)")
            cols = st.columns(2)
            question = cols[0].text_input("Question d'enquête", value=ind.survey_question or "")
            counted = cols[1].text_input(
                "Réponses comptées (séparées par ;)",
                value="; ".join(ind.survey_values or []),
            )
            cols = st.columns(2)
            filter_question = cols[0].text_input(
                "Question de filtre (sous-population, facultatif)",
                value=ind.survey_filter_question or "",
            )
            filter_values = cols[1].text_input(
                "Réponses du filtre (séparées par ;)",
                value="; ".join(ind.survey_filter_values or []),
            )
            submitted = st.form_submit_button("Enregistrer la définition", type="primary")
        if not submitted:
            return
        changes = {
            "name": name,
            "definition": definition,
            "unit": unit,
            "direction": direction,
            "source_type": source_type,
            "source": source,
            **values,
            "update_period_days": int(period) if period is not None else None,
            "objective_id": objective,
            "survey_question": question,
            "survey_values": _answers(counted),
            "survey_filter_question": filter_question,
            "survey_filter_values": _answers(filter_values),
        }
        try:
            with db.session_scope(context.engine(), write=True) as session:
                indicator_service.update_indicator(
                    session, user, ind.id, ind.version, changes, action_ids=chosen_actions
                )
        except TrackerError as exc:
            st.error(str(exc))
            return
        st.session_state[_SAVED] = "Définition enregistrée."
        st.rerun()


@dataclass(frozen=True)
class IndicatorView:
    """The page's chart and tables, built once per data change and day: the tables only
    read as HTML blocks (tracker.ui.tables), the chart's own as an Arrow table (see
    ``arrow_table``)."""

    detail: IndicatorDetail  # what the page's forms start from
    summary: str  # the key figures (components.metric_cards)
    figure: go.Figure
    chart_table: Table
    info: str
    actions: str | None  # the actions measured, as links
    measurements: pd.DataFrame  # as edited: raw values, with the ids
    shown_measurements: str  # as read: French dates and numbers
    history: str | None


# Shared by every session without a copy (st.cache_resource; nothing mutates it):
# building the chart and formatting the tables took most of each run
# (benchmarks/pages.py). The indicator's page data is read here, on a miss only: a
# run that finds the view makes no other cached read (each costs its key's hashing).
@st.cache_resource(max_entries=64, show_spinner=False)
def _view(url: str, indicator_id: int, rev: int, at: date) -> IndicatorView | None:
    """The page for this indicator (None: there is no such indicator)."""
    detail = data.indicator_detail(indicator_id)
    if detail is None:
        return None
    figure, chart_table = _chart(detail)
    measurements = _measurements_frame(detail)
    history = _history_table(detail)
    return IndicatorView(
        detail=detail,
        summary=_summary_html(detail),
        figure=figure,
        chart_table=arrow_table(chart_table),
        info=table_block(
            _info_table(detail), caption="Définition de l'indicateur", scroll_after=40
        ),
        actions=_actions_block(detail),
        measurements=measurements,
        shown_measurements=table_block(
            _shown_measurements(measurements, detail.indicator.unit),
            caption="Mesures de l'indicateur, de la plus ancienne à la dernière",
        ),
        history=None
        if history is None
        else table_block(history, caption="Changements de l'indicateur, les plus récents d'abord"),
    )


def render() -> None:
    st.page_link(navigation.indicators_page(), label="Retour aux indicateurs", icon="⬅️")
    st.title("Fiche indicateur")
    indicator_id = _indicator_id()
    view = None
    if indicator_id is not None:
        view = context.reuse(
            _view,
            url=get_settings().database_url,
            indicator_id=indicator_id,
            rev=context.revision(),
            at=context.today(),
        )
    if view is None:
        st.error("Cet indicateur n'existe pas. Choisissez-en un dans la liste des indicateurs.")
        return
    detail = view.detail
    user = auth.current_user()
    example_banner(detail.plan.is_example)
    saved_message(_SAVED)
    st.html(view.summary)
    chart_with_table(
        view.figure,
        view.chart_table,
        key="indicator_chart",
        alt=f"Évolution de l'indicateur {detail.indicator.code} : mesures locales, trajectoire "
        "vers la cible et références nationales.",
    )
    st.header("Définition")
    st.html(view.info if view.actions is None else view.info + view.actions)
    if has_permission(user, Permission.EDIT_PLAN):
        _definition_form(user, detail)
    _measurements(user, detail, view)
    _history(indicator_id, view)
