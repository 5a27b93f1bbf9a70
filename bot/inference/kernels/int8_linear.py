"""A linear layer with int8 weights and int8 activations, a quarter of float32's bytes per decode step.

A decode step reads every weight for a handful of rows, so it runs at the speed weights stream from
memory: on a CPU with AVX-512 VNNI, FBGEMM's dynamic int8 kernel runs the LM head and the layers' matrices
several times faster than oneDNN's float32 kernel, for one row, for sixteen and for a prompt chunk alike.
Weights are quantized once per output channel (symmetric).

FBGEMM quantizes its input with one scale for the whole tensor. One scale across a batch would make a
shopper's answer depend on what the other shoppers' rows hold (and one large value in a prompt chunk
would coarsen every other row), so each row is first divided by its own largest magnitude and the
output multiplied back: the layer is linear, so that is exact up to quantization, and a fixed extra
row [1, -1, 0, ...] pins the tensor's range at [-1, 1], so every row is quantized with the same
step whatever it is batched with. Integer accumulation makes a row's result independent of the others.

Within a row, a few channels are many times the others (`bot/inference/calibration.py`); with `smooth` factors
(SmoothQuant) those channels are divided down before quantizing and the weight's columns multiplied
up to match, so the product is unchanged and both sides quantize with finer steps. Where the input
comes out of an operation that can absorb the division (an RMSNorm's weight, another projection's output
rows), the caller folds it there (`divide_inputs=False`): one small op fewer per call, ~120 calls a step.

Activations use 8 bits where the CPU has AVX-512 VNNI (its int8 dot products sum into 32 bits) and 7 bits
elsewhere: without VNNI, FBGEMM sums pairs of u8 x s8 products in 16 bits, which 8-bit inputs can
overflow.
"""

from __future__ import annotations

import warnings

import torch

# FBGEMM is x86's int8 library in torch (AVX2 / AVX-512)
ENGINES = ("fbgemm", "x86")
# SmoothQuant's migration strength: 0 leaves activations as they are, 1 moves all their range into the weights
SMOOTHING_ALPHA = 0.5


def reduce_range() -> bool:
    """7-bit activations unless VNNI's 32-bit sums make 8 bits safe."""
    has_vnni = getattr(torch.cpu, "_is_vnni_supported", lambda: False)
    return not has_vnni()


def smoothing(input_absmax: torch.Tensor, weight: torch.Tensor, alpha: float = SMOOTHING_ALPHA) -> torch.Tensor:
    """Per-input-channel divisors for the activations (the weight's columns are multiplied by them):
    max|X_j|^alpha / max|W_j|^(1-alpha), which evens out the two sides' ranges channel by channel."""
    weight_absmax = weight.detach().abs().amax(dim=0).float().clamp_min(1e-5)
    return (input_absmax.float().clamp_min(1e-5) ** alpha / weight_absmax ** (1 - alpha)).clamp_min(1e-5)


def available() -> bool:
    return any(engine in torch.backends.quantized.supported_engines for engine in ENGINES)


def quantize_weight(weight: torch.Tensor) -> torch.Tensor:
    """Symmetric per-output-channel int8 (a float32 weight), the layout FBGEMM's prepack takes."""
    scales = (weight.abs().amax(dim=1) / 127.0).clamp_min(1e-12)
    zero_points = torch.zeros(weight.shape[0], dtype=torch.long)
    with warnings.catch_warnings():  # quantized tensors are deprecated, but still FBGEMM's only way in (torch 2.13)
        warnings.simplefilter("ignore", UserWarning)
        return torch.quantize_per_channel(weight, scales.double(), zero_points, 0, torch.qint8)


class Int8Linear:
    """`x @ weight.T + bias` with the weight packed for FBGEMM; the float weight is not kept."""

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor | None = None,
        smooth: torch.Tensor | None = None,
        divide_inputs: bool = True,
    ) -> None:
        if not available():
            raise RuntimeError("int8 linears need torch's FBGEMM engine (x86 CPUs); set linear_kernel to auto")
        self._select_engine()
        self.in_features = weight.shape[1]
        self.reduce_range = reduce_range()
        weight = weight.detach()
        self.inverse_smooth = None if smooth is None or not divide_inputs else 1.0 / smooth
        # a float32 smoothing factor widens a bfloat16 weight itself: one float32 copy either way
        weight = (weight * smooth if smooth is not None else weight).float()
        self.packed = torch.ops.quantized.linear_prepack(quantize_weight(weight), None)
        self.bias = None if bias is None else bias.detach().float()
        self.sentinel = torch.zeros(1, self.in_features)
        self.sentinel[0, 0], self.sentinel[0, -1] = 1.0, -1.0

    @staticmethod
    def _select_engine() -> None:
        if torch.backends.quantized.engine not in ENGINES:
            torch.backends.quantized.engine = next(
                e for e in ENGINES if e in torch.backends.quantized.supported_engines
            )

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        shape, dtype = x.shape, x.dtype
        rows = x.reshape(-1, self.in_features)
        # each small op costs a few microseconds, ~120 calls a decode step: the product widens to float32 itself
        rows = rows * self.inverse_smooth if self.inverse_smooth is not None else rows.float()
        # abs + amax, not an inf-norm: torch's `vector_norm` does not vectorize along rows and is many times slower
        scale = rows.abs().amax(dim=1, keepdim=True).clamp_min_(1e-30)
        # the divided rows are written straight into the tensor that also holds the sentinel row: a
        # concatenation would copy every row once more
        n = rows.shape[0]
        pinned = torch.empty(n + 1, self.in_features)
        torch.div(rows, scale, out=pinned[:n])
        pinned[n] = self.sentinel[0]
        out = torch.ops.quantized.linear_dynamic(pinned, self.packed, self.reduce_range)[:-1].mul_(scale)
        if self.bias is not None:
            out.add_(self.bias)
        return out.view(*shape[:-1], out.shape[-1]).to(dtype)
