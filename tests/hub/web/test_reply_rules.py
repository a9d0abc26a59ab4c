"""The reply API's channel rules that need no process: a template's text from its
variables, and a channel's reply window (WhatsApp's 24 hours) refusing free text."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

import pytest

from channels.base import Channel, OutboundReply, ReplyRefused, SendResult, Template
from hub import events as ev
from hub.config import Settings
from hub.web.api import check_window, template_reply

pytestmark = pytest.mark.unit
ORDER = Template(name="order_update", text="سلام {{1}}، سفارش {{2}} ارسال شد. {{1}} جان، ممنونیم.", provider_id="HX" + "0" * 32,
                 variables=("customer name", "order number"))


class Windowed(Channel):
    name: ClassVar[str] = "windowed"
    labels: ClassVar[dict[str, str]] = {"en": "Windowed", "fa": "پنجره"}
    reply_window: ClassVar[timedelta | None] = timedelta(hours=24)

    @classmethod
    def templates(cls, settings: Settings) -> tuple[Template, ...]:
        return (ORDER,)

    async def send(self, reply: OutboundReply) -> SendResult:
        raise AssertionError("not sent in these tests")


def test_a_template_is_rendered_from_its_variables_and_every_placeholder_is_needed() -> None:
    assert ORDER.placeholders() == ["1", "2"]
    assert ORDER.render({"1": " Sara ", "2": "#42"}) == "سلام Sara، سفارش #42 ارسال شد. Sara جان، ممنونیم."
    with pytest.raises(ReplyRefused, match=r"\{\{2\}\}") as refused:
        ORDER.render({"1": "Sara", "2": "  "})
    assert (refused.value.status, refused.value.code) == (422, "template_variables")
    assert ORDER.facts() == {"name": "order_update", "text": ORDER.text, "placeholders": ["1", "2"], "variables": ["customer name", "order number"]}


def test_the_api_sends_a_known_template_with_only_its_own_variables() -> None:
    text, template = template_reply(Windowed, Settings(), {"name": "order_update", "variables": {"1": "Sara", "2": "#42", "9": "extra"}})
    assert text.startswith("سلام Sara، سفارش #42")
    assert template == {"name": "order_update", "provider_id": ORDER.provider_id, "variables": {"1": "Sara", "2": "#42"}}


@pytest.mark.parametrize("given,code", [
    ({"name": "nope", "variables": {}}, "unknown_template"),
    ("order_update", "invalid"),
    ({"name": "order_update", "variables": {"1": 5}}, "invalid"),
    ({"name": "order_update", "variables": ["Sara"]}, "invalid"),
    ({"name": "order_update", "variables": {"1": "Sara"}}, "template_variables"),
])
def test_a_template_reply_that_cannot_be_sent_is_refused_with_its_reason(given: Any, code: str) -> None:
    with pytest.raises(ReplyRefused) as refused:
        template_reply(Windowed, Settings(), given)
    assert refused.value.code == code


def test_a_channel_without_templates_has_none_to_send() -> None:
    with pytest.raises(ReplyRefused, match="no template named"):
        template_reply(None, Settings(), {"name": "order_update", "variables": {}})


def test_free_text_goes_inside_the_window_and_is_refused_with_the_reason_outside_it() -> None:
    check_window(Windowed, ev.utcnow() - timedelta(hours=23, minutes=59))  # inside: no error
    with pytest.raises(ReplyRefused, match="within 24 hours.*last wrote on it 25 hours ago.*approved templates") as late:
        check_window(Windowed, ev.utcnow() - timedelta(hours=25))
    assert (late.value.status, late.value.code) == (422, "outside_window")
    with pytest.raises(ReplyRefused, match="has not written on it yet"):
        check_window(Windowed, None)
