"""Two server processes on one PostgreSQL database behave as one service: a shopper connected to replica A gets
the agent's message posted to replica B, the per-customer rate limit holds across both, a shopper who reconnects
to the other replica resumes the conversation, and a handoff asked for on A is seen by agents on B.

Each replica is a child process (uvicorn over the tiny shop, ingested into PostgreSQL, with a scripted generator),
on 127.0.0.1, as two `shopbot serve` behind a load balancer without sticky sessions.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest
import websockets
from sqlalchemy import text

from server.auth import Tokens
from server.limits import RATE_TABLE, SharedRateLimiter, create_rate_table
from server.notify import APPLICATION_NAME, libpq_url
from tests.conftest import REPO, add_tiny_shop, seed_routing_index
from tests.server.conftest import AGENT_KEY, tiny_settings
from tests.server.test_protocol import hello, recv, run, until

LIMIT = 4  # messages per minute per customer, both replicas together
CHECK_S = 1.0
SHOPPERS = ("S1", "S2", "S3", "S4", "S5")  # how often each replica checks its LISTEN connection
# A replica: the app over the shop folder argv[1] and the database argv[2], on a port it prints.
CHILD = f"""
import socket
import sys
from pathlib import Path

import uvicorn

from bot.runtime import Runtime
from server.app import create_app, uvicorn_config
from tests.server.conftest import ScriptedGenerator, tiny_settings

settings = tiny_settings(
    Path(sys.argv[1]), database_url=sys.argv[2], messages_per_minute_per_customer={LIMIT}, events_check_s={CHECK_S}
)
runtime = Runtime(settings)
runtime.generator = ScriptedGenerator(["Happy", " to", " help", "."])
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn_config(create_app(runtime), settings, log_level="warning")).run(sockets=[sock])
"""


@dataclass
class Replica:
    process: subprocess.Popen
    url: str

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws") + "v1/chat"

    def agent(self, path: str, **body) -> httpx.Response:
        return httpx.post(self.url + path, json=body or None, headers={"X-Agent-Key": AGENT_KEY})

    def read(self, conversation_id: str) -> dict:
        got = httpx.get(self.url + f"v1/conversations/{conversation_id}", headers={"X-Agent-Key": AGENT_KEY})
        assert got.status_code == 200, got.text
        return got.json()


@dataclass
class Replicas:
    a: Replica
    b: Replica
    database_url: str
    tokens: Tokens


def start_replica(folder, database_url: str) -> Replica:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBOT_")}
    env.update(PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), database_url], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
    )
    return Replica(process, f"http://127.0.0.1:{int(process.stdout.readline())}/")


def wait_ready(replica: Replica) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(replica.url + "readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert replica.process.poll() is None and time.monotonic() < deadline, "a replica did not become ready"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def replicas(postgres_cluster, embedder, tmp_path_factory) -> Iterator[Replicas]:
    """Replicas A and B over one new database holding the tiny shop (its indexes built here, once)."""
    from retrieval.retriever import Retriever
    from retrieval.schema import Customer
    from retrieval.store import Store

    database_url = postgres_cluster.create_database()
    folder = tmp_path_factory.mktemp("replicas")
    seed_routing_index(folder)
    store = Store(database_url)
    store.create_schema()
    add_tiny_shop(store)
    with store.transaction() as s:  # a shopper of each test's own, so no test uses up another's rate limit
        s.add_all([Customer(id=shopper, name=f"Shopper {shopper}") for shopper in SHOPPERS])
    Retriever.open(store, embedder, folder / "index")
    store.engine.dispose()
    started = [start_replica(folder, database_url) for _ in range(2)]
    try:
        for replica in started:
            wait_ready(replica)
        yield Replicas(*started, database_url, Tokens(tiny_settings(folder)))
    finally:
        for replica in started:
            replica.process.terminate()
        for replica in started:
            try:
                replica.process.wait(10)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait(10)


async def ask(ws, text: str, client_msg_id: str = "c") -> list[dict]:
    await ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": client_msg_id}))
    _, events = await until(ws, "end")
    return events


async def quiet(ws, seconds: float) -> list[dict]:
    """Whatever arrives within `seconds`."""
    got = []
    try:
        while True:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), seconds)))
    except TimeoutError:
        return got


def test_a_shopper_on_replica_a_gets_the_agent_message_posted_to_replica_b(replicas):
    a, b = replicas.a, replicas.b

    async def go():
        async with websockets.connect(a.ws_url) as ws:
            ready, _ = await hello(ws, replicas.tokens.mint("S1"))
            cid = ready["conversation_id"]
            await ask(ws, "tell me about the oat milk")
            posted = await asyncio.to_thread(b.agent, f"v1/conversations/{cid}/agent-messages", text="Hi, Sam here.")
            assert posted.status_code == 201, posted.text
            handoff, _ = await until(ws, "handoff")
            message, _ = await until(ws, "agent_message")
            return cid, posted.json(), handoff, message, await quiet(ws, 0.5)

    cid, posted, handoff, message, after = run(go())
    assert (handoff["conversation_id"], handoff["state"]) == (cid, "agent")
    assert (message["conversation_id"], message["message_id"]) == (cid, posted["message_id"])
    assert (message["text"], message["agent_name"]) == ("Hi, Sam here.", None)
    assert after == []  # delivered once


def test_the_per_customer_message_limit_holds_across_both_replicas(replicas):
    a, b = replicas.a, replicas.b
    headers = {"Authorization": f"Bearer {replicas.tokens.mint('S2')}"}
    answered = [
        httpx.post(replica.url + "v1/chat", json={"text": "do you sell oat milk?"}, headers=headers, timeout=30)
        for replica in (a, b, a, b)[:LIMIT]
    ]
    assert [r.status_code for r in answered] == [200] * LIMIT, [r.text for r in answered]

    async def over_the_limit_on_a():
        async with websockets.connect(a.ws_url) as ws:
            await hello(ws, replicas.tokens.mint("S2"))
            await ws.send(json.dumps({"type": "message", "text": "and granola?", "client_msg_id": "x"}))
            return await recv(ws)

    refused_on_a = run(over_the_limit_on_a())
    refused_on_b = httpx.post(b.url + "v1/chat", json={"text": "and granola?"}, headers=headers, timeout=30)
    assert (refused_on_a["type"], refused_on_a["code"], refused_on_a["retryable"]) == ("error", "rate_limited", True)
    assert f"at most {LIMIT} per minute" in refused_on_a["message"]
    assert refused_on_b.status_code == 429
    assert refused_on_b.json()["error"]["code"] == "rate_limited"


def test_a_shopper_who_reconnects_to_the_other_replica_resumes_the_conversation(replicas):
    a, b = replicas.a, replicas.b
    token = replicas.tokens.mint("S3")

    async def go():
        async with websockets.connect(a.ws_url) as ws:
            ready, _ = await hello(ws, token)
            await ask(ws, "what is your returns policy?")
        async with websockets.connect(b.ws_url) as ws:
            resumed, history = await hello(ws, token, ready["conversation_id"])
            await ask(ws, "and shipping?")
        return ready["conversation_id"], resumed, history

    cid, resumed, history = run(go())
    assert resumed["conversation_id"] == cid and resumed["state"] == "bot"
    assert [(m["role"], m["text"]) for m in history["messages"]][0] == ("user", "what is your returns policy?")
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"]
    assert [m["role"] for m in a.read(cid)["messages"]] == ["user", "assistant", "user", "assistant"]


def test_a_handoff_asked_for_on_replica_a_is_seen_by_agents_and_sockets_on_replica_b(replicas):
    a, b = replicas.a, replicas.b
    token = replicas.tokens.mint("S4")

    async def go():
        async with websockets.connect(a.ws_url) as on_a:
            ready, _ = await hello(on_a, token)
            cid = ready["conversation_id"]
            await ask(on_a, "hello there")
            async with websockets.connect(b.ws_url) as on_b:  # the same shopper's second tab, on the other replica
                await hello(on_b, token, cid)
                await on_a.send(json.dumps({"type": "message", "text": "can I talk to a real person please?"}))
                asked, _ = await until(on_a, "handoff")
                seen_on_b, _ = await until(on_b, "handoff")
                state_on_b = (await asyncio.to_thread(b.read, cid))["state"]
                taken = await asyncio.to_thread(b.agent, f"v1/conversations/{cid}/agent-messages", text="Sam here")
                state_on_a = (await asyncio.to_thread(a.read, cid))["state"]
                released = await asyncio.to_thread(a.agent, f"v1/conversations/{cid}/release")
                events_on_b = [(await until(on_b, "handoff"))[0]["state"], (await until(on_b, "handoff"))[0]["state"]]
                return asked, seen_on_b, state_on_b, taken, state_on_a, released, events_on_b

    asked, seen_on_b, state_on_b, taken, state_on_a, released, events_on_b = run(go())
    assert (asked["state"], asked["reason"]) == ("waiting_for_agent", "the shopper asked for a person")
    assert (seen_on_b["state"], seen_on_b["reason"]) == ("waiting_for_agent", "the shopper asked for a person")
    assert state_on_b == "waiting_for_agent"
    assert taken.status_code == 201 and state_on_a == "agent"
    assert released.status_code == 200 and events_on_b == ["agent", "bot"]


def listeners(database_url: str) -> list[int]:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        query = "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()"
        return [pid for (pid,) in conn.execute(query, (APPLICATION_NAME,))]


def test_a_replica_whose_listening_connection_drops_listens_again_and_delivers_what_it_missed(replicas):
    a, b = replicas.a, replicas.b

    async def go():
        async with websockets.connect(a.ws_url) as ws:
            ready, _ = await hello(ws, replicas.tokens.mint("S5"))
            cid = ready["conversation_id"]
            await ask(ws, "hello there")
            await asyncio.sleep(CHECK_S * 1.5)  # a check has noted this conversation
            with psycopg.connect(libpq_url(replicas.database_url), autocommit=True) as conn:
                for pid in listeners(replicas.database_url):
                    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            # posted while nobody listens: PostgreSQL drops the notification, the reconnect reads it back
            posted = await asyncio.to_thread(b.agent, f"v1/conversations/{cid}/agent-messages", text="Still there?")
            message, _ = await until(ws, "agent_message")
            later = await asyncio.to_thread(b.agent, f"v1/conversations/{cid}/agent-messages", text="Good.")
            second, _ = await until(ws, "agent_message")
            return posted.json(), message, later.json(), second, await quiet(ws, 0.5)

    posted, message, later, second, after = run(go())
    assert (message["message_id"], message["text"]) == (posted["message_id"], "Still there?")
    assert (second["message_id"], second["text"]) == (later["message_id"], "Good.")
    assert [e for e in after if e["type"] == "agent_message"] == []
    deadline = time.monotonic() + 10
    while len(listeners(replicas.database_url)) < 2:
        assert time.monotonic() < deadline, "the replicas did not listen again"
        time.sleep(0.1)


def test_replicas_counting_at_once_never_admit_more_than_the_limit(fresh_postgres_url):
    from retrieval.store import Store

    store = Store(fresh_postgres_url)
    create_rate_table(store)
    replica_limiters = [SharedRateLimiter("messages", 5, lambda: store) for _ in range(2)]

    async def go():
        hits = [replica_limiters[i % 2].admit("customer:C1") for i in range(16)]
        return await asyncio.gather(*hits), await replica_limiters[1].admit("customer:C2")

    admitted, other = asyncio.run(go())
    store.engine.dispose()
    assert admitted.count(True) == 5 and other


def test_a_burst_across_a_windows_edge_is_still_refused(fresh_postgres_url):
    from retrieval.store import Store

    store = Store(fresh_postgres_url)
    create_rate_table(store)
    limiter = SharedRateLimiter("messages", 3, lambda: store, window_s=1.0)

    def past_the_next_edge(by_s: float) -> None:  # the database's clock is this host's
        time.sleep(1 - time.time() % 1 + by_s)

    past_the_next_edge(0.6)
    before = [asyncio.run(limiter.admit("customer:C1")) for _ in range(2)]
    past_the_next_edge(0.05)  # the previous window, nearly all of it, still counts
    after = [asyncio.run(limiter.admit("customer:C1")) for _ in range(2)]
    store.engine.dispose()
    assert before == [True, True] and after == [True, False]


def test_windows_before_the_previous_one_are_deleted_as_counting_goes_on(fresh_postgres_url):
    from retrieval.store import Store

    store = Store(fresh_postgres_url)
    create_rate_table(store)
    limiter = SharedRateLimiter("messages", 100, lambda: store, window_s=0.2)

    def rows() -> int:
        with store.session() as s:
            return s.execute(text(f"SELECT count(*) FROM {RATE_TABLE}")).scalar()

    for i in range(6):
        assert asyncio.run(limiter.admit(f"customer:C{i}"))
    counted = rows()
    time.sleep(0.5)  # two windows and more
    assert asyncio.run(limiter.admit("customer:C9"))
    left = rows()
    store.engine.dispose()
    assert counted >= 1 and left == 1


def test_what_was_stored_while_nobody_listened_is_delivered_once_listening_again(fresh_postgres_url):
    """A notification sent while a replica's LISTEN connection is down is lost; its reconnect reads the agent
    messages and the state change stored meanwhile (here stored with no notification at all)."""
    from bot.assistant.conversations import Conversations
    from retrieval.schema import ConversationState
    from retrieval.store import Store
    from server.hub import Hub
    from server.notify import SharedEvents

    store = Store(fresh_postgres_url)
    store.create_schema()
    conversations = Conversations(store)
    cid = conversations.create(None)
    conversations.append(cid, "user", "anyone there?")

    async def go():
        hub, got = Hub(), []

        async def listener(event):
            got.append(event)

        hub.subscribe(cid, listener)
        events = SharedEvents(hub, lambda: store, fresh_postgres_url, check_s=0.3)
        await events.start()
        try:
            await asyncio.sleep(0.5)  # a check has noted the conversation and the newest message
            with psycopg.connect(libpq_url(fresh_postgres_url), autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (listeners(fresh_postgres_url)[0],))
                message_id = conversations.append(cid, "agent", "Sam here", meta={"agent_name": "Sam"})
                conversations.set_state(cid, ConversationState.agent)
            deadline = time.monotonic() + 10
            while len(got) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(3 * events.check_s)  # nothing more comes
            return message_id, [e.model_dump(exclude_none=True) for e in got], events.reconnects
        finally:
            await events.aclose()

    message_id, got, reconnects = asyncio.run(go())
    store.engine.dispose()
    assert reconnects == 1
    assert got == [
        {"type": "handoff", "conversation_id": cid, "state": "agent"},
        {
            "type": "agent_message",
            "conversation_id": cid,
            "message_id": message_id,
            "text": "Sam here",
            "agent_name": "Sam",
        },
    ]
