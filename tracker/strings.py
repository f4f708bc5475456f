"""Every word a user reads, in French, in one place.

Code and identifiers are in English; labels, messages and headings come from
here so that pages, exports, reports and the command line say the same thing.
"""

from __future__ import annotations

from tracker.models import (
    ActionStatus,
    BudgetSection,
    DecisionStatus,
    Direction,
    FundingStatus,
    Health,
    IndicatorStatus,
    Priority,
    ProgressMode,
    ReviewStatus,
    Role,
    SourceType,
    Weather,
)

APP_TITLE = "Suivi de la stratégie digitale"
APP_SUBTITLE = "Ville de Cahors et Grand Cahors"
EXAMPLE_BANNER = "Plan d'exemple : données illustratives"
EXAMPLE_BANNER_DETAIL = (
    "L'annexe qui liste les 19 actions réelles de la stratégie adoptée le 9 novembre 2017 "
    "n'est pas publique. Ce plan est un exemple vraisemblable construit à partir de la "
    "délibération ; le plan réel se charge par import."
)

STATUS_LABELS: dict[ActionStatus, str] = {
    ActionStatus.A_VENIR: "À venir",
    ActionStatus.EN_COURS: "En cours",
    ActionStatus.REALISE: "Réalisé",
    ActionStatus.EN_PAUSE: "En pause",
    ActionStatus.BLOQUE: "Bloqué",
    ActionStatus.ABANDONNE: "Abandonné",
}
# A symbol beside every status and weather so that nothing relies on colour alone.
STATUS_SYMBOLS: dict[ActionStatus, str] = {
    ActionStatus.A_VENIR: "○",
    ActionStatus.EN_COURS: "◐",
    ActionStatus.REALISE: "●",
    ActionStatus.EN_PAUSE: "‖",
    ActionStatus.BLOQUE: "■",
    ActionStatus.ABANDONNE: "✕",
}
WEATHER_LABELS: dict[Weather, str] = {
    Weather.SOLEIL: "Soleil",
    Weather.NUAGEUX: "Nuageux",
    Weather.ORAGE: "Orage",
}
WEATHER_SYMBOLS: dict[Weather, str] = {
    Weather.SOLEIL: "☀",
    Weather.NUAGEUX: "☁",
    Weather.ORAGE: "⚡",
}
PROGRESS_MODE_LABELS: dict[ProgressMode, str] = {
    ProgressMode.ENTERED: "Saisi",
    ProgressMode.MILESTONES: "Jalons",
}
PRIORITY_LABELS: dict[Priority, str] = {
    Priority.HAUTE: "Haute",
    Priority.NORMALE: "Normale",
    Priority.BASSE: "Basse",
}
SECTION_LABELS: dict[BudgetSection, str] = {
    BudgetSection.FONCTIONNEMENT: "Fonctionnement",
    BudgetSection.INVESTISSEMENT: "Investissement",
}
FUNDING_STATUS_LABELS: dict[FundingStatus, str] = {
    FundingStatus.ENVISAGE: "Envisagé",
    FundingStatus.SOLLICITE: "Sollicité",
    FundingStatus.ACCORDE: "Accordé",
    FundingStatus.VERSE: "Versé",
    FundingStatus.REFUSE: "Refusé",
}
DIRECTION_LABELS: dict[Direction, str] = {
    Direction.HIGHER: "Hausse",
    Direction.LOWER: "Baisse",
}
SOURCE_TYPE_LABELS: dict[SourceType, str] = {
    SourceType.SURVEY: "Enquête",
    SourceType.ADMINISTRATIVE: "Données administratives",
    SourceType.WEB_ANALYTICS: "Audience web",
}
INDICATOR_STATUS_LABELS: dict[IndicatorStatus, str] = {
    IndicatorStatus.REACHED: "Atteint",
    IndicatorStatus.ON_TRACK: "En bonne voie",
    IndicatorStatus.LATE: "En retard",
    IndicatorStatus.NO_RECENT: "Pas de mesure récente",
    IndicatorStatus.NO_TARGET: "Sans cible",
    IndicatorStatus.NOT_ASSESSED: "Non évaluable",
}
INDICATOR_STATUS_SYMBOLS: dict[IndicatorStatus, str] = {
    IndicatorStatus.REACHED: "●",
    IndicatorStatus.ON_TRACK: "✓",
    IndicatorStatus.LATE: "▲",
    IndicatorStatus.NO_RECENT: "?",
    IndicatorStatus.NO_TARGET: "–",
    IndicatorStatus.NOT_ASSESSED: "–",
}
INDICATOR_STATUS_HELP: dict[IndicatorStatus, str] = {
    IndicatorStatus.REACHED: "la dernière mesure atteint la cible finale",
    IndicatorStatus.ON_TRACK: "la dernière mesure atteint la valeur attendue à sa date sur la "
    "trajectoire entre la valeur de référence, la cible intermédiaire et la cible",
    IndicatorStatus.LATE: "la dernière mesure est en deçà de la valeur attendue à sa date",
    IndicatorStatus.NO_RECENT: "aucune mesure, ou la dernière est plus ancienne que la "
    "périodicité de l'indicateur",
    IndicatorStatus.NO_TARGET: "aucune cible finale n'est fixée",
    IndicatorStatus.NOT_ASSESSED: "une cible est fixée mais pas de valeur de référence datée "
    "pour tracer la trajectoire",
}


def indicator_status_label(status: IndicatorStatus) -> str:
    return f"{INDICATOR_STATUS_SYMBOLS[status]} {INDICATOR_STATUS_LABELS[status]}"


REVIEW_STATUS_LABELS: dict[ReviewStatus, str] = {
    ReviewStatus.OPEN: "Ouvert",
    ReviewStatus.CLOSED: "Clos",
}
DECISION_STATUS_LABELS: dict[DecisionStatus, str] = {
    DecisionStatus.A_FAIRE: "À faire",
    DecisionStatus.EN_COURS: "En cours",
    DecisionStatus.FAIT: "Fait",
    DecisionStatus.ABANDONNE: "Abandonné",
}
ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "Administrateur",
    Role.EDITOR: "Éditeur (mission numérique)",
    Role.PILOT: "Pilote d'action",
    Role.VIEWER: "Lecteur",
}

HEALTH_LABELS: dict[Health, str] = {
    Health.ON_TRACK: "Dans les temps",
    Health.BEHIND: "En retard sur le calendrier",
    Health.AT_RISK: "À risque",
    Health.DONE: "Terminée",
    Health.STOPPED: "Arrêtée",
}
HEALTH_SYMBOLS: dict[Health, str] = {
    Health.ON_TRACK: "✓",
    Health.BEHIND: "▲",
    Health.AT_RISK: "!",
    Health.DONE: "●",
    Health.STOPPED: "✕",
}


def status_label(status: ActionStatus | str) -> str:
    """The status in French, with its symbol (never colour alone)."""
    status = ActionStatus(status)
    return f"{STATUS_SYMBOLS[status]} {STATUS_LABELS[status]}"


def weather_label(weather: Weather | str) -> str:
    """The weather in French, with its symbol."""
    weather = Weather(weather)
    return f"{WEATHER_SYMBOLS[weather]} {WEATHER_LABELS[weather]}"


def health_label(health: Health | str) -> str:
    """The health in French, with its symbol."""
    health = Health(health)
    return f"{HEALTH_SYMBOLS[health]} {HEALTH_LABELS[health]}"


# The fields of an action, as forms, history and messages name them.
FIELD_LABELS: dict[str, str] = {
    "code": "Code",
    "name": "Nom",
    "unit": "Unité",
    "source": "Source",
    "financer": "Financeur",
    "deliberation_ref": "Délibération",
    "title": "Titre",
    "description": "Description",
    "status": "Statut",
    "weather": "Météo",
    "progress": "Avancement",
    "progress_mode": "Mode d'avancement",
    "priority": "Priorité",
    "start_date": "Début",
    "planned_end_date": "Fin prévue",
    "actual_end_date": "Fin réelle",
    "pilot_name": "Pilote",
    "pilot_function": "Fonction du pilote",
    "pilot_user_id": "Compte du pilote",
    "service": "Service",
    "elected_referent": "Élu référent",
    "partners": "Partenaires",
    "update_period_days": "Périodicité de mise à jour (jours)",
    "archived": "Archivée",
    "due_date": "Échéance",
    "done_date": "Réalisé le",
    "weight": "Poids",
    "position": "Ordre",
    "role": "Rôle",
    "active": "Actif",
    "password_hash": "Mot de passe",
    "public_view": "Consultation publique",
    "upload_limit_mb": "Taille maximale des fichiers (Mo)",
    "open_data_pilot_names": "Publier les noms des pilotes dans les données ouvertes",
    # Indicators, measurements and survey waves
    "definition": "Définition",
    "direction": "Sens",
    "source_type": "Type de source",
    "baseline_value": "Valeur de référence",
    "baseline_date": "Date de référence",
    "intermediate_target": "Cible intermédiaire",
    "intermediate_target_date": "Date de la cible intermédiaire",
    "target_value": "Cible",
    "target_date": "Date cible",
    "objective_id": "Objectif",
    "actions": "Actions mesurées",
    "survey_question": "Question d'enquête",
    "survey_values": "Réponses comptées",
    "survey_filter_question": "Question de filtre",
    "survey_filter_values": "Réponses du filtre",
    "date": "Date",
    "value": "Valeur",
    "sample_size": "Effectif",
    "effective_size": "Effectif efficace",
    "ci_low": "Borne basse",
    "ci_high": "Borne haute",
    "comment": "Commentaire",
    "fieldwork_start": "Début du terrain",
    "fieldwork_end": "Fin du terrain",
    "method": "Méthode",
    "population": "Population",
}

# The columns of the table behind the progress-by-objective chart (Le plan, Vue d'ensemble).
PROGRESS_TABLE_COLUMNS = {
    "objectif": "Objectif",
    "actions": "Actions",
    "avancement": "Avancement réel (%)",
    "attendu": "Avancement attendu (%)",
}
