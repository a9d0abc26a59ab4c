"""Where a role's threads spend their time, for `make bench` (HUB_PROFILE_DIR): a sampler
thread looks at every thread's stack 100 times a second (`sys._current_frames`) and counts,
for the samples where the thread was not waiting (in epoll, a queue or a lock), the
function on top of the stack (self) and every function on it (total), while a file
`sampling` is in that directory (the bench makes it for the load only). Written when the
role exits. A sampler, not cProfile or yappi: both slowed the worker three- to tenfold
under load, so what they named was their own cost; py-spy cannot attach in this
machine's containers. A sample counts where the thread's CPU time (/proc, in 10 ms ticks)
moved since the one before, so a thread waiting inside a C call is not counted as running."""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

TOP = 30
ON = "sampling"  # samples are taken while this file is in HUB_PROFILE_DIR (the bench's load, not the start)
INTERVAL = 0.01  # the kernel counts CPU in 10 ms ticks
#: functions a thread sits in while it waits for something, not running
WAITING = {"select", "poll", "epoll", "get", "wait", "_wait_for_tstate_lock", "acquire", "sleep", "_worker", "accept", "recv_into", "readline"}


class Sampler:
    def __init__(self) -> None:
        self.own: Counter[str] = Counter()
        self.total: Counter[str] = Counter()
        self.threads: Counter[str] = Counter()
        self.samples = 0
        self.running = 0
        self.seconds = 0.0  # while switched on
        self.since = 0.0
        self.stopped = threading.Event()

    def run(self, switch: Path) -> None:
        me = threading.get_ident()
        ticks: dict[int, int] = {}
        checked = 0.0
        on = False
        while not self.stopped.wait(INTERVAL):
            if time.monotonic() - checked > 0.1:
                checked, was = time.monotonic(), on
                on = switch.exists()
                self.seconds += (time.monotonic() - self.since) if was and not on else 0.0
                self.since = time.monotonic() if on and not was else self.since
            if not on:
                ticks.clear()
                continue
            threads = {t.ident: t for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():  # noqa: SLF001 - the documented way to see other threads
                if ident == me or ident not in threads:
                    continue
                self.samples += 1
                # the thread ran since the last sample if its CPU ticks moved (a C call such as
                # sqlite's or a queue's get shows the same Python frame running or waiting)
                tid = threads[ident].native_id or 0
                now, before = _cpu_ticks(tid), ticks.get(tid)
                ticks[tid] = now
                if before is None or now == before or frame.f_code.co_name in WAITING:
                    continue
                names = {i: t.name for i, t in threads.items()}
                self.running += 1
                self.threads[names.get(ident, str(ident))] += 1
                self.own[_where(frame)] += 1
                seen: set[str] = set()
                f: FrameType | None = frame
                while f is not None:
                    where = _where(f)
                    if where not in seen:
                        seen.add(where)
                        self.total[where] += 1
                    f = f.f_back


def _cpu_ticks(tid: int) -> int:
    try:
        fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def _where(frame: FrameType) -> str:
    code = frame.f_code
    return f"{code.co_name} ({_short(code.co_filename)}:{code.co_firstlineno})"


def start_if_asked(role: str) -> None:
    out = os.environ.get("HUB_PROFILE_DIR", "")
    if not out:
        return
    sampler = Sampler()
    threading.Thread(target=sampler.run, args=(Path(out) / ON,), name="profile-sampler", daemon=True).start()
    atexit.register(_write, sampler, Path(out), role)


def _write(sampler: Sampler, out: Path, role: str) -> None:
    sampler.stopped.set()
    out.mkdir(parents=True, exist_ok=True)
    seconds = sampler.seconds
    running = sampler.running or 1
    lines = [f"# {role} (pid {os.getpid()}): {sampler.running} of {sampler.samples} thread samples running over {seconds:.0f} s "
             f"(every {INTERVAL * 1000:.0f} ms); share of the running samples",
             "# by thread: " + ", ".join(f"{name} {100 * n / running:.0f} %" for name, n in sampler.threads.most_common(8)),
             f"{'self %':>6} {'total %':>7}  function"]
    for where, n in sampler.own.most_common(TOP):
        lines.append(f"{100 * n / running:>6.1f} {100 * sampler.total[where] / running:>7.1f}  {where}")
    lines.append("# the most inclusive (total %), below the event loop")
    for where, n in sampler.total.most_common(TOP + 12)[12:]:
        lines.append(f"{100 * sampler.own[where] / running:>6.1f} {100 * n / running:>7.1f}  {where}")
    (out / f"{role}-{os.getpid()}.txt").write_text("\n".join(lines) + "\n")


def _short(module: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in module:
            return module.split(marker, 1)[1]
    return module
