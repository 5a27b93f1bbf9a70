"""Which matrix-multiply library computes the model's linear layers in batched serving, measured rather than assumed.

A decode step reads every weight once for a handful of rows, so it runs at the speed the kernel streams
weights. ATen's float32 `linear` goes to MKL, which on an AMD CPU without AVX-512 streamed the LM head
markedly slower than oneDNN's inner product on the same weights and cores, for one row and for sixteen,
so decode steps and prompt chunks were faster through oneDNN, with the same logits. MKL is Intel's own
library and fast on Intel CPUs, where the two may be even, and oneDNN has no bfloat16 inner product on
CPUs without bf16 instructions. So `auto` times both on the model's own LM head (its largest matrix,
too big for any cache, as the decode step sees every weight) and takes the faster; a kernel that fails
is never picked.

oneDNN takes the weights in the model's own layout (`_linear_pointwise` on a plain tensor): prepacking
them into its blocked layout gained a little more at sixteen rows, but would hold every weight twice.

`int8` is not a float kernel but a change of numbers (`bot/inference/int8_linear.py`): weights quantized once,
activations per row, both smoothed. `auto` considers it only where the CPU has VNNI, whose 8-bit
activations `shopbot eval answers` scores as well as float32 (7-bit activations without smoothing scored
clearly lower); elsewhere it is a setting.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from bot.inference.kernels import int8_linear
from bot.inference.precision import best_seconds

AUTO, ATEN, ONEDNN, INT8 = "auto", "aten", "onednn", "int8"
PROBE_ROWS = (1, 16)  # one stream decoding, and a full default batch
PROBE_REPEATS = 3
# a kernel must be clearly faster to replace the default: within timing noise, stay on the common path
MIN_SPEEDUP = 1.1

Linear = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]
Projection = Callable[[torch.Tensor], torch.Tensor]


def onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


KERNELS: dict[str, Linear] = {ATEN: F.linear, ONEDNN: onednn_linear}


def pick(seconds: dict[str, float]) -> str:
    """The kernel to use given each one's measured time for the same work (inf: it failed): ATEN unless
    another is clearly faster than the best so far."""
    best = ATEN
    for kernel in (ONEDNN, INT8):
        if kernel in seconds and seconds[kernel] * MIN_SPEEDUP <= seconds[best]:
            best = kernel
    return best


def candidates() -> list[str]:
    """The kernels `auto` chooses among on this CPU: int8 only with 8-bit activations (VNNI), the
    precision whose answers `shopbot eval answers` scores as well as float32's."""
    kernels = [ATEN]
    if torch.backends.mkldnn.is_available():
        kernels.append(ONEDNN)
    if int8_linear.available() and not int8_linear.reduce_range():
        kernels.append(INT8)
    return kernels


def _seconds(kernel: str, weight: torch.Tensor) -> float:
    generator = torch.Generator().manual_seed(0)
    total = 0.0
    try:
        projection = prepare(kernel, weight, None)
        for rows in PROBE_ROWS:
            x = torch.randn(rows, weight.shape[1], generator=generator).to(weight.dtype)
            total += best_seconds(lambda x=x: projection(x), PROBE_REPEATS)
    except RuntimeError:  # e.g. oneDNN without bfloat16 support on this CPU
        return float("inf")
    return total


@torch.inference_mode()
def measured(weight: torch.Tensor) -> dict[str, float]:
    """Best-of-n seconds per candidate kernel for the probe rows against `weight`: a one-off start-up cost,
    most of it quantizing the weight where int8 is a candidate."""
    return {kernel: _seconds(kernel, weight) for kernel in candidates()}


def resolve(kernel: str, weight: torch.Tensor) -> str:
    """`auto` becomes the faster kernel for this weight on this CPU; an explicit kernel is kept, except
    `int8` where torch has no x86 int8 engine (an ARM CPU): then the float kernels' choice."""
    if kernel == INT8 and not int8_linear.available():
        kernel = AUTO
    if kernel != AUTO:
        return kernel
    return pick(measured(weight))


def prepare(kernel: str, weight: torch.Tensor, bias: torch.Tensor | None) -> Projection:
    """The linear layer `x -> x @ weight.T + bias` through a resolved kernel, its weights packed once if it
    packs them (int8 here unsmoothed: `bot/inference/batch_forward.py` smooths the model's own layers)."""
    if kernel == INT8:
        return int8_linear.Int8Linear(weight, bias)
    linear = KERNELS[kernel]
    return lambda x: linear(x, weight, bias)
