"""Inference backends: each one way of generating answers behind the `Generator` interface the engine
talks to, registered once by name and picked by the `generation` setting.

Shipped: "batched" (continuous batching, `BatchScheduler`, for Llama-family models), "sequential" (one
answer at a time, `TransformersGenerator`) and "remote" (an OpenAI-compatible engine in another process,
`RemoteGenerator` in bot/inference/remote.py). A backend says how many answers it generates at once before
any weights load (the server sizes its queue from that), builds its generator from the settings and a
model loader it may never call (an engine in another process needs no local weights), and names what a
thread working beside it must do first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.inference.generator import GenerationStats, Generator, Messages, SamplingConfig, TransformersGenerator

if TYPE_CHECKING:
    from bot.inference.model import LoadedModel
    from bot.settings import Settings


class EngineUnavailable(RuntimeError):
    """The engine that generates answers cannot be reached, or did not answer in time; sending the same
    message again later can succeed. The text says which engine and what happened."""


class Backend(Generator, Protocol):
    """A generator with a lifetime: counters for /metrics, and a close that stops its threads."""

    def status(self) -> dict: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class BackendSpec:
    name: str
    description: str
    capacity: Callable[[Settings], int]
    open: Callable[[Settings, Callable[[], LoadedModel], Callable[[], bool]], Backend]
    prepare_thread: Callable[[], None] | None = None
    available: Callable[[Settings], bool] = lambda _settings: True


_BACKENDS: dict[str, BackendSpec] = {}


def register(spec: BackendSpec) -> BackendSpec:
    if spec.name in _BACKENDS and _BACKENDS[spec.name] is not spec:
        raise ValueError(f"a backend named {spec.name!r} is already registered")
    _BACKENDS[spec.name] = spec
    return spec


def backends() -> list[BackendSpec]:
    return list(_BACKENDS.values())


class Measured:
    """A backend's generator as the chat engine sees it: each generation request reported to `observe(backend,
    outcome, stats)` once it ends, outcome one of ok, cancelled (closed early), unavailable (`EngineUnavailable`)
    or failed. Everything else is the backend's own."""

    def __init__(self, inner: Generator, backend: str, observe: Callable[[str, str, GenerationStats], None]) -> None:
        self.inner = inner
        self.backend = backend
        self.observe = observe

    def count_tokens(self, messages: Messages) -> int:
        return self.inner.count_tokens(messages)

    def stream(
        self, messages: Messages, *, max_new_tokens: int | None = None, stats: GenerationStats | None = None
    ) -> Iterator[str]:
        stats = stats if stats is not None else GenerationStats()
        outcome = "cancelled"
        try:
            yield from self.inner.stream(messages, max_new_tokens=max_new_tokens, stats=stats)
            outcome = "ok"
        except EngineUnavailable:
            outcome = "unavailable"
            raise
        except Exception:
            outcome = "failed"
            raise
        finally:
            self.observe(self.backend, outcome, stats)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def resolve(settings: Settings) -> BackendSpec:
    """The backend the settings name; one the model cannot run on (continuous batching for a model outside
    the Llama family) gives way to sequential generation."""
    try:
        spec = _BACKENDS[settings.generation]
    except KeyError:
        raise ValueError(
            f"unknown generation backend {settings.generation!r}; known: {', '.join(sorted(_BACKENDS))}"
        ) from None
    return spec if spec.available(settings) else _BACKENDS["sequential"]


def sampling(settings: Settings) -> SamplingConfig:
    s = settings
    return SamplingConfig(
        max_new_tokens=s.max_new_tokens,
        min_new_tokens=s.min_new_tokens,
        temperature=s.temperature,
        top_p=s.top_p,
        repetition_penalty=s.repetition_penalty,
        seed=s.seed,
    )


def _model_config(settings: Settings):
    """Read from the model's config.json, so capacity is known before the weights load."""
    from transformers import AutoConfig

    from bot.inference.model import resolve_model_dir

    folder = resolve_model_dir(settings.model_path, settings.model_cache_dir)
    return AutoConfig.from_pretrained(folder, local_files_only=True)


def _batched_available(settings: Settings) -> bool:
    from bot.inference.batch_forward import supports

    return supports(_model_config(settings))


def _open_batched(settings: Settings, load: Callable[[], LoadedModel], owns: Callable[[], bool]) -> Backend:
    import torch

    from bot.inference.scheduler import BatchLimits, BatchScheduler

    s = settings
    limits = BatchLimits(
        max_batch_size=s.max_batch_size,
        prefill_chunk_tokens=s.prefill_chunk_tokens,
        prefill_step_s=s.prefill_step_s,
        draft_tokens=s.draft_tokens,
        max_draft_sequences=s.max_draft_sequences,
        max_len=s.max_prompt_tokens + s.max_new_tokens,
    )
    cache_dtype = torch.bfloat16 if s.kv_cache_dtype == "bfloat16" else None
    model = load()
    # a model the runtime loaded has no other user than the scheduler: int8 may hand its float layers back.
    # A model handed in (tests share one) is never changed
    return BatchScheduler(model, sampling(s), limits, s.linear_kernel, cache_dtype, release_float_weights=owns())


def _one_core() -> None:
    from bot.inference.scheduler import torch_on_one_core

    torch_on_one_core()


register(
    BackendSpec(
        name="batched",
        description="Continuous batching in this process: many shoppers' answers share each model step.",
        capacity=lambda s: min(s.max_concurrent_generations, s.max_batch_size),
        open=_open_batched,
        # the scheduler's thread gets the cores; a thread beside it with an OpenMP team of its own slows every step
        prepare_thread=_one_core,
        available=_batched_available,
    )
)

register(
    BackendSpec(
        name="sequential",
        description="One answer at a time in this process, with transformers' own forward.",
        capacity=lambda _s: 1,
        open=lambda s, load, _owns: TransformersGenerator(load(), sampling(s)),
    )
)


def _open_remote(settings: Settings, load: Callable[[], LoadedModel], owns: Callable[[], bool]) -> Backend:
    from bot.inference.remote import open_remote

    return open_remote(settings, load, owns)


register(
    BackendSpec(
        name="remote",
        description="An OpenAI-compatible engine in another process (vLLM, TGI, llama.cpp's server), streamed "
        "over HTTP; no weights are loaded here.",
        capacity=lambda s: s.max_concurrent_generations,
        open=_open_remote,
    )
)
