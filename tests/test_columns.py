"""Real tables understood without help: the exports of the ecosystem's tools with their
headers verbatim (INSEE's SIRENE, the RNA of associations, data·inclusion, GoGoCarto and
Transiscope), and tables typed the everyday way, their columns found by name or content."""

from __future__ import annotations

import pandas as pd
import pytest

from geo import cli
from geo.columns import detect_columns
from geo.vocabulary import COLUMN_KEYS, ROLE_FLAGS, ROLES, Columns

#: StockEtablissement (INSEE, « Base Sirene des entreprises et de leurs établissements »),
#: with the legal unit's name joined, as extracts are made; real ESS establishments'
#: identifiers and addresses are replaced by made-up ones.
SIRENE = pd.DataFrame({
    "siren": ["775672272", "348737990", "421356502"],
    "nic": ["00014", "00021", "00033"],
    "siret": ["77567227200014", "34873799000021", "42135650200033"],
    "statutDiffusionEtablissement": ["O", "O", "O"],
    "dateCreationEtablissement": ["1985-01-01", "1999-06-15", "2010-03-02"],
    "trancheEffectifsEtablissement": ["12", "03", "NN"],
    "etablissementSiege": ["true", "false", "true"],
    "complementAdresseEtablissement": ["", "BATIMENT B", ""],
    "numeroVoieEtablissement": ["47", "12", "3"],
    "indiceRepetitionEtablissement": ["", "B", ""],
    "typeVoieEtablissement": ["AV", "RUE", "BD"],
    "libelleVoieEtablissement": ["DE LA LIBERTE", "DE LA REPUBLIQUE", "NATIONAL"],
    "codePostalEtablissement": ["93100", "13001", "13003"],
    "libelleCommuneEtablissement": ["MONTREUIL", "MARSEILLE 1", "MARSEILLE 3"],
    "codeCommuneEtablissement": ["93048", "13201", "13203"],
    "coordonneeLambertAbscisseEtablissement": ["[ND]", "[ND]", "[ND]"],
    "coordonneeLambertOrdonneeEtablissement": ["[ND]", "[ND]", "[ND]"],
    "enseigne1Etablissement": ["", "TABLE DE CANA MARSEILLE", ""],
    "denominationUsuelleEtablissement": ["", "", ""],
    "activitePrincipaleEtablissement": ["88.99B", "56.21Z", "94.99Z"],
    "etatAdministratifEtablissement": ["A", "A", "A"],
    "denominationUniteLegale": ["EMMAUS SOLIDARITE", "LA TABLE DE CANA",
                                "REGIE DE QUARTIER"],
    "economieSocialeSolidaireUniteLegale": ["O", "O", "O"],
})

#: The RNA (« Répertoire national des associations », waldec file), verbatim header.
RNA = pd.DataFrame({
    "id": ["W931000001", "W133000002"], "id_ex": ["", ""], "siret": ["", ""],
    "rup_mi": ["", ""], "gestion": ["931S", "133P"],
    "date_creat": ["2004-02-19", "2012-05-01"], "date_decla": ["2016-12-07", "2019-01-02"],
    "date_publi": ["2004-03-06", "2012-05-19"], "date_disso": ["0001-01-01", "0001-01-01"],
    "nature": ["D", "D"], "groupement": ["S", "S"],
    "titre": ["RÉGIE DE QUARTIER DU BEL AIR", "ASSOCIATION SOLIDARITÉ NORD"],
    "titre_court": ["REGIE BEL AIR", "SOLIDARITE NORD"],
    "objet": ["insertion par l'activité économique", "aide alimentaire et épicerie"],
    "objet_social1": ["017020", "015030"], "objet_social2": ["000000", "000000"],
    "adrs_complement": ["", ""], "adrs_numvoie": ["3", "18"], "adrs_repetition": ["", ""],
    "adrs_typevoie": ["RUE", "BD"], "adrs_libvoie": ["DU BEL AIR", "NATIONAL"],
    "adrs_distrib": ["", ""], "adrs_codeinsee": ["93048", "13203"],
    "adrs_codepostal": ["93100", "13003"], "adrs_libcommune": ["Montreuil", "Marseille"],
    "siteweb": ["", "https://solidarite-nord.example"], "position": ["A", "A"],
})

#: data·inclusion, the inclusion offer's common schema (structures), verbatim fields.
DATA_INCLUSION = pd.DataFrame({
    "id": ["s1", "s2", "s3"], "siret": ["", "", ""], "rna": ["", "", ""],
    "nom": ["Épicerie solidaire du Mirail", "Recyclerie des Izards", "Café des Bourdettes"],
    "commune": ["Toulouse", "Toulouse", "Toulouse"], "code_postal": ["31100", "31200", "31100"],
    "code_insee": ["31555", "31555", "31555"],
    "adresse": ["5 allée Bernadette", "10 rue des Izards", "2 place des Bourdettes"],
    "complement_adresse": ["", "", ""], "longitude": ["", "", ""], "latitude": ["", "", ""],
    "typologie": ["ASSO", "ASSO", "ASSO"], "telephone": ["", "", ""], "courriel": ["", "", ""],
    "site_web": ["", "", ""], "presentation_resume": ["", "", ""],
    "thematiques": ["alimentation", "numerique", "alimentation"],
})

#: A GoGoCarto / Transiscope export: schema.org address fields, categories.
GOGOCARTO = pd.DataFrame({
    "id": ["a1", "a2"], "title": ["Le Champ Commun", "Atelier Vélo Solidaire"],
    "brand": ["", "Réseau Vélo"], "categories": ["Alimentation", "Mobilité"],
    "streetAddress": ["12 rue des Halles", "4 avenue Jean Jaurès"],
    "postalCode": ["35000", "69007"], "addressLocality": ["Rennes", "Lyon"],
    "latitude": ["48.1106", "45.7436"], "longitude": ["-1.6802", "4.8424"],
    "website": ["https://champcommun.example", ""],
})

#: A table typed the everyday way, with headers as people write them.
EVERYDAY = pd.DataFrame({
    "N°": ["1", "2", "3"],
    "Nom de la structure": ["Conciergerie Les Clés", "Garage solidaire", "Jardin partagé"],
    "Action menée": ["conciergerie", "mobilité", "jardin"],
    "Adresse": ["12 rue de la Paix", "3 bd Carnot", "7 allée des Lilas"],
    "CP": ["01000", "93200", "69100"], "Ville": ["Bourg-en-Bresse", "Saint-Denis",
                                               "Villeurbanne"],
    "Quartiers d'intervention": ["", "Franc-Moisin (Saint-Denis)", ""],
})


def found(table: pd.DataFrame) -> dict[str, str]:
    return detect_columns(table).found


def address(table: pd.DataFrame) -> list[str]:
    return detect_columns(table).columns.address


def test_sirene_extract():
    d = detect_columns(SIRENE)
    assert d.columns.name == "denominationUniteLegale"
    assert d.columns.id == "siren"
    assert d.columns.address == ["numeroVoieEtablissement", "indiceRepetitionEtablissement",
                                 "typeVoieEtablissement", "libelleVoieEtablissement",
                                 "codePostalEtablissement", "libelleCommuneEtablissement"]
    assert d.found["citycode"] == "codeCommuneEtablissement"  # checked against the answer
    assert d.columns.lon is None  # « [ND] »: the coordinates are not published


def test_rna_extract():
    d = detect_columns(RNA)
    assert d.columns.name == "titre" and d.columns.id == "id"
    assert d.columns.address == ["adrs_numvoie", "adrs_repetition", "adrs_typevoie",
                                 "adrs_libvoie", "adrs_codepostal", "adrs_libcommune"]
    assert d.columns.website == "siteweb"
    assert d.columns.theme is None  # codes (« 931S », « D ») are no theme


def test_data_inclusion_structures():
    d = detect_columns(DATA_INCLUSION)
    assert d.columns.name == "nom" and d.columns.theme == "thematiques"
    assert d.columns.address == ["adresse", "code_postal", "commune"]


def test_gogocarto_export():
    d = detect_columns(GOGOCARTO)
    assert d.columns.name == "title"  # not « brand »
    assert d.columns.theme == "categories"
    assert d.columns.address == ["streetAddress", "postalCode", "addressLocality"]
    assert (d.columns.lon, d.columns.lat) == ("longitude", "latitude")
    assert d.columns.website == "website"


def test_everyday_headers():
    d = detect_columns(EVERYDAY)
    assert d.columns.name == "Nom de la structure" and d.columns.theme == "Action menée"
    assert d.columns.address == ["Adresse", "CP", "Ville"]
    assert d.columns.served == "Quartiers d'intervention"
    assert any("reconnue à son nom" in line for line in d.report)


@pytest.mark.parametrize("headers, expected", [
    ({"Libellé U2A": "name", "Adresse": "street"}, {"name": "Libellé U2A"}),
    ({"DESIGNATION": "name", "CODPOST": "postcode"}, {"name": "DESIGNATION",
                                                     "postcode": "CODPOST"}),
    ({"name": "name", "brand": "brand"}, {"name": "name"}),
    ({"street": "street", "post_code": "postcode"}, {"street": "street",
                                                     "postcode": "post_code"}),
    ({"adresse_ligne_1": "street", "postalCode": "postcode", "type": "theme"},
     {"street": "adresse_ligne_1", "postcode": "postalCode", "theme": "type"}),
    ({"kind": "theme"}, {"theme": "kind"}),
])
def test_headers_of_real_directories(headers, expected):
    values = {"name": ["Atelier A", "Atelier B", "Atelier C"],
              "brand": ["Marque", "Marque", "Autre"],
              "street": ["1 rue A", "2 rue B", "3 rue C"],
              "postcode": ["75001", "93200", "69100"],
              "theme": ["vélo", "vélo", "repair café"]}
    table = pd.DataFrame({h: values[kind] for h, kind in headers.items()})
    got = found(table)
    assert {role: got.get(role) for role in expected} == expected


def test_unnamed_columns_are_found_by_their_content():
    """Headers that say nothing: the postcode, the commune, the street line, the name and
    the theme are read from the values."""
    table = pd.DataFrame({
        "A": ["Conciergerie Les Clés", "Garage solidaire", "Jardin partagé", "Recyclerie",
              "Épicerie sociale"],
        "B": ["conciergerie", "mobilité", "jardin", "mobilité", "conciergerie"],
        "C": ["12 rue de la Paix", "3 bd Carnot", "7 allée des Lilas", "1 place du Marché",
              "40 avenue Jean Jaurès"],
        "D": ["01000", "93200", "69100", "31100", "34000"],
        "E": ["Bourg-en-Bresse", "Saint-Denis", "Villeurbanne", "Toulouse", "Montpellier"],
        "F": ["93066", "93066", "69266", "31555", "34172"],
    })
    d = detect_columns(table)
    assert d.columns.name == "A" and d.columns.theme == "B"
    assert d.columns.address == ["C", "D", "E"]
    assert d.found["citycode"] == "F"
    line = next(r for r in d.report if r.startswith("nom :"))
    assert "reconnue à son contenu" in line
    # an article written or not, an arrondissement: the same commune
    names = pd.DataFrame({"lieu": ["La Courneuve", "Le Havre", "Paris 18e", "Marseille 1er"]})
    assert found(names).get("city") == "lieu"


def test_a_named_column_wins_over_recognition():
    d = detect_columns(EVERYDAY, Columns(name="N°", theme="Ville"))
    assert d.columns.name == "N°" and d.columns.theme == "Ville"
    assert "(indiquée)" in next(r for r in d.report if r.startswith("nom :"))


def test_roles_are_declared_once():
    keys = [r.key for r in ROLES]
    assert len(keys) == len(set(keys))
    settable = {f for f in Columns.__dataclass_fields__} - {"indicators"}
    assert settable == set(COLUMN_KEYS) == set(ROLE_FLAGS)  # study file and CLI: every one
    from geo.studyfile import SCHEMA

    assert set(SCHEMA["colonnes"]) == set(COLUMN_KEYS.values())
    assert "colonnes" in SCHEMA["indicateurs"]  # the indicators have their own section
    from geo.web.columns import ROLES as WEB

    assert set(WEB) <= settable


def test_a_sirene_extract_runs_with_no_option(tmp_path, capsys):
    """Placed from its Lambert-93 coordinates when INSEE publishes them; every name on the
    map, never « Site 1 »."""
    table = SIRENE.copy()
    table["coordonneeLambertAbscisseEtablissement"] = ["660400.0", "892500.0", "893300.0"]
    table["coordonneeLambertOrdonneeEtablissement"] = ["6862500.0", "6247100.0",
                                                       "6249300.0"]
    path = tmp_path / "sirene.csv"
    table.to_csv(path, sep=";", index=False)
    out = tmp_path / "carte.html"
    assert cli.main(["map", str(path), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Lambert-93" in printed and "« denominationUniteLegale »" in printed
    page = out.read_text(encoding="utf-8")
    assert "EMMAUS SOLIDARITE" in page and "Site 1" not in page


def test_indicators_are_recognised_and_written_as_numbers(tmp_path, capsys):
    import openpyxl

    table = pd.DataFrame({"nom": ["A", "B", "C"], "Emplois (ETP)": ["1 234,5", "", "3"],
                          "Bénévoles": ["12", "4", "n.c."],
                          "latitude": ["48.9362", "44.8378", "45.7676"],
                          "longitude": ["2.3596", "-0.5792", "4.8812"]})
    path = tmp_path / "t.csv"
    table.to_csv(path, sep=";", index=False)
    d = detect_columns(table)
    assert d.indicators == ["Emplois (ETP)", "Bénévoles"]
    assert any(line.startswith("indicateurs :") for line in d.report)
    out = tmp_path / "sites.xlsx"
    assert cli.main(["link", str(path), "-o", str(out)]) == 0
    sheet = openpyxl.load_workbook(out).active
    header = [c.value for c in sheet[1]]
    jobs = [sheet.cell(r, header.index("Emplois (ETP)") + 1).value for r in (2, 3, 4)]
    volunteers = [sheet.cell(r, header.index("Bénévoles") + 1).value for r in (2, 3, 4)]
    assert jobs == [1234.5, None, 3]  # blanks stay blank, never 0
    assert volunteers == [12, 4, "n.c."]  # what is no number keeps its text


def test_a_role_declared_is_a_field_of_columns():
    """Adding a column role is one declaration: the Columns type follows the roles."""
    from dataclasses import fields, replace

    from geo.vocabulary import Role, columns_type

    extra = Role("phone", "téléphone", "numéro de téléphone", ("telephone",), "telephone",
                 "--phone-column", True, "named")
    made = columns_type((*ROLES, extra))
    assert "phone" in {f.name for f in fields(made)} and made().phone is None
    assert [f.name for f in fields(Columns)] == [*COLUMN_KEYS, "indicators"]
    assert replace(Columns(), name="Nom").name == "Nom"


def test_one_columns_object_travels_from_detection_to_the_sites():
    """The sites carry the detection's own Columns (no copy, nothing looked up again): the
    site identifier checked for values used twice is the one detection named."""
    from geo.initiatives import initiatives_from_table

    table = pd.DataFrame({"nom": ["Recyclerie", "Épicerie", "Atelier"],
                          "numero_siret": ["77567227200014", "77567227200014",
                                           "34873799000021"],
                          "latitude": ["48.90", "48.91", "48.92"],
                          "longitude": ["2.35", "2.36", "2.37"]})
    detection = detect_columns(table)
    initiatives = initiatives_from_table(table, detection=detection)
    assert initiatives.columns is detection.columns
    assert initiatives.name_column == "nom" == detection.columns.name
    assert detection.site_column == "numero_siret" and "site_id" not in detection.found
    assert [(i.row, i.column) for i in initiatives.issues] == [(3, "numero_siret")]
