"""Assembles shopbot's parts from the settings: store, retriever, generator, engine.

Each part is built on first use, so commands that need only the database never load a model.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from functools import cached_property

from bot.assistant.conversations import Conversations
from bot.assistant.engine import ChatEngine
from bot.assistant.intents import IntentRouter
from bot.assistant.tools import ToolDeps, ToolRegistry, build_tools
from bot.assistant.tools import load as load_tools
from bot.inference.backends import BackendSpec, Measured
from bot.inference.backends import EngineUnavailable as EngineUnavailable  # the server sees engine failures here
from bot.inference.backends import resolve as resolve_backend
from bot.inference.generator import GenerationStats, Generator
from bot.inference.model import load_model
from bot.inference.precision import resolve as resolve_dtype
from bot.settings import Settings
from retrieval.embeddings import load_embedder
from retrieval.retriever import Retriever
from retrieval.store import Store


def _trim_heap() -> None:
    """Hand freed heap pages back to the OS (glibc's `malloc_trim`; a no-op on other C libraries).

    Loading leaves ~130 MB of freed heap mapped (the float32 weights read before the bfloat16 copy, the
    adapter merge); glibc keeps it for reuse, so a long-running server would carry it for its whole life.
    """
    try:
        trim = getattr(ctypes.CDLL("libc.so.6"), "malloc_trim", None)
    except OSError:
        return
    if trim is not None:
        trim(0)


class Runtime:
    def __init__(self, settings: Settings | None = None, *, progress: bool = False) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.settings = settings or Settings()
        self.progress = progress
        self._loaded_its_own_model = False
        # called as each generation request ends, with the backend's name, the outcome and the stats (/metrics)
        self.generation_observers: list[Callable[[str, str, GenerationStats], None]] = []

    @cached_property
    def store(self) -> Store:
        store = Store(self.settings.database_url)
        store.create_schema()
        return store

    @cached_property
    def embedder(self):
        return load_embedder(self.settings.embedder)

    @cached_property
    def policy_reader(self):
        """The embedder with the policy reader folded in, where one is set and used (None: the plain one)."""
        s = self.settings
        return load_embedder(s.embedder, s.policy_reader) if s.use_policy_reader and s.policy_reader else None

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever.open(
            self.store, self.embedder, self.settings.index_dir, progress=self.progress, policy_reader=self.policy_reader
        )

    @cached_property
    def loaded_model(self):
        s = self.settings
        self._loaded_its_own_model = True
        return load_model(
            s.model_path,
            s.model_cache_dir,
            adapter_path=s.adapter_path if s.use_adapter else None,
            dtype=resolve_dtype(s.dtype),
            merge_adapter=s.merge_adapter,
        )

    @cached_property
    def backend(self) -> BackendSpec:
        """The inference backend the settings name (`generation`), known before any weights load."""
        return resolve_backend(self.settings)

    @property
    def concurrent_generations(self) -> int:
        """How many answers can be generated at once: the server queues the rest."""
        return self.backend.capacity(self.settings)

    def prepare_thread(self) -> None:
        """What a thread that works beside the backend (embedding queries, building prompts) runs first."""
        if self.backend.prepare_thread is not None:
            self.backend.prepare_thread()

    @cached_property
    def generator(self) -> Generator:
        return self.backend.open(self.settings, lambda: self.loaded_model, lambda: self._loaded_its_own_model)

    def generator_status(self) -> dict:
        """The backend's counters once it runs; empty before the model loads (a metrics scrape must not load
        it) and for a generator without any."""
        status = getattr(self.__dict__.get("generator"), "status", None)
        return status() if status is not None else {}

    def engine_health(self) -> dict | None:
        """The engine's health for a backend whose engine lives elsewhere (`{"ok", "error"}`); None before the
        backend opens and for one in this process, which is healthy while the process runs."""
        health = getattr(self.__dict__.get("generator"), "health", None)
        return health() if health is not None else None

    def _observe_generation(self, backend: str, outcome: str, stats: GenerationStats) -> None:
        for observe in self.generation_observers:
            observe(backend, outcome, stats)

    def close(self) -> None:
        """Stops the backend's threads, if it started any."""
        close = getattr(self.__dict__.get("generator"), "close", None)
        if close is not None:
            close()

    @cached_property
    def tools(self) -> ToolRegistry:
        load_tools(self.settings.tool_modules)
        return build_tools(ToolDeps(self.settings, self.store, self.retriever, Conversations(self.store)))

    @cached_property
    def router(self) -> IntentRouter | None:
        s = self.settings
        if s.routing_examples is None:
            return None
        return IntentRouter.open(s.routing_examples, self.embedder, s.index_dir / "routing", embed=self.retriever.embed)

    def release_memory(self) -> None:
        """After loading: hand the heap freed while loading back to the OS (a long-running server keeps it)."""
        _trim_heap()

    @cached_property
    def engine(self) -> ChatEngine:
        generator = Measured(self.generator, self.backend.name, self._observe_generation)
        return ChatEngine(self.settings, self.store, self.retriever, generator, self.tools, self.router)
