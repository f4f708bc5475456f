"""Survey waves: creating them, importing respondents, computing survey
indicators, breakdowns by profile and comparing two waves.

A survey indicator is "the share of respondents whose answer to question Q is
among values V", optionally among the respondents whose answer to a filter
question is among other values (a sub-population). Respondents who left Q
blank are not counted. Answers are compared without case, accents or extra
spaces. With a weight column, shares are weighted and the 95 % Wilson interval
uses the Kish effective sample size (see ``stats``).

Responses are stored (one row per respondent), so a wave is recomputed when a
definition changes, in the same transaction as the change.

A wave's measurements are indicators' measurements: every write of them first locks
the wave, then every indicator of its plan, ids ascending (tracker.services.locking),
as the indicator's own saves lock the indicator before its measurements.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.errors import NotFoundError, ValidationError
from tracker.models import (
    Indicator,
    Measurement,
    Plan,
    SourceType,
    SurveyResponse,
    SurveyWave,
    User,
    utcnow,
)
from tracker.services import audit, stats
from tracker.services.locking import lock_name, lock_rows, locked_get, refuse_stale_form
from tracker.services.permissions import Permission, require
from tracker.services.revision import bump_revision

RELIABLE_MIN = 30  # groups with fewer respondents are marked as not reliable
INSERT_CHUNK = 5000
MAX_GROUPS = 60  # a column with more distinct answers is not offered for breakdowns

Progress = Callable[[float, str], None]
# survey_response without column types, for the bulk insert of pre-serialised answers.
_RESPONSE_ROWS = sa.table(
    "survey_response",
    sa.column("wave_id"),
    sa.column("respondent"),
    sa.column("weight"),
    sa.column("answers"),
)


# --------------------------------------------------------------------------
# Waves
# --------------------------------------------------------------------------


@dataclass
class WaveInput:
    name: str
    fieldwork_start: date | None = None
    fieldwork_end: date | None = None
    method: str = ""
    population: str = ""


@dataclass(frozen=True)
class WaveSummary:
    id: int
    name: str
    fieldwork_start: date | None
    fieldwork_end: date | None
    method: str
    population: str
    respondents: int
    effective_size: float | None
    weight_column: str | None
    columns: tuple[str, ...]
    imported_at: object
    is_example: bool


def get_wave(session: Session, wave_id: int) -> SurveyWave:
    wave = session.get(SurveyWave, wave_id)
    if wave is None:
        raise NotFoundError(f"La vague d'enquête n°{wave_id} n'existe pas.")
    return wave


def _locked_wave(session: Session, wave_id: int) -> SurveyWave:
    """The wave, then every indicator of its plan (ids ascending), locked until the end
    of the transaction: taken before a wave's responses or measurements are read to be
    replaced.

    Without it, on PostgreSQL, an indicator's measurements saved, or its definition
    changed, while a wave was imported or recomputed were checked against rows the
    import then changed: two measurements on one date and source failed on the
    database's unique key, or a measurement was computed from responses being replaced.
    Every indicator, not only the survey ones, since a definition may become one meanwhile.
    """
    wave = locked_get(session, SurveyWave, wave_id)
    if wave is None:
        raise NotFoundError(f"La vague d'enquête n°{wave_id} n'existe pas.")
    lock_rows(session, Indicator, Indicator.plan_id == wave.plan_id)
    return wave


def find_wave(session: Session, plan_id: int, name: str) -> SurveyWave | None:
    key = " ".join(name.split()).casefold()
    for wave in session.exec(select(SurveyWave).where(SurveyWave.plan_id == plan_id)):
        if " ".join(wave.name.split()).casefold() == key:
            return wave
    return None


def _wave_problems(session: Session, plan: Plan, data: WaveInput, wave_id: int | None) -> list[str]:
    problems = []
    name = " ".join((data.name or "").split())
    if not name:
        problems.append("Le nom de la vague est obligatoire (par exemple « Enquête usages 2024 »).")
    elif len(name) > 200:
        problems.append("Le nom de la vague dépasse 200 caractères.")
    else:
        other = find_wave(session, plan.id, name)
        if other is not None and other.id != wave_id:
            problems.append(f"Une vague s'appelle déjà « {other.name} » dans ce plan.")
    if data.fieldwork_end is None:
        problems.append(
            "La date de fin du terrain est obligatoire : elle date les mesures calculées."
        )
    if data.fieldwork_start and data.fieldwork_end and data.fieldwork_start > data.fieldwork_end:
        problems.append("Le terrain ne peut pas finir avant d'avoir commencé.")
    if data.fieldwork_end and data.fieldwork_end > date.today():
        problems.append("La fin du terrain ne peut pas être dans le futur.")
    for text, what in ((data.method, "La méthode"), (data.population, "La population")):
        if len(text or "") > 300:
            problems.append(f"{what} dépasse 300 caractères.")
    return problems


def _lock_wave_names(session: Session, plan_id: int) -> None:
    """Held until the end of the transaction by whoever names a wave of this plan: two
    waves created (or renamed) at once with one name — the check reads the other waves,
    and the new one is not there yet — are then checked one after the other, and the
    second is refused in French (not by the database's unique key, in English, nor let
    through when the names differ only in case or spaces). Taken first, before any row
    lock, so it adds no lock order."""
    lock_name(session, f"survey-wave-names:{plan_id}")


def create_wave(
    session: Session, actor: User | None, plan_id: int, data: WaveInput, *, is_example: bool = False
) -> SurveyWave:
    require(actor, Permission.EDIT_PLAN)
    _lock_wave_names(session, plan_id)
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFoundError(f"Le plan n°{plan_id} n'existe pas.")
    problems = _wave_problems(session, plan, data, None)
    if problems:
        raise ValidationError("La vague n'est pas créée.", details=problems)
    wave = SurveyWave(
        plan_id=plan_id,
        name=" ".join(data.name.split()),
        fieldwork_start=data.fieldwork_start,
        fieldwork_end=data.fieldwork_end,
        method=(data.method or "").strip(),
        population=(data.population or "").strip(),
        is_example=is_example,
    )
    session.add(wave)
    session.flush()
    audit.record(
        session,
        actor=actor,
        entity="vague",
        entity_id=wave.id,
        plan_id=plan_id,
        operation="création",
        new=wave.name,
    )
    bump_revision(session)
    return wave


def _wave_values(data: WaveInput | SurveyWave) -> dict[str, Any]:
    return {
        "name": " ".join(data.name.split()),
        "fieldwork_start": data.fieldwork_start,
        "fieldwork_end": data.fieldwork_end,
        "method": (data.method or "").strip(),
        "population": (data.population or "").strip(),
    }


_WAVE_FIELD_LABELS = {
    "name": "Nom",
    "fieldwork_start": "Début du terrain",
    "fieldwork_end": "Fin du terrain",
    "method": "Méthode",
    "population": "Population",
}


def update_wave(
    session: Session,
    actor: User | None,
    wave_id: int,
    data: WaveInput,
    *,
    expected: WaveInput | None = None,
) -> SurveyWave:
    """Rename or redate a wave; its measurements follow (new date, new source).

    ``expected``: the wave as the user's form showed it when opened; if someone saved
    it differently since, nothing is written and a ConflictError names the fields."""
    require(actor, Permission.EDIT_PLAN)
    found = session.get(SurveyWave, wave_id)
    if found is not None:
        _lock_wave_names(session, found.plan_id)
    wave = _locked_wave(session, wave_id)
    if expected is not None:
        refuse_stale_form(
            _wave_values(wave),
            _wave_values(expected),
            _WAVE_FIELD_LABELS,
            "Cette vague a été modifiée par quelqu'un d'autre depuis que vous avez ouvert le "
            "formulaire : rien n'est enregistré. Rechargez la page pour voir sa version, "
            "puis refaites vos changements.",
        )
    plan = session.get(Plan, wave.plan_id)
    problems = _wave_problems(session, plan, data, wave.id)
    if problems:
        raise ValidationError("La vague n'est pas modifiée.", details=problems)
    values = _wave_values(data)
    changed = audit.apply_changes(
        session, wave, values, actor=actor, entity="vague", plan_id=wave.plan_id
    )
    if not changed:
        return wave
    session.flush()
    measurements = list(session.exec(select(Measurement).where(Measurement.wave_id == wave.id)))
    if measurements:
        _check_measurement_keys(session, wave, [m.indicator_id for m in measurements])
        for m in measurements:
            m.date, m.source = wave.fieldwork_end, wave.name
            session.add(m)
    bump_revision(session)
    return wave


def delete_wave(session: Session, actor: User | None, wave_id: int) -> None:
    """Delete a wave, its responses and the measurements computed from it."""
    require(actor, Permission.EDIT_PLAN)
    wave = _locked_wave(session, wave_id)
    count = respondent_count(session, wave.id)
    removed = session.execute(sa.delete(Measurement).where(Measurement.wave_id == wave.id))
    session.execute(sa.delete(SurveyResponse).where(SurveyResponse.wave_id == wave.id))
    audit.record(
        session,
        actor=actor,
        entity="vague",
        entity_id=wave.id,
        plan_id=wave.plan_id,
        operation="suppression",
        old=f"{wave.name} ({count} répondants, {removed.rowcount} mesures)",
    )
    session.delete(wave)
    bump_revision(session)


def respondent_count(session: Session, wave_id: int) -> int:
    return int(
        session.execute(
            sa.select(sa.func.count()).where(SurveyResponse.wave_id == wave_id)
        ).scalar_one()
    )


def list_waves(session: Session, plan_id: int) -> list[WaveSummary]:
    sums = {
        wave_id: (n, total, squares)
        for wave_id, n, total, squares in session.execute(
            sa.select(
                SurveyResponse.wave_id,
                sa.func.count(),
                sa.func.sum(SurveyResponse.weight),
                sa.func.sum(SurveyResponse.weight * SurveyResponse.weight),
            )
            .join(SurveyWave, SurveyWave.id == SurveyResponse.wave_id)
            .where(SurveyWave.plan_id == plan_id)
            .group_by(SurveyResponse.wave_id)
        )
    }
    waves = session.exec(
        select(SurveyWave)
        .where(SurveyWave.plan_id == plan_id)
        .order_by(SurveyWave.fieldwork_end, SurveyWave.name)
    )
    result = []
    for w in waves:
        n, total, squares = sums.get(w.id, (0, None, None))
        effective = float(total) ** 2 / float(squares) if n and squares else None
        result.append(
            WaveSummary(
                id=w.id,
                name=w.name,
                fieldwork_start=w.fieldwork_start,
                fieldwork_end=w.fieldwork_end,
                method=w.method,
                population=w.population,
                respondents=int(n),
                effective_size=effective,
                weight_column=w.weight_column,
                columns=tuple(w.columns or ()),
                imported_at=w.imported_at,
                is_example=w.is_example,
            )
        )
    return result


# --------------------------------------------------------------------------
# Computing indicators
# --------------------------------------------------------------------------


def normalise_key(text: str) -> str:
    """Lower case, no accents, single spaces: how answers and column names are compared."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.replace("’", "'").split()).lower()


def _norm(text: str) -> str:
    return normalise_key(text) if text else ""


def _normalised(column: pd.Series) -> pd.Series:
    """A column's answers normalised (each distinct answer once: a survey has few)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    names = np.array([_norm(u) if isinstance(u, str) else "" for u in uniques], dtype=object)
    return pd.Series(names[codes], index=column.index, dtype=object)


@dataclass
class Responses:
    """A wave's respondents as a table of normalised answers, with their weights."""

    columns: list[str]  # as named in the file
    frame: pd.DataFrame  # normalised answers, one column per file column
    raw: pd.DataFrame  # answers as written (for breakdown labels)
    weights: np.ndarray
    weighted: bool

    @property
    def size(self) -> int:
        return len(self.weights)

    def column(self, name: str | None) -> str | None:
        """The file's column matching ``name`` (any case, with or without accents)."""
        if not name:
            return None
        key = normalise_key(name)
        return next((c for c in self.columns if normalise_key(c) == key), None)


def responses_from_table(
    columns: list[str], answers: list[list[str]], weights: list[float] | None
) -> Responses:
    raw = pd.DataFrame(answers, columns=columns, dtype=object).fillna("")
    return _responses(columns, raw, weights)


def _responses(columns: list[str], raw: pd.DataFrame, weights: list[float] | None) -> Responses:
    frame = pd.DataFrame({c: _normalised(raw[c]) for c in columns}, index=raw.index)
    w = np.asarray(weights, dtype=float) if weights is not None else np.ones(len(raw))
    return Responses(columns, frame, raw, w, weights is not None)


def load_responses(session: Session, wave_id: int) -> Responses:
    """A wave's stored respondents."""
    wave = get_wave(session, wave_id)
    rows = session.execute(
        sa.select(SurveyResponse.weight, SurveyResponse.answers)
        .where(SurveyResponse.wave_id == wave_id)
        .order_by(SurveyResponse.id)
    ).all()
    columns = list(wave.columns or [])
    for _, answers in rows[:1]:
        columns += [c for c in answers if c not in columns]
    raw = pd.DataFrame.from_records([a for _, a in rows], columns=columns).fillna("")
    return _responses(columns, raw, [w for w, _ in rows] if wave.weight_column else None)


@dataclass(frozen=True)
class Result:
    """A survey indicator computed on a wave (value and bounds in percent)."""

    indicator_id: int
    code: str
    name: str
    value: float
    n: int
    effective_size: float
    ci_low: float
    ci_high: float
    warnings: tuple[str, ...] = ()


def _population(
    ind: Indicator, r: Responses
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(mask of the counted respondents, mask of successes, problems, warnings)."""
    problems: list[str] = []
    warnings: list[str] = []
    question = r.column(ind.survey_question)
    if question is None:
        problems.append(
            f"Indicateur {ind.code} : la colonne « {ind.survey_question} » est absente du "
            "fichier des réponses (ajoutez-la ou corrigez la question d'enquête de "
            "l'indicateur)."
        )
    filter_column = None
    if ind.survey_filter_question:
        filter_column = r.column(ind.survey_filter_question)
        if filter_column is None:
            problems.append(
                f"Indicateur {ind.code} : la colonne de filtre « {ind.survey_filter_question} » "
                "est absente du fichier des réponses."
            )
    if problems:
        return np.zeros(0, bool), np.zeros(0, bool), problems, warnings
    answers = r.frame[question]
    counted = (answers != "").to_numpy(copy=True)
    if filter_column is not None:
        wanted = {_norm(v) for v in ind.survey_filter_values or []}
        in_filter = r.frame[filter_column].isin(wanted).to_numpy()
        if not in_filter.any():
            problems.append(
                f"Indicateur {ind.code} : la sous-population est vide (personne n'a répondu "
                f"{_list(ind.survey_filter_values)} à « {filter_column} »)."
            )
        counted &= in_filter
        warnings += _absent(
            ind.code, ind.survey_filter_values, r.frame[filter_column], filter_column
        )
    if not problems and not counted.any():
        problems.append(
            f"Indicateur {ind.code} : aucun répondant concerné n'a répondu à « {question} »."
        )
    values = {_norm(v) for v in ind.survey_values or []}
    success = answers.isin(values).to_numpy()
    warnings += _absent(ind.code, ind.survey_values, answers, question)
    return counted, success, problems, warnings


def _list(values: list[str] | None) -> str:
    return " ou ".join(f"« {v} »" for v in values or [])


def _absent(code: str, values: list[str] | None, answers: pd.Series, column: str) -> list[str]:
    present = set(answers.unique())
    missing = [v for v in values or [] if _norm(v) not in present]
    if not missing:
        return []
    return [
        f"Indicateur {code} : la réponse {_list(missing)} n'apparaît jamais dans la colonne "
        f"« {column} » ; vérifiez l'orthographe de la définition."
    ]


def compute_indicator(ind: Indicator, r: Responses) -> tuple[Result | None, list[str]]:
    """An indicator on a wave's responses: its result, or the problems that prevent it."""
    counted, success, problems, warnings = _population(ind, r)
    if problems:
        return None, problems
    p = stats.proportion(success[counted], r.weights[counted])
    return (
        Result(
            indicator_id=ind.id,
            code=ind.code,
            name=ind.name,
            value=p.value * 100,
            n=p.n,
            effective_size=p.effective_size,
            ci_low=p.low * 100,
            ci_high=p.high * 100,
            warnings=tuple(warnings),
        ),
        [],
    )


def survey_indicators(session: Session, plan_id: int) -> list[Indicator]:
    return list(
        session.exec(
            select(Indicator)
            .where(
                Indicator.plan_id == plan_id,
                Indicator.survey_question.is_not(None),
                Indicator.source_type == SourceType.SURVEY,
            )
            .order_by(Indicator.position, Indicator.code)
        )
    )


def compute_all(indicators: list[Indicator], r: Responses) -> tuple[list[Result], list[str]]:
    results, problems = [], []
    for ind in indicators:
        result, found = compute_indicator(ind, r)
        problems += found
        if result is not None:
            results.append(result)
    return results, problems


def _check_measurement_keys(session: Session, wave: SurveyWave, indicator_ids: list[int]) -> None:
    """Refuse when a typed measurement already sits on the wave's date and source."""
    clashes = session.exec(
        select(Measurement, Indicator.code)
        .join(Indicator, Indicator.id == Measurement.indicator_id)
        .where(
            Measurement.indicator_id.in_(indicator_ids),
            Measurement.date == wave.fieldwork_end,
            Measurement.source == wave.name,
            sa.or_(Measurement.wave_id.is_(None), Measurement.wave_id != wave.id),
        )
    ).all()
    if clashes:
        raise ValidationError(
            "Les mesures de la vague ne peuvent pas être enregistrées.",
            details=[
                f"Indicateur {code} : une mesure saisie existe déjà le "
                f"{m.date.strftime('%d/%m/%Y')} avec la source « {m.source} » ; "
                "supprimez-la ou renommez la vague."
                for m, code in clashes
            ],
        )


def _store_results(
    session: Session, actor: User | None, wave: SurveyWave, results: list[Result]
) -> int:
    """Create or update the wave's measurements; returns how many changed."""
    _check_measurement_keys(session, wave, [r.indicator_id for r in results])
    existing = {
        m.indicator_id: m
        for m in session.exec(select(Measurement).where(Measurement.wave_id == wave.id))
    }
    changed = 0
    for r in results:
        values = {
            "date": wave.fieldwork_end,
            "source": wave.name,
            "value": round(r.value, 4),
            "sample_size": r.n,
            "effective_size": round(r.effective_size, 2),
            "ci_low": round(r.ci_low, 4),
            "ci_high": round(r.ci_high, 4),
        }
        m = existing.pop(r.indicator_id, None)
        if m is None:
            m = Measurement(indicator_id=r.indicator_id, wave_id=wave.id, comment="", **values)
            session.add(m)
            session.flush()
            audit.record_measurement(
                session,
                actor=actor,
                plan_id=wave.plan_id,
                measurement=m,
                operation="création",
                context=f"calcul de la vague « {wave.name} »",
            )
            changed += 1
            continue
        if m.value != values["value"]:
            audit.record_measurement(
                session,
                actor=actor,
                plan_id=wave.plan_id,
                measurement=m,
                operation="modification",
                field="value",
                old=m.value,
                new=values["value"],
                context=f"calcul de la vague « {wave.name} »",
            )
        if any(getattr(m, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(m, k, v)
            session.add(m)
            changed += 1
    return changed


def _remove_measurements(
    session: Session, actor: User | None, wave: SurveyWave, indicator_ids: set[int]
) -> None:
    for m in session.exec(
        select(Measurement).where(
            Measurement.wave_id == wave.id, Measurement.indicator_id.in_(indicator_ids)
        )
    ):
        audit.record_measurement(
            session,
            actor=actor,
            plan_id=wave.plan_id,
            measurement=m,
            operation="suppression",
            context=f"la définition ne s'applique plus à la vague « {wave.name} »",
        )
        session.delete(m)


# --------------------------------------------------------------------------
# Importing responses
# --------------------------------------------------------------------------


@dataclass
class ImportOutcome:
    wave_name: str
    respondents: int
    columns: list[str]
    weight_column: str | None
    effective_size: float
    results: list[Result]
    warnings: list[str] = field(default_factory=list)
    replaced: int = 0  # respondents of a previous import, replaced
    applied: bool = False


def import_responses(
    session: Session,
    actor: User | None,
    wave_id: int,
    table: object,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Import a wave's respondents (``SurveyTable`` from ``io.survey_file``).

    Every survey indicator of the plan is computed first: a missing question
    column, an empty sub-population or a file without respondents refuses the
    whole import and nothing is written. A new import replaces the wave's
    previous respondents. With ``dry_run`` nothing is written.
    """
    require(actor, Permission.EDIT_PLAN)
    wave = get_wave(session, wave_id) if dry_run else _locked_wave(session, wave_id)
    respondents: list[str] = table.respondents
    if not respondents:
        raise ValidationError(
            "Le fichier ne contient aucune réponse ; rien n'a été enregistré.",
            details=["Une vague sans répondant ne peut pas être importée."],
        )
    report = progress or (lambda fraction, text: None)
    report(0.02, "Calcul des indicateurs…")
    r = responses_from_table(table.columns, table.answers, table.weights)
    results, problems = compute_all(survey_indicators(session, wave.plan_id), r)
    if problems:
        raise ValidationError(
            "Les réponses ne sont pas importées : le fichier ne permet pas de calculer les "
            "indicateurs d'enquête du plan ; rien n'a été enregistré.",
            details=problems,
        )
    outcome = ImportOutcome(
        wave_name=wave.name,
        respondents=len(respondents),
        columns=list(table.columns),
        weight_column=table.weight_column,
        effective_size=stats.kish_effective_size(r.weights),
        results=results,
        warnings=[w for res in results for w in res.warnings],
        replaced=respondent_count(session, wave.id),
    )
    _check_measurement_keys(session, wave, [r.indicator_id for r in results])
    if dry_run:
        return outcome
    session.execute(sa.delete(SurveyResponse).where(SurveyResponse.wave_id == wave.id))
    columns = list(table.columns)
    weights = table.weights
    total = len(respondents)
    # Answers are serialised here, once, and sent as text (the column is JSON):
    # a typed insert would process every row's parameters through the ORM.
    insert = sa.insert(_RESPONSE_ROWS)
    dumps = json.dumps
    for start in range(0, total, INSERT_CHUNK):
        stop = min(start + INSERT_CHUNK, total)
        session.execute(
            insert,
            [
                {
                    "wave_id": wave.id,
                    "respondent": respondents[i],
                    "weight": weights[i] if weights is not None else 1.0,
                    "answers": dumps(
                        {c: a for c, a in zip(columns, table.answers[i], strict=True) if a}
                    ),
                }
                for i in range(start, stop)
            ],
        )
        report(0.05 + 0.85 * stop / total, f"Enregistrement des réponses : {stop} / {total}")
    wave.columns = columns
    wave.weight_column = table.weight_column
    wave.sample_size = total
    wave.imported_at = utcnow()
    session.add(wave)
    report(0.95, "Enregistrement des mesures…")
    _store_results(session, actor, wave, results)
    audit.record(
        session,
        actor=actor,
        entity="vague",
        entity_id=wave.id,
        plan_id=wave.plan_id,
        operation="import des réponses",
        old=f"{outcome.replaced} répondants" if outcome.replaced else None,
        new=f"{total} répondants ({table.file_name})",
    )
    bump_revision(session)
    report(1.0, "Import terminé.")
    outcome.applied = True
    return outcome


def recompute_wave(session: Session, actor: User | None, wave_id: int) -> list[Result]:
    """Recompute every survey indicator on a wave's stored responses."""
    require(actor, Permission.EDIT_PLAN)
    wave = _locked_wave(session, wave_id)
    if respondent_count(session, wave.id) == 0:
        raise ValidationError(
            f"La vague « {wave.name} » n'a aucun répondant : importez d'abord ses réponses."
        )
    indicators = survey_indicators(session, wave.plan_id)
    results, problems = compute_all(indicators, load_responses(session, wave.id))
    if problems:
        raise ValidationError("La vague n'est pas recalculée.", details=problems)
    _store_results(session, actor, wave, results)
    computed = {r.indicator_id for r in results}
    stale = {
        m.indicator_id
        for m in session.exec(select(Measurement).where(Measurement.wave_id == wave.id))
    } - computed
    if stale:
        _remove_measurements(session, actor, wave, stale)
    bump_revision(session)
    return results


def recompute_indicator(session: Session, actor: User | None, indicator: Indicator) -> list[str]:
    """After a definition change: recompute the indicator on every wave with responses.

    A wave whose file lacks the question is skipped (and listed in the returned
    notes); if no wave has it, or a sub-population is empty, ValidationError.
    An indicator that is no longer a survey indicator loses its computed
    measurements. The caller holds the indicator's lock (update_indicator, the plan
    import): waves are read here, not locked, which keeps the lock order.
    """
    waves = [
        w
        for w in session.exec(select(SurveyWave).where(SurveyWave.plan_id == indicator.plan_id))
        if respondent_count(session, w.id)
    ]
    notes: list[str] = []
    is_survey = bool(indicator.survey_question) and indicator.source_type == SourceType.SURVEY
    if not is_survey:
        for wave in waves:
            _remove_measurements(session, actor, wave, {indicator.id})
        return notes
    computed: list[tuple[SurveyWave, Result]] = []
    problems: list[str] = []
    for wave in waves:
        r = load_responses(session, wave.id)
        if r.column(indicator.survey_question) is None:
            notes.append(f"« {wave.name} » : la question n'y figure pas, pas de mesure.")
            _remove_measurements(session, actor, wave, {indicator.id})
            continue
        result, found = compute_indicator(indicator, r)
        problems += [f"« {wave.name} » : {p}" for p in found]
        if result is not None:
            computed.append((wave, result))
    if waves and not computed and not problems:
        problems.append(
            f"La question « {indicator.survey_question} » ne figure dans aucune vague importée "
            f"(colonnes disponibles : {', '.join(waves[-1].columns or [])})."
        )
    if problems:
        raise ValidationError(
            f"L'indicateur {indicator.code} n'est pas enregistré : sa définition ne peut pas "
            "être calculée.",
            details=problems,
        )
    for wave, result in computed:
        _store_results(session, actor, wave, [result])
    return notes


# --------------------------------------------------------------------------
# Breakdowns and comparisons
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    label: str
    n: int
    effective_size: float
    value: float  # percent
    ci_low: float
    ci_high: float

    @property
    def reliable(self) -> bool:
        return self.n >= RELIABLE_MIN


def breakdown_columns(r: Responses, indicator: Indicator | None = None) -> list[str]:
    """Columns a breakdown can use: few distinct answers, not the question itself."""
    skip = {r.column(indicator.survey_question)} if indicator is not None else set()
    return [
        c
        for c in r.columns
        if c not in skip and 1 < r.frame[c].replace("", np.nan).nunique() <= MAX_GROUPS
    ]


def breakdown(indicator: Indicator, r: Responses, by: str) -> list[Group]:
    """The indicator in each group of column ``by`` (blank answers left out)."""
    column = r.column(by)
    if column is None:
        raise ValidationError(f"La colonne « {by} » n'existe pas dans cette vague.")
    counted, success, problems, _ = _population(indicator, r)
    if problems:
        raise ValidationError(
            "Cet indicateur ne peut pas être calculé sur cette vague.", details=problems
        )
    labels = r.raw[column].to_numpy()
    keys = r.frame[column].to_numpy()
    groups: list[Group] = []
    first_label: dict[str, str] = {}
    for key, label in zip(keys, labels, strict=True):
        if key and key not in first_label:
            first_label[key] = label
    for key, label in sorted(first_label.items(), key=lambda kv: kv[1]):
        mask = counted & (keys == key)
        if not mask.any():
            continue
        p = stats.proportion(success[mask], r.weights[mask])
        groups.append(Group(label, p.n, p.effective_size, p.value * 100, p.low * 100, p.high * 100))
    return groups


@dataclass(frozen=True)
class Comparison:
    indicator_id: int
    code: str
    name: str
    direction: str
    first: Measurement
    second: Measurement
    difference: float  # points
    p_value: float
    significant: bool
    favourable: bool | None  # None when no significant change


def compare_waves(session: Session, first_wave_id: int, second_wave_id: int) -> list[Comparison]:
    """Each survey indicator measured in both waves: change in points and its test."""
    first, second = get_wave(session, first_wave_id), get_wave(session, second_wave_id)
    if first.plan_id != second.plan_id:
        raise ValidationError("Les deux vagues n'appartiennent pas au même plan.")
    if first.id == second.id:
        raise ValidationError("Choisissez deux vagues différentes.")
    by_wave: dict[int, dict[int, Measurement]] = {first.id: {}, second.id: {}}
    for m in session.exec(
        select(Measurement).where(Measurement.wave_id.in_([first.id, second.id]))
    ):
        by_wave[m.wave_id][m.indicator_id] = m
    indicators = {
        i.id: i for i in session.exec(select(Indicator).where(Indicator.plan_id == first.plan_id))
    }
    result = []
    for iid in sorted(
        set(by_wave[first.id]) & set(by_wave[second.id]),
        key=lambda i: (indicators[i].position, indicators[i].code),
    ):
        a, b = by_wave[first.id][iid], by_wave[second.id][iid]
        test = stats.two_proportion_test(
            a.value / 100,
            a.effective_size or a.sample_size or 1,
            b.value / 100,
            b.effective_size or b.sample_size or 1,
        )
        ind = indicators[iid]
        favourable = None
        if test.significant:
            favourable = (test.difference > 0) == (ind.direction == "hausse")
        result.append(
            Comparison(
                indicator_id=iid,
                code=ind.code,
                name=ind.name,
                direction=str(ind.direction),
                first=a,
                second=b,
                difference=test.difference * 100,
                p_value=test.p_value,
                significant=test.significant,
                favourable=favourable,
            )
        )
    return result
