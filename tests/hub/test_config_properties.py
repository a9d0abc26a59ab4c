"""hub.config.load with HUB_CONFIG naming a TOML file of anything: Settings or ConfigError
(naming what is wrong), never another exception. The file is an operator's, but a typo in
it must stop the start with a sentence, not a traceback. Documents are built from the keys
the hub reads and values of every TOML type, so most reach the parsers behind the file."""

from __future__ import annotations

import json
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

# Imported at collection: importing the registry (twilio, urllib3) binds a socket to probe
# IPv6, which the unit layer refuses inside a test.
from channels import registry
from hub import config
from hub.config import ConfigError, Settings
from hub.domain.calendar import parse_calendars
from hub.domain.complaints import parse_terms
from hub.domain.escalation import parse_ladders
from hub.domain.sla import parse_policies

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Raw:
    """A TOML literal written as is (dates, times)."""

    text: str


KEYS = ["calendars", "tehran", "24x7", "shop", "timezone", "holidays", "hours", "sat", "sun", "mon", "fri", "queues", "name", "channels",
        "languages", "sla", "when", "complaint", "breached", "priority", "channel", "queue", "tier", "calendar", "first_response",
        "next_response", "resolution", "warn_at", "escalation", "levels", "after", "notify", "complaints", "extra_terms", "terms",
        "whatsapp", "templates", "content_sid", "text", "variables"]
WORDS = ["support", "sales", "sms", "whatsapp", "email", "telegram", "web", "api", "fa", "en", "Asia/Tehran", "Mars/Olympus", "UTC",
         "08:00-17:00", "22:00-06:00", "25:00-26:00", "08:00", "2026-03-20", "2026-02-30", "90s", "15m", "4h", "2d", "-1h", "0s", "1e9d",
         "x", "", "role:lead", "role:manager", "user:alice", "role:", "first_response", "next_response", "resolution", "tehran", "24x7",
         "order_update", "HX" + "ab" * 16, "Hello {{1}}", "{{2}}", "refund now"]
SCALARS = (
    st.sampled_from(WORDS)
    | st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.sampled_from([Raw("2026-03-20"), Raw("08:00:00"), Raw("1979-05-27T07:32:00Z"), Raw("1979-05-27T00:32:00")])
)
TEXT = st.characters(exclude_categories=("Cs",))  # a TOML file is UTF-8: no lone surrogates
KEY = st.sampled_from(KEYS) | st.text(alphabet=TEXT, min_size=1, max_size=6)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEY, inner, max_size=5), max_leaves=25)
LOOSE = st.dictionaries(st.sampled_from(["calendars", "queues", "sla", "escalation", "complaints", "whatsapp"]) | KEY, VALUES, max_size=6)


def table(**keys: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A table shaped like the hub's, any key left out, now and then something else instead."""
    return st.fixed_dictionaries({}, optional=keys) | SCALARS


def some(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | SCALARS


DAYS = st.sampled_from(["sat", "sun", "mon", "tue", "wed", "thu", "fri"]) | KEY
CALENDAR = table(timezone=SCALARS, holidays=some(SCALARS), hours=st.dictionaries(DAYS, some(SCALARS), max_size=3) | SCALARS)
CONDITIONS = st.dictionaries(st.sampled_from(["priority", "channel", "queue", "complaint", "tier", "breached"]) | KEY, SCALARS | some(SCALARS), max_size=3)
# Shaped like the real file (docs/contract.md's example): the values reach every parser.
SHAPED = st.fixed_dictionaries({}, optional={
    "calendars": st.dictionaries(KEY, CALENDAR, max_size=2) | SCALARS,
    "queues": some(table(name=SCALARS, channels=some(SCALARS), languages=some(SCALARS))),
    "sla": some(table(name=SCALARS, when=CONDITIONS | SCALARS, calendar=SCALARS | VALUES, first_response=SCALARS, next_response=SCALARS,
                      resolution=SCALARS, warn_at=SCALARS)) | table(first_response=SCALARS, calendar=SCALARS),
    "escalation": some(table(name=SCALARS, when=CONDITIONS | SCALARS, levels=some(table(after=SCALARS, notify=some(SCALARS))))),
    "complaints": table(terms=some(SCALARS), extra_terms=some(SCALARS)),
    "whatsapp": table(templates=some(table(name=SCALARS, content_sid=SCALARS, text=SCALARS, variables=some(SCALARS)))),
})
DOCUMENTS = SHAPED | LOOSE


def toml_string(text: str) -> str:
    # JSON's escapes are TOML's, but TOML refuses escaped surrogate pairs and wants DEL escaped
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else "inf" if value == float("inf") else "-inf" if value == float("-inf") else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(doc: dict[str, Any]) -> str:
    return "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in doc.items())


def load_file(text: str) -> Settings | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hub.toml"
        path.write_text(text, encoding="utf-8")
        try:
            return config.load({"HUB_CONFIG": str(path), "HUB_VAR_DIR": tmp, "HUB_SECRET_KEY": "k" * 40})
        except ConfigError as exc:
            assert str(exc)  # says what is wrong
            return None


def test_the_documents_are_toml_the_hub_reads() -> None:
    settings_ = load_file(toml_document({"queues": [{"name": "sales", "channels": ["sms"]}], "complaints": {"extra_terms": ["refund now"]}}))
    assert settings_ is not None and [q.name for q in settings_.queues] == ["sales"]
    assert load_file(toml_document({"escalation": {"name": "x"}})) is None


@FAST
@given(DOCUMENTS)
@example({"escalation": 422})  # parse_ladders iterated it: TypeError
@example({"escalation": Raw("2026-03-20")})
@example({"sla": [{"name": "x", "calendar": {"a": 1}, "first_response": "1h"}]})  # parse_policies: unhashable calendar
def test_every_parser_of_the_file_gives_its_value_or_a_config_error(doc: dict[str, Any]) -> None:
    raw = tomllib.loads(toml_document(doc))
    calendars = None
    steps: list[Callable[[], Any]] = [lambda: parse_calendars(raw), lambda: parse_terms(raw), lambda: parse_ladders(raw), lambda: registry.read_settings({}, raw)]
    for step in steps:
        try:
            value = step()
        except ConfigError as exc:
            assert str(exc)
            continue
        if step is steps[0]:
            calendars = value
    if calendars is not None:
        try:
            parse_policies(raw, calendars)
        except ConfigError as exc:
            assert str(exc)


@FAST
@given(DOCUMENTS)
@example({"queues": True})
def test_any_toml_document_is_settings_or_a_config_error(doc: dict[str, Any]) -> None:
    load_file(toml_document(doc))


@FAST
@given(st.text(alphabet=TEXT, max_size=200))
def test_any_text_is_settings_or_a_config_error(text: str) -> None:
    load_file(text)
