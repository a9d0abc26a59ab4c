"""One update -> the broker, for the webhook and the poller alike. Returns once the broker
acked (or raises BrokerUnavailable), so only then may the caller answer 200 or move the
getUpdates offset.

A survey button press becomes SurveyAnswerSubmitted; every press is then answered with
answerCallbackQuery, which ends the spinner the customer's app shows on the button. That
answer, and taking the keyboard off the question, are courtesies: when Telegram refuses or
is away they are logged and the update still counts as accepted (the answer is stored)."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import TelegramError

from channels.base import accept_inbound, link_phone, resolve_contact
from channels.telegram import surveys, updates
from channels.telegram.bot import bot_id, scrub
from channels.telegram.settings import TelegramSettings
from hub import events as ev
from hub import topics
from hub.core import Core
from hub.domain.phone import NotAPhoneNumber, to_e164

log = logging.getLogger("hub.telegram")
LINK_WAIT = 5.0  # seconds; the projector is normally ~100 ms behind


async def _link_visible(hub: Core, address: str, contact_id: str) -> None:
    """Waits (briefly) until the read model shows the link: the chat's next update resolves
    its contact there, and Telegram sends it as soon as this one is answered. Without the
    wait it could still resolve to the chat's own contact and open a second conversation."""
    deadline = asyncio.get_running_loop().time() + LINK_WAIT
    while await resolve_contact(hub.db, "telegram", address) != contact_id:
        if asyncio.get_running_loop().time() > deadline:
            log.warning("contact link not yet visible; answering anyway", extra={"contact_id": contact_id, "chat_id": address})
            return
        await asyncio.sleep(0.05)


async def accept(hub: Core, incoming: updates.Incoming | updates.ButtonPress | None, bot: Bot | None = None) -> str:
    """What became of the update: "message", "edit", "survey_answer" or "ignored" (a kind not
    handled, a button press the hub did not ask for). `bot` answers button presses; without
    one they are stored and left unanswered."""
    if incoming is None:
        return "ignored"
    if isinstance(incoming, updates.ButtonPress):
        return await _accept_press(hub, incoming, bot)
    address, phone = incoming.chat_id, ""
    if incoming.shared_phone:
        try:
            phone = to_e164(incoming.shared_phone, hub.settings.phone_region)
        except NotAPhoneNumber:
            log.info("shared contact is not a phone number", extra={"chat_id": address})
    if phone:
        # The same number as an SMS customer: from now on this chat is that customer.
        contact_id = await link_phone(hub.bus, hub.db, "telegram", address, phone)
        await _link_visible(hub, address, contact_id)
    else:
        contact_id = await resolve_contact(hub.db, "telegram", address)
    event = updates.to_event(incoming, bot_id(TelegramSettings.of(hub.settings)), contact_id, phone)
    if isinstance(event, ev.InboundMessageAccepted):
        await accept_inbound(hub.bus, event)
        hub.count("hub_inbound_messages_total")
    else:
        await hub.bus.publish(topics.INBOUND, contact_id, event)
    log.info("telegram update accepted", extra={"contact_id": contact_id, "update_id": incoming.update_id, "kind": incoming.kind, "linked_phone": bool(phone)})
    return incoming.kind


async def _accept_press(hub: Core, press: updates.ButtonPress, bot: Bot | None) -> str:
    settings = TelegramSettings.of(hub.settings)
    answer = surveys.survey_answer(press.data) if press.chat_id else None
    if answer is None:
        log.info("telegram button press not understood; answered and ignored",
                 extra={"update_id": press.update_id, "chat_id": press.chat_id, "data": press.data[:80]})
        await _answer(bot, settings, press, text="", clear=False)
        return "ignored"
    survey_id, score = answer
    # the chat's contact, as its messages resolve it: the surveys processor finds the survey open under her
    contact_id = await resolve_contact(hub.db, "telegram", press.chat_id)
    event = surveys.answer_event(press, bot_id(settings), contact_id, survey_id, score)
    await hub.bus.publish(topics.INBOUND, contact_id, event)
    log.info("telegram survey answer accepted", extra={"contact_id": contact_id, "update_id": press.update_id, "survey_id": survey_id, "score": score})
    await _answer(bot, settings, press, text=surveys.THANKS, clear=True)
    return "survey_answer"


async def _answer(bot: Bot | None, settings: TelegramSettings, press: updates.ButtonPress, *, text: str, clear: bool) -> None:
    """answerCallbackQuery; with `clear`, the keyboard is taken off the question too, so the
    customer sees it was taken and does not press again (a second answer would be refused)."""
    if bot is None:
        log.warning("telegram button press left unanswered: no bot to answer with", extra={"update_id": press.update_id})
        return
    try:
        await bot.answer_callback_query(press.query_id, text=text or None)
    except TelegramError as exc:  # a redelivered update's query is too old to answer: expected
        log.info("answerCallbackQuery failed", extra={"update_id": press.update_id, "error": scrub(str(exc), settings)})
    except Exception as exc:  # noqa: BLE001 - the press is stored; nothing here may turn its 200 into a retry
        log.warning("answerCallbackQuery failed", extra={"update_id": press.update_id, "error": scrub(repr(exc), settings)})
    if not (clear and press.message_id):
        return
    try:
        await bot.edit_message_reply_markup(chat_id=press.chat_id, message_id=press.message_id, reply_markup=None)
    except TelegramError as exc:  # already taken off (a redelivery), or the message is too old to edit
        log.info("the survey's keyboard was not taken off", extra={"update_id": press.update_id, "error": scrub(str(exc), settings)})
    except Exception as exc:  # noqa: BLE001 - as above
        log.warning("the survey's keyboard was not taken off", extra={"update_id": press.update_id, "error": scrub(repr(exc), settings)})
