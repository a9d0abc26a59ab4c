"""A CPU profile of one role, for `make bench` (HUB_PROFILE_DIR): every thread, written when
the role exits. yappi, because it profiles threads (the projector runs on its own) and
needs no ptrace (py-spy cannot attach in this machine's containers). It slows the role
down, so the bench profiles a run of its own."""

from __future__ import annotations

import atexit
import os
from pathlib import Path

TOP = 30


def start_if_asked(role: str) -> None:
    out = os.environ.get("HUB_PROFILE_DIR", "")
    if not out:
        return
    import yappi  # the `bench` extra

    yappi.set_clock_type("cpu")
    yappi.start(builtins=False, profile_threads=True)
    atexit.register(_write, Path(out), role)


def _write(out: Path, role: str) -> None:
    import yappi

    yappi.stop()
    out.mkdir(parents=True, exist_ok=True)
    stats = yappi.get_func_stats()
    total = sum(s.tsub for s in stats) or 1.0
    lines = [f"# {role} (pid {os.getpid()}): CPU seconds by function, every thread; {total:.1f} s in all",
             f"{'self s':>8} {'self %':>6} {'total s':>8} {'calls':>9}  function"]
    for s in sorted(stats, key=lambda s: s.tsub, reverse=True)[:TOP]:
        lines.append(f"{s.tsub:>8.2f} {100 * s.tsub / total:>6.1f} {s.ttot:>8.2f} {s.ncall:>9}  {s.name} ({_short(s.module)}:{s.lineno})")
    threads = sorted(yappi.get_thread_stats(), key=lambda t: t.ttot, reverse=True)
    lines.append("# by thread: " + ", ".join(f"{t.name} {t.ttot:.1f} s" for t in threads))
    (out / f"{role}-{os.getpid()}.txt").write_text("\n".join(lines) + "\n")
    stats.save(str(out / f"{role}-{os.getpid()}.pstat"), type="pstat")


def _short(module: str) -> str:
    for marker in ("site-packages/", "/work/"):
        if marker in module:
            return module.split(marker, 1)[1]
    return module
