"""Open data: a plan's actions, budget lines, indicators and measurements as a
Frictionless Data Package (CSV and JSON files described by ``datapackage.json``).

The loi pour une République numérique (7 October 2016) makes publication the
default for collectivities of this size. Each table is declared once below
(its fields, their types, French titles and descriptions); the CSV file, the
JSON file and the Table Schema are all written from that one declaration, so
they cannot disagree.

Formats: CSV in UTF-8 without BOM, ``,`` separated, one header row, ISO dates,
euros with a ``.`` decimal point and two decimals (written from integer cents,
digit by digit), an empty cell for a missing value; JSON is a list of objects
with the same fields (``null`` for a missing value).

Personal data is left out: nothing from user accounts, and the pilots' names
only when an administrator allowed it (their function and service are kept).
The elected referents, partners and free comments are left out too: they may
name people, and nobody chose to publish them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session

from tracker import strings
from tracker.services import plans as plan_service

LICENSE = {
    "name": "etalab-2.0",
    "title": "Licence Ouverte / Open Licence version 2.0",
    "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
}
DESCRIPTOR = "datapackage.json"
LIST_SEPARATOR = "; "

ACTIONS = "actions"
BUDGET_LINES = "lignes_budgetaires"
INDICATORS = "indicateurs"
MEASUREMENTS = "mesures"


@dataclass(frozen=True)
class Column:
    """One field of a published table: how it is named, typed and explained.

    ``kind`` is a Table Schema type, or ``euros`` for an amount kept in integer
    cents until it is written (a ``number`` in the schema).
    """

    name: str
    kind: str
    title: str
    description: str
    required: bool = False
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def schema(self) -> dict[str, Any]:
        field: dict[str, Any] = {
            "name": self.name,
            "type": "number" if self.kind == "euros" else self.kind,
            "title": self.title,
            "description": self.description,
        }
        if self.kind == "date":
            field["format"] = "default"  # ISO 8601: AAAA-MM-JJ
        constraints: dict[str, Any] = {}
        if self.required:
            constraints["required"] = True
        if self.enum:
            constraints["enum"] = list(self.enum)
        if self.minimum is not None:
            constraints["minimum"] = self.minimum
        if self.maximum is not None:
            constraints["maximum"] = self.maximum
        if constraints:
            field["constraints"] = constraints
        return field


@dataclass(frozen=True)
class Table:
    """A published table: its rows (field name -> value) and how to describe it."""

    name: str
    title: str
    description: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    primary_key: tuple[str, ...] = ()
    # (local field, referenced table, referenced field)
    foreign_keys: tuple[tuple[str, str, str], ...] = ()

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "fields": [c.schema() for c in self.columns],
            "missingValues": [""],
        }
        if self.primary_key:
            schema["primaryKey"] = list(self.primary_key)
        if self.foreign_keys:
            schema["foreignKeys"] = [
                {
                    "fields": [local],
                    "reference": {"resource": table, "fields": [field]},
                }
                for local, table, field in self.foreign_keys
            ]
        return schema


# --------------------------------------------------------------------------
# Values: one Python value per cell, written the same way everywhere
# --------------------------------------------------------------------------


def euros_text(cents: int) -> str:
    """Integer cents as euros with two decimals (``1234.50``), exactly: no float."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units}.{rest:02d}"


def _number_text(value: float) -> str:
    # repr is the shortest text that reads back as the same float; going
    # through Decimal avoids the exponent notation (1e-05) some readers refuse.
    return format(Decimal(repr(value)), "f")


def _csv_cell(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind == "euros":
        return euros_text(value)
    if column.kind == "boolean":
        return "true" if value else "false"
    if column.kind == "date":
        return value.isoformat()
    if isinstance(value, float):
        return _number_text(value)
    return str(value)


def _json_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.kind == "euros":
        # A JSON number read from the exact decimal text: the same as the CSV.
        return json.loads(euros_text(value))
    if column.kind == "date":
        return value.isoformat()
    return value


def _text(value: str | None) -> str | None:
    """Empty text is a missing value (an empty CSV cell, ``null`` in JSON)."""
    value = (value or "").strip()
    return value or None


def _joined(values: list[str]) -> str | None:
    return LIST_SEPARATOR.join(values) or None


def table_csv(table: Table) -> bytes:
    """The table as CSV: UTF-8 without BOM, ``,`` separated, header row, CRLF lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=",", lineterminator="\r\n")
    writer.writerow([c.name for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(c, row[c.name]) for c in table.columns])
    return buffer.getvalue().encode("utf-8")


def table_json(table: Table) -> bytes:
    """The table as JSON: a list of objects with the same fields as the CSV."""
    rows = [{c.name: _json_value(c, row[c.name]) for c in table.columns} for row in table.rows]
    return (json.dumps(rows, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# --------------------------------------------------------------------------
# The four tables
# --------------------------------------------------------------------------


def _labels(labels: Mapping[Any, str]) -> tuple[str, ...]:
    return tuple(labels.values())


def _actions_table(
    structure: plan_service.PlanStructure,
    data: plan_service.PlanData,
    *,
    include_pilot_names: bool,
    at: date,
) -> Table:
    details = {a.code: a for a in data.actions}
    objective_title = {o.code: o.title for o in structure.objectives}
    columns = [
        Column("code", "string", "Code", "Code unique de l'action dans le plan.", required=True),
        Column("titre", "string", "Titre", "Intitulé de l'action.", required=True),
        Column("description", "string", "Description", "Présentation de l'action."),
        Column(
            "objectif",
            "string",
            "Objectif",
            "Code de l'objectif du plan auquel l'action est rattachée.",
            required=True,
        ),
        Column("objectif_titre", "string", "Intitulé de l'objectif", "Intitulé de cet objectif."),
        Column(
            "porteurs",
            "string",
            "Collectivités porteuses",
            f"Collectivité(s) qui portent l'action, séparées par « {LIST_SEPARATOR.strip()} ».",
            required=True,
        ),
    ]
    if include_pilot_names:
        columns.append(
            Column(
                "pilote",
                "string",
                "Pilote",
                "Nom de l'agent qui pilote l'action (publié sur décision d'un administrateur).",
            )
        )
    columns += [
        Column("fonction_pilote", "string", "Fonction du pilote", "Fonction de l'agent pilote."),
        Column("service", "string", "Service", "Service ou direction qui pilote l'action."),
        Column(
            "statut",
            "string",
            "Statut",
            "Où en est l'action.",
            required=True,
            enum=_labels(strings.STATUS_LABELS),
        ),
        Column(
            "meteo",
            "string",
            "Météo",
            "Appréciation du pilote : Soleil (tout va bien), Nuageux (difficultés), "
            "Orage (action menacée).",
            required=True,
            enum=_labels(strings.WEATHER_LABELS),
        ),
        Column(
            "avancement",
            "integer",
            "Avancement (%)",
            "Avancement de l'action en pour cent, à la date de publication : la valeur saisie "
            "par le pilote, ou la part (pondérée) des jalons réalisés en mode « Jalons ».",
            required=True,
            minimum=0,
            maximum=100,
        ),
        Column(
            "mode_avancement",
            "string",
            "Mode d'avancement",
            "Saisi par le pilote, ou calculé à partir des jalons.",
            enum=_labels(strings.PROGRESS_MODE_LABELS),
        ),
        Column(
            "sante",
            "string",
            "Santé",
            "Appréciation calculée à la date de publication à partir du statut, de la météo, "
            "des dates et de l'écart entre l'avancement réel et l'avancement attendu.",
            required=True,
            enum=_labels(strings.HEALTH_LABELS),
        ),
        Column(
            "priorite",
            "string",
            "Priorité",
            "Priorité de l'action dans le plan.",
            enum=_labels(strings.PRIORITY_LABELS),
        ),
        Column("date_debut", "date", "Début", "Date de début de l'action."),
        Column("date_fin_prevue", "date", "Fin prévue", "Date de fin prévue."),
        Column(
            "date_fin_reelle", "date", "Fin réelle", "Date de fin effective, une fois réalisée."
        ),
    ]
    rows = []
    for a in structure.actions:
        detail = details[a.code]
        row = {
            "code": a.code,
            "titre": a.title,
            "description": _text(a.description),
            "objectif": a.objective_code,
            "objectif_titre": _text(objective_title.get(a.objective_code)),
            "porteurs": _joined(a.carriers),
            "fonction_pilote": _text(a.pilot_function),
            "service": _text(a.service),
            "statut": strings.STATUS_LABELS[a.status],
            "meteo": strings.WEATHER_LABELS[a.weather],
            "avancement": a.state.progress,
            "mode_avancement": strings.PROGRESS_MODE_LABELS[a.progress_mode],
            "sante": strings.HEALTH_LABELS[a.state.health],
            "priorite": strings.PRIORITY_LABELS[detail.priority],
            "date_debut": a.start_date,
            "date_fin_prevue": a.planned_end_date,
            "date_fin_reelle": detail.actual_end_date,
        }
        if include_pilot_names:
            row["pilote"] = _text(a.pilot_name)
        rows.append(row)
    return Table(
        ACTIONS,
        "Actions",
        f"Les actions du plan (hors actions archivées), avec leur état au {at.isoformat()}.",
        columns,
        rows,
        primary_key=("code",),
    )


def _budget_table(data: plan_service.PlanData, published: set[str]) -> Table:
    columns = [
        Column("action", "string", "Action", "Code de l'action financée.", required=True),
        Column(
            "annee",
            "integer",
            "Année",
            "Exercice budgétaire.",
            required=True,
            minimum=1990,
            maximum=2100,
        ),
        Column(
            "collectivite",
            "string",
            "Collectivité",
            "Collectivité dont le budget porte la dépense.",
            required=True,
            enum=tuple(data.collectivities),
        ),
        Column(
            "section",
            "string",
            "Section",
            "Section budgétaire.",
            required=True,
            enum=_labels(strings.SECTION_LABELS),
        ),
        Column(
            "demande_euros",
            "euros",
            "Demandé (€)",
            "Montant demandé, en euros.",
            required=True,
            minimum=0,
        ),
        Column(
            "arbitre_euros",
            "euros",
            "Arbitré (€)",
            "Montant retenu lors de l'arbitrage budgétaire, en euros ; vide tant que la ligne "
            "n'a pas été arbitrée.",
            minimum=0,
        ),
        Column(
            "realise_euros",
            "euros",
            "Réalisé (€)",
            "Montant effectivement dépensé, en euros.",
            required=True,
            minimum=0,
        ),
    ]
    rows = [
        {
            "action": b.action_code,
            "annee": b.year,
            "collectivite": b.collectivity,
            "section": strings.SECTION_LABELS[b.section],
            "demande_euros": b.requested_cents,
            "arbitre_euros": b.arbitrated_cents,
            "realise_euros": b.spent_cents,
        }
        for b in data.budget_lines
        if b.action_code in published
    ]
    return Table(
        BUDGET_LINES,
        "Lignes budgétaires",
        "Les crédits de chaque action par année, collectivité et section : montants demandés, "
        "arbitrés et réalisés, en euros.",
        columns,
        rows,
        primary_key=("action", "annee", "collectivite", "section"),
        foreign_keys=(("action", ACTIONS, "code"),),
    )


def _indicators_table(data: plan_service.PlanData, published: set[str]) -> Table:
    codes = f"codes séparés par « {LIST_SEPARATOR.strip()} »"
    columns = [
        Column("code", "string", "Code", "Code unique de l'indicateur.", required=True),
        Column("nom", "string", "Nom", "Nom de l'indicateur.", required=True),
        Column("definition", "string", "Définition", "Ce que l'indicateur mesure exactement."),
        Column("unite", "string", "Unité", "Unité des valeurs (%, nombre...)."),
        Column(
            "sens",
            "string",
            "Sens",
            "Sens de l'amélioration : Hausse (plus c'est haut, mieux c'est) ou Baisse.",
            required=True,
            enum=_labels(strings.DIRECTION_LABELS),
        ),
        Column(
            "type_source",
            "string",
            "Type de source",
            "D'où viennent les mesures.",
            required=True,
            enum=_labels(strings.SOURCE_TYPE_LABELS),
        ),
        Column("source", "string", "Source", "Précision sur la source des mesures."),
        Column("valeur_reference", "number", "Valeur de référence", "Valeur de départ."),
        Column("date_reference", "date", "Date de référence", "Date de la valeur de référence."),
        Column(
            "cible_intermediaire", "number", "Cible intermédiaire", "Valeur visée à mi-parcours."
        ),
        Column(
            "date_cible_intermediaire",
            "date",
            "Date de la cible intermédiaire",
            "Date à laquelle la cible intermédiaire doit être atteinte.",
        ),
        Column("cible", "number", "Cible", "Valeur visée à la fin du plan."),
        Column("date_cible", "date", "Date cible", "Date à laquelle la cible doit être atteinte."),
        Column(
            "periodicite_jours",
            "integer",
            "Périodicité (jours)",
            "Nombre de jours au-delà duquel une nouvelle mesure est attendue.",
            minimum=1,
        ),
        Column(
            "objectif", "string", "Objectif", "Code de l'objectif du plan que l'indicateur suit."
        ),
        Column(
            "actions", "string", "Actions mesurées", f"Actions que l'indicateur mesure, {codes}."
        ),
        Column(
            "question_enquete",
            "string",
            "Question d'enquête",
            "Pour un indicateur calculé à partir d'une enquête : la question posée.",
        ),
        Column(
            "reponses_comptees",
            "string",
            "Réponses comptées",
            f"Réponses comptées dans la part publiée, séparées par « {LIST_SEPARATOR.strip()} ».",
        ),
        Column(
            "question_filtre",
            "string",
            "Question de filtre",
            "Question qui restreint les répondants pris en compte, le cas échéant.",
        ),
        Column(
            "reponses_filtre",
            "string",
            "Réponses du filtre",
            f"Réponses retenues pour ce filtre, séparées par « {LIST_SEPARATOR.strip()} ».",
        ),
    ]
    rows = [
        {
            "code": i.code,
            "nom": i.name,
            "definition": _text(i.definition),
            "unite": _text(i.unit),
            "sens": strings.DIRECTION_LABELS[i.direction],
            "type_source": strings.SOURCE_TYPE_LABELS[i.source_type],
            "source": _text(i.source),
            "valeur_reference": i.baseline_value,
            "date_reference": i.baseline_date,
            "cible_intermediaire": i.intermediate_target,
            "date_cible_intermediaire": i.intermediate_target_date,
            "cible": i.target_value,
            "date_cible": i.target_date,
            "periodicite_jours": i.update_period_days,
            "objectif": i.objective_code,
            "actions": _joined([c for c in i.action_codes if c in published]),
            "question_enquete": _text(i.survey_question),
            "reponses_comptees": _joined(i.survey_values or []),
            "question_filtre": _text(i.survey_filter_question),
            "reponses_filtre": _joined(i.survey_filter_values or []),
        }
        for i in data.indicators
    ]
    return Table(
        INDICATORS,
        "Indicateurs",
        "Les indicateurs de suivi du plan, avec leur valeur de référence et leurs cibles.",
        columns,
        rows,
        primary_key=("code",),
    )


def _measurements_table(data: plan_service.PlanData) -> Table:
    columns = [
        Column("indicateur", "string", "Indicateur", "Code de l'indicateur mesuré.", required=True),
        Column("date", "date", "Date", "Date de la mesure.", required=True),
        Column(
            "valeur",
            "number",
            "Valeur",
            "Valeur mesurée, dans l'unité de l'indicateur.",
            required=True,
        ),
        Column("source", "string", "Source", "D'où vient la mesure (enquête, service...)."),
        Column(
            "effectif",
            "integer",
            "Effectif",
            "Nombre de répondants, pour une mesure issue d'une enquête.",
            minimum=0,
        ),
        Column(
            "borne_basse",
            "number",
            "Borne basse",
            "Borne basse de l'intervalle de confiance à 95 %, le cas échéant.",
        ),
        Column(
            "borne_haute",
            "number",
            "Borne haute",
            "Borne haute de l'intervalle de confiance à 95 %, le cas échéant.",
        ),
    ]
    rows = [
        {
            "indicateur": m.indicator_code,
            "date": m.date,
            "valeur": m.value,
            "source": _text(m.source),
            "effectif": m.sample_size,
            "borne_basse": m.ci_low,
            "borne_haute": m.ci_high,
        }
        for m in data.measurements
    ]
    return Table(
        MEASUREMENTS,
        "Mesures",
        "Les valeurs mesurées de chaque indicateur, datées, avec leur source et, pour les "
        "enquêtes, l'effectif et l'intervalle de confiance.",
        columns,
        rows,
        foreign_keys=(("indicateur", INDICATORS, "code"),),
    )


# --------------------------------------------------------------------------
# The package
# --------------------------------------------------------------------------


def slug(text: str) -> str:
    """A Data Package name: lowercase ASCII letters, digits and hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "plan"


def _package_description(
    data: plan_service.PlanData, *, include_pilot_names: bool, at: date
) -> str:
    parts = []
    if data.is_example:
        parts.append(
            "Plan d'exemple, données illustratives : ce n'est pas le plan réel de la "
            "collectivité ; ses intitulés, dates, montants et mesures locales sont fictifs."
        )
    collectivities = " et ".join(data.collectivities)
    adopted = f", adopté le {data.adopted_on.isoformat()}" if data.adopted_on else ""
    deliberation = f" ; {data.deliberation_ref}" if data.deliberation_ref else ""
    parts.append(
        f"Données ouvertes du plan « {data.name} » ({collectivities}, {data.first_year}-"
        f"{data.last_year}{adopted}{deliberation}) : actions, lignes budgétaires, indicateurs "
        f"et mesures, état au {at.isoformat()}."
    )
    parts.append(
        "Chaque table est publiée en CSV (UTF-8, séparateur « , », dates AAAA-MM-JJ, montants "
        "en euros avec un point décimal, cellule vide pour une valeur manquante) et en JSON "
        "(liste d'objets aux mêmes champs, null pour une valeur manquante) ; les libellés "
        "sont en français."
    )
    names = (
        "les noms des pilotes sont publiés sur décision d'un administrateur"
        if include_pilot_names
        else "les noms des pilotes ne sont pas publiés (leur fonction et leur service le sont)"
    )
    parts.append(
        f"Données personnelles : aucune donnée des comptes utilisateurs ; {names} ; les élus "
        "référents, partenaires et commentaires libres ne sont pas publiés."
    )
    return " ".join(parts)


def _csv_resource(table: Table) -> dict[str, Any]:
    return {
        "name": table.name,
        "path": f"{table.name}.csv",
        "title": table.title,
        "description": table.description,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "dialect": {"delimiter": ",", "header": True, "quoteChar": '"'},
        "schema": table.schema(),
        "licenses": [LICENSE],
    }


def _json_resource(table: Table) -> dict[str, Any]:
    # Described as a plain data resource, pointing at its CSV twin's schema:
    # validating JSON tables would need an extra of frictionless (ijson), and
    # the two files hold the same rows.
    return {
        "name": f"{table.name}-json",
        "path": f"{table.name}.json",
        "title": f"{table.title} (JSON)",
        "description": (
            f"{table.description} Les mêmes lignes que « {table.name}.csv », en JSON : une "
            "liste d'objets dont les champs sont ceux du schéma de la ressource "
            f"« {table.name} » (nombres en nombres, dates AAAA-MM-JJ, null pour une "
            "valeur manquante)."
        ),
        "profile": "data-resource",
        "format": "json",
        "mediatype": "application/json",
        "encoding": "utf-8",
        "licenses": [LICENSE],
    }


def open_data_files(
    session: Session,
    plan_id: int,
    *,
    include_pilot_names: bool,
    at: date | None = None,
    created: datetime | None = None,
) -> dict[str, bytes]:
    """The plan's open data: file name -> content, ``datapackage.json`` last.

    Actions (not archived, with their progress and health at ``at``, today by
    default), budget lines, indicators and measurements, each as CSV and JSON,
    described by a Frictionless Data Package under the Licence Ouverte 2.0.
    Pilots' names only when ``include_pilot_names``; never any account data.
    """
    at = at or date.today()
    created = created or datetime.now(UTC)
    structure = plan_service.plan_structure(session, plan_id, at)
    data, _versions = plan_service.plan_data(session, plan_id)
    published = {a.code for a in structure.actions}
    tables = [
        _actions_table(structure, data, include_pilot_names=include_pilot_names, at=at),
        _budget_table(data, published),
        _indicators_table(data, published),
        _measurements_table(data),
    ]
    files: dict[str, bytes] = {}
    for table in tables:
        files[f"{table.name}.csv"] = table_csv(table)
        files[f"{table.name}.json"] = table_json(table)
    resources = [_csv_resource(t) for t in tables] + [_json_resource(t) for t in tables]
    package = {
        # Not "tabular-data-package": the JSON copies are plain data resources.
        "profile": "data-package",
        "name": slug(data.name),
        "title": data.name,
        "description": _package_description(data, include_pilot_names=include_pilot_names, at=at),
        "licenses": [LICENSE],
        "created": created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "keywords": ["stratégie numérique", "plan d'actions", "budget", "indicateurs"],
        "resources": resources,
    }
    files[DESCRIPTOR] = (json.dumps(package, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return files


def write_open_data(folder: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write the files in ``folder`` (created if missing); the descriptor last, so
    that a folder left half-written by a failure has no ``datapackage.json``
    (an earlier one is removed first).

    Raises OSError when the folder cannot be created or written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DESCRIPTOR).unlink(missing_ok=True)
    written = []
    for name in sorted(files, key=lambda n: n == DESCRIPTOR):
        path = folder / name
        path.write_bytes(files[name])
        written.append(path)
    return written


def open_data_zip(files: Mapping[str, bytes]) -> bytes:
    """The files in one zip archive (what the download button offers)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()
