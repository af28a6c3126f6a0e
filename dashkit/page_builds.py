"""Page builds take turns: a flood of page requests must not starve the pages
already open.

Building a page takes the server about a second of its one event loop, and
meanwhile no open page is redrawn. So pages are built one at a time, and
after each build the next waits as long as that one took: builds take at
most half of the loop, and open pages keep the other half. A request that
would wait behind more than :data:`MOST_WAITING` others is answered at once
with ``503 Service Unavailable`` and a ``Retry-After``. This holds whoever
asks: behind a proxy every request comes from one address.

Example
-------
>>> gate = BuildGate()
>>> gate.crowded(), gate.retry_after()
(False, 1)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator

#: Requests that may wait for their turn to have a page built.
MOST_WAITING = 20


class BuildGate:
    """One page build at a time, each followed by a rest as long as it took;
    one gate per server event loop (:meth:`of`)."""

    _gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __init__(self, most_waiting: int = MOST_WAITING):
        self.most_waiting = most_waiting
        self.waiting = 0
        self._lock = asyncio.Lock()
        self._last_cost = 1.0

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> BuildGate:
        """The gate of the server running on ``loop`` (made on first use)."""
        gate = cls._gates.get(loop)
        if gate is None:
            gate = cls._gates[loop] = cls()
        return gate

    def crowded(self) -> bool:
        """Whether a new request would wait behind too many others."""
        return self.waiting >= self.most_waiting

    def retry_after(self) -> int:
        """Seconds a refused request should wait before asking again."""
        return max(1, round(2 * self._last_cost * self.waiting))

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for this request's turn, build its page; the next turn comes
        after a rest as long as this build took (the response is not delayed)."""
        self.waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self.waiting -= 1
        began = time.monotonic()
        try:
            yield
        finally:
            self._last_cost = time.monotonic() - began
            asyncio.get_running_loop().call_later(self._last_cost, self._lock.release)
