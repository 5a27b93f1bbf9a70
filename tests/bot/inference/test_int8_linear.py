"""int8 linears: a quarter of the weight bytes, close to the float layer, and a row's result never
depends on the rows batched with it (a shopper's answer does not change with who else is chatting)."""

import pytest
import torch
import torch.nn.functional as F

from bot.inference.kernels import int8_linear
from bot.inference.kernels.int8_linear import Int8Linear, smoothing

pytestmark = pytest.mark.skipif(not int8_linear.available(), reason="torch has no FBGEMM engine on this CPU (not x86)")


@pytest.fixture
def layer():
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(960, 576, generator=generator) * 0.05
    bias = torch.randn(960, generator=generator)
    return weight, bias, Int8Linear(weight, bias)


def relative_error(got, expected):
    return ((got - expected).norm() / expected.norm()).item()


def test_it_computes_the_float_layer_to_within_a_few_percent(layer):
    weight, bias, int8 = layer
    x = torch.randn(2, 7, 576, generator=torch.Generator().manual_seed(1))
    got = int8(x)
    assert got.shape == (2, 7, 960) and got.dtype == torch.float32
    assert relative_error(got, F.linear(x, weight, bias)) < 0.03


def test_a_row_gives_the_same_bits_alone_and_beside_rows_of_any_size(layer):
    _, _, int8 = layer
    generator = torch.Generator().manual_seed(2)
    row = torch.randn(1, 576, generator=generator)
    others = torch.randn(15, 576, generator=generator)
    others[3] *= 1000.0  # one activation outlier elsewhere in the batch
    others[7] *= 1e-4
    alone = int8(row)
    assert torch.equal(int8(torch.cat([others[:5], row, others[5:]]))[5:6], alone)


def test_outliers_in_one_row_do_not_coarsen_another(layer):
    weight, bias, int8 = layer
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(2, 576, generator=generator)
    x[0] *= 500.0
    assert relative_error(int8(x)[1], F.linear(x[1], weight, bias)) < 0.03


def test_bfloat16_activations_come_back_in_bfloat16(layer):
    weight, bias, int8 = layer
    x = torch.randn(3, 576).to(torch.bfloat16)
    got = int8(x)
    assert got.dtype == torch.bfloat16
    assert relative_error(got.float(), F.linear(x.float(), weight, bias)) < 0.03


def test_the_packed_weight_is_a_quarter_of_the_float_bytes(layer):
    weight, _, int8 = layer
    packed, _ = torch.ops.quantized.linear_unpack(int8.packed)
    held = packed.int_repr().numel() + packed.q_per_channel_scales().numel() * 4
    assert held < weight.numel() * weight.element_size() * 0.26


def test_smoothing_an_outlier_channel_brings_the_other_channels_back_into_focus():
    generator = torch.Generator().manual_seed(4)
    weight = torch.randn(256, 576, generator=generator) * 0.05
    x = torch.randn(32, 576, generator=generator)
    x[:, 7] *= 40.0  # one channel 40x the others in every row, as in SmolLM2's attention inputs
    expected = F.linear(x, weight)
    plain = Int8Linear(weight)(x)
    smoothed = Int8Linear(weight, smooth=smoothing(x.abs().amax(dim=0), weight))(x)
    assert relative_error(smoothed, expected) < 0.6 * relative_error(plain, expected)
    assert relative_error(smoothed, expected) < 0.03


def test_inputs_divided_upstream_give_what_the_layer_gives_dividing_them_itself():
    """BatchForward folds the divisors into the RMSNorm before the layer (`divide_inputs=False`)."""
    generator = torch.Generator().manual_seed(5)
    weight = torch.randn(256, 576, generator=generator) * 0.05
    x = torch.randn(8, 576, generator=generator)
    x[:, 3] *= 30.0
    smooth = smoothing(x.abs().amax(dim=0), weight)
    itself = Int8Linear(weight, smooth=smooth)(x)
    upstream = Int8Linear(weight, smooth=smooth, divide_inputs=False)(x / smooth)
    torch.testing.assert_close(upstream, itself, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(Int8Linear(weight, smooth=smooth, divide_inputs=False)(x), itself, rtol=1e-2, atol=1e-2)
