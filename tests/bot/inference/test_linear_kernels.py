"""linear_kernel auto: the matmul library this CPU measures faster for the model's weights, never one assumed."""

import pytest
import torch
import torch.nn.functional as F

from bot.inference.kernels import int8_linear
from bot.inference.kernels.linear_kernels import (
    ATEN,
    INT8,
    KERNELS,
    MIN_SPEEDUP,
    ONEDNN,
    candidates,
    measured,
    pick,
    prepare,
    resolve,
)


def test_onednn_is_picked_only_when_it_is_clearly_faster():
    assert pick({ATEN: 2.0, ONEDNN: 1.0}) == ONEDNN  # MKL on an AMD EPYC
    assert pick({ATEN: 1.0, ONEDNN: 1.0 / MIN_SPEEDUP * 1.05}) == ATEN  # within noise
    assert pick({ATEN: 1.0, ONEDNN: float("inf")}) == ATEN  # oneDNN failed on this type


def test_int8_replaces_the_best_float_kernel_only_when_clearly_faster():
    assert pick({ATEN: 2.0, ONEDNN: 1.0, INT8: 0.2}) == INT8
    assert pick({ATEN: 2.0, ONEDNN: 1.0, INT8: 0.95}) == ONEDNN
    assert pick({ATEN: 1.0, ONEDNN: 1.0, INT8: float("inf")}) == ATEN


def test_int8_is_a_candidate_only_where_its_activations_get_8_bits(monkeypatch):
    monkeypatch.setattr(int8_linear, "available", lambda: True)
    monkeypatch.setattr(int8_linear, "reduce_range", lambda: True)  # no VNNI: 7-bit activations
    assert INT8 not in candidates()
    monkeypatch.setattr(int8_linear, "reduce_range", lambda: False)
    assert INT8 in candidates()


def test_auto_times_every_candidate_kernel_on_the_weight():
    seconds = measured(torch.randn(4096, 576))
    assert set(seconds) == set(candidates()) >= {ATEN, ONEDNN}
    assert all(0 < s < float("inf") for s in seconds.values())


def test_a_kernel_that_fails_on_this_cpu_is_never_picked(monkeypatch):
    def unsupported(x, weight, bias=None):
        raise RuntimeError("could not create a primitive descriptor for the inner product")

    monkeypatch.setitem(KERNELS, ONEDNN, unsupported)
    monkeypatch.setattr(int8_linear, "available", lambda: False)
    assert measured(torch.randn(256, 64))[ONEDNN] == float("inf")
    assert resolve("auto", torch.randn(256, 64)) == ATEN


def test_auto_keeps_aten_where_torch_has_neither_onednn_nor_int8(monkeypatch):
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    monkeypatch.setattr(int8_linear, "available", lambda: False)
    assert resolve("auto", torch.randn(256, 64)) == ATEN


@pytest.mark.parametrize("kernel", [ATEN, ONEDNN, INT8])
def test_an_explicit_kernel_is_kept(kernel):
    if kernel == INT8 and not int8_linear.available():
        pytest.skip("torch has no FBGEMM engine on this CPU (not x86)")
    assert resolve(kernel, torch.randn(8, 8)) == kernel


def test_int8_falls_back_to_the_float_kernels_where_torch_has_no_int8_engine(monkeypatch):
    monkeypatch.setattr(int8_linear, "available", lambda: False)
    assert resolve(INT8, torch.randn(256, 64)) in (ATEN, ONEDNN)


def test_both_kernels_compute_the_same_linear_layer():
    generator = torch.Generator().manual_seed(0)
    x, weight, bias = (torch.randn(*shape, generator=generator) for shape in ((1, 3, 576), (960, 576), (960,)))
    expected = F.linear(x, weight, bias)
    got = KERNELS[ONEDNN](x, weight, bias)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize("kernel", [ATEN, ONEDNN, INT8])
def test_a_prepared_layer_computes_the_linear_layer_through_each_kernel(kernel):
    if kernel == INT8 and not int8_linear.available():
        pytest.skip("torch has no FBGEMM engine on this CPU (not x86)")
    generator = torch.Generator().manual_seed(0)
    x, weight, bias = (torch.randn(*shape, generator=generator) for shape in ((1, 3, 576), (960, 576), (960,)))
    expected = F.linear(x, weight, bias)
    got = prepare(kernel, weight, bias)(x)
    assert got.shape == expected.shape
    assert ((got - expected).norm() / expected.norm()) < (0.03 if kernel == INT8 else 1e-5)
