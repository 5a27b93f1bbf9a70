"""shopbot's parts as LangChain components, for shops that compose their own chains.

`ShopRetriever` is a `BaseRetriever` over shopbot's hybrid search; `ShopChatModel` is a streaming
`BaseChatModel` over any shopbot `Generator`; `shop_tools` exposes the tool registry as LangChain tools.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import StructuredTool
from pydantic import ConfigDict

from bot.assistant.tools.base import Tool, ToolRegistry, ToolSession
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


def to_chat_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    converted = []
    for m in messages:
        role = _ROLES.get(m.type)
        if role is None:
            raise ValueError(f"ShopChatModel cannot take a {m.type!r} message; use system, human or ai messages")
        converted.append({"role": role, "content": m.text})
    return converted


class ShopChatModel(BaseChatModel):
    """Streams tokens from shopbot's generator; usage and finish reason land in the message metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    generator: Generator
    max_new_tokens: int | None = None

    @property
    def _llm_type(self) -> str:
        return "shopbot"

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        stats = GenerationStats()
        for piece in self.generator.stream(to_chat_messages(messages), max_new_tokens=self.max_new_tokens, stats=stats):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                response_metadata={"finish_reason": stats.finish_reason},
                usage_metadata={
                    "input_tokens": stats.prompt_tokens,
                    "output_tokens": stats.completion_tokens,
                    "total_tokens": stats.prompt_tokens + stats.completion_tokens,
                },
            )
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        merged: AIMessageChunk | None = None
        for chunk in self._stream(messages, stop, run_manager, **kwargs):
            merged = chunk.message if merged is None else merged + chunk.message
        message = AIMessage(
            content=merged.content if merged else "",
            response_metadata=merged.response_metadata if merged else {},
            usage_metadata=merged.usage_metadata if merged else None,
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
