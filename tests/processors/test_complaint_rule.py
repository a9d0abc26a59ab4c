"""One complaint rule (`hub.domain.complaints.detected`): the live SLA processor and
`replay --sla` judge the same conversations complaints on a corpus with an auto-reply that
quotes complaint words, a widget's explicit choice, plain words in Persian and English, and
a message that is none; replay names the ComplaintDetected ids the live path logged."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from hub import events as ev
from hub import topics
from hub.domain import complaints, sla
from tests.processors.test_sla_handler import CONFIG, settings_from
from tests.support.worker import InProcessWorker

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)


def conversation(name: str, at: datetime, *messages: tuple[str, dict]) -> list[ev.Event]:
    contact, conv = f"contact-{name}", f"conv-{name}"
    out: list[ev.Event] = [ev.ConversationOpened(id=f"o-{name}", at=at, contact_id=contact, conversation_id=conv, channel="email", address=f"{name}@x")]
    for i, (text, meta) in enumerate(messages):
        out.append(ev.MessageReceived(id=f"m-{name}-{i}", at=at + i * MIN, contact_id=contact, conversation_id=conv, channel="email",
                                      address=f"{name}@x", text=text, meta=meta))
    return out


CORPUS = [
    # an out-of-office answer quoting our complaint words is nobody's complaint
    *conversation("auto", T0, ("where is my parcel?", {}), ("Auto-reply: I am away. Re: your complaint is unacceptable", {"automatic": True})),
    *conversation("words", T0, ("this is unacceptable, I want to complain", {})),
    *conversation("persian", T0, ("از خدمات شما شکایت دارم", {})),
    *conversation("widget", T0, ("hello", {"complaint": True})),
    *conversation("plain", T0, ("thanks, all good", {})),
]
EXPECTED = {"conv-auto": "chat", "conv-words": "complaint", "conv-persian": "complaint", "conv-widget": "complaint", "conv-plain": "chat"}


async def test_replay_and_the_live_path_agree_on_which_conversations_are_complaints(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, CONFIG)
    live = InProcessWorker(settings, only=("sla",))
    for e in CORPUS:
        await live.send(topics.CONVERSATIONS, e.contact_id, e)  # type: ignore[attr-defined]
    logged = live.events(topics.CONVERSATIONS)
    live_policy = {e.conversation_id: e.clocks["policy"] for e in logged if isinstance(e, ev.SlaClocksChanged)}  # the last one wins
    live_complaints = {e.id for e in logged if isinstance(e, ev.ComplaintDetected)}

    outcomes = sla.replay(logged, tuple(settings.sla_policies), settings.calendars, complaints.Detector(), now=T0 + 2 * MIN)
    replay_policy = {o["conversation_id"]: o["policy"] for o in outcomes if o["kind"] == "started"}

    assert live_policy == EXPECTED
    assert replay_policy == EXPECTED
    # replay derives the same ids as the live path, so what it detects is what the log holds
    again = {c.id for e in CORPUS if isinstance(e, ev.MessageReceived) and (c := complaints.detected(e, complaints.Detector()))}
    assert again == live_complaints and len(live_complaints) == 3


def test_the_rule_skips_automatic_mail_and_takes_a_widget_s_choice() -> None:
    detector = complaints.Detector()
    auto, words, widget = (e for e in CORPUS if isinstance(e, ev.MessageReceived) and e.id in ("m-auto-1", "m-words-0", "m-widget-0"))
    assert complaints.detected(auto, detector) is None  # type: ignore[arg-type]
    found = complaints.detected(words, detector)  # type: ignore[arg-type]
    assert found is not None and found.source == "text" and found.id == ev.derived_id("complaint", "conv-words", "text", "m-words-0")
    chosen = complaints.detected(widget, detector)  # type: ignore[arg-type]
    assert chosen is not None and chosen.source == "explicit"
