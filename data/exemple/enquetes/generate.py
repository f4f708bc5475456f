"""Génère des résultats ILLUSTRATIFS de l'enquête « usages numériques des habitants ».

Données INVENTÉES pour la démonstration de l'application : ce ne sont pas les résultats
réels des enquêtes 2012 et 2024 du Grand Cahors. Tirage déterministe (graine fixe) :
l'échantillon est volontairement biaisé (personnes âgées sur-représentées, comme au
téléphone) puis redressé par âge × sexe (poids = part population / part échantillon) ;
chaque réponse suit un modèle logistique latent (effet de l'âge + bruit logistique) dont
la constante est calée pour que la part PONDÉRÉE atteigne la cible de la vague.

Usage : python data/exemple/enquetes/generate.py (écrit les CSV à côté de ce fichier).
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 20120514

AGES = ["15-29 ans", "30-44 ans", "45-59 ans", "60-74 ans", "75 ans et plus"]
POPULATION_AGE = np.array([0.20, 0.22, 0.25, 0.21, 0.12])  # habitants de 15 ans et plus
SEXES = ["Femme", "Homme"]
COMMUNES = {  # parts décroissantes (en %), Cahors environ la moitié
    "Cahors": 50,
    "Pradines": 10,
    "Labastide-Marnhac": 7.8,
    "Mercuès": 6.8,
    "Arcambal": 4.2,
    "Espère": 3.8,
    "Lalbenque": 3.4,
    "Le Montat": 3.0,
    "Bellefont-La Rauze": 2.7,
    "Saint-Géry-Vers": 2.4,
    "Douelle": 2.2,
    "Trespoux-Rassiels": 1.8,
    "Fontanes": 1.2,
    "Cieurac": 0.7,
}
FREQUENCIES = ["Tous les jours ou presque", "Au moins une fois par semaine", "Plus rarement"]
NEVER = "Jamais"
# Effets de l'âge sur l'échelle logit, des plus jeunes aux plus âgés.
AGE_EFFECT = {
    "internet": np.array([2.0, 1.4, 0.4, -0.9, -2.3]),
    "smartphone": np.array([1.3, 0.9, 0.2, -0.6, -1.4]),
    "procedure": np.array([0.2, 0.7, 0.4, -0.3, -1.0]),
    "difficulty": np.array([-0.6, -0.3, 0.0, 0.3, 0.8]),
    "follow": np.array([0.4, 0.6, 0.2, -0.4, -1.0]),
}
DONT_KNOW = np.array([0.04, 0.05, 0.06, 0.10, 0.15])  # « Ne sait pas » parmi les autres

# Tirage biaisé par vague : (taille, répartition par âge de l'échantillon, part de femmes).
WAVES = {
    2012: (512, [0.11, 0.15, 0.23, 0.31, 0.20], 0.56),  # téléphone : âgés sur-représentés
    2024: (658, [0.13, 0.17, 0.24, 0.28, 0.18], 0.55),  # mixte : biais atténué
}
TARGETS = {  # parts pondérées visées : (2012, 2024)
    "smartphone": (0.22, 0.86),
    "daily": (0.52, 0.80),  # internet tous les jours ou presque
    "never": (0.24, 0.06),  # jamais internet
    "weekly": (0.60, 0.55),  # au moins hebdomadaire, parmi les autres internautes
    "procedure": (0.45, 0.70),  # parmi les internautes
    "difficulty": (0.65, 0.47),  # souvent ou parfois
    "often": (0.28, 0.17),  # souvent
    "follow": (0.08, 0.33),
}
VAGUES = {  # nom, début et fin du terrain, méthode
    2012: (
        "Étude usages 2012 (exemple illustratif)",
        "2012-05-14",
        "2012-06-30",
        "Questionnaire téléphonique, quotas par âge, sexe et commune (illustratif)",
    ),
    2024: (
        "Mise à jour 2024 (exemple illustratif)",
        "2024-05-13",
        "2024-06-28",
        "Questionnaire en ligne et téléphonique, redressement par âge et sexe (illustratif)",
    ),
}
POPULATION = "Habitants du Grand Cahors âgés de 15 ans et plus"


def top_share(score, weight, share, eligible=None) -> np.ndarray:
    """Meilleurs scores jusqu'à `share` du poids des éligibles (= calage de la constante)."""
    eligible = np.ones(len(score), bool) if eligible is None else eligible
    idx = np.flatnonzero(eligible)
    order = idx[np.argsort(-score[idx], kind="stable")]
    cumulative = np.cumsum(weight[order]) / weight[idx].sum()
    count = int(np.argmin(np.abs(cumulative - share))) + 1
    selected = np.zeros(len(score), bool)
    selected[order[:count]] = True
    return selected


def quotas(rng: np.random.Generator, total: int, shares: np.ndarray) -> np.ndarray:
    """Indices de catégorie selon des quotas (plus fort reste), dans un ordre aléatoire."""
    exact = shares / shares.sum() * total
    counts = np.floor(exact).astype(int)
    counts[np.argsort(counts - exact, kind="stable")[: total - counts.sum()]] += 1
    return np.repeat(np.arange(len(shares)), counts)[np.argsort(rng.random(total), kind="stable")]


def draw_wave(rng: np.random.Generator, year: int) -> pd.DataFrame:
    n, sample_age, women = WAVES[year]
    t = {name: values[list(WAVES).index(year)] for name, values in TARGETS.items()}
    # Échantillon biaisé par âge × sexe, puis poids de post-stratification.
    cell = quotas(rng, n, np.outer(sample_age, [women, 1 - women]).ravel())
    age, sex = cell // 2, cell % 2
    sample_share = np.bincount(cell) / n
    population_share = np.outer(POPULATION_AGE, [0.5, 0.5]).ravel()
    weight = np.round(population_share[cell] / sample_share[cell], 3)
    commune = np.array(list(COMMUNES))[quotas(rng, n, np.array(list(COMMUNES.values())))]
    uniform = rng.random((6, n))
    noise = np.log(uniform / (1 - uniform))  # bruit logistique, un par question

    # Fréquence d'usage d'internet : un score latent ordonné.
    internet = AGE_EFFECT["internet"][age] + noise[0]
    daily = top_share(internet, weight, t["daily"])
    user = top_share(internet, weight, 1 - t["never"])
    weekly = top_share(internet, weight, t["weekly"], eligible=user & ~daily)
    frequency = np.select([daily, weekly, user], FREQUENCIES, NEVER)

    smartphone_score = AGE_EFFECT["smartphone"][age] + 0.5 * internet + noise[1]
    smartphone = top_share(smartphone_score, weight, t["smartphone"])

    procedure_score = AGE_EFFECT["procedure"][age] + 0.5 * internet + noise[2]
    procedure = top_share(procedure_score, weight, t["procedure"], eligible=user)

    difficulty_score = AGE_EFFECT["difficulty"][age] - 0.3 * internet + ~user + noise[3]
    difficult = top_share(difficulty_score, weight, t["difficulty"])
    often = top_share(difficulty_score, weight, t["often"])  # sous-ensemble de `difficult`
    dont_know = ~difficult & (uniform[5] < DONT_KNOW[age])
    difficulty = np.select(
        [often, difficult, dont_know], ["Oui, souvent", "Oui, parfois", "Ne sait pas"], "Non"
    )

    follow_score = AGE_EFFECT["follow"][age] + 0.5 * internet + noise[4]
    follow = top_share(np.where(user, follow_score, -np.inf), weight, t["follow"])

    return pd.DataFrame(
        {
            "Identifiant": [f"R{year}-{i:04d}" for i in range(1, n + 1)],
            "Commune": commune,
            "Tranche d'âge": np.array(AGES)[age],
            "Sexe": np.array(SEXES)[sex],
            "Smartphone": np.where(smartphone, "Oui", "Non"),
            "Fréquence internet": frequency,
            "Démarche en ligne": np.where(procedure, "Oui", "Non"),
            "Difficultés démarches": difficulty,
            "Suit les collectivités": np.where(follow, "Oui", "Non"),
            "Poids": weight,
        }
    )


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, sep=";", index=False, lineterminator="\n", float_format="%.3f", decimal=",")


def report(path: Path) -> None:
    """Relit le fichier écrit (poids à virgule) et affiche les parts pondérées."""
    df = pd.read_csv(path, sep=";", decimal=",", encoding="utf-8")
    w = df["Poids"]
    users, everyone = df["Fréquence internet"] != NEVER, pd.Series(True, index=df.index)
    difficult = df["Difficultés démarches"].isin(["Oui, souvent", "Oui, parfois"])
    shares = {
        "Smartphone = Oui": (df["Smartphone"] == "Oui", everyone),
        "Internet tous les jours ou presque": (
            df["Fréquence internet"] == FREQUENCIES[0],
            everyone,
        ),
        "Démarche en ligne (internautes)": (df["Démarche en ligne"] == "Oui", users),
        "Difficultés (souvent ou parfois)": (difficult, everyone),
        "Suit les collectivités = Oui": (df["Suit les collectivités"] == "Oui", everyone),
    }
    print(f"== {path.name} : {len(df)} répondants, poids {w.min():.3f} à {w.max():.3f}")
    for label, (mask, among) in shares.items():
        print(f"  {label:<36}: {100 * w[mask & among].sum() / w[among].sum():5.1f} %")
    print(f"  {'Taille effective (Kish)':<36}: {w.sum() ** 2 / (w**2).sum():5.1f}")
    print("  Répondants par commune :")
    for commune, count in df["Commune"].value_counts().items():
        print(f"    {commune:<20} {count:>4}{'' if count >= 30 else '  (moins de 30)'}")


def main() -> None:
    rng = np.random.default_rng(SEED)
    rows = [(*vague, POPULATION, f"enquete_{year}.csv") for year, vague in VAGUES.items()]
    columns = ["Nom", "Début du terrain", "Fin du terrain", "Méthode", "Population", "Fichier"]
    write_csv(pd.DataFrame(rows, columns=columns), HERE / "Vagues.csv")
    for year in WAVES:
        path = HERE / f"enquete_{year}.csv"
        write_csv(draw_wave(rng, year), path)
        report(path)


if __name__ == "__main__":
    main()
