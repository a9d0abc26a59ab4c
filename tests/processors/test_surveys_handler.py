"""The surveys processor in process (InProcessWorker, dict tables, a recording sender): a
resolution asks on the customer's last channel in her language, a reply that is only a
score answers within the window and opens nothing, outside it is a new message; automatic
resolutions, opted-out numbers and escalating complaints are not asked; a delay waits; an
unanswered survey expires; a low CSAT climbs a csat_low ladder; a rebuild from the log
gives the same state."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import channels.registry  # noqa: F401 - at import, before the unit guard: twilio's urllib3 probes IPv6 with a socket when imported
from hub import config, topics
from hub import events as ev
from hub.config import Settings
from hub.domain import survey_state
from hub.domain.surveys import survey_of_token
from processors.surveys import SurveysHandler
from tests.support.worker import InProcessWorker

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
PHONE = "+989121234567"
CONTACT = "contact-sms-1"
SURVEYS = """
[surveys]
window = "3d"
nps_every = "90d"
low = 2
csat_question = { fa = "از پاسخ ما راضی بودید؟ ۱ تا ۵" }

[[sla]]
name = "all"
first_response = "10m"

[[escalation]]
name = "unhappy"
when = { csat_low = true }
levels = [ { after = "0s", notify = ["role:lead"] }, { after = "1h", notify = ["role:manager"] } ]
"""


def settings_from(tmp_path: Path, toml: str = SURVEYS) -> Settings:
    path = tmp_path / "hub.toml"
    path.write_text(toml, encoding="utf-8")
    return config.load({"HUB_SECRET_KEY": "k" * 40, "HUB_CONFIG": str(path), "HUB_PUBLIC_URL": "https://hub.example"})


@pytest.fixture
def worker(tmp_path: Path) -> InProcessWorker:
    return InProcessWorker(settings_from(tmp_path))


def sms(text: str, at: datetime, n: int = 1, channel: str = "sms", contact: str = CONTACT) -> ev.InboundMessageAccepted:
    return ev.InboundMessageAccepted(id=f"in-{channel}-{n}-{at.timestamp()}", at=at, contact_id=contact, channel=channel, address=PHONE, text=text)


async def conversation_of(w: InProcessWorker, text: str, at: datetime, n: int = 1, channel: str = "sms") -> str:
    await w.send(topics.INBOUND, CONTACT, sms(text, at, n, channel))
    opened = w.events(topics.CONVERSATIONS, "ConversationOpened", "ConversationReopened")
    return opened[-1].conversation_id


async def resolve(w: InProcessWorker, conversation_id: str, at: datetime, *, automatic: bool = False, agent: str = "sara") -> None:
    await w.send(topics.CONVERSATIONS, CONTACT, ev.ConversationResolved(id=f"resolved-{conversation_id}-{at.timestamp()}", at=at, contact_id=CONTACT,
                                                                       conversation_id=conversation_id, queue="support", agent=agent, by=agent,
                                                                       automatic=automatic))


async def reply(w: InProcessWorker, conversation_id: str, at: datetime) -> None:
    await w.send(topics.CONVERSATIONS, CONTACT, ev.ReplyRequested(id=f"reply-{at.timestamp()}", at=at, contact_id=CONTACT, conversation_id=conversation_id,
                                                                 channel="sms", address=PHONE, text="سلام، پیگیری شد", author="sara"))


async def test_a_resolution_asks_on_her_channel_in_her_language_and_a_persian_four_answers_it(worker: InProcessWorker) -> None:
    conv = await conversation_of(worker, "سفارشم کجاست؟", T0)
    await reply(worker, conv, T0 + timedelta(minutes=2))
    await resolve(worker, conv, T0 + timedelta(minutes=5))
    [asked] = worker.events(topics.CONVERSATIONS, "SurveyAsked")
    assert (asked.kind, asked.channel, asked.address, asked.language) == ("csat", "sms", PHONE, "fa")
    assert asked.question == "از پاسخ ما راضی بودید؟ ۱ تا ۵" and asked.scale == [1, 5]
    assert (asked.agent, asked.queue, asked.sla) == ("sara", "support", "met")  # replied within the 10-minute first response
    assert asked.expires_at == asked.at + timedelta(days=3)
    # dispatch sent the question, with the page's link, signed for this survey
    [sent] = [r for r in worker.sender.sent if r.survey]
    assert sent.text == asked.question and sent.address == PHONE and sent.survey["id"] == asked.id
    token = sent.survey["url"].rsplit("/", 1)[1]
    assert sent.survey["url"].startswith("https://hub.example/survey/") and survey_of_token("k" * 40, token) == asked.id
    assert [e.message_id for e in worker.events(topics.CONVERSATIONS, "MessageDelivered")][-1] == asked.id

    opened_before = len(worker.events(topics.CONVERSATIONS, "ConversationOpened", "ConversationReopened", "MessageReceived"))
    await worker.send(topics.INBOUND, CONTACT, sms("۴", T0 + timedelta(hours=2), n=2))
    [answered] = worker.events(topics.CONVERSATIONS, "SurveyAnswered")
    assert (answered.survey_id, answered.score, answered.kind, answered.low, answered.agent, answered.sla) == (asked.id, 4, "csat", False, "sara", "met")
    assert answered.conversation_id == conv and answered.message_id.startswith("in-sms-2")
    # the score opened nothing, joined nothing
    assert len(worker.events(topics.CONVERSATIONS, "ConversationOpened", "ConversationReopened", "MessageReceived")) == opened_before
    # a second score is a message like any other: the survey took one answer
    await worker.send(topics.INBOUND, CONTACT, sms("5", T0 + timedelta(hours=3), n=3))
    assert len(worker.events(topics.CONVERSATIONS, "SurveyAnswered")) == 1
    assert worker.events(topics.CONVERSATIONS, "ConversationOpened", "ConversationReopened")[-1].at == T0 + timedelta(hours=3)


async def test_a_four_after_the_window_is_a_new_message_and_the_survey_expired(worker: InProcessWorker) -> None:
    conv = await conversation_of(worker, "hello", T0)
    await resolve(worker, conv, T0 + timedelta(minutes=5))
    [asked] = worker.events(topics.CONVERSATIONS, "SurveyAsked")
    assert asked.language == "en" and asked.sla == "none"  # no reply: the first response was never met
    await worker.tick(T0 + timedelta(days=2))
    assert not worker.events(topics.CONVERSATIONS, "SurveyExpired")
    await worker.tick(asked.expires_at + timedelta(seconds=1))
    [expired] = worker.events(topics.CONVERSATIONS, "SurveyExpired")
    assert expired.survey_id == asked.id
    await worker.tick(asked.expires_at + timedelta(seconds=2))
    assert len(worker.events(topics.CONVERSATIONS, "SurveyExpired")) == 1  # once
    await worker.send(topics.INBOUND, CONTACT, sms("۴", asked.expires_at + timedelta(hours=1), n=2))
    assert not worker.events(topics.CONVERSATIONS, "SurveyAnswered")
    received = worker.events(topics.CONVERSATIONS, "MessageReceived")
    assert received[-1].text == "۴"


async def test_a_score_on_another_channel_or_with_words_around_it_is_a_message(worker: InProcessWorker) -> None:
    conv = await conversation_of(worker, "hello", T0)
    await resolve(worker, conv, T0 + timedelta(minutes=5))
    await worker.send(topics.INBOUND, CONTACT, sms("4", T0 + timedelta(hours=1), n=2, channel="whatsapp"))
    await worker.send(topics.INBOUND, CONTACT, sms("4 but it was slow", T0 + timedelta(hours=1), n=3))
    assert not worker.events(topics.CONVERSATIONS, "SurveyAnswered")
    assert [e.text for e in worker.events(topics.CONVERSATIONS, "MessageReceived")][-2:] == ["4", "4 but it was slow"]


async def test_who_is_not_asked(worker: InProcessWorker) -> None:
    conv = await conversation_of(worker, "hello", T0)
    await resolve(worker, conv, T0 + timedelta(minutes=5), automatic=True)
    assert not worker.events(topics.CONVERSATIONS, "SurveyAsked")  # an automatic resolution
    conv = await conversation_of(worker, "شکایت دارم از شما", T0 + timedelta(hours=1), n=2)
    assert worker.events(topics.CONVERSATIONS, "ComplaintDetected")
    await resolve(worker, conv, T0 + timedelta(hours=2))
    assert not worker.events(topics.CONVERSATIONS, "SurveyAsked")  # a complaint being escalated
    await worker.send(topics.CONVERSATIONS, CONTACT, ev.ContactOptedOut(id="stop", at=T0 + timedelta(hours=3), contact_id=CONTACT, conversation_id=conv,
                                                                       channel="sms", address=PHONE, keyword="STOP"))
    conv = await conversation_of(worker, "hi again", T0 + timedelta(hours=4), n=3)
    await resolve(worker, conv, T0 + timedelta(hours=5))
    assert not worker.events(topics.CONVERSATIONS, "SurveyAsked")  # an opted-out number


async def test_asked_again_only_after_the_window_and_nps_once_per_period(worker: InProcessWorker) -> None:
    conv = await conversation_of(worker, "hello", T0)
    await resolve(worker, conv, T0 + timedelta(minutes=5))
    await worker.send(topics.CONVERSATIONS, CONTACT, ev.ConversationReopened(id="re1", at=T0 + timedelta(hours=1), contact_id=CONTACT, conversation_id=conv))
    await resolve(worker, conv, T0 + timedelta(hours=2))
    assert [e.kind for e in worker.events(topics.CONVERSATIONS, "SurveyAsked")] == ["csat"]  # within the window of its last survey
    await worker.send(topics.CONVERSATIONS, CONTACT, ev.ConversationReopened(id="re2", at=T0 + timedelta(days=4), contact_id=CONTACT, conversation_id=conv))
    await resolve(worker, conv, T0 + timedelta(days=4, hours=1))
    assert [e.kind for e in worker.events(topics.CONVERSATIONS, "SurveyAsked")] == ["csat", "nps"]  # after it: asked again, NPS now
    later = await conversation_of(worker, "another question", T0 + timedelta(days=10), n=2)
    await resolve(worker, later, T0 + timedelta(days=10, hours=1))
    assert [e.kind for e in worker.events(topics.CONVERSATIONS, "SurveyAsked")] == ["csat", "nps", "csat"]  # NPS once per 90 days
    after_period = await conversation_of(worker, "a question months later", T0 + timedelta(days=100), n=3)
    await resolve(worker, after_period, T0 + timedelta(days=100, hours=1))
    assert [e.kind for e in worker.events(topics.CONVERSATIONS, "SurveyAsked")][-1] == "nps"


async def test_a_score_of_one_is_low_and_climbs_the_csat_low_ladder_to_the_lead_once(worker: InProcessWorker) -> None:
    conv = await conversation_of(worker, "hello", T0)
    await resolve(worker, conv, T0 + timedelta(minutes=5))
    await worker.send(topics.INBOUND, CONTACT, sms("خیلی بد", T0 + timedelta(minutes=30), n=2))
    [answered] = worker.events(topics.CONVERSATIONS, "SurveyAnswered")
    assert answered.score == 1 and answered.low
    await worker.tick(T0 + timedelta(minutes=31))
    await worker.tick(T0 + timedelta(minutes=32))
    [level] = worker.events(topics.CONVERSATIONS, "Escalated")
    assert (level.ladder, level.level, level.notify, level.conversation_id) == ("unhappy", 1, ["role:lead"], conv)
    assert "CSAT 1" in level.reason
    # no reopening: the conversation stays resolved
    assert not worker.events(topics.CONVERSATIONS, "ConversationReopened")
    await worker.send(topics.CONVERSATIONS, CONTACT, ev.EscalationAcknowledged(id="ack", at=T0 + timedelta(minutes=40), contact_id=CONTACT,
                                                                              conversation_id=conv, escalation_id=level.id, ladder="unhappy", by="lena"))
    await worker.tick(T0 + timedelta(hours=3))
    assert len(worker.events(topics.CONVERSATIONS, "Escalated")) == 1  # acknowledged: the manager is not told


async def test_answers_from_buttons_are_checked_against_the_open_survey(worker: InProcessWorker) -> None:
    conv = await conversation_of(worker, "hello", T0)
    await resolve(worker, conv, T0 + timedelta(minutes=5))
    [asked] = worker.events(topics.CONVERSATIONS, "SurveyAsked")

    def submitted(score: int, survey: str = asked.id, at: datetime = T0 + timedelta(hours=1)) -> ev.SurveyAnswerSubmitted:
        return ev.SurveyAnswerSubmitted(id=f"sub-{survey}-{score}-{at.timestamp()}", at=at, contact_id=CONTACT, survey_id=survey, score=score, comment="",
                                        channel="web")

    await worker.send(topics.INBOUND, CONTACT, submitted(9))  # off the CSAT scale
    await worker.send(topics.INBOUND, CONTACT, submitted(3, survey="made-up"))
    await worker.send(topics.INBOUND, CONTACT, submitted(3, at=asked.expires_at))  # at the end of the window
    assert not worker.events(topics.CONVERSATIONS, "SurveyAnswered")
    await worker.send(topics.INBOUND, CONTACT, submitted(5))
    await worker.send(topics.INBOUND, CONTACT, submitted(2))  # answered already
    [answered] = worker.events(topics.CONVERSATIONS, "SurveyAnswered")
    assert (answered.score, answered.channel, answered.low) == (5, "web", False)


async def test_a_delay_waits_and_a_reopening_before_it_cancels(tmp_path: Path) -> None:
    w = InProcessWorker(settings_from(tmp_path, SURVEYS.replace('window = "3d"', 'window = "3d"\ndelay = "10m"')))
    conv = await conversation_of(w, "hello", T0)
    await resolve(w, conv, T0 + timedelta(minutes=5))
    await w.tick(T0 + timedelta(minutes=10))
    assert not w.events(topics.CONVERSATIONS, "SurveyAsked")
    await w.tick(T0 + timedelta(minutes=15, seconds=1))
    [asked] = w.events(topics.CONVERSATIONS, "SurveyAsked")
    assert asked.at == T0 + timedelta(minutes=15, seconds=1) and asked.expires_at == asked.at + timedelta(days=3)
    await w.tick(T0 + timedelta(minutes=16))
    assert len(w.events(topics.CONVERSATIONS, "SurveyAsked")) == 1
    other = await conversation_of(w, "a new question", T0 + timedelta(days=5), n=2)
    await resolve(w, other, T0 + timedelta(days=5, minutes=1))
    await w.send(topics.CONVERSATIONS, CONTACT, ev.ConversationReopened(id="re", at=T0 + timedelta(days=5, minutes=2), contact_id=CONTACT, conversation_id=other))
    await w.tick(T0 + timedelta(days=5, minutes=30))
    assert len(w.events(topics.CONVERSATIONS, "SurveyAsked")) == 1


async def test_a_breached_first_response_is_carried_to_the_answer(worker: InProcessWorker) -> None:
    conv = await conversation_of(worker, "hello", T0)
    await worker.tick(T0 + timedelta(minutes=11))  # the 10-minute first response breaches
    assert worker.events(topics.CONVERSATIONS, "SlaBreached")
    await reply(worker, conv, T0 + timedelta(minutes=12))
    await resolve(worker, conv, T0 + timedelta(minutes=20))
    await worker.send(topics.INBOUND, CONTACT, sms("3", T0 + timedelta(minutes=30), n=2))
    [answered] = worker.events(topics.CONVERSATIONS, "SurveyAnswered")
    assert answered.sla == "breached" and answered.score == 3


async def test_a_rebuild_from_the_log_gives_the_same_survey_state(worker: InProcessWorker, tmp_path: Path) -> None:
    conv = await conversation_of(worker, "hello", T0)
    await resolve(worker, conv, T0 + timedelta(minutes=5))
    await worker.send(topics.INBOUND, CONTACT, sms("4", T0 + timedelta(minutes=30), n=2))
    second = await conversation_of(worker, "again", T0 + timedelta(days=5), n=3)
    await resolve(worker, second, T0 + timedelta(days=5, minutes=5))
    live = worker.table("surveys")[CONTACT]
    assert len(live["asked"]) == 2 and len(live["open"]) == 1
    fresh = SurveysHandler(settings_from(tmp_path))
    readers = {"InboundMessageAccepted", *(t for t in ("SurveyAnswerSubmitted",))}
    history = [ev.from_json(r.value) for r in worker.recorded() if r.topic in (topics.INBOUND.name, topics.CONVERSATIONS.name)]
    await fresh.rebuild(e for e in history if e.type in readers or isinstance(e, ev.ConversationEvent))
    assert fresh.table[CONTACT] == live
    assert survey_state.next_due(fresh.table[CONTACT]) == survey_state.next_due(live)
