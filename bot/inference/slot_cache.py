"""Per-sequence KV caches for continuous batching: one fixed slot per running sequence, reused as a prefix cache.

Each layer holds all slots in one tensor `[2, slots, kv_heads, capacity, head_dim]`, so the decode
step attends over `slots[:n]` as one contiguous batch of matrices, read in place (bfloat16 `bmm` on
CPU copies a batch whose matrices are not packed back to back: with room for `max_len` positions per
slot and only the used ones attended, those copies were a large part of a decode step). The
capacity grows in steps of `CAPACITY_STEP` positions, up to `max_len`, as sequences get longer
(`reserve`), so attention spans at most one step beyond the longest sequence. It shrinks back
(`shrink_to_fit`) once the sequences still running need at least `SHRINK_STEPS` steps fewer: a decode
step attends over the whole capacity, so one long conversation would otherwise slow every later step.
Free slots keep the part of their cached prefix that fits. Resizing copies only each slot's cached
tokens, one layer at a time (only one layer is ever held twice). The memory is a fresh anonymous
mapping (`_lazy_zeros`) whose pages the OS provides, zeroed, only when first written: a slot costs
memory for the positions it has filled, and positions no sequence wrote read as zeros (attention
weights of exactly 0 cancel a finite value, not a NaN left in recycled heap memory).

A slot keeps its tokens' keys and values after its sequence ends. A new prompt starts from the
longest prefix any slot already holds (the system prompt and shop facts are shared by most prompts),
in place when that slot is free, else copied into a free slot: positions before a running sequence's
length never change, so copying them is safe.
"""

from __future__ import annotations

import math
import mmap
from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class Slot:
    index: int
    tokens: list[int] = field(default_factory=list)  # tokens whose keys/values are valid, in order
    busy: bool = False


def common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if len(differ) else n


CAPACITY_STEP = 128  # positions the cache grows by
SHRINK_STEPS = 2  # the capacity shrinks when the running sequences need this many steps fewer


def _lazy_zeros(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """A zero-filled tensor in a private anonymous mapping: the OS commits its pages only when written.

    `torch.zeros` would write, and so commit, all of it up front; `torch.empty` may hand back recycled
    heap memory holding anything, NaN included. The tensor keeps the mapping alive.
    """
    size = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
    buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return torch.frombuffer(buffer, dtype=dtype).view(shape)


class SlotCache:
    @classmethod
    def for_model(cls, config, *, slots: int, max_len: int, dtype) -> SlotCache:
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        return cls(
            layers=config.num_hidden_layers,
            kv_heads=config.num_key_value_heads,
            head_dim=head_dim,
            slots=slots,
            max_len=max_len,
            dtype=dtype,
        )

    @property
    def head_dim(self) -> int:
        return self.kv[0].shape[-1]

    def __init__(self, *, layers: int, kv_heads: int, head_dim: int, slots: int, max_len: int, dtype) -> None:
        self.max_len = max_len
        capacity = min(CAPACITY_STEP, max_len)
        self.kv = [_lazy_zeros((2, slots, kv_heads, capacity, head_dim), dtype) for _ in range(layers)]
        self.slots = [Slot(i) for i in range(slots)]

    @property
    def capacity(self) -> int:
        return self.kv[0].shape[3]

    def reserve(self, length: int) -> None:
        """Room for `length` positions in every slot, grown by whole steps (never beyond `max_len`)."""
        if length <= self.capacity:
            return
        if length > self.max_len:
            raise ValueError(f"{length} positions exceed the cache's max_len of {self.max_len}")
        self._resize(self._steps_for(length))

    def _steps_for(self, length: int) -> int:
        return min(max(1, -(-length // CAPACITY_STEP)) * CAPACITY_STEP, self.max_len)

    def shrink_to_fit(self, longest: int) -> bool:
        """Give back whole capacity steps the running sequences do not need, if at least `SHRINK_STEPS` of
        them (with one step of room left for the answers to grow into); whether it shrank.

        `longest`: the most positions a running sequence needs now (a prompt still being fed counts whole,
        which its slot's cached tokens do not say)."""
        capacity = self._steps_for(longest + CAPACITY_STEP)
        if self.capacity - capacity < SHRINK_STEPS * CAPACITY_STEP:
            return False
        for s in self.slots:
            del s.tokens[capacity:]  # only free slots hold more: the tail of a cached prefix
        self._resize(capacity)
        return True

    def _resize(self, capacity: int) -> None:
        _, slots, kv_heads, _, head_dim = self.kv[0].shape
        with torch.inference_mode(False):  # called from the forward step; the cache is also written outside it
            for i, layer in enumerate(self.kv):
                resized = _lazy_zeros((2, slots, kv_heads, capacity, head_dim), layer.dtype)
                for s in self.slots:
                    if s.tokens:
                        resized[:, s.index, :, : len(s.tokens)] = layer[:, s.index, :, : len(s.tokens)]
                self.kv[i] = resized

    @property
    def free(self) -> int:
        return sum(not s.busy for s in self.slots)

    def acquire(self, prompt: list[int], min_reuse: int = 16) -> tuple[Slot, int]:
        """A free slot for `prompt`, and how many of its first tokens are already cached there.

        At least the last prompt token is left to compute: its logits give the first new token.
        """
        free = [s for s in self.slots if not s.busy]
        if not free:
            raise RuntimeError("no free slot: the scheduler admits a request only when `free` > 0")
        best, matched = self._longest_prefix(prompt)
        reuse = min(matched, len(prompt) - 1)
        if best is not None and not best.busy and reuse >= min_reuse:
            slot, slot.tokens = best, list(prompt[:reuse])
        else:
            # the free slot whose cached tokens are least worth keeping; lowest index keeps the batch view short
            slot = min(free, key=lambda s: (len(s.tokens) > 0, s.index))
            slot.tokens = []
            self.extend_prefix(slot, prompt, min_reuse)
        slot.busy = True
        return slot, len(slot.tokens)

    def extend_prefix(self, slot: Slot, prompt: list[int], min_reuse: int = 16) -> int:
        """Copy into `slot` (which holds the start of `prompt`) what another slot has cached since of the
        same prompt; how many of its tokens `slot` now holds.

        `acquire` matches a prompt on admission. When shoppers arrive together, every prompt is admitted
        before any is read, so two asking the same question (the same products and policies after the
        instructions) would both compute them; matched again before each chunk, the later one copies
        what the earlier one has read by then. At least the last prompt token is left to compute."""
        have = len(slot.tokens)
        best, matched = self._longest_prefix(prompt, skip=slot, beyond=have)
        reuse = min(matched, len(prompt) - 1)
        if best is None or reuse - have < min_reuse:
            return have
        for layer in self.kv:
            layer[:, slot.index, :, have:reuse] = layer[:, best.index, :, have:reuse]
        slot.tokens.extend(prompt[have:reuse])
        return reuse

    def _longest_prefix(self, prompt: list[int], skip: Slot | None = None, beyond: int = 0) -> tuple[Slot | None, int]:
        """The slot holding the longest start of `prompt`, among those holding more than `beyond` tokens (a
        free one on a tie: it can be taken as it is), and how many tokens of it."""
        target = np.asarray(prompt)
        best, best_len = None, 0
        for s in self.slots:
            if s is skip or len(s.tokens) <= beyond:
                continue
            n = common_prefix(np.asarray(s.tokens), target)
            if n > best_len or (n == best_len and best is not None and not s.busy and best.busy):
                best, best_len = s, n
        return best, best_len

    def release(self, slot: Slot) -> None:
        slot.busy = False
