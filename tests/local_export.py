"""Builds ``tests/data/export_local_transiscope.csv``: a local export of 100 places in the
form of Transiscope's CSV (``title``, ``categories`` joined by ``|``, ``streetAddress``,
``postalCode``, ``addressLocality``, ``latitude``, ``longitude``), at 100 real addresses of
the Base Adresse Locale of Mont-Bonvillers (``adresses-54084.csv``: number, street,
commune, point). Names and categories are made up; the categories are Transiscope's
thirteen top-level ones, one to three per place, as its export writes them.

Run ``python -m tests.local_export`` to write it again; the tests read the written file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.servers import TEST_DATA

LOCAL = TEST_DATA / "export_local_transiscope.csv"
#: Transiscope's top-level categories (more than a legend's eight classes).
CATEGORIES = [
    "Se nourrir, produire et consommer local",
    "Fabriquer, réparer, recycler, faire soi-même et transmettre les savoir-faire",
    "Lien social, entraide et solidarité",
    "Économie Sociale et Solidaire",
    "Culture, loisirs et créativité",
    "Éducation, formation et jeunesse",
    "Habiter et se loger",
    "Se déplacer",
    "Santé et bien-être",
    "Énergie et climat",
    "Monnaies locales et finance solidaire",
    "Agir pour la transition et la démocratie",
    "Nature et biodiversité",
]
KINDS = ["Association", "Collectif", "Atelier", "Café", "Jardin", "Maison", "Repair café",
         "Épicerie", "Amap", "Ressourcerie"]


def local_export(n: int = 100) -> pd.DataFrame:
    """``n`` places at every k-th address of Mont-Bonvillers' Base Adresse Locale, with one
    to three categories each (the most common ones first, as in a real export)."""
    bal = pd.read_csv(TEST_DATA / "adresses-54084.csv", sep=";", dtype=str,
                      keep_default_na=False)
    rng = np.random.default_rng(32)
    weights = 1 / np.arange(1, len(CATEGORIES) + 1)
    weights /= weights.sum()
    rows = []
    for i, b in enumerate(bal.iloc[:: len(bal) // n].head(n).itertuples()):
        picked = rng.choice(len(CATEGORIES), size=rng.integers(1, 4), replace=False,
                            p=weights)
        rows.append({"id": f"T{i + 1:03d}",
                     "title": f"{KINDS[i % len(KINDS)]} {b.voie_nom} {b.numero}",
                     "categories": "|".join(CATEGORIES[k] for k in picked),
                     "streetAddress": f"{b.numero} {b.voie_nom}", "postalCode": "54910",
                     "addressLocality": b.commune_nom, "latitude": b.lat,
                     "longitude": b.long})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    local_export().to_csv(LOCAL, index=False)
