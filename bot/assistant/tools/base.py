"""Tools the engine can call on a shopper's behalf, with JSON-schema arguments validated before any run.

A tool never learns who the shopper is from its arguments: the caller's identity comes in a
`ToolSession` built from the authenticated session, and argument models ignore unknown fields
such as a `customer_id` the model or the shopper wrote.

Each tool is one module that declares a `ToolSpec` (its name, arguments, how it is built, how a
question is routed to it, its side effect, how the adapter learns it) and registers it; the runtime,
the training-data builder and the docs all read the same registry (`bot.assistant.tools`).
"""

from __future__ import annotations

import enum
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

if TYPE_CHECKING:
    from bot.assistant.conversations import Conversations
    from bot.settings import Settings
    from retrieval.retriever import Retriever
    from retrieval.store import Store


class ToolArgs(BaseModel):
    """Base for argument models: extra fields (e.g. a customer id) are dropped, never used."""

    model_config = ConfigDict(extra="ignore")


@dataclass(frozen=True)
class ToolSession:
    customer_id: str | None
    conversation_id: str


@dataclass
class ToolResult:
    """What the shopper sees: `text` for the model and the transcript, `items` for cards in a UI."""

    text: str
    items: list[dict[str, Any]] = field(default_factory=list)


class ToolError(ValueError):
    """A call that names no such tool or whose arguments break the schema; the text says which."""


class Effect(enum.Enum):
    """What a tool's result sets off beyond the answer, done by whoever relays the turn (the server)."""

    HANDOFF = "the bot pauses until a person replies; agents are notified, the shopper's open tabs told"


@dataclass(frozen=True)
class Route:
    """How rule routing (`tool_routing` "rules") finds the tool in a shopper's message.

    `pattern` calls the tool outright, checked in `priority` order (lowest first) before the classifier;
    `classifier` lets the router pick it when the probability of `intent` passes the threshold calibrated
    for it on held-apart phrasings (bot/assistant/intents.py).
    """

    intent: str
    pattern: re.Pattern[str] | None = None
    priority: int = 100
    classifier: bool = False
    # how often the router must be right, on held-apart phrasings, when it calls the tool (sets its threshold)
    precision: float = 0.8
    arguments: Callable[[str], dict[str, Any]] = lambda _text: {}
    facts: frozenset[str] | None = None  # the kinds of facts (bot.assistant.prompt) its questions need; None: all


@dataclass(frozen=True)
class Training:
    """How the adapter learns the tool: shopper phrasings (training and evaluation kept apart), the call it
    writes for them, and the answer it writes once the result is in. `subject(rng, held_out)` draws a
    scenario's slots (e.g. a search query) for the phrasings' `{placeholders}`."""

    train: tuple[str, ...]
    eval: tuple[str, ...]
    call: Callable[[dict[str, Any]], dict[str, Any]] = lambda _subject: {}
    answer: Callable[[ToolResult, dict[str, Any]], str] = lambda result, _subject: result.text
    subject: Callable[[random.Random, bool], dict[str, str]] | None = None
    signed_out: str | None = None  # the answer when the shopper is not signed in (None: the engine's sign-in answer)


@dataclass(frozen=True)
class ToolDeps:
    """What a tool may be built from; identity is never among it (that comes with each call's session)."""

    settings: Settings
    store: Store
    retriever: Retriever | None = None
    conversations: Conversations | None = None


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[ToolArgs]
    run: Callable[[ToolSession, ToolArgs], ToolResult]
    needs_customer: bool = False
    effect: Effect | None = None
    reply: str | None = None

    @property
    def schema(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.args.model_json_schema()}


@dataclass(frozen=True)
class ToolSpec:
    """Everything about one tool, declared once in its own module."""

    name: str
    description: str
    args: type[ToolArgs]
    build: Callable[[ToolDeps], Tool]
    route: Route
    returns: str = ""  # what the shopper gets, for the tool reference in docs/tool-calls.md
    needs_customer: bool = False
    effect: Effect | None = None
    training: Training | None = None
    # What the shopper is told once a rule-routed call is made, in fixed words (the model is not asked): a
    # handoff's answer says one thing, and the model, given the result, wrote page furniture instead.
    reply: str | None = None

    def with_run(self, run: Callable[[ToolSession, Any], ToolResult]) -> Tool:
        """The callable tool: this spec's name, schema and flags around `run`."""
        return Tool(self.name, self.description, self.args, run, self.needs_customer, self.effect, self.reply)


class ToolRegistry:
    def __init__(self, tools: list[Tool]) -> None:
        self.tools = {t.name: t for t in tools}

    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema for t in self.tools.values()]

    def call(self, session: ToolSession, name: str, arguments: Mapping[str, Any] | None = None) -> ToolResult:
        tool = self.tools.get(name)
        if tool is None:
            raise ToolError(f"unknown tool {name!r}; known tools: {', '.join(sorted(self.tools))}")
        try:
            args = tool.args.model_validate(dict(arguments or {}))
        except ValidationError as exc:
            raise ToolError(f"bad arguments for {name}: {exc.errors(include_url=False)}") from exc
        if tool.needs_customer and session.customer_id is None:
            return ToolResult("The shopper is not signed in, so their purchase history is not available.")
        return tool.run(session, args)
