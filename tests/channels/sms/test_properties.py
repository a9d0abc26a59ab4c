"""Twilio's side of the edge, in process: any form body -> the form reader -> the SMS, WhatsApp
and status event builders gives an event the log can take or a refusal (400), and a media
URL is fetched only when its path, however it is decoded, stays under the account."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from yarl import URL

from channels.sms.channel import ERRORS_IN_WORDS
from channels.sms.media import UnsafeMedia, check_twilio_url
from channels.sms.webhook import MAX_MEDIA, BadForm, inbound_event, status_event
from channels.whatsapp.webhook import inbound_event as whatsapp_event
from hub import events as ev
from hub.untrusted import OCTET_STREAM, Unreadable, parse_form

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SID = "AC" + "0" * 32
BASE = "https://api.twilio.com"
PREFIX = f"/2010-04-01/Accounts/{SID}/"
MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")

TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)
FIELDS = st.sampled_from(["MessageSid", "SmsSid", "From", "To", "Body", "NumMedia", "ProfileName", "MessageStatus", "ErrorCode",
                          *(f"MediaUrl{i}" for i in range(12)), *(f"MediaContentType{i}" for i in range(12))])
VALUES = TEXT | st.sampled_from(["", "3", "12", "-1", "١", "²", "9" * 5000, "+989121234567", "whatsapp:+989121234567", "whatsapp:",
                                 "image/png", "image/png\r\nX-Injected: 1", "text/html; charset=utf-8", "delivered", "failed", "read", "63016"])
FORMS = st.dictionaries(FIELDS | TEXT, VALUES, max_size=12)


def assert_loggable(event: ev.Event) -> None:
    """The event can be written to the log and read back (what a 500 used to break)."""
    assert ev.from_json(event.to_json()) == event


def assert_attachments_clean(event: ev.InboundMessageAccepted) -> None:
    assert len(event.attachments) <= MAX_MEDIA
    for item in event.attachments:
        assert isinstance(item["url"], str) and item["url"]
        assert item["content_type"] == OCTET_STREAM or MEDIA_TYPE.fullmatch(item["content_type"]), item


@FAST
@given(FORMS, st.sampled_from(["IR", "US", "ZZ"]))
@example({"MessageSid": "SM1", "From": "+1", "NumMedia": "²"}, "IR")
@example({"MessageSid": "SM1", "From": "+1", "NumMedia": "1", "MediaUrl0": "x", "MediaContentType0": "application/pdf\r\nX: y"}, "IR")
def test_any_sms_form_is_an_event_or_bad_form(form: dict[str, str], region: str) -> None:
    try:
        event = inbound_event(form, region)
    except BadForm:
        assert not (form.get("MessageSid") or form.get("SmsSid")) or not form.get("From")
        return
    assert_loggable(event)
    assert_attachments_clean(event)


@FAST
@given(FORMS, st.sampled_from(["IR", "US"]))
def test_any_whatsapp_form_is_an_event_or_bad_form(form: dict[str, str], region: str) -> None:
    try:
        event = whatsapp_event(form, region)
    except BadForm:
        return
    assert_loggable(event)
    assert_attachments_clean(event)


@FAST
@given(FORMS, st.dictionaries(st.sampled_from(["m", "c", "k"]), TEXT))
@example({"MessageStatus": "failed", "ErrorCode": "²"}, {"m": "m", "c": "c", "k": "k"})  # "²".isdigit(), int("²") raised
@example({"MessageStatus": "failed", "ErrorCode": "9" * 5000}, {"m": "m", "c": "c", "k": "k"})  # over int()'s digit limit
def test_any_status_callback_is_an_event_nothing_or_bad_form(form: dict[str, str], ids: dict[str, str]) -> None:
    try:
        event = status_event(form, ids, ERRORS_IN_WORDS)
    except BadForm:
        return
    if event is not None:
        assert_loggable(event)


@FAST
@given(st.binary(max_size=300) | FORMS.map(lambda f: urlencode(f).encode()))
def test_any_body_through_the_form_reader_and_the_builder_is_an_event_or_a_refusal(body: bytes) -> None:
    try:
        form = parse_form(body, "application/x-www-form-urlencoded")
        event = inbound_event(form, "IR")
    except (Unreadable, BadForm):
        return
    assert_loggable(event)


# --- media URLs ---------------------------------------------------------------------------

GOOD = f"{BASE}{PREFIX}Messages/MM{'0' * 32}/Media/ME{'1' * 32}"


@pytest.mark.parametrize("url", [
    f"{BASE}{PREFIX}../AC{'9' * 32}/Messages.json",  # another account's resource, with ours credentials
    f"{BASE}{PREFIX}Messages/../../../../2010-04-01/Accounts.json",
    f"{BASE}{PREFIX}%2e%2e/AC{'9' * 32}/Messages.json",  # yarl decoded %2e and resolved the dots
    f"{BASE}{PREFIX}%2E%2E/%2e%2e/Accounts.json",
    f"{BASE}{PREFIX}.%2e/x",
    f"{BASE}{PREFIX}%252e%252e/AC{'9' * 32}/Messages.json",  # encoded twice
    f"{BASE}{PREFIX}..%2fAC{'9' * 32}%2fMessages.json",
    f"{BASE}{PREFIX}..%5cAC{'9' * 32}",
    f"{BASE}{PREFIX}..\\AC{'9' * 32}\\Messages.json",
    f"{BASE}{PREFIX}Messages/./MM1/Media/ME1",
    f"{BASE}{PREFIX}Messages//MM1",
    f"{BASE}{PREFIX}Media/ME1?redirect=http://169.254.169.254/",
    f"{BASE}{PREFIX}Media/ME1#frag",
    f"{BASE}{PREFIX}Media/%ff",
    f"{BASE}{PREFIX}",  # the account itself is not a media item
    f"{BASE}:abc{PREFIX}Media/ME1",  # a port that is not a number raised ValueError (a 500)
    f"http://[::1{PREFIX}Media/ME1",
    f"https://user:pw@api.twilio.com{PREFIX}Media/ME1",
    f"https://api.twilio.com@evil.example{PREFIX}Media/ME1",
])
def test_media_urls_leaving_the_account_path_are_refused(url: str) -> None:
    with pytest.raises(UnsafeMedia):
        check_twilio_url(url, BASE, SID)


def test_a_media_url_of_the_account_is_fetched_as_it_came() -> None:
    assert check_twilio_url(GOOD, BASE, SID) == GOOD
    assert str(URL(GOOD, encoded=True)) == GOOD
    assert check_twilio_url(GOOD.replace("api.twilio.com", "API.Twilio.com:443"), BASE, SID).endswith(GOOD.removeprefix(BASE))


def fully_decoded(path: str) -> str:
    for _ in range(10):
        once = unquote(path)
        if once == path:
            break
        path = once
    return path


# Half the picks are a plain segment, so accepted URLs are common enough to check too.
SEGMENTS = st.sampled_from(["Messages", f"MM{'0' * 32}", "Media", "ME1", f"AC{'9' * 32}", SID, "2010-04-01", "Accounts", "Messages.json"]) | st.sampled_from(
    ["..", ".", "...", "%2e%2e", "%2E%2e", "%252e%252e", "%25252e%25252e", ".%2e", "%2e.", "%2f", "%252f", "%5c", "\\", "..\\", "", "%41",
     "a b", ";x", "?x", "#x", "\n", "\t", "%00", "%0a", "ü", "%C3%BC", "%ff"])
PREFIXES = st.just(PREFIX) | st.sampled_from([f"/2010-04-01/Accounts/AC{'9' * 32}/", "/2010-04-01/Accounts/", "/", PREFIX.upper(), f"/2010-04-01/Accounts/{SID}"])


@FAST
@given(PREFIXES, st.lists(SEGMENTS, min_size=1, max_size=6), st.sampled_from([BASE, "https://api.twilio.com:443", "http://api.twilio.com", "https://evil.example"]))
def test_a_media_url_is_accepted_only_when_every_reading_of_its_path_stays_under_the_account(prefix: str, segments: list[str], origin: str) -> None:
    url = origin + prefix + "/".join(segments)
    try:
        fetched = check_twilio_url(url, BASE, SID)
    except UnsafeMedia:
        return
    path = urlsplit(fetched).path
    # however a server reads it: decoded once, decoded until stable, backslashes as slashes
    for reading in (path, unquote(path), fully_decoded(path), fully_decoded(path).replace("\\", "/")):
        assert posixpath.normpath(reading).startswith(PREFIX), (url, reading)
        assert posixpath.normpath(reading) == reading, (url, reading)  # nothing left to resolve
    # and what aiohttp sends is exactly what was checked
    assert URL(fetched, encoded=True).raw_path == path and URL(fetched).raw_path == path
    assert "%" not in fetched and "\\" not in fetched and "?" not in fetched


@FAST
@given(st.lists(st.from_regex(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,20}", fullmatch=True), min_size=1, max_size=5))
def test_canonical_urls_under_the_account_are_accepted_unchanged(segments: list[str]) -> None:
    url = BASE + PREFIX + "/".join(segments)
    assert check_twilio_url(url, BASE, SID) == url
