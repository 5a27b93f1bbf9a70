"""shopbot's retriever, model and tools compose into a LangChain user's own chain."""

from datetime import datetime

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from bot.assistant.langchain_parts import ShopChatModel, ShopRetriever
from retrieval.retriever import Retriever


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
