"""What a command prints for the user: its summary lines (the bottom of the CLI modules,
so that none imports another one back)."""

from __future__ import annotations

from pathlib import Path


def say(text: str = "") -> None:
    """Print a line of the command's summary."""
    print(text)


def wrote(path: str | Path, what: str) -> None:
    """Name a file the command wrote."""
    say(f"  écrit : {path} ({what})")
