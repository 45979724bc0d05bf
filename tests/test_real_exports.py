"""Real exports read right (issue 31, item 5): a code column proper to each row (SIRET,
« Code … », RNA number; a SIREN only when it does not repeat) identifies the sites, and an
address line that already holds its postcode and commune does not get them again."""

from __future__ import annotations

import pandas as pd
import pytest

from geo import geocode as gc
from geo.addresses import join_address
from geo.columns import detect_columns
from geo.initiatives import initiative_ids, read_initiatives

#: Shaped as a Paris directory of social centres and public services (its « Code U2A »
#: and « Libellé U2A » headers verbatim; the addresses are real streets, the codes made up):
#: the address line holds the postcode and the arrondissement, given again in columns.
U2A = pd.DataFrame({
    "Code U2A": ["U2A-14-003", "U2A-19-012", "U2A-20-007"],
    "Libellé U2A": ["Centre social Didot", "Espace solidarité Riquet", "Maison des Haies"],
    "Adresse": ["98 rue Didot 75014 PARIS 14EME ARRONDISSEMENT",
                "52 rue Riquet 75019 PARIS 19EME ARRONDISSEMENT", "6 rue des Haies"],
    "Code postal": ["75014", "75019", "75020"],
    "Ville": ["14e Arrondissement", "19e Arrondissement", "Paris 20e Arrondissement"],
    "Type": ["centre social", "espace solidarité", "centre social"],
})


def _csv(tmp_path, table: pd.DataFrame):
    path = tmp_path / "annuaire.csv"
    table.to_csv(path, sep=";", index=False)
    return path


def test_a_code_column_identifies_the_sites(tmp_path):
    detection = detect_columns(U2A)
    assert detection.columns.id == "Code U2A" and detection.found["site_id"] == "Code U2A"
    assert "identifiant de site : « Code U2A » (reconnue à son nom, propre à chaque ligne)" \
        in detection.report
    # an activity code, even different on each row, names a category, not a site
    coded = pd.concat([pd.DataFrame({"Code APE": ["88.99B", "56.21Z", "94.99Z"]}), U2A],
                      axis=1)
    assert detect_columns(coded).found["site_id"] == "Code U2A"
    assert "site_id" not in detect_columns(coded.drop(columns="Code U2A")).found
    placed = U2A.assign(latitude=["48.8313", "48.8902", "48.8540"],
                        longitude=["2.3175", "2.3703", "2.3980"])
    initiatives = read_initiatives(_csv(tmp_path, placed))
    assert initiative_ids(initiatives).tolist() == U2A["Code U2A"].tolist()  # not « ligne 2 »
    keys = gc.identify_sites(U2A, id_column=detection.columns.id,
                             address_columns=detection.columns.address).keys
    assert keys == U2A["Code U2A"].tolist()  # each correction kept with its site


def test_siret_over_siren_and_what_repeats_is_no_site_identifier():
    sirets = ["77567227200014", "77567227200022", "34873799000021"]
    table = pd.DataFrame({"SIREN": [s[:9] for s in sirets], "N° SIRET": sirets,
                          "Nom": ["Emmaüs A", "Emmaüs B", "Table de Cana"]})
    detection = detect_columns(table)
    # the organisation's SIREN groups its sites; the SIRET identifies each one
    assert detection.columns.id == "SIREN" and detection.found["site_id"] == "N° SIRET"
    # a SIRET typed twice is no identifier: the next code that is proper to each row is
    table["N° SIRET"] = [sirets[0], sirets[0], sirets[2]]
    table["Code structure"] = ["S1", "S2", "S3"]
    assert detect_columns(table.drop(columns="SIREN")).found["site_id"] == "Code structure"
    # none: the sites keep their row numbers, and the report says why
    detection = detect_columns(table.drop(columns=["SIREN", "Code structure"]))
    assert detection.columns.id is None and "site_id" not in detection.found
    assert ("pas d'identifiant de site : « N° SIRET » (1 valeur répétée, dont "
            "« 77567227200014 ») ne distingue pas chaque ligne ; les sites sont désignés "
            "par leur numéro de ligne") in detection.report


def test_an_rna_number_is_recognised_by_its_values():
    table = pd.DataFrame({"Réf.": ["W931000001", "W133000002", "W751234567"],
                          "Association": ["Régie du Bel Air", "Solidarité Nord", "Ateliers"]})
    detection = detect_columns(table)
    assert detection.columns.id == detection.found["site_id"] == "Réf."
    assert "identifiant de site : « Réf. » (reconnue à son contenu, propre à chaque " \
           "ligne)" in detection.report


@pytest.mark.parametrize(("parts", "line"), [
    (["98 rue Didot 75014 PARIS 14EME ARRONDISSEMENT", "75014", "14e Arrondissement"],
     "98 rue Didot 75014 PARIS 14EME ARRONDISSEMENT"),
    (["52 rue Riquet 75019 Paris", "75019", "Paris"], "52 rue Riquet 75019 Paris"),
    (["3 bd de la Libération 93200 Saint-Denis CEDEX", "93200", "Saint-Denis"],
     "3 bd de la Libération 93200 Saint-Denis CEDEX"),
    # parts the line does not hold are kept, even a commune that names the street
    (["6 rue des Haies", "75020", "Paris 20e Arrondissement"],
     "6 rue des Haies 75020 Paris 20e Arrondissement"),
    (["12 rue de Lyon", "69003", "Lyon"], "12 rue de Lyon 69003 Lyon"),
    (["12 rue de Lyon 75012", "Paris"], "12 rue de Lyon 75012 Paris"),
    (["47", "B", "AV", "DE LA LIBERTE", "93100", "MONTREUIL"],
     "47 B AV DE LA LIBERTE 93100 MONTREUIL"),
])
def test_address_parts_already_in_the_line_are_not_added(parts, line):
    assert join_address(parts) == line


def test_the_geocoder_query_and_the_review_give_the_address_once():
    detection = detect_columns(U2A)
    assert detection.columns.address == ["Adresse", "Code postal", "Ville"]
    result = gc.geocode(U2A, address_columns=detection.columns.address,
                        id_column=detection.columns.id, offline=True,
                        cache=gc.GeocodeCache())
    review = result.review.set_index("cle")
    assert review.loc["U2A-14-003", "adresse_saisie"] == \
        "98 rue Didot 75014 PARIS 14EME ARRONDISSEMENT"
    assert review.loc["U2A-20-007", "adresse_saisie"] == \
        "6 rue des Haies 75020 Paris 20e Arrondissement"


def test_a_correction_recorded_with_the_address_given_twice_still_holds():
    """A review file written before: its key and address hold every part, repeated."""
    table = U2A.drop(columns="Code U2A")
    detection = detect_columns(table)
    assert detection.columns.id is None
    before = "98 rue Didot 75014 PARIS 14EME ARRONDISSEMENT 75014 14e Arrondissement"
    corrections = pd.DataFrame({"cle": [f"Centre social Didot | {before}"],
                                "nom": ["Centre social Didot"], "adresse_saisie": [before],
                                "latitude": ["48,8331"], "longitude": ["2,3195"]})
    result = gc.geocode(table, address_columns=detection.columns.address, offline=True,
                        corrections=corrections, cache=gc.GeocodeCache())
    row = result.table.iloc[0]
    assert row["geocode_status"] == "corrige"
    assert (row["latitude"], row["longitude"]) == ("48.8331", "2.3195")
