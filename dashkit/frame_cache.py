"""FrameCache: what components derive from a poll, computed once for all of them.

Each Feed has one (:attr:`dashkit.feed.Feed.frames`). A value is cached per
key and snapshot, so ten pages showing the same plot compute its frame once
per poll.

Example
-------
>>> from dashkit import Feed, SyntheticSource
>>> feed = Feed(SyntheticSource(seed=1, start_time=0.0))
>>> feed.poll()
True
>>> view = feed.view()
>>> first = feed.frames.derive(("workers",), lambda v, _: len(v.workers), view)
>>> feed.frames.derive(("workers",), lambda v, _: 0, view) == first   # cached
True
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashkit.feed import FeedView


class FrameCache:
    """Values computed once per snapshot of a Feed, by key."""

    def __init__(self):
        self._derived: dict[Hashable, tuple[int, Any]] = {}  # key -> (version, value)
        self._lock = threading.Lock()
        #: How often each key was computed by :meth:`derive` (once per poll at most).
        self.derivations: Counter = Counter()

    def derive(self, key: Hashable, compute: Callable[[FeedView, Any], Any], view: FeedView) -> Any:
        """``compute(view, previous)``, computed once per poll for ``key`` and shared.

        ``key`` names what is computed and every parameter it depends on
        (e.g. ``("Progress", 24)``); readers asking for the same key and
        snapshot get the same object. ``previous`` is the value computed for
        the poll before (or None), so unchanged parts can be kept as they were.
        """
        # A restart of the task stream comes with a poll, so the version alone
        # names the snapshot.
        with self._lock:
            version, previous = self._derived.get(key, (None, None))
            if version == view.version:
                return previous
            value = compute(view, previous)
            self.derivations[key] += 1
            self._derived[key] = (view.version, value)
            return value


class RecentValues:
    """A small least-recently-used cache of computed values; ``computed`` counts misses.

    Example
    -------
    >>> cache = RecentValues(size=2)
    >>> cache.get("a", lambda: 1), cache.get("a", lambda: 2), cache.computed
    (1, 1, 1)
    """

    def __init__(self, size: int):
        self.size = size
        self.computed = 0
        self._items: OrderedDict = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value cached for ``key``, or ``compute()`` cached for it."""
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        self.computed += 1
        value = self._items[key] = compute()
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value
