"""Issue 31, « Done when »: real directories of each kind, kept in ``tests/data/`` (built by
:mod:`tests.directories`, each row's origin in ``tests/data/README.md``), run end to end.
Every row whose coordinates contradict its own address, or whose earlier geocoding is
doubtful, reaches the review with its cause in words, none of the others does, and no such
site is counted as implanted in, or near, any quartier."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.study import Study, run_study
from tests import directories

#: Rows whose coordinates were moved, and the words their cause holds.
NATIONAL = {"E2": "département 78", "Q-13055": "département 59", "B3": "département 57",
            "Q-93066": "département 974", "Q-31555": "inversées",
            "Q-29019": "signe moins perdu",
            "Q-97411": "signe moins perdu sur la latitude"}
#: Rows whose earlier answer is doubtful, and the words their cause holds.
GEOCODED = {"B2": "score 0,31", "E3": "score 0,42", "E4": "numéro non trouvé",
            "Q-93066": "97411", "Q-97411": "93066"}


def test_the_kept_directories_are_the_ones_built():
    """The files are what :mod:`tests.directories` writes, and the expectations below are
    the changes it made (a rebuild that moved other rows fails here first)."""
    for build, path, expected in ((directories.national, directories.NATIONAL, NATIONAL),
                                  (directories.geocoded, directories.GEOCODED, GEOCODED)):
        frame, changed = build()
        kept = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
        assert kept.columns.tolist() == frame.columns.tolist()
        assert kept.to_numpy().tolist() == frame.fillna("").astype(str).to_numpy().tolist()
        assert changed == expected


@pytest.mark.parametrize(("path", "expected"), [(directories.NATIONAL, NATIONAL),
                                                (directories.GEOCODED, GEOCODED)],
                         ids=["national", "geocode-avant"])
def test_every_contradicted_row_and_only_those_reach_the_review(tmp_path, path, expected):
    report = tmp_path / "rapport.xlsx"
    run = run_study(Study(initiatives=path, outputs={"relecture": tmp_path / "revue.csv",
                                                     "rapport": report,
                                                     "par_quartier": tmp_path / "pq.csv"}))
    review = run.review.set_index("cle")
    assert set(review.index) == set(expected), review[["motif"]].to_string()
    for key, cause in expected.items():
        motif = review.loc[key, "motif"]
        assert cause in motif, (key, motif)
        # (a swap or a lost sign that leaves France is said as such: not placed, rather
        # than doubtful)
        left = path == directories.NATIONAL and key in ("Q-31555", "Q-97411")
        assert review.loc[key, "statut"] == ("non_localise" if left else "a_verifier")
        assert review.loc[key, "nom"]  # named, not « ligne 20 » alone
    # every written review names each site
    written = pd.read_csv(tmp_path / "revue.csv", sep=";", dtype=str, keep_default_na=False)
    names = dict(zip(written["cle"], written["nom"], strict=True))
    table = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False).set_index("id")
    assert names == {key: table.loc[key, "nom"] for key in expected}
    sheet = pd.read_excel(report, sheet_name="À vérifier", dtype=str)
    assert set(sheet["Site"]) == set(names.values())
    # not counted: no relation to any quartier, in the sites or the per-quartier table
    sites = run.result.sites.set_index("id")
    assert (sites.loc[list(expected), "relation"] == "not_located").all()
    assert not run.result.long["id_initiative"].isin(list(expected)).any()
    # the others keep their place: each quartier's own site is implanted in it
    others = [k for k in sites.index if k.startswith("Q-") and k not in expected]
    assert (sites.loc[others, "relation"] == "implanted").all(), sites.loc[others, "relation"]
    per_quartier = pd.read_csv(tmp_path / "pq.csv", sep=";", dtype=str,
                               keep_default_na=False)
    implanted = [c for c in per_quartier.columns if "implant" in c.lower()]
    assert implanted, per_quartier.columns.tolist()
    counted = pd.to_numeric(per_quartier[implanted[0]].str.replace(",", "."),
                            errors="coerce").fillna(0).sum()
    assert counted == (sites["relation"] == "implanted").sum()
