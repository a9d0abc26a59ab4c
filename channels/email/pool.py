"""Where the web role reads mail: a few worker processes, never its own event loop.

Mail is bytes from anyone. Parsed on the loop, a 994 KB mail of 5,000 one-byte attachments
held every request of the web process for 3.5 s and an 8.9 MB one for 27-38 s. Here each
mail is parsed in a worker process (started with "spawn": a fresh interpreter, no copy of
the loop, its threads or its sockets), with:

- `WORKERS` workers, each its own single-process ProcessPoolExecutor: killing a worker
  breaks the executor it belongs to and fails every call queued on it, so one executor per
  worker means a hostile mail's worker is killed without taking another mail with it;
- at most `WAITING` mails waiting for a worker; one more is refused at once (`Busy`: the
  SMTP listener answers 451, the IMAP poller leaves the mail unseen for its next pass);
- `SECONDS` per call: past it the call is abandoned, its worker killed and replaced by a
  new one on the next call (`TimedOut`); a call whose caller is cancelled (an SMTP client
  that hung up, the poller stopping) kills its worker the same way, so an abandoned parse
  never goes on burning a core.

One pool per process (`shared()`), created on its first call; the inbound edges `attach()`
when they start and `detach()` when they stop, and the last to stop shuts it down.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, TypeVar

log = logging.getLogger("hub.email.pool")

WORKERS = 2  # the web role's machine has few cores; mail is rare next to requests
WAITING = 8  # a burst of mail waits; a flood is told to come back later
SECONDS = 30.0  # a mail within the parser's limits reads in well under a second

T = TypeVar("T")


class PoolError(RuntimeError):
    """The call did not run to its end; the words say why."""


class Busy(PoolError):
    """Every worker busy and the waiting line full: try again later."""


class TimedOut(PoolError):
    """The call took longer than the pool's time limit; its worker was killed."""


class WorkerDied(PoolError):
    """The worker process ended during the call, not by the pool's hand."""


class Closed(PoolError):
    """The pool was shut down while the call waited or ran."""


def _worker_start(parent: int) -> None:
    # The web role decides when its workers end (it shuts the pool down as its listeners
    # stop): a Ctrl-C at a terminal, or a SIGTERM sent to the whole group or cgroup, would
    # end a worker in the middle of a mail, and the mail would look like the cause.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_end_with, args=(parent,), name="end-with-parent", daemon=True).start()


def _end_with(parent: int) -> None:
    # A worker waits on a queue whose writing end it holds itself, so it would outlive a
    # parent killed with SIGKILL; it watches for being handed to another parent instead.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(70)


class _Worker:
    """One process (a single-worker executor) and, once ended by the pool, why."""

    def __init__(self) -> None:
        self.executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start,
                                            initargs=(os.getpid(),))
        self.ended_by: str = ""

    def pids(self) -> list[int]:
        # ProcessPoolExecutor has no public way to stop a call that is running; its
        # processes (pid -> Process) are where the kill has to go.
        processes: dict[int, Any] = getattr(self.executor, "_processes", None) or {}
        return list(processes)

    def kill(self, why: str) -> None:
        self.ended_by = why
        processes: dict[int, Any] = getattr(self.executor, "_processes", None) or {}
        for process in list(processes.values()):
            try:
                process.kill()
            except (OSError, ValueError, AttributeError):  # already gone
                pass
        # Not joined here (this may run inside a cancellation): the executor's own manager
        # thread sees the process end and joins it.
        self.executor.shutdown(wait=False, cancel_futures=True)


class MailPool:
    def __init__(self, workers: int = WORKERS, waiting: int = WAITING, seconds: float = SECONDS) -> None:
        self.workers = workers
        self.waiting = waiting
        self.seconds = seconds
        self._slots: list[_Worker | None] = [None] * workers
        self._free: list[int] = list(reversed(range(workers)))  # slot 0 first: a quiet hub runs one process
        self._waiters: deque[asyncio.Future[int]] = deque()
        self._users = 0
        self._generation = 0  # bumped by shutdown: a call begun before it ends as Closed

    @property
    def busy(self) -> int:
        return self.workers - len(self._free)

    @property
    def queued(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    def attach(self) -> "MailPool":
        self._users += 1
        return self

    async def detach(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0:
            await self.shutdown()

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        """`fn(*args)` in a worker process (both must pickle). Busy, TimedOut, WorkerDied or
        Closed when it did not run to its end; whatever `fn` raised, as it raised it."""
        generation = self._generation
        slot = await self._acquire()
        try:
            return await self._call(slot, generation, fn, args)
        finally:
            self._release(slot)

    async def _call(self, slot: int, generation: int, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        worker = self._slots[slot]
        if worker is None or worker.ended_by:
            worker = self._slots[slot] = _Worker()
        try:
            future: Future[T] = worker.executor.submit(fn, *args)
        except BrokenProcessPool:
            # It ended while idle (killed from outside), which is no fault of this call's.
            log.warning("mail reader process had ended while idle; starting another", extra={"slot": slot})
            worker = self._slots[slot] = _Worker()
            future = worker.executor.submit(fn, *args)
        waiting = asyncio.wrap_future(future)
        try:
            done, _ = await asyncio.wait({waiting}, timeout=self.seconds)
        except asyncio.CancelledError:
            waiting.cancel()  # its worker's end is nobody's to hear
            if not future.done():
                worker.kill("abandoned")
                self._slots[slot] = None
                log.info("mail reader abandoned by its caller; worker ended", extra={"slot": slot})
            raise
        if not done:
            worker.kill("time limit")
            self._slots[slot] = None
            waiting.cancel()
            log.warning("mail reader over its time limit; worker ended", extra={"slot": slot, "seconds": self.seconds})
            raise TimedOut(f"reading it took over {self.seconds:g} s")
        try:
            return waiting.result()
        except BrokenProcessPool:
            self._slots[slot] = None
            if worker.ended_by == "shutdown" or generation != self._generation:
                raise Closed("the mail reader was shut down") from None
            log.error("mail reader process ended during a call", extra={"slot": slot})
            raise WorkerDied("the mail reader process ended while reading it") from None

    async def _acquire(self) -> int:
        if self._free and not self.queued:
            return self._free.pop()
        if self.queued >= self.waiting:
            raise Busy(f"{self.busy} mails are being read and {self.queued} are waiting")
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result())  # handed a worker just as this caller left
            raise

    def _release(self, slot: int) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(slot)
                return
        self._free.append(slot)

    async def shutdown(self) -> None:
        """Ends every worker: idle ones as they finish (nothing is running), busy ones
        killed. Callers waiting get Closed. A later call starts workers again."""
        self._generation += 1
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(Closed("the mail reader is shutting down"))
        busy = set(range(self.workers)) - set(self._free)
        ending: list[_Worker] = []
        for slot, worker in enumerate(self._slots):
            if worker is None:
                continue
            self._slots[slot] = None
            if slot in busy:
                worker.kill("shutdown")
            else:
                worker.ended_by = "shutdown"
            ending.append(worker)
        for worker in ending:
            await asyncio.to_thread(worker.executor.shutdown, wait=True, cancel_futures=True)
        if ending:
            log.info("mail readers stopped", extra={"workers": len(ending)})


_shared: MailPool | None = None


def shared() -> MailPool:
    """This process's pool; its workers start with the first call."""
    global _shared
    if _shared is None:
        _shared = MailPool()
    return _shared
