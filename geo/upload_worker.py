"""The process that reads an upload (:func:`geo.uploads.parse_in_worker`): its memory
capped, it checks the file's structure, then reads it as every door reads a table
(:func:`geo.initiatives.read_sites_table`), and prints its answer as one JSON line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ._errors import EssQpvError, InputError
from .initiatives import read_sites_table
from .uploads import WORKER_MEMORY, Limits, check_structure, count


def _bounded() -> None:
    """Cap this process's memory (the worker sets it on itself: a ``preexec_fn`` is not
    safe in the server's threads)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))


def read(path: str, limits: Limits) -> dict:
    """The answer about the table at ``path``: its rows, or the French refusal
    (``nomme``: the message already names the file)."""
    kind = Path(path).suffix.lower()
    try:
        check_structure(Path(path), kind, limits)
    except InputError as exc:
        return {"erreur": str(exc)}
    except (MemoryError, RecursionError):
        return {"erreur": "fichier trop lourd à lire : refusé."}
    try:
        table, _, _ = read_sites_table(path)
    except EssQpvError as exc:
        return {"erreur": str(exc), "nomme": path in str(exc)}
    except (MemoryError, RecursionError):
        return {"erreur": "fichier trop lourd à lire : refusé."}
    if len(table) > limits.max_rows:
        return {"erreur": f"{count(len(table))} lignes : la limite est de "
                          f"{count(limits.max_rows)} (option --lignes-max)."}
    return {"lignes": len(table)}


if __name__ == "__main__":
    import warnings

    _bounded()
    warnings.simplefilter("ignore")
    print(json.dumps(read(sys.argv[1], Limits(**json.loads(sys.argv[2]))),
                     ensure_ascii=False))
