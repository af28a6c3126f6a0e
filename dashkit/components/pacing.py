"""Pacing: how long a page waits between redraws, so that a crowd of pages
stays within a share of the server's CPU."""

from __future__ import annotations

import statistics
from collections import deque

BUDGET = 0.5
"""Share of one core that redraws of all sessions together may use."""

ROUNDS_JUDGED = 5
"""A session's rounds are spaced by the median cost of its last this many."""


class Pacer:
    """How long a session waits after a round so that the rounds of all sessions
    together stay within :data:`BUDGET` of one core.

    ``n`` sessions each spending ``cost`` per round stay within the budget when
    each waits ``n * cost / BUDGET`` between rounds. ``cost`` is the median of
    the session's last :data:`ROUNDS_JUDGED` rounds, not the last round's: one
    slow round (a garbage collection, the first history image, CPU time taken
    by a neighbour on a shared host) would hold the page back for that round's
    cost times the number of sessions, seconds on a loaded server. A new
    session's first rounds count as free until it has a typical cost.

    Example
    -------
    >>> pacer = Pacer()
    >>> [round(pacer.wait(cost, sessions=5), 2) for cost in (0.01, 0.01, 0.01, 9.0)]
    [0.0, 0.05, 0.1, 0.1]
    """

    def __init__(self):
        self._costs: deque[float] = deque([0.0] * (ROUNDS_JUDGED // 2), maxlen=ROUNDS_JUDGED)

    def wait(self, cost: float, sessions: int) -> float:
        """Seconds to wait after a round that took ``cost`` seconds of CPU while
        ``sessions`` sessions redraw."""
        self._costs.append(cost)
        return statistics.median(self._costs) * sessions / BUDGET
