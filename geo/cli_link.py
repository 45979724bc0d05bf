"""``ess-qpv link``: enrich a table of initiative sites with their quartiers."""

from __future__ import annotations

import argparse

import geopandas as gpd
import pandas as pd
from tqdm.auto import tqdm

from . import link as linking
from . import pipeline
from ._errors import InputError
from .cli import say, wrote
from .cli_geocode import add_geocoder_options, address_columns, print_geocode_summary
from .cli_qpv import SOURCE_HELP
from .geocode import STATUS_OFFLINE
from .initiatives import Initiatives
from .io import output_format, write_table
from .qpv import load_qpv
from .sources import DEFAULT_SOURCE

#: How many row problems are printed before the rest are only counted.
SHOWN_ISSUES = 20


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options that say how to read the initiatives table (shared by link, map, run)."""
    group = parser.add_argument_group("lecture des initiatives")
    group.add_argument("--lon-column", help="colonne de longitude (détectée sinon)")
    group.add_argument("--lat-column", help="colonne de latitude (détectée sinon)")
    group.add_argument("--crs", help="système des coordonnées (défaut : 4326, degrés ; "
                                     "2154 pour du Lambert-93)")
    group.add_argument("--id-column", help="colonne d'identifiant d'initiative (plusieurs "
                                           "sites peuvent le partager)")
    group.add_argument("--theme-column", help="colonne de thème")
    group.add_argument("--served-column", help="colonne des quartiers servis déclarés "
                                               "(codes ou noms séparés par ;)")
    group.add_argument("--radius-column", help="colonne du rayon d'intervention en mètres")
    group.add_argument("--sheet", help="feuille à lire dans un classeur Excel")
    group.add_argument("--geocode", action="store_true",
                       help="géocoder en ligne les lignes qui ont une adresse et pas de "
                            "coordonnées (sinon : seulement depuis le cache)")
    add_geocoder_options(parser)


def add_qpv_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("quartiers")
    group.add_argument("--qpv", default=DEFAULT_SOURCE, help=SOURCE_HELP)
    group.add_argument("--departement", help="ne garder que les QPV de ces départements")
    group.add_argument("--commune", help="ne garder que les QPV de ces communes (codes INSEE)")
    group.add_argument("--distance", type=float, default=linking.DEFAULT_DISTANCE,
                       help="largeur de la bande de proximité en mètres (défaut : 300 ; "
                            "0 la désactive)")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "link", help="relier des initiatives aux quartiers (implantées, à proximité, servis)",
        description="Ajoute à chaque site ses quartiers : implanté dans, à proximité de, "
                    "servis ; écrit aussi les tableaux par quartier et par territoire.")
    parser.add_argument("input", metavar="ENTREE",
                        help="tableau des sites : .csv, .xlsx, .geojson ou .gpkg")
    parser.add_argument("-o", "--sortie", dest="output", required=True, metavar="SORTIE",
                        help="tableau enrichi, un site par ligne (.csv, .xlsx, .geojson, .gpkg)")
    add_qpv_options(parser)
    add_input_options(parser)
    out = parser.add_argument_group("tableaux supplémentaires")
    out.add_argument("--long", help="une ligne par (site, quartier, relation)")
    out.add_argument("--per-initiative", help="une ligne par initiative (union de ses sites)")
    out.add_argument("--per-qpv", help="une ligne par quartier, avec les comptes "
                                       "(.gpkg/.geojson : avec les contours)")
    out.add_argument("--per-territory", help="comptes par département et par commune")
    out.add_argument("--compare", metavar="SOURCE",
                     help="autre génération à comparer, par exemple 2015 "
                          "(ou bundled-2015-occitanie, hors ligne)")
    parser.set_defaults(run=run_link)


def columns_of(args: argparse.Namespace) -> pipeline.Columns:
    """The column options of the command line."""
    return pipeline.Columns(
        lon=args.lon_column, lat=args.lat_column, crs=args.crs, id=args.id_column,
        theme=args.theme_column, served=args.served_column, radius=args.radius_column,
        address=address_columns(args), postcode=args.postcode_column, citycode=args.citycode_column)


def geocoding_of(args: argparse.Namespace) -> pipeline.Geocoding:
    """The geocoding options of the command line."""
    return pipeline.Geocoding(online=getattr(args, "geocode", True), url=args.geocoder_url,
                              min_score=args.min_score, chunk_size=args.chunk_size,
                              corrections=args.corrections, force=getattr(args, "force", False))


def read_sites(args: argparse.Namespace) -> Initiatives:
    """Read (and geocode where needed) the sites named on the command line."""
    with tqdm(unit="adresse", desc="Géocodage", leave=False, disable=None) as bar:
        sites = pipeline.read_sites(args.input, columns=columns_of(args),
                                    geocoding=geocoding_of(args), sheet=args.sheet,
                                    progress=bar.update)
    if sites.geocoded is not None:
        print_geocode_summary(sites.geocoded)
        if not args.geocode and sites.geocoded.stats.counts.get(STATUS_OFFLINE):
            say("  (adresses sans réponse en cache : ajoutez --geocode pour interroger la "
                "Base Adresse Nationale)")
    return sites.initiatives


def run_link(args: argparse.Namespace) -> int:
    outputs = {"output": args.output, "long": args.long, "per_initiative": args.per_initiative,
               "per_qpv": args.per_qpv, "per_territory": args.per_territory}
    # Refuse an unknown or impossible format before any work, so nothing is half done.
    for key, path in outputs.items():
        if path and output_format(path) in (".geojson", ".gpkg") and key not in (
                "output", "per_qpv"):
            raise InputError("ce tableau n'a pas de géométrie : choisissez .csv ou .xlsx.",
                             path=path)
    initiatives = read_sites(args)
    qpv = load_qpv(args.qpv, departement=args.departement, commune=args.commune)
    result = linking.link(initiatives, qpv, distance=args.distance)
    if args.compare:
        previous = load_qpv(args.compare, departement=args.departement, commune=args.commune)
        evolution = linking.compare(result.sites, qpv, previous)
        for column in evolution.columns:
            result.sites[column] = evolution[column].to_numpy()
    write_outputs(result, initiatives, qpv, outputs)
    print_summary(result, qpv, args)
    return 0


def write_outputs(result: linking.LinkResult, initiatives: Initiatives,
                  qpv: gpd.GeoDataFrame, outputs: dict[str, str | None]) -> None:
    sep = initiatives.separator
    sites = result.sites
    if output_format(outputs["output"]) in (".csv", ".xlsx"):
        sites = pd.DataFrame(sites.drop(columns=sites.geometry.name))
    write_table(sites, outputs["output"], layer="sites", sep=sep)
    wrote(outputs["output"], "un site par ligne")
    tables = {
        "long": (public(result.long), "une ligne par site, quartier et relation"),
        "per_initiative": (result.initiatives, "une ligne par initiative"),
        "per_qpv": (result.per_qpv, "une ligne par quartier"),
        "per_territory": (result.per_territory, "par département et par commune"),
    }
    for key, (table, what) in tables.items():
        path = outputs[key]
        if not path:
            continue
        if key == "per_qpv" and output_format(path) in (".geojson", ".gpkg"):
            table = gpd.GeoDataFrame(table, geometry=qpv.geometry.to_numpy(), crs=qpv.crs)
        write_table(table, path, layer=key, sep=sep)
        wrote(path, what)


def public(table: pd.DataFrame) -> pd.DataFrame:
    """Drop the internal position columns (``_site``, ``_qpv``) of a long table."""
    return table.drop(columns=[c for c in table.columns if c.startswith("_")])


def print_summary(result: linking.LinkResult, qpv: gpd.GeoDataFrame,
                  args: argparse.Namespace) -> None:
    s = result.summary()
    say(f"{s['sites']} sites lus ({s['initiatives']} initiatives), {s['located']} localisés.")
    say(f"  implantés dans un QPV : {s['implanted']}")
    say(f"  à proximité (moins de {args.distance:g} m) : {s['nearby']}")
    say(f"  ni dans ni près d'un QPV : {s['none']}")
    say(f"  non localisés : {s['not_located']}")
    say(f"  déclarant intervenir dans un QPV : {s['serving']}")
    say(f"Quartiers : {len(qpv)} ({qpv.attrs.get('label', args.qpv)}).")
    if "evolution" in result.sites:
        counts = result.sites["evolution"].value_counts()
        labels = {"entered": "entrés en QPV", "left": "sortis des QPV", "unchanged": "inchangés",
                  "changed_qpv": "changés de quartier", "not_covered": "hors de la couverture "
                  "de la génération comparée", "not_located": "non localisés"}
        say("Comparaison avec " + args.compare + " : " + ", ".join(
            f"{n} {labels.get(k, k)}" for k, n in counts.items()))
    if result.issues:
        say(f"{len(result.issues)} remarque(s) sur le fichier d'entrée :")
        for issue in result.issues[:SHOWN_ISSUES]:
            say(f"  {issue}")
        if len(result.issues) > SHOWN_ISSUES:
            say(f"  … et {len(result.issues) - SHOWN_ISSUES} autres "
                "(colonne note_localisation du tableau enrichi).")
