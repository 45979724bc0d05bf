"""The chunks of a big table handled on a Dask cluster (``--moteur dask``).

The same per-chunk function as the default engine (:func:`geo.stream.map_chunks`) runs on
Dask's workers, on an existing cluster (its scheduler's address) or on a local one (every
core); what the chunks share (the QPV, the lookups) is sent once to every worker, the
chunks as the client reads them. Install with ``pip install ess-qpv[dask]``.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from ._errors import EssQpvError


def map_chunks_dask(func: Callable, chunks: Iterable[tuple], shared, *,
                    scheduler: str | None = None, workers: int | None = None) -> Iterator:
    """``func(shared, *chunk)`` for every chunk, in order, on a Dask cluster (as
    :func:`geo.stream.map_chunks`): ``shared`` is sent once to every worker, the chunks
    as they are read (the workers never read a file themselves)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise EssQpvError("le moteur dask n'est pas installé : pip install "
                          "'ess-qpv[dask]'.") from exc
    if not logging.getLogger().isEnabledFor(logging.INFO):
        # distributed sets its own loggers to INFO when imported: its notices only with -v
        for name in ("distributed", "tornado"):
            logging.getLogger(name).setLevel(logging.ERROR)
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="20s")
        else:
            # No dashboard; the scheduler's own HTTP routes (health, metrics) listen on a
            # free port of this machine only: by default they take 8787 on every interface,
            # and a second panorama running at the same time fails to start.
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1,
                                   threads_per_worker=1, processes=True,
                                   dashboard_address=None,
                                   scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                   silence_logs=logging.ERROR)
            client = Client(cluster)
    except (OSError, ValueError, TypeError) as exc:
        raise EssQpvError(f"cluster Dask injoignable ou adresse invalide ({scheduler}) : "
                          f"{exc} ; une adresse tcp://HÔTE:PORT est attendue.",
                          parameters=("scheduler",)) from exc
    try:
        n = max(1, len(client.scheduler_info()["workers"]))
        sent = client.scatter(shared, broadcast=True)
        pending: deque = deque()
        for chunk in chunks:
            pending.append(client.submit(func, sent, *chunk, pure=False))
            while len(pending) > 2 * n:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        _close_quietly(client, cluster)


def _close_quietly(client, cluster) -> None:
    """Close the client and the local cluster; the connections they cut while closing are
    expected, not errors to show (``-v`` still shows them)."""
    quiet = not logging.getLogger().isEnabledFor(logging.INFO)
    loggers = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
    levels = [lg.level for lg in loggers]
    if quiet:
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
    try:
        client.close()
        if cluster is not None:
            cluster.close()
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
