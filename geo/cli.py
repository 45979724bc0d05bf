"""The ``ess-qpv`` command line: a thin French shell over the library.

Each sub-command parses its options, calls the library and prints a short French summary.
A user's mistake ends with a one-line ``Erreur : …`` message and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from ._errors import EssQpvError

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 2, 130


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None) -> None:
        super().add_usage(usage, actions, groups, prefix or "utilisation : ")


class _Parser(argparse.ArgumentParser):
    """argparse with French section titles and error lines."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("add_help", False)
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self._positionals.title = "arguments"
        self._optionals.title = "options"
        self.add_argument("-h", "--help", action="help", help="afficher cette aide et quitter")

    def error(self, message: str) -> None:  # noqa: D102 - argparse hook
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"Erreur : {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ess-qpv",
        description="Relier les initiatives de l'ESS aux quartiers prioritaires (QPV) "
                    "et les cartographier.",
    )
    parser.add_argument("--version", action="version", version=f"ess-qpv {__version__}",
                        help="afficher la version")
    parser.add_argument("-v", "--verbeux", action="store_true", dest="verbose",
                        help="afficher le détail des opérations")
    commands = parser.add_subparsers(dest="command", metavar="COMMANDE", parser_class=_Parser)
    commands.required = True
    from . import cli_geocode, cli_link, cli_map, cli_qpv, cli_study

    cli_study.register(commands)
    cli_qpv.register(commands)
    cli_geocode.register(commands)
    cli_link.register(commands)
    cli_map.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("matplotlib").setLevel(logging.ERROR)  # font metric notices
    warnings.showwarning = _show_warning
    try:
        return args.run(args) or EXIT_OK
    except EssQpvError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("Interrompu : les fichiers de sortie déjà écrits sont complets, les autres "
              "n'ont pas été créés ; les réponses déjà reçues du géocodeur sont gardées en "
              "cache (relancer reprend là où la commande s'est arrêtée).", file=sys.stderr)
        return EXIT_INTERRUPTED


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"Attention : {message}", file=sys.stderr)


def say(text: str = "") -> None:
    """Print a line of the command's summary."""
    print(text)


def wrote(path: str | Path, what: str) -> None:
    """Name a file the command wrote."""
    say(f"  écrit : {path} ({what})")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
