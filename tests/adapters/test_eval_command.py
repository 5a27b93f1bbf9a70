"""`shopbot eval answers` with an adapter prints the untuned model's figures beside the tuned ones, in one run."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from tests.conftest import MODEL_CACHE

runner = CliRunner()


@pytest.fixture
def fresh_adapter(tmp_path, loaded_model):
    """A real peft adapter as `train lora` saves it, freshly initialised (its B matrices are zero)."""
    from peft import LoraConfig, get_peft_model

    from bot.inference.model import load_model

    model = get_peft_model(load_model(None, MODEL_CACHE).model, LoraConfig(r=2, target_modules=["q_proj"]))
    model.save_pretrained(tmp_path / "adapter")
    return tmp_path / "adapter"


@pytest.mark.model
def test_eval_answers_scores_tuned_and_untuned_on_the_same_cases(
    demo_dir, demo_retriever, fresh_adapter, tmp_path, monkeypatch
):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        "\n".join(
            json.dumps(c)
            for c in [
                {"id": "hi", "intent": "greeting", "customer_id": None, "turns": ["hello"], "expect_tool": "none"},
                {
                    "id": "never",
                    "intent": "price",
                    "customer_id": "C0001",
                    "turns": ["how much is the oat milk?"],
                    "expect_all": ["zzz-never-said"],
                    "expect_tool": "none",
                },
            ]
        )
        + "\n"
    )
    monkeypatch.setenv("SHOPBOT_DATA_DIR", str(demo_dir))
    monkeypatch.setenv("SHOPBOT_MODEL_CACHE_DIR", str(MODEL_CACHE))
    monkeypatch.setenv("SHOPBOT_ADAPTER_PATH", str(fresh_adapter))
    result = runner.invoke(app, ["eval", "answers", "--cases", str(cases), "--json", "--max-new-tokens", "6"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["cases"] == 2 and out["model"]["adapter"] == str(fresh_adapter)
    assert out["untuned"]["cases"] == 2 and out["untuned"]["model"]["adapter"] is None
    assert set(out["untuned"]["by_intent"]) == {"greeting", "price"}
    assert "never" in [f["id"] for f in out["failures"]]
    # a freshly initialised LoRA changes nothing: the two models must agree exactly
    assert out["accuracy"] == out["untuned"]["accuracy"]
