"""The generator interface the engine talks to, and its transformers implementation.

`stream(messages)` yields text pieces as tokens are decoded. The loop is written out (rather than
`model.generate` in a thread) so that a consumer that stops iterating stops the computation at the
next token step — the server relies on that to cancel generations of dropped clients.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.inference.model import LoadedModel

Messages = Sequence[dict[str, str]]


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_s: float | None = None
    total_s: float = 0.0
    finish_reason: str = ""  # "stop" | "length" | "cancelled"

    @property
    def decode_tokens_per_s(self) -> float:
        decode_time = self.total_s - (self.ttft_s or 0.0)
        return (self.completion_tokens - 1) / decode_time if self.completion_tokens > 1 and decode_time > 0 else 0.0


@runtime_checkable
class Generator(Protocol):
    def count_tokens(self, messages: Messages) -> int: ...

    def stream(
        self, messages: Messages, *, max_new_tokens: int | None = None, stats: GenerationStats | None = None
    ) -> Iterator[str]: ...


@dataclass(frozen=True)
class SamplingConfig:
    max_new_tokens: int = 200
    min_new_tokens: int = 0
    temperature: float = 0.0
    top_p: float = 0.9
    repetition_penalty: float = 1.0
    seed: int = 0


# Ends of turns in the common chat formats (ChatML, Llama 3, Gemma, Phi-3), and their starts too: a model
# that opens the next turn has ended its own, and what it writes next would be an invented shopper's
# message (forced past its end by `min_new_tokens`, SmolLM2 did exactly that)
END_OF_TURN_TOKENS = (
    "<|im_end|>",
    "<|eot_id|>",
    "<|endoftext|>",
    "<end_of_turn>",
    "<|end|>",
    "<|im_start|>",
    "<|start_header_id|>",
    "<start_of_turn>",
)


def end_of_turn_ids(config, tokenizer) -> list[int]:
    """Token ids that end an answer: the model's own end-of-sequence ids and the chat format's turn markers."""
    from transformers import GenerationConfig

    eos = GenerationConfig.from_model_config(config).eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    for token in END_OF_TURN_TOKENS:
        token_id = tokenizer.convert_tokens_to_ids(token)
        # an absent token maps to the unknown token's id; SmolLM2's unknown token is `<|endoftext|>` itself
        if isinstance(token_id, int) and tokenizer.convert_ids_to_tokens(token_id) == token:
            ids.add(token_id)
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return sorted(ids)


class IncrementalDecoder:
    """Turns a growing token list into text pieces, holding back bytes of a half-decoded UTF-8 character."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.tokens: list[int] = []
        self.prefix_offset = 0
        self.read_offset = 0

    def push(self, token_id: int) -> str:
        self.tokens.append(token_id)
        prefix = self.tokenizer.decode(self.tokens[self.prefix_offset : self.read_offset], skip_special_tokens=True)
        full = self.tokenizer.decode(self.tokens[self.prefix_offset :], skip_special_tokens=True)
        if len(full) > len(prefix) and not full.endswith("\ufffd"):
            self.prefix_offset = self.read_offset
            self.read_offset = len(self.tokens)
            return full[len(prefix) :]
        return ""


class TransformersGenerator:
    """Streams from a transformers causal LM with a KV cache, one token per step."""

    def __init__(self, loaded: LoadedModel, sampling: SamplingConfig) -> None:
        import torch

        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.sampling = sampling
        self._torch = torch
        ends = end_of_turn_ids(self.model.config, self.tokenizer)
        self.eos_ids = frozenset(ends)
        self._eos_index = torch.tensor(ends, dtype=torch.long)
        self.context_window = int(getattr(self.model.config, "max_position_embeddings", 2048))

    def encode(self, messages: Messages) -> list[int]:
        return list(
            self.tokenizer.apply_chat_template(
                list(messages), add_generation_prompt=True, tokenize=True, return_dict=True
            )["input_ids"]
        )

    def count_tokens(self, messages: Messages) -> int:
        return len(self.encode(messages))

    def status(self) -> dict:
        """No counters: one answer at a time has no queue or cache to report."""
        return {}

    def close(self) -> None:
        """Nothing to stop: generation runs in the caller's thread."""

    def hold_end(self, scores, produced: int):
        """Before `min_new_tokens` tokens, the end of turn cannot be chosen (logits in the last dimension)."""
        if produced < self.sampling.min_new_tokens:
            return scores.index_fill(-1, self._eos_index, float("-inf"))
        return scores

    def logits_processors(self):
        from transformers import (
            LogitsProcessorList,
            RepetitionPenaltyLogitsProcessor,
            TemperatureLogitsWarper,
            TopPLogitsWarper,
        )

        s = self.sampling
        processors = LogitsProcessorList()
        if s.repetition_penalty > 1.0:
            processors.append(RepetitionPenaltyLogitsProcessor(s.repetition_penalty))
        if s.temperature > 0:
            processors.append(TemperatureLogitsWarper(s.temperature))
            processors.append(TopPLogitsWarper(s.top_p))
        return processors

    def stream(
        self, messages: Messages, *, max_new_tokens: int | None = None, stats: GenerationStats | None = None
    ) -> Iterator[str]:
        torch = self._torch
        stats = stats if stats is not None else GenerationStats()
        budget = max_new_tokens or self.sampling.max_new_tokens
        prompt = self.encode(messages)
        if len(prompt) + budget > self.context_window:
            raise ValueError(
                f"prompt of {len(prompt)} tokens + {budget} new tokens exceeds the model's context window "
                f"of {self.context_window}: lower max_prompt_tokens or max_new_tokens"
            )
        stats.prompt_tokens = len(prompt)
        processors = self.logits_processors()
        generator = torch.Generator().manual_seed(self.sampling.seed)
        decoder = IncrementalDecoder(self.tokenizer)
        input_ids = torch.tensor([prompt])
        seen = input_ids
        past = None
        started = time.perf_counter()
        stats.finish_reason = "cancelled"
        try:
            with torch.inference_mode():
                for _ in range(budget):
                    out = self.model(input_ids=input_ids, past_key_values=past, use_cache=True)
                    past = out.past_key_values
                    scores = processors(seen, out.logits[:, -1, :].float())
                    scores = self.hold_end(scores, stats.completion_tokens)
                    if self.sampling.temperature > 0:
                        next_id = torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=generator)
                    else:
                        next_id = scores.argmax(dim=-1, keepdim=True)
                    token = int(next_id[0, 0])
                    if stats.ttft_s is None:
                        stats.ttft_s = time.perf_counter() - started
                    if token in self.eos_ids:
                        stats.finish_reason = "stop"
                        break
                    stats.completion_tokens += 1
                    seen = torch.cat([seen, next_id], dim=-1)
                    input_ids = next_id
                    piece = decoder.push(token)
                    if piece:
                        yield piece
                else:
                    stats.finish_reason = "length"
        finally:
            stats.total_s = time.perf_counter() - started
