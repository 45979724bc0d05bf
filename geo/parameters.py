"""The study's parameters, each declared once: its study-file section and key, its
command-line option, its web form field, its default, its choices, its type and its French
help.

The study file's schema (:data:`geo.studyfile.SCHEMA`), the options of ``ess-qpv link``,
``map`` and ``geocode`` (:func:`add_options`), the error hints of every door
(:data:`geo.cli.FLAGS`, :data:`geo.cli.study.STUDY_KEYS`), the web page's form
(:mod:`geo.web.studies`) and the :class:`geo.model.Study` defaults derive from
:data:`PARAMETERS`. Column roles (:data:`geo.vocabulary.ROLES`) and outputs
(:data:`geo.vocabulary.OUTPUTS`) have their own declarations.
"""

from __future__ import annotations

from dataclasses import dataclass

from .typography import french_spacing, number
from .vocabulary import (
    DEFAULT_CHUNK,
    DEFAULT_DISTANCE,
    DEFAULT_GEOCODER_URL,
    DEFAULT_MIN_SCORE,
    DEFAULT_SOURCE,
    DEFAULT_TITLE,
    PAPER_FORMATS,
    QPV_SOURCE_KEYS,
)

#: The folder a study writes into, beside its study file.
RESULTS = "resultats"
#: The paper of the print map and of the fiches when none is given.
DEFAULT_PAPER = "A4"
#: The web form's groups: a study-file section's legend (a section without one is not
#: grouped), in the form's order.
LEGENDS = {"quartiers": "Quartiers prioritaires", "geocodage": "Géocodage des adresses",
           "sorties": "Carte à imprimer"}


@dataclass(frozen=True)
class WebField:
    """How a parameter shows on the web page's form (:mod:`geo.web.studies`).

    ``name`` is the field's name and id; ``label`` its French label. ``note`` is a French
    help written under the field (``{default}``: the parameter's default), linked to it by
    ``aria-describedby``; ``note_id`` names a help several fields share (written by the
    last one, which has the ``note``). ``input`` is a text field's HTML type,
    ``max_length`` its longest value; ``empty`` is the menu's choice for no value (a
    parameter whose default is none).
    """

    name: str
    label: str
    note: str | None = None
    note_id: str | None = None
    input: str = "text"
    max_length: int | None = None
    empty: str | None = None

    @property
    def shown_label(self) -> str:
        """The label as the form writes it, with French spacing."""
        return french_spacing(self.label)

    @property
    def described_by(self) -> str | None:
        """The id of the help that describes the field, or ``None``."""
        return self.note_id or (f"{self.name}-aide" if self.note else None)


@dataclass(frozen=True)
class Parameter:
    """One parameter of a study.

    ``name`` is how errors name it (:attr:`geo._errors.EssQpvError.parameters`) and, unless
    ``dest`` says otherwise, the command line's argparse destination. ``section`` and
    ``key`` place it in the study file (none: not in the study file); ``kind`` is its
    study-file type. ``flags`` are its command-line options (the first one is named in
    messages), with ``metavar`` and ``action`` (argparse's), in the option group ``group``
    of ``link`` and ``map`` (:func:`grouped`); ``web`` is how the web form
    shows it (:class:`WebField`; none: not on the form). ``choices``: the only values
    accepted, at every door; ``offered``: what the web form's menu lists (the values a
    person picks from, the study file and the command line take any other valid source).
    ``help`` is the French help, where ``{default}`` stands for the default.
    ``new_study``: the value a new study starts with (``ess-qpv init``, the web page) when
    it is not the default. ``what`` names it in the web page's messages (« la distance de
    proximité »); ``attr``: the :class:`geo.model.Study` attribute it sets (dotted:
    ``geocoding.min_score``), whose default is this one; the doors set it from the value
    given, ``as_is``, or else read it themselves (a path relative to the study file, a
    list of years…).
    """

    name: str
    default: object
    help: str
    kind: type = str
    section: str | None = None
    key: str | None = None
    flags: tuple[str, ...] = ()
    dest: str | None = None
    metavar: str | None = None
    action: str | None = None
    choices: tuple | None = None
    offered: tuple | None = None
    web: WebField | None = None
    group: str | None = None
    new_study: object = None
    what: str | None = None
    attr: str | None = None
    as_is: bool = True

    @property
    def study_key(self) -> str | None:
        """``[section] key`` as messages name it, or ``None``."""
        return f"[{self.section}] {self.key}" if self.section else None

    @property
    def flag(self) -> str | None:
        """The command-line option named in messages, or ``None``."""
        return self.flags[0] if self.flags else None

    @property
    def field(self) -> str | None:
        """The web form's field name, or ``None``."""
        return self.web.name if self.web else None

    @property
    def control(self) -> str | None:
        """How the web form asks for it: ``checkbox`` (a yes or no), ``select`` (a menu of
        its choices), ``number`` (typed as text), ``text``; ``None``: not on the form."""
        if self.web is None:
            return None
        if self.kind is bool:
            return "checkbox"
        if self.choices or self.offered:
            return "select"
        return "number" if self.kind in (int, float) else "text"

    @property
    def argument(self) -> str:
        """The argparse destination."""
        return self.dest or self.name

    def help_text(self) -> str:
        """The French help, its default written in."""
        return self.help.format(default=self.shown_default)

    def note_text(self) -> str | None:
        """The web form's help, its default written in, or ``None``."""
        note = self.web.note if self.web else None
        return french_spacing(note.format(default=self.shown_default)) if note else None

    @property
    def shown_default(self) -> object:
        """The default as a help writes it, the French way (``300`` for 300.0, ``0,6``)."""
        return number(self.default) if isinstance(self.default, float) else self.default


SOURCE_HELP = (f"source des contours : {', '.join(QPV_SOURCE_KEYS)}, un chemin (GeoJSON, "
               "shapefile, zip, GeoPackage) ou une adresse http(s) ; par défaut {default} "
               "(hors ligne)")

#: Every study parameter, in the study file's order.
PARAMETERS: tuple[Parameter, ...] = (
    Parameter("title", DEFAULT_TITLE, "titre de la carte",
              attr="title", section="etude", key="titre",
              flags=("--title", "--titre"), group="carte", metavar="TITRE",
              web=WebField("titre", "Titre de l'étude (cartes et rapport)", max_length=200)),
    Parameter("initiatives", None, "tableau des initiatives, une ligne par site",
              section="entrees", key="initiatives"),
    Parameter("sheet", None, "feuille à lire dans un classeur Excel",
              attr="sheet", section="entrees",
              key="feuille", flags=("--sheet",), group="lecture", metavar="FEUILLE"),
    Parameter("stream", False, "lire, relier et écrire par morceaux, sur tous les cœurs "
              "(mémoire bornée ; automatique pour .parquet et .zip) ; sortie .csv ou .parquet",
              kind=bool, section="entrees", key="par_morceaux", flags=("--flux",), group="flux",
              dest="flux", action="store_true"),
    Parameter("crs_column", None, "colonne du code EPSG de chaque ligne (par exemple « epsg » "
              "des fichiers de l'INSEE)",
              attr="stream.crs_column", as_is=False, section="entrees", key="colonne_epsg",
              flags=("--crs-column",), group="flux", metavar="COLONNE"),
    Parameter("indicators", [], "colonne de nombres à additionner par quartier (emplois, "
              "bénévoles… ; répétable), en plus de celles reconnues à leur nom", kind=list,
              section="indicateurs", key="colonnes", flags=("--indicateur",), group="lecture",
              metavar="COLONNE", action="append"),
    Parameter("size_by", None, "symboles proportionnels : la surface de chaque marqueur suit "
              "cet indicateur (colonne de nombres, par exemple emplois)",
              attr="size_by", section="indicateurs", key="taille_symboles", flags=("--taille",),
              group="carte",
              metavar="INDICATEUR"),
    Parameter("source", DEFAULT_SOURCE, SOURCE_HELP,
              attr="qpv_source", as_is=False, section="quartiers", key="source",
              flags=("--qpv",), group="quartiers", dest="qpv", metavar="SOURCE",
              web=WebField("source", "Génération des QPV"),
              offered=(DEFAULT_SOURCE, "2024"),
              what="la génération des QPV"),
    Parameter("compare", None, "autre génération à comparer, par exemple 2015 (ou "
              "bundled-2015-occitanie, hors ligne)",
              attr="compare", as_is=False, section="quartiers", key="comparer",
              flags=("--compare",), group="quartiers", metavar="SOURCE",
              web=WebField("comparer", "Comparer avec", empty="(pas de comparaison)"),
              offered=("bundled-2015-occitanie", "2015"), what="la comparaison"),
    Parameter("distance", DEFAULT_DISTANCE, "largeur de la bande de proximité en mètres "
              "(défaut : {default} ; 0 la désactive)",
              attr="distance", kind=float, section="quartiers",
              key="distance_m", flags=("--distance",), group="quartiers", metavar="MÈTRES",
              web=WebField("distance", "Distance de proximité (mètres)", note=(
                  "Un site à moins de cette distance d'un quartier, sans y être, est « à "
                  "proximité » ({default} m par défaut ; 0 la désactive).")),
              what="la distance de proximité"),
    Parameter("departement", [], "territoire étudié : codes de département, séparés par des "
              "virgules", kind=list, section="quartiers", key="departements",
              flags=("--departement",), group="quartiers", metavar="CODES",
              web=WebField("departements", "Territoire : départements",
                           note_id="territoire-aide")),
    Parameter("commune", [], "territoire étudié : codes INSEE de commune", kind=list,
              section="quartiers", key="communes", flags=("--commune",),
              group="quartiers", metavar="CODES",
              web=WebField("communes", "Territoire : communes (codes INSEE)", note=(
                  "Codes séparés par des virgules, par exemple « 93, 94 » ou « 69123 ». "
                  "Vide : les tableaux par quartier tiennent les quartiers des départements "
                  "des sites (toute la France pour des sites dans plus de 20 départements)."),
                  note_id="territoire-aide")),
    Parameter("all_quartiers", False, "tableaux par quartier et par territoire de tous les "
              "quartiers de France (sans territoire : ceux des départements des sites)",
              attr="all_quartiers", kind=bool, section="quartiers", key="toute_la_france",
              flags=("--toute-la-france",), group="quartiers", action="store_true",
              web=WebField("toute_la_france", "Tableaux par quartier et par territoire : tous "
                           "les quartiers de France")),
    Parameter("chiffres_cles", None, "chiffres clés INSEE par quartier (.csv, .xlsx : codes "
              "QN…/QP… et population) pour la population et les taux pour 1 000 habitants",
              attr="key_figures", as_is=False, section="quartiers", key="chiffres_cles",
              flags=("--chiffres-cles",), group="quartiers",
              dest="key_figures", metavar="FICHIER"),
    Parameter("key_figures_source", None, "source et date de ces chiffres, par exemple "
              "« INSEE, recensement 2020 »",
              attr="key_figures_source", section="quartiers", key="chiffres_cles_source",
              flags=("--source-chiffres-cles",), group="quartiers", metavar="TEXTE"),
    Parameter("geocode", False, "géocoder en ligne les lignes qui ont une adresse et pas de "
              "coordonnées (sinon : seulement depuis le cache)", attr="geocoding.online", kind=bool,
              section="geocodage", key="en_ligne", flags=("--geocode",), group="lecture",
              action="store_true", new_study=True,
              web=WebField("en_ligne", "Géocoder en ligne les adresses sans coordonnées", note=(
                  "Les adresses des sites sans coordonnées (et seulement elles : ni les noms "
                  "ni les autres colonnes) sont envoyées au géocodeur ci-dessous, par défaut "
                  "le service public de la Base Adresse Nationale. Sans cette case, seules "
                  "les réponses déjà reçues (en cache) sont utilisées ; les sites non "
                  "géocodés se placent à la main à la relecture."))),
    Parameter("geocoder_url", DEFAULT_GEOCODER_URL, "adresse du géocodeur compatible BAN "
              "(défaut : {default})", attr="geocoding.url", section="geocodage", key="url",
              flags=("--geocoder-url",), group="geocodage", metavar="URL",
              web=WebField("url", "Adresse du géocodeur", input="url", note=(
                  "Un autre géocodeur que le service national ne reçoit aucune adresse tant "
                  "que vous ne l'avez pas accepté ici (en tapant son adresse, ou par la case "
                  "ci-dessous)."))),
    Parameter("min_score", DEFAULT_MIN_SCORE, "score minimal d'une réponse sûre (défaut : "
              "{default})",
              attr="geocoding.min_score", kind=float, section="geocodage", key="score_minimal",
              flags=("--min-score",), group="geocodage", metavar="SCORE",
              web=WebField("score", "Score minimal (en dessous : à vérifier)"),
              what="le score minimal"),
    Parameter("corrections", None, "fichier de relecture rempli (corrections à appliquer)",
              attr="geocoding.corrections", as_is=False, section="geocodage", key="corrections",
              flags=("--corrections",), group="geocodage",
              metavar="FICHIER"),
    Parameter("chunk_size", DEFAULT_CHUNK, "adresses par requête groupée (défaut : "
              "{default})",
              attr="geocoding.chunk_size", kind=int, flags=("--chunk-size",),
              group="geocodage", metavar="NOMBRE"),
    Parameter("folder", RESULTS, "dossier des résultats, à côté du fichier d'étude",
              section="sorties", key="dossier"),
    Parameter("paper", DEFAULT_PAPER, "format du papier (défaut : {default})",
              attr="paper", section="sorties", key="format_impression", flags=("--format",),
              group="carte",
              choices=PAPER_FORMATS, web=WebField("format", "Format"),
              what="le format d'impression"),
    Parameter("atlas", False, "carte à imprimer en atlas (.pdf) : une vue d'ensemble puis une "
              "page par département (ou par commune pour une étude dans un seul département)",
              attr="atlas", kind=bool, section="sorties", key="atlas", flags=("--atlas",),
              group="carte",
              action="store_true",
              web=WebField("atlas", "Atlas : une page par département ou commune")),
    Parameter("periods", [], "carte à imprimer en petits multiples : un panneau par année, "
              "même cadre, par exemple 2015,2018,2021 (il faut une colonne d'année)",
              attr="periods", as_is=False, kind=list, section="sorties", key="periodes",
              flags=("--periodes",), group="carte", metavar="ANNEES"),
    Parameter("fiche_paper", DEFAULT_PAPER, "format des fiches, en portrait (défaut : "
              "{default})", attr="fiche_paper", section="sorties", key="format_fiches",
              flags=("--format-fiches",), group="carte", choices=PAPER_FORMATS,
              web=WebField("format_fiches", "Format des fiches par initiative (une page "
                           "chacune, en portrait)"), what="le format des fiches"),
    Parameter("fiche_images", None, "écrire aussi les cartes des fiches en PNG et SVG (par "
              "défaut : pour 40 initiatives au plus)",
              attr="fiche_images", kind=bool, section="sorties",
              key="images_fiches", flags=("--fiches-images",), group="carte", action="store_const"),
    Parameter("embed_url", None, "adresse publique de la carte pour l'extrait (par défaut "
              "son nom de fichier)", attr="embed_url", flags=("--embed-url",),
              group="carte", metavar="URL"),
    Parameter("portrait", False, "page en portrait (défaut : paysage)", kind=bool,
              flags=("--portrait",), group="carte", action="store_true"),
    Parameter("cluster", True, "ne pas regrouper les marqueurs proches", attr="cluster", kind=bool,
              flags=("--no-cluster", "--sans-regroupement"), group="carte", action="store_false"),
    Parameter("workers", None, "processus de calcul (défaut : tous les cœurs)",
              attr="stream.workers", as_is=False, kind=int,
              flags=("--coeurs",), group="flux", metavar="NOMBRE"),
)

#: The parameters by name.
PARAMETER = {p.name: p for p in PARAMETERS}


def default(name: str) -> object:
    """The default of the parameter ``name`` (a new list for a list)."""
    value = PARAMETER[name].default
    return list(value) if isinstance(value, list) else value


def assign(study, p: Parameter, value: object) -> None:
    """Set on ``study`` the attribute of ``p`` (dotted: ``geocoding.min_score``)."""
    *owners, last = p.attr.split(".")
    for owner in owners:
        study = getattr(study, owner)
    setattr(study, last, value)


def section(name: str) -> dict[str, tuple[type, object]]:
    """The study-file keys of section ``name``: key → (type, default)."""
    return {p.key: (p.kind, p.default) for p in PARAMETERS if p.section == name}


def study_keys() -> dict[str, str]:
    """Parameter name → ``[section] key``, for the study file's error hints."""
    return {p.name: p.study_key for p in PARAMETERS if p.section}


def flags() -> dict[str, str]:
    """Parameter name → command-line option, for the command line's error hints."""
    return {p.name: p.flag for p in PARAMETERS if p.flags}


def grouped(group: str) -> tuple[str, ...]:
    """The parameters of the command line's option group ``group`` (``lecture``,
    ``geocodage``, ``quartiers``, ``carte``, ``flux``), in their declaration's order."""
    return tuple(p.name for p in PARAMETERS if p.group == group)


def add_options(group, *names: str) -> None:
    """Add to an argparse ``group`` the options of the parameters ``names``, from their
    declaration: flags, destination, default, choices, type and help."""
    for name in names:
        p = PARAMETER[name]
        options: dict = {"dest": p.argument, "help": p.help_text()}
        if p.action == "store_const":
            options.update(action="store_const", const=True)
        elif p.action:
            options["action"] = p.action
        if p.action is None or p.action == "append":
            options["metavar"] = p.metavar
        if p.action is None:
            # a list is typed as one comma-separated value, read by the door
            options["default"] = None if p.kind is list else p.default
            if p.kind in (int, float):
                options["type"] = p.kind
            if p.choices:
                options["choices"] = p.choices
        group.add_argument(*p.flags, **options)
