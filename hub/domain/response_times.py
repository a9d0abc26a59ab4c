"""Response-time figures from a conversation's messages: pure functions.

First response: from the customer's first message to the first human reply. Next response:
each time the customer writes again after a reply, from that message to the next human
reply. Resolution: from the conversation's start to its resolution. Notes do not answer
anyone; automatic messages (author "hub", "bot" or "auto") do not stop a clock."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Sequence

AUTOMATIC_AUTHORS = frozenset({"hub", "bot", "auto", ""})
KINDS = ("first_response", "next_response", "resolution")


@dataclass(frozen=True)
class Message:
    direction: str  # in | out | note
    at: datetime
    author: str = ""
    channel: str = ""


@dataclass(frozen=True, slots=True)  # slots: the report makes ~12,000 a month, one object each instead of two
class Timing:
    kind: str
    start: datetime
    end: datetime
    channel: str
    agent: str | None

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default): rank (n-1)*p/100."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def timings(messages: Iterable[Message], created_at: datetime, resolved_at: datetime | None, assignee: str | None) -> list[Timing]:
    out: list[Timing] = []
    waiting: Message | None = None  # the customer message the next human reply answers
    answered_once = False
    for m in sorted(messages, key=lambda m: m.at):
        if m.direction == "in":
            waiting = waiting or m
        elif m.direction == "out" and m.author not in AUTOMATIC_AUTHORS and waiting is not None:
            out.append(Timing("next_response" if answered_once else "first_response", waiting.at, m.at, waiting.channel, m.author))
            answered_once, waiting = True, None
    if resolved_at is not None:
        first_channel = next((m.channel for m in sorted(messages, key=lambda m: m.at) if m.direction == "in"), "")
        out.append(Timing("resolution", created_at, resolved_at, first_channel, assignee))
    return out


def summarise(
    found: Iterable[tuple[Timing, str]],
    business: Callable[[datetime, datetime], float] | None = None,
) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """(timing, group key) pairs -> {group: {kind: {count, p50, p90, p99, and business_*}}}."""
    wall: dict[tuple[str, str], list[float]] = defaultdict(list)
    biz: dict[tuple[str, str], list[float]] = defaultdict(list)
    for t, key in found:
        wall[(key, t.kind)].append(t.seconds)
        if business is not None:
            biz[(key, t.kind)].append(business(t.start, t.end))
    groups: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for (key, kind), values in sorted(wall.items()):
        figures: dict[str, float | int | None] = {"count": len(values)}
        for p in (50, 90, 99):
            figures[f"p{p}"] = percentile(values, p)
            figures[f"business_p{p}"] = percentile(biz[(key, kind)], p) if business is not None else None
        groups.setdefault(key, {})[kind] = figures
    return groups
