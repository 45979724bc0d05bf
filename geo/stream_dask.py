"""The chunks of a big table linked on a Dask cluster (``--moteur dask``).

The same engine function as the default (:func:`geo.stream.place`) runs on Dask's workers,
on an existing cluster (its scheduler's address) or on a local one (every core); the QPV are
sent once to every worker. Install with ``pip install ess-qpv[dask]``.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np

from ._errors import EssQpvError
from .stream import Placed, place


def place_all_dask(chunks: Iterable[tuple[np.ndarray, np.ndarray]], qpv, distance: float, *,
                   scheduler: str | None = None, workers: int | None = None
                   ) -> Iterator[Placed]:
    """:func:`geo.stream.place` of every chunk, in order, on a Dask cluster."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise EssQpvError("le moteur dask n'est pas installé : pip install "
                          "'ess-qpv[dask]'.") from exc
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="20s")
        else:
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1,
                                   threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
    except OSError as exc:
        raise EssQpvError(f"cluster Dask injoignable ({scheduler}) : {exc}.") from exc
    try:
        n = max(1, len(client.scheduler_info()["workers"]))
        shared = client.scatter(qpv, broadcast=True)
        pending: deque = deque()
        for lon, lat in chunks:
            pending.append(client.submit(place, lon, lat, shared, distance, pure=False))
            while len(pending) > 2 * n:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
