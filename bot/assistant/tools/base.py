"""Tools the engine can call on a shopper's behalf, with JSON-schema arguments validated before any run.

A tool never learns who the shopper is from its arguments: the caller's identity comes in a
`ToolSession` built from the authenticated session, and argument models ignore unknown fields
such as a `customer_id` the model or the shopper wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


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


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[ToolArgs]
    run: Callable[[ToolSession, ToolArgs], ToolResult]
    needs_customer: bool = False

    @property
    def schema(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.args.model_json_schema()}


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
