"""`shopbot export`: the chat model with its LoRA adapter as another engine loads it, read back with plain
transformers (offline), answering as shopbot's own model with its adapter answers."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.settings import SHIPPED_ADAPTER
from tests.conftest import MODEL_CACHE

pytestmark = pytest.mark.model

MESSAGES = [
    {"role": "system", "content": "You are the shop assistant of Green Basket Market."},
    {"role": "user", "content": "what is your return policy?"},
]


def shopbot_export(tmp_path, *args: str):
    env = {"SHOPBOT_DATA_DIR": str(tmp_path / "data"), "SHOPBOT_MODEL_CACHE_DIR": str(MODEL_CACHE)}
    return CliRunner().invoke(app, ["export", *args], env=env)


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    result = shopbot_export(folder, "--out", str(folder / "merged"))
    assert result.exit_code == 0, result.output
    return folder / "merged", json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def with_adapter():
    """shopbot's own model as the server loads it before merging: base weights and the peft adapter beside."""
    from bot.inference.model import load_model

    return load_model(None, MODEL_CACHE, adapter_path=str(SHIPPED_ADAPTER))


def load_plain(folder):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()
    return model, AutoTokenizer.from_pretrained(folder, local_files_only=True)


def logits_and_greedy(model, tokenizer, new_tokens: int = 8):
    import torch

    inputs = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        logits = model(**inputs).logits[0, -1]
        out = model.generate(**inputs, max_new_tokens=new_tokens, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    return logits, out[0, inputs["input_ids"].shape[1] :].tolist()


def test_the_merged_export_loads_offline_and_answers_as_the_model_with_its_adapter(merged, with_adapter):
    import torch

    folder, manifest = merged
    assert manifest["layout"] == "merged" and manifest["adapter"] == str(SHIPPED_ADAPTER)
    model, tokenizer = load_plain(folder)
    exported_logits, exported_tokens = logits_and_greedy(model, tokenizer)
    tuned_logits, tuned_tokens = logits_and_greedy(with_adapter.model, with_adapter.tokenizer)

    assert exported_tokens == tuned_tokens and len(exported_tokens) == 8
    torch.testing.assert_close(exported_logits, tuned_logits, atol=2e-4, rtol=1e-4)
    with with_adapter.model.disable_adapter():  # the adapter is in the weights: the base model answers otherwise
        base_logits, _ = logits_and_greedy(with_adapter.model, with_adapter.tokenizer)
    assert (exported_logits - base_logits).abs().max() > 0.05


def test_the_merged_export_carries_the_chat_template_and_the_turn_ending_tokens_for_other_engines(merged):
    folder, manifest = merged
    assert {
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "generation_config.json",
    } <= set(manifest["files"])
    model, tokenizer = load_plain(folder)
    rendered = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    assert rendered.endswith("<|im_start|>user\nwhat is your return policy?<|im_end|>\n<|im_start|>assistant\n")

    # readers that know only tokenizer_config.json (TGI, llama.cpp's converter) find the same template there
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    assert tokenizer_config["chat_template"] == tokenizer.chat_template
    assert tokenizer_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    generation = json.loads((folder / "generation_config.json").read_text())
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in generation["eos_token_id"]
    config = json.loads((folder / "config.json").read_text())
    assert config["rope_theta"] == model.config.rope_parameters["rope_theta"] == 100000.0


def test_no_merge_writes_the_base_and_the_adapter_apart_as_peft_loads_them(tmp_path, with_adapter):
    import torch
    from peft import PeftModel

    result = shopbot_export(tmp_path, "--out", str(tmp_path / "apart"), "--no-merge", "--dtype", "float32")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "apart"
    assert sorted(p.name for p in (folder / "adapter").iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
    ]
    adapter_config = json.loads((folder / "adapter" / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == str((folder / "base").resolve())

    base, tokenizer = load_plain(folder / "base")
    with with_adapter.model.disable_adapter():
        expected_base, _ = logits_and_greedy(with_adapter.model, with_adapter.tokenizer)
    torch.testing.assert_close(logits_and_greedy(base, tokenizer)[0], expected_base)
    tuned = PeftModel.from_pretrained(base, folder / "adapter").eval()
    expected, expected_tokens = logits_and_greedy(with_adapter.model, with_adapter.tokenizer)
    logits, tokens = logits_and_greedy(tuned, tokenizer)
    torch.testing.assert_close(logits, expected)
    assert tokens == expected_tokens


def test_an_export_never_writes_into_a_folder_that_holds_files(tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    result = shopbot_export(tmp_path, "--out", str(taken))
    assert result.exit_code == 1 and "not an empty folder" in result.output
    assert [p.name for p in taken.iterdir()] == ["notes.txt"]


def test_no_merge_without_an_adapter_says_there_is_none_to_keep_apart(tmp_path):
    env = {
        "SHOPBOT_DATA_DIR": str(tmp_path),
        "SHOPBOT_MODEL_CACHE_DIR": str(MODEL_CACHE),
        "SHOPBOT_USE_ADAPTER": "false",
    }
    result = CliRunner().invoke(app, ["export", "--out", str(tmp_path / "x"), "--no-merge"], env=env)
    assert result.exit_code == 1 and "no adapter is set" in result.output
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".x.partial"))


def test_an_unknown_weight_type_is_refused_with_the_choices(tmp_path):
    result = shopbot_export(tmp_path, "--out", str(tmp_path / "x"), "--dtype", "float16")
    assert result.exit_code == 1 and "float16" in result.output and "float32, bfloat16" in result.output
