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
