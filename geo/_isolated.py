"""Our own Python processes (study runs, upload readers), started so that nothing in a
user's folder is ever imported: ``-P`` keeps the working directory and the script's folder off
the import path, and they work in a folder of our own."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def command(module: str, *args: str) -> list[str]:
    """``python -P -m module args…`` with this interpreter."""
    return [sys.executable, "-P", "-m", module, *args]


def environment(**extra: str) -> dict[str, str]:
    """This process's environment, where only our own package is added to the import path
    (a checkout that is not installed still runs)."""
    package = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (package, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def workdir() -> Path:
    """A working folder of our own: the cache folder."""
    from .settings import cache_dir

    return cache_dir()
