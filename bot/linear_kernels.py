"""Which matrix-multiply library computes the model's linear layers in batched serving, measured rather than assumed.

A decode step reads every weight once for a handful of rows, so it runs at the speed the kernel streams
weights. ATen's float32 `linear` goes to MKL, which on an AMD EPYC host (AVX2, no AVX-512) streamed the
LM head at 7 GB/s for one row and 2.5 GB/s for sixteen; oneDNN's inner product, on the same weights and
cores, read 13 and 5 GB/s: decode steps for 1 / 4 / 16 sequences went from 125 / 271 / 355 ms to
101 / 173 / 280 ms and a 512-token prompt chunk from 1.50 to 1.38 s, with the same logits to 1e-4. MKL is Intel's own library and fast on Intel
CPUs, where the two may be even, and oneDNN has no bfloat16 inner product on CPUs without bf16
instructions. So `auto` times both on the model's own LM head (its largest matrix, too big for any cache,
as the decode step sees every weight) and takes the faster; a kernel that fails is never picked.

oneDNN takes the weights in the model's own layout (`_linear_pointwise` on a plain tensor): prepacking
them into its blocked layout gained a little more at sixteen rows, but would hold every weight twice.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from bot.precision import best_seconds

AUTO, ATEN, ONEDNN = "auto", "aten", "onednn"
PROBE_ROWS = (1, 16)  # one stream decoding, and a full default batch
PROBE_REPEATS = 3
# oneDNN must be clearly faster to replace the default: within timing noise, stay on the common path
ONEDNN_MIN_SPEEDUP = 1.1

Linear = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]


def onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


KERNELS: dict[str, Linear] = {ATEN: F.linear, ONEDNN: onednn_linear}


def pick(seconds: dict[str, float]) -> str:
    """The kernel to use given each one's measured time for the same work (inf: it failed)."""
    return ONEDNN if seconds[ONEDNN] * ONEDNN_MIN_SPEEDUP <= seconds[ATEN] else ATEN


def _seconds(linear: Linear, weight: torch.Tensor) -> float:
    generator = torch.Generator().manual_seed(0)
    total = 0.0
    for rows in PROBE_ROWS:
        x = torch.randn(rows, weight.shape[1], generator=generator).to(weight.dtype)
        try:
            total += best_seconds(lambda: linear(x, weight, None), PROBE_REPEATS)
        except RuntimeError:  # e.g. oneDNN without bfloat16 support on this CPU
            return float("inf")
    return total


@torch.inference_mode()
def measured(weight: torch.Tensor) -> dict[str, float]:
    """Best-of-n seconds per kernel for the probe rows against `weight` (~0.5 s for SmolLM2's LM head on the AMD host)."""
    return {name: _seconds(linear, weight) for name, linear in KERNELS.items()}


def resolve(kernel: str, weight: torch.Tensor) -> str:
    """`auto` becomes the faster kernel for this weight on this CPU; an explicit kernel is kept."""
    if kernel != AUTO:
        return kernel
    if not torch.backends.mkldnn.is_available():
        return ATEN
    return pick(measured(weight))
