"""The survey rules without I/O: settings, when to ask what, a reply that is only a score,
and the satisfaction report's figures against a hand computation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hub.config import ConfigError
from hub.domain import surveys
from hub.domain.surveys import CSAT, NPS, Answer, Asked, kind_to_ask, parse_settings, satisfaction_report, score_of

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
ON = parse_settings({"surveys": {"window": "3d", "nps_every": "90d"}})


@pytest.mark.parametrize("text,kind,score", [
    ("4", CSAT, 4), ("۴", CSAT, 4), ("٤", CSAT, 4), (" 5 ", CSAT, 5), ("4/5", CSAT, 4), ("۵.", CSAT, 5),
    ("عالی", CSAT, 5), ("خیلی بد", CSAT, 1), ("خيلي بد", CSAT, 1), ("بد!", CSAT, 2), ("متوسط", CSAT, 3), ("Good", CSAT, 4),
    ("10", NPS, 10), ("۰", NPS, 0), ("۱۰", NPS, 10), ("9/10", NPS, 9),
    ("6", CSAT, None), ("0", CSAT, None), ("11", NPS, None), ("عالی", NPS, None),
    ("4 stars but slow", CSAT, None), ("my order 4", CSAT, None), ("", CSAT, None), ("۴۴", CSAT, None), ("2026", NPS, None),
])
def test_a_reply_that_is_only_a_score_says_it_and_anything_else_says_nothing(text: str, kind: str, score: int | None) -> None:
    assert score_of(text, kind) == score


def test_settings_read_with_defaults_and_refuse_what_they_cannot_use() -> None:
    assert not parse_settings({}).enabled
    s = parse_settings({"surveys": {"csat_question": {"fa": "راضی بودید؟"}, "delay": "10m", "low": 1}})
    assert s.enabled and s.delay == timedelta(minutes=10) and s.window == timedelta(days=3) and s.nps_every == timedelta(days=90)
    assert s.question(CSAT, "fa") == "راضی بودید؟" and s.question(CSAT, "en") == surveys.DEFAULT_QUESTIONS[CSAT]["en"]
    assert s.question(NPS, "de") == surveys.DEFAULT_QUESTIONS[NPS]["en"]
    for bad in ({"surveys": 3}, {"surveys": {"low": 6}}, {"surveys": {"window": "soon"}}, {"surveys": {"csat_question": {"fa": 1}}},
                {"surveys": {"window": "0s"}}):
        with pytest.raises(ConfigError):
            parse_settings(bad)


def test_who_is_asked_what() -> None:
    def ask(history: list[Asked], *, now: datetime = T0, conversation: str = "c2", **flags: bool) -> str | None:
        return kind_to_ask(ON, automatic=flags.get("automatic", False), opted_out=flags.get("opted_out", False),
                           escalating=flags.get("escalating", False), conversation_id=conversation, contact_id="k", now=now, history=history)

    assert ask([]) == CSAT  # a first resolution asks about the answer
    assert ask([], automatic=True) is None and ask([], opted_out=True) is None and ask([], escalating=True) is None
    assert kind_to_ask(surveys.SurveySettings(), automatic=False, opted_out=False, escalating=False, conversation_id="c",
                       contact_id="k", now=T0, history=[]) is None  # off without [surveys]
    csat_before = [Asked("c1", "k", CSAT, T0 - timedelta(days=10))]
    assert ask(csat_before) == NPS  # once per period, after a CSAT
    nps_lately = [*csat_before, Asked("c1", "k", NPS, T0 - timedelta(days=30))]
    assert ask(nps_lately) == CSAT
    assert ask(nps_lately, now=T0 + timedelta(days=61)) == NPS  # the period passed
    same_conversation = [Asked("c2", "k", CSAT, T0 - timedelta(days=1))]
    assert ask(same_conversation) is None  # a resolution within the window of its last survey
    assert ask(same_conversation, now=T0 + timedelta(days=2, hours=1)) == NPS  # after the window: asked again


def test_the_report_equals_a_hand_computation() -> None:
    rows = [Answer(CSAT, 5, "sms", "met"), Answer(CSAT, 4, "sms", "met"), Answer(CSAT, 1, "sms", "breached"), Answer(CSAT, None, "sms", "none"),
            Answer(CSAT, 3, "web", "none"), Answer(NPS, 10, "web", "met"), Answer(NPS, 9, "web", "met"), Answer(NPS, 7, "web", "breached"),
            Answer(NPS, 3, "sms", "breached"), Answer(NPS, None, "sms", "met")]
    report = satisfaction_report(rows)
    csat = report["all"][CSAT]
    assert (csat["count"], csat["asked"], csat["mean"], csat["response_rate"]) == (4, 5, (5 + 4 + 1 + 3) / 4, 4 / 5)
    assert csat["distribution"] == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 1}
    assert csat["by_sla"]["met"]["mean"] == 4.5 and csat["by_sla"]["breached"]["mean"] == 1 and csat["by_sla"]["none"]["count"] == 1
    nps = report["all"][NPS]
    assert (nps["promoters"], nps["passives"], nps["detractors"], nps["count"], nps["asked"]) == (2, 1, 1, 4, 5)
    assert nps["score"] == round(100 * (2 - 1) / 4)
    assert nps["by_sla"]["breached"]["score"] == round(100 * (0 - 1) / 2)
    assert report["groups"]["sms"][CSAT]["mean"] == (5 + 4 + 1) / 3 and report["groups"]["web"][NPS]["score"] == round(100 * 2 / 3)
