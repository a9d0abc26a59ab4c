"""`make chaos`: 100,000 SMS from 1,000 senders while an agent replies, a worker SIGKILLed
every 30-60 s; then what was lost, duplicated, split and sent twice (tests/support/chaos.py,
which the e2e test runs with 5,000 messages and three kills). Not part of `make test`.

    python -m bench.chaos [--messages 100000] [--senders 1000] [--kill-every 30,60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from tests.channels.sms.fake_twilio import FakeTwilio
from tests.support import Hub
from tests.support.chaos import SID, TOKEN, run, sms_env

RESULTS = Path(__file__).parent / "results"


async def main(args: argparse.Namespace) -> int:
    low, high = (float(x) for x in args.kill_every.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="hub-chaos-"))
    print(f"temp dir: {tmp}", flush=True)
    twilio = FakeTwilio(SID, TOKEN)
    await twilio.start()
    hub = Hub(tmp, args.database, extra_env=sms_env(twilio))
    try:
        await hub.start()
        figures = await run(hub, twilio, messages=args.messages, senders=args.senders, kill_every=(low, high), settle_timeout=1800)
    finally:
        hub.stop()
        await twilio.stop()
    print(figures.line())
    for note in figures.notes:
        print(f"note: {note}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "chaos.json").write_text(json.dumps({**asdict(figures), "lost": figures.lost, "duplicated": figures.duplicated,
                                                     "split": figures.split, "temp_dir": str(tmp)}, indent=1))
    bad = figures.lost or figures.duplicated or figures.split or figures.replies_unsent or figures.replies_sent_twice > figures.marked_repeated
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--senders", type=int, default=1000)
    parser.add_argument("--kill-every", default="30,60", help="seconds between worker kills, min,max")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    sys.exit(asyncio.run(main(parser.parse_args())))
