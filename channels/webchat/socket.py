"""The customer's chat socket (/chat/ws), the demo page and the widget.

A frame is acked only after the broker acknowledged its event; the same frame id again is
acked again and, its event id being derived from session and frame id, stored once.

A frame is untrusted input: it is read under hub/untrusted.py's rules (UTF-8, at most 32
levels deep, no lone surrogates) and checked by the pure functions below (`read_frame`,
`check_message`, `check_survey_answer`, `on_identify_frame`); whatever is wrong with it is
answered with an error frame and the socket stays open. An HTTP error written into an open
socket is no answer."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from itsdangerous import BadSignature, Signer

from channels.base import accept_inbound
from channels.webchat.channel import survey_frame
from channels.webchat.typing import customer_typed
from hub import events as ev
from hub import topics
from hub.bus import BrokerUnavailable
from hub.domain.gate import Gate
from hub.domain.identity import contact_id_for
from hub.domain.surveys import MAX_COMMENT
from hub.http import core_of
from hub.store.queries import chat_history
from hub.store.reports import open_surveys
from hub.store.views import iso
from hub.untrusted import Unreadable, load_object

log = logging.getLogger("hub.webchat")
STATIC = Path(__file__).parent / "static"
MAX_FRAME_BYTES = 64 * 1024
MAX_ID = 100
MAX_SURVEY_ID = 64  # the read model's column
routes = web.RouteTableDef()
# Per session, across its sockets: a flood of typing frames becomes one event per interval
# and is otherwise ignored (no error frame: the widget has nothing to fix).
TYPING = Gate()


def _signer(request: web.Request) -> Signer:
    return Signer(core_of(request).settings.secret_key, salt="webchat.session")


def resume_or_new(request: web.Request, given: str | None) -> tuple[str, str]:
    """(token, session id). The customer holds the signed token, which resumes the chat, so
    an unknown or forged one starts a new session. Only the unsigned id is stored and shown
    to agents: the token is a credential and stays between the widget and the hub."""
    signer = _signer(request)
    if given:
        try:
            return given, signer.unsign(given).decode()
        except (BadSignature, UnicodeError):  # forged, or not even text: a new session
            pass
    sid = uuid.uuid4().hex
    return signer.sign(sid).decode(), sid


def history_frame(m: Any) -> dict[str, Any]:
    # A customer's message goes back under the frame id the widget chose, so a widget
    # whose ack was lost recognises it in the history instead of showing it twice.
    customer = m.direction == "in"
    return {"type": "message", "id": (m.provider_id or m.id) if customer else m.id, "from": "customer" if customer else "agent", "name": m.author, "text": m.text, "at": iso(m.at)}


def error(code: str, message: str, frame_id: Any = None) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "id": frame_id if isinstance(frame_id, str) else None}


@dataclass(frozen=True)
class ChatMessage:
    """A message frame that passed every check."""

    id: str
    text: str
    complaint: bool


class FrameRefused(ValueError):
    """A text frame that is not a JSON object the hub reads; `reply` is the error frame."""

    def __init__(self, reply: dict[str, Any]) -> None:
        super().__init__(reply["message"])
        self.reply = reply


def read_frame(data: str | bytes) -> dict[str, Any]:
    """A text frame -> its JSON object; FrameRefused (with a `bad_json` error frame) otherwise."""
    try:
        return load_object(data)
    except Unreadable as exc:
        raise FrameRefused(error("bad_json", f"frame: {exc.message}")) from exc


def check_message(frame: dict[str, Any], max_text: int) -> ChatMessage | dict[str, Any]:
    """A message frame -> ChatMessage, or the error frame that says what is wrong with it."""
    frame_id, text = frame.get("id"), frame.get("text")
    if not isinstance(frame_id, str) or not frame_id or len(frame_id) > MAX_ID:
        return error("invalid", f"`id` must be a string of 1 to {MAX_ID} characters", frame_id)
    if not isinstance(text, str) or not text.strip():
        return error("invalid", "`text` must be a non-empty string", frame_id)
    if len(text) > max_text:
        return error("too_long", f"text is longer than {max_text} characters", frame_id)
    complaint = frame.get("complaint", False)  # the widget's "this is a complaint" choice
    if not isinstance(complaint, bool):
        return error("invalid", "`complaint` must be true or false", frame_id)
    return ChatMessage(id=frame_id, text=text, complaint=complaint)


async def on_message_frame(request: web.Request, session: str, profile: dict[str, str], frame: dict[str, Any]) -> dict[str, Any]:
    hub = core_of(request)
    checked = check_message(frame, hub.settings.max_chat_text)
    if not isinstance(checked, ChatMessage):
        return checked
    message = ev.InboundMessageAccepted(
        id=ev.derived_id("web", session, checked.id),
        contact_id=contact_id_for("web", session),
        channel="web",
        address=session,
        name=profile.get("name", ""),
        text=checked.text,
        provider_id=checked.id,
        meta={**{k: v for k, v in profile.items() if k in ("email", "phone")}, **({"complaint": True} if checked.complaint else {})},
    )
    try:
        await accept_inbound(hub.bus, message)
    except BrokerUnavailable:
        return error("unavailable", "not stored yet; send it again", checked.id)
    hub.count("hub_inbound_messages_total")
    return {"type": "ack", "id": checked.id}


@dataclass(frozen=True)
class SurveyAnswer:
    """A survey_answer frame that passed every check; whether it counts (the survey open,
    the score on its scale, the first answer) is the surveys processor's to say."""

    ack_id: str
    survey: str
    score: int
    comment: str


def check_survey_answer(frame: dict[str, Any]) -> SurveyAnswer | dict[str, Any]:
    """A survey_answer frame -> SurveyAnswer, or the error frame that says what is wrong with it."""
    frame_id, survey, score, comment = frame.get("id"), frame.get("survey"), frame.get("score"), frame.get("comment", "")
    if frame_id is not None and (not isinstance(frame_id, str) or not frame_id or len(frame_id) > MAX_ID):
        return error("invalid", f"`id` must be a string of 1 to {MAX_ID} characters", frame_id)
    # Without a frame id the survey's id names the ack (one answer per survey is all that counts).
    ack_id = frame_id if isinstance(frame_id, str) else survey
    if not isinstance(survey, str) or not survey or len(survey) > MAX_SURVEY_ID:
        return error("invalid", f"`survey` must be a string of 1 to {MAX_SURVEY_ID} characters", ack_id)
    if not isinstance(score, int) or isinstance(score, bool):  # JSON true would otherwise be a score of 1
        return error("invalid", "`score` must be a whole number", ack_id)
    if not isinstance(comment, str):
        return error("invalid", "`comment` must be a string", ack_id)
    if len(comment) > MAX_COMMENT:
        return error("too_long", f"comment is longer than {MAX_COMMENT} characters", ack_id)
    return SurveyAnswer(ack_id=ack_id, survey=survey, score=score, comment=comment.strip())


async def on_survey_answer_frame(request: web.Request, session: str, frame: dict[str, Any]) -> dict[str, Any]:
    hub = core_of(request)
    checked = check_survey_answer(frame)
    if not isinstance(checked, SurveyAnswer):
        return checked
    contact = contact_id_for("web", session)
    answer = ev.SurveyAnswerSubmitted(
        # The same answer sent again (its ack lost) is the same event, stored once.
        id=ev.derived_id("web-survey", session, checked.survey, str(checked.score)),
        contact_id=contact,
        survey_id=checked.survey,
        score=checked.score,
        comment=checked.comment,
        channel="web",
    )
    try:
        await hub.bus.publish(topics.INBOUND, contact, answer)
    except BrokerUnavailable:
        return error("unavailable", "not stored yet; send it again", checked.ack_id)
    return {"type": "ack", "id": checked.ack_id}


def on_identify_frame(profile: dict[str, str], frame: dict[str, Any]) -> dict[str, Any] | None:
    for key in ("name", "email", "phone"):
        value = frame.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > 200:
            return error("invalid", f"`{key}` must be a string of at most 200 characters")
        profile[key] = value.strip()
    return None


async def on_frame(request: web.Request, session: str, profile: dict[str, str], data: str) -> dict[str, Any] | None:
    """One text frame -> the frame to answer with (None: no answer)."""
    try:
        frame = read_frame(data)
    except FrameRefused as exc:
        return exc.reply
    kind = frame.get("type")
    if kind == "message":
        return await on_message_frame(request, session, profile, frame)
    if kind == "typing":
        if TYPING.allow(session, time.monotonic()):
            customer_typed(core_of(request), session)
        return None
    if kind == "identify":
        return on_identify_frame(profile, frame)
    if kind == "survey_answer":
        return await on_survey_answer_frame(request, session, frame)
    return error("unknown_type", f"unknown frame type {str(kind)[:40]!r}", frame.get("id"))


@routes.get("/chat/ws")
async def chat_socket(request: web.Request) -> web.StreamResponse:
    hub = core_of(request)
    token, session = resume_or_new(request, request.query.get("session"))
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
    await ws.prepare(request)
    hub.sockets.chats[session].add(ws)
    profile: dict[str, str] = {}
    try:
        async with hub.db() as s:
            history = await chat_history(s, contact_id_for("web", session))
            asking = await open_surveys(s, contact_id_for("web", session), "web", datetime.now(timezone.utc))
        await ws.send_json({"type": "hello", "session": token, "history": [history_frame(m) for m in history]})
        # A survey asked while no socket was open (or whose card a reload wiped) is asked
        # again until answered or expired: the history holds no question to show.
        for survey in asking:
            await ws.send_json(survey_frame(survey.id, survey.kind, survey.question))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.BINARY:
                    await ws.send_json(error("bad_frame", "frames are JSON text"))
                continue
            try:
                reply = await on_frame(request, session, profile, msg.data)
            except Exception:  # noqa: BLE001 - one frame's failure must not end the socket (or write an HTTP 500 into it)
                log.exception("chat frame not handled", extra={"session": session})
                reply = error("unavailable", "not handled; send it again")
            if reply is not None:
                await ws.send_json(reply)
    finally:
        hub.sockets.chats[session].discard(ws)
        if not hub.sockets.chats[session]:
            hub.sockets.chats.pop(session, None)
    return ws


async def on_chat_delivered(bus: Any, event: ev.WebChatMessageSent) -> None:
    """The reply reached a customer's open socket."""
    if event.conversation_id:
        delivered = ev.MessageDelivered(
            id=ev.derived_id("delivered", event.message_id, "delivered"),
            contact_id=event.contact_id,
            conversation_id=event.conversation_id,
            message_id=event.message_id,
            status="delivered",
        )
        try:
            await bus.publish(topics.CONVERSATIONS, event.contact_id, delivered)
        except BrokerUnavailable:
            log.warning("delivery receipt not published", extra={"conversation_id": event.conversation_id})


@routes.get("/chat")
async def chat_page(_: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "chat.html")


@routes.get("/chat/widget.js")
async def widget_js(_: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "widget.js", headers={"Access-Control-Allow-Origin": "*", "Content-Type": "application/javascript"})


@routes.get("/chat/widget.css")
async def widget_css(_: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "widget.css", headers={"Access-Control-Allow-Origin": "*", "Content-Type": "text/css"})
