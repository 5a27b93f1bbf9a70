"""shopbot's parts as LangChain components, for shops that compose their own chains and agents.

`ShopRetriever` is a `BaseRetriever` over shopbot's hybrid search; `ShopChatModel` is a streaming
`BaseChatModel` over any shopbot `Generator`, which calls the shop's own tools once they are bound
(`bind_tools`); `shop_tools` exposes the tool registry as LangChain tools bound to one signed-in session.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import InvalidToolCall, ToolCall, invalid_tool_call, tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict

from bot.assistant.toolcall import MalformedCall, Reading, Shape, answer_pieces, parse_call, tool_help
from bot.assistant.tools import registered
from bot.assistant.tools.base import Tool, ToolRegistry, ToolSession, ToolSpec
from bot.inference.generator import GenerationStats, Generator
from retrieval.retriever import Retriever

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


class ShopRetriever(BaseRetriever):
    """Products and policy chunks as Documents, each with its id and where it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    k: int = 5
    kind: str | None = None  # "products", "policies", or None for both

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = (
            self.retriever.search(query, self.kind, self.k) if self.kind else self.retriever.search_all(query, self.k)
        )
        return [
            Document(
                id=hit.doc.id,
                page_content=hit.doc.text,
                metadata={
                    "source_id": hit.doc.source_id,
                    "type": hit.doc.kind,
                    "title": hit.doc.title,
                    "score": hit.score,
                    **{k: v for k, v in hit.doc.metadata.items() if v is not None},
                },
            )
            for hit in hits
        ]


def to_chat_messages(messages: list[BaseMessage], tool_lines: str = "") -> list[dict[str, str]]:
    """LangChain messages as the generator's chat messages, in the shape the engine gives the model after a tool
    call (the shape the adapter learned): the tool-call format and the tools (`tool_lines`) and each tool's
    result (`Result of NAME:`) join the system message, and an AI message that only called tools is left out."""
    converted: list[dict[str, str]] = []
    results: list[str] = []
    called: dict[str | None, str] = {}
    for m in messages:
        if m.type == "tool":
            name = getattr(m, "name", None) or called.get(getattr(m, "tool_call_id", None), "tool")
            results.append(f"Result of {name}:\n{m.text}")
            continue
        calls = getattr(m, "tool_calls", None) or []
        called.update((c.get("id"), c["name"]) for c in calls)
        if m.type == "ai" and calls and not m.text:
            continue
        role = _ROLES.get(m.type)
        if role is None:
            raise ValueError(f"ShopChatModel cannot take a {m.type!r} message; use system, human, ai or tool messages")
        converted.append({"role": role, "content": m.text})
    extra = "\n\n".join(part for part in (tool_lines, *results) if part)
    if extra and converted and converted[0]["role"] == "system":
        converted[0] = {"role": "system", "content": f"{converted[0]['content']}\n\n{extra}"}
    elif extra:
        converted.insert(0, {"role": "system", "content": extra})
    return converted


def shop_tool_specs(tools: Sequence[Any]) -> list[ToolSpec]:
    """The shop's registered tools that `tools` name (LangChain tools, OpenAI tool dicts, shopbot tools or
    plain names), in registration order, the order the model learned them in; any other tool is refused."""
    shop = {spec.name: spec for spec in registered()}
    names = [_tool_name(t) for t in tools]
    foreign = [n for n in names if n not in shop]
    if foreign:
        raise ValueError(
            f"ShopChatModel calls only the shop's own tools ({', '.join(shop)}), the ones its model learned to call; "
            f"not {', '.join(repr(n) for n in foreign)}. Bind the tools of shop_tools(registry, session); a new "
            "shop tool is a module of its own (docs/tool-calls.md)"
        )
    return [spec for spec in shop.values() if spec.name in names]


def _tool_name(tool: Any) -> str:
    if isinstance(tool, str):
        return tool
    if isinstance(tool, (BaseTool, Tool, ToolSpec)):
        return tool.name
    if isinstance(tool, dict) and isinstance(tool.get("name"), str):
        return tool["name"]
    return convert_to_openai_tool(tool)["function"]["name"]


@dataclass
class _Answer:
    """What one generation gave: the text shown, or the tool call the model wrote instead."""

    stats: GenerationStats = field(default_factory=GenerationStats)
    calls: list[ToolCall] = field(default_factory=list)
    invalid: list[InvalidToolCall] = field(default_factory=list)

    @property
    def finish_reason(self) -> str | None:
        return "tool_calls" if self.calls or self.invalid else self.stats.finish_reason

    def metadata(self) -> dict[str, Any]:
        stats = self.stats
        return {
            "response_metadata": {"finish_reason": self.finish_reason},
            "usage_metadata": {
                "input_tokens": stats.prompt_tokens,
                "output_tokens": stats.completion_tokens,
                "total_tokens": stats.prompt_tokens + stats.completion_tokens,
            },
        }


class ShopChatModel(BaseChatModel):
    """Streams tokens from shopbot's generator; usage and finish reason land in the message metadata.

    With the shop's tools bound (`bind_tools`), the model is told the one call format it learned
    (bot/assistant/toolcall.py) and a reply that is a `<tool>` call becomes the AI message's `tool_calls`
    (`invalid_tool_calls` when it does not parse), never text: the call is held back while it could still
    become one, as the engine holds it back from a shopper.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    generator: Generator
    max_new_tokens: int | None = None

    @property
    def _llm_type(self) -> str:
        return "shopbot"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """The model offered the shop's own tools (`shop_tools(registry, session)`, or their names); it decides
        itself whether to call one, so `tool_choice` may only be `auto`. Tools run for the session their
        LangChain tools were bound to: the model's arguments never carry a customer."""
        if tool_choice not in (None, "auto"):
            raise ValueError(
                f"ShopChatModel cannot force a tool call (tool_choice={tool_choice!r}): the model decides "
                "whether to call one of the bound tools; leave tool_choice out"
            )
        return self.bind(tools=[spec.name for spec in shop_tool_specs(tools)], **kwargs)

    def with_structured_output(
        self, schema: dict[str, Any] | type, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Not offered: the bundled 135M model writes short answers and the shop's own tool calls, not JSON for
        an arbitrary schema, and a parser over its guesses would fail more often than not."""
        raise NotImplementedError(
            "ShopChatModel has no structured output: its small model writes answers and calls to the shop's own "
            "tools (bind_tools), not JSON for a given schema. Parse its text yourself, or use a larger chat model "
            "for that step"
        )

    def _answer(self, messages: list[BaseMessage], tools: list[str] | None, answer: _Answer) -> Iterator[str]:
        """The answer's text pieces; with tools bound, a reply that is a call fills `answer.calls` instead."""
        specs = shop_tool_specs(tools or [])
        chat = to_chat_messages(messages, tool_help(specs) if specs else "")
        pieces = self.generator.stream(chat, max_new_tokens=self.max_new_tokens, stats=answer.stats)
        if not specs:
            yield from pieces
            return
        reading = Reading()
        try:
            yield from answer_pieces(pieces, reading)
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
        held = reading.held
        if reading.shape is Shape.CALL:
            call_id = f"call_{uuid.uuid4().hex[:24]}"
            try:
                call = parse_call(held)
            except MalformedCall as exc:
                answer.invalid.append(invalid_tool_call(name=None, args=held.strip(), id=call_id, error=str(exc)))
            else:
                answer.calls.append(tool_call(name=call.name, args=call.arguments, id=call_id))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        answer = _Answer()
        for piece in self._answer(messages, kwargs.get("tools"), answer):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        calls = [
            tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"], index=i)
            for i, c in enumerate(answer.calls)
        ] + [tool_call_chunk(name=c["name"], args=c["args"], id=c["id"], index=0) for c in answer.invalid]
        yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=calls, **answer.metadata()))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        answer = _Answer()
        text = ""
        for piece in self._answer(messages, kwargs.get("tools"), answer):
            if run_manager:
                run_manager.on_llm_new_token(piece)
            text += piece
        message = AIMessage(
            content=text, tool_calls=answer.calls, invalid_tool_calls=answer.invalid, **answer.metadata()
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def shop_tools(registry: ToolRegistry, session: ToolSession) -> list[StructuredTool]:
    """The registry's tools as LangChain tools bound to one authenticated session.

    Binding the session here, outside the tool's arguments, keeps the LangChain agent (and its model)
    unable to act for another customer: the schemas it sees have no customer field.
    """

    def bind(tool: Tool) -> StructuredTool:
        def run(**arguments: Any) -> str:
            return registry.call(session, tool.name, arguments).text

        return StructuredTool.from_function(
            func=run, name=tool.name, description=tool.description, args_schema=tool.args
        )

    return [bind(t) for t in registry.tools.values()]
