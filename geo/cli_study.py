"""``ess-qpv demo``, ``init`` and ``run``: the whole study in one command."""

from __future__ import annotations

import argparse
from pathlib import Path

from .cli import say, wrote
from .cli_link import print_run, run_with_progress


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


def run_demo(args: argparse.Namespace) -> int:
    from .studyfile import demo_study

    say("Démonstration sur des initiatives FICTIVES et les QPV 2024 fournis (hors ligne).")
    print_run(run_with_progress(demo_study(Path(args.output))))
    return 0


def run_init(args: argparse.Namespace) -> int:
    from .studyfile import write_template

    for path, what in write_template(args.folder):
        wrote(path, what)
    say("Remplissez le modèle (ou indiquez votre tableau dans etude.toml), puis lancez : "
        "ess-qpv run etude.toml")
    return 0


def run_run(args: argparse.Namespace) -> int:
    from .studyfile import load_study

    print_run(run_with_progress(load_study(args.study)))
    return 0
