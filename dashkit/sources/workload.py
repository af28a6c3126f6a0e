"""A continuous demo workload, so an embedded cluster has something to show.

Each round mixes dask.array, dask.dataframe and delayed work, giving several
task prefixes, transfers between workers, results held in memory for a while
and, every few rounds, one task that fails on purpose (drawn black in the task
stream, counted as erred in progress). Tasks mostly sleep rather than burn
CPU, so the demo leaves room on a small machine.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time

logger = logging.getLogger(__name__)


def _load(i: int) -> int:
    time.sleep(random.uniform(0.01, 0.08))
    return i


def _inc(x: int) -> int:
    time.sleep(random.uniform(0.005, 0.03))
    return x + 1


def _combine(*xs: int) -> int:
    time.sleep(0.02)
    return sum(xs)


def _flaky(x: int) -> int:
    raise ValueError(f"demo failure on input {x}: erred tasks are drawn black")


class DemoWorkload:
    """Runs rounds of mixed work on a scheduler until :meth:`stop`.

    Example
    -------
    >>> wl = DemoWorkload("tcp://127.0.0.1:8786")   # doctest: +SKIP
    >>> wl.start(); ...; wl.stop()                   # doctest: +SKIP
    """

    def __init__(self, address: str, pause: float = 1.0, seed: int = 0):
        self.address = address
        self.pause = pause
        self.rounds = 0
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dashkit-demo-workload", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        from distributed import Client

        try:
            client = Client(self.address, set_as_default=False)
        except OSError:
            logger.warning("demo workload could not connect to %s", self.address)
            return
        try:
            while not self._stop.is_set():
                try:
                    self._round(client)
                except Exception:  # noqa: BLE001 - the demo must outlive a failed round
                    if self._stop.is_set():
                        break
                    logger.debug("demo round failed", exc_info=True)
                self.rounds += 1
                self._stop.wait(self.pause)
        finally:
            client.close()

    def _round(self, client) -> None:
        import dask
        import dask.array as da
        import dask.dataframe as dd
        import pandas as pd

        n = self._rng.randint(40, 120)
        loaded = [dask.delayed(_load, pure=False)(i) for i in range(n)]
        incremented = [dask.delayed(_inc)(x) for x in loaded]
        partial = [dask.delayed(_combine)(*incremented[i : i + 8]) for i in range(0, n, 8)]
        total = dask.delayed(_combine)(*partial)

        x = da.random.random((2000, 2000), chunks=(250, 250))
        array_result = (x + x.T).mean(axis=0).sum()

        frame = pd.DataFrame({"key": range(20_000), "value": range(20_000)})
        ddf = dd.from_pandas(frame, npartitions=8)
        grouped = ddf.assign(group=ddf.key % 7).groupby("group").value.sum()

        # One compute per collection: mixing delayed and expression-based
        # collections in one call forces the expressions to be materialised.
        futures = [client.compute(c) for c in (total, array_result, grouped)]
        if self.rounds % 10 == 9:
            futures.append(client.submit(_flaky, self.rounds, pure=False))
        for future in futures:
            if self._stop.is_set():
                break
            with contextlib.suppress(ValueError):  # the deliberate failure
                future.result(timeout=60)
