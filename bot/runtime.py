"""Assembles shopbot's parts from the settings: store, retriever, generator, engine.

Each part is built on first use, so commands that need only the database never load a model.
"""

from __future__ import annotations

import ctypes
import os
from functools import cached_property

import torch

from bot.assistant.conversations import Conversations
from bot.assistant.engine import ChatEngine
from bot.inference.batch_forward import supports
from bot.inference.generator import SamplingConfig, TransformersGenerator
from bot.assistant.intents import IntentRouter
from bot.inference.model import load_model, resolve_model_dir
from bot.inference.precision import resolve as resolve_dtype
from bot.inference.scheduler import BatchLimits, BatchScheduler
from bot.settings import Settings
from bot.assistant.tools import ToolDeps, ToolRegistry, build_tools
from retrieval.embeddings import load_embedder
from retrieval.retriever import Retriever
from retrieval.store import Store


def trim_heap() -> None:
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

    @cached_property
    def store(self) -> Store:
        store = Store(self.settings.database_url)
        store.create_schema()
        return store

    @cached_property
    def embedder(self):
        return load_embedder(self.settings.embedder)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever.open(self.store, self.embedder, self.settings.index_dir, progress=self.progress)

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
    def batched(self) -> bool:
        """Read from the model's config.json, so the server knows its capacity before the weights load."""
        from transformers import AutoConfig

        s = self.settings
        if s.generation != "batched":
            return False
        return supports(AutoConfig.from_pretrained(resolve_model_dir(s.model_path, s.model_cache_dir), local_files_only=True))

    @property
    def concurrent_generations(self) -> int:
        """How many answers can be generated at once: the server queues the rest."""
        s = self.settings
        return min(s.max_concurrent_generations, s.max_batch_size) if self.batched else 1

    @cached_property
    def generator(self) -> TransformersGenerator | BatchScheduler:
        s = self.settings
        sampling = SamplingConfig(
            max_new_tokens=s.max_new_tokens,
            min_new_tokens=s.min_new_tokens,
            temperature=s.temperature,
            top_p=s.top_p,
            repetition_penalty=s.repetition_penalty,
            seed=s.seed,
        )
        if not self.batched:
            return TransformersGenerator(self.loaded_model, sampling)
        limits = BatchLimits(max_batch_size=s.max_batch_size, prefill_chunk_tokens=s.prefill_chunk_tokens,
                             prefill_step_s=s.prefill_step_s, draft_tokens=s.draft_tokens,
                             max_draft_sequences=s.max_draft_sequences,
                             max_len=s.max_prompt_tokens + s.max_new_tokens)
        cache_dtype = torch.bfloat16 if s.kv_cache_dtype == "bfloat16" else None
        # a model this runtime loaded has no other user than the scheduler: int8 may hand its float layers
        # back. A model handed in (tests share one) is never changed
        model = self.loaded_model
        return BatchScheduler(model, sampling, limits, s.linear_kernel, cache_dtype,
                              release_float_weights=self._loaded_its_own_model)

    def generator_status(self) -> dict:
        """The batching scheduler's counters (`BatchScheduler.status`) once it runs; empty before the model
        loads (a metrics scrape must not load it) and with sequential generation."""
        generator = self.__dict__.get("generator")
        return generator.status() if isinstance(generator, BatchScheduler) else {}

    def close(self) -> None:
        """Stops the batching thread, if one was started."""
        generator = self.__dict__.get("generator")
        if isinstance(generator, BatchScheduler):
            generator.close()

    @cached_property
    def tools(self) -> ToolRegistry:
        return build_tools(ToolDeps(self.settings, self.store, self.retriever, Conversations(self.store)))

    @cached_property
    def router(self) -> IntentRouter | None:
        s = self.settings
        if s.routing_examples is None:
            return None
        return IntentRouter.open(s.routing_examples, self.embedder, s.index_dir / "routing", embed=self.retriever.embed)

    @cached_property
    def engine(self) -> ChatEngine:
        return ChatEngine(self.settings, self.store, self.retriever, self.generator, self.tools, self.router)
