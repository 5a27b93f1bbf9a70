"""`train lora` on a tiny slice: two steps, loss only on answers, PNG, checkpoint, exact resume, small adapter."""

from __future__ import annotations

import json

import pytest
import torch

from adapters.data import Example
from adapters.train import PRESETS, FactsPrefill, encode, example_loss, facts_detached_loss, lora_model, train


@pytest.fixture
def small_builder(demo_settings, demo_store, demo_retriever, loaded_model):
    """Short prompts keep these CI-sized; the mechanics are the same at any prompt size."""
    from adapters.data import DataBuilder

    small = demo_settings.model_copy(
        update={"max_prompt_tokens": 320, "top_k_policies": 0, "top_k_products": 2, "max_orders_in_context": 1}
    )
    return DataBuilder(small, demo_store, demo_retriever, loaded_model.tokenizer)


def test_only_the_answer_and_its_end_token_are_learned(loaded_model):
    tok = loaded_model.tokenizer
    e = Example(
        [{"role": "system", "content": "facts"}, {"role": "user", "content": "price?"}], "It is $3.49.", "price"
    )
    enc = encode(tok, e)
    learned = [t for t in enc.labels if t != -100]
    assert tok.decode(learned) == "It is $3.49.<|im_end|>"
    assert enc.input_ids[-len(learned) :] == learned and len(enc.labels) == len(enc.input_ids)


@pytest.mark.model
def test_facts_prefilled_without_gradients_give_the_whole_sequences_loss_and_train_the_adapter(small_builder):
    import torch

    from bot.inference.model import load_model
    from bot.inference.precision import resolve
    from tests.conftest import MODEL_CACHE

    bf16 = resolve("auto") == "bfloat16"  # the type training would use here: bfloat16 is far slower without bf16 units

    loaded = load_model(None, MODEL_CACHE, dtype="float32")
    items = [encode(loaded.tokenizer, e) for e in small_builder.training_examples(6, seed=3)[:4]]
    assert all(0 < i.context_len < len(i.input_ids) - sum(t != -100 for t in i.labels) for i in items)
    prefill = FactsPrefill(loaded.model, torch.bfloat16 if bf16 else torch.float32)
    model = lora_model(loaded.model, PRESETS["smoke"])
    torch.manual_seed(0)
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.data.normal_(0, 0.02)  # a trained-looking adapter: the merged copy must reproduce it
    prefill.refresh(model)
    model.eval()
    for item in items:
        with torch.no_grad():
            whole, detached = (
                float(example_loss(model, item, bf16)),
                float(facts_detached_loss(model, prefill, item, bf16)),
            )
        assert abs(whole - detached) < 0.03 * max(1.0, whole), (whole, detached)
        loss = facts_detached_loss(model, prefill, item, bf16)
        loss.backward()
    grads = [p.grad for name, p in model.named_parameters() if "lora_A" in name and "layers.0." in name]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)
    with torch.no_grad():  # summed over the items: one short answer alone can barely move
        before = sum(float(facts_detached_loss(model, prefill, item, bf16)) for item in items)
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.data.zero_()
    prefill.refresh(model)  # the merged copy follows the adapter: with B = 0 it is the base model again
    with torch.no_grad():
        after = sum(float(facts_detached_loss(model, prefill, item, bf16)) for item in items)
        assert after != pytest.approx(before, abs=1e-3)
        base = float(example_loss(model, items[0], bf16))
        assert float(facts_detached_loss(model, prefill, items[0], bf16)) == pytest.approx(
            base, abs=0.03 * max(1.0, base)
        )


@pytest.mark.model
def test_two_step_smoke_training_checkpoints_and_resumes(small_builder, tmp_path):
    from bot.inference.model import load_model
    from tests.conftest import MODEL_CACHE

    cfg = PRESETS["smoke"].model_copy(update={"scenarios": 4, "heldout_scenarios": 1, "batch_size": 1, "max_steps": 2})
    work, out = tmp_path / "work", tmp_path / "adapter"
    first = train(
        cfg,
        builder_factory=lambda: small_builder,
        loaded=load_model(None, MODEL_CACHE),
        out=out,
        work=work,
        resume=True,
        progress_bar=False,
        log=lambda *_: None,
    )
    assert first["steps"] == 2 and (out / "adapter_model.safetensors").is_file() and (out / "loss.png").is_file()
    assert (out / "adapter_config.json").is_file() and first["adapter_bytes"] < 8_000_000
    routing = [json.loads(line) for line in (out / "routing.jsonl").read_text().splitlines()]
    assert {r["tool"] for r in routing} >= {None, "suggest_reorder", "handoff", "lookup_order", "search_products"}
    assert (work / "checkpoints" / "step-2" / "trainer.pt").is_file()
    losses = json.loads((work / "losses.json").read_text())
    resumed = train(
        cfg.model_copy(update={"max_steps": 3}),
        builder_factory=lambda: pytest.fail("data is reused"),
        loaded=load_model(None, MODEL_CACHE),
        out=out,
        work=work,
        resume=True,
        progress_bar=False,
        log=lambda *_: None,
    )
    assert resumed["steps"] == 3
    assert json.loads((work / "losses.json").read_text())[:2] == losses
    assert set(resumed["heldout_perplexity"]) == {"tuned", "untuned"}

    # a run may start from a trained adapter: with a learning rate of ~0 it writes that adapter back
    from safetensors.torch import load_file

    start = load_file(out / "adapter_model.safetensors")
    again = tmp_path / "again"
    train(
        cfg.model_copy(update={"max_steps": 1, "learning_rate": 1e-12, "init_adapter": str(out)}),
        builder_factory=lambda: small_builder,
        loaded=load_model(None, MODEL_CACHE),
        out=again,
        work=tmp_path / "work-again",
        resume=True,
        progress_bar=False,
        log=lambda *_: None,
    )
    written = load_file(again / "adapter_model.safetensors")
    assert written.keys() == start.keys() and any(v.abs().sum() > 0 for k, v in start.items() if "lora_B" in k)
    assert all(torch.allclose(written[k].float(), start[k].float(), atol=1e-3) for k in start)
