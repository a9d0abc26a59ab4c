"""The pipeline table is whole, docs/design.md's picture is the table's, and build_app
registers exactly what the table names (without a broker: nothing connects at build)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub import config
from hub.events import catalogue
from processors import pipeline
from processors.app import build_app

DESIGN = Path(__file__).resolve().parents[2] / "docs" / "design.md"


def picture_in_design() -> str:
    found = re.search(r"<!-- pipeline:begin -->\n```\n(.*?)```\n<!-- pipeline:end -->", DESIGN.read_text(encoding="utf-8"), re.S)
    assert found, "docs/design.md has no pipeline picture between <!-- pipeline:begin --> and <!-- pipeline:end -->"
    return found.group(1)


def test_the_pipeline_table_names_known_topics_types_and_one_writer_per_table() -> None:
    assert pipeline.problems() == []


def test_the_design_picture_names_every_processor_of_the_table_and_no_other() -> None:
    drawn = {m.group(1) for m in re.finditer(r"--> (\S+)\s+-->", picture_in_design())}
    assert drawn == {p.name for p in pipeline.PIPELINE} | {f"[{e.name}]" for e in pipeline.EDGES}


def test_the_design_picture_is_the_one_the_table_draws() -> None:
    # on failure: `python -m processors.pipeline` prints the picture to paste into docs/design.md
    assert picture_in_design() == pipeline.picture()


def test_problems_finds_a_processor_with_an_unknown_event_type(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = pipeline.Processor(name="typo", reads=(pipeline.topics.CONVERSATIONS,), handles=frozenset({"MessageRecieved"}),
                               publishes=(), handler="processors.routing:RoutingHandler")
    monkeypatch.setattr(pipeline, "PIPELINE", (*pipeline.PIPELINE, wrong))
    assert pipeline.problems() == ["typo: handles unknown event type MessageRecieved"]
    assert "MessageReceived" in catalogue()


def test_build_app_registers_a_faust_agent_per_agent_group_its_tables_and_timers(tmp_path: Path) -> None:
    settings = config.load({"HUB_SECRET_KEY": "k" * 40, "HUB_KAFKA_BOOTSTRAP": "127.0.0.1:9", "HUB_VAR_DIR": str(tmp_path),
                            "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/hub.db"})
    worker = build_app(settings)
    groups: dict[str, set[str]] = {}
    for p in pipeline.PIPELINE:
        if p.kind == "agent":
            groups.setdefault(p.group or p.name, set()).update(t.name for t in p.reads)
    assert set(worker.app.agents) == {f"hub.{name}" for name in groups}
    assert len(groups) < len([p for p in pipeline.PIPELINE if p.kind == "agent"])  # some share one: a record is read once for them
    for name, reads in groups.items():  # each reads the union of its members' topics, once
        assert set(worker.app.agents[f"hub.{name}"].channel.topics) == reads
    assert set(worker.app.tables) == {p.table for p in pipeline.PIPELINE if p.table and p.kind == "agent"}
    assert set(worker.handlers) == {p.name for p in pipeline.PIPELINE if not p.thread}
    own = [p for p in pipeline.PIPELINE if p.kind == "consumer" and not p.thread]
    assert worker.groups == sorted({p.group or p.name for p in own}, key=[p.group or p.name for p in own].index) and worker.groups
    for p in pipeline.PIPELINE:
        if p.kind == "agent":
            assert type(worker.handlers[p.name]) is p.handler_class()
            assert worker.handlers[p.name].table is worker.tables.get(p.name, worker.handlers[p.name].table)
    registered = {getattr(task, "__name__", "") for task in worker.app._app_tasks}  # noqa: SLF001 - faust keeps timers there
    wanted = {f"{p.name}_{t.name}" for p in pipeline.PIPELINE for t in p.timers} | {t.name for t in pipeline.WORKER_TIMERS}
    assert wanted <= registered


def test_build_app_needs_a_broker_named(tmp_path: Path) -> None:
    settings = config.load({"HUB_SECRET_KEY": "k" * 40, "HUB_VAR_DIR": str(tmp_path)})
    with pytest.raises(ValueError, match="HUB_KAFKA_BOOTSTRAP"):
        build_app(settings)
