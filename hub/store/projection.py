"""Events -> read model. Every write is an upsert or guarded update, so replaying the log,
or a batch redelivered after a crash, leaves the same rows."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels import registry
from hub import events as ev
from hub.store.db import insert_for, insert_ignore
from hub.store.models import Contact, Conversation, DeadLetter, Escalation, Identity, Message, Survey
from hub.store.queries import CONVERSATION_ROW, conversation_views
from hub.store.views import escalation_view, iso, message_json, message_view, survey_json


def message_row(e: ev.Event) -> dict[str, Any] | None:
    """The messages row an event writes (None for other events); views.message_json of it
    is the Message the API and the live frames show."""
    base = {"id": e.id, "conversation_id": e.conversation_id, "at": e.at, "attachments": [], "meta": {}, "provider_id": "", "delivery": None}  # type: ignore[attr-defined]
    if isinstance(e, ev.MessageReceived):
        return {**base, "direction": "in", "channel": e.channel, "text": e.text, "author": e.name or e.address,
                "provider_id": e.provider_id, "attachments": list(e.attachments), "meta": dict(e.meta)}
    if isinstance(e, ev.ReplyRequested):
        return {**base, "direction": "out", "channel": e.channel, "text": e.text, "author": e.author, "delivery": "queued",
                "meta": {"template": e.template["name"]} if e.template else {}}
    if isinstance(e, ev.NoteAdded):
        return {**base, "direction": "note", "channel": "note", "text": e.text, "author": e.author}
    return None


async def _insert_rows(s: AsyncSession, table: Any, rows: list[dict[str, Any]], keys: list[str], returning: Any = None) -> set[Any]:
    """INSERT .. ON CONFLICT DO NOTHING for many rows in the executemany form, which
    SQLAlchemy compiles once and batches itself; returns the keys written."""
    first: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:  # the first sighting wins: a contact's created_at is its first event
        first.setdefault(tuple(r[k] for k in keys), r)
    unique = list(first.values())
    if not unique:
        return set()
    stmt = insert_for(s, table).on_conflict_do_nothing(index_elements=keys)
    if returning is None:
        await s.execute(stmt, unique)
        return set()
    return set((await s.execute(stmt.returning(returning), unique)).scalars())


async def _insert_contacts_and_conversations(s: AsyncSession, events: Sequence[ev.Event]) -> None:
    people = [e for e in events if isinstance(e, (ev.ConversationOpened, ev.MessageReceived))]
    if not people:
        return
    await _insert_rows(s, Contact, [{"id": e.contact_id, "name": e.name or "", "created_at": e.at} for e in people], ["id"])
    await _insert_rows(s, Identity, [{"channel": e.channel, "address": e.address, "contact_id": e.contact_id} for e in people], ["channel", "address"])
    names = {e.contact_id: e.name for e in people if e.name}
    if names:
        t = Contact.__table__
        await s.execute(update(t).where(t.c.id == bindparam("cid"), t.c.name != bindparam("new_name")).values(name=bindparam("new_name")),
                        [{"cid": c, "new_name": n} for c, n in names.items()])
    # A message also creates its conversation if the opening event has not been seen:
    # the read model never holds a message without its conversation.
    opened = [
        {"id": e.conversation_id, "contact_id": e.contact_id, "status": "open", "channel": e.channel, "subject": e.subject,
         "waiting_since": e.at, "last_message_at": e.at, "created_at": e.at}
        for e in events if isinstance(e, (ev.ConversationOpened, ev.MessageReceived))
    ]
    if opened:
        await _insert_rows(s, Conversation, opened, ["id"])


async def _apply_new_messages(s: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Conversation activity from the messages this batch wrote. A customer message starts
    the wait (unless one is running); a reply ends it. Conversations with only customer
    messages, the common case at high rates, share one executemany UPDATE."""
    per_conv: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["direction"] in ("in", "out"):
            per_conv.setdefault(r["conversation_id"], []).append(r)
    inbound_only: list[dict[str, Any]] = []
    for cid, msgs in per_conv.items():
        last_out = max((i for i, m in enumerate(msgs) if m["direction"] == "out"), default=None)
        inbound = [m for m in msgs if m["direction"] == "in"]
        if last_out is None:
            inbound_only.append({"cid": cid, "last": msgs[-1]["at"], "channel": inbound[-1]["channel"], "first_in": inbound[0]["at"]})
            continue
        values: dict[str, Any] = {"last_message_at": msgs[-1]["at"]}
        if inbound:
            values["channel"] = inbound[-1]["channel"]
        after = [m for m in msgs[last_out + 1 :] if m["direction"] == "in"]
        values["waiting_since"] = after[0]["at"] if after else None
        await s.execute(update(Conversation).where(Conversation.id == cid).values(**values))
    if inbound_only:
        stmt = (
            update(Conversation.__table__)
            .where(Conversation.__table__.c.id == bindparam("cid"))
            .values(
                last_message_at=bindparam("last"),
                channel=bindparam("channel"),
                waiting_since=func.coalesce(Conversation.__table__.c.waiting_since, bindparam("first_in")),
            )
        )
        await s.execute(stmt, inbound_only)


async def _apply_state_change(s: AsyncSession, e: ev.Event, frames: list[dict[str, Any]]) -> str | None:
    """Events that change a conversation or a message in place; returns the conversation touched."""
    if isinstance(e, (ev.MessageDelivered, ev.DeliveryFailed)):
        status = e.status if isinstance(e, ev.MessageDelivered) else "failed"
        # delivery only moves forward (the channels' order): a late "sent" must not undo "delivered"
        rank = registry.delivery_rank()
        earlier = [k for k, r in rank.items() if r < rank[status]]
        values: dict[str, Any] = {"delivery": status}
        if isinstance(e, ev.DeliveryFailed):
            values["error"] = e.error
        elif e.provider_id:
            values["provider_id"] = e.provider_id
        result = await s.execute(
            update(Message).where(Message.id == e.message_id, Message.delivery.in_(earlier) | Message.delivery.is_(None)).values(**values)
        )
        if result.rowcount:
            frames.append({"type": "message.updated", "conversation_id": e.conversation_id, "message_id": e.message_id})
            return e.conversation_id
        # not a message: a survey's question (its id is the survey's)
        values.pop("provider_id", None)
        survey = (await s.execute(update(Survey).where(Survey.id == e.message_id, Survey.delivery.in_(earlier) | Survey.delivery.is_(None))
                                  .values(**values))).rowcount
        return await _survey_changed(s, e.message_id) if survey else None
    if isinstance(e, (ev.SurveyAsked, ev.SurveyAnswered, ev.SurveyExpired)):
        return await _apply_survey(s, e)
    if isinstance(e, ev.ContactsMerged):
        await _merge_contacts(s, e)
        return None
    if isinstance(e, ev.MessageEdited):
        return await _apply_edit(s, e, frames)
    if isinstance(e, (ev.Escalated, ev.EscalationNotified, ev.EscalationAcknowledged)):
        await _apply_escalation(s, e, frames)
        return None
    if isinstance(e, ev.ComplaintDetected):
        # a complaint raises the priority (an urgent one stays urgent)
        raised = case((Conversation.priority == "urgent", "urgent"), else_="high")
        await s.execute(update(Conversation).where(Conversation.id == e.conversation_id).values(
            complaint=True, priority=raised, complaint_at=func.coalesce(Conversation.complaint_at, e.at)))
        return e.conversation_id
    changes: dict[str, Any] | None = None
    if isinstance(e, ev.ConversationResolved):
        changes = {"status": "resolved", "resolved_at": e.at, "waiting_since": None}
    elif isinstance(e, ev.ConversationReopened):
        changes = {"status": "open", "resolved_at": None}
    elif isinstance(e, ev.ConversationMarkedPending):
        changes = {"status": "pending"}
    if changes is None:
        return None
    await s.execute(update(Conversation).where(Conversation.id == e.conversation_id).values(**changes))  # type: ignore[attr-defined]
    return e.conversation_id  # type: ignore[attr-defined]


_MARKS = ("warned_at", "breached_at")
_CLOCK_EVENTS = (ev.SlaClocksChanged, ev.SlaWarning, ev.SlaBreached)
#: events that only set a conversation's queue and assignee
_ROUTED = (ev.ConversationAssigned, ev.ConversationTransferred)


def folded_clocks(stored: dict[str, Any], e: ev.SlaClocksChanged | ev.SlaWarning | ev.SlaBreached) -> dict[str, Any]:
    """The SLA processor's clocks, as reported. A warning or breach is marked on its clock
    at once (matched by deadline), so it shows without waiting for the processor to read it
    back; a report from before that read-back does not unmark it."""
    if isinstance(e, ev.SlaClocksChanged):
        new = dict(e.clocks)
        for name, clock in new.items():
            old = stored.get(name)
            if isinstance(clock, dict) and isinstance(old, dict) and old.get("started_at") == clock.get("started_at"):
                new[name] = {**clock, **{m: old[m] for m in _MARKS if old.get(m) and not clock.get(m)}}
        return new
    clock = stored.get(e.clock)
    mark = "warned_at" if isinstance(e, ev.SlaWarning) else "breached_at"
    if not isinstance(clock, dict) or clock.get("due_at") != e.due_at.isoformat() or clock.get(mark):
        return stored
    return {**stored, e.clock: {**clock, mark: e.at.isoformat()}}


async def _apply_deferred(s: AsyncSession, events: Sequence[ev.Event], touched: dict[str, None]) -> None:
    """Clock reports and queue/assignee changes of a whole batch, folded per conversation in
    log order and written in one read and one executemany UPDATE each. They write columns no
    other event writes (`sla`; `queue` and `assignee`), so applying them after the rest of
    the batch leaves the rows one event at a time would; per event they were two thirds of
    the projector's statements, and every statement lengthens the write lock SQLite's other
    writers (heartbeats, positions, presence) wait on."""
    clocks = [e for e in events if isinstance(e, _CLOCK_EVENTS)]
    if clocks:
        ids = list(dict.fromkeys(e.conversation_id for e in clocks))
        stored = {cid: dict(sla or {}) for cid, sla in (await s.execute(select(Conversation.id, Conversation.sla).where(Conversation.id.in_(ids))))}
        current = dict(stored)
        for e in clocks:
            if e.conversation_id in current:
                current[e.conversation_id] = folded_clocks(current[e.conversation_id], e)
        changed = [{"cid": cid, "sla": sla} for cid, sla in current.items() if sla != stored[cid]]
        if changed:
            t = Conversation.__table__
            await s.execute(update(t).where(t.c.id == bindparam("cid")).values(sla=bindparam("sla")), changed)
            touched.update(dict.fromkeys(c["cid"] for c in changed))
    routed: dict[str, dict[str, Any]] = {}
    for e in events:
        if isinstance(e, _ROUTED):
            routed[e.conversation_id] = {"cid": e.conversation_id, "queue": e.queue,
                                         "assignee": e.agent if isinstance(e, ev.ConversationAssigned) else None}
    if routed:
        t = Conversation.__table__
        await s.execute(update(t).where(t.c.id == bindparam("cid")).values(queue=bindparam("queue"), assignee=bindparam("assignee")),
                        list(routed.values()))
        touched.update(dict.fromkeys(routed))


async def _apply_escalation(s: AsyncSession, e: ev.Event, frames: list[dict[str, Any]]) -> None:
    if isinstance(e, ev.Escalated):
        row = {"id": e.id, "conversation_id": e.conversation_id, "contact_id": e.contact_id, "ladder": e.ladder, "level": e.level,
               "reason": e.reason, "notify": list(e.notify), "notified": [], "created_at": e.at}
        if await _insert_rows(s, Escalation, [row], ["id"], returning=Escalation.id):
            frames.append({"type": "escalation.created", "conversation_id": e.conversation_id, "escalation": escalation_view(Escalation(**row))})
    elif isinstance(e, ev.EscalationNotified):
        row_ = await s.get(Escalation, e.escalation_id)
        told = {"user": e.user, "channel": e.channel, "at": iso(e.at), "ok": e.ok, "error": e.error or None}
        if row_ is not None and not any(n["user"] == e.user and n["channel"] == e.channel for n in row_.notified or []):
            row_.notified = [*(row_.notified or []), told]
    elif isinstance(e, ev.EscalationAcknowledged):
        # One acknowledgement closes that ladder's levels on the conversation (all ladders if none named).
        where = [Escalation.conversation_id == e.conversation_id, Escalation.acknowledged_at.is_(None)]
        if e.ladder:
            where.append(Escalation.ladder == e.ladder)
        await s.execute(update(Escalation).where(*where).values(acknowledged_by=e.by, acknowledged_at=e.at))


async def _apply_survey(s: AsyncSession, e: ev.SurveyAsked | ev.SurveyAnswered | ev.SurveyExpired) -> str | None:
    """The survey's row (each change guarded, so a replay leaves the same row), then the
    conversation's `surveys` written again from its rows."""
    if isinstance(e, ev.SurveyAsked):
        row = {"id": e.id, "conversation_id": e.conversation_id, "contact_id": e.contact_id, "kind": e.kind, "channel": e.channel,
               "language": e.language, "question": e.question, "queue": e.queue or "", "agent": e.agent, "sla": e.sla, "asked_at": e.at,
               "expires_at": e.expires_at, "comment": "", "low": False}
        await _insert_rows(s, Survey, [row], ["id"])
        return await _survey_changed(s, e.id)
    if isinstance(e, ev.SurveyAnswered):
        changed = await s.execute(update(Survey).where(Survey.id == e.survey_id, Survey.answered_at.is_(None))
                                  .values(score=e.score, comment=e.comment, answered_at=e.at, low=e.low, sla=e.sla, expired_at=None))
    else:
        changed = await s.execute(update(Survey).where(Survey.id == e.survey_id, Survey.answered_at.is_(None), Survey.expired_at.is_(None))
                                  .values(expired_at=e.at))
    return await _survey_changed(s, e.survey_id) if changed.rowcount else None


async def _survey_changed(s: AsyncSession, survey_id: str) -> str | None:
    survey = await s.get(Survey, survey_id)
    if survey is None:
        return None
    await s.flush()
    rows = (await s.scalars(select(Survey).where(Survey.conversation_id == survey.conversation_id).order_by(Survey.asked_at, Survey.id))).all()
    await s.execute(update(Conversation).where(Conversation.id == survey.conversation_id).values(surveys=[survey_json(r) for r in rows]))
    return survey.conversation_id


async def _apply_edit(s: AsyncSession, e: ev.MessageEdited, frames: list[dict[str, Any]]) -> str | None:
    """The message takes the new text; earlier versions stay in meta["edits"]. An edit
    already applied (same event id) changes nothing, so a replay leaves the same row."""
    m = await s.get(Message, e.message_id)
    if m is None:
        return None  # an edit of a message the hub never received: nothing to change
    meta = dict(m.meta or {})
    edits = list(meta.get("edits") or [])
    if any(x.get("id") == e.id for x in edits):
        return None
    edits.append({"id": e.id, "text": m.text, "at": meta.get("edited_at") or iso(m.at)})
    meta.update(edits=edits, edited_at=iso(e.at))
    m.text, m.meta = e.text, meta
    frames.append({"type": "message.updated", "conversation_id": m.conversation_id, "message_id": m.id})
    return m.conversation_id


async def _apply_context(s: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """What a channel said about the conversation (a Telegram /start payload such as an order
    number) is kept on it, by key; rare, so one read-modify-write per such message."""
    for r in rows:
        given = {k: r["meta"][k] for k in _CONTEXT_KEYS if r["meta"].get(k)}
        if not given:
            continue
        conv = await s.get(Conversation, r["conversation_id"])
        if conv is not None:
            conv.context = {**(conv.context or {}), **given}


async def _merge_contacts(s: AsyncSession, e: ev.ContactsMerged) -> None:
    """The merged contact's identities and conversations move to the surviving one; the
    identity that carried the link points there even if it was never seen before."""
    await _insert_rows(s, Contact, [{"id": e.contact_id, "name": "", "created_at": e.at}], ["id"])
    if e.merged_contact_id != e.contact_id:
        await s.execute(update(Identity).where(Identity.contact_id == e.merged_contact_id).values(contact_id=e.contact_id))
        await s.execute(update(Conversation).where(Conversation.contact_id == e.merged_contact_id).values(contact_id=e.contact_id))
    await _insert_rows(s, Identity, [{"channel": e.channel, "address": e.address, "contact_id": e.contact_id}], ["channel", "address"])
    await s.execute(update(Identity).where(Identity.channel == e.channel, Identity.address == e.address).values(contact_id=e.contact_id))


#: Keys of an inbound message's meta that describe its conversation (copied to `context`).
_CONTEXT_KEYS = ("start_payload",)
_INSERTED = (ev.ConversationOpened, ev.MessageReceived, ev.ReplyRequested, ev.NoteAdded)


async def _insert_run(s: AsyncSession, run: Sequence[ev.Event], frames: list[dict[str, Any]], touched: dict[str, None]) -> None:
    await _insert_contacts_and_conversations(s, run)
    for e in run:
        if isinstance(e, ev.ConversationOpened):
            touched[e.conversation_id] = None
    rows = [r for r in (message_row(e) for e in run) if r is not None]
    written = await _insert_rows(s, Message, rows, ["id"], returning=Message.id) if rows else set()
    new_rows = [r for r in rows if r["id"] in written]
    await _apply_new_messages(s, new_rows)
    await _apply_context(s, [r for r in new_rows if r["direction"] == "in" and r["meta"]])
    for r in new_rows:
        touched[r["conversation_id"]] = None
        frames.append({"type": "message.created", "conversation_id": r["conversation_id"], "message": message_json(r)})


async def apply(s: AsyncSession, events: Sequence[ev.Event]) -> list[dict[str, Any]]:
    """Apply a batch inside the caller's transaction, with the same result as one event at
    a time; returns live frames to push once it commits. Runs of new rows (conversations,
    messages) are written in bulk; an in-place change first writes the run before it; clock
    reports and queue/assignee changes are folded and written last (`_apply_deferred`)."""
    frames: list[dict[str, Any]] = []
    touched: dict[str, None] = {}
    run: list[ev.Event] = []
    deferred: list[ev.Event] = []
    for e in events:
        if isinstance(e, _INSERTED):
            run.append(e)
            continue
        if isinstance(e, _CLOCK_EVENTS + _ROUTED):
            deferred.append(e)
            continue
        if run:
            await _insert_run(s, run, frames, touched)
            run = []
        cid = await _apply_state_change(s, e, frames)
        if cid:
            touched[cid] = None
    if run:
        await _insert_run(s, run, frames, touched)
    if deferred:
        await _apply_deferred(s, deferred, touched)
    await s.flush()
    s.expire_all()
    for f in frames:
        if f["type"] == "message.updated":
            m = await s.get(Message, f.pop("message_id"))
            f["message"] = message_view(m) if m else None
    if touched:
        rows_ = (await s.execute(CONVERSATION_ROW.where(Conversation.id.in_(list(touched))))).all()
        for view in await conversation_views(s, rows_):
            frames.append({"type": "conversation.updated", "conversation": view})
    return frames


async def record_deadletter(s: AsyncSession, e: ev.DeadLettered) -> None:
    await insert_ignore(
        s,
        DeadLetter,
        {
            "id": e.id,
            "source_topic": e.source_topic,
            "partition": e.partition,
            "offset": e.offset,
            "processor": e.processor,
            "reason": e.reason,
            "payload": e.payload,
            "at": e.at,
        },
        ["id"],
    )
