"""Which float type this CPU computes fastest in, measured rather than assumed.

bfloat16 pays only on CPUs with bf16 matrix units: with AMX it decodes and reads prompts markedly faster
than float32, but on a CPU without AVX-512 BF16 the same linear layer runs many times slower in bfloat16,
which makes the whole eval crawl. A serving default fixed to either type is wrong on one of them, so
`auto` times one of the model's linear layers in both and takes the faster.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache

import torch
import torch.nn.functional as F

AUTO = "auto"
# a prompt chunk against an MLP projection of SmolLM2-135M: the shape that dominates serving and training
PROBE_SHAPE = (64, 576, 1536)
PROBE_REPEATS = 8
# bfloat16 must be clearly faster, not within timing noise, to win: float32 is the exact reference
BF16_MIN_SPEEDUP = 1.2


def pick(seconds: dict[str, float]) -> str:
    """The type to use given each one's measured time for the same work."""
    return "bfloat16" if seconds["bfloat16"] * BF16_MIN_SPEEDUP <= seconds["float32"] else "float32"


def best_seconds(work: Callable[[], object], repeats: int) -> float:
    """The fastest of `repeats` timed runs, after one untimed run that pays for kernel selection."""
    work()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def _seconds(dtype: torch.dtype) -> float:
    rows, inner, outer = PROBE_SHAPE
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(rows, inner, generator=generator).to(dtype)
    w = torch.randn(outer, inner, generator=generator).to(dtype)
    return best_seconds(lambda: F.linear(x, w), PROBE_REPEATS)


@cache
def measured() -> dict[str, float]:
    """Best-of-n seconds for the probe in each type, once per process (the probe is small)."""
    return {"float32": _seconds(torch.float32), "bfloat16": _seconds(torch.bfloat16)}


def resolve(dtype: str) -> str:
    """`auto` becomes the faster type on this CPU; an explicit type is kept."""
    return pick(measured()) if dtype == AUTO else dtype
