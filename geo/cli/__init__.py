"""The ``ess-qpv`` command line: a thin French shell over the library.

Each sub-command parses its options, calls the library and prints a short French summary.
A user's mistake ends with a one-line ``Erreur : …`` message and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from .._errors import EssQpvError
from ..parameters import flags
from ..vocabulary import OUTPUTS, ROLE_FLAGS
from ._console import visible

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 2, 130
#: ``geocode``: the geocoder answered none of the requests (its tables are written).
EXIT_NO_ANSWER = 3


#: The option that sets each parameter named by an error (``EssQpvError.parameters``): the
#: column roles', the outputs' and the parameters' options come from their one declaration
#: (:data:`geo.vocabulary.ROLES`, :data:`geo.vocabulary.OUTPUTS`,
#: :data:`geo.parameters.PARAMETERS`).
FLAGS = {**ROLE_FLAGS, **flags(), "chunk_rows": "--morceaux",
         **{o.key: o.flag for o in OUTPUTS}}

#: argparse's English messages, in French.
_MESSAGES = [
    (r"the following arguments are required: (.*)", "arguments obligatoires manquants : {0}"),
    (r"unrecognized arguments: (.*)", "arguments inconnus : {0}"),
    (r"argument (\S+): invalid choice: (.*?) \(choose from (.*)\)",
     "argument {0} : choix invalide {1} (possibles : {2})"),
    (r"argument (\S+): invalid (\w+) value: (.*)", "argument {0} : valeur invalide {2}"),
    (r"argument (\S+): expected one argument", "argument {0} : une valeur est attendue"),
    (r"argument (\S+): ignored explicit argument (.*)", "argument {0} : valeur en trop {1}"),
    (r"ambiguous option: (\S+) could match (.*)", "option ambiguë : {0} (possibles : {1})"),
    (r"argument (\S+): (.*)", "argument {0} : {1}"),
]


def french(message: str) -> str:
    """argparse's error ``message`` in French (unchanged when unknown).

    >>> french("the following arguments are required: ENTREE, -o/--sortie")
    'arguments obligatoires manquants : ENTREE, -o/--sortie'
    """
    import re

    for pattern, text in _MESSAGES:
        match = re.fullmatch(pattern, message)
        if match:
            return text.format(*match.groups())
    return message


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None) -> None:
        # argparse passes prefix="" to compute a sub-command's name: keep it empty there.
        super().add_usage(usage, actions, groups,
                          "utilisation : " if prefix is None else prefix)


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
        self.exit(EXIT_ERROR, f"Erreur : {french(message)}\n")


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
    from . import geocode, link, qpv, serve, sirene, study

    for command in (study, qpv, geocode, link, serve, sirene):
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:  # the first thing a new user types: what the tool does and how
        parser.print_help()
        return EXIT_OK
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # other libraries' notices (retries, GDAL, fonts) only with -v
        for name in ("urllib3", "pyogrio", "fiona", "matplotlib", "PIL", "fontTools",
                     "distributed", "tornado"):
            logging.getLogger(name).setLevel(logging.ERROR)
    warnings.showwarning = _show_warning if args.verbose else _show_own_warning
    try:
        return args.run(args) or EXIT_OK
    except EssQpvError as exc:
        # Each door names its own way to change a parameter: an option, a study-file key.
        word, names = getattr(args, "parameter_names",
                              ("option", {**FLAGS, **getattr(args, "flags", {})}))
        found = [names[p] for p in getattr(exc, "parameters", ()) if p in names]
        hint = f" ({' '.join(filter(None, (word, ', '.join(dict.fromkeys(found)))))})" \
            if found else ""
        print(f"Erreur : {visible(str(exc))}{hint}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # ``ess-qpv … | head``: the reader left, nothing to say
        _silence_stdout()
        return EXIT_OK
    except OSError as exc:  # the terminal or the disk the output goes to (full, gone)
        _silence_stdout()
        _quiet_leftovers()
        import errno

        where = f" ({exc.filename})" if exc.filename else " (sortie de la commande)"
        reason = {errno.ENOSPC: "plus de place sur le disque", errno.EACCES: "accès refusé",
                  errno.EROFS: "disque en lecture seule"}.get(exc.errno,
                                                              exc.strerror or str(exc))
        print(f"Erreur : écriture impossible{where} : {reason} ; disque plein "
              "ou retiré ? Les fichiers de résultats sont complets ou absents, jamais à "
              "moitié écrits.", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("Interrompu : les fichiers de sortie déjà écrits sont complets, les autres "
              "n'ont pas été créés ; les réponses déjà reçues du géocodeur sont gardées en "
              "cache (relancer reprend là où la commande s'est arrêtée).", file=sys.stderr)
        return EXIT_INTERRUPTED


def _quiet_leftovers() -> None:
    """After a failed write, the writers' half-closed files fail again when the garbage
    collector closes them (« Exception ignored in: … Traceback »): said only with ``-v``."""
    log = logging.getLogger("geo.cli")
    sys.unraisablehook = lambda u: log.info("ignored after a failed write: %r",
                                            u.exc_value)


def _silence_stdout() -> None:
    """Send what is left of the output nowhere (its reader or its disk is gone)."""
    import os

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"Attention : {visible(str(message))}", file=sys.stderr)


def _show_own_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Our warnings (French, for the user); other libraries' only with ``-v``."""
    if Path(filename).resolve().is_relative_to(Path(__file__).resolve().parents[1]):
        _show_warning(message, category, filename, lineno, file, line)
