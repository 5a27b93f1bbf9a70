"""Continuous batching: every running conversation advances one token per model step, together.

On a small CPU a decode step costs about the same for one sequence as for sixteen (the weights are
read once per step either way), so sixteen shoppers answered together get nearly sixteen times the
tokens per second of one-after-another. A request joins at the next step and leaves the step after
its last token; its prompt is fed in chunks beside the running sequences' decode tokens, at most
`prefill_chunk_tokens` and no more than this CPU reads in `prefill_step_s`, so a long new prompt delays
the streams already running by one short step at a time rather than freezing them. Prompt prefixes already in a cache slot (the system prompt,
the shop's facts, a conversation's earlier turns) are reused instead of recomputed (`SlotCache`).

While at most `max_draft_sequences` answers decode, each step also feeds up to `draft_tokens` tokens
guessed from the answer's own prompt (`bot/inference/prompt_lookup.py`) and keeps those the model itself picks:
a shop's answer copies names, prices and order numbers, and a step of a few rows costs about what a
step of one does. A guessed row's logits come from the prompt-chunk attention rather than the decode
one, so in a near tie a greedy answer can differ in floating-point rounding from an unguessed one.

`BatchScheduler` is a `Generator`: the engine calls `stream(messages)` from any thread and iterates
pieces of text; closing that iterator (a stop, a dropped client) cancels the request and frees its
slot before the next step.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from bot.inference.batch_forward import BatchForward, Segment, decoder_of
from bot.inference.calibration import CALIBRATION_CHAT, input_ranges
from bot.inference.generator import GenerationStats, IncrementalDecoder, Messages, SamplingConfig, TransformersGenerator
from bot.inference.kernels import linear_kernels
from bot.inference.model import LoadedModel
from bot.inference.prompt_lookup import draft
from bot.inference.slot_cache import Slot, SlotCache, common_prefix

_END = object()


def torch_on_one_core() -> None:
    """Run this thread's torch work on one core, leaving the others to the scheduler.

    With OpenMP every thread that runs a parallel torch op keeps its own team of worker threads. Once
    the teams hold more threads than there are cores, libgomp stops spinning between parallel regions
    and every op pays a futex wake-up: decode steps and prompt chunks slow down markedly as soon as one
    other thread has used two cores.
    Threads that only embed a query or build a prompt lose little on one core.

    `get_num_threads` first: torch sets a thread's count lazily, from the process-wide value, at the
    thread's first parallel op; without it that first op would undo the 1 with the scheduler's count.
    """
    torch.get_num_threads()
    torch.set_num_threads(1)


@dataclass
class Request:
    prompt: list[int]
    max_new_tokens: int
    seed: int
    submitted: float = field(default_factory=time.perf_counter)
    out: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)  # token ids, then (_END, reason) or an exception
    cancelled: bool = False
    slot: Slot | None = None
    fed: int = 0  # prompt tokens whose keys/values are in the slot
    generated: list[int] = field(default_factory=list)
    rng: torch.Generator | None = None

    @property
    def prefilling(self) -> bool:
        return self.fed < len(self.prompt)


@dataclass(frozen=True)
class BatchLimits:
    max_batch_size: int = 16  # sequences decoding together; more requests wait in order
    prefill_chunk_tokens: int = 512  # prompt tokens fed per step at most, shared by the requests being prefilled
    prefill_step_s: float = 0.75  # and no more than this CPU reads in about this long (see `prefill_budget`)
    max_len: int = 2048  # prompt + answer tokens per sequence
    min_prefix_reuse: int = 16  # shorter cached prefixes are recomputed
    draft_tokens: int = 0  # tokens guessed from the sequence itself and checked in the same step (0: off)
    max_draft_sequences: int = (
        1  # guess only while at most this many answers decode: a batch is already cheap per token
    )


MIN_PREFILL_TOKENS = 16  # a prompt always advances, however slow the CPU
DEFAULT_PREFILL_TOKENS_PER_S = 1000.0  # until a step has measured it: orders prompts, sizes nothing
PREFILL_RATE_SMOOTHING = 0.5  # weight of the newest step in the measured prompt tokens per second


def prefill_budget(tokens_per_s: float | None, limits: BatchLimits) -> int:
    """Prompt tokens to feed in the next step: what keeps the step near `prefill_step_s` at the measured speed.

    A fixed chunk stalls running streams for as long as the CPU takes to read it, which differs many times
    over between CPUs with and without bf16 matrix units, and every running shopper waits that long for
    their next token. The speed is measured on the steps that fed prompts, decode rows included, so the
    chunk settles where a whole step takes `prefill_step_s`. Before any measurement, the full chunk.
    """
    if tokens_per_s is None:
        return limits.prefill_chunk_tokens
    return max(MIN_PREFILL_TOKENS, min(limits.prefill_chunk_tokens, int(tokens_per_s * limits.prefill_step_s)))


def idle_prefill_budget(prefilling: list[Request], limits: BatchLimits) -> int:
    """With no answer streaming nobody waits on the step: the first prompt to read (`prefilling` is in
    reading order) is read whole, in one step, however long (a prompt read in two steps takes longer: every
    weight is read once more, every op launched once more), and at least a full chunk."""
    first = len(prefilling[0].prompt) - prefilling[0].fed if prefilling else 0
    return max(limits.prefill_chunk_tokens, first)


ONE_CORE_ROWS = 1  # a step of this many rows runs on one core: the other is left to the server


def step_threads(segments: list[Segment], cores: int) -> int:
    """Cores for a step. One sequence decoding alone is bound by per-op overhead and memory, not
    arithmetic: a second core barely shortens its step, and over a WebSocket one stream decodes as fast
    either way. On one core the step leaves the other to the event loop and the threads that stream text
    and build the next shopper's prompt, and a process whose other threads keep OpenMP teams of their own
    (the bench building prompts) does not oversubscribe the cores."""
    return 1 if sum(len(s.tokens) for s in segments) <= ONE_CORE_ROWS else cores


class BatchScheduler:
    def __init__(
        self,
        loaded: LoadedModel,
        sampling: SamplingConfig,
        limits: BatchLimits,
        kernel: str = linear_kernels.AUTO,
        cache_dtype: torch.dtype | None = None,
        release_float_weights: bool = False,
    ) -> None:
        self.single = TransformersGenerator(loaded, sampling)  # tokenizer, end-of-turn ids, logits processors
        self.sampling = sampling
        self.limits = limits
        model = loaded.model
        self.max_len = min(limits.max_len, self.single.context_window)
        self.cache = SlotCache.for_model(
            model.config, slots=limits.max_batch_size, max_len=self.max_len, dtype=cache_dtype or model.dtype
        )
        kernel = linear_kernels.resolve(kernel, decoder_of(model)[1].weight.detach())
        ranges = input_ranges(model, [self.single.encode(CALIBRATION_CHAT)]) if kernel == linear_kernels.INT8 else None
        self.forward = BatchForward(model, self.cache, kernel, ranges, release_float_weights)
        self.processors = self.single.logits_processors()
        self.cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        self._waiting: deque[Request] = deque()
        self._running: list[Request] = []
        self._wake = threading.Condition()
        self._closed = False
        self.steps = 0
        # prompt tokens submitted, and those computed (the rest were copied from cached prefixes): the cache's hit rate
        self.prompt_tokens = 0
        self.prompt_tokens_computed = 0
        self.prefill_tokens_per_s: float | None = None
        self._thread = threading.Thread(target=self._loop, name="shopbot-batch", daemon=True)
        self._thread.start()

    # the Generator interface -----------------------------------------------------------------------

    def count_tokens(self, messages: Messages) -> int:
        return self.single.count_tokens(messages)

    def stream(
        self, messages: Messages, *, max_new_tokens: int | None = None, stats: GenerationStats | None = None
    ) -> Iterator[str]:
        return self.stream_ids(self.single.encode(messages), max_new_tokens=max_new_tokens, stats=stats)

    def stream_ids(
        self, prompt: list[int], *, max_new_tokens: int | None = None, stats: GenerationStats | None = None
    ) -> Iterator[str]:
        stats = stats if stats is not None else GenerationStats()
        request = self.submit(prompt, max_new_tokens)
        stats.prompt_tokens = len(prompt)
        return self._pieces(request, stats)

    def submit(self, prompt: list[int], max_new_tokens: int | None = None) -> Request:
        budget = max_new_tokens or self.sampling.max_new_tokens
        if len(prompt) + budget > self.max_len:
            raise ValueError(
                f"prompt of {len(prompt)} tokens + {budget} new tokens exceeds the {self.max_len}-token sequence limit: "
                "lower max_prompt_tokens or max_new_tokens"
            )
        request = Request(list(prompt), budget, self.sampling.seed)
        with self._wake:
            if self._closed:
                raise RuntimeError("the generation scheduler is closed")
            self._waiting.append(request)
            self.prompt_tokens += len(request.prompt)
            self._wake.notify()
        return request

    def _pieces(self, request: Request, stats: GenerationStats) -> Iterator[str]:
        decoder = IncrementalDecoder(self.single.tokenizer)
        stats.finish_reason = "cancelled"
        try:
            while True:
                item = request.out.get()
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, tuple):
                    stats.finish_reason = item[1]
                    return
                if stats.ttft_s is None:
                    stats.ttft_s = time.perf_counter() - request.submitted
                stats.completion_tokens += 1
                piece = decoder.push(item)
                if piece:
                    yield piece
        finally:
            stats.total_s = time.perf_counter() - request.submitted
            if stats.finish_reason == "cancelled":
                self.cancel(request)

    def cancel(self, request: Request) -> None:
        with self._wake:
            request.cancelled = True
            self._wake.notify()

    def status(self) -> dict:
        with self._wake:
            return {
                "running": len(self._running),
                "waiting": len(self._waiting),
                "free_slots": self.cache.free,
                "steps": self.steps,
                "prompt_tokens": self.prompt_tokens,
                "prompt_tokens_computed": self.prompt_tokens_computed,
            }

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=10)

    # the loop ---------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._wake:
                self._retire_cancelled()
                self._admit()
                while not self._running and not self._closed:
                    self._wake.wait()
                    self._retire_cancelled()
                    self._admit()
                if self._closed:
                    for r in [*self._running, *self._waiting]:
                        r.out.put(RuntimeError("the generation scheduler was closed"))
                    return
                running = list(self._running)
            try:
                self._step(running)
            except Exception as exc:  # a failed step fails its requests, never the loop
                with self._wake:
                    for r in running:
                        self._finish(r, None)
                        r.out.put(exc)

    def _retire_cancelled(self) -> None:
        for r in [r for r in self._running if r.cancelled]:
            self._finish(r, "cancelled")
        self._waiting = deque(r for r in self._waiting if not r.cancelled)

    def _admit(self) -> None:
        while self._waiting and self.cache.free:
            r = self._waiting.popleft()
            try:
                r.slot, r.fed = self.cache.acquire(r.prompt, self.limits.min_prefix_reuse)
            except Exception as exc:  # fails this request; the loop (every other shopper's answer) goes on
                r.out.put(exc)
                continue
            r.rng = torch.Generator().manual_seed(r.seed)
            self._running.append(r)

    def _finish(self, r: Request, reason: str | None) -> None:
        if r in self._running:
            self._running.remove(r)
        if r.slot is not None:
            self.cache.release(r.slot)
        if reason is not None:
            r.out.put((_END, reason))

    def _draft_room(self, r: Request) -> int:
        """Guessed tokens this request can take: never past its answer budget or the cache's length."""
        return min(
            self.limits.draft_tokens, r.max_new_tokens - len(r.generated) - 1, self.max_len - len(r.slot.tokens) - 1
        )

    def _step(self, running: list[Request]) -> None:
        self.cache.shrink_to_fit(max(len(r.prompt) + len(r.generated) for r in running))
        segments: list[Segment] = []
        owners: list[Request] = []
        decoding = [r for r in running if not r.prefilling]
        speculate = self.limits.draft_tokens > 0 and len(decoding) <= self.limits.max_draft_sequences
        for r in decoding:
            guess = draft(r.prompt + r.generated, self._draft_room(r)) if speculate else []
            segments.append(Segment(r.slot.index, [r.generated[-1], *guess], len(r.slot.tokens), every_row=bool(guess)))
            owners.append(r)
        prefilling = [r for r in running if r.prefilling]
        for r in prefilling:
            r.fed = self.cache.extend_prefix(r.slot, r.prompt, self.limits.min_prefix_reuse)
        prefilling.sort(key=self._prefill_order)
        budget = allowance = (
            prefill_budget(self.prefill_tokens_per_s, self.limits)
            if owners
            else idle_prefill_budget(prefilling, self.limits)
        )
        fed_now: list[Request] = []
        for r in prefilling:
            if budget > 0:
                if any(self._would_copy(r, other) for other in fed_now):
                    continue  # its prefix is being read in this step: copied in the next one
                fed_now.append(r)
                chunk = r.prompt[r.fed : r.fed + budget]
                last = r.fed + len(chunk) == len(r.prompt)
                segments.append(Segment(r.slot.index, chunk, r.fed, wants_logits=last))
                owners.append(r)
                r.fed += len(chunk)
                self.prompt_tokens_computed += len(chunk)
                budget -= len(chunk)
        # per thread with OpenMP; set every step because MKL's count is process-wide
        torch.set_num_threads(step_threads(segments, self.cores))
        started = time.perf_counter()
        logits = self.forward(segments)
        self._measure_prefill(allowance - budget, time.perf_counter() - started)
        self.steps += 1
        row = 0
        finished: list[tuple[Request, str]] = []
        for seg, r in zip(segments, owners):
            reason = self._emit(r, seg, logits[row : row + seg.logit_rows])
            row += seg.logit_rows
            if reason is not None:
                finished.append((r, reason))
        if finished:
            with self._wake:
                for r, reason in finished:
                    self._finish(r, reason)

    def _prefill_order(self, r: Request) -> float:
        """When the prompt would be read through if it had the CPU alone from its arrival: prompts that
        arrived together are read shortest first (their first tokens come sooner on average, and the last
        one no later), and a long prompt is passed over only by prompts that would finish before it."""
        rate = self.prefill_tokens_per_s or DEFAULT_PREFILL_TOKENS_PER_S
        return r.submitted + (len(r.prompt) - r.fed) / rate

    def _would_copy(self, r: Request, other: Request) -> bool:
        """Whether `r` could copy enough of `other`'s prompt, as far as it is fed, to wait a step for it."""
        shared = common_prefix(np.asarray(r.prompt), np.asarray(other.prompt[: other.fed]))
        return shared - r.fed >= self.limits.min_prefix_reuse

    def _emit(self, r: Request, seg: Segment, logits: torch.Tensor) -> str | None:
        """Sample the segment's next tokens, one logit row after another, for as long as each sampled token
        is the guessed one the next row was computed after; the finish reason if the answer ended.

        Each token is sampled as without guessing (from its own row, with the same random draws in the same
        order). The slot keeps the guessed tokens that were taken; the positions of the rest are dropped,
        to be overwritten by the next step."""
        guessed = seg.tokens[1:] if seg.every_row else []
        taken, reason = 0, None
        for i in range(len(logits)):
            token = self._sample(r, logits[i])
            if token in self.single.eos_ids:
                reason = "stop"
                break
            r.generated.append(token)
            r.out.put(token)
            if len(r.generated) >= r.max_new_tokens or len(r.prompt) + len(r.generated) >= self.max_len:
                reason = "length"
                break
            if i >= len(guessed) or token != guessed[i]:
                break
            taken += 1
        if guessed:
            del r.slot.tokens[seg.start + 1 + taken :]
        return reason

    def _measure_prefill(self, tokens: int, seconds: float) -> None:
        if tokens < MIN_PREFILL_TOKENS or seconds <= 0:
            return
        rate = tokens / seconds
        previous = self.prefill_tokens_per_s
        self.prefill_tokens_per_s = (
            rate if previous is None else (PREFILL_RATE_SMOOTHING * rate + (1 - PREFILL_RATE_SMOOTHING) * previous)
        )

    def _sample(self, r: Request, scores: torch.Tensor) -> int:
        scores = self.single.hold_end(scores, len(r.generated))
        if len(self.processors):
            seen = torch.tensor([r.prompt + r.generated])
            scores = self.processors(seen, scores[None])[0]
        if self.sampling.temperature > 0:
            return int(torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=r.rng)[0])
        return int(scores.argmax())
