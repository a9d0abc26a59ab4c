"""A mistake in the SLA, calendar or complaint sections stops every command at start with the
key named, before anything is touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "toml,named",
    [
        ('[[sla]]\nname = "x"\nfirst_response = "soon"\n', "sla[0].first_response"),
        ('[[sla]]\nname = "x"\ncalendar = "office"\nfirst_response = "1h"\n', "sla[0].calendar"),
        ('[calendars.office]\ntimezone = "Asia/Tehran"\nhours = { sat = ["8-17"] }\n', "calendars.office.hours.sat[0]"),
        ('[complaints]\nterms = "شکایت"\n', "complaints.terms"),
    ],
)
def test_a_bad_section_stops_the_start_naming_the_key(tmp_path: Path, toml: str, named: str) -> None:
    (tmp_path / "hub.toml").write_text(toml, encoding="utf-8")
    env = {**os.environ, "HUB_CONFIG": str(tmp_path / "hub.toml"), "HUB_VAR_DIR": str(tmp_path / "var"),
           "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/hub.db"}
    done = subprocess.run([sys.executable, "-m", "hub.cli", "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "configuration error" in done.stderr and named in done.stderr
    assert not (tmp_path / "hub.db").exists()  # nothing was touched


@pytest.mark.parametrize(
    "toml,named",
    [
        ('[[escalation]]\nname = "c"\nwhen = { complaint = true }\nlevels = [ { after = "soon", notify = ["role:lead"] } ]\n',
         "escalation[0].levels[0].after"),
        ('[[escalation]]\nname = "c"\nwhen = { breached = "first_reply" }\nlevels = [ { after = "1h", notify = ["role:lead"] } ]\n',
         "escalation[0].when.breached"),
        ('[[escalation]]\nname = "c"\nwhen = { complaint = true }\nlevels = [ { after = "1h", notify = ["boss"] } ]\n',
         "escalation[0].levels[0].notify"),
    ],
)
def test_a_bad_escalation_ladder_stops_run_before_the_banner_in_one_line(tmp_path: Path, toml: str, named: str) -> None:
    """`contacthub run` (what `make run` execs) checks the ladders with the rest of the
    configuration: one line naming the key, no broker, no banner, nothing written."""
    (tmp_path / "hub.toml").write_text(toml, encoding="utf-8")
    env = {**os.environ, "HUB_CONFIG": str(tmp_path / "hub.toml"), "HUB_VAR_DIR": str(tmp_path / "var"),
           "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/hub.db"}
    env.pop("HUB_KAFKA_BOOTSTRAP", None)
    done = subprocess.run([sys.executable, "-m", "hub.cli", "run"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("configuration error: ") and named in lines[0], done.stderr
    assert "agent UI" not in done.stdout and "broker" not in done.stdout
    assert not (tmp_path / "hub.db").exists() and not (tmp_path / "var" / "broker.log").exists()
