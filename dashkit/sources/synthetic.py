"""SyntheticSource: a simulated cluster, deterministic for a seed, of any size.

Used for demos, tests and benchmarks where a real cluster is too small or too
slow: 1,000 workers, millions of task-stream rows. Each :meth:`snapshot`
advances simulated time by ``tick`` seconds, so the same seed and parameters
give the same frames whatever the machine's speed.

What it simulates:

* threads run tasks back to back with exponential durations and short gaps,
  busy a fraction ``load`` of the time; prefixes follow a skewed popularity;
* some computes are preceded by a transfer or a disk-read, some followed by
  a disk-write; a fraction ``error_rate`` err;
* each worker's memory follows a slow wave plus noise, spills above 70 % of
  its limit and pauses above 80 %;
* with ``churn`` > 0, workers leave and new ones join;
* ``history_rows`` > 0 makes the first snapshot deliver that many rows of
  past task stream (generated vectorised: about a second per million rows).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import param

from dashkit import schema
from dashkit.sources.base import Snapshot, Source

PREFIX_NAMES = (
    "read-parquet", "getitem", "add", "inc", "sum", "mean_chunk", "mean_agg", "transpose",
    "random_sample", "rechunk-merge", "shuffle-split", "groupby-chunk", "groupby-agg",
    "from-delayed", "finalize", "store", "dot", "fillna", "assign", "concat",
)  # fmt: skip


class SyntheticSource(Source):
    """A simulated Dask cluster.

    Example
    -------
    >>> src = SyntheticSource(n_workers=8, threads_per_worker=2, seed=3, start_time=0.0)
    >>> snap = src.snapshot()
    >>> len(snap.workers), snap.tasks["worker"].nunique() <= 8
    (8, True)
    """

    source_type = "synthetic"

    n_workers = param.Integer(default=8, bounds=(1, None), doc="Workers at the start.")
    threads_per_worker = param.Integer(default=2, bounds=(1, None), doc="Threads per worker.")
    n_prefixes = param.Integer(
        default=8, bounds=(1, None), doc="Distinct task prefixes (names beyond 20 are numbered)."
    )
    mean_duration = param.Number(
        default=0.2, bounds=(1e-6, None), doc="Mean compute time of a task, seconds."
    )
    load = param.Number(
        default=0.8, bounds=(0.01, 1.0), doc="Fraction of the time a thread is busy."
    )
    error_rate = param.Number(default=0.002, bounds=(0, 1), doc="Fraction of tasks that err.")
    transfer_rate = param.Number(
        default=0.1, bounds=(0, 1), doc="Fraction of tasks that first fetch a dependency."
    )
    disk_rate = param.Number(
        default=0.02, bounds=(0, 1), doc="Fraction of tasks with a disk-read (and of disk-writes)."
    )
    churn = param.Number(
        default=0.0, bounds=(0, 1), doc="Chance per tick that one worker leaves and one joins."
    )
    memory_limit = param.Integer(default=4 * 2**30, bounds=(0, None), doc="Bytes per worker.")
    tick = param.Number(default=0.5, bounds=(1e-3, None), doc="Simulated seconds per snapshot.")
    history_rows = param.Integer(
        default=0, bounds=(0, None), doc="Task-stream rows of past history in the first snapshot."
    )
    seed = param.Integer(default=0, doc="Random seed: same seed, same cluster.")
    start_time = param.Number(
        default=None, allow_None=True, doc="Simulated epoch at the start; None: the wall clock."
    )

    def __init__(self, **params):
        super().__init__(**params)
        self._rng = np.random.default_rng(self.seed)
        self._now = time.time() if self.start_time is None else float(self.start_time)
        self._next_worker = 0
        self._workers = [self._new_worker() for _ in range(self.n_workers)]
        self._thread_free = self._fresh_thread_clocks(len(self._workers))
        self._done = np.zeros((self.n_prefixes, 3), dtype=np.int64)  # released, memory, erred
        self._backlog = self._rng.integers(50, 500, self.n_prefixes)
        self._prefix_weights = 1.0 / np.arange(1, self.n_prefixes + 1) ** 0.8
        self._prefix_weights /= self._prefix_weights.sum()
        self._history_sent = False

    @property
    def key(self) -> str:
        values = self.param.values()
        parts = ",".join(f"{k}={values[k]}" for k in sorted(values) if k != "name")
        return f"synthetic:{parts}"

    @property
    def prefixes(self) -> list[str]:
        """The prefix names of this cluster, most frequent first."""
        names = list(PREFIX_NAMES[: self.n_prefixes])
        names += [f"task-{i}" for i in range(len(names), self.n_prefixes)]
        return names

    # -- simulation ----------------------------------------------------------

    def _new_worker(self) -> dict:
        i = self._next_worker
        self._next_worker += 1
        return {
            "address": f"tcp://10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}:{40000 + i % 20000}",
            "name": str(i),
            "phase": self._rng.uniform(0, 2 * np.pi),
            "period": self._rng.uniform(60, 600),
            "peak": self._rng.uniform(0.3, 0.9),
        }

    def _fresh_thread_clocks(self, n_workers: int) -> np.ndarray:
        return np.full((n_workers, self.threads_per_worker), self._now, dtype=np.float64)

    def _churn(self) -> None:
        if self.churn and len(self._workers) > 1 and self._rng.random() < self.churn:
            leaving = int(self._rng.integers(len(self._workers)))
            del self._workers[leaving]
            self._thread_free = np.delete(self._thread_free, leaving, axis=0)
            self._workers.append(self._new_worker())
            self._thread_free = np.vstack([self._thread_free, self._fresh_thread_clocks(1)])

    def _tasks_between(self, clocks: np.ndarray, until: float) -> tuple[pd.DataFrame, np.ndarray]:
        """Tasks each thread runs from its clock to ``until``, and the new clocks."""
        rng = self._rng
        n_workers, n_threads = clocks.shape
        flat = clocks.ravel()
        span = np.maximum(until - flat, 0)
        slot = self.mean_duration / self.load
        counts = rng.poisson(span / slot)
        n = int(counts.sum())
        owner = np.repeat(np.arange(flat.size), counts)
        duration = rng.exponential(self.mean_duration, n)
        gap = rng.exponential(slot - self.mean_duration, n)
        step = duration + gap
        ends = np.cumsum(step)
        group_start = np.repeat(np.cumsum(counts) - counts, counts)
        before = ends - step
        offset = before - (before[group_start] if n else 0)
        start = flat[owner] + offset + gap
        stop = start + duration
        keep = stop <= until
        start, stop, owner = start[keep], stop[keep], owner[keep]
        new_clocks = flat.copy()
        if keep.any():
            np.maximum.at(new_clocks, owner, stop)
        # A thread with nothing finished in the window is idle up to now.
        new_clocks = np.where(counts == 0, until, new_clocks)
        return self._rows(start, stop, owner, n_threads), new_clocks.reshape(clocks.shape)

    def _rows(self, start, stop, owner, n_threads) -> pd.DataFrame:
        rng = self._rng
        n = start.size
        prefix_code = rng.choice(self.n_prefixes, size=n, p=self._prefix_weights)
        erred = rng.random(n) < self.error_rate
        worker_index = owner // n_threads
        thread = owner % n_threads
        extras = []
        for action, rate, before in (
            ("transfer", self.transfer_rate, True),
            ("disk-read", self.disk_rate, True),
            ("disk-write", self.disk_rate, False),
        ):
            pick = np.flatnonzero(rng.random(n) < rate)
            width = np.minimum(rng.exponential(self.mean_duration / 4, pick.size), 1.0)
            if before:
                extra_start, extra_stop = start[pick] - width, start[pick]
            else:
                extra_start, extra_stop = stop[pick], stop[pick] + width
            extras.append((action, pick, extra_start, extra_stop))
        actions = ["compute"]
        parts_start = [start] + [e[2] for e in extras]
        parts_stop = [stop] + [e[3] for e in extras]
        parts_index = [np.arange(n)] + [e[1] for e in extras]
        parts_action = [np.zeros(n, np.int8)] + [
            np.full(e[1].size, i + 1, np.int8) for i, e in enumerate(extras)
        ]
        actions += [e[0] for e in extras]
        index = np.concatenate(parts_index)
        action_code = np.concatenate(parts_action)
        all_start = np.concatenate(parts_start)
        all_stop = np.concatenate(parts_stop)
        order = np.argsort(all_stop, kind="stable")
        index, action_code = index[order], action_code[order]
        all_start, all_stop = all_start[order], all_stop[order]

        uid = self._task_ids(n)[index]
        code = prefix_code[index]
        names = np.asarray(self.prefixes, dtype=object)
        keys = names[code] + "-" + np.char.mod("%012x", uid).astype(object)
        self._record_progress(prefix_code, erred)
        addresses = [w["address"] for w in self._workers]
        return schema.tasks_frame(
            {
                "start": all_start,
                "stop": all_stop,
                "worker": pd.Categorical.from_codes(worker_index[index], categories=addresses),
                "thread": 140_000_000_000_000 + thread[index],
                "key": keys,
                "prefix": pd.Categorical.from_codes(code, categories=self.prefixes),
                "action": pd.Categorical.from_codes(action_code, categories=actions),
                "status": pd.Categorical.from_codes(
                    erred[index].astype(np.int8), categories=list(schema.TASK_STATUSES)
                ),
            }
        )

    def _task_ids(self, n: int) -> np.ndarray:
        return self._rng.integers(0, 2**48, n, dtype=np.int64)

    def _record_progress(self, prefix_code: np.ndarray, erred: np.ndarray) -> None:
        finished = np.bincount(prefix_code, minlength=self.n_prefixes)
        failed = np.bincount(prefix_code[erred], minlength=self.n_prefixes)
        kept = self._rng.binomial(finished - failed, 0.3)
        self._done[:, 0] += finished - failed - kept
        self._done[:, 1] += kept
        self._done[:, 2] += failed
        self._backlog = np.maximum(self._backlog - finished, 0)
        refill = self._backlog < 20
        self._backlog[refill] += self._rng.integers(100, 1000, int(refill.sum()))

    def _workers_frame(self) -> pd.DataFrame:
        rng = self._rng
        n = len(self._workers)
        limit = self.memory_limit
        phase = np.array([w["phase"] for w in self._workers])
        period = np.array([w["period"] for w in self._workers])
        peak = np.array([w["peak"] for w in self._workers])
        wave = 0.5 + 0.5 * np.sin(2 * np.pi * self._now / period + phase)
        fraction = np.clip(peak * wave + rng.normal(0, 0.02, n), 0.02, 0.97)
        process = (fraction * limit).astype(np.int64)
        unmanaged_old = np.minimum(int(0.05 * limit), process)
        unmanaged_recent = np.minimum(
            (rng.uniform(0.01, 0.08, n) * limit).astype(np.int64), process - unmanaged_old
        )
        managed = process - unmanaged_old - unmanaged_recent
        spilled = np.where(fraction > 0.7, ((fraction - 0.7) * 2 * limit).astype(np.int64), 0)
        threads = self.threads_per_worker
        processing = rng.poisson(threads * self.load * 1.5, n)
        executing = np.minimum(processing, threads)
        return schema.workers_frame(
            {
                "address": [w["address"] for w in self._workers],
                "name": [w["name"] for w in self._workers],
                "status": np.where(fraction > 0.8, "paused", "running"),
                "nthreads": np.full(n, threads),
                "memory_limit": np.full(n, limit),
                "process": process,
                "managed": managed,
                "unmanaged_old": unmanaged_old,
                "unmanaged_recent": unmanaged_recent,
                "spilled": spilled,
                "processing": processing,
                "executing": executing,
                "occupancy": processing * self.mean_duration,
                "cpu": np.clip(executing * 100 * rng.uniform(0.6, 1.0, n), 0, threads * 100),
                "idle": processing < threads,
                "saturated": processing > 2 * threads,
            }
        )

    def _progress_frame(self) -> pd.DataFrame:
        rng = self._rng
        backlog = self._backlog
        processing = np.minimum(backlog, rng.poisson(len(self._workers) * 0.5, self.n_prefixes))
        rest = backlog - processing
        queued = rest // 2
        no_worker = np.where(rng.random(self.n_prefixes) < 0.05, np.minimum(rest - queued, 3), 0)
        return schema.progress_frame(
            {
                "prefix": self.prefixes,
                "released": self._done[:, 0],
                "memory": self._done[:, 1],
                "erred": self._done[:, 2],
                "processing": processing,
                "queued": queued,
                "no_worker": no_worker,
                "waiting": rest - queued - no_worker,
            }
        )

    def history(self, n_rows: int) -> pd.DataFrame:
        """``n_rows`` (about) of task-stream history ending now, without advancing time."""
        threads = len(self._workers) * self.threads_per_worker
        rows_per_second = threads * self.load / self.mean_duration
        compute_share = 1 + self.transfer_rate + 2 * self.disk_rate
        seconds = n_rows / (rows_per_second * compute_share)
        clocks = np.full_like(self._thread_free, self._now - seconds)
        frame, _ = self._tasks_between(clocks, self._now)
        return frame

    def snapshot(self) -> Snapshot:
        parts = []
        if self.history_rows and not self._history_sent:
            parts.append(self.history(self.history_rows))
            self._history_sent = True
        self._now += self.tick
        self._churn()
        frame, self._thread_free = self._tasks_between(self._thread_free, self._now)
        parts.append(frame)
        tasks = parts[0] if len(parts) == 1 else schema.concat_tasks(parts)
        return Snapshot(
            time=self._now,
            workers=self._workers_frame(),
            progress=self._progress_frame(),
            tasks=tasks,
        )
