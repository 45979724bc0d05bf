"""``ess-qpv demo``, ``init`` and ``run``: the whole study in one command."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm.auto import tqdm

from .cli import say, wrote
from .study import demo_study, load_study, run_study, write_template


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo", help="exemple complet hors ligne sur les données fournies",
        description="Relie les initiatives fictives fournies aux QPV 2024 et écrit la carte, "
                    "sa version autonome, la carte à imprimer et le rapport Excel.")
    demo.add_argument("-o", "--sortie", dest="output", default="ess-qpv-demo",
                      help="dossier de sortie (défaut : ./ess-qpv-demo/)")
    demo.set_defaults(run=run_demo)

    init = commands.add_parser("init", help="écrire un fichier d'étude et un modèle de tableau")
    init.add_argument("folder", metavar="DOSSIER", nargs="?", default=".",
                      help="dossier où les écrire (défaut : le dossier courant)")
    init.set_defaults(run=run_init)

    run = commands.add_parser("run", help="lancer une étude décrite par un fichier etude.toml")
    run.add_argument("study", metavar="ETUDE", help="fichier d'étude (.toml)")
    run.set_defaults(run=run_run)


def _run(study) -> int:
    with tqdm(unit="adresse", desc="Géocodage", leave=False, disable=None) as bar:
        written, summary = run_study(study, progress=bar.update)
    say(f"{summary['sites']} sites ({summary['initiatives']} initiatives) : "
        f"{summary['implanted']} implantés dans un QPV, {summary['nearby']} à proximité, "
        f"{summary['none']} hors QPV, {summary['not_located']} non localisés"
        + (" (détail dans la feuille « À vérifier » du rapport)." if summary["not_located"]
           else "."))
    for path, what in written:
        wrote(path, what)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    say("Démonstration sur des initiatives FICTIVES et les QPV 2024 fournis (hors ligne).")
    return _run(demo_study(Path(args.output)))


def run_init(args: argparse.Namespace) -> int:
    for path, what in write_template(args.folder):
        wrote(path, what)
    say("Remplissez le modèle (ou indiquez votre tableau dans etude.toml), puis lancez : "
        "ess-qpv run etude.toml")
    return 0


def run_run(args: argparse.Namespace) -> int:
    return _run(load_study(args.study))
