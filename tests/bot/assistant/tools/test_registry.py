"""Adding a tool is one module plus its registration: offered to the model, routed by rules, documented.

The example is `opening_hours.py` beside this file, a shop's own tool; the shipped tools are declared the
same way, and their names are written nowhere but in their own modules.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from bot.assistant import tools
from bot.assistant.engine import ChatEngine
from bot.assistant.events import ToolCalled
from bot.assistant.intents import facts_by_intent, tool_for
from bot.assistant.toolcall import tool_help
from bot.assistant.tools import ToolDeps, ToolSpec, build_tools, registered
from bot.settings import PROJECT_ROOT, Settings
from retrieval.retriever import Retriever
from tests.bot.assistant.test_toolcall import ScriptedGenerator

EXAMPLE = "tests.bot.assistant.tools.opening_hours"


@pytest.fixture
def example():
    """The example tool, registered as the `tool_modules` setting would, and removed afterwards."""
    module = importlib.import_module(EXAMPLE)
    tools.register(module.SPEC)
    yield module
    tools.unregister(module.NAME)


@pytest.fixture
def engine(tiny_store, embedder, tmp_path):
    def make(**overrides) -> tuple[ChatEngine, ScriptedGenerator]:
        settings = Settings(data_dir=tmp_path, top_k_products=2, top_k_policies=1, **overrides)
        retriever = Retriever.open(tiny_store, embedder, settings.index_dir)
        generator = ScriptedGenerator("We're open weekdays 8:00-20:00.")
        registry = build_tools(ToolDeps(settings, tiny_store, retriever))
        return ChatEngine(settings, tiny_store, retriever, generator, registry), generator

    return make


def test_a_registered_tool_is_built_and_offered_to_the_model(example, tiny_store):
    registry = build_tools(ToolDeps(Settings(), tiny_store))
    assert example.NAME in registry.tools
    assert example.NAME in tool_help(list(registry.tools.values()))
    assert any(s["name"] == example.NAME for s in registry.schemas())


def test_a_registered_tool_is_routed_by_its_phrases_and_runs_before_the_model_answers(example, engine):
    assert tool_for("hi, what are your opening hours?") == example.NAME
    assert tool_for("I want to talk to a person about your opening hours") == "handoff"  # priority: a person first
    assert facts_by_intent()["opening_hours"] == frozenset()

    chat, generator = engine()
    cid = chat.start("C1")
    reply = chat.reply(cid, "C1", "when are you open?")
    called = [e for e in reply.prelude if isinstance(e, ToolCalled)]
    assert [(e.name, len(e.result.items)) for e in called] == [(example.NAME, 3)]
    assert "".join(reply) == "We're open weekdays 8:00-20:00."
    assert "Result of opening_hours:\nweekdays: 8:00-20:00" in generator.prompts[0][0]["content"]


def test_without_registration_the_same_question_calls_no_tool(engine):
    assert tool_for("what are your opening hours?") is None
    assert "opening_hours" not in facts_by_intent()
    chat, _ = engine()
    cid = chat.start("C1")
    assert not any(isinstance(e, ToolCalled) for e in chat.reply(cid, "C1", "what are your opening hours?").prelude)


def test_a_registered_tool_is_documented(example):
    assert f"| `{example.NAME}` | `day` (optional) | no | the opening hours, a card per day | its phrases match" in (
        tools.reference()
    )


def test_the_tool_modules_setting_registers_a_shops_tools(tiny_store, embedder, tmp_path):
    from bot.runtime import Runtime

    runtime = Runtime(Settings(data_dir=tmp_path, tool_modules=[EXAMPLE]))
    runtime.store = tiny_store
    runtime.embedder = embedder
    try:
        assert "opening_hours" in runtime.tools.tools
    finally:
        tools.unregister("opening_hours")


def test_a_second_tool_of_the_same_name_is_refused(example):
    clash = ToolSpec(
        name=example.NAME, description="x", args=example.OpeningHoursArgs, build=example.build, route=example.SPEC.route
    )
    with pytest.raises(ValueError, match="already registered"):
        tools.register(clash)


def test_the_tool_reference_in_the_docs_is_current():
    page = (PROJECT_ROOT / "docs" / "tool-calls.md").read_text(encoding="utf-8")
    assert tools.document(page) == page, "docs/tool-calls.md is stale: run `shopbot docs`"


def test_tool_names_are_written_only_in_their_own_modules():
    """Everything else reads a tool's name from its module (`NAME`) or the registry. The wire protocol's
    `handoff` event is a message type, not the tool's name."""
    sources = [p for top in ("bot", "server", "adapters", "retrieval") for p in (PROJECT_ROOT / top).rglob("*.py")]
    for spec in registered():
        own = Path(importlib.import_module(spec.build.__module__).__file__).resolve()
        literal = re.compile(rf"[\"']{re.escape(spec.name)}[\"']")
        elsewhere = [
            f"{p.relative_to(PROJECT_ROOT)}:{n}"
            for p in sources
            if p.resolve() != own
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if literal.search(line) and not (p.name == "protocol.py" and "Literal[" in line)
        ]
        assert not elsewhere, f"{spec.name!r} is written outside its module: {elsewhere}"
