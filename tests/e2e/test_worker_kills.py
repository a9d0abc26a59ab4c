"""Batches and kills: the worker SIGKILLed three times during 5,000 SMS from 200 senders while
an agent replies. Every message stored once, one conversation per sender, every reply sent
to the provider once, except sends marked `repeated` (at most one per kill)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import AsyncIterator

import pytest

from tests.channels.sms.fake_twilio import FakeTwilio
from tests.support import PRODUCTION_SESSIONS, Hub
from tests.support.chaos import SID, TOKEN, run, sms_env

pytestmark = pytest.mark.integration


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(SID, TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


async def test_three_worker_kills_during_5000_messages_lose_duplicate_and_split_nothing(tmp_path: Path, twilio: FakeTwilio) -> None:
    # once, in a full-suite run, a worker started again after a kill stopped reading one
    # partition (faust-streaming #175/#523); its stall watch now resumes it or ends it, and
    # the harness starts an ended worker again as `contacthub run` does (processors/stall.py)
    hub = await Hub(tmp_path, extra_env={**sms_env(twilio), **PRODUCTION_SESSIONS, "HUB_STALL_SECONDS": os.environ.get("KT_STALL", "15")}).start()
    try:
        figures = await run(hub, twilio, messages=5000, senders=200, kills=3, settle_timeout=180)
        print(figures.line())
        assert figures.kills == 3
        assert figures.accepted == 5000 and not figures.notes, figures.line()
        assert (figures.lost, figures.duplicated) == (0, 0), figures.line()
        assert figures.conversations == 200, figures.line()
        assert figures.replies_accepted > 0 and figures.replies_unsent == 0, figures.line()
        # a send is repeated only when a kill (or an ended worker) came inside the provider call, and then it says so
        assert figures.replies_sent_twice <= figures.marked_repeated <= figures.kills + figures.restarts, figures.line()
    finally:
        hub.stop()
