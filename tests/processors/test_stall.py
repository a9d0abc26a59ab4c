"""The stall watch (processors/stall.py): records waiting that nothing reads for the set
time, nothing rebalancing, are resumed once and then end the worker; progress, an empty
partition or a rebalance start the clock again."""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

import pytest

from processors.stall import EXIT_CODE, FaustStallGuard, Reading, StallWatch


class TP(NamedTuple):
    topic: str
    partition: int


A, B = TP("inbound.messages", 0), TP("inbound.messages", 1)


def test_a_partition_with_records_waiting_and_no_commit_for_the_set_time_is_stalled() -> None:
    watch = StallWatch(after=30)
    assert watch.observe({A: Reading(10, 15), B: Reading(4, 4)}, now=0, settling=False) == []
    assert watch.observe({A: Reading(10, 15), B: Reading(4, 4)}, now=29, settling=False) == []
    assert watch.observe({A: Reading(10, 15), B: Reading(4, 4)}, now=30, settling=False) == [A]


def test_progress_or_an_empty_partition_starts_the_clock_again() -> None:
    watch = StallWatch(after=30)
    watch.observe({A: Reading(10, 15)}, now=0, settling=False)
    assert watch.observe({A: Reading(11, 16)}, now=25, settling=False) == []  # it read one
    assert watch.observe({A: Reading(11, 16)}, now=50, settling=False) == []
    assert watch.observe({A: Reading(11, 16)}, now=55, settling=False) == [A]
    watch.observe({B: Reading(None, 0)}, now=0, settling=False)
    assert watch.observe({B: Reading(None, 0)}, now=100, settling=False) == []  # nothing to read is no stall


def test_a_partition_read_without_a_commit_is_not_stalled() -> None:
    # An overloaded worker reads on while one slow agent holds a partition's acks back.
    watch = StallWatch(after=30)
    watch.observe({A: Reading(10, 900, read=100)}, now=0, settling=False)
    assert watch.observe({A: Reading(10, 950, read=400)}, now=30, settling=False) == []
    assert watch.observe({A: Reading(10, 950, read=800)}, now=60, settling=False) == []
    assert watch.observe({A: Reading(10, 950, read=800)}, now=90, settling=False) == [A]


def test_a_partition_never_committed_with_records_waiting_counts_from_the_start() -> None:
    watch = StallWatch(after=30)
    watch.observe({A: Reading(None, 3)}, now=0, settling=False)
    assert watch.observe({A: Reading(None, 3)}, now=31, settling=False) == [A]


def test_nothing_is_judged_while_settling_and_the_clock_starts_again_after() -> None:
    watch = StallWatch(after=30)
    watch.observe({A: Reading(10, 15)}, now=0, settling=False)
    assert watch.observe({}, now=40, settling=True) == []
    assert watch.observe({A: Reading(10, 15)}, now=41, settling=False) == []
    assert watch.observe({A: Reading(10, 15)}, now=71, settling=False) == [A]


class Flag:
    """A faust flag the guard reads: a flow's `is_set`, a queue's `full`."""

    def __init__(self) -> None:
        self.on = False

    def is_set(self) -> bool:
        return self.on

    def full(self) -> bool:
        return self.on


class FakeConsumer:
    """What the guard reads of faust's consumer, with its pause and flow control."""

    def __init__(self, committed: dict[TP, int | None], ends: dict[TP, int]) -> None:
        self._committed_offset = dict(committed)
        self._read_offset: dict[TP, int | None] = {}
        self.ends = dict(ends)
        self._paused_partitions: set[TP] = set()
        self.suspend_flow = Flag()
        self.resumed: list[list[TP]] = []
        self.flow_resumed = 0
        self._buffered_partitions: set[TP] = set()
        self.buffer_dropped: list[TP] = []

    def assignment(self) -> set[TP]:
        return set(self.ends) | {TP("hub-contacts-changelog", 0)}

    def _is_changelog_tp(self, tp: TP) -> bool:
        return tp.topic.endswith("-changelog")

    async def log_ends(self, tps: Iterable[TP]) -> dict[tuple[str, int], int]:
        assert all(not self._is_changelog_tp(tp) for tp in tps)
        return {(tp.topic, tp.partition): self.ends[tp] for tp in tps}

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        self.resumed.append(sorted(tps))
        self._paused_partitions.difference_update(tps)

    def resume_flow(self) -> None:
        self.flow_resumed += 1
        self.suspend_flow.on = False

    def on_buffer_drop(self, tp: TP) -> None:
        self.buffer_dropped.append(tp)
        self._buffered_partitions.discard(tp)


class FakeChannel:
    def __init__(self) -> None:
        self.queue = Flag()


class FakeConductor:
    def __init__(self) -> None:
        self._topics = {FakeChannel(), FakeChannel()}


class FakeProducerBuffer:
    max_messages = 100

    def __init__(self) -> None:
        self.size = 0


class FakeProducer:
    def __init__(self) -> None:
        self.buffer = FakeProducerBuffer()


class FakeApp:
    def __init__(self, consumer: FakeConsumer) -> None:
        self.consumer = consumer
        self.rebalancing = False
        self.in_recovery = False
        self.topics = FakeConductor()
        self.producer = FakeProducer()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def guarded() -> tuple[FakeApp, Clock, list[int], FaustStallGuard]:
    consumer = FakeConsumer({A: 10, B: 7}, {A: 15, B: 7})
    consumer._paused_partitions.add(A)
    consumer.suspend_flow.on = True
    app, clock, ended = FakeApp(consumer), Clock(), []
    return app, clock, ended, FaustStallGuard(app, 30, consumer.log_ends, clock=clock, end_process=ended.append)


async def test_the_first_stall_resumes_the_partition_and_says_so(guarded: Any, caplog: pytest.LogCaptureFixture) -> None:
    app, clock, ended, guard = guarded
    assert await guard.check() == []
    clock.now = 30
    with caplog.at_level("WARNING", logger="hub.worker"):
        assert await guard.check() == [A]
    assert app.consumer.resumed == [[A]] and app.consumer.flow_resumed == 1 and not ended
    record = next(r for r in caplog.records if r.getMessage().startswith("consumer stalled"))
    assert record.partitions == ["inbound.messages/0"] and record.waiting == {"inbound.messages/0": 5}
    assert record.paused == ["inbound.messages/0"] and record.flow_suspended is True


async def check_at(clock: Clock, guard: FaustStallGuard, *times: float) -> list[Any]:
    """The guard checked at each of `times` in turn; what the last check found."""
    found: list[Any] = []
    for now in times:
        clock.now = now
        found = await guard.check()
    return found


async def test_still_stalled_a_period_after_resuming_ends_the_worker(guarded: Any) -> None:
    app, clock, ended, guard = guarded
    await check_at(clock, guard, 0, 30)
    assert await check_at(clock, guard, 45) == [] and not ended  # the resumed one has a full period again
    assert await check_at(clock, guard, 60) == [A]
    assert ended == [EXIT_CODE]


async def test_a_resumed_partition_that_moves_is_forgiven(guarded: Any) -> None:
    app, clock, ended, guard = guarded
    await check_at(clock, guard, 0, 30)
    app.consumer._committed_offset[A] = 12  # it reads again
    await check_at(clock, guard, 40)
    assert await check_at(clock, guard, 71) == [A]  # stuck again later: resumed again, not ended
    assert ended == [] and app.consumer.resumed == [[A], [A]]


async def test_the_guard_reads_faust_s_read_offsets(guarded: Any) -> None:
    app, clock, ended, guard = guarded
    await guard.check()
    for now, read in ((30, 11), (60, 12), (90, 14)):
        clock.now = now
        app.consumer._read_offset[A] = read  # fetched and handed to the agents, not yet committed
        assert await guard.check() == []
    assert app.consumer.resumed == [] and not ended


async def test_a_rebalance_is_not_a_stall(guarded: Any) -> None:
    app, clock, ended, guard = guarded
    await guard.check()
    app.rebalancing = True
    for now in (30, 60, 90):
        clock.now = now
        assert await guard.check() == []
    assert app.consumer.resumed == [] and not ended


async def test_a_partition_queued_behind_a_full_buffer_while_others_move_is_not_stalled(guarded: Any) -> None:
    app, clock, ended, guard = guarded
    next(iter(app.topics._topics)).queue.on = True  # one agent behind: faust's one fetch loop waits
    await guard.check()
    for now in (30, 60, 90):
        clock.now = now
        app.consumer._committed_offset[B] = app.consumer.ends[B] = 7 + now  # the others are read
        assert await guard.check() == []
    assert app.consumer.resumed == [] and not ended


async def test_a_full_producer_buffer_while_others_move_is_not_a_stall(guarded: Any) -> None:
    app, clock, ended, guard = guarded
    app.producer.buffer.size = 150
    await guard.check()
    for now in (30, 60):
        clock.now = now
        app.consumer._read_offset[B] = int(now)
        assert await guard.check() == []
    assert not ended


async def test_a_full_buffer_with_nothing_moving_anywhere_is_still_a_stall(guarded: Any) -> None:
    app, clock, ended, guard = guarded
    next(iter(app.topics._topics)).queue.on = True  # an agent that takes nothing any more
    await guard.check()
    clock.now = 30
    assert await guard.check() == [A]
    clock.now = 60
    await guard.check()
    assert ended == [EXIT_CODE]


async def test_a_partition_faust_left_out_of_its_fetch_for_a_full_buffer_is_given_back(guarded: Any) -> None:
    app, clock, ended, guard = guarded
    app.consumer._buffered_partitions.add(A)
    await guard.check()
    clock.now = 30
    assert await guard.check() == [A]
    assert app.consumer.buffer_dropped == [A] and app.consumer._buffered_partitions == set()
