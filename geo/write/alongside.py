"""One writer run in a forked process while this one writes the other outputs.

A study's print (matplotlib, font subsetting) costs as much as all its other outputs
together: on two cores, it is drawn in a forked child while the tables, the report and the
web maps are written here. The child may be forked before the run has anything to draw
(``prepare``: it imports its modules and reads its caches while this process reads and
links), then draws once it is given the run (:meth:`Alongside.give`, pickled through a
pipe). The files it writes join this run's stage (:func:`geo.io.collected`,
:func:`geo.io.adopt`), so they appear with the others or not at all. Its warnings are
repeated here and its error raised here, in the place where the call would have run in
this process (:meth:`Alongside.wait`). The objects the child inherits, and those its
warm-up makes, are left out of its garbage collections (:func:`_spared`): walking them cost
a tenth of its drawing, for nothing (they live as long as it does).

Without ``fork`` (Windows, macOS' default), from a thread other than the main one (a web
server's) or while other Python threads run (their locks would stay held in the child),
in a daemon process (which has no children), or when what is given cannot be pickled,
the call is simply made by :meth:`Alongside.wait`, in this process: the same files, in
the same order.
"""

from __future__ import annotations

import contextlib
import gc
import signal
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from .._errors import EssQpvError


def may_fork() -> bool:
    """Whether a child may be forked here: the platform forks, this process is not a daemon
    and no other Python thread runs (the native pools of BLAS and of the allocator that
    numpy and Arrow start are made safe for ``fork`` by their own handlers)."""
    import multiprocessing
    import threading

    return ("fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon
            and threading.current_thread() is threading.main_thread()
            and threading.active_count() == 1)


class Alongside:
    """``call(*args)`` made in a child forked now when :func:`may_fork`, else at
    :meth:`wait`; as a context manager, a child not waited for is stopped on leaving (its
    temporaries removed).

    Without ``prepare``, the call starts at once, without arguments. With it, the child
    runs ``prepare()`` (a warm-up: imports, caches; its errors are left to the call, which
    meets them again) and then waits for :meth:`give`."""

    def __init__(self, call: Callable[..., Any], *, what: str,
                 prepare: Callable[[], Any] | None = None) -> None:
        self._call, self._what = call, what
        self._process = self._conn = self._inbox = None
        self._args: tuple | None = None
        if may_fork():
            self._start(prepare)
        if prepare is None:
            self.give()

    def _start(self, prepare: Callable[[], Any] | None) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._conn, child_end = context.Pipe(duplex=False)
        inbox, self._inbox = context.Pipe(duplex=False)
        process = context.Process(target=_child, daemon=False,
                                  args=(child_end, inbox, self._call, prepare))
        for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
            if stream is not None:
                stream.flush()
        with warnings.catch_warnings():
            # Python ≥ 3.12 warns of any native thread; only Python's own are checked above
            warnings.filterwarnings("ignore", r".*use of fork\(\) may lead to deadlocks",
                                    DeprecationWarning)
            gc.freeze()  # what the child inherits: out of its collections (and unshared)
            try:
                process.start()
            finally:
                gc.unfreeze()
        child_end.close()
        inbox.close()
        self._process = process

    @property
    def given(self) -> bool:
        """Whether :meth:`give` was called."""
        return self._args is not None

    def give(self, *args: Any) -> None:
        """Start the call with ``args`` (pickled to the child; what cannot be pickled is
        called here at :meth:`wait` instead)."""
        if self._args is not None:
            raise RuntimeError(f"{self._what}: already given")
        self._args = args
        if self._process is None:
            return
        import pickle

        try:
            data = pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - not picklable: the call is made here
            self.stop()
            return
        try:
            self._inbox.send_bytes(data)  # the child reads it while it prepares
        except OSError:  # the child is gone (killed): the call is made here
            self.stop()
            return
        self._inbox.close()

    def wait(self) -> None:
        """Wait for the call (or make it here): its files join this run's stage, its
        warnings are repeated, its error raised."""
        if self._args is None:
            raise RuntimeError(f"{self._what}: nothing given to wait for")
        if self._process is None:
            self._call(*self._args)
            return
        process, conn = self._process, self._conn
        self._process = None
        try:
            said = conn.recv()
        except EOFError:
            said = None
        finally:
            conn.close()
            process.join()
        if said is None:
            raise EssQpvError(f"{self._what} : le processus qui l'écrivait s'est arrêté "
                              f"(code {process.exitcode}) ; rien n'a été écrit.")
        files, heard, error, told = said
        from ..io import adopt

        adopt(files)  # first: on any error below, the run's stage removes them
        for message, category, filename, lineno in heard:
            warnings.warn_explicit(message, category, filename, lineno)
        if error is not None or told:
            if error is None:  # an error that could not cross: its text
                raise RuntimeError(f"{self._what} : {told}")
            error.__cause__ = _ChildTraceback(told)
            raise error

    def stop(self) -> None:
        """Stop a child not waited for; its temporaries go with it."""
        process, self._process = self._process, None
        if process is None:
            return
        self._inbox.close()
        process.terminate()  # SIGTERM: the child unwinds, removing its temporaries
        process.join(10)
        if process.is_alive():
            process.kill()  # what it leaves, the next run removes (geo.io.remove_stale)
            process.join()
        self._conn.close()

    def __enter__(self) -> Alongside:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class _ChildTraceback(Exception):
    """Where the child's error was raised (shown under the error, as
    :mod:`concurrent.futures` does)."""

    def __str__(self) -> str:
        return f'\n"""\n{self.args[0]}"""'


def _child(conn, inbox, call: Callable[..., Any], prepare: Callable[[], Any] | None
           ) -> None:
    """The forked child: prepare, receive the arguments, make the call, its files
    collected, not published; say them."""
    from ..io import collected
    from ..progress import listening

    def stopped(signum, frame):
        raise SystemExit(1)

    signal.signal(signal.SIGTERM, stopped)
    _spared()
    files, error, told = [], None, ""
    with warnings.catch_warnings(record=True) as heard:
        try:
            # the parent reports progress, in the order of the files it writes
            with listening(lambda step, count: None), collected() as pending:
                args = _given(inbox, prepare)
                if args is None:  # nothing given: the parent went on without the call
                    return
                call(*args)
            files = pending
        except BaseException as exc:  # noqa: BLE001 - every error is the parent's to raise
            error, told = exc, traceback.format_exc()
    said = [(w.message, w.category, w.filename, w.lineno) for w in heard]
    for answer in ((files, said, error, told), (files, said, None, told or "erreur inconnue")):
        try:
            conn.send(answer)
        except OSError:  # the parent is gone
            break
        except Exception:  # noqa: BLE001 - an error that does not pickle: its text then
            continue
        break
    conn.close()


#: The child's youngest generation: collected after this many allocations net, not 700
#: (a drawing allocates millions of objects, few of them in cycles).
_YOUNG = 20_000


def _spared() -> None:
    """Collect the child's garbage less often: the objects it inherited are frozen by the
    parent before the fork (:meth:`Alongside._start`), those of its warm-up by
    :func:`_given`; the youngest generation is larger."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(_YOUNG, middle, oldest)


def _given(inbox, prepare: Callable[[], Any] | None) -> tuple | None:
    """The call's arguments, read while ``prepare()`` runs (the parent never waits on a
    full pipe); ``None`` if the parent closed the pipe without giving any."""
    import pickle
    import threading

    received: list[bytes] = []

    def read() -> None:
        with contextlib.suppress(EOFError, OSError):  # closed: nothing given
            received.append(inbox.recv_bytes())

    reader = threading.Thread(target=read, daemon=True)  # joined before the call
    reader.start()
    if prepare is not None:
        with contextlib.suppress(Exception):  # a warm-up only: the call meets it again
            prepare()
    reader.join()
    inbox.close()
    gc.freeze()  # the warm-up's modules and caches, kept for the call
    return pickle.loads(received[0]) if received else None
