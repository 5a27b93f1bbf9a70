"""linear_kernel auto: the matmul library this CPU measures faster for the model's weights, never one assumed."""

import pytest
import torch
import torch.nn.functional as F

from bot.linear_kernels import ATEN, KERNELS, ONEDNN, ONEDNN_MIN_SPEEDUP, measured, pick, resolve


def test_onednn_is_picked_only_when_it_is_clearly_faster():
    assert pick({ATEN: 2.0, ONEDNN: 1.0}) == ONEDNN  # MKL on an AMD EPYC
    assert pick({ATEN: 1.0, ONEDNN: 1.0 / ONEDNN_MIN_SPEEDUP * 1.05}) == ATEN  # within noise
    assert pick({ATEN: 1.0, ONEDNN: float("inf")}) == ATEN  # oneDNN failed on this type


def test_auto_becomes_the_kernel_this_cpu_measured_faster_for_the_weight():
    weight = torch.randn(4096, 576)
    seconds = measured(weight)
    assert set(seconds) == {ATEN, ONEDNN} and all(s > 0 for s in seconds.values())
    assert resolve("auto", weight) in (ATEN, ONEDNN)


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
