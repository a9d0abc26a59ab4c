"""The mail readers (channels/email/pool.py) as real processes: a mail is parsed in another
process and comes back whole; a call over the time limit is abandoned and its worker killed
and replaced; a full waiting line is refused at once; an abandoned call ends its worker; a
worker that dies is reported; shutting down ends every worker."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from channels.email import pool
from channels.email.parse import TooComplex, parse, read_mail
from tests.channels.email import mails

pytestmark = pytest.mark.integration


def alive(pid: int) -> bool:
    """The process runs (a zombie, ended but not yet joined by its executor, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # ended before or while /proc was read
        return False


async def gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return not alive(pid)


async def test_a_mail_is_parsed_in_a_worker_process_and_comes_back_whole() -> None:
    readers = pool.MailPool(workers=1)
    try:
        raw = mails.persian_windows_1256("ali@customer.example", "<fa@x>")
        reading = await readers.run(read_mail, raw, 1_000_000, None, None)
        assert reading.pid != os.getpid()
        assert reading.mail == parse(raw, max_attachment_bytes=1_000_000)
        # a refusal crosses back as the exception the parser raised, reason and all
        with pytest.raises(TooComplex, match="over 200 MIME parts"):
            await readers.run(read_mail, mails.many_attachments(500, "<f@x>"), 1_000_000, None, None)
        assert (await readers.run(read_mail, raw, 1_000_000, None, None)).pid == reading.pid  # the worker stays for the next mail
    finally:
        await readers.shutdown()
    assert await gone(reading.pid)


async def test_a_call_over_the_time_limit_is_abandoned_and_its_worker_replaced() -> None:
    readers = pool.MailPool(workers=1, seconds=3.0)  # room for a worker to start on a loaded machine
    try:
        first = await readers.run(os.getpid)
        started = time.monotonic()
        with pytest.raises(pool.TimedOut, match="over 3 s"):
            await readers.run(time.sleep, 60)
        assert time.monotonic() - started < 30  # abandoned, not waited for
        assert await gone(first)
        second = await readers.run(os.getpid)
        assert second != first and alive(second)
    finally:
        await readers.shutdown()


async def test_a_full_waiting_line_is_refused_at_once_and_the_others_run() -> None:
    readers = pool.MailPool(workers=1, waiting=1)
    try:
        running = asyncio.create_task(readers.run(time.sleep, 1.5))
        await asyncio.sleep(0.2)
        queued = asyncio.create_task(readers.run(os.getpid))
        await asyncio.sleep(0.1)
        assert (readers.busy, readers.queued) == (1, 1)
        with pytest.raises(pool.Busy):
            await readers.run(os.getpid)
        await running
        assert isinstance(await queued, int)
        assert (readers.busy, readers.queued) == (0, 0)
    finally:
        await readers.shutdown()


async def test_an_abandoned_call_ends_its_worker_and_one_mail_never_takes_another_down() -> None:
    readers = pool.MailPool(workers=2)
    try:
        pids = set(await asyncio.gather(readers.run(os.getpid), readers.run(os.getpid)))
        slow = asyncio.create_task(readers.run(time.sleep, 60))
        other = asyncio.create_task(readers.run(time.sleep, 1.0))
        await asyncio.sleep(0.5)
        slow.cancel()  # an SMTP client that hung up mid-mail
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert await other is None  # the other worker's call ran to its end
        assert sum(1 for pid in pids if alive(pid)) == 1
    finally:
        await readers.shutdown()


async def test_a_worker_that_dies_is_reported_and_replaced() -> None:
    readers = pool.MailPool(workers=1)
    try:
        with pytest.raises(pool.WorkerDied):
            await readers.run(os._exit, 3)
        assert isinstance(await readers.run(os.getpid), int)
    finally:
        await readers.shutdown()


async def test_shutdown_ends_busy_and_idle_workers_and_tells_their_callers() -> None:
    readers = pool.MailPool(workers=2).attach()
    idle = await readers.run(os.getpid)
    busy = asyncio.create_task(readers.run(time.sleep, 60))
    await asyncio.sleep(0.5)
    await readers.detach()  # the last edge stopped
    with pytest.raises(pool.Closed):
        await busy
    assert await gone(idle)
    assert (readers.busy, readers.queued) == (0, 0)
