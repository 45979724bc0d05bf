"""``ess-qpv demo``, ``init`` and ``run``: the whole study in one command."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..parameters import study_keys
from ..vocabulary import COLUMN_KEYS, OUTPUTS
from ._console import say, wrote
from .link import print_run, run_with_progress

#: The study-file key that sets each parameter named by an error, from the declarations of
#: the column roles, the parameters and the outputs.
STUDY_KEYS = {
    **{role: f"[colonnes] {key}" for role, key in COLUMN_KEYS.items()},
    **study_keys(),
    **{o.key: f"[sorties] {o.key}" for o in OUTPUTS},
}


#: What only the person running a study may allow, never its study file (a folder received
#: from someone else): option, parameter, help.
RUN_CONSENTS = (
    ("--autoriser-hors-dossier", "allow_outside",
     "permettre à l'étude de lire ou d'écrire hors de son dossier (chemins en « .. », liens "
     "symboliques) : seulement pour un dossier qui vient de vous"),
    ("--geocodeur-du-fichier", "geocoder_file",
     "accepter d'envoyer les adresses au géocodeur que nomme le fichier d'étude ([geocodage] "
     "url), quand ce n'est pas le service national"),
)


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo", help="exemple complet hors ligne sur les données fournies",
        description="Relie les initiatives fictives fournies aux QPV 2024 et écrit la carte, "
                    "sa version autonome, la carte à imprimer et le rapport Excel.")
    demo.add_argument("-o", "--sortie", metavar="DOSSIER", dest="output", default="ess-qpv-demo",
                      help="dossier de sortie (défaut : ./ess-qpv-demo/)")
    demo.add_argument("--fiches", action="store_true",
                      help="écrire aussi les fiches par initiative (fiches.pdf, et leurs "
                           "cartes en PNG et SVG dans fiches/)")
    demo.set_defaults(run=run_demo, parameter_names=("option", {}))

    init = commands.add_parser("init", help="écrire un fichier d'étude et un modèle de tableau")
    init.add_argument("folder", metavar="DOSSIER", nargs="?", default=".",
                      help="dossier où les écrire (défaut : le dossier courant)")
    init.set_defaults(run=run_init)

    run = commands.add_parser("run", help="lancer une étude décrite par un fichier etude.toml")
    run.add_argument("study", metavar="ETUDE", help="fichier d'étude (.toml)")
    for flag, dest, text in RUN_CONSENTS:
        run.add_argument(flag, dest=dest, action="store_true", help=text)
    run.set_defaults(run=run_run, parameter_names=("", {
        **{k: f"clé {v}" for k, v in STUDY_KEYS.items()},
        **{dest: f"option {flag}" for flag, dest, _ in RUN_CONSENTS}}))


def _one_run() -> None:
    """Collect this command's garbage less often: a run allocates millions of objects, few
    of them in cycles, and the process ends with it (the demo's collections: 0.18 s of CPU,
    0.06 s so; the print's process does the same, :mod:`geo.write.alongside`)."""
    import gc

    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(20_000, middle, oldest)


def run_demo(args: argparse.Namespace) -> int:
    from ..studyfile import demo_study

    _one_run()
    say("Démonstration sur des initiatives FICTIVES et les QPV 2024 fournis (hors ligne).")
    print_run(run_with_progress(demo_study(Path(args.output), fiches=args.fiches)))
    return 0


def run_init(args: argparse.Namespace) -> int:
    from ..studyfile import write_template

    written = write_template(args.folder)
    for path, what in written:
        wrote(path, what)
    say("Remplissez le modèle (ou indiquez votre tableau dans etude.toml), puis lancez, "
        "d'ici :")
    say(f"  ess-qpv run {_shell_word(str(written[0][0]))}")
    return 0


def _shell_word(text: str) -> str:
    """``text`` as typed in a terminal (quoted when it holds spaces or quotes)."""
    import shlex

    return text if shlex.quote(text) == text else shlex.quote(text)


def run_run(args: argparse.Namespace) -> int:
    from ..studyfile import load_study

    _one_run()
    study = load_study(args.study)
    study.allow_outside = args.allow_outside
    study.geocoding.confirmed = study.geocoding.confirmed or args.geocoder_file
    print_run(run_with_progress(study), go_online="[geocodage] en_ligne = true dans "
              f"{Path(args.study).name}")
    return 0
