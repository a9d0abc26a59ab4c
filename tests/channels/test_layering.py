"""Channels plug into the core, not into the web role (issue 16): no module under channels/
imports hub.web, and a worker that imports every processor and builds every channel's
adapter loads no module of the web role and no aiohttp.web (its server code)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return names


@pytest.mark.unit
def test_no_module_under_channels_imports_hub_web() -> None:
    files = sorted((ROOT / "channels").rglob("*.py"))
    assert len(files) > 20  # the whole package was read
    offending = {str(f.relative_to(ROOT)): m for f in files for m in imported_modules(f) if m == "hub.web" or m.startswith("hub.web.")}
    assert offending == {}


@pytest.mark.unit
def test_the_check_sees_an_import_of_hub_web(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from hub.web.context import Hub\nimport hub.web.errors as errors\n", encoding="utf-8")
    assert imported_modules(bad) == ["hub.web.context", "hub.web.context.Hub", "hub.web.errors"]


WORKER_IMPORTS = """
import asyncio, importlib, json, pkgutil, sys
import processors
for m in pkgutil.iter_modules(processors.__path__):
    importlib.import_module("processors." + m.name)
from channels import registry
from hub.bus import Bus
from hub.config import load

async def build():
    settings = load({"HUB_SECRET_KEY": "k" * 40, "TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_AUTH_TOKEN": "t",
                     "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886",
                     "TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_MODE": "polling",
                     "HUB_SMTP_URL": "smtp://127.0.0.1:25", "HUB_EMAIL_FROM": "support@example.com"})
    return sorted(registry.build(settings, Bus("127.0.0.1:1")))

built = asyncio.run(build())
print(json.dumps({"built": built, "modules": sorted(k for k in sys.modules if k == "aiohttp.web" or k.startswith(("hub.web", "aiohttp.web")))}))
"""


@pytest.mark.integration  # a process of its own: a clean sys.modules
def test_a_worker_with_every_channel_built_loads_no_web_role_and_no_aiohttp_web() -> None:
    done = subprocess.run([sys.executable, "-c", WORKER_IMPORTS], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    from channels import registry

    assert found["built"] == sorted(registry.names())
    assert found["modules"] == []


@pytest.mark.integration
def test_the_web_role_does_load_them() -> None:
    """The same probe sees the web role's modules once they are imported."""
    probe = "import json, sys; import hub.web.app; print(json.dumps(sorted(k for k in sys.modules if k in ('hub.web.context', 'aiohttp.web'))))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["aiohttp.web", "hub.web.context"]
