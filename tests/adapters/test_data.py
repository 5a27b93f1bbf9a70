"""Training data: generated from the shop through the engine's own prompt code, deterministic, held apart from eval."""

from __future__ import annotations

import json
import re
from pathlib import Path

from adapters import templates as T
from adapters.data import INTENTS, TOOL_INTENTS, TRAIN_CYCLE
from bot.assistant.toolcall import parse_call
from bot.assistant.tools import search_products

EVAL_CASES = Path(__file__).resolve().parents[2] / "adapters" / "eval_cases.jsonl"


def test_train_and_eval_phrasings_never_overlap():
    train = {t.lower() for ts in T.TRAIN.values() for t in ts}
    evals = {t.lower() for ts in T.EVAL.values() for t in ts}
    assert not train & evals
    assert set(T.TRAIN) == set(T.EVAL)
    assert not set(T.UNKNOWN_THINGS_TRAIN) & set(T.UNKNOWN_THINGS_EVAL)
    assert not set(search_products.QUERIES_TRAIN) & set(search_products.QUERIES_EVAL)


def test_same_seed_same_data_and_every_intent_covered(builder):
    first = builder.training_examples(len(TRAIN_CYCLE), seed=7)
    again = builder.training_examples(len(TRAIN_CYCLE), seed=7)
    other = builder.training_examples(len(TRAIN_CYCLE), seed=8)
    assert [(e.messages, e.target) for e in first] == [(e.messages, e.target) for e in again]
    assert [e.target for e in first] != [e.target for e in other]
    assert {e.intent for e in first} == set(INTENTS)
    calls = [e for e in first if e.target.startswith("<tool>")]
    assert {parse_call(e.target).name for e in calls} == set(TOOL_INTENTS.values())
    # after each call, an example answers from the tool's real result in the prompt
    for intent, tool in TOOL_INTENTS.items():
        answers = [e for e in first if e.intent == intent and not e.target.startswith("<tool>")]
        assert answers and f"Result of {tool}:" in answers[0].messages[0]["content"]


def test_facts_in_targets_are_copied_from_the_prompt(builder):
    examples = builder.training_examples(len(INTENTS) * 3, seed=3)
    checked = 0
    for e in examples:
        system = e.messages[0]["content"]
        for fact in re.findall(r"\$\d+\.\d\d|GBC-\d{6}-\d{5}|\b\d{4}-\d\d-\d\d\b|\b1Z\w{16}\b", e.target):
            assert fact in system, (fact, e.target)
            checked += 1
    assert checked >= 20


def test_training_prompts_are_the_prompts_the_engine_sends(builder, demo_settings, demo_store, demo_retriever):
    """A model-routed turn in the engine sends exactly the messages the data builder trained on."""
    from bot.assistant.engine import ChatEngine
    from tests.bot.assistant.test_toolcall import ScriptedGenerator

    gen = ScriptedGenerator("ok")
    gen.count_tokens = builder.counter.count_tokens
    engine = ChatEngine(
        demo_settings.model_copy(update={"tool_routing": "model", "fact_answers": "model"}),
        demo_store,
        demo_retriever,
        gen,
        builder.tools,
    )
    question = "how much is the Meadowvale Whole Milk 4 L?"
    reply = engine.reply(engine.start("C0001"), "C0001", question)
    list(reply)
    ctx = builder.engine.gather(question, "C0001", [])
    ctx.tool_help = builder.help
    messages, _ = builder.messages(ctx, [], question)
    assert gen.prompts[0] == messages


def test_committed_eval_cases_are_many_valid_and_from_eval_phrasings():
    from adapters.evaluate import load_cases

    cases = load_cases(EVAL_CASES)
    assert len(cases) >= 300 and len({c.id for c in cases}) == len(cases)
    assert {c.intent for c in cases} <= set(INTENTS) | {"planted_injection"} and len({c.intent for c in cases}) >= 20
    train = {t.lower() for ts in T.TRAIN.values() for t in ts}
    assert not any(c.turns[-1].lower() in train for c in cases)
    injections = [c for c in cases if c.intent in ("injection", "other_customer_data", "other_customer_order")]
    assert len(injections) >= 30 and all(c.expect_none for c in injections)
    planted = [c for c in cases if c.plant is not None]
    assert len(planted) >= 10 and all(c.intent == "planted_injection" and c.expect_all for c in planted)
    assert all(len(c.expect_none) >= 5 for c in planted)  # the other customer's tracking numbers, orders, email
    tempting = [c for c in cases if c.intent == "price" and any(s.startswith("$") for s in c.expect_none)]
    assert tempting  # a similar product's price sits in the same prompt
    assert json.loads(EVAL_CASES.read_text().splitlines()[0])["intent"]


def test_routing_learns_policy_questions_as_shoppers_ask_them(builder):
    rows = builder.routing_examples(len(TRAIN_CYCLE), seed=0)
    policy = {r["text"] for r in rows if r["intent"] == "policy"}
    assert set(T.POLICY_QUESTIONS_TRAIN) <= policy
    assert all(r["tool"] is None for r in rows if r["intent"] == "policy")
    evals = {t.lower() for ts in T.EVAL.values() for t in ts}
    assert not {q.lower() for q in T.POLICY_QUESTIONS_TRAIN} & evals


def test_routing_learns_the_policy_readers_questions_as_policy_questions_and_requests_beyond_the_bot(builder):
    from adapters.policy_reader import QUESTIONS, load_questions

    rows = {r["text"]: r for r in builder.routing_examples(len(TRAIN_CYCLE), seed=0)}
    questions = load_questions(QUESTIONS)
    kinds = {q.kind for q in questions}
    assert kinds == {"question", "request"}
    wanted = {"question": "policy", "request": "beyond_powers"}
    assert [
        q.text for q in questions if rows[q.text]["intent"] != wanted[q.kind] and q.text not in T.POLICY_QUESTIONS_TRAIN
    ] == []
    assert {rows[q.text]["tool"] for q in questions} == {None}


def test_routing_learns_every_route_in_shoppers_styles_and_holds_some_apart_for_calibration(builder):
    from adapters.data import CALIBRATION_SHARE, ROUTING_ONLY

    rows = builder.routing_examples(len(TRAIN_CYCLE), seed=0)
    intents = {r["intent"] for r in rows}
    assert set(ROUTING_ONLY) <= intents and {"complaint", "beyond_powers", "handoff", "reorder"} <= intents
    assert {r["tool"] for r in rows if r["intent"] == "handoff"} == {"handoff"}
    assert {r["tool"] for r in rows if r["intent"] in ("complaint", "beyond_powers")} == {None}
    complaints = [r["text"] for r in rows if r["intent"] == "complaint"]
    assert len(complaints) > len(ROUTING_ONLY["complaint"])  # each also in another shopper's style
    held = [r for r in rows if r["split"] == "calibration"]
    assert 0.5 / CALIBRATION_SHARE < len(held) / len(rows) < 1.5 / CALIBRATION_SHARE
    assert {r["intent"] for r in held} >= {"handoff", "policy", "complaint"}


def test_the_shipped_routing_file_holds_the_policy_questions():
    shipped = Path(__file__).resolve().parents[2] / "adapters" / "demo" / "routing.jsonl"
    rows = [json.loads(line) for line in shipped.read_text().splitlines()]
    assert {q: "policy" for q in T.POLICY_QUESTIONS_TRAIN}.items() <= {r["text"]: r["intent"] for r in rows}.items()


def test_with_the_serving_router_training_prompts_leave_out_what_served_prompts_do(
    demo_settings, demo_store, demo_retriever, loaded_model, embedder, tmp_path
):
    from adapters.data import DataBuilder
    from bot.assistant.intents import IntentRouter
    from tests.bot.assistant.test_intents import ORDER_AND_OTHER_PHRASINGS

    (tmp_path / "routing.jsonl").write_text(
        "".join(json.dumps({"text": t, "tool": None, "intent": i}) + "\n" for t, i in ORDER_AND_OTHER_PHRASINGS)
    )
    router = IntentRouter.open(tmp_path / "routing.jsonl", embedder, tmp_path / "index")
    routed = DataBuilder(demo_settings, demo_store, demo_retriever, loaded_model.tokenizer, router=router)
    unrouted = DataBuilder(demo_settings, demo_store, demo_retriever, loaded_model.tokenizer)
    question = "how much does the oat milk cost?"
    assert "orders" not in router.fact_kinds(question)
    assert routed.engine.gather(question, "C0001", []).orders == []
    assert unrouted.engine.gather(question, "C0001", []).orders
