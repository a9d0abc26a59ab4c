"""`make bench`, security: hostile mail against the SMTP listener while /healthz is polled.

The attack as reproduced: a mail of 45,000 one-byte attachments (~8.9 MB, under the default
10 MiB HUB_EMAIL_MAX_BYTES; each copy with a new Message-ID) held every request of the web
process for 27-38 s while it was parsed on the loop, and was answered 250 after ~40 s. Here
a hub configured as a real install (bench/install.py) takes it, and the first reported case
(5,000 attachments, ~1 MB) before it, while /healthz is asked every 20 ms; the figures are
/healthz's latency during each SMTP transaction (p50, p99, max), the SMTP reply and how long
it took, and the web process's CPU meanwhile. It asserts nothing.

    python -m bench.security_mail
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.install import Install
from bench.procs import cpu_seconds, rss_mb
from tests.channels.email import mails
from tests.support import Hub
from tests.support.probes import POLL_SECONDS, HealthPoll, send_mail

FLOOD_PARTS = 45_000
FIRST_REPORT_PARTS = 5_000


async def one_mail(hub: Hub, poll: HealthPoll, parts: int) -> dict[str, Any]:
    raw = mails.many_attachments(parts, f"<{uuid.uuid4()}@attacker.example>")
    web = hub.procs["web"].pid
    cpu = cpu_seconds(web)
    started = time.monotonic()
    code, text = await send_mail("127.0.0.1", hub.smtp_port, raw, "flood@attacker.example", ["support@bench.example.com"])  # type: ignore[attr-defined]
    ended = time.monotonic()
    await asyncio.sleep(0.5)  # the /healthz asked last returns
    return {"parts": parts, "bytes": len(raw), "smtp_code": code, "smtp_text": text, "reply_s": ended - started,
            "web_cpu_s": cpu_seconds(web) - cpu, **poll.between(started, ended)}


async def run(tmp: Path) -> dict[str, Any]:
    install = Install(tmp)
    env = await install.start()
    hub = Hub(tmp, extra_env=env)
    hub.smtp_port = int(env["HUB_SMTP_LISTEN"].rsplit(":", 1)[1])  # type: ignore[attr-defined]
    out: dict[str, Any] = {"temp_dir": str(tmp), "poll_every_ms": POLL_SECONDS * 1000}
    try:
        await hub.start()
        poll = HealthPoll(hub.url)
        poll.start()
        await asyncio.sleep(3)
        idle = poll.between(time.monotonic() - 2.5, time.monotonic())
        out["idle"] = {k: idle[k] for k in ("healthz_answers", "healthz_p50_ms", "healthz_p99_ms", "healthz_max_ms")}
        out["first_report"] = await one_mail(hub, poll, FIRST_REPORT_PARTS)
        out["flood"] = await one_mail(hub, poll, FLOOD_PARTS)
        await poll.stop()
        out["web_rss_mb"] = rss_mb(hub.procs["web"].pid)
    finally:
        hub.stop()
        await install.stop()
    return out


def line(o: dict[str, Any]) -> str:
    def one(name: str, m: dict[str, Any]) -> str:
        return (f"{name}: {m['parts']} attachments, {m['bytes'] / 1e6:.1f} MB -> SMTP {m['smtp_code']} {m['smtp_text']!r} after {m['reply_s']:.2f} s "
                f"(web CPU {m['web_cpu_s']:.2f} s); /healthz meanwhile {m['healthz_answers']} answers, p50 {m['healthz_p50_ms']:.0f} ms, "
                f"p99 {m['healthz_p99_ms']:.0f} ms, max {m['healthz_max_ms']:.0f} ms, {m['healthz_failed']} failed")

    idle = o["idle"]
    return "\n".join([f"hostile mail: /healthz idle p50 {idle['healthz_p50_ms']:.0f} ms, max {idle['healthz_max_ms']:.0f} ms",
                      one("  first report", o["first_report"]), one("  flood", o["flood"])])


if __name__ == "__main__":
    figures = asyncio.run(run(Path(tempfile.mkdtemp(prefix="hub-security-mail-"))))
    print(line(figures))
    print(json.dumps(figures, indent=1, default=str))
