"""shopbot's retriever, model and tools compose into a LangChain user's own chain."""

from datetime import datetime

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough
from langchain_core.tools import tool
from pydantic import BaseModel

from bot.assistant.conversations import Conversations
from bot.assistant.langchain_parts import ShopChatModel, ShopRetriever, shop_tools
from bot.assistant.tools import ToolDeps, ToolSession, build_tools
from bot.settings import Settings
from retrieval.retriever import Retriever
from tests.server.conftest import ScriptedGenerator, ScriptedReplies


def test_retriever_returns_documents_with_ids_and_metadata(tiny_store, embedder, tmp_path):
    retriever = ShopRetriever(retriever=Retriever.open(tiny_store, embedder, tmp_path), k=3, kind="products")
    docs = retriever.invoke("oat milk for my latte")
    assert docs[0].id == "P1"
    assert docs[0].metadata["type"] == "product" and docs[0].metadata["brand"] == "Oatbury"
    policies = ShopRetriever(retriever=Retriever.open(tiny_store, embedder, tmp_path), k=1, kind="policies")
    assert policies.invoke("free delivery threshold")[0].metadata["source_id"] == "shipping"


def test_chat_model_streams_chunks_and_reports_usage(generator):
    model = ShopChatModel(generator=generator, max_new_tokens=8)
    chunks = list(model.stream("Say hello to a shopper."))
    assert sum(1 for c in chunks if c.content) >= 3
    final = model.invoke("Say hello to a shopper.")
    assert final.content and final.usage_metadata["output_tokens"] == 8
    assert final.response_metadata["finish_reason"] == "length"


def test_a_small_rag_chain_answers_from_retrieved_documents(tiny_store, embedder, generator, tmp_path):
    retriever = ShopRetriever(retriever=Retriever.open(tiny_store, embedder, tmp_path), k=2)
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from these facts:\n{context}"), ("human", "{question}")]
    )
    seen_context = []

    def format_docs(docs):
        seen_context.extend(d.metadata["source_id"] for d in docs)
        return "\n".join(d.page_content for d in docs)

    chain = (
        {"context": retriever | format_docs, "question": RunnablePassthrough()}
        | prompt
        | ShopChatModel(generator=generator, max_new_tokens=10)
        | StrOutputParser()
    )
    answer = chain.invoke("How much does shipping cost?")
    assert isinstance(answer, str) and answer.strip()
    assert "shipping" in seen_context


def test_tools_are_langchain_tools_bound_to_the_session(demo_store):
    from bot.assistant.langchain_parts import shop_tools
    from bot.assistant.tools.base import ToolRegistry, ToolSession
    from bot.assistant.tools.suggest_reorder import ReorderModel, reorder_tool

    registry = ToolRegistry([reorder_tool(demo_store, ReorderModel(), lambda: datetime(2026, 11, 20, 12))])
    (tool,) = shop_tools(registry, ToolSession("C0001", "conv"))
    assert tool.name == "suggest_reorder"
    assert "limit" in tool.args and "customer_id" not in tool.args
    own = tool.invoke({"limit": 3})
    assert own.startswith("Suggested reorders:") and own.count("\n- ") == 3
    assert tool.invoke({"limit": 3, "customer_id": "C0002"}) == own
    (anonymous,) = shop_tools(registry, ToolSession(None, "conv"))
    assert "not signed in" in anonymous.invoke({})


SEARCH_CALL = ['<tool>{"name": "search_products", ', '"arguments": {"query": "oat milk"}}', "</tool>", " and more"]


@pytest.fixture
def session_tools(tiny_store, embedder, tmp_path):
    """The shop's tools as LangChain tools for signed-in customer C1."""
    deps = ToolDeps(Settings(data_dir=tmp_path), tiny_store, Retriever.open(tiny_store, embedder, tmp_path))
    conversation = Conversations(tiny_store).create("C1")
    return shop_tools(build_tools(deps), ToolSession("C1", conversation))


def test_bound_shop_tools_make_a_call_reply_into_tool_calls_and_teach_the_call_format():
    generator = ScriptedGenerator(SEARCH_CALL)
    model = ShopChatModel(generator=generator).bind_tools(["search_products"])
    reply = model.invoke([("system", "You help shoppers."), ("human", "any oat milk?")])
    assert reply.content == ""
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("search_products", {"query": "oat milk"})]
    assert reply.tool_calls[0]["id"].startswith("call_")
    assert reply.response_metadata["finish_reason"] == "tool_calls"
    assert generator.steps == 3, "generation stops at </tool>"
    system = generator.prompts[-1][0]
    assert system["role"] == "system" and system["content"].startswith("You help shoppers.\n\n")
    assert 'To use a tool, reply only <tool>{"name": NAME' in system["content"]
    assert "- search_products (query, max_results)" in system["content"] and "lookup_order" not in system["content"]


def test_an_agent_round_runs_the_call_for_the_session_shopper_and_gives_the_model_its_result(session_tools):
    tools = {t.name: t for t in session_tools}
    call = ['<tool>{"name": "lookup_order", "arguments": {"order_id": "1043", "customer_id": "C2"}}</tool>']
    generator = ScriptedReplies(call, ["That order is not on your account."])
    model = ShopChatModel(generator=generator).bind_tools(session_tools)
    messages = [HumanMessage("where is order 1043?")]
    reply = model.invoke(messages)
    results = [tools[c["name"]].invoke(c) for c in reply.tool_calls]
    assert isinstance(results[0], ToolMessage)
    assert results[0].content == "There is no order 1043 on this shopper's account."
    final = model.invoke([*messages, reply, *results])
    assert final.content == "That order is not on your account." and final.tool_calls == []
    prompt = generator.prompts[-1]
    assert [m["role"] for m in prompt] == ["system", "user"], "the call leaves the prompt, its result joins the system"
    assert f"Result of lookup_order:\n{results[0].content}" in prompt[0]["content"]
    assert "FedEx" not in prompt[0]["content"], "C2's order never reaches C1's prompt"


def test_an_answer_streams_unchanged_with_tools_bound_and_a_call_never_streams_as_text():
    answer = ShopChatModel(generator=ScriptedGenerator(["<", "b>Yes</b>", ", we", " have it."]))
    chunks = list(answer.bind_tools(["search_products"]).stream("any oat milk?"))
    assert "".join(c.content for c in chunks) == "<b>Yes</b>, we have it."
    called = ShopChatModel(generator=ScriptedGenerator(SEARCH_CALL)).bind_tools(["search_products"])
    chunks = list(called.stream("any oat milk?"))
    assert all("<tool" not in c.content for c in chunks)
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [("search_products", {"query": "oat milk"})]


def test_a_malformed_call_is_an_invalid_tool_call_saying_what_is_wrong():
    model = ShopChatModel(generator=ScriptedGenerator(["<tool>{name: search}</tool>"])).bind_tools(["search_products"])
    reply = model.invoke("any oat milk?")
    assert reply.tool_calls == [] and reply.content == ""
    (invalid,) = reply.invalid_tool_calls
    assert "not valid JSON" in invalid["error"] and invalid["args"] == "<tool>{name: search}</tool>"


def test_foreign_tools_and_forced_tool_choice_are_refused_by_name():
    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    model = ShopChatModel(generator=ScriptedGenerator(["hi"]))
    with pytest.raises(ValueError, match=r"only the shop's own tools \(suggest_reorder, .*not 'get_weather'"):
        model.bind_tools([get_weather, "search_products"])
    with pytest.raises(ValueError, match="cannot force a tool call"):
        model.bind_tools(["search_products"], tool_choice="any")
    assert model.bind_tools(["search_products"], tool_choice="auto") is not None


def test_structured_output_is_refused_with_the_reason():
    class Answer(BaseModel):
        text: str

    with pytest.raises(NotImplementedError, match="no structured output: its small model writes answers"):
        ShopChatModel(generator=ScriptedGenerator(["{}"])).with_structured_output(Answer)
