"""llama.cpp's OpenAI-compatible server (llama-cpp-python[server], a dev dependency) serving the bundled GGUF in its
own process on 127.0.0.1: the real engine behind the remote backend's tests and the bench's remote run.

Without llama-cpp-python the tests that need it fail, saying to run `make setup`, so CI never skips them unnoticed.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bot.inference.model import bundled_gguf

ENGINE_START_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """`python -m llama_cpp.server` serving the bundled GGUF on one port, which it keeps across restarts."""

    def __init__(self, log_dir: Path) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            pytest.fail(
                "llama-cpp-python[server] is not installed, and the remote backend's tests need its real engine: "
                "run `make setup` (it installs the dev dependencies)",
                pytrace=False,
            )
        self.port = free_port()
        self.log = log_dir / "llama-server.log"
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf())]
        threads = str(min(os.cpu_count() or 1, 4))  # the engine is all that works while shopbot waits for it
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048"]
        command += ["--n_threads", threads, "--n_threads_batch", threads]
        command += ["--interrupt_requests", "false"]  # by default a new request cuts the answer streaming
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + ENGINE_START_S
        while True:
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                pytest.fail(f"llama.cpp's server exited with {self.process.returncode}:\n{tail}", pytrace=False)
            try:
                if httpx.get(self.base_url + "/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp's server did not answer within {ENGINE_START_S} s", pytrace=False)
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: the engine dies mid-answer without closing anything itself."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def silent_engine() -> Iterator[int]:
    """Accepts connections and never answers: an engine stuck before its first token."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()
