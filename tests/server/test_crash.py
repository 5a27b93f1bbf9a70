"""A server process killed with SIGKILL mid-answer: after a restart over the same database, every answer that was
streaming shows as `interrupted` with the text saved before the kill.

The server runs in a child process (uvicorn over the tiny shop, a slow scripted generator); nothing in it gets
a chance to clean up, as in a crash or an out-of-memory kill.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets

from server.auth import Tokens
from tests.conftest import REPO
from tests.server.conftest import tiny_settings
from tests.server.test_protocol import hello, recv, run

SAVE_S = 0.2
PIECE_S = 0.05
# The child: the app over the shop folder argv[1] on port argv[2], its model a scripted one writing slowly, every
# piece a different word (letters only: the grounding guard holds back numbers until it can check them).
CHILD = f"""
import sys
from pathlib import Path

import uvicorn

from bot.runtime import Runtime
from server.app import create_app, uvicorn_config
from tests.server.conftest import ScriptedGenerator, tiny_settings

settings = tiny_settings(Path(sys.argv[1]), max_new_tokens=400, partial_answer_save_s={SAVE_S})
runtime = Runtime(settings)
runtime.generator = ScriptedGenerator([chr(97 + i // 26) + chr(97 + i % 26) + " " for i in range(400)], {PIECE_S})
uvicorn.Server(uvicorn_config(create_app(runtime), settings, "127.0.0.1", int(sys.argv[2]), log_level="warning")).run()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), str(port)], cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        assert child.poll() is None, "the server process exited"
        assert time.monotonic() < deadline, "the server process never became ready"
        try:
            if httpx.get(url + "readyz").status_code == 200:
                return child, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)


async def answer_until_killed(ws_url: str, token: str | None, ready_to_kill: asyncio.Event, killed: asyncio.Event):
    """Start an answer, report when a few pieces arrived, then read pieces until the connection drops."""
    async with websockets.connect(ws_url) as ws:
        ready, _ = await hello(ws, token)
        await ws.send(json.dumps({"type": "message", "text": "tell me about the oat milk", "client_msg_id": "c"}))
        text, marked = "", None
        try:
            while True:
                event = await recv(ws)
                if event["type"] == "delta":
                    text += event["text"]
                    if marked is None and len(text.split()) >= 5:
                        marked = text
                        ready_to_kill.set()
        except (websockets.ConnectionClosed, TimeoutError):
            pass
        assert killed.is_set(), "the connection ended before the kill"
        return ready["conversation_id"], marked, text


def test_answers_cut_off_by_a_killed_server_show_as_interrupted_with_their_text(tiny_shop_dir, tmp_path):
    folder = tmp_path / "shop"
    shutil.copytree(tiny_shop_dir, folder)
    tokens = Tokens(tiny_settings(folder))
    shoppers = [None, "C1", "C2"]
    child, url = serve(folder)
    try:

        async def go():
            ws_url = url.replace("http", "ws") + "v1/chat"
            marks = [asyncio.Event() for _ in shoppers]
            killed = asyncio.Event()
            answers = [
                asyncio.ensure_future(answer_until_killed(ws_url, c and tokens.mint(c), m, killed))
                for c, m in zip(shoppers, marks, strict=True)
            ]
            await asyncio.wait_for(asyncio.gather(*(m.wait() for m in marks)), 60)
            await asyncio.sleep(SAVE_S + 4 * PIECE_S)  # a save comes after every mark
            killed.set()
            child.send_signal(signal.SIGKILL)
            return await asyncio.gather(*answers)

        answered = run(go())
        assert child.wait(10) == -signal.SIGKILL
    finally:
        child.kill()
        child.wait(10)

    child, url = serve(folder)
    try:
        read = []
        for customer, (cid, marked, streamed) in zip(shoppers, answered, strict=True):
            headers = {"Authorization": f"Bearer {tokens.mint(customer)}"} if customer else {}
            got = httpx.get(url + f"v1/conversations/{cid}", headers=headers)
            assert got.status_code == 200, got.text
            read.append((got.json()["messages"], marked, streamed))

        async def resume():
            async with websockets.connect(url.replace("http", "ws") + "v1/chat") as ws:
                _, history = await hello(ws, tokens.mint("C1"), answered[1][0])
                return history["messages"]

        resumed = run(resume())
    finally:
        child.kill()
        child.wait(10)

    for messages, marked, streamed in read:
        assert [(m["role"], m["status"]) for m in messages] == [("user", "complete"), ("assistant", "interrupted")]
        saved = messages[1]["text"]
        assert saved.startswith(marked.strip()), (saved, marked)  # everything seen well before the kill was kept
        assert streamed.strip().startswith(saved)  # and nothing that was never sent
        assert len(saved.split()) < 400
    assert resumed[1]["status"] == "interrupted" and resumed[1]["text"] == read[1][0][1]["text"]
