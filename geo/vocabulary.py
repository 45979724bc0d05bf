"""The words of a study, in one place: column roles and their aliases, statuses and
relations with their French labels, the QPV generations, the outputs, the output columns
with their French headers, and the defaults.

Every other module imports these; none keeps its own list. How a table's columns are
recognised (by name, then by content) is :mod:`geo.columns`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, fields, make_dataclass
from enum import StrEnum

from .typography import capitalised

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


# --------------------------------------------------------------------------- QPV generations


@dataclass(frozen=True)
class Generation:
    """A generation of priority neighbourhoods (QPV), declared once: its codes, its label,
    the years it is in force and how its outlines are drawn (Leaflet's names; the print
    translates them). :data:`GENERATIONS` lists them, newest first.

    ``key`` is how sources, commands and styles name it (``"2024"``); ``prefix`` begins
    every code of the generation and ``code`` matches a whole code (after the prefix: six
    digits or capital letters, ``QN00101M`` in 2024, ``QP066007`` in 2015).
    """

    key: str
    prefix: str
    label: str
    since: int
    until: int | None
    style: dict = field(hash=False, compare=False, default_factory=dict)

    @property
    def code(self) -> re.Pattern[str]:
        """A whole QPV code of this generation."""
        return re.compile(self.prefix + r"[0-9A-Z]{6}")


#: The QPV generations, newest first (the first is the default).
GENERATIONS: tuple[Generation, ...] = (
    Generation("2024", "QN", "QPV 2024", 2024, None,
               {"color": "#b03a2e", "weight": 2, "fillColor": "#e74c3c", "fillOpacity": 0.25}),
    Generation("2015", "QP", "QPV 2015", 2015, 2023,
               {"color": "#1f4e9c", "weight": 2, "fillOpacity": 0.0, "dashArray": "6 4"}),
)
#: Each generation by its key.
GENERATION = {g.key: g for g in GENERATIONS}
#: A QPV code of any generation (``QN`` + six, ``QP`` + six), upper case.
QPV_CODE = re.compile("|".join(f"(?:{g.code.pattern})" for g in GENERATIONS))


def generation_of_code(code: str) -> Generation | None:
    """The generation a QPV code belongs to, by its prefix.

    >>> generation_of_code("QN07501M").key, generation_of_code("QP066007").key
    ('2024', '2015')
    """
    return next((g for g in GENERATIONS if str(code).upper().startswith(g.prefix)), None)


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class Output:
    """A file a study can write, declared once: the study file's ``[sorties]``, its
    template, the CLI options of ``link`` and ``map``, the web page's files and downloads
    and the error hints derive from :data:`OUTPUTS`; :mod:`geo.write.outputs` writes it.

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
    """What geocoding did to a row: :attr:`label` as a cell shows it, :meth:`counted_for`
    as a summary counts it (« 3 géocodées (ok) »)."""

    OK = "ok"
    REVIEW = "a_verifier"
    NOT_FOUND = "non_trouve"
    GIVEN = "fourni"
    CORRECTED = "corrige"
    NO_ADDRESS = "sans_adresse"
    OFFLINE = "non_geocode"

    def counted_for(self, n: float) -> str:
        """As a summary counts ``n`` rows (French rule: 0 and 1 take the singular)."""
        return GEOCODE_LABELS[self][1 if n < 2 else 2]


#: Each geocoding status in French: as a cell shows it, and as a summary counts one row
#: and several.
GEOCODE_LABELS: dict[GeocodeStatus, tuple[str, str, str]] = {
    GeocodeStatus.OK: ("géocodée", "géocodée (ok)", "géocodées (ok)"),
    GeocodeStatus.REVIEW: ("à vérifier", "à vérifier", "à vérifier"),
    GeocodeStatus.NOT_FOUND: ("non trouvée", "non trouvée", "non trouvées"),
    GeocodeStatus.GIVEN: ("coordonnées fournies", "coordonnées déjà fournies",
                          "coordonnées déjà fournies"),
    GeocodeStatus.CORRECTED: ("corrigée", "corrigée", "corrigées"),
    GeocodeStatus.NO_ADDRESS: ("sans adresse", "sans adresse", "sans adresse"),
    GeocodeStatus.OFFLINE: ("non géocodée", "non géocodée (hors ligne)",
                            "non géocodées (hors ligne)"),
}

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
    **{status: cell for status, (cell, _, _) in GEOCODE_LABELS.items()},
}


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class TemplateColumn:
    """How a role shows in the workbook template that ``ess-qpv init`` writes: a column
    named by the role's first alias, at ``position`` (from 1, left to right); ``content``
    says in French what it holds (the template's « Colonnes » sheet); ``width`` in
    characters; ``text``: typed as text (codes keep their leading zeros, nothing becomes a
    date), else a number."""

    position: int
    content: str
    width: int
    text: bool = True


@dataclass(frozen=True)
class Role:
    """What a column of the user's table may hold, declared once: every table below, the
    study file's ``[colonnes]``, the CLI options and the web page's columns step derive
    from :data:`ROLES`.

    ``aliases`` are compared after :func:`normal_name` (accents, case and punctuation
    ignored), in order: the first found wins. ``study_key`` is the key of ``[colonnes]``,
    ``flag`` the CLI option, ``web`` whether the columns page offers it as a choice.
    A role with a ``study_key`` is a field of :class:`Columns`. ``kind`` says how a
    column the user names is used: ``named`` (read as it is), ``coordinate``, ``crs``,
    ``address`` (several columns joined), ``filter`` (sent to the geocoder), or ``""``
    (found, never named); ``part``: a part of the address, in the registries' order.
    ``template``: its column in the workbook template (:class:`TemplateColumn`; none: not
    in the template).
    """

    key: str
    label: str
    help: str
    aliases: tuple[str, ...] = ()
    study_key: str | None = None
    flag: str | None = None
    web: bool = False
    kind: str = ""
    part: bool = False
    template: TemplateColumn | None = None


#: Every column role, with the names that the ecosystem's exports give it (GoGoCarto and
#: Transiscope, schema.org, INSEE's SIRENE, the RNA of associations, the inclusion
#: platforms, the BAN geocoder's ``result_*``) and everyday French headers.
ROLES: tuple[Role, ...] = (
    Role("id", "identifiant de l'initiative", "identifiant de l'initiative (plusieurs sites "
         "peuvent le partager)",
         ("id_initiative", "identifiant", "initiative_id", "id", "identifiant_initiative",
          "id_structure", "identifiant_structure", "siren", "id_rna", "numero_rna"),
         "identifiant", "--id-column", True, "named",
         template=TemplateColumn(1, "Identifiant de l'initiative ; plusieurs sites d'une "
                                 "même initiative partagent le même", 16)),
    Role("name", "nom", "nom de l'initiative ou du site",
         ("nom", "nom_initiative", "nom_de_l_initiative", "name", "title", "titre",
          "nom_de_la_structure", "nom_structure", "raison_sociale", "denomination",
          "denominationunitelegale", "denomination_unite_legale", "designation",
          "libelle_u2a", "libelle", "nom_site", "nom_du_site", "structure", "intitule",
          "denominationusuelleetablissement", "enseigne1etablissement", "enseigne",
          "titre_court", "brand"),
         "nom", "--name-column", True, "named",
         template=TemplateColumn(2, "Nom de l'initiative ou du site", 40)),
    Role("theme", "thème", "thème ou type d'activité (une couleur et une forme sur la carte)",
         ("theme", "thematique", "thematiques", "categorie", "categories", "category",
          "secteur", "secteur_d_activite", "domaine", "domaine_d_activite", "activite",
          "type", "kind", "typologie", "type_de_structure", "type_structure",
          "action_menee", "actions_menees", "taxonomy", "famille"),
         "theme", "--theme-column", True, "named",
         template=TemplateColumn(3, "Thème (conciergerie solidaire, recyclerie, épicerie "
                                 "solidaire…)", 28)),
    Role("lon", "longitude (ou X)", "longitude en degrés, ou X en mètres Lambert-93",
         ("longitude", "lon", "lng", "long", "x", "longitude_wgs84", "lon_wgs84",
          "coord_lon", "coord_lng", "coord_long", "coord_longitude", "coord_x", "gps_lon",
          "gps_lng", "gps_longitude", "longitude_gps", "geo_lon", "geo_lng",
          "geo_longitude", "x_longitude", "longitud", "xlong", "x_l93", "x_lambert93",
          "coordonnee_x", "coordonnees_x", "result_longitude"),
         "longitude", "--lon-column", True, "coordinate",
         template=TemplateColumn(8, "Longitude en degrés décimaux", 12, text=False)),
    Role("lat", "latitude (ou Y)", "latitude en degrés, ou Y en mètres Lambert-93",
         ("latitude", "lat", "lattitude", "latitud", "y", "latitude_wgs84", "lat_wgs84",
          "coord_lat", "coord_latitude", "coord_y", "gps_lat", "gps_latitude",
          "latitude_gps", "geo_lat", "geo_latitude", "y_latitude", "ylat", "y_l93",
          "y_lambert93", "coordonnee_y", "coordonnees_y", "result_latitude"),
         "latitude", "--lat-column", True, "coordinate",
         template=TemplateColumn(7, "Latitude en degrés décimaux (vide : l'adresse sera "
                                 "géocodée)", 12, text=False)),
    Role("crs", "système de coordonnées", "système des coordonnées (défaut : 4326, degrés ; "
         "2154 pour du Lambert-93)", (), "crs", "--crs", kind="crs"),
    Role("address", "adresse", "colonnes qui forment l'adresse, dans l'ordre (sinon : numéro, "
         "type de voie, voie, code postal, commune trouvés à leur nom ou à leur contenu)",
         (), "adresse", "--address-columns", kind="address"),
    Role("housenumber", "numéro", "numéro dans la voie",
         ("numero", "numero_voie", "num_voie", "no_voie", "n_voie", "numero_de_voie",
          "numerovoieetablissement", "adrs_numvoie", "housenumber", "numero_rue"), part=True),
    Role("repetition", "indice de répétition", "bis, ter…",
         ("indice_repetition", "indicerepetitionetablissement", "adrs_repetition",
          "repetition", "bis_ter"), part=True),
    Role("streettype", "type de voie", "rue, avenue, boulevard…",
         ("type_voie", "type_de_voie", "typevoieetablissement", "adrs_typevoie"), part=True),
    Role("street", "voie", "la ligne d'adresse : numéro et voie, ou la voie seule",
         ("adresse", "address", "adresse_postale", "adresse_ligne_1", "adresse_ligne1",
          "adresse_1", "adresse1", "ligne_adresse", "ligne_1", "adresse_de_la_structure",
          "street", "streetaddress", "street_address", "address_streetaddress",
          "adresse_rue", "voie", "rue", "libelle_voie", "libellevoieetablissement",
          "adrs_libvoie", "nom_voie", "nom_de_la_voie", "result_name"), part=True,
          template=TemplateColumn(4, "Numéro et voie, par exemple « 12 rue de la "
                                  "République »", 40)),
    Role("postcode", "code postal", "code postal ; nommée ici, envoyée au géocodeur comme "
         "filtre (reconnue seule, elle n'est que vérifiée contre sa réponse)",
         ("code_postal", "cp", "postcode", "codepostal", "codpost", "code_post",
          "post_code", "postalcode", "postal_code", "address_postalcode",
          "codepostaletablissement", "adrs_codepostal", "code_postal_etablissement",
          "result_postcode"),
         "code_postal", "--postcode-column", True, "filter", True,
         template=TemplateColumn(5, "Code postal (texte : gardez le zéro initial)", 13)),
    Role("city", "commune", "nom de la commune",
         ("commune", "ville", "city", "nom_commune", "nom_de_la_commune", "localite",
          "addresslocality", "address_addresslocality", "libellecommuneetablissement",
          "adrs_libcommune", "libelle_commune", "commune_nom", "result_city"), part=True,
          template=TemplateColumn(6, "Commune", 24)),
    Role("citycode", "code commune (INSEE)", "code INSEE de la commune ; nommée ici, envoyée "
         "au géocodeur comme filtre (reconnue seule, elle n'est que vérifiée)",
         ("code_insee", "citycode", "insee", "code_commune", "code_commune_insee",
          "insee_com", "codecommuneetablissement", "adrs_codeinsee", "com_insee",
          "depcom", "result_citycode"),
         "code_insee", "--citycode-column", True, "filter"),
    Role("served", "quartiers servis", "quartiers où l'initiative intervient (codes QN… ou "
         "noms, séparés par ;)",
         ("qpv_servis", "quartiers_servis", "qpv_desservis", "quartiers_desservis",
          "qpv_declares", "served_qpv", "quartiers_d_intervention",
          "quartier_d_intervention", "qpv_d_intervention", "quartiers_prioritaires_servis",
          "qpv_concernes", "quartiers_concernes"),
         "quartiers_servis", "--served-column", True, "named",
         template=TemplateColumn(9, "Quartiers où l'initiative intervient : codes (QN…) ou "
                                 "noms, séparés par ;", 36)),
    Role("radius", "rayon (m)", "rayon d'intervention en mètres",
         ("rayon_m", "rayon", "rayon_intervention_m", "rayon_intervention",
          "rayon_d_intervention", "rayon_d_intervention_m", "rayon_d_action"),
         "rayon", "--radius-column", True, "named",
         template=TemplateColumn(10, "Rayon d'intervention en mètres (facultatif)", 10,
                                 text=False)),
    Role("website", "site web", "adresse du site web (https://…)",
         ("site_web", "site", "url", "web", "site_internet", "siteweb", "website",
          "site_internet_url", "lien", "page_web"),
         "site_web", "--website-column", True, "named",
         template=TemplateColumn(11, "Adresse du site web (https://…)", 32)),
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
         "annee", "--year-column", True, "named"),
    Role("end_year", "année de fin", "année où le site a fermé (vide : toujours ouvert)",
         ("annee_fin", "annee_de_fin", "annee_fermeture", "annee_de_fermeture", "date_fin",
          "date_de_fin", "date_fermeture", "date_de_fermeture", "fin", "end_year"),
         "annee_fin", "--end-year-column", True, "named"),
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
NAMED_ROLES = tuple(r.key for r in ROLES if r.kind == "named")
#: The roles a user names to say how to read the table (the CLI's input options): the
#: coordinates and their system, then the named roles.
INPUT_ROLES = tuple(r.key for kind in ("coordinate", "crs", "named") for r in ROLES
                    if r.kind == kind)
#: The parts of an address, in the order the registries write them (and the geocoder
#: reads them): number, repetition, street type, street, postcode, commune.
ADDRESS_PARTS = tuple(r.key for r in ROLES if r.part)


def normal_name(name: object) -> str:
    """A column name as compared with the aliases: accents and case folded, every run of
    other characters turned into ``_``.

    >>> normal_name(" Coord.Lat "), normal_name("Thème"), normal_name("Code postal")
    ('coord_lat', 'theme', 'code_postal')
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def columns_type(roles: tuple[Role, ...]) -> type:
    """The dataclass of the columns a user can name: one field per role with a
    ``[colonnes]`` key, in the order of ``roles``, then the indicators (the address and the
    indicators are lists of columns; every field defaults to ``None``)."""
    keys = (*(r.key for r in roles if r.study_key), "indicators")
    made = make_dataclass("Columns", [
        (key, list[str] | None if key in ("address", "indicators") else str | None,
         field(default=None)) for key in keys])
    made.__module__ = __name__  # pickled by name, as a class written out would be
    return made


Columns = columns_type(ROLES)
Columns.__doc__ = """Which columns of the user's table hold what (``None``: found by name or
content), one field per role of :data:`ROLES` that a user can name (generated from them).

``crs`` is the CRS of the coordinate columns (default EPSG:4326, degrees); ``address`` the
columns joined into the address (default: the parts found, in order); ``postcode`` and
``citycode`` are sent to the geocoder as filters (only when given: a wrong one hides the
answer); ``indicators`` the columns declared as indicators, besides those recognised by
name."""


@dataclass
class Detection:
    """The columns found in a table, and how: ``report`` is one French line per decision;
    ``found`` maps every role found (the address parts and the indicators too) to its
    column; ``site_column`` is the column named like a site identifier, whatever its values
    (``found["site_id"]`` only when they tell every row apart)."""

    columns: Columns
    report: list[str] = field(default_factory=list)
    found: dict[str, str] = field(default_factory=dict)
    site_column: str | None = None

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


# --------------------------------------------------------------------------- themes


#: Separators of a multi-valued category (GoGoCarto, Transiscope: « A|B »; ours: « ; »).
THEME_SEPARATORS = re.compile(r"\s*[|;]\s*")


def theme_values(text: object) -> list[str]:
    """The categories of one cell, split on its separators and capitalised, each once: the
    one split of every output (maps, print, fiches, the tables by quartier).

    >>> theme_values("lien social|Fabriquer, réparer ; lien social")
    ['Lien social', 'Fabriquer, réparer']
    """
    values = (capitalised(v) for v in THEME_SEPARATORS.split(str(text).strip()) if v)
    return list(dict.fromkeys(values))


# --------------------------------------------------------------------------- outputs


#: The columns every enriched table of ours holds: a table holding all of them (by name or
#: French header) is one of ours read again.
CORE_OUTPUT_COLUMNS = [
    "code_qp", "nom_qp", "relation", "distance_m", "nearest_code_qp", "qpv_nearby",
    "qpv_served",
]
#: Columns this tool adds to a table. An enriched table of ours read again loses them (so
#: running again on it gives the same file); another table's columns of the same name (or
#: French header) are kept under another name (:data:`ORIGINAL_SUFFIX`), never mistaken
#: for ours.
OUTPUT_COLUMNS = [
    *CORE_OUTPUT_COLUMNS, "boundary_uncertain", "territory_status", "note_localisation",
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
#: A site at an uncertain boundary (``boundary_uncertain``), said beside its relation by
#: the maps' tables and the print's counts, and in full in a site's popup.
UNCERTAIN_SHORT = "limite incertaine"
UNCERTAIN_SENTENCE = ("Limite de quartier incertaine (contours arrondis)\u00a0: le site peut "
                      "être de l’autre côté.")
#: Added to the name of an input column that bears the name of one of ours.
ORIGINAL_SUFFIX = " (fichier d'origine)"
#: Key of a table's ``attrs`` holding what reading did to its headers (French lines, shown
#: with the detected columns).
HEADER_NOTES = "header_notes"
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
    "geocode_status": {g.value: LABELS[g] for g in GeocodeStatus},
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
