"""Adapters are swapped per shop on one loaded base model: no reload, and switching really changes the outputs."""

from __future__ import annotations

import pytest

from tests.conftest import MODEL_CACHE


def make_adapter(folder, seed):
    import torch
    from peft import LoraConfig, get_peft_model

    from bot.inference.model import load_model

    torch.manual_seed(seed)
    base = load_model(None, MODEL_CACHE).model
    model = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    model.save_pretrained(folder)
    return str(folder)


def logits(loaded):
    import torch

    ids = loaded.tokenizer("Where is my order?", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        return loaded.model(input_ids=ids).logits[0, -1]


@pytest.mark.model
def test_two_shops_adapters_switch_on_one_base_model(tmp_path):
    import torch

    from bot.inference.model import add_adapter, load_model, use_adapter

    shop_a, shop_b = make_adapter(tmp_path / "a", 1), make_adapter(tmp_path / "b", 2)
    loaded = load_model(None, MODEL_CACHE)
    base_weight = loaded.model.model.layers[0].self_attn.o_proj.weight
    untuned = logits(loaded)
    add_adapter(loaded, "a", shop_a)
    add_adapter(loaded, "b", shop_b)
    use_adapter(loaded, "a")
    with_a = logits(loaded)
    use_adapter(loaded, "b")
    with_b = logits(loaded)
    use_adapter(loaded, None)
    back = logits(loaded)
    assert not torch.allclose(with_a, untuned) and not torch.allclose(with_b, with_a)
    assert torch.allclose(back, untuned, atol=1e-5)
    use_adapter(loaded, "a")
    assert torch.allclose(logits(loaded), with_a, atol=1e-5) and loaded.adapter == "a"
    assert loaded.model.base_model.model.model.layers[0].self_attn.o_proj.weight is base_weight  # never reloaded
    with pytest.raises(ValueError, match="no adapter 'c'"):
        use_adapter(loaded, "c")
