"""What a command prints for the user: its summary lines (the bottom of the CLI modules,
so that none imports another one back)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: Characters that a terminal obeys instead of showing: C0 controls but the line feed and
#: the tab, DEL, C1 controls (``\x9b`` opens an escape sequence too) and the marks that turn
#: the direction of the text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` safe for a terminal: a control character from the user's cells is shown, not
    obeyed (``\\x1b`` as ``␛``, C1 controls and direction marks as ``\\x9b``, ``\\u202e``).

    >>> visible("a\\x1b[31mb\\r")
    'a␛[31mb␍'
    """
    return _CONTROL.sub(_shown, text)


def _shown(found: re.Match) -> str:
    code = ord(found.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␀ … ␟
    if code == 0x7F:
        return "␡"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def say(text: str = "") -> None:
    """Print a line of the command's summary (control characters made :func:`visible`)."""
    print(visible(text))


def wrote(path: str | Path, what: str) -> None:
    """Name a file the command wrote."""
    say(f"  écrit : {path} ({what})")


@contextmanager
def writing_bar() -> Iterator[Callable[[object], None]]:
    """A progress bar on standard error for the writing step (files and the fiches' pages:
    :class:`geo.progress.Count`), shown when standard error is a terminal; yields the
    function that moves it."""
    from tqdm.auto import tqdm

    bars: list = []

    def move(count) -> None:
        if not bars:
            bars.append(tqdm(total=count.total, desc="Écriture", unit="élément",
                             leave=False, disable=None))
        bar = bars[0]
        bar.total, bar.n = count.total, count.done
        bar.refresh()

    try:
        yield move
    finally:
        for bar in bars:
            bar.close()
