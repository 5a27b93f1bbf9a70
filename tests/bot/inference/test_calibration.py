"""Calibration reads how large every linear layer's input channels get, from one float pass of the real model."""

from bot.inference.batch_forward import decoder_of
from bot.inference.calibration import CALIBRATION_CHAT, INPUTS, input_ranges
from bot.inference.generator import SamplingConfig, TransformersGenerator


def test_every_linear_input_of_every_layer_and_the_lm_head_is_measured(loaded_model):
    ids = TransformersGenerator(loaded_model, SamplingConfig()).encode(CALIBRATION_CHAT)
    ranges = input_ranges(loaded_model.model, [ids])
    config = loaded_model.model.config
    assert set(ranges) == {(i, kind) for i in range(config.num_hidden_layers) for kind in INPUTS} | {(None, "head")}
    assert ranges[(0, "qkv")].shape == (config.hidden_size,)
    assert ranges[(0, "down")].shape == (config.intermediate_size,)
    assert all((r > 0).any() and (r >= 0).all() for r in ranges.values())
    # the few large channels int8 smoothing is for: the largest far above the typical one
    qkv = ranges[(5, "qkv")]
    assert qkv.max() > 5 * qkv.median()


def test_the_model_is_left_without_hooks(loaded_model):
    input_ranges(loaded_model.model, [[1, 2, 3]])
    decoder, head = decoder_of(loaded_model.model)
    modules = [head] + [m for layer in decoder.layers for m in layer.modules()]
    assert not any(m._forward_pre_hooks for m in modules)
