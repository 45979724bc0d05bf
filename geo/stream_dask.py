"""The chunks of a big table linked on a Dask cluster (``--moteur dask``).

The same engine function as the default (:func:`geo.stream.place`) runs on Dask's workers,
on an existing cluster (its scheduler's address) or on a local one (every core); the QPV are
sent once to every worker. Install with ``pip install ess-qpv[dask]``.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np

from ._errors import EssQpvError
from .stream import Placed, place


def place_all_dask(chunks: Iterable[tuple[np.ndarray, ...]], qpv, distance: float, *,
                   scheduler: str | None = None, workers: int | None = None
                   ) -> Iterator[Placed]:
    """:func:`geo.stream.place` of every chunk, in order, on a Dask cluster."""
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
        shared = client.scatter(qpv, broadcast=True)
        pending: deque = deque()
        for lon, lat, *near in chunks:
            pending.append(client.submit(place, lon, lat, shared, distance, False, *near,
                                         pure=False))
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
