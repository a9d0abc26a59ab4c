"""Settings from the environment and a TOML file; durations; the generated secret key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hub import config
from hub.config import ConfigError, QueueConfig


@pytest.mark.parametrize(
    "text,seconds",
    [("90s", 90), ("15m", 900), ("4h", 14400), ("2d", 172800), ("1.5h", 5400), (" 30 s ", 30), ("0s", 0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert config.parse_duration(text) == seconds


def test_numbers_are_seconds() -> None:
    assert config.parse_duration(45) == 45.0
    assert config.parse_duration(2.5) == 2.5


@pytest.mark.parametrize("text", ["", "90", "s", "15 minutes", "4x", "-5m", "2d3h", "1e3s", "h4", "5M"])
def test_bad_durations_raise_config_error(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.parse_duration(text)
    assert repr(text) in str(info.value)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HUB_VAR_DIR": str(tmp_path / "var"), **extra}


def test_defaults_from_an_almost_empty_environment(tmp_path: Path) -> None:
    s = config.load(_env(tmp_path))
    assert s.http_port == 8080
    assert s.kafka_bootstrap is None
    assert s.var_dir == tmp_path / "var"
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path / 'var'}/hub.db"
    assert s.base_url == "http://127.0.0.1:8080"


def test_environment_is_read(tmp_path: Path) -> None:
    s = config.load(
        _env(
            tmp_path,
            HUB_HTTP_PORT="9191",
            HUB_HTTP_HOST="0.0.0.0",
            HUB_PARTITIONS="12",
            HUB_KAFKA_BOOTSTRAP="kafka:9092",
            HUB_DATABASE_URL="postgresql+asyncpg://u@db/hub",
            HUB_PUBLIC_URL="https://hub.example.org/",
            HUB_SECRET_KEY="s3cret",
            HUB_APP_ID="myhub",
            HUB_FETCH_MAX_WAIT_MS="250",
        )
    )
    assert s.http_port == 9191 and s.http_host == "0.0.0.0"
    assert s.partitions == 12 and s.fetch_max_wait_ms == 250
    assert s.kafka_bootstrap == "kafka:9092"
    assert s.database_url == "postgresql+asyncpg://u@db/hub"
    assert s.public_url == "https://hub.example.org"
    assert s.base_url == "https://hub.example.org"
    assert s.secret_key == "s3cret"
    assert s.app_id == "myhub"
    assert not (tmp_path / "var" / "secret-key").exists()


@pytest.mark.parametrize("var", ["HUB_HTTP_PORT", "HUB_PARTITIONS", "HUB_FETCH_MAX_WAIT_MS"])
@pytest.mark.parametrize("value", ["eighty", "80.5", ""])
def test_numeric_setting_not_a_number(tmp_path: Path, var: str, value: str) -> None:
    with pytest.raises(ConfigError):
        config.load(_env(tmp_path, **{var: value}))


def test_toml_file_with_queues(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(
        """
[[queues]]
name = "persian"
channels = ["sms", "telegram"]
languages = ["fa"]

[[queues]]
name = "support"

[sla]
first_response = "15m"
""",
        encoding="utf-8",
    )
    s = config.load(_env(tmp_path, HUB_CONFIG=str(path)))
    assert s.queues == (
        QueueConfig("persian", ("sms", "telegram"), ("fa",)),
        QueueConfig("support", (), ()),
    )
    assert config.parse_duration(s.raw["sla"]["first_response"]) == 900


@pytest.mark.parametrize("body", ["", "[server]\nx = 1\n", "queues = []\n"])
def test_no_queues_gives_one_support_queue(tmp_path: Path, body: str) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(body)
    s = config.load(_env(tmp_path, HUB_CONFIG=str(path)))
    assert [q.name for q in s.queues] == ["support"]
    assert s.queues[0].channels == ()  # every channel
    assert all(s.queues[0].takes(c) for c in ("sms", "email", "telegram", "web", "api"))


def test_no_config_file_gives_one_support_queue(tmp_path: Path) -> None:
    assert [q.name for q in config.load(_env(tmp_path)).queues] == ["support"]


def test_queue_without_name_is_config_error(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text('[[queues]]\nchannels = ["sms"]\n')
    with pytest.raises(ConfigError, match=r"queues\[0\]"):
        config.load(_env(tmp_path, HUB_CONFIG=str(path)))


def test_bad_toml_is_config_error(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text("[[queues]\nname = \n")
    with pytest.raises(ConfigError, match="HUB_CONFIG"):
        config.load(_env(tmp_path, HUB_CONFIG=str(path)))


def test_missing_toml_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HUB_CONFIG"):
        config.load(_env(tmp_path, HUB_CONFIG=str(tmp_path / "nope.toml")))


def test_secret_key_generated_private_and_reused(tmp_path: Path) -> None:
    env = _env(tmp_path)
    first = config.load(env)
    path = tmp_path / "var" / "secret-key"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 32
    assert path.read_text().strip() == first.secret_key
    second = config.load(env)
    assert second.secret_key == first.secret_key
    # another var dir gets another key
    other = config.load(_env(tmp_path / "elsewhere"))
    assert other.secret_key != first.secret_key


def test_empty_secret_key_file_never_gives_an_empty_key(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    (var / "secret-key").write_text("")
    try:
        s = config.load(_env(tmp_path))
    except ConfigError:
        return
    assert s.secret_key != ""


def test_ladders_are_parsed_with_the_rest_of_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text(
        '[[escalation]]\nname = "late"\nwhen = { breached = "first_response" }\n'
        'levels = [ { after = "15m", notify = ["role:lead"] }, { after = "1h", notify = ["user:ceo"] } ]\n'
    )
    settings = config.load({"HUB_CONFIG": str(tmp_path / "hub.toml"), "HUB_VAR_DIR": str(tmp_path)})
    (ladder,) = settings.ladders
    assert ladder.name == "late" and [level.after for level in ladder.levels] == [900.0, 3600.0]
    assert ladder.levels[1].notify == ("user:ceo",)


@pytest.mark.parametrize(
    "body,named",
    [
        ('[[escalation]]\nwhen = { complaint = true }\nlevels = [ { after = "1h", notify = ["role:lead"] } ]\n', "escalation[0] needs a name"),
        ('[[escalation]]\nname = "c"\nwhen = { complaint = "yes" }\nlevels = [ { after = "1h", notify = ["role:lead"] } ]\n',
         "escalation[0].when.complaint"),
        ('[[escalation]]\nname = "c"\nwhen = { complaint = true }\nlevels = [ { after = "2h", notify = ["role:lead"] }, '
         '{ after = "1h", notify = ["role:manager"] } ]\n', "escalation[0].levels[1].after"),
    ],
)
def test_a_bad_ladder_is_a_config_error_naming_the_key(tmp_path: Path, body: str, named: str) -> None:
    (tmp_path / "hub.toml").write_text(body)
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        config.load({"HUB_CONFIG": str(tmp_path / "hub.toml"), "HUB_VAR_DIR": str(tmp_path)})


def test_the_default_queue_is_one_setting_support_unless_queues_are_configured(tmp_path: Path) -> None:
    plain = config.load({"HUB_SECRET_KEY": "x" * 40, "HUB_VAR_DIR": str(tmp_path / "a")})
    assert plain.default_queue == "support" and plain.agent_queues(None) == ["support"] and plain.agent_queues([]) == ["support"]
    toml = tmp_path / "hub.toml"
    toml.write_text('[[queues]]\nname = "general"\n\n[[queues]]\nname = "billing"\nchannels = ["email"]\n', encoding="utf-8")
    configured = config.load({"HUB_SECRET_KEY": "x" * 40, "HUB_VAR_DIR": str(tmp_path / "b"), "HUB_CONFIG": str(toml)})
    assert configured.default_queue == "general"
    assert configured.agent_queues([]) == ["general"] and configured.agent_queues(["billing"]) == ["billing"]
