"""A contact's surveys as the surveys processor folds them from the log: what it knows of
her conversations (the channel she last wrote from, the agent, the first response's SLA
outcome, a complaint being escalated), her opted-out addresses, the surveys she was asked
(for `window` and `nps_every`), the ones waiting for `delay`, and the ones still open.

The state is a JSON-able dict, so the table's changelog writes it as it is. The functions
never change the state they are given; they hand back a new one (or the same object when
nothing moved) and the events to publish. Times in the state are epoch seconds."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from hub import events as ev
from hub.domain.surveys import CSAT, MAX_COMMENT, SCALES, Asked, SurveySettings, kind_to_ask, score_of

State = dict[str, Any]
_PERSIAN = re.compile(r"[\u0600-\u06ff]")
_KEPT_CONVERSATIONS = 20  # a contact's most recent conversations whose facts are kept
_KEPT_ANSWERING_MESSAGES = 8


def empty() -> State:
    return {}


def language_of(event: ev.InboundMessageAccepted) -> str:
    """The customer's language: the channel's word for it, else Persian script in the text."""
    given = (event.language or "").lower()[:2]
    if given in ("fa", "en"):
        return given
    return "fa" if _PERSIAN.search(event.text or "") else ""


def answered_by(state: State | None, message_id: str) -> bool:
    """Whether this inbound message answered a survey (intake then threads nothing)."""
    return bool(state) and message_id in state.get("by", ())  # type: ignore[union-attr]


def next_due(state: State | None) -> datetime | None:
    """When a waiting survey is to be asked or an open one expires."""
    if not state:
        return None
    times = [p["due"] for p in state.get("pending", {}).values()] + [o["exp"] for o in state.get("open", {}).values()]
    return datetime.fromtimestamp(min(times), timezone.utc) if times else None


def sla_outcome(facts: dict[str, Any]) -> str:
    """The first response's SLA outcome as the SLA processor reported it: breached, met, or
    none (no clock, or not answered)."""
    if facts.get("breached"):
        return "breached"
    return "met" if facts.get("met") else "none"


def on_event(state: State | None, event: ev.Event, settings: SurveySettings) -> tuple[State, list[ev.Event], str]:
    """(new state, events to publish, why an answer was refused or "")."""
    current: State = state or {}
    if isinstance(event, ev.InboundMessageAccepted):
        return _inbound(current, event, settings)
    if isinstance(event, ev.SurveyAnswerSubmitted):
        return _submitted(current, event, settings)
    if isinstance(event, ev.ContactOptedOut):
        return _with(current, out=sorted({*current.get("out", ()), f"{event.channel}:{event.address}"})), [], ""
    if isinstance(event, ev.ContactOptedIn):
        return _with(current, out=[a for a in current.get("out", ()) if a != f"{event.channel}:{event.address}"]), [], ""
    if not isinstance(event, ev.ConversationEvent):
        return current, [], ""
    if isinstance(event, ev.ConversationResolved):
        return _resolved(current, event, settings)
    if isinstance(event, ev.ConversationReopened):
        pending = current.get("pending", {})
        return (_with(current, pending={k: v for k, v in pending.items() if k != event.conversation_id}) if event.conversation_id in pending else current), [], ""
    if isinstance(event, ev.SurveyAsked):
        return _asked(current, event), [], ""
    if isinstance(event, (ev.SurveyAnswered, ev.SurveyExpired)):
        return _closed(current, event.survey_id), [], ""
    return _facts(current, event), [], ""


def due(state: State | None, contact_id: str, now: datetime, settings: SurveySettings) -> list[ev.Event]:
    """What a tick publishes: the waiting surveys whose delay is over, the open ones whose
    window closed (recorded in the state when they are read back)."""
    if not state:
        return []
    at = now.timestamp()
    out: list[ev.Event] = []
    for conversation_id, p in state.get("pending", {}).items():
        if p["due"] <= at:
            out.append(_survey_event(p, contact_id, conversation_id, now, settings))
    for survey_id, o in state.get("open", {}).items():
        if o["exp"] <= at:
            out.append(ev.SurveyExpired(id=ev.derived_id("survey-expired", survey_id), at=now, contact_id=contact_id,
                                        conversation_id=o["cid"], survey_id=survey_id, kind=o["kind"]))
    return out


# --- the parts ----------------------------------------------------------------------------


def _with(state: State, **changes: Any) -> State:
    # compared key by key: a message's language is checked against the state on every
    # inbound message, and a whole-state comparison would read all her conversations each time
    if all(k in state and state[k] == v for k, v in changes.items()):
        return state
    return {**state, **changes}


def _conversation(state: State, conversation_id: str) -> dict[str, Any]:
    return dict(state.get("convs", {}).get(conversation_id) or {})


def _with_conversation(state: State, conversation_id: str, facts: dict[str, Any]) -> State:
    convs = {k: v for k, v in state.get("convs", {}).items() if k != conversation_id}
    convs[conversation_id] = facts  # last: the most recently touched
    while len(convs) > _KEPT_CONVERSATIONS:
        convs.pop(next(iter(convs)))
    return _with(state, convs=convs)


def _facts(state: State, event: ev.ConversationEvent) -> State:
    facts = _conversation(state, event.conversation_id)
    before = dict(facts)
    if isinstance(event, (ev.ConversationOpened, ev.MessageReceived)):
        facts.update(ch=event.channel, addr=event.address)
    elif isinstance(event, ev.ConversationAssigned):
        facts.update(agent=event.agent, queue=event.queue)
    elif isinstance(event, ev.ConversationTransferred):
        facts.update(queue=event.queue)
    elif isinstance(event, ev.SlaClocksChanged):
        first = (event.clocks or {}).get("first_response")
        if isinstance(first, dict):
            if first.get("met_at"):
                facts.update(met=True)
            if first.get("breached_at"):
                facts.update(breached=True)
    elif isinstance(event, ev.SlaBreached):
        if event.clock == "first_response":
            facts.update(breached=True)
    elif isinstance(event, ev.ComplaintDetected):
        facts.update(esc=True)
    elif isinstance(event, ev.EscalationAcknowledged):
        facts.update(esc=False)
    else:
        return state
    if facts == before:
        return state
    return _with_conversation(state, event.conversation_id, facts)


def _history(state: State, contact_id: str) -> list[Asked]:
    return [Asked(cid, contact_id, kind, datetime.fromtimestamp(at, timezone.utc)) for _, cid, kind, at in state.get("asked", ())]


def _resolved(state: State, event: ev.ConversationResolved, settings: SurveySettings) -> tuple[State, list[ev.Event], str]:
    facts = _conversation(state, event.conversation_id)
    if not facts.get("ch"):
        return state, [], ""  # a conversation this processor never saw a message of
    pending = state.get("pending", {})
    if event.conversation_id in pending:
        return state, [], ""  # resolved again before its survey went out
    if event.agent:
        facts["agent"] = event.agent
    if event.queue:
        facts["queue"] = event.queue
    opted_out = f"{facts['ch']}:{facts.get('addr', '')}" in state.get("out", ())
    waiting = [Asked(cid, event.contact_id, p["kind"], event.at) for cid, p in pending.items()]
    kind = kind_to_ask(settings, automatic=event.automatic, opted_out=opted_out, escalating=bool(facts.get("esc")),
                       conversation_id=event.conversation_id, contact_id=event.contact_id, now=event.at,
                       history=[*_history(state, event.contact_id), *waiting])
    if kind is None:
        return state, [], ""
    language = state.get("lang") or "en"
    survey = {"sid": ev.derived_id("survey", event.conversation_id, event.id), "kind": kind, "ch": facts["ch"], "addr": facts.get("addr", ""),
              "lang": language, "agent": facts.get("agent"), "queue": facts.get("queue", ""), "sla": sla_outcome(facts),
              "due": (event.at + settings.delay).timestamp()}
    if settings.delay > timedelta(0):
        return _with(state, pending={**pending, event.conversation_id: survey}), [], ""
    asked = _survey_event(survey, event.contact_id, event.conversation_id, event.at, settings)
    return _asked(state, asked), [asked], ""


def _survey_event(p: dict[str, Any], contact_id: str, conversation_id: str, now: datetime, settings: SurveySettings) -> ev.SurveyAsked:
    return ev.SurveyAsked(id=p["sid"], at=now, contact_id=contact_id, conversation_id=conversation_id, kind=p["kind"], channel=p["ch"],
                          address=p["addr"], language=p["lang"], question=settings.question(p["kind"], p["lang"]),
                          scale=list(SCALES[p["kind"]]), expires_at=now + settings.window, agent=p["agent"], queue=p["queue"], sla=p["sla"])


def _asked(state: State, e: ev.SurveyAsked) -> State:
    """The survey is open and in the history (once: read back, it changes nothing)."""
    if any(row[0] == e.id for row in state.get("asked", ())):
        return state
    horizon = e.at.timestamp() - 400 * 86400  # past any window or nps_every worth having
    asked = [row for row in state.get("asked", ()) if row[3] > horizon] + [[e.id, e.conversation_id, e.kind, e.at.timestamp()]]
    opened = {"cid": e.conversation_id, "kind": e.kind, "ch": e.channel, "exp": e.expires_at.timestamp(), "agent": e.agent,
              "queue": e.queue, "sla": e.sla}
    pending = {k: v for k, v in state.get("pending", {}).items() if v["sid"] != e.id}
    return _with(state, asked=asked, open={**state.get("open", {}), e.id: opened}, pending=pending)


def _closed(state: State, survey_id: str) -> State:
    open_ = state.get("open", {})
    return _with(state, open={k: v for k, v in open_.items() if k != survey_id}) if survey_id in open_ else state


def _answer(state: State, survey_id: str, o: dict[str, Any], contact_id: str, score: int, at: datetime, settings: SurveySettings, *,
            comment: str = "", channel: str = "", message_id: str = "") -> tuple[State, list[ev.Event], str]:
    # the SLA outcome as known now: the clock reports can reach this processor after the
    # resolution did (they are published by the SLA processor as it reads the same events)
    facts = state.get("convs", {}).get(o["cid"])
    sla = sla_outcome(facts) if facts else o.get("sla", "none")
    answered = ev.SurveyAnswered(id=ev.derived_id("survey-answered", survey_id), at=at, contact_id=contact_id, conversation_id=o["cid"],
                                 survey_id=survey_id, kind=o["kind"], score=score, comment=comment[:MAX_COMMENT], channel=channel or o["ch"],
                                 agent=o.get("agent"), queue=o.get("queue", ""), sla=sla,
                                 low=o["kind"] == CSAT and score <= settings.low, message_id=message_id)
    new = _closed(state, survey_id)
    if message_id:
        new = _with(new, by=[*new.get("by", ())[-(_KEPT_ANSWERING_MESSAGES - 1):], message_id])
    return new, [answered], ""


def _inbound(state: State, event: ev.InboundMessageAccepted, settings: SurveySettings) -> tuple[State, list[ev.Event], str]:
    language = language_of(event)
    new = _with(state, lang=language) if language else state
    if event.attachments or event.meta.get("automatic"):
        return new, [], ""
    said = str(event.meta.get("display_text") or event.text or "")
    at = event.at.timestamp()
    # the most recently asked first: a customer answers the question she read last
    for survey_id, o in sorted(new.get("open", {}).items(), key=lambda kv: -kv[1]["exp"]):
        if o["ch"] != event.channel or at >= o["exp"]:
            continue
        score = score_of(said, o["kind"])
        if score is not None:
            return _answer(new, survey_id, o, event.contact_id, score, event.at, settings, channel=event.channel, message_id=event.id)
    return new, [], ""


def _submitted(state: State, event: ev.SurveyAnswerSubmitted, settings: SurveySettings) -> tuple[State, list[ev.Event], str]:
    o = state.get("open", {}).get(event.survey_id)
    if o is None:
        answered = any(row[0] == event.survey_id for row in state.get("asked", ()))
        return state, [], "already answered or expired" if answered else "no such survey"
    if event.at.timestamp() >= o["exp"]:
        return state, [], "the survey's window has closed"
    low, high = SCALES[o["kind"]]
    if not isinstance(event.score, int) or isinstance(event.score, bool) or not low <= event.score <= high:
        return state, [], f"the score must be from {low} to {high}"
    return _answer(state, event.survey_id, o, event.contact_id, event.score, event.at, settings, comment=event.comment, channel=event.channel)
