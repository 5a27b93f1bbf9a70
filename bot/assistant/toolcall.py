"""The one tool-call format: a reply that starts with `<tool>{"name": ..., "arguments": {...}}</tool>`.

A 135M model follows one rigid shape far better than a menu of them, so a call is only recognised at
the very start of a reply and is the whole reply; everything else is an answer for the shopper. The
engine holds back the first characters while they could still become `<tool>`, so no call text is
ever streamed to a shopper (docs/tool-calls.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from bot.assistant.tools.base import Tool, ToolResult

TOOL_OPEN = "<tool>"
TOOL_CLOSE = "</tool>"


class Shape(Enum):
    PENDING = "pending"  # could still become a call: keep buffering
    ANSWER = "answer"  # plain text for the shopper
    CALL = "call"  # starts with <tool>


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


class ToolFailure(ToolResult):
    """A call the engine refused (unknown tool, bad arguments, over the cap): the model sees why, the shopper sees no card."""


class MalformedCall(ValueError):
    """The reply started like a call but is not `<tool>{json with a name}</tool>`."""


def shape_of(text: str) -> Shape:
    head = text.lstrip()
    if head.startswith(TOOL_OPEN):
        return Shape.CALL
    return Shape.PENDING if TOOL_OPEN.startswith(head) else Shape.ANSWER


def call_complete(text: str) -> bool:
    return TOOL_CLOSE in text


@dataclass
class Reading:
    """What `answer_pieces` has read of a reply: the text held back, and whether it is a call."""

    held: str = ""
    shape: Shape = Shape.PENDING


def answer_pieces(pieces: Iterable[str], reading: Reading) -> Iterator[str]:
    """The reply's answer text as it streams: the first characters are held while they could still become
    `<tool>`, then released at once; a reply that is a call yields nothing and stops at `</tool>`, the call
    in `reading.held`. Closing `pieces` is the caller's."""
    for piece in pieces:
        if reading.shape is Shape.ANSWER:
            yield piece
            continue
        reading.held += piece
        reading.shape = shape_of(reading.held)
        if reading.shape is Shape.ANSWER:
            yield reading.held
        elif reading.shape is Shape.CALL and call_complete(reading.held):
            return
    if reading.shape is Shape.PENDING and reading.held:
        yield reading.held


def parse_call(text: str) -> ToolCall:
    """The call at the start of `text`; anything after `</tool>` is ignored, a missing `</tool>` is tolerated."""
    head = text.lstrip()
    if not head.startswith(TOOL_OPEN):
        raise MalformedCall("a tool call must start with <tool>")
    body = head[len(TOOL_OPEN) :].split(TOOL_CLOSE, 1)[0].strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise MalformedCall(
            f'the call is not valid JSON ({exc.msg}); write <tool>{{"name": ..., "arguments": {{...}}}}</tool>'
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise MalformedCall('the call needs a "name" string')
    arguments = data.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise MalformedCall('"arguments" must be a JSON object')
    return ToolCall(data["name"], arguments)


def format_call(call: ToolCall) -> str:
    """The exact text a model writes for a call (training targets use this, so serving parses it back)."""
    return (
        TOOL_OPEN + json.dumps({"name": call.name, "arguments": call.arguments}, separators=(", ", ": ")) + TOOL_CLOSE
    )


def _argument_names(tool: Tool) -> str:
    props = tool.args.model_json_schema().get("properties", {})
    return ", ".join(props)


def tool_help(tools: list[Tool]) -> str:
    """The few lines of the system prompt that teach the call format; empty when there are no tools."""
    if not tools:
        return ""
    lines = [f'To use a tool, reply only {TOOL_OPEN}{{"name": NAME, "arguments": {{...}}}}{TOOL_CLOSE}. Tools:']
    for tool in tools:
        summary = tool.description.split(". ")[0].rstrip(".")
        lines.append(f"- {tool.name} ({_argument_names(tool)}): {summary}")
    return "\n".join(lines)
