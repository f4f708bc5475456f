"""What each column of the import template means: shown in the « À lire » sheet of
every export, and documented in the README (a test checks both cover every column)."""

from __future__ import annotations

VERSION_HEADER = "Version"

DATE = "date : JJ/MM/AAAA, AAAA-MM-JJ ou date Excel"
AMOUNT = "montant en euros, positif ou nul : 12500, 12 500,00 € ou nombre Excel"
CODES = "codes séparés par « ; »"

# sheet -> header -> (meaning, allowed values and format, required)
COLUMN_HELP: dict[str, dict[str, tuple[str, str, bool]]] = {
    "Plan": {
        "Nom": (
            "nom du plan ; il identifie le plan à mettre à jour",
            "texte, 200 caractères au plus",
            True,
        ),
        "Collectivités": (
            "collectivités auxquelles le plan est commun",
            "noms séparés par « ; » (ex. Ville de Cahors; Grand Cahors)",
            True,
        ),
        "Date d'adoption": ("date de la délibération d'adoption", DATE, False),
        "Délibération": ("référence de la délibération", "texte", False),
        "Première année": ("première année du plan", "année (ex. 2018)", True),
        "Dernière année": ("dernière année du plan", "année, pas avant la première", True),
        "Exemple": (
            "plan d'exemple (données illustratives) ?",
            "oui ou non (non par défaut)",
            False,
        ),
        "Description": ("présentation du plan", "texte", False),
    },
    "Enjeux": {
        "Code": ("code unique de l'enjeu", "texte court (ex. E1)", True),
        "Titre": ("intitulé de l'enjeu", "texte", True),
        "Description": ("présentation", "texte", False),
    },
    "Objectifs": {
        "Code": ("code unique de l'objectif", "texte court (ex. 1)", True),
        "Titre": ("intitulé de l'objectif", "texte", True),
        "Description": ("présentation", "texte", False),
        "Enjeux": ("enjeux que sert l'objectif", CODES, False),
    },
    "Actions": {
        "Code": ("code unique de l'action", "texte court (ex. 2.4)", True),
        "Titre": ("intitulé de l'action", "texte, 300 caractères au plus", True),
        "Objectif": ("objectif de rattachement", "code d'un objectif", True),
        "Porteur": (
            "collectivité(s) porteuse(s)",
            "noms de la feuille Plan séparés par « ; »",
            True,
        ),
        "Pilote": ("nom du pilote", "texte (vide dans le plan d'exemple)", False),
        "Fonction du pilote": ("fonction du pilote", "texte", False),
        "Service": ("service ou direction", "texte", False),
        "Élu référent": ("élu référent", "texte", False),
        "Partenaires": ("partenaires", "texte", False),
        "Statut": (
            "état de l'action",
            "À venir, En cours, Réalisé, En pause, Bloqué, Abandonné (À venir par défaut)",
            False,
        ),
        "Météo": ("appréciation du pilote", "Soleil, Nuageux, Orage (Soleil par défaut)", False),
        "Avancement (%)": (
            "avancement saisi",
            "0 à 100 : 45, 45 % ou 0,45 au format pourcentage",
            False,
        ),
        "Mode d'avancement": (
            "avancement saisi ou calculé à partir des jalons",
            "Saisi ou Jalons (Saisi par défaut)",
            False,
        ),
        "Priorité": ("priorité", "Haute, Normale, Basse (Normale par défaut)", False),
        "Début": ("date de début", DATE, False),
        "Fin prévue": ("date de fin prévue", DATE + ", pas avant le début", False),
        "Fin réelle": ("date de fin réelle", DATE + ", pas avant le début", False),
        "Périodicité (jours)": (
            "délai au-delà duquel une mise à jour est attendue",
            "nombre de jours (90 par défaut)",
            False,
        ),
        "Description": ("présentation de l'action", "texte", False),
        VERSION_HEADER: (
            "version de l'action au moment de l'export : ne pas modifier ; sert à détecter une action modifiée dans l'application après l'export",
            "nombre entier ; vide pour une nouvelle action",
            False,
        ),
    },
    "Jalons": {
        "Action": ("action du jalon", "code d'une action", True),
        "Titre": ("intitulé du jalon ; avec l'action, il identifie le jalon", "texte", True),
        "Échéance": ("date prévue", DATE, False),
        "Réalisé le": ("date de réalisation (vide si non réalisé)", DATE, False),
        "Poids": ("poids dans l'avancement calculé", "entier positif ou nul (1 par défaut)", False),
    },
    "Budget": {
        "Action": ("action budgétée", "code d'une action", True),
        "Année": ("exercice budgétaire", "année comprise dans la période du plan", True),
        "Collectivité": ("collectivité qui porte la dépense", "nom de la feuille Plan", True),
        "Section": ("section budgétaire", "Fonctionnement ou Investissement", True),
        "Demandé (€)": ("montant demandé lors de la préparation budgétaire", AMOUNT, False),
        "Arbitré (€)": (
            "montant arbitré (vide tant que l'arbitrage n'a pas eu lieu)",
            AMOUNT,
            False,
        ),
        "Réalisé (€)": ("montant dépensé", AMOUNT, False),
        "Commentaire": ("commentaire", "texte", False),
    },
    "Financements": {
        "Action": ("action cofinancée", "code d'une action", True),
        "Financeur": ("financeur ; avec l'action, il identifie le financement", "texte", True),
        "Montant (€)": ("montant du cofinancement", AMOUNT, True),
        "Statut": (
            "état du cofinancement",
            "Envisagé, Sollicité, Accordé, Versé, Refusé (Sollicité par défaut)",
            False,
        ),
    },
    "Indicateurs": {
        "Code": ("code unique de l'indicateur", "texte court (ex. I1)", True),
        "Nom": ("intitulé de l'indicateur", "texte", True),
        "Définition": ("mode de calcul", "texte", False),
        "Unité": ("unité des valeurs", "%, nombre… (% par défaut)", False),
        "Sens": (
            "sens souhaité",
            "Hausse (plus haut = mieux) ou Baisse (Hausse par défaut)",
            False,
        ),
        "Source": (
            "type de source",
            "Enquête, Données administratives, Audience web (Enquête par défaut)",
            False,
        ),
        "Précision de la source": ("source précise", "texte", False),
        "Valeur de référence": ("valeur de départ", "nombre", False),
        "Date de référence": ("date de la valeur de départ", DATE, False),
        "Cible intermédiaire": ("valeur visée à mi-parcours", "nombre", False),
        "Date cible intermédiaire": ("date de la cible intermédiaire", DATE, False),
        "Cible": ("valeur visée", "nombre", False),
        "Date cible": ("date de la cible", DATE, False),
        "Périodicité (jours)": (
            "délai au-delà duquel une nouvelle mesure est attendue",
            "nombre de jours",
            False,
        ),
        "Objectif": ("objectif mesuré", "code d'un objectif", False),
        "Actions": ("actions mesurées", CODES, False),
        "Question d'enquête": (
            "pour un indicateur calculé depuis l'enquête : la colonne du fichier des réponses "
            "(la question)",
            "nom de colonne, tel qu'écrit dans le fichier des réponses",
            False,
        ),
        "Réponses comptées": (
            "les réponses qui comptent : l'indicateur est la part des répondants ayant donné "
            "l'une d'elles",
            "réponses séparées par ; (ex. Oui, souvent; Oui, parfois)",
            False,
        ),
        "Question de filtre": (
            "pour restreindre le calcul à une sous-population : la colonne qui la définit",
            "nom de colonne (facultatif)",
            False,
        ),
        "Réponses du filtre": (
            "les réponses qui définissent la sous-population (ex. les utilisateurs d'internet)",
            "réponses séparées par ;",
            False,
        ),
    },
    "Mesures": {
        "Indicateur": ("indicateur mesuré", "code d'un indicateur", True),
        "Date": ("date de la mesure", DATE, True),
        "Valeur": ("valeur mesurée", "nombre (12,5 ou 12.5)", True),
        "Source": (
            "source de la mesure ; avec l'indicateur et la date, elle identifie la mesure",
            "texte",
            False,
        ),
        "Effectif": ("nombre de répondants (enquête)", "entier", False),
        "Borne basse": ("borne basse de l'intervalle de confiance à 95 %", "nombre", False),
        "Borne haute": (
            "borne haute de l'intervalle de confiance à 95 %",
            "nombre, pas sous la borne basse",
            False,
        ),
        "Commentaire": ("commentaire", "texte", False),
    },
    "Références": {
        "Indicateur": ("indicateur auquel se compare la référence", "code d'un indicateur", True),
        "Date": ("date de la valeur de référence", DATE, True),
        "Valeur": ("valeur nationale de référence", "nombre", True),
        "Source": (
            "source citée (ex. Baromètre du numérique (CREDOC), édition 2025)",
            "texte",
            True,
        ),
    },
}
