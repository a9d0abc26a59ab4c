"""When `contacthub run` starts a role again that ended: a worker that ends itself on a stall
(processors/stall.py, exit 70), or any role that crashed, is started again instead of taking
the whole run down; one that keeps dying young waits longer each time."""

from __future__ import annotations

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
HEALTHY_AFTER = 60.0  # a run this long counts as healthy: the next restart waits FIRST_DELAY again


class Backoff:
    def __init__(self) -> None:
        self.delay = FIRST_DELAY

    def after_exit(self, ran_for: float) -> float:
        """Seconds to wait before the next start, given how long the last one ran."""
        if ran_for >= HEALTHY_AFTER:
            self.delay = FIRST_DELAY
        wait = self.delay
        self.delay = min(MAX_DELAY, self.delay * 2)
        return wait
