"""hub/untrusted.py, the rules for input from outside: JSON bodies and frames, Twilio's
forms, providers' content types; and read_json (hub/http.py), the API's reader over them.
Examples for each finding, then properties: whatever arrives, the answer is a value or
Unreadable (a 400), never another exception."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.http import ApiError, read_json
from hub.untrusted import MAX_DEPTH, OCTET_STREAM, Unreadable, load_object, loads, media_type, parse_form, percent_decoded

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


# --- JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
def test_deep_nesting_is_unreadable_not_a_recursion_error(depth: int) -> None:
    for text in (nested(depth), '{"a":' * depth + "1" + "}" * depth):
        with pytest.raises(Unreadable) as info:
            loads(text)
        assert info.value.code == "bad_json" and "nested deeper" in info.value.message


def test_nesting_up_to_the_limit_is_read() -> None:
    assert loads(nested(MAX_DEPTH)) == json.loads(nested(MAX_DEPTH))
    assert load_object('{"a":' + nested(MAX_DEPTH - 1) + "}")["a"] == json.loads(nested(MAX_DEPTH - 1))


@pytest.mark.parametrize("raw", [
    b"\x00\xff",
    b'{"text": "\xc3\x28"}',  # a broken two-byte sequence
    '{"a": 1}'.encode("utf-16"),  # json.loads would guess UTF-16 from bytes
    '{"a": 1}'.encode("utf-32-le"),
    b'{"text": "\\ud800"}',  # valid JSON, but a lone surrogate is not text (encoding it for the log raised)
    b'{"\\udfff": 1}',
    b'{"n": NaN}', b'{"n": Infinity}', b'{"n": 1e999}', b'{"n": -1e400}',
    b'{"n": ' + b"9" * 5000 + b"}",  # over Python's digit limit for int()
    b"", b"{", b'{"a" 1}',
])
def test_unreadable_json(raw: bytes) -> None:
    with pytest.raises(Unreadable) as info:
        loads(raw)
    assert info.value.code == "bad_json"


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"1", b"null", b"true"])
def test_a_json_value_that_is_not_an_object_is_refused_where_an_object_is_expected(raw: bytes) -> None:
    with pytest.raises(Unreadable, match="object"):
        load_object(raw)


def test_text_in_any_script_is_kept() -> None:
    assert load_object('{"text": "سلام 👋 \\u00e9"}'.encode()) == {"text": "سلام 👋 é"}


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=60,
)


@FAST
@given(st.binary(max_size=400))
def test_any_bytes_are_an_object_or_unreadable(raw: bytes) -> None:
    try:
        data = load_object(raw)
    except Unreadable as exc:
        assert exc.code == "bad_json" and exc.message
        return
    assert isinstance(data, dict)
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # what the log does with it


@FAST
@given(st.integers(min_value=0, max_value=3 * MAX_DEPTH), st.sampled_from(["[", '{"k":']), json_values)
def test_nesting_of_any_depth_is_read_up_to_the_limit_and_refused_past_it(depth: int, opener: str, leaf: Any) -> None:
    closer = "]" if opener == "[" else "}"
    text = opener * depth + json.dumps(leaf) + closer * depth
    expected = json.loads(text)
    if _depth(expected) > MAX_DEPTH:
        with pytest.raises(Unreadable):
            loads(text)
    else:
        assert loads(text) == expected


@FAST
@given(json_values)
def test_json_the_hub_could_write_is_read_back_unchanged(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # st.text() may give lone surrogates: refused, as designed
        with pytest.raises(Unreadable):
            loads(json.dumps(value))
        return
    if _depth(value) <= MAX_DEPTH:
        assert loads(text.encode("utf-8")) == value


@FAST
@given(st.text(alphabet=st.sampled_from('[]{}",:\\u0d89 \x00\ud800truefalsn'), max_size=200))
def test_json_like_text_is_a_value_or_unreadable(text: str) -> None:
    try:
        loads(text)
    except Unreadable:
        pass


class FakeRequest:
    """What read_json asks of a request: its body."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def read(self) -> bytes:
        return self.body


async def test_read_json_answers_400_bad_json_for_deep_nesting() -> None:
    with pytest.raises(ApiError) as info:
        await read_json(FakeRequest(nested(50_000).encode()))  # type: ignore[arg-type]
    assert (info.value.status, info.value.code) == (400, "bad_json")
    assert await read_json(FakeRequest(b'{"username": "a"}')) == {"username": "a"}  # type: ignore[arg-type]


@FAST
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
async def test_read_json_gives_an_object_or_a_400(body: bytes) -> None:
    try:
        data = await read_json(FakeRequest(body))  # type: ignore[arg-type]
    except ApiError as exc:
        assert (exc.status, exc.code) == (400, "bad_json")
    else:
        assert isinstance(data, dict)


# --- forms --------------------------------------------------------------------------------


@pytest.mark.parametrize("body, content_type", [
    (b"Body=\xff\xfe&From=%2B1", "application/x-www-form-urlencoded"),  # raw bytes that are not UTF-8
    (b"Body=%ff%fe&From=%2B1", "application/x-www-form-urlencoded"),  # percent-encoded ones
    (b"Body=hi", "application/x-www-form-urlencoded; charset=nope"),  # request.post() raised LookupError
    (b"Body=hi", "application/x-www-form-urlencoded; charset=utf-16"),
    (b"--x\r\nContent-Disposition: form-data; name=Body\r\n\r\nhi\r\n--x--", "multipart/form-data; boundary=x"),
    (b"&".join(b"f%d=1" % i for i in range(1001)), "application/x-www-form-urlencoded"),
])
def test_unreadable_forms(body: bytes, content_type: str) -> None:
    with pytest.raises(Unreadable) as info:
        parse_form(body, content_type)
    assert info.value.code == "invalid"


def test_a_form_is_read_as_twilio_sends_it() -> None:
    body = b"MessageSid=SM1&From=%2B989121234567&Body=%D8%B3%D9%84%D8%A7%D9%85+there&NumMedia=0&Empty="
    assert parse_form(body, "application/x-www-form-urlencoded; charset=UTF-8") == {
        "MessageSid": "SM1", "From": "+989121234567", "Body": "سلام there", "NumMedia": "0", "Empty": ""}
    assert parse_form(b"a=1&a=2", "") == {"a": "2"}


@FAST
@given(st.binary(max_size=300), st.sampled_from(["", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "text/plain"]))
def test_any_bytes_are_a_form_of_text_or_unreadable(body: bytes, content_type: str) -> None:
    try:
        form = parse_form(body, content_type)
    except Unreadable as exc:
        assert exc.code == "invalid"
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in form.items())
    for text in (*form, *form.values()):
        text.encode("utf-8")  # no surrogates: the signature check and the log encode them


# --- percent-encoding -----------------------------------------------------------------------


def test_percent_decoding_goes_on_until_nothing_changes() -> None:
    assert percent_decoded("a/%2e%2e/b") == "a/../b"
    assert percent_decoded("%252e%252e") == ".."
    assert percent_decoded("%25252e") == "."
    assert percent_decoded("%zz 100%") == "%zz 100%"
    with pytest.raises(Unreadable):
        percent_decoded("%ff")  # not UTF-8
    with pytest.raises(Unreadable):
        percent_decoded("%" + "25" * 10 + "2e")  # encoded ten times over


@FAST
@given(st.text(alphabet=st.sampled_from("%25ef2e/.a\\"), max_size=40))
def test_percent_decoding_is_stable_or_unreadable(text: str) -> None:
    try:
        decoded = percent_decoded(text)
    except Unreadable:
        return
    assert percent_decoded(decoded) == decoded


# --- content types ------------------------------------------------------------------------

MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


@pytest.mark.parametrize("given_, kept", [
    ("image/png", "image/png"),
    ("Image/JPEG; name=x.jpg", "image/jpeg"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("application/pdf\r\nX-Injected: 1", OCTET_STREAM),
    ("text/html\n", OCTET_STREAM),
    ("image/png\x00", OCTET_STREAM),
    ("image", OCTET_STREAM),
    ("image/", OCTET_STREAM),
    ("/png", OCTET_STREAM),
    ("image/png/x", OCTET_STREAM),
    ("imäge/png", OCTET_STREAM),
    ("", OCTET_STREAM),
    (None, OCTET_STREAM),
    (42, OCTET_STREAM),
])
def test_content_types_are_reduced_to_type_and_subtype(given_: object, kept: str) -> None:
    assert media_type(given_) == kept


@FAST
@given(st.text(max_size=80) | st.from_regex(r"[a-zA-Z]{1,10}/[a-zA-Z0-9.+-]{1,20}(;.{0,20})?", fullmatch=True))
def test_any_content_type_becomes_a_header_safe_media_type(value: str) -> None:
    cleaned = media_type(value)
    assert cleaned == OCTET_STREAM or MEDIA_TYPE.fullmatch(cleaned), cleaned
    assert cleaned.isascii() and cleaned.isprintable()
