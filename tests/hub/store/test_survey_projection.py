"""Surveys in the read model, on SQLite and PostgreSQL: a conversation's `surveys` as its JSON
shows them (asked, delivered, answered, expired, a low score flagged), a replay that changes
nothing, and the satisfaction report over seeded surveys against a hand computation (met,
breached and no first-response outcome; CSAT and NPS; by channel, queue and agent; a day
series in Tehran's days)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hub import events as ev
from hub.domain.surveys import report_of
from hub.store import queries, reports
from tests.hub.store.test_projection import CONTACT, T0, Store, opened, received, snapshot, store  # noqa: F401


def asked(sid: str, conv: str, kind: str = "csat", *, at: datetime = T0, channel: str = "sms", agent: str = "sara", queue: str = "support",
          sla: str = "met") -> ev.SurveyAsked:
    return ev.SurveyAsked(id=sid, at=at, contact_id=CONTACT, conversation_id=conv, kind=kind, channel=channel, address="+989121234567", language="fa",
                          question="راضی بودید؟", scale=[1, 5] if kind == "csat" else [0, 10], expires_at=at + timedelta(days=3), agent=agent,
                          queue=queue, sla=sla)


def answered(a: ev.SurveyAsked, score: int, *, low: bool = False, after: timedelta = timedelta(hours=1), comment: str = "") -> ev.SurveyAnswered:
    return ev.SurveyAnswered(id=ev.derived_id("survey-answered", a.id), at=a.at + after, contact_id=CONTACT, conversation_id=a.conversation_id,
                             survey_id=a.id, kind=a.kind, score=score, comment=comment, channel=a.channel, agent=a.agent, queue=a.queue, sla=a.sla, low=low)


def expired(a: ev.SurveyAsked) -> ev.SurveyExpired:
    return ev.SurveyExpired(id=ev.derived_id("survey-expired", a.id), at=a.expires_at, contact_id=CONTACT, conversation_id=a.conversation_id,
                            survey_id=a.id, kind=a.kind)


async def conversation_json(store: Store, conv: str) -> dict[str, Any]:  # noqa: F811
    async with store.sessions() as s:
        found = await queries.get_conversation(s, conv)
    assert found is not None
    return dict(found)


async def test_a_conversation_shows_its_surveys_and_a_low_score_flags_it(store: Store) -> None:  # noqa: F811
    await store.apply([opened("c1"), received("c1", "m1", T0)])
    first = asked("s1", "c1", at=T0 + timedelta(minutes=5))
    delivered = ev.MessageDelivered(id="d-s1", at=first.at, contact_id=CONTACT, conversation_id="c1", message_id="s1", status="sent", provider_id="SM1")
    frames = await store.apply([first, delivered])
    shown = (await conversation_json(store, "c1"))["surveys"]
    assert [(x["id"], x["kind"], x["score"], x["delivery"], x["expired"], x["answered_at"]) for x in shown] == [("s1", "csat", None, "sent", False, None)]
    assert any(f["type"] == "conversation.updated" and f["conversation"]["surveys"] for f in frames)
    assert not (await conversation_json(store, "c1"))["low_satisfaction"]
    await store.apply([answered(first, 1, low=True, comment="<script>alert(1)</script> خیلی بد بود")])
    view = await conversation_json(store, "c1")
    assert view["low_satisfaction"] is True
    [x] = view["surveys"]
    assert (x["score"], x["low"], x["comment"]) == (1, True, "<script>alert(1)</script> خیلی بد بود")  # stored as given; the pages show text, never HTML
    # an expiry read after the answer, and a replay of everything, change nothing
    before = await snapshot(store)
    await store.apply([opened("c1"), received("c1", "m1", T0), first, delivered, answered(first, 1, low=True), expired(first)])
    assert await snapshot(store) == before
    assert (await conversation_json(store, "c1"))["surveys"][0]["score"] == 1


async def test_an_unanswered_survey_shows_expired(store: Store) -> None:  # noqa: F811
    await store.apply([opened("c1"), received("c1", "m1", T0)])
    a = asked("s1", "c1")
    await store.apply([a, expired(a)])
    [x] = (await conversation_json(store, "c1"))["surveys"]
    assert x["expired"] is True and x["score"] is None


async def test_the_satisfaction_report_equals_a_hand_computation(store: Store) -> None:  # noqa: F811
    day1 = datetime(2026, 12, 1, 21, 0, tzinfo=timezone.utc)  # 00:30 of 2 Dec in Tehran
    day2 = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)
    rows = [
        # conversation, kind, channel, agent, first response, score (None: not answered), asked at
        ("c1", "csat", "sms", "sara", "met", 5, day1), ("c2", "csat", "sms", "sara", "met", 4, day1), ("c3", "csat", "sms", "omid", "breached", 1, day1),
        ("c4", "csat", "telegram", "omid", "breached", 2, day2), ("c5", "csat", "web", "sara", "none", None, day2),
        ("c6", "csat", "email", "sara", "met", 3, day2),
        ("c7", "nps", "sms", "sara", "met", 10, day2), ("c8", "nps", "web", "omid", "met", 9, day2), ("c9", "nps", "telegram", "omid", "breached", 6, day2),
        ("c10", "nps", "sms", "sara", "breached", 8, day2), ("c11", "nps", "sms", "sara", "none", None, day2),
    ]
    events: list[ev.Event] = []
    for conv, kind, channel, agent, sla, score, at in rows:
        events += [opened(conv, at=at - timedelta(hours=1)), received(conv, f"m-{conv}", at - timedelta(hours=1))]
        a = asked(f"s-{conv}", conv, kind, at=at, channel=channel, agent=agent, sla=sla)
        events.append(a)
        if score is not None:
            events.append(answered(a, score, low=kind == "csat" and score <= 2))
    await store.apply(events)
    # one survey outside the period
    old = asked("s-old", "c1", at=day1 - timedelta(days=60))
    await store.apply([old, answered(old, 1, low=True)])
    async with store.sessions() as s:
        found = await reports.surveys_asked(s, day1 - timedelta(days=1), day2 + timedelta(days=1))
    assert {r.id for r in found} == {f"s-{r[0]}" for r in rows}
    report = report_of(found, "agent", ZoneInfo("Asia/Tehran"))
    csat = report["all"]["csat"]
    # by hand: CSAT answered 5, 4, 1, 2, 3 of 6 asked
    assert (csat["count"], csat["asked"], csat["mean"], csat["response_rate"]) == (5, 6, 3.0, 5 / 6)
    assert csat["distribution"] == {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1}
    assert (csat["by_sla"]["met"]["mean"], csat["by_sla"]["met"]["count"]) == (4.0, 3)  # 5, 4, 3
    assert (csat["by_sla"]["breached"]["mean"], csat["by_sla"]["breached"]["count"]) == (1.5, 2)  # 1, 2
    assert (csat["by_sla"]["none"]["count"], csat["by_sla"]["none"]["asked"], csat["by_sla"]["none"]["mean"]) == (0, 1, None)
    nps = report["all"]["nps"]
    # by hand: 10, 9 promoters; 8 passive; 6 detractor: (2 - 1) / 4 = 25
    assert (nps["promoters"], nps["passives"], nps["detractors"], nps["count"], nps["asked"], nps["score"]) == (2, 1, 1, 4, 5, 25)
    # met: 10, 9 -> 100; breached: 6 (detractor), 8 (passive) -> (0 - 1) / 2 = -50
    assert nps["by_sla"]["met"]["score"] == 100 and nps["by_sla"]["breached"]["score"] == -50
    sara = report["groups"]["sara"]
    assert (sara["csat"]["mean"], sara["csat"]["asked"]) == ((5 + 4 + 3) / 3, 4)
    assert (sara["nps"]["promoters"], sara["nps"]["passives"], sara["nps"]["asked"]) == (1, 1, 3)
    assert report["groups"]["omid"]["csat"]["mean"] == 1.5
    by_channel = report_of(found, "channel")["groups"]
    assert set(by_channel) == {"sms", "telegram", "web", "email"} and by_channel["sms"]["csat"]["mean"] == (5 + 4 + 1) / 3
    # the days are Tehran's: 21:00 UTC on 1 December is 2 December there
    assert [d["day"] for d in report["series"]] == ["2026-12-02"]
    assert [d["day"] for d in report_of(found, "agent")["series"]] == ["2026-12-01", "2026-12-02"]
    assert [(x["conversation_id"], x["score"]) for x in report["low"]] == [("c4", 2), ("c3", 1)]
