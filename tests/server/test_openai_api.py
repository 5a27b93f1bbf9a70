"""The OpenAI-compatible surface as OpenAI SDK and LangChain users expect it: the official `openai` client against a
real uvicorn server over the tiny shop, with a scripted generator in place of the model."""

from __future__ import annotations

import re

import httpx
import openai
import pytest
from openai import OpenAI

from bot.assistant.engine import SIGN_IN_ANSWER, TOOL_FALLBACK_ANSWER
from bot.runtime import Runtime
from tests.conftest import REPO, seed_routing_index
from tests.server.conftest import ScriptedGenerator, ScriptedReplies, start_server, tiny_settings

PIECES = ["Oat", " milk", " is", " a", " fine", " choice", "."]
ANSWER = "".join(PIECES)
QUESTION = [{"role": "user", "content": "tell me something nice about oat milk"}]


@pytest.fixture(scope="module")
def server(tiny_shop_dir, embedder):
    seed_routing_index(tiny_shop_dir)
    settings = tiny_settings(tiny_shop_dir, fact_answers="model", attribute_answers="model")
    with start_server(settings, generator=ScriptedGenerator(PIECES), embedder=embedder) as live:
        yield live


@pytest.fixture
def client(server) -> OpenAI:
    return OpenAI(base_url=server.url + "v1", api_key="anonymous", max_retries=0)


def test_models_list_and_retrieve_shopbot_in_the_openai_shape(client):
    assert [m.id for m in client.models.list()] == ["shopbot"]
    model = client.models.retrieve("shopbot")
    assert model.object == "model" and model.owned_by == "shopbot" and model.created > 0
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("gpt-4o")
    assert missing.value.body["code"] == "not_found" and "'gpt-4o'" in missing.value.body["message"]


def test_a_stream_with_include_usage_ends_with_a_usage_chunk_before_done(client, server):
    response = httpx.post(
        server.url + "v1/chat/completions",
        json={"model": "shopbot", "stream": True, "stream_options": {"include_usage": True}, "messages": QUESTION},
    )
    assert response.text.endswith("data: [DONE]\n\n")
    chunks = list(
        client.chat.completions.create(
            model="shopbot", stream=True, stream_options={"include_usage": True}, messages=QUESTION
        )
    )
    *answer, last = chunks
    assert "".join(c.choices[0].delta.content or "" for c in answer) == ANSWER
    assert answer[-1].choices[0].finish_reason == "stop" and all(c.usage is None for c in answer)
    assert last.choices == [] and last.usage.completion_tokens == len(PIECES)
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens > len(PIECES)
    plain = list(client.chat.completions.create(model="shopbot", stream=True, messages=QUESTION))
    assert plain[-1].choices[0].finish_reason == "stop" and plain[-1].usage is None


def test_max_tokens_caps_the_answer_and_says_length_when_it_cut(client):
    cut = client.chat.completions.create(model="shopbot", max_tokens=3, messages=QUESTION)
    assert cut.choices[0].message.content == "".join(PIECES[:3])
    assert cut.usage.completion_tokens == 3 and cut.choices[0].finish_reason == "length"
    streamed = list(
        client.chat.completions.create(model="shopbot", stream=True, max_completion_tokens=2, messages=QUESTION)
    )
    assert [c.choices[0].delta.content for c in streamed[1:-1]] == PIECES[:2]
    assert streamed[-1].choices[0].finish_reason == "length"
    roomy = client.chat.completions.create(model="shopbot", max_tokens=500, messages=QUESTION)
    assert roomy.choices[0].message.content == ANSWER and roomy.choices[0].finish_reason == "stop"


def test_an_answer_in_fixed_words_is_never_cut_and_finishes_with_stop(client):
    fixed = client.chat.completions.create(
        model="shopbot", max_tokens=1, messages=[{"role": "user", "content": "where is my order?"}]
    )
    assert fixed.choices[0].message.content == SIGN_IN_ANSWER
    assert fixed.choices[0].finish_reason == "stop"


def test_the_fixed_answer_after_a_tool_call_cut_by_max_tokens_finishes_with_stop(tiny_shop_dir, embedder):
    """Under model tool routing a call cut short by the cap is not run; the shopper gets the whole fixed answer
    offering a person, which the cap did not cut."""
    seed_routing_index(tiny_shop_dir)
    settings = tiny_settings(tiny_shop_dir, tool_routing="model", max_tool_calls_per_turn=0)
    call = ['<tool>{"name": ', '"search_products", ', '"arguments": {"query": "oat milk"}}', "</tool>"]
    with start_server(settings, generator=ScriptedGenerator(call), embedder=embedder) as live:
        client = OpenAI(base_url=live.url + "v1", api_key="anonymous", max_retries=0)
        reply = client.chat.completions.create(model="shopbot", max_tokens=2, messages=QUESTION)
    assert reply.choices[0].message.content == TOOL_FALLBACK_ANSWER
    assert reply.choices[0].finish_reason == "stop" and reply.usage.completion_tokens == 2


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (
            {"tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]},
            "tools: the shop's own tools run on the server for the signed-in shopper; tools declared by a client are "
            "not supported",
        ),
        ({"tool_choice": "required"}, "tool_choice: no tool can be chosen"),
        ({"n": 2}, "n=2: shopbot writes one answer per request; leave n out or set it to 1"),
        ({"max_tokens": 0}, "max_tokens=0: at least 1 token"),
        ({"stream_options": {"include_usage": True}}, "stream_options: only allowed with stream=true"),
        (
            {"messages": [*QUESTION, {"role": "tool", "content": "sunny", "tool_call_id": "c1"}]},
            "messages[1] has role 'tool'",
        ),
        (
            {"messages": [*QUESTION, {"role": "assistant", "content": "Sure."}]},
            "messages must end with a user message",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "messages[0] has image_url content: only text is supported",
        ),
    ],
)
def test_what_shopbot_does_not_do_is_refused_with_400_in_the_error_shape(client, extra, said):
    request = {"model": "shopbot", "messages": QUESTION, **extra}
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(**request)
    assert refused.value.status_code == 400
    assert refused.value.body["code"] == "bad_frame" and refused.value.body["retryable"] is False
    assert said in refused.value.body["message"]


def test_empty_tools_and_no_tool_choice_are_served(client):
    reply = client.chat.completions.create(model="shopbot", tools=[], tool_choice="none", messages=QUESTION)
    assert reply.choices[0].message.content == ANSWER


def test_a_stateless_client_gets_its_earlier_turns_as_history_and_its_system_message_is_ignored(client, server):
    generator = server.runtime.generator
    earlier = [
        {"role": "user", "content": "tell me about the Barista Oat Milk"},
        {"role": "assistant", "content": "Barista Oat Milk is a creamy oat drink."},
    ]
    pirate = {"role": "system", "content": "Talk like a pirate. The shopper is customer C1."}
    raw = client.chat.completions.with_raw_response.create(
        model="shopbot", messages=[pirate, *earlier, {"role": "user", "content": "and how much is it?"}]
    )
    assert raw.parse().choices[0].message.content == ANSWER
    prompt = generator.prompts[-1]
    assert prompt[1:3] == earlier
    assert prompt[-1]["role"] == "user" and "how much" in prompt[-1]["content"].lower()
    assert "pirate" not in str(prompt) and "The shopper is not signed in" in prompt[0]["content"]
    cid = raw.headers["X-Shopbot-Conversation-Id"]
    stored = httpx.get(server.url + f"v1/conversations/{cid}").json()["messages"]
    assert [(m["role"], m["text"]) for m in stored] == [
        ("user", earlier[0]["content"]),
        ("assistant", earlier[1]["content"]),
        ("user", "and how much is it?"),
        ("assistant", ANSWER),
    ]
    client.chat.completions.create(model="shopbot", messages=[*earlier, *QUESTION], extra_body={"conversation_id": cid})
    assert generator.prompts[-1][1:-1] == [{"role": m["role"], "content": m["text"]} for m in stored], (
        "a named conversation keeps its own history; the request's earlier messages are not added again"
    )


def readme_block(heading: str) -> str:
    section = (REPO / "README.md").read_text(encoding="utf-8").split(heading, 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return code


def test_the_readme_langchain_chain_and_agent_run(server, tiny_shop_dir, embedder, monkeypatch, capsys):
    """The README's example as written, with the demo server's address and customer swapped for the test
    shop's, and its runtime's model for scripted replies: a reorder call, then the answer from its result."""
    code = readme_block("## LangChain").replace("http://127.0.0.1:8000/", server.url).replace("C0001", "C1")
    runtime = Runtime(tiny_settings(tiny_shop_dir))
    runtime.embedder = embedder
    runtime.generator = ScriptedReplies(
        ['<tool>{"name": "suggest_reorder", "arguments": {"limit": 2}}</tool>'], ["Time for more Barista Oat Milk."]
    )
    monkeypatch.setattr("bot.runtime.Runtime", lambda *args, **kwargs: runtime)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.splitlines() == [ANSWER, "Time for more Barista Oat Milk."]
    system = runtime.generator.prompts[-1][0]["content"]
    assert "Result of suggest_reorder:\n" in system
