"""surveys: a resolution -> SurveyAsked on the customer's channel; her answer -> SurveyAnswered;
an unanswered survey -> SurveyExpired at the end of its window.

It runs in the `contacts` group before intake: a customer's message that is only a score,
within the window of a survey asked on that channel, answers it, and intake (asking
`answered`) threads nothing. A survey asked after a `delay` and an expiry come from the
timer, which publishes and records nothing until the event is read back (as escalation's
levels); the `published` set stops a second publish in between."""

from __future__ import annotations

import logging
from datetime import datetime

from hub import events as ev
from hub import topics
from hub.config import Settings
from hub.domain import survey_state
from hub.domain.surveys import SurveySettings
from processors.base import Handler, Outcome, Staged
from processors.due import DueIndex, DueTimers
from processors.state_codec import StateCodec, plain

log = logging.getLogger("hub.surveys")


class SurveysHandler(DueTimers, Handler):
    """Table: contact id -> survey state (hub/domain/survey_state.py), on the contact's partition."""

    name = "surveys"
    PER_CONTACT = True

    @staticmethod
    def codec() -> StateCodec:
        return plain()

    def configure(self, settings: Settings) -> None:
        super().configure(settings)
        self.surveys: SurveySettings = settings.surveys or SurveySettings()
        self.published: set[str] = getattr(self, "published", set())
        self.index = DueIndex(lambda state: survey_state.next_due(state))

    def answered(self, contact_id: str, message_id: str) -> bool:
        """Whether the inbound message `message_id` answered a survey (read by intake, which
        runs after this handler on the same record)."""
        return survey_state.answered_by(self.table.get(contact_id), message_id)

    async def on_event(self, event: ev.Event, table: Staged, out: Outcome) -> None:
        contact_id = getattr(event, "contact_id", None)
        if not contact_id or not self.surveys.enabled:
            return  # off: no state, nothing paid per message
        before = table.get(contact_id)
        after, emitted, refused = survey_state.on_event(before, event, self.surveys)
        if after is not before and after != (before or {}):
            table.set(contact_id, after)
        for e in emitted:
            out.emit(topics.CONVERSATIONS, contact_id, e)
        if isinstance(event, (ev.SurveyAsked, ev.SurveyExpired)):
            self.published.discard(event.id)
        if self.rebuilding:
            return
        if refused:
            log.info("survey answer refused", extra={"contact_id": contact_id, "survey_id": getattr(event, "survey_id", ""), "reason": refused})
        for e in emitted:
            if isinstance(e, ev.SurveyAsked):
                log.info("survey asked", extra={"conversation_id": e.conversation_id, "survey_id": e.id, "kind": e.kind, "channel": e.channel})
            elif isinstance(e, ev.SurveyAnswered):
                log.info("survey answered", extra={"conversation_id": e.conversation_id, "survey_id": e.survey_id, "kind": e.kind,
                                                    "score": e.score, "low": e.low, "channel": e.channel})

    def tick(self, now: datetime) -> Outcome:
        out = Outcome()
        if not self.surveys.enabled or self.timers_held:
            return out
        for contact_id, _, state in self.due_states(now):
            for e in survey_state.due(state, contact_id, now, self.surveys):
                if e.id in self.published:
                    continue
                self.published.add(e.id)
                out.emit(topics.CONVERSATIONS, contact_id, e)
                log.info("survey asked" if isinstance(e, ev.SurveyAsked) else "survey expired",
                         extra={"conversation_id": e.conversation_id, "survey_id": getattr(e, "survey_id", e.id)})
        return out
