"""« Enquêtes »: the waves of the residents' digital-uses survey, importing their
responses, the indicators each wave gives with their intervals, breakdowns by
profile (commune, age group...) and the comparison of two waves."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tracker import charts, db
from tracker.errors import TrackerError
from tracker.formats import format_date, format_datetime, format_number, format_percent
from tracker.io.survey_file import read_survey_file
from tracker.io.uploads import read_upload
from tracker.io.workbook import InputFile
from tracker.models import Indicator, User
from tracker.services import surveys
from tracker.services.permissions import Permission, has_permission
from tracker.services.surveys import WaveInput, WaveSummary
from tracker.settings import get_settings
from tracker.ui import auth, context, data
from tracker.ui.components import (
    Table,
    arrow_table,
    chart_with_table,
    example_banner,
    forget_opened,
    frozen_figure,
    grid,
    lazy_section,
    md_escape,
    opened_on,
    saved_message,
    stale_form_warning,
)
from tracker.ui.tables import table_block

_SAVED = "surveys_saved"
_PENDING = "surveys_pending"


def _interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    return f"{format_percent(low, 1)} – {format_percent(high, 1)}"


_INTRO = (
    "L'étude sur les usages et besoins numériques des habitants (2012, puis ses mises à "
    "jour) : chaque vague garde ses réponses individuelles, d'où se calculent les "
    "indicateurs d'enquête, leur intervalle de confiance à 95 % (Wilson, effectif efficace "
    "de Kish quand les réponses sont pondérées) et leurs résultats par profil."
)
_INTRO_STYLE = """<style>
.tk-surveys-intro { font-size: 0.875rem; color: rgba(49, 51, 63, 0.6); margin: 0 0 0.75rem; }
</style>"""


@dataclass(frozen=True)
class Waves:
    """The plan's waves, and the top of the page: what the study is and the waves' table."""

    is_example: bool
    waves: list[WaveSummary]  # oldest first
    top: str  # one HTML block: the study in a sentence, then the waves' table


# One cached read for the top of the page (each cached read costs its key's hashing).
@st.cache_resource(max_entries=16, show_spinner=False)
def _waves_view(url: str, plan_id: int, rev: int) -> Waves:
    waves = data.waves(plan_id)
    intro = f'{_INTRO_STYLE}<p class="tk-surveys-intro">{html.escape(_INTRO)}</p>'
    return Waves(
        is_example=data.plan_structure(plan_id).is_example,
        waves=waves,
        top=intro + _waves_table(waves) if waves else intro,
    )


def _waves_table(waves: list[WaveSummary]) -> str:
    """The plan's waves as the page lists them, one HTML table: read only, so no data
    grid (tables.py)."""
    frame = pd.DataFrame(
        [
            {
                "Vague": w.name,
                "Terrain": (
                    f"du {format_date(w.fieldwork_start)} au {format_date(w.fieldwork_end)}"
                    if w.fieldwork_start
                    else f"jusqu'au {format_date(w.fieldwork_end)}"
                ),
                "Répondants": w.respondents,
                "Effectif efficace": format_number(w.effective_size, 0)
                if w.effective_size
                else "–",
                "Pondération": w.weight_column or "aucune",
                "Méthode": w.method,
                "Population": w.population,
                "Réponses importées le": format_datetime(w.imported_at) or "pas encore",
                "Exemple": "oui" if w.is_example else "",
            }
            for w in waves
        ]
    )
    return table_block(frame, caption="Les vagues de l'enquête, de la plus ancienne à la dernière")


# The wave as its edit form showed it when opened: (wave id, WaveInput). The form keeps
# showing it (stable keys) even if someone saves meanwhile, and saving checks nobody
# did (update_wave(expected=…)); dropped once saved or folded.
_FORM_BASE = "surveys_form_base"
_FIELDS = ("name", "fieldwork_start", "fieldwork_end", "method", "population")


def _as_input(wave: WaveSummary) -> WaveInput:
    return WaveInput(*(getattr(wave, f) for f in _FIELDS))


def _widgets(wave_id: int) -> list[str]:
    return [f"surveys_edit_{wave_id}_{field}" for field in _FIELDS]


def _edit_base(wave: WaveSummary) -> WaveInput:
    return opened_on(_FORM_BASE, wave.id, _as_input(wave), _widgets(wave.id))


def _forget_edit_form() -> None:
    forget_opened(_FORM_BASE, _widgets)


def _wave_form(user: User, plan_id: int, wave: WaveSummary | None, *, key: str, label: str) -> None:
    base = _edit_base(wave) if wave is not None else None
    if base is not None and base != _as_input(wave):
        stale_form_warning(
            "Cette vague a été modifiée", "sa version enregistrée est dans le tableau des vagues"
        )

    def widget(field: str) -> str | None:  # stable keys for the edit form only
        return f"{key}_{field}" if base is not None else None

    with st.form(key, clear_on_submit=wave is None):
        name = st.text_input(
            "Nom de la vague", value=base.name if base else "", max_chars=200, key=widget("name")
        )
        cols = st.columns(2)
        start = cols[0].date_input(
            "Début du terrain",
            value=base.fieldwork_start if base else None,
            min_value=date(1990, 1, 1),
            max_value=context.today(),
            format="DD/MM/YYYY",
            key=widget("fieldwork_start"),
        )
        end = cols[1].date_input(
            "Fin du terrain (date des mesures)",
            value=base.fieldwork_end if base else None,
            min_value=date(1990, 1, 1),
            max_value=context.today(),
            format="DD/MM/YYYY",
            key=widget("fieldwork_end"),
        )
        method = st.text_input(
            "Méthode",
            value=base.method if base else "",
            max_chars=300,
            placeholder="Questionnaire téléphonique, quotas par âge et sexe…",
            key=widget("method"),
        )
        population = st.text_input(
            "Population",
            value=base.population if base else "",
            max_chars=300,
            placeholder="Habitants du Grand Cahors âgés de 15 ans et plus",
            key=widget("population"),
        )
        submitted = st.form_submit_button(label, type="primary")
    if not submitted:
        return
    values = WaveInput(name, start, end, method, population)
    try:
        with db.session_scope(context.engine(), write=True) as session:
            if wave is None:
                created = surveys.create_wave(session, user, plan_id, values)
                st.session_state["surveys_wave"] = created.id
            else:
                surveys.update_wave(session, user, wave.id, values, expected=base)
    except TrackerError as exc:
        st.error(str(exc))
        return
    if wave is not None:
        _forget_edit_form()
    st.session_state[_SAVED] = "Vague créée." if wave is None else "Vague modifiée."
    st.rerun()


def _results_frame(outcome_results: list[surveys.Result]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Code": r.code,
                "Indicateur": r.name,
                "Valeur": format_percent(r.value, 1),
                "Intervalle à 95 %": _interval(r.ci_low, r.ci_high),
                "Répondants comptés": r.n,
                "Effectif efficace": format_number(r.effective_size, 0),
            }
            for r in outcome_results
        ],
        columns=[
            "Code",
            "Indicateur",
            "Valeur",
            "Intervalle à 95 %",
            "Répondants comptés",
            "Effectif efficace",
        ],
    )


def _import(user: User, wave: WaveSummary) -> None:
    box = lazy_section("Importer les réponses", f"surveys_import_{wave.id}_open")
    if box is None:
        st.session_state.pop(_PENDING, None)
        return
    with box:
        _import_form(user, wave)


def _import_form(user: User, wave: WaveSummary) -> None:
    st.caption(
        "Un fichier .xlsx ou CSV (séparateur ; ou , — UTF-8 ou Windows-1252) : une ligne par "
        "répondant, une colonne par question, et facultativement une colonne « Identifiant » et "
        "une colonne « Poids » (décimales avec une virgule ou un point). Un nouvel import "
        "remplace les réponses de la vague ; les indicateurs sont recalculés."
    )
    limit = data.app_settings().upload_limit_mb
    # A new key empties the uploader once its file is imported.
    generation = st.session_state.get("surveys_upload_generation", 0)
    upload = st.file_uploader(
        f"Fichier des réponses (au plus {limit} Mo)",
        type=["xlsx", "csv"],
        key=f"surveys_file_{wave.id}_{generation}",
    )
    if upload is None:
        st.session_state.pop(_PENDING, None)
        return
    signature = (wave.id, upload.name, upload.size, context.revision())
    pending = st.session_state.get(_PENDING)
    if pending is None or pending["signature"] != signature:
        try:
            content = read_upload(upload, name=upload.name, limit_mb=limit)
            table = read_survey_file(InputFile(upload.name, content))
            with db.session_scope(context.engine()) as session:
                outcome = surveys.import_responses(session, user, wave.id, table, dry_run=True)
        except TrackerError as exc:
            st.session_state.pop(_PENDING, None)
            st.error(str(exc))
            return
        pending = {"signature": signature, "table": table, "outcome": outcome}
        st.session_state[_PENDING] = pending
    outcome = pending["outcome"]
    st.success(
        f"Fichier lu : {format_number(outcome.respondents)} répondants, "
        f"{len(outcome.columns)} colonnes"
        + (
            f", pondéré par « {outcome.weight_column} » (effectif efficace "
            f"{format_number(outcome.effective_size)})"
            if outcome.weight_column
            else ", sans pondération"
        )
        + ". Rien n'est encore enregistré."
    )
    if outcome.replaced:
        st.warning(
            f"La vague a déjà {format_number(outcome.replaced)} répondants : ils seront remplacés."
        )
    for warning in outcome.warnings:
        st.warning(warning)
    if outcome.results:
        st.caption("Indicateurs que ce fichier donnera :")
        grid(_results_frame(outcome.results), hide_index=True, key="surveys_preview")
    else:
        st.info(
            "Aucun indicateur d'enquête n'est défini dans ce plan : seules les réponses "
            "seront enregistrées."
        )
    if st.button(
        f"Importer les {format_number(outcome.respondents)} répondants",
        type="primary",
        key=f"surveys_confirm_{wave.id}",
    ):
        bar = st.progress(0, text="Import en cours…")
        try:
            with db.session_scope(context.engine(), write=True) as session:
                done = surveys.import_responses(
                    session,
                    user,
                    wave.id,
                    pending["table"],
                    progress=lambda fraction, text: bar.progress(min(fraction, 1.0), text=text),
                )
        except TrackerError as exc:
            bar.empty()
            st.error(str(exc))
            return
        st.session_state.pop(_PENDING, None)
        st.session_state["surveys_upload_generation"] = generation + 1
        st.session_state[_SAVED] = (
            f"{format_number(done.respondents)} répondants importés dans « {done.wave_name} » ; "
            f"{len(done.results)} indicateur(s) calculé(s)."
        )
        st.rerun()


def _manage(user: User, plan_id: int, wave: WaveSummary) -> None:
    # One section for what changes the wave itself (built only once opened: most visits
    # read the page); the deletion still asks for a confirmation.
    box = lazy_section(
        "Modifier, recalculer ou supprimer la vague", f"surveys_manage_{wave.id}_open"
    )
    if box is None:
        _forget_edit_form()  # opened again, the form starts from the saved wave
        return
    with box:
        if wave.respondents and st.button(
            "Recalculer les indicateurs", key=f"surveys_recompute_{wave.id}"
        ):
            try:
                with db.session_scope(context.engine(), write=True) as session:
                    results = surveys.recompute_wave(session, user, wave.id)
            except TrackerError as exc:
                st.error(str(exc))
            else:
                st.session_state[_SAVED] = f"{len(results)} indicateur(s) recalculé(s)."
                st.rerun()
        _wave_form(user, plan_id, wave, key=f"surveys_edit_{wave.id}", label="Enregistrer")
        st.caption(
            "Supprimer la vague efface ses réponses et les mesures calculées depuis elle. "
            "L'opération est inscrite au journal."
        )
        sure = st.checkbox(
            f"Je confirme la suppression de « {wave.name} »", key=f"surveys_sure_{wave.id}"
        )
        if st.button("Supprimer la vague", disabled=not sure, key=f"surveys_delete_{wave.id}"):
            try:
                with db.session_scope(context.engine(), write=True) as session:
                    surveys.delete_wave(session, user, wave.id)
            except TrackerError as exc:
                st.error(str(exc))
            else:
                st.session_state.pop("surveys_wave", None)
                st.session_state[_SAVED] = "Vague supprimée."
                st.rerun()


# What follows is computed once per data change (and choice), and shared by every
# session without a copy (st.cache_resource; nothing mutates it): computing the
# indicators and building the charts took most of each run (benchmarks/pages.py).
# Arguments named with a leading underscore are not part of the key: they follow
# from the others (the wave's responses at this revision, the chosen indicator).
@dataclass(frozen=True)
class WaveResults:
    """A wave's survey indicators: their table (one HTML table, read only), the problems
    met, those computed."""

    table: str | None
    problems: tuple[str, ...]
    computable: tuple[Indicator, ...]


@st.cache_resource(max_entries=16, show_spinner=False)
def _wave_results_view(url: str, plan_id: int, wave_id: int, rev: int) -> WaveResults:
    # The responses are read here, on a miss only: a run that finds the view reads
    # nothing else (each cached read costs its key's hashing).
    responses = data.responses(wave_id)
    with db.session_scope(db.get_engine(url)) as session:
        indicators = surveys.survey_indicators(session, plan_id)
    results, problems = surveys.compute_all(indicators, responses)
    computed = {r.indicator_id for r in results}
    return WaveResults(
        table=table_block(_results_frame(results), caption="Indicateurs d'enquête de la vague")
        if results
        else None,
        problems=tuple(problems),
        computable=tuple(i for i in indicators if i.id in computed),
    )


@st.cache_resource(max_entries=64, show_spinner=False)
def _breakdown_columns(
    url: str,
    wave_id: int,
    rev: int,
    indicator_id: int,
    _indicator: Indicator,
    _responses: surveys.Responses,
) -> tuple[str, ...]:
    return tuple(surveys.breakdown_columns(_responses, _indicator))


@dataclass(frozen=True)
class Breakdown:
    """An indicator by profile: the chart, its table (one HTML table, shown under the
    chart), the groups too small to trust."""

    figure: go.Figure | None = None
    table: str | None = None
    unreliable: int = 0
    error: str | None = None


@st.cache_resource(max_entries=64, show_spinner=False)
def _breakdown_view(
    url: str,
    wave_id: int,
    rev: int,
    indicator_id: int,
    column: str,
    _indicator: Indicator,
    _responses: surveys.Responses,
) -> Breakdown:
    indicator = _indicator
    try:
        groups = surveys.breakdown(indicator, _responses, column)
    except TrackerError as exc:
        return Breakdown(error=str(exc))
    frame = pd.DataFrame(
        {
            "groupe": [g.label for g in groups],
            "valeur": [g.value for g in groups],
            "basse": [g.ci_low for g in groups],
            "haute": [g.ci_high for g in groups],
            "repondants": [g.n for g in groups],
            "fiable": [g.reliable for g in groups],
        }
    )
    fig = charts.breakdown_bars(frame, title=f"{indicator.code} — {indicator.name}", column=column)
    table = pd.DataFrame(
        {
            column: frame["groupe"],
            "Valeur": [format_percent(v, 1) for v in frame["valeur"]],
            "Intervalle à 95 %": [
                _interval(lo, hi) for lo, hi in zip(frame["basse"], frame["haute"], strict=True)
            ],
            "Répondants": frame["repondants"],
            "Fiabilité": [
                "fiable" if ok else f"non fiable (moins de {surveys.RELIABLE_MIN} répondants)"
                for ok in frame["fiable"]
            ],
        }
    )
    return Breakdown(
        frozen_figure(fig),
        table_block(table, caption=f"Données du graphique : {indicator.code} selon {column}"),
        int((~frame["fiable"]).sum()),
    )


def _wave_results(plan_id: int, wave: WaveSummary) -> None:
    if not wave.respondents:
        st.info("Aucune réponse importée pour cette vague.")
        return
    url, rev = get_settings().database_url, context.revision()
    view = context.reuse(_wave_results_view, url=url, plan_id=plan_id, wave_id=wave.id, rev=rev)
    for problem in view.problems:
        st.warning(problem)
    if view.table is not None:
        st.html(view.table)
    elif not view.problems:
        st.info("Aucun indicateur d'enquête n'est défini (page Fiche indicateur).")
    if not view.computable:
        return
    # Results by profile are a closer look, one indicator at a time: built (two choices,
    # a chart, its table) only once the section is opened.
    box = lazy_section("Résultats par profil (commune, âge…)", f"surveys_breakdown_{wave.id}_open")
    if box is not None:
        with box:
            _breakdown(wave, view, url=url, rev=rev, responses=data.responses(wave.id))


def _breakdown(
    wave: WaveSummary, view: WaveResults, *, url: str, rev: int, responses: surveys.Responses
) -> None:
    cols = st.columns(2)
    indicator = cols[0].selectbox(
        "Indicateur",
        view.computable,
        format_func=lambda i: f"{i.code} — {i.name}",
        key=f"surveys_breakdown_indicator_{wave.id}",
    )
    choices = context.reuse(
        _breakdown_columns,
        url=url,
        wave_id=wave.id,
        rev=rev,
        indicator_id=indicator.id,
        _indicator=indicator,
        _responses=responses,
    )
    if not choices:
        st.info("Aucune colonne de profil (commune, âge…) dans cette vague.")
        return
    default = next((n for n, c in enumerate(choices) if surveys.normalise_key(c) == "commune"), 0)
    column = cols[1].selectbox(
        "Selon", choices, index=default, key=f"surveys_breakdown_column_{wave.id}"
    )
    shown = context.reuse(
        _breakdown_view,
        url=url,
        wave_id=wave.id,
        rev=rev,
        indicator_id=indicator.id,
        column=column,
        _indicator=indicator,
        _responses=responses,
    )
    if shown.error is not None:
        st.error(shown.error)
        return
    # Already in a section: the chart's figures follow it as a table (sections do not nest).
    st.plotly_chart(
        shown.figure,
        key=f"surveys_breakdown_{wave.id}",
        alt=f"{indicator.name} selon {column}, avec l'intervalle de confiance de chaque groupe.",
        config={"displaylogo": False},
    )
    st.html(shown.table)
    if shown.unreliable:
        st.caption(
            f"{shown.unreliable} groupe(s) de moins de {surveys.RELIABLE_MIN} répondants, "
            "hachurés et marqués « non fiable » : leur intervalle est trop large pour conclure."
        )


def _verdict(c: surveys.Comparison) -> str:
    if not c.significant:
        return "non significatif"
    return "significatif, " + ("favorable" if c.favourable else "défavorable")


@st.cache_resource(max_entries=16, show_spinner=False)
def _comparison_view(
    url: str,
    first: int,
    second: int,
    rev: int,
    first_name: str,
    second_name: str,
) -> tuple[go.Figure, Table] | None:
    """The comparison's chart and table (None: no indicator measured in both waves)."""
    rows = data.comparison(first, second)
    if not rows:
        return None
    frame = pd.DataFrame(
        {
            "indicateur": [f"{c.code} {c.name}" for c in rows],
            "avant": [c.first.value for c in rows],
            "avant_basse": [c.first.ci_low for c in rows],
            "avant_haute": [c.first.ci_high for c in rows],
            "apres": [c.second.value for c in rows],
            "apres_basse": [c.second.ci_low for c in rows],
            "apres_haute": [c.second.ci_high for c in rows],
            "significatif": [c.significant for c in rows],
        }
    )
    fig = charts.wave_comparison(frame, first=first_name, second=second_name)
    table = pd.DataFrame(
        {
            "Indicateur": [f"{c.code} — {c.name}" for c in rows],
            first_name: [
                f"{format_percent(c.first.value, 1)} ({_interval(c.first.ci_low, c.first.ci_high)})"
                for c in rows
            ],
            second_name: [
                f"{format_percent(c.second.value, 1)} "
                f"({_interval(c.second.ci_low, c.second.ci_high)})"
                for c in rows
            ],
            "Écart (points)": [
                ("+" if c.difference > 0 else "") + format_number(c.difference, 1) for c in rows
            ],
            "p": ["< 0,001" if c.p_value < 0.001 else format_number(c.p_value, 3) for c in rows],
            "Écart": [_verdict(c) for c in rows],
        }
    )
    return frozen_figure(fig), arrow_table(table)


def _comparison(waves: list[WaveSummary]) -> None:
    st.header("Comparer deux vagues")
    measured = [w for w in waves if w.respondents]
    if len(measured) < 2:
        st.info("Il faut deux vagues avec des réponses importées pour les comparer.")
        return
    names = {w.id: w.name for w in measured}
    ids = list(names)  # from the oldest fieldwork to the latest
    # One choice, an earlier wave then a later one (the oldest and the latest first);
    # with only two waves there is nothing to choose.
    pairs = [(a, b) for n, a in enumerate(ids) for b in ids[n + 1 :]]
    if len(pairs) == 1:
        first, second = pairs[0]
    else:
        first, second = st.selectbox(
            "Vagues comparées",
            pairs,
            index=pairs.index((ids[0], ids[-1])),
            format_func=lambda pair: f"{names[pair[0]]} → {names[pair[1]]}",
            key="surveys_pair",
        )
    shown = context.reuse(
        _comparison_view,
        url=get_settings().database_url,
        first=first,
        second=second,
        rev=context.revision(),
        first_name=names[first],
        second_name=names[second],
    )
    if shown is None:
        st.info("Aucun indicateur n'est mesuré dans les deux vagues.")
        return
    fig, table = shown
    chart_with_table(
        fig,
        table,
        key="surveys_comparison",
        alt=f"Comparaison des indicateurs entre {names[first]} et {names[second]}.",
    )
    st.caption(
        f"« {md_escape(names[first])} » comparée à « {md_escape(names[second])} ». "
        "Test de comparaison de deux proportions (z, proportion commune, effectifs efficaces "
        "de Kish) : l'écart est « significatif » seulement si p < 0,05."
    )


def render() -> None:
    st.title("Enquêtes")
    plan_id = context.selected_plan_id()
    if plan_id is None:
        st.info("Aucun plan n'est enregistré.")
        return
    user = auth.current_user()
    view = context.reuse(
        _waves_view, url=get_settings().database_url, plan_id=plan_id, rev=context.revision()
    )
    waves = view.waves
    example_banner(view.is_example)
    saved_message(_SAVED)
    editor = has_permission(user, Permission.EDIT_PLAN)
    st.html(view.top)
    if not waves:
        st.info("Aucune vague d'enquête n'est enregistrée pour ce plan.")
    # The forms are built only once opened (most visits read the page).
    if editor and (box := lazy_section("Nouvelle vague", "surveys_new_open", expanded=not waves)):
        with box:
            _wave_form(user, plan_id, None, key="surveys_new", label="Créer la vague")
    if not waves:
        return
    st.header("Une vague")
    names = {w.id: w.name for w in waves}
    ids = list(names)
    wanted = st.session_state.get("surveys_wave")
    wave_id = st.selectbox(
        "Vague",
        ids,
        index=ids.index(wanted) if wanted in ids else len(ids) - 1,
        format_func=names.get,
    )
    st.session_state["surveys_wave"] = wave_id
    wave = next(w for w in waves if w.id == wave_id)  # its population and method: above
    if editor:
        _import(user, wave)
        _manage(user, plan_id, wave)
    _wave_results(plan_id, wave)
    _comparison(waves)
