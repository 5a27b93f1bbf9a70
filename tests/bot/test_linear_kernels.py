"""linear_kernel auto: the matmul library this CPU measures faster for the model's weights, never one assumed."""

import pytest
import torch
import torch.nn.functional as F

from bot.linear_kernels import ATEN, KERNELS, ONEDNN, ONEDNN_MIN_SPEEDUP, measured, pick, resolve


def test_onednn_is_picked_only_when_it_is_clearly_faster():
    assert pick({ATEN: 2.0, ONEDNN: 1.0}) == ONEDNN  # MKL on an AMD EPYC
    assert pick({ATEN: 1.0, ONEDNN: 1.0 / ONEDNN_MIN_SPEEDUP * 1.05}) == ATEN  # within noise
    assert pick({ATEN: 1.0, ONEDNN: float("inf")}) == ATEN  # oneDNN failed on this type


def test_auto_times_both_kernels_on_the_weight():
    seconds = measured(torch.randn(4096, 576))
    assert set(seconds) == {ATEN, ONEDNN} and all(0 < s < float("inf") for s in seconds.values())


def test_a_kernel_that_fails_on_this_cpu_is_never_picked(monkeypatch):
    def unsupported(x, weight, bias=None):
        raise RuntimeError("could not create a primitive descriptor for the inner product")

    monkeypatch.setitem(KERNELS, ONEDNN, unsupported)
    assert measured(torch.randn(256, 64))[ONEDNN] == float("inf")
    assert resolve("auto", torch.randn(256, 64)) == ATEN


def test_auto_keeps_aten_where_torch_has_no_onednn(monkeypatch):
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    assert resolve("auto", torch.randn(256, 64)) == ATEN


@pytest.mark.parametrize("kernel", [ATEN, ONEDNN])
def test_an_explicit_kernel_is_kept(kernel):
    assert resolve(kernel, torch.randn(8, 8)) == kernel


def test_both_kernels_compute_the_same_linear_layer():
    generator = torch.Generator().manual_seed(0)
    x, weight, bias = (torch.randn(*shape, generator=generator) for shape in ((1, 3, 576), (960, 576), (960,)))
    expected = F.linear(x, weight, bias)
    got = KERNELS[ONEDNN](x, weight, bias)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-4)
