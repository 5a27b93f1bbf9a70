"""dtype auto: the float type this CPU measures faster, never one assumed from elsewhere."""

import pytest

from bot.inference.precision import BF16_MIN_SPEEDUP, measured, pick, resolve


def test_bfloat16_is_picked_only_when_it_is_clearly_faster():
    assert pick({"float32": 1.0, "bfloat16": 0.5}) == "bfloat16"
    assert pick({"float32": 1.0, "bfloat16": 1.0 / BF16_MIN_SPEEDUP * 1.05}) == "float32"  # within noise
    assert pick({"float32": 1.0, "bfloat16": 7.0}) == "float32"  # a CPU without bf16 matrix units


def test_auto_becomes_the_type_this_cpu_measured_faster():
    seconds = measured()
    assert set(seconds) == {"float32", "bfloat16"} and all(s > 0 for s in seconds.values())
    assert resolve("auto") == pick(seconds)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_an_explicit_type_is_kept(dtype):
    assert resolve(dtype) == dtype
