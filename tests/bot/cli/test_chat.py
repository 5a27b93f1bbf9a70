"""The terminal chat, end to end in a subprocess: piped questions in, streamed answers and sources out."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import MODEL_CACHE, seed_routing_index

SHOPBOT = Path(sys.executable).with_name("shopbot")


def run_chat(tmp_path: Path, stdin: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    seed_routing_index(tmp_path)
    env = {
        **os.environ,
        "SHOPBOT_DATA_DIR": str(tmp_path),
        "SHOPBOT_MODEL_CACHE_DIR": str(MODEL_CACHE),
        "SHOPBOT_MAX_NEW_TOKENS": "12",
        "COLUMNS": "200",
        **(env or {}),
    }
    return subprocess.run(
        [str(SHOPBOT), "chat", *args], input=stdin, capture_output=True, text=True, env=env, timeout=300
    )


def test_piped_chat_answers_a_signed_in_customer_from_their_order(tiny_store, tmp_path):
    result = run_chat(tmp_path, "where is my order?\n", "--customer", "C1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("bot> ") and len(result.stdout.strip()) > len("bot>")
    assert "order 1042 (Order 1042)" in result.stderr
    assert "tokens/s" in result.stderr


def test_piped_chat_keeps_history_across_lines_and_reset(tiny_store, tmp_path):
    result = run_chat(tmp_path, "how much is the oat milk?\n/reset\nthanks\n/quit\nnever asked\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("bot> ") == 2  # /quit stops before the last line
    assert "new conversation" in result.stderr
    from bot.assistant.conversations import Conversations
    from retrieval.schema import Conversation

    with tiny_store.session() as s:
        ids = [c.id for c in s.query(Conversation).order_by(Conversation.created_at)]
    assert len(ids) == 2
    assert [len(Conversations(tiny_store).messages(i, None)) for i in ids] == [2, 2]


def test_unknown_customer_is_refused_with_a_clear_error(tiny_store, tmp_path):
    result = run_chat(tmp_path, "hi\n", "--customer", "C404")
    assert result.returncode == 1
    assert "unknown customer 'C404'" in result.stderr
    assert not (tmp_path / "index" / "products").exists()  # refused before any index or the model was loaded


def test_where_is_my_order_over_the_demo_shop(demo_dir, demo_store):
    newest = demo_store.customer_orders("C0001", limit=1)[0]
    result = run_chat(demo_dir, "where is my order?\n", "--customer", "C0001")
    assert result.returncode == 0, result.stderr
    assert f"order {newest.id} (Order {newest.id})" in result.stderr
    others = {o.id for o in demo_store.customer_orders("C0002")}
    assert not any(f"order {i} " in result.stderr for i in others)


def test_what_should_i_reorder_calls_the_tool_and_lists_items_with_reasons(demo_dir, demo_store):
    env = {"SHOPBOT_SHOP_NOW": "2026-11-20T12:00:00"}
    result = run_chat(demo_dir, "what should I reorder?\n", "--customer", "C0001", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "[suggest_reorder]"
    reorder = [line for line in lines if line.startswith("  reorder: ")]
    assert reorder and all(": you " in line for line in reorder)
    bought = {pid for _, _, pid in demo_store.purchase_rows("C0001")}
    assert all(re.search(r"\((P\d+)\): ", line).group(1) in bought for line in reorder)
    assert any(line.startswith("bot> ") for line in lines)


def test_an_anonymous_visitor_asking_to_reorder_gets_no_purchase_history(demo_dir):
    result = run_chat(demo_dir, "what should I reorder?\n")
    assert result.returncode == 0, result.stderr
    assert "reorder: " not in result.stdout


def test_left_to_the_tuned_model_tag_questions_are_answered_from_the_verdict_in_its_prompt(demo_dir):
    """`attribute_answers=model`: without the tags' verdict stated in the prompt the shipped adapter said
    "not listed as ..." to all three (the products carry the tags)."""
    questions = [
        "I'm shopping gluten-free. Is the Whole Milk ok for me?",
        "I only buy gluten-free food. Does the Living Leaf Pure Coconut Water qualify?",
        "is Casa Rustica Vodka Sauce vegetarian or not",
    ]
    result = run_chat(demo_dir, "\n/reset\n".join(questions) + "\n", env={"SHOPBOT_ATTRIBUTE_ANSWERS": "model"})
    assert result.returncode == 0, result.stderr
    answers = [line.lower() for line in result.stdout.splitlines() if line.startswith("bot> ")]
    assert len(answers) == 3 and "tokens/s" in result.stderr  # the model answered
    assert sum("yes" in a and "not" not in a for a in answers) >= 2, answers
