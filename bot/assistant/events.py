"""What a turn tells whoever relays it, in order: the tools it called, the sources it read, the answer's
text as it is written, and that it finished. The server turns each into a protocol event; the terminal
chat prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.assistant.tools.base import Effect, ToolResult
from bot.inference.generator import GenerationStats


@dataclass(frozen=True)
class ToolCalled:
    """A tool ran for the shopper and its result is shown to them (refused calls reach only the model)."""

    name: str
    result: ToolResult
    effect: Effect | None = None


@dataclass(frozen=True)
class Sources:
    """The documents the answer is grounded in, each time they change."""

    sources: list[dict[str, str]]


@dataclass(frozen=True)
class Text:
    """A piece of the answer, for the shopper as it is written."""

    text: str


@dataclass(frozen=True)
class Finished:
    """The answer is complete; `stats` holds its usage and why generation stopped."""

    stats: GenerationStats


TurnEvent = ToolCalled | Sources | Text | Finished
