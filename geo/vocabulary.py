"""The words of a study, in one place: column roles and their aliases, how the columns of a
user's table are recognised (by name, then by content), statuses with their French labels,
the output columns with their French headers, and the defaults.

Every other module imports these; none keeps its own list.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING

from ._errors import InputError

if TYPE_CHECKING:  # numpy and pandas are imported where used: the CLI's help stays fast
    import numpy as np
    import pandas as pd

#: Width of the proximity band, in metres (the usual band of national programmes).
DEFAULT_DISTANCE = 300.0
#: QPV boundaries used when none are named (offline, bundled).
DEFAULT_SOURCE = "bundled-2024"
#: Named QPV sources (:data:`geo.sources.SOURCES` holds where each comes from).
QPV_SOURCE_KEYS = ("bundled-2024", "bundled-2015-occitanie", "2024", "2015")
#: The national address API (Base Adresse Nationale); the same API is served by the IGN
#: Géoplateforme at https://data.geopf.fr/geocodage.
DEFAULT_GEOCODER_URL = "https://api-adresse.data.gouv.fr"
#: Below this score a geocoding match is sent for review (the BAN scores a full, exact
#: address around 0.9 and more; under 0.6 the match usually lost words of the query).
DEFAULT_MIN_SCORE = 0.6
#: Addresses per batch request.
DEFAULT_CHUNK = 1000
#: Title of a study's maps and report when none is given.
DEFAULT_TITLE = "Initiatives de l'ESS et quartiers prioritaires"
#: Paper sizes of the print map.
PAPER_FORMATS = ("A3", "A4", "A5")
#: Table formats a table output may take (extension → name).
TABLE_FORMATS = {".csv": "CSV", ".xlsx": "Excel", ".geojson": "GeoJSON",
                 ".gpkg": "GeoPackage"}


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class Output:
    """A file a study can write, declared once: the study file's ``[sorties]``, its
    template, the CLI options of ``link`` and ``map``, the web page's files and downloads
    and the error hints derive from :data:`OUTPUTS`; :mod:`geo.outputs` writes it.

    ``key`` is the ``[sorties]`` key and the key of ``Study.outputs``; ``what`` says what
    it is (help, messages, the list of files written) and ``more`` adds to the help and the
    template's comment. ``file`` is its name when none is given (the template, the web page,
    the demo); ``default``: a study file that does not name it writes it; ``template``:
    ``ess-qpv init`` writes it. ``command`` is the CLI command that writes it, with
    ``option`` (``-o``: that command's main output) and ``beside``, the suffix of a name
    taken from the main output when the option is given without one. ``download``: the web
    page's link to it.
    """

    key: str
    extensions: tuple[str, ...]
    what: str
    file: str
    command: str
    option: tuple[str, ...]
    default: bool = False
    template: bool = False
    more: str = ""
    beside: str | None = None
    download: str | None = None

    @property
    def flag(self) -> str:
        """The CLI option named in messages."""
        return self.option[0]

    @property
    def dest(self) -> str:
        """The argparse destination of the option (``output`` for ``-o``)."""
        return "output" if self.flag == "-o" else self.key


_TABLES = tuple(TABLE_FORMATS)
_SHEETS = (".csv", ".xlsx")
_PAGES = (".html", ".htm")

#: Every output, in the order of the template and the web page's downloads.
OUTPUTS: tuple[Output, ...] = (
    Output("tableau", _TABLES, "tableau enrichi, un site par ligne", "initiatives_enrichies.csv",
           "link", ("-o", "--sortie"), default=True, template=True,
           download="Télécharger le tableau enrichi"),
    Output("detail", _SHEETS, "une ligne par site, quartier et relation", "detail.csv",
           "link", ("--long", "--detail"), download="Télécharger le détail (site, quartier, "
                                                     "relation)"),
    Output("par_initiative", _SHEETS, "une ligne par initiative", "par_initiative.csv",
           "link", ("--per-initiative", "--par-initiative"), more="union de ses sites",
           download="Télécharger le tableau par initiative"),
    Output("par_quartier", _TABLES, "une ligne par quartier", "par_quartier.csv", "link",
           ("--per-qpv", "--par-quartier"),
           more="avec les comptes, et les contours en .gpkg et .geojson",
           download="Télécharger le tableau par quartier"),
    Output("par_territoire", _SHEETS, "par département et par commune", "par_territoire.csv",
           "link", ("--per-territory", "--par-territoire"),
           download="Télécharger le tableau par territoire"),
    Output("rapport", (".xlsx",), "rapport Excel", "rapport.xlsx", "link",
           ("--rapport", "--report"), default=True, template=True,
           more="une feuille par tableau, les notes et les sources",
           download="Télécharger le rapport (Excel)"),
    Output("carte", _PAGES, "carte interactive", "carte.html", "map", ("-o", "--sortie"),
           default=True, template=True,
           more="ses bibliothèques sont chargées en ligne"),
    Output("carte_autonome", _PAGES, "carte autonome, sans internet", "carte-autonome.html",
           "map", ("--self-contained", "--autonome"), default=True, template=True,
           beside="-autonome",
           download="Télécharger la carte autonome"),
    Output("integration", (*_PAGES, ".txt"), "extrait <iframe> à intégrer",
           "carte-iframe.html", "map", ("--embed", "--integration"), default=True,
           template=True, more="à coller dans une page web"),
    Output("carte_impression", (".pdf", ".png", ".svg"), "carte à imprimer", "carte.pdf",
           "map", ("--print", "--impression"), default=True, template=True,
           download="Télécharger la carte à imprimer (PDF)"),
    Output("fiches", (".pdf",), "fiches par initiative, une page chacune", "fiches.pdf",
           "map", ("--fiches",), template=True,
           more="sa carte, ses sites et ses quartiers, et ces cartes en PNG (300 dpi) et SVG "
                "dans le dossier fiches/ à côté",
           download="Télécharger les fiches par initiative (PDF, une page chacune)"),
    Output("relecture", _SHEETS, "adresses à vérifier, modèle du fichier de corrections",
           "a_verifier.csv", "link", ("--relecture", "--review"), template=True,
           more="à remplir (accepter, adresse_corrigee ou latitude et longitude), puis à "
                "redonner comme fichier de corrections",
           download="Télécharger les adresses à vérifier"),
    Output("provenance", (".json",), "provenance : version, sources, paramètres",
           "provenance.json", "link", ("--provenance",), default=True, template=True,
           download="Télécharger la provenance (JSON)"),
)

#: Each output by its key.
OUTPUT = {o.key: o for o in OUTPUTS}

#: The national panorama's outputs (``ess-qpv sirene``, :func:`geo.study.run_panorama`).
PANORAMA_OUTPUTS: tuple[Output, ...] = (
    Output("classeur", (".xlsx",), "panorama : par quartier, par territoire, accord avec "
           "l'INSEE", "panorama.xlsx", "sirene", ("-o", "--sortie")),
    Output("par_quartier", (".csv", ".parquet"), "tableau par quartier",
           "panorama_par_quartier.csv", "sirene", ("--par-qpv", "--par-quartier")),
    Output("carte", _PAGES, "carte des quartiers (autonome, s'ouvre sans internet)",
           "panorama.html", "sirene", ("--carte",),
           more="quartiers selon leur nombre d'établissements de l'ESS"),
)


class _Labelled(StrEnum):
    """A status stored in English in tables, shown in French (:attr:`label`)."""

    @property
    def label(self) -> str:
        return LABELS[self]


class Relation(_Labelled):
    """How a site relates to the quartiers."""

    IMPLANTED = "implanted"
    NEARBY = "nearby"
    NONE = "none"
    NOT_LOCATED = "not_located"
    SERVED = "served"


class Evolution(_Labelled):
    """A site's status between two QPV generations."""

    ENTERED = "entered"
    LEFT = "left"
    UNCHANGED = "unchanged"
    CHANGED_QPV = "changed_qpv"
    NOT_COVERED = "not_covered"
    NOT_LOCATED = "not_located"


class TerritoryStatus(_Labelled):
    """Whether a site lies in the territory studied (empty when none is set)."""

    INSIDE = "inside"
    OUTSIDE = "outside"


class GeocodeStatus(_Labelled):
    """What geocoding did to a row."""

    OK = "ok"
    REVIEW = "a_verifier"
    NOT_FOUND = "non_trouve"
    GIVEN = "fourni"
    CORRECTED = "corrige"
    NO_ADDRESS = "sans_adresse"
    OFFLINE = "non_geocode"


#: French labels of every status.
LABELS: dict[_Labelled, str] = {
    Relation.IMPLANTED: "implantée", Relation.NEARBY: "à proximité",
    Relation.NONE: "hors QPV", Relation.NOT_LOCATED: "non localisée",
    Relation.SERVED: "intervient",
    Evolution.ENTERED: "entrée en QPV", Evolution.LEFT: "sortie des QPV",
    Evolution.UNCHANGED: "inchangée", Evolution.CHANGED_QPV: "changement de quartier",
    Evolution.NOT_COVERED: "hors couverture", Evolution.NOT_LOCATED: "non localisée",
    TerritoryStatus.INSIDE: "dans le territoire étudié",
    TerritoryStatus.OUTSIDE: "hors du territoire étudié",
    GeocodeStatus.OK: "géocodées (ok)", GeocodeStatus.REVIEW: "à vérifier",
    GeocodeStatus.NOT_FOUND: "non trouvées", GeocodeStatus.GIVEN: "coordonnées déjà fournies",
    GeocodeStatus.CORRECTED: "corrigées", GeocodeStatus.NO_ADDRESS: "sans adresse",
    GeocodeStatus.OFFLINE: "non géocodées (hors ligne)",
}


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Role:
    """What a column of the user's table may hold, declared once: every table below, the
    study file's ``[colonnes]``, the CLI options and the web page's columns step derive
    from :data:`ROLES`.

    ``aliases`` are compared after :func:`normal_name` (accents, case and punctuation
    ignored), in order: the first found wins. ``study_key`` is the key of ``[colonnes]``,
    ``flag`` the CLI option, ``web`` whether the columns page offers it as a choice.
    """

    key: str
    label: str
    help: str
    aliases: tuple[str, ...] = ()
    study_key: str | None = None
    flag: str | None = None
    web: bool = False


#: Every column role, with the names that the ecosystem's exports give it (GoGoCarto and
#: Transiscope, schema.org, INSEE's SIRENE, the RNA of associations, the inclusion
#: platforms, the BAN geocoder's ``result_*``) and everyday French headers.
ROLES: tuple[Role, ...] = (
    Role("id", "identifiant de l'initiative", "identifiant de l'initiative (plusieurs sites "
         "peuvent le partager)",
         ("id_initiative", "identifiant", "initiative_id", "id", "identifiant_initiative",
          "id_structure", "identifiant_structure", "siren", "id_rna", "numero_rna"),
         "identifiant", "--id-column", True),
    Role("name", "nom", "nom de l'initiative ou du site",
         ("nom", "nom_initiative", "nom_de_l_initiative", "name", "title", "titre",
          "nom_de_la_structure", "nom_structure", "raison_sociale", "denomination",
          "denominationunitelegale", "denomination_unite_legale", "designation",
          "libelle_u2a", "libelle", "nom_site", "nom_du_site", "structure", "intitule",
          "denominationusuelleetablissement", "enseigne1etablissement", "enseigne",
          "titre_court", "brand"),
         "nom", "--name-column", True),
    Role("theme", "thème", "thème ou type d'activité (une couleur et une forme sur la carte)",
         ("theme", "thematique", "thematiques", "categorie", "categories", "category",
          "secteur", "secteur_d_activite", "domaine", "domaine_d_activite", "activite",
          "type", "kind", "typologie", "type_de_structure", "type_structure",
          "action_menee", "actions_menees", "taxonomy", "famille"),
         "theme", "--theme-column", True),
    Role("lon", "longitude (ou X)", "longitude en degrés, ou X en mètres Lambert-93",
         ("longitude", "lon", "lng", "long", "x", "longitude_wgs84", "lon_wgs84",
          "coord_lon", "coord_lng", "coord_long", "coord_longitude", "coord_x", "gps_lon",
          "gps_lng", "gps_longitude", "longitude_gps", "geo_lon", "geo_lng",
          "geo_longitude", "x_longitude", "longitud", "xlong", "x_l93", "x_lambert93",
          "coordonnee_x", "coordonnees_x", "result_longitude"),
         "longitude", "--lon-column", True),
    Role("lat", "latitude (ou Y)", "latitude en degrés, ou Y en mètres Lambert-93",
         ("latitude", "lat", "lattitude", "latitud", "y", "latitude_wgs84", "lat_wgs84",
          "coord_lat", "coord_latitude", "coord_y", "gps_lat", "gps_latitude",
          "latitude_gps", "geo_lat", "geo_latitude", "y_latitude", "ylat", "y_l93",
          "y_lambert93", "coordonnee_y", "coordonnees_y", "result_latitude"),
         "latitude", "--lat-column", True),
    Role("crs", "système de coordonnées", "système des coordonnées (défaut : 4326, degrés ; "
         "2154 pour du Lambert-93)", (), "crs", "--crs"),
    Role("address", "adresse", "colonnes qui forment l'adresse, dans l'ordre (sinon : numéro, "
         "type de voie, voie, code postal, commune trouvés à leur nom ou à leur contenu)",
         (), "adresse", "--address-columns"),
    Role("housenumber", "numéro", "numéro dans la voie",
         ("numero", "numero_voie", "num_voie", "no_voie", "n_voie", "numero_de_voie",
          "numerovoieetablissement", "adrs_numvoie", "housenumber", "numero_rue")),
    Role("repetition", "indice de répétition", "bis, ter…",
         ("indice_repetition", "indicerepetitionetablissement", "adrs_repetition",
          "repetition", "bis_ter")),
    Role("streettype", "type de voie", "rue, avenue, boulevard…",
         ("type_voie", "type_de_voie", "typevoieetablissement", "adrs_typevoie")),
    Role("street", "voie", "la ligne d'adresse : numéro et voie, ou la voie seule",
         ("adresse", "address", "adresse_postale", "adresse_ligne_1", "adresse_ligne1",
          "adresse_1", "adresse1", "ligne_adresse", "ligne_1", "adresse_de_la_structure",
          "street", "streetaddress", "street_address", "address_streetaddress",
          "adresse_rue", "voie", "rue", "libelle_voie", "libellevoieetablissement",
          "adrs_libvoie", "nom_voie", "nom_de_la_voie", "result_name")),
    Role("postcode", "code postal", "code postal ; nommée ici, envoyée au géocodeur comme "
         "filtre (reconnue seule, elle n'est que vérifiée contre sa réponse)",
         ("code_postal", "cp", "postcode", "codepostal", "codpost", "code_post",
          "post_code", "postalcode", "postal_code", "address_postalcode",
          "codepostaletablissement", "adrs_codepostal", "code_postal_etablissement",
          "result_postcode"),
         "code_postal", "--postcode-column", True),
    Role("city", "commune", "nom de la commune",
         ("commune", "ville", "city", "nom_commune", "nom_de_la_commune", "localite",
          "addresslocality", "address_addresslocality", "libellecommuneetablissement",
          "adrs_libcommune", "libelle_commune", "commune_nom", "result_city")),
    Role("citycode", "code commune (INSEE)", "code INSEE de la commune ; nommée ici, envoyée "
         "au géocodeur comme filtre (reconnue seule, elle n'est que vérifiée)",
         ("code_insee", "citycode", "insee", "code_commune", "code_commune_insee",
          "insee_com", "codecommuneetablissement", "adrs_codeinsee", "com_insee",
          "depcom", "result_citycode"),
         "code_insee", "--citycode-column", True),
    Role("served", "quartiers servis", "quartiers où l'initiative intervient (codes QN… ou "
         "noms, séparés par ;)",
         ("qpv_servis", "quartiers_servis", "qpv_desservis", "quartiers_desservis",
          "qpv_declares", "served_qpv", "quartiers_d_intervention",
          "quartier_d_intervention", "qpv_d_intervention", "quartiers_prioritaires_servis",
          "qpv_concernes", "quartiers_concernes"),
         "quartiers_servis", "--served-column", True),
    Role("radius", "rayon (m)", "rayon d'intervention en mètres",
         ("rayon_m", "rayon", "rayon_intervention_m", "rayon_intervention",
          "rayon_d_intervention", "rayon_d_intervention_m", "rayon_d_action"),
         "rayon", "--radius-column", True),
    Role("website", "site web", "adresse du site web (https://…)",
         ("site_web", "site", "url", "web", "site_internet", "siteweb", "website",
          "site_internet_url", "lien", "page_web"),
         "site_web", "--website-column", True),
    Role("site_id", "identifiant de site", "identifiant du site : un code propre à chaque "
         "ligne (SIRET, « Code … », numéro RNA, SIREN s'il ne se répète pas)",
         ("id_site", "identifiant_site", "site_id", "code_site", "siret", "numero_siret",
          "num_siret", "n_siret", "no_siret", "code_siret", "siret_etablissement")),
    Role("year", "année d'ouverture", "année où le site a ouvert (une date complète est lue "
         "comme son année) : la carte a un choix « Année », le rapport une feuille par année",
         ("annee", "annee_ouverture", "annee_d_ouverture", "annee_de_creation",
          "annee_creation", "date_creation", "date_de_creation", "date_ouverture",
          "date_d_ouverture", "debut", "annee_debut", "year", "start_year",
          "datecreationetablissement", "date_debut_activite"),
         "annee", "--year-column", True),
    Role("end_year", "année de fin", "année où le site a fermé (vide : toujours ouvert)",
         ("annee_fin", "annee_de_fin", "annee_fermeture", "annee_de_fermeture", "date_fin",
          "date_de_fin", "date_fermeture", "date_de_fermeture", "fin", "end_year"),
         "annee_fin", "--end-year-column", True),
)
#: Numbers an initiative brings, recognised by name and written as numbers (the impact
#: tables sum them per quartier).
INDICATORS: tuple[Role, ...] = (
    Role("emplois", "emplois", "emplois (personnes ou ETP)",
         ("emplois", "emploi", "emplois_etp", "nb_emplois", "nombre_d_emplois", "etp", "salaries",
          "nb_salaries", "nombre_de_salaries", "effectif", "effectifs")),
    Role("benevoles", "bénévoles", "bénévoles", ("benevoles", "nb_benevoles",
                                                "nombre_de_benevoles", "volunteers")),
    Role("beneficiaires", "bénéficiaires", "personnes accompagnées ou touchées",
         ("beneficiaires", "nb_beneficiaires", "nombre_de_beneficiaires",
          "personnes_accompagnees", "usagers", "publics_touches")),
    Role("beneficiaires_qpv", "bénéficiaires habitant un QPV", "bénéficiaires habitant un "
         "quartier prioritaire", ("beneficiaires_qpv", "habitants_qpv",
                                  "beneficiaires_en_qpv", "publics_qpv")),
    Role("chiffre_affaires", "chiffre d'affaires (€)", "chiffre d'affaires en euros",
         ("chiffre_affaires", "chiffre_d_affaires", "ca", "ca_euros")),
    Role("budget", "budget (€)", "budget en euros", ("budget", "budget_annuel",
                                                     "budget_euros")),
)
#: Columns of a table of key figures by quartier (``[quartiers] chiffres_cles``).
QUARTIER_ROLES: tuple[Role, ...] = (
    Role("population", "population", "population municipale du quartier",
         ("pop_mun", "population", "population_municipale", "pop", "pop_qp", "popmun",
          "nb_habitants", "nombre_d_habitants", "habitants", "pop_muni", "p_pop")),
)
ROLE = {r.key: r for r in (*ROLES, *INDICATORS, *QUARTIER_ROLES)}
#: Usual names of each column role, compared after :func:`normal_name`.
ALIASES: dict[str, tuple[str, ...]] = {r.key: r.aliases for r in ROLE.values()}
#: French names of the roles, for messages and the detection report.
ROLE_FR = {**{r.key: r.label for r in ROLE.values()}, "indicators": "indicateur"}
#: ``[colonnes]`` key of each role the study file can set.
COLUMN_KEYS = {r.key: r.study_key for r in ROLES if r.study_key}
#: The CLI option of each role the command line can set.
ROLE_FLAGS = {r.key: r.flag for r in ROLES if r.flag}
#: The roles whose column the user may name (study file, CLI, web page), besides the
#: coordinates and the address.
NAMED_ROLES = ("id", "name", "theme", "served", "radius", "website", "year", "end_year")
#: The parts of an address, in the order the registries write them (and the geocoder
#: reads them): number, repetition, street type, street, postcode, commune.
ADDRESS_PARTS = ("housenumber", "repetition", "streettype", "street", "postcode", "city")


def normal_name(name: object) -> str:
    """A column name as compared with the aliases: accents and case folded, every run of
    other characters turned into ``_``.

    >>> normal_name(" Coord.Lat "), normal_name("Thème"), normal_name("Code postal")
    ('coord_lat', 'theme', 'code_postal')
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


@dataclass
class Columns:
    """Which columns of the user's table hold what (``None``: found by name or content).

    ``crs`` is the CRS of the coordinate columns (default EPSG:4326, degrees).
    """

    lon: str | None = None
    lat: str | None = None
    crs: str | None = None
    id: str | None = None
    theme: str | None = None
    served: str | None = None
    radius: str | None = None
    name: str | None = None
    #: The columns joined into the address (default: the parts found, in order).
    address: list[str] | None = None
    #: Sent to the geocoder as filters (only when given: a wrong one hides the answer).
    postcode: str | None = None
    citycode: str | None = None
    website: str | None = None
    year: str | None = None
    end_year: str | None = None
    #: Columns declared as indicators, besides those recognised by name.
    indicators: list[str] | None = None


@dataclass
class Detection:
    """The columns found in a table, and how: ``report`` is one French line per decision;
    ``found`` maps every role found (the address parts and the indicators too) to its
    column."""

    columns: Columns
    report: list[str] = field(default_factory=list)
    found: dict[str, str] = field(default_factory=dict)

    @property
    def indicators(self) -> list[str]:
        """The indicator columns: declared ones, then those recognised by name
        (:data:`INDICATORS`), in the table's words."""
        named = [self.found[r.key] for r in INDICATORS if r.key in self.found]
        return list(dict.fromkeys([*(self.columns.indicators or []), *named]))

    def as_dict(self) -> dict:
        """The detected columns, for the provenance."""
        return {f.name: getattr(self.columns, f.name) for f in fields(self.columns)
                if getattr(self.columns, f.name)}


def find_column(columns: list[str], role: str) -> str | None:
    """The first column whose name is an alias of ``role``, in the order of the aliases."""
    by_name: dict[str, str] = {}
    for c in columns:
        by_name.setdefault(normal_name(c), c)
    return next((by_name[a] for a in ALIASES[role] if a in by_name), None)


_LAT_TOKENS = {"lat", "latitude", "lattitude", "latitud"}
_LON_TOKENS = {"lon", "lng", "long", "longitude", "longitud"}


def _by_token(columns: list[str], tokens: set[str]) -> list[str]:
    return [c for c in columns if tokens & set(normal_name(c).split("_"))]


def parse_numbers(values: pd.Series) -> np.ndarray:
    """Numbers from text cells (decimal commas and spaces accepted); NaN where unreadable."""
    import pandas as pd

    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    text = text.str.replace("\u00a0", "", regex=False).str.replace("\u202f", "", regex=False)
    text = text.where(text.str.contains(".", regex=False),
                      text.str.replace(",", ".", regex=False))
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)


#: Lambert-93 (EPSG:2154) coordinates of metropolitan France, in metres.
_L93 = ((50_000, 1_300_000), (6_000_000, 7_200_000))


def _coordinate_kind(lon: np.ndarray, lat: np.ndarray) -> str | None:
    """``"4326"`` if the filled values look like degrees in France, ``"2154"`` like
    Lambert-93 metres, else ``None``."""
    import numpy as np

    from .territories import territory_of_points

    filled = ~(np.isnan(lon) | np.isnan(lat))
    if not filled.any():
        return None
    x, y = lon[filled], lat[filled]
    if (np.abs(x) <= 180).all() and (np.abs(y) <= 90).all():
        inside = territory_of_points(x, y).notna().mean()
        return "4326" if inside >= 0.5 else None
    (x0, x1), (y0, y1) = _L93
    if ((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).mean() >= 0.9:
        return "2154"
    return None


def detect_columns(table: pd.DataFrame, given: Columns | None = None, *,
                   path: str = "") -> Detection:
    """Decide which column holds what, once for every path of a study.

    Given names are checked (a missing one is an error that lists the columns present).
    Other roles are found by their usual names (:data:`ROLES`, compared after
    :func:`normal_name`), else by their content: postcodes (five digits), INSEE codes and
    commune names (checked against the bundled communes), street lines (a number and a
    street type), a name (text whose values are nearly all different), a theme (a few
    repeated words). The address is the parts found, in the registries' order (number,
    repetition, street type, street, postcode, commune). Coordinates are found by name
    (``lat``/``lng``/``coord.lat``/``GPS latitude``/``x``/``y``…), else by content: the one
    pair of mostly numeric columns whose values are degrees in France or Lambert-93
    metres; several such pairs are an error naming them. Metres read from columns without a
    stated CRS are taken as Lambert-93 (EPSG:2154) when every value fits it.

    ``report`` says, for each role, the column taken and why; ``found`` maps every role
    found (address parts included) to its column.
    """
    given = given or Columns()
    # our own columns of an earlier run (an enriched table read again) hold no role
    columns = [str(c) for c in table.columns if str(c) != "geometry"
               and str(c) not in OUTPUT_COLUMNS]
    report: list[str] = []
    found: dict[str, str] = {}
    why: dict[str, str] = {}

    def named(role: str, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value not in columns:
            raise InputError(
                f"la colonne de {ROLE_FR[role]} « {value} » n'existe pas ; colonnes "
                f"présentes : {', '.join(columns)}.", path=path, parameters=(role,))
        return value

    out = Columns(crs=given.crs, indicators=[named("indicators", c) for c in
                                             given.indicators or []] or None)
    for role in (*NAMED_ROLES, "postcode", "citycode"):
        setattr(out, role, named(role, getattr(given, role)))
        if getattr(out, role):
            found[role], why[role] = getattr(out, role), "indiquée"
    if given.address:
        out.address = [named("address", c) for c in given.address]
    for role in (*NAMED_ROLES, *ADDRESS_PARTS, "citycode", *(r.key for r in INDICATORS)):
        if role not in found and (column := find_column(columns, role)) \
                and column not in found.values() and column not in (out.indicators or ()):
            found[role], why[role] = column, "reconnue à son nom"

    lon, lat = named("lon", given.lon), named("lat", given.lat)
    how = "indiquées"
    if lon is None or lat is None:
        lon = lon or find_column(columns, "lon") or _single(_by_token(columns, _LON_TOKENS))
        lat = lat or find_column(columns, "lat") or _single(_by_token(columns, _LAT_TOKENS))
        how = "reconnues à leur nom"
    from geopandas import GeoDataFrame

    if (lon is None or lat is None) and not isinstance(table, GeoDataFrame):
        taken = {c for r, c in found.items() if r in ("id", "radius", "postcode",
                                                       "citycode", "housenumber")}
        pairs = _pairs_by_content(table, [c for c in columns if c not in taken])
        if len(pairs) == 1:
            lon, lat = pairs[0]
            how = "reconnues à leur contenu"
        elif len(pairs) > 1:
            raise InputError(
                "plusieurs paires de colonnes peuvent être des coordonnées : "
                + " ; ".join(f"« {a} » / « {b} »" for a, b in pairs)
                + ". Indiquez les colonnes de longitude et de latitude.",
                path=path, parameters=("lon", "lat"))
    _by_content(table, columns, found, why, taken={lon, lat} - {None})
    for role in NAMED_ROLES:
        if getattr(out, role) is None and role in found:
            setattr(out, role, found[role])
    site_id = _site_identifier(table, columns, found, why, report, taken={lon, lat},
                               initiative=out.id)
    if out.id is None and site_id is not None:  # one initiative per row, so named
        out.id = site_id
        why["id"] = "identifiant de site, propre à chaque ligne : une initiative par ligne"
    if not out.address:
        parts = [found[p] for p in ADDRESS_PARTS if p in found]
        if "street" not in found and "housenumber" not in found and "citycode" in found:
            parts.append(found["citycode"])  # no street: the commune's code places it
        out.address = list(dict.fromkeys(parts)) or None
    if lon is not None and lat is not None and lon != lat:
        out.lon, out.lat = lon, lat
        kind = _coordinate_kind(parse_numbers(table[lon]), parse_numbers(table[lat]))
        if out.crs is None and kind == "2154":
            out.crs = "EPSG:2154"
            report.append(f"coordonnées « {lon} » / « {lat} » {how}, en mètres : lues en "
                          "Lambert-93 (EPSG:2154)")
        else:
            report.append(f"coordonnées « {lon} » (longitude) / « {lat} » (latitude) {how}"
                          + (f", système {out.crs}" if out.crs else ""))
    for role in NAMED_ROLES:
        if getattr(out, role):
            report.append(f"{ROLE_FR[role]} : « {getattr(out, role)} »"
                          + (f" ({why[role]})" if role in why else ""))
    if out.address:
        if given.address:
            report.append("adresse : " + ", ".join(f"« {c} »" for c in out.address)
                          + " (indiquée)")
        else:
            role_of = {c: r for r, c in found.items() if r in (*ADDRESS_PARTS, "citycode")}
            report.append("adresse : " + ", ".join(
                f"« {c} » ({ROLE_FR[role_of[c]]}, {why[role_of[c]].split(' ', 1)[1]})"
                if c in role_of else f"« {c} »" for c in out.address))
    shown = [f"« {c} » (indiqué)" for c in out.indicators or []] + [
        f"« {found[r.key]} » ({r.label})" for r in INDICATORS if r.key in found]
    if shown:
        report.append("indicateurs : " + ", ".join(shown))
    return Detection(out, report, found)


#: Codes that may identify a site, in the order they are preferred: a site's own
#: identifier (SIRET…), then a « Code … » column, an RNA number, a SIREN (the legal unit's:
#: its establishments share it). Each by its names (normalised) and by its values.
_SITE_CODES: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("site", ALIASES["site_id"], r"\d{14}"),
    ("code", (), None),
    ("rna", ("rna", "id_rna", "numero_rna", "num_rna", "n_rna", "no_rna", "code_rna",
             "numero_waldec", "waldec", "id_association"), r"W\d{9}"),
    ("siren", ("siren", "numero_siren", "num_siren", "n_siren", "no_siren", "code_siren",
               "siren_unite_legale"), r"\d{9}"),
)


#: « Code … » columns that name a place or a category, shared by many rows: no site's own.
_NOT_SITE_CODES = {"postal", "post", "insee", "commune", "com", "departement", "dep", "region",
                   "reg", "epci", "iris", "qp", "qpv", "quartier", "pays", "ape", "naf",
                   "nace", "activite", "juridique", "categorie", "type", "theme", "couleur"}


def _site_identifier(table: pd.DataFrame, columns: list[str], found: dict[str, str],
                     why: dict[str, str], report: list[str], *, taken: set,
                     initiative: str | None) -> str | None:
    """The column that identifies each site: the first of :data:`_SITE_CODES` (by name,
    else by its values) filled and different on every row. A code column that repeats a
    value or leaves a row empty is no site identifier (a SIREN repeats across an
    organisation's sites): said in ``report`` when the table has no initiative identifier
    either (its sites are then named by their row number)."""
    used = {c for r, c in found.items() if r != "id"} | taken
    free = [c for c in columns if c not in used]
    normal = {c: normal_name(c) for c in free}
    candidates: list[tuple[str, str]] = []
    for kind, names, pattern in _SITE_CODES:
        if kind == "code":
            named = [c for c in free if normal[c].split("_")[0] == "code"
                     and not set(normal[c].split("_")[1:2]) & _NOT_SITE_CODES]
        else:
            named = [c for a in names for c in free if normal[c] == a]
        candidates += [(c, "reconnue à son nom") for c in named]
        if pattern:
            for c in free:
                values = _filled(table[c])
                if len(values) and values.str.fullmatch(pattern).mean() >= 0.9:
                    candidates.append((c, "reconnue à son contenu"))
    from .typography import plural

    first_how: dict[str, str] = {}
    for column, how in candidates:
        first_how.setdefault(column, how)
    refused: list[str] = []
    for column, how in first_how.items():
        values = _filled(table[column])
        twice = values[values.duplicated()]
        if len(values) == len(table) and not len(twice):
            found["site_id"], why["site_id"] = column, how
            report.append(f"identifiant de site : « {column} » ({how}, propre à chaque "
                          f"ligne{_rounded_by_spreadsheet(values)})")
            return column
        if how == "reconnue à son nom" and initiative is None:
            refused.append(f"« {column} » ({plural(len(twice), 'valeur répétée')}, dont "
                           f"« {twice.iloc[0]} »{_rounded_by_spreadsheet(values)})"
                           if len(twice) else
                           f"« {column} » ({plural(len(table) - len(values), 'ligne vide')})")
    if refused:
        report.append("pas d'identifiant de site : " + ", ".join(refused) + " ne distingue "
                      "pas chaque ligne ; les sites sont désignés par leur numéro de ligne")
    return None


#: A number as a spreadsheet shows a long one, and saves it so (« 1,23457E+13 »).
_EXPONENT_FORM = r"\d[.,]\d+[eE][+-]?\d+"


def _rounded_by_spreadsheet(values: pd.Series) -> str:
    """What to say of codes a spreadsheet saved in exponent form (their digits lost)."""
    if not values.str.fullmatch(_EXPONENT_FORM).any():
        return ""
    return (" : codes arrondis par un tableur, qui les a enregistrés en notation "
            "scientifique ; reprenez l'export d'origine, ou mettez la colonne au format Texte "
            "avant de l'enregistrer")


def _filled(values: pd.Series) -> pd.Series:
    """The non-empty cells of a column, as stripped text."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return text[text != ""]


#: The first words of a street line (after its number), normalised.
_STREET_WORDS = ("rue", "r", "avenue", "av", "ave", "bd", "boulevard", "bld", "allee",
                 "allees", "all", "place", "pl", "chemin", "che", "ch", "impasse", "imp",
                 "route", "rte", "quai", "cours", "crs", "square", "sq", "passage", "pas",
                 "cite", "residence", "res", "lotissement", "lot", "hameau", "ham", "lieu",
                 "voie", "esplanade", "parvis", "promenade", "prom", "sente", "sentier",
                 "villa", "za", "zi", "zac", "rond", "rpt", "faubourg", "fg", "mail",
                 "montee", "traverse", "tra", "ruelle", "chaussee", "quartier", "domaine")
_STREET = re.compile(r"^(\d+\s*(bis|ter|quater|[a-z])?\s+)?(" + "|".join(_STREET_WORDS)
                     + r")\b")
_POSTCODE = re.compile(r"^(0[1-9]|[1-8]\d|9[0-8])\d{3}$")
_IDENTIFIER = re.compile(r"^[A-Z0-9_.\-/#]+$")


#: The columns of an earlier geocoder's answer (the national address service's CSV:
#: ``result_label``, ``result_type``, ``result_citycode``…): its guesses, never the row's own
#: name, theme or address, so never recognised as one by their content.
_EARLIER_ANSWER = re.compile(r"^result_")


def _by_content(table: pd.DataFrame, columns: list[str], found: dict[str, str],
                why: dict[str, str], taken: set[str]) -> None:
    """Roles still unknown, recognised from the values of the columns left (in ``found``,
    with why in ``why``)."""
    from . import communes

    used = set(found.values()) | taken
    head = table.head(2000)
    cells: dict[str, pd.Series] = {}
    for c in columns:
        if c in used or _EARLIER_ANSWER.match(normal_name(c)):
            continue
        text = head[c].astype(object).where(head[c].notna(), "").astype(str).str.strip()
        cells[c] = text[text != ""]

    def take(role: str, test, reason: str) -> None:
        if role in found:
            return
        fits = [c for c, values in cells.items() if c not in used and len(values)
                and test(values)]
        if fits:
            found[role], why[role] = fits[0], f"reconnue à son contenu : {reason}"
            if len(fits) > 1:  # the first from the left; the others are said
                why[role] += " ; autres possibles : " + ", ".join(f"« {c} »"
                                                                  for c in fits[1:4])
            used.add(fits[0])

    def share(values: pd.Series, mask) -> float:
        return float(mask.mean()) if len(values) else 0.0

    def digits5(values: pd.Series) -> pd.Series:
        return values.where(~values.str.fullmatch(r"\d{4}"), "0" + values)

    def known(values: pd.Series, pool: frozenset[str]) -> pd.Series:
        # by the set itself: ``isin`` would first copy its 35 000 entries
        return values.map(pool.__contains__)

    take("citycode", lambda v: share(v, known(digits5(v).str.upper(), communes.codes()))
         >= 0.8, "des codes INSEE de communes")
    take("postcode", lambda v: share(v, digits5(v).str.fullmatch(_POSTCODE.pattern)) >= 0.8,
         "des codes postaux à cinq chiffres")
    take("city", lambda v: share(v, known(v.map(communes.name_key), communes.name_keys()))
         >= 0.6, "des noms de communes")
    if "street" not in found and "housenumber" not in found:
        take("street", lambda v: share(v, v.map(normal_name).str.replace("_", " ")
                                       .str.match(_STREET.pattern)) >= 0.5,
             "des lignes d'adresse (numéro et voie)")
    take("name", _looks_like_names, "des textes presque tous différents")
    take("theme", _looks_like_themes, "quelques valeurs répétées")


def _wordy(values: pd.Series) -> bool:
    """Text that people write: letters, not numbers, codes, links or e-mail addresses."""
    if not len(values):
        return False
    letters = values.str.contains(r"[^\W\d_]", regex=True)
    digits = values.str.contains(r"\d", regex=True)
    links = values.str.contains(r"^(?:https?:|www\.)|@", regex=True)
    codes = values.str.fullmatch(_IDENTIFIER.pattern)
    return bool(letters.mean() >= 0.9 and digits.mean() < 0.5 and links.mean() < 0.2
                and codes.mean() < 0.5)


def _looks_like_names(values: pd.Series) -> bool:
    length = values.str.len().mean()
    return bool(_wordy(values) and values.nunique() >= 0.8 * len(values) and 3 <= length <= 80
                and not values.str.len().gt(200).any())


def _looks_like_themes(values: pd.Series) -> bool:
    distinct = values.nunique()
    return bool(_wordy(values) and len(values) >= 3 and distinct < len(values)
                and 2 <= distinct <= min(30, max(2, int(0.6 * len(values))))
                and values.str.len().mean() <= 60)


def _single(found: list[str]) -> str | None:
    return found[0] if len(found) == 1 else None


def _pairs_by_content(table: pd.DataFrame, columns: list[str]) -> list[tuple[str, str]]:
    """Pairs (x, y) of mostly numeric columns that read as coordinates in France."""
    import numpy as np

    head = table.head(2000)
    numeric = {}
    for c in columns:
        values = parse_numbers(head[c])
        text = head[c].astype(object).where(head[c].notna(), "").astype(str).str.strip()
        filled = (text != "").to_numpy()
        if filled.sum() and np.isfinite(values[filled]).mean() >= 0.9:
            numeric[c] = values
    pairs = []
    for a in numeric:
        for b in numeric:
            if a != b and _coordinate_kind(numeric[a], numeric[b]) is not None:
                pairs.append((a, b))
    return pairs


# --------------------------------------------------------------------------- outputs


#: Columns this tool adds to a table; dropped from an input that already has them, so running
#: again on an enriched file gives the same file.
OUTPUT_COLUMNS = [
    "code_qp", "nom_qp", "relation", "distance_m", "nearest_code_qp", "qpv_nearby",
    "qpv_served", "boundary_uncertain", "territory_status", "note_localisation",
    "code_qp_compare", "relation_compare", "evolution",
    "latitude_geocode", "longitude_geocode",
]

#: French headers of the per-site table in Excel (the report's first sheet and ``link -o
#: x.xlsx`` alike).
SITE_HEADERS = {
    "code_qp": "QPV d'implantation (code)", "nom_qp": "QPV d'implantation",
    "relation": "Relation aux QPV", "distance_m": "Distance au QPV le plus proche (m)",
    "nearest_code_qp": "QPV le plus proche (code)", "qpv_nearby": "QPV à proximité (codes)",
    "qpv_served": "QPV où elle intervient (codes)",
    "boundary_uncertain": "Limite incertaine (contours arrondis)",
    "territory_status": "Territoire étudié", "note_localisation": "Remarque",
    "code_qp_compare": "QPV d'implantation, génération comparée",
    "relation_compare": "Relation, génération comparée", "evolution": "Évolution",
    "geocode_status": "Géocodage : statut", "geocode_score": "Géocodage : score",
    "geocode_label": "Géocodage : adresse trouvée", "geocode_type": "Géocodage : précision",
    "geocode_citycode": "Géocodage : code commune", "geocode_note": "Géocodage : motif",
}
#: The detail table (one row per site, quartier and relation).
LONG_HEADERS = {
    "ligne": "Ligne", "id_initiative": "Identifiant de l'initiative", "code_qp": "Code QPV",
    "nom_qp": "Quartier", "relation": "Relation", "origine": "Origine de la relation",
    "distance_m": "Distance (m)",
}
#: The per-initiative table.
PER_INITIATIVE_HEADERS = {
    "id_initiative": "Identifiant de l'initiative", "n_sites": "Sites",
    "n_sites_localises": "Sites localisés", "relation": "Relation aux QPV",
    "distance_m": "Distance au QPV le plus proche (m)",
    "qpv_implanted": "QPV d'implantation (codes)", "qpv_nearby": "QPV à proximité (codes)",
    "qpv_served": "QPV où elle intervient (codes)",
}
QPV_HEADERS = {
    "code_qp": "Code QPV", "nom_qp": "Quartier", "communes": "Commune(s)",
    "insee_com": "Code(s) commune", "insee_dep": "Département",
    "n_implanted": "Initiatives implantées", "n_nearby": "Initiatives à proximité",
    "n_served": "Initiatives y intervenant", "n_initiatives": "Initiatives (toutes relations)",
}
#: The values of our status columns, in French, in every table a person opens.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "relation": {r.value: LABELS[r] for r in Relation},
    "relation_compare": {r.value: LABELS[r] for r in Relation},
    "evolution": {e.value: LABELS[e] for e in Evolution},
    "territory_status": {t.value: LABELS[t] for t in TerritoryStatus},
    "geocode_status": {
        GeocodeStatus.OK: "géocodée", GeocodeStatus.REVIEW: "à vérifier",
        GeocodeStatus.NOT_FOUND: "non trouvée", GeocodeStatus.GIVEN: "coordonnées fournies",
        GeocodeStatus.CORRECTED: "corrigée", GeocodeStatus.NO_ADDRESS: "sans adresse",
        GeocodeStatus.OFFLINE: "non géocodée"},
    "statut": {GeocodeStatus.REVIEW: "adresse douteuse",
               GeocodeStatus.NOT_FOUND: "adresse non trouvée",
               GeocodeStatus.OFFLINE: "adresse non géocodée",
               GeocodeStatus.NO_ADDRESS: "ni adresse ni coordonnées",
               "non_localise": "site non localisé",
               "limite_incertaine": "limite de quartier incertaine"},
    "origine": {"distance": "à moins de la distance", "rayon": "dans le rayon d'intervention",
                "declare": "déclarée"},
    "niveau": {"departement": "département"},
}
TERRITORY_HEADERS = {
    "niveau": "Niveau", "code": "Code", "nom": "Nom", "n_qpv": "Quartiers prioritaires",
    "n_qpv_avec_initiative": "Quartiers avec au moins une initiative",
    "n_implanted": "Initiatives implantées", "n_nearby": "Initiatives à proximité",
    "n_served": "Initiatives y intervenant", "n_initiatives": "Initiatives (toutes relations)",
}
