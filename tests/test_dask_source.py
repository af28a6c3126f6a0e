"""DaskSource and Feed against real Dask schedulers."""

from __future__ import annotations

import logging
import operator
import time

import pytest

from dashkit import schema
from dashkit.feed import Feed
from dashkit.sources import DaskSource, SourceError, SourceUnreachable, scheduler_side
from tests.conftest import free_port, wait_for

N = 2000


def run_inc_sum(client, n: int = N):
    """n `inc` tasks and one `sum`, with keys we know."""
    incs = client.map(operator.add, range(n), [1] * n, key=[f"inc-{i}" for i in range(n)])
    total = client.submit(sum, incs, key="sum-1")
    assert total.result() == sum(range(1, n + 1))
    return incs, total


def poll_until(feed: Feed, condition, timeout: float = 30):
    def step():
        feed.poll()
        return condition()

    return wait_for(step, timeout=timeout)


def test_progress_and_task_stream_match_a_known_workload(cluster, client):
    feed = Feed(DaskSource(address=cluster.scheduler_address))
    feed.source.connect()
    try:
        futures = run_inc_sum(client)
        poll_until(feed, lambda: feed.tasks.total >= N + 1)
        progress = feed.progress.set_index("prefix")
        assert progress.loc["inc", "memory"] == N
        assert progress.loc["inc", "total"] == N
        assert progress.loc["sum", "memory"] == 1
        assert progress.loc["sum", "total"] == 1
        assert progress[["erred", "processing", "queued", "no_worker", "waiting"]].sum().sum() == 0

        tasks = feed.tasks.frame()
        schema.validate(tasks, "tasks")
        compute = tasks[tasks["action"] == "compute"]
        expected = {f"inc-{i}" for i in range(N)} | {"sum-1"}
        assert sorted(compute["key"]) == sorted(expected)  # every key exactly once
        assert (compute["start"] < compute["stop"]).all()
        assert set(compute["prefix"]) == {"inc", "sum"}
        assert set(tasks["worker"]) <= set(cluster.scheduler.workers)
        assert set(tasks["status"]) == {"ok"}
        del futures
    finally:
        feed.stop()


def test_worker_memory_matches_the_scheduler(cluster, client):
    scheduler = cluster.scheduler
    data = client.scatter([b"x" * 2_000_000, b"y" * 3_000_000], broadcast=False)
    with DaskSource(address=cluster.scheduler_address) as source:
        wait_for(lambda: sum(ws.nbytes for ws in scheduler.workers.values()) >= 5_000_000)

        def readings():
            return {
                ws.address: (ws.memory.managed, ws.memory.process, ws.memory.spilled,
                             ws.nthreads, ws.memory_limit, len(ws.processing))
                for ws in scheduler.workers.values()
            }  # fmt: skip

        before = readings()
        snap = source.snapshot()
        after = readings()
        workers = snap.workers.set_index("address")
        assert set(workers.index) == set(scheduler.workers)
        for address, row in workers.iterrows():
            seen = (int(row.managed), int(row.process), int(row.spilled), int(row.nthreads),
                    int(row.memory_limit), int(row.processing))  # fmt: skip
            assert seen in (before[address], after[address])
            assert row.process == row.managed + row.unmanaged_old + row.unmanaged_recent
            assert row.status == "running"
        assert workers["managed"].sum() >= 5_000_000
    del data


def test_erred_task_has_error_status(cluster, client):
    with DaskSource(address=cluster.scheduler_address) as source:
        source.snapshot()
        future = client.submit(operator.truediv, 1, 0, key="div-0")
        with pytest.raises(ZeroDivisionError):
            future.result()

        seen = []

        def erred_rows():
            rows = source.snapshot().tasks
            seen.extend(rows[rows["key"] == "div-0"].itertuples())
            return seen

        rows = wait_for(erred_rows)
        assert [r.status for r in rows] == ["error"]
        assert [r.prefix for r in rows] == ["div"]


def test_tasks_before_the_first_poll_are_not_lost(cluster, client):
    source = DaskSource(address=cluster.scheduler_address)
    source.connect()  # installs the task-stream plugin
    try:
        run_inc_sum(client, n=50)
        snap = source.snapshot()
        assert len(snap.tasks[snap.tasks["action"] == "compute"]) == 51
        assert source.snapshot().tasks.empty  # tailed by index: nothing read twice
    finally:
        source.close()


def test_cap_drops_oldest_rows_and_counts_them(cluster, client):
    feed = Feed(DaskSource(address=cluster.scheduler_address), max_task_rows=500)
    feed.source.connect()
    try:
        run_inc_sum(client)
        poll_until(feed, lambda: feed.tasks.total >= N + 1)
        assert len(feed.tasks) == 500
        assert feed.tasks.dropped == feed.tasks.total - 500
        assert feed.dropped >= N + 1 - 500
        rows = feed.since(0)
        assert rows.skipped == feed.tasks.dropped
        assert "sum-1" in set(rows.frame["key"])  # the newest rows are kept
    finally:
        feed.stop()


def test_workers_joining_and_leaving_appear_and_disappear(cluster):
    feed = Feed(DaskSource(address=cluster.scheduler_address), period=0.1).start()
    try:
        wait_for(lambda: len(feed.workers) == 2)
        cluster.scale(3)
        wait_for(lambda: len(feed.workers) == 3)
        assert set(feed.workers["address"]) == set(cluster.scheduler.workers)
        cluster.scale(1)
        wait_for(lambda: len(feed.workers) == 1)
        assert set(feed.workers["address"]) == set(cluster.scheduler.workers)
    finally:
        feed.stop()


def test_three_readers_of_a_shared_feed_cost_one_poll_per_period(cluster):
    scheduler = cluster.scheduler
    calls = []
    address = cluster.scheduler_address
    feeds = [Feed.shared(DaskSource(address=address), period=0.2) for _ in range(3)]
    assert feeds[0] is feeds[1] is feeds[2]
    assert Feed.shared(address) is feeds[0]
    handler = scheduler.handlers[scheduler_side.HANDLER]
    scheduler.handlers[scheduler_side.HANDLER] = lambda **kw: calls.append(1) or handler(**kw)
    readers = [feeds[0].reader() for _ in range(3)]
    began = time.monotonic()
    wait_for(lambda: len(calls) >= 10)
    for reader in readers:
        reader.read()
    elapsed = time.monotonic() - began
    # One poller: calls track elapsed / period, not three times that.
    assert len(calls) <= elapsed / 0.2 + 2
    for reader in readers:
        reader.close()


def test_unreachable_address_is_named_within_the_connect_timeout():
    address = f"tcp://127.0.0.1:{free_port()}"
    began = time.monotonic()
    with pytest.raises(SourceUnreachable, match=address.replace(".", r"\.")):
        Feed(DaskSource(address=address, connect_timeout=1.0)).start()
    assert time.monotonic() - began < 1.0 + 5


def test_builtin_fallback_reports_missing_fields(cluster, client):
    feed = Feed(DaskSource(address=cluster.scheduler_address, scheduler_code=False))
    feed.source.connect()
    try:
        futures = run_inc_sum(client, n=100)  # held, so the results stay in memory
        # Prefix states are read before the task stream, so wait for both.
        poll_until(feed, lambda: feed.tasks.total >= 101 and feed.progress["memory"].sum() == 101)
        assert feed.status.startswith("degraded: ")
        for field in ("queued", "no_worker", "occupancy", "unmanaged_old"):
            assert field in feed.status
        assert feed.progress.set_index("prefix").loc["inc", "memory"] == 100
        assert len(feed.workers) == 2
        assert (feed.workers["nthreads"] == 2).all()
        del futures
    finally:
        feed.stop()


def test_scheduler_refusing_the_plugin_falls_back(cluster, client, caplog):
    # What `distributed.scheduler.blocked-handlers: [register_scheduler_plugin]` does.
    # A new list: the scheduler's is Dask's configuration list itself, and
    # appending to it would block plugins on every later scheduler of the run.
    scheduler = cluster.scheduler
    scheduler.blocked_handlers = [*scheduler.blocked_handlers, "register_scheduler_plugin"]
    source = DaskSource(address=cluster.scheduler_address)
    with caplog.at_level(logging.WARNING, logger="dashkit"):
        source.connect()
    try:
        assert source.mode == "builtin"
        run_inc_sum(client, n=20)
        snap = source.snapshot()
        assert snap.missing == ("unmanaged_old", "executing", "occupancy", "saturated",
                                "queued", "no_worker")  # fmt: skip
        assert len(snap.tasks[snap.tasks["action"] == "compute"]) == 21
        assert "refused" in caplog.text
    finally:
        source.close()


def test_the_embedded_cluster_listens_only_on_loopback_and_not_on_dasks_dashboard_port():
    import psutil

    def listening() -> set[tuple[str, int]]:
        return {(c.laddr.ip, c.laddr.port) for c in psutil.Process().net_connections("tcp")
                if c.status == psutil.CONN_LISTEN}  # fmt: skip

    before = listening()
    with DaskSource(n_workers=1, workload=False) as source:
        source.snapshot()
        opened = listening() - before
    assert opened, "the embedded cluster listens somewhere"
    assert all(ip == "127.0.0.1" for ip, _ in opened), opened
    assert 8787 not in {port for _, port in opened}, opened


@pytest.mark.parametrize("address", ["foo://", "127.0.0.1:notaport", "tcp://10.0.0.5"])
def test_an_address_no_comm_could_use_is_named_as_such_before_any_attempt(address, caplog):
    source = DaskSource(address=address)
    with pytest.raises(SourceError, match=r"is not a scheduler address .*tcp://10\.0\.0\.5:8786"):
        source.connect()
    assert "refused dashkit's plugin" not in caplog.text


class FakePeer:
    """A TCP server on a free loopback port that answers every connection with
    ``first_bytes`` (None: says nothing and keeps the connection open)."""

    def __init__(self, first_bytes: bytes | None):
        import socket
        import threading

        self.first_bytes = first_bytes
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections: list = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:  # closed
                return
            self.connections.append(connection)
            if self.first_bytes is not None:
                connection.sendall(self.first_bytes)

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)
        for connection in self.connections:
            connection.close()


@pytest.mark.parametrize(
    ("first_bytes", "said"),
    [
        (b"\xff" * 64, "its first message announces 18,446,744,073,709,551,615 bytes"),
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "its first message announces"),
        (b"\x20" + b"\x00" * 7 + b"\x01" + b"\x00" * 7 + b"\x10" + b"\x00" * 23,
         "its first message is not a Dask handshake"),
        (None, "it sent no Dask handshake within 2 s"),
    ],
)  # fmt: skip
def test_a_peer_that_is_not_a_dask_scheduler_is_named_as_such(first_bytes, said):
    peer = FakePeer(first_bytes)
    try:
        began = time.monotonic()
        with pytest.raises(SourceUnreachable) as raised:
            DaskSource(address=peer.address, connect_timeout=2).connect()
        assert time.monotonic() - began < 10
    finally:
        peer.close()
    assert str(raised.value).startswith(f"{peer.address} is not a Dask scheduler: {said}")
