"""WebSocket protocol v1 (docs/protocol.md): the client messages as parsed models, the server events as models.

Parsing is strict about shapes and lenient about unknown extra fields, so newer clients can add
fields; anything unparseable becomes a `ProtocolError` that the connection answers with a
`bad_frame` error while staying open.
"""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.assistant.conversations import StoredMessage
from retrieval.schema import MessageStatus

MAX_ID_CHARS = 64
MAX_TOKEN_CHARS = 4096
MAX_COMMENT_CHARS = 1000


class ErrorCode(str, enum.Enum):
    bad_frame = "bad_frame"
    message_too_long = "message_too_long"
    empty_message = "empty_message"
    rate_limited = "rate_limited"
    busy = "busy"
    overloaded = "overloaded"
    unauthorized = "unauthorized"
    forbidden = "forbidden"
    not_found = "not_found"
    agent_active = "agent_active"
    internal = "internal"


class CloseCode(enum.IntEnum):
    normal = 1000
    policy = 1008
    too_big = 1009
    internal = 1011
    overloaded = 1013


class ProtocolError(ValueError):
    """A client frame that is not a valid protocol v1 message; the text says what is wrong."""


class _Client(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Hello(_Client):
    type: Literal["hello"]
    token: str | None = Field(None, max_length=MAX_TOKEN_CHARS)
    conversation_id: str | None = Field(None, max_length=MAX_ID_CHARS)


class UserMessage(_Client):
    type: Literal["message"]
    text: str  # its length limit is the engine's, reported as message_too_long
    client_msg_id: str | None = Field(None, max_length=MAX_ID_CHARS)


class Stop(_Client):
    type: Literal["stop"]


class FeedbackMessage(_Client):
    type: Literal["feedback"]
    message_id: int
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=MAX_COMMENT_CHARS)


class Ping(_Client):
    type: Literal["ping"]


ClientMessage = Annotated[Hello | UserMessage | Stop | FeedbackMessage | Ping, Field(discriminator="type")]
_client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


def parse_client(raw: str) -> Hello | UserMessage | Stop | FeedbackMessage | Ping:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"the frame is not JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise ProtocolError("a frame must be a JSON object with a 'type'")
    try:
        return _client_adapter.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'frame'}: {e['msg']}" for e in exc.errors())
        raise ProtocolError(f"not a valid protocol v1 message: {problems}") from exc


class Event(BaseModel):
    """A server event; every one after `ready` names its conversation."""

    type: str
    conversation_id: str | None

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Customer(BaseModel):
    id: str
    name: str


class Ready(Event):
    type: Literal["ready"] = "ready"
    customer: Customer | None
    state: str


class HistoryMessage(BaseModel):
    message_id: int
    role: str
    text: str
    status: str
    tools: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    agent_name: str | None = None


class History(Event):
    type: Literal["history"] = "history"
    messages: list[HistoryMessage]


class Start(Event):
    type: Literal["start"] = "start"
    message_id: int
    client_msg_id: str | None = None


class ToolEvent(Event):
    type: Literal["tool"] = "tool"
    message_id: int
    name: str
    items: list[dict[str, Any]] = []


class Citations(Event):
    type: Literal["citations"] = "citations"
    message_id: int
    sources: list[dict[str, Any]]


class Queued(Event):
    type: Literal["queued"] = "queued"
    message_id: int
    position: int


class Delta(Event):
    type: Literal["delta"] = "delta"
    message_id: int
    seq: int
    text: str


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class Timings(BaseModel):
    ttft_ms: int | None
    total_ms: int


class End(Event):
    type: Literal["end"] = "end"
    message_id: int
    finish_reason: str
    usage: Usage
    timings: Timings


class HandoffEvent(Event):
    type: Literal["handoff"] = "handoff"
    state: str
    reason: str | None = None


class AgentMessage(Event):
    type: Literal["agent_message"] = "agent_message"
    message_id: int
    text: str
    agent_name: str | None = None


class Forwarded(Event):
    type: Literal["forwarded"] = "forwarded"
    message_id: int
    state: str
    client_msg_id: str | None = None


class FeedbackOk(Event):
    type: Literal["feedback_ok"] = "feedback_ok"
    message_id: int
    rating: str


class Pong(Event):
    type: Literal["pong"] = "pong"


class Error(Event):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    retryable: bool = False
    client_msg_id: str | None = None


def history_messages(stored: list[StoredMessage]) -> list[HistoryMessage]:
    """Finished messages only: an answer still streaming is never replayed."""
    return [
        HistoryMessage(
            message_id=m.id,
            role=m.role,
            text=m.content,
            status=m.status,
            tools=m.meta.get("tools", []),
            sources=m.meta.get("sources", []),
            agent_name=m.meta.get("agent_name"),
        )
        for m in stored
        if m.status != MessageStatus.streaming.value
    ]
