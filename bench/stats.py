"""Percentiles and the per-run summary both sides of the benchmark share."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any


def pct(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks; NaN when there is nothing to rank."""
    if not values:
        return math.nan
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summarise(
    *, offered: int, started: dict[str, float], accepted: set[str], seen: dict[str, float],
    errors: Counter[str], send_lag_ms: list[float], first_send: float | None,
) -> dict[str, Any]:
    """`started`: token -> send start; `accepted`: tokens the server acknowledged;
    `seen`: token -> time it came back (live push or consumed record)."""
    lat = [(seen[t] - started[t]) * 1000 for t in seen if t in started]
    last_seen = max(seen.values(), default=None)
    span = (last_seen - first_send) if first_send is not None and last_seen is not None else 0.0
    return {
        "offered": offered,
        "started": len(started),
        "accepted": len(accepted),
        "delivered": len(lat),
        "lost": len(accepted - seen.keys()),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "msg_per_s": len(lat) / span if span > 0 else 0.0,
        "p50_ms": pct(lat, 50),
        "p90_ms": pct(lat, 90),
        "p99_ms": pct(lat, 99),
        "max_ms": max(lat, default=math.nan),
        # How late the client itself started sends against the schedule: large values mean
        # the bench process, not the system under test, limited the offered rate.
        "send_lag_p99_ms": pct(send_lag_ms, 99),
        "send_lag_max_ms": max(send_lag_ms, default=math.nan),
    }
