"""Every processor module imports in a bare interpreter: no environment, no broker, no
configuration read, nothing created (what `import processors.app` used to do at import)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(f"processors.{p.stem}" for p in (ROOT / "processors").glob("*.py") if p.stem != "__init__")


def test_every_processor_module_is_listed() -> None:
    assert {"processors.intake", "processors.routing", "processors.sla", "processors.escalation", "processors.dispatch",
            "processors.notifier", "processors.projector", "processors.app", "processors.pipeline"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_a_processor_module_imports_with_no_environment_and_no_broker(module: str, tmp_path: Path) -> None:
    # cwd is an empty folder: a module that made var/ or read a config at import would show here
    done = subprocess.run([sys.executable, "-c", f"import {module}"], env={"PYTHONPATH": str(ROOT)}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []
