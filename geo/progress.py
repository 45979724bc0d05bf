"""Progress of the writing step, heard by whoever runs a study (the command line's bar, the
web job's state file): files written, and each page of the fiches.

The runner calls ``progress(step, stats)`` (:data:`geo.study.Progress`); the writers, deep
below it, do not take that callback as an argument: they :func:`tell` a :class:`Count`, and
the caller that wants it wraps the run in :func:`listening`. Nothing is heard otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

#: The step name the counts are reported under (:data:`geo.study.STEPS`).
WRITING = "ecriture"


@dataclass(frozen=True)
class Count:
    """``done`` of ``total`` things written (files, and the fiches' pages)."""

    done: int
    total: int


_LISTENER: ContextVar[Callable[[str, Count], None] | None] = ContextVar(
    "ess_qpv_progress", default=None)


@contextmanager
def listening(progress: Callable[[str, Count], None]) -> Iterator[None]:
    """Within the block, every :func:`tell` calls ``progress("ecriture", Count(…))``."""
    token = _LISTENER.set(progress)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def tell(done: int, total: int) -> None:
    """Report ``done`` of ``total`` written to the listener, if any."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(WRITING, Count(done, total))
