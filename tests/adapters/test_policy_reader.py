"""The policy reader: shoppers' questions, each naming the policy sentence that answers it, tune a LoRA of the
embedder that the server searches policy sentences with."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from adapters.policy_reader import QUESTIONS, ReaderConfig, load_questions, train_reader, training_pairs
from retrieval.embeddings import bundled_embedder_path, load_embedder


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


GOOD = {
    "policy": "returns",
    "sentence": "Unopened items can be returned.",
    "text": "can i send back pasta",
    "kind": "question",
}


@pytest.mark.parametrize(
    ("row", "named"),
    [
        ("{not json", "2: not JSON"),
        ({**GOOD, "text": ""}, "2: needs a non-empty text"),
        ({k: v for k, v in GOOD.items() if k != "sentence"}, "2: needs a non-empty sentence"),
        ({**GOOD, "kind": "order"}, "2: kind must be one of question, request, not 'order'"),
    ],
)
def test_a_bad_question_row_is_refused_naming_its_line_and_what_is_wrong(tmp_path, row, named):
    path = write(tmp_path / "q.jsonl", [GOOD, row])
    with pytest.raises(ValueError, match=named):
        load_questions(path)


def test_a_question_whose_sentence_is_not_in_its_policy_is_refused_naming_it(tmp_path, demo_store):
    path = write(tmp_path / "q.jsonl", [{**GOOD, "policy": "returns-and-refunds"}])
    with pytest.raises(ValueError, match="1 questions name a sentence their policy does not have.*returns-and-refunds"):
        training_pairs(load_questions(path), demo_store.policies())


def test_the_shipped_questions_each_name_a_demo_policy_sentence_and_cover_every_policy(demo_store):
    questions = load_questions(QUESTIONS)
    pairs = training_pairs(questions, demo_store.policies())
    assert len(pairs) == len(questions) >= 500
    by_policy = Counter(q.policy for q in questions)
    assert set(by_policy) == {p.id for p in demo_store.policies()} and min(by_policy.values()) >= 40
    assert {q.kind for q in questions} == {"question", "request"}


def test_a_trained_reader_is_saved_loads_with_its_own_fingerprint_and_moves_the_vectors(tmp_path, demo_store):
    pairs = training_pairs(load_questions(QUESTIONS), demo_store.policies())[::40]
    lines = []
    config = ReaderConfig(epochs=3, rank=4, learning_rate=1e-3)
    report = train_reader(pairs, bundled_embedder_path(), tmp_path / "reader", config, lines.append)
    assert sorted(p.name for p in (tmp_path / "reader").iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
        "reader_report.json",
    ]
    assert report["pairs"] == len(pairs) and lines[0].startswith("epoch 1/3")
    assert report["loss_by_epoch"][-1] < report["loss_by_epoch"][0]
    plain, reader = load_embedder("all-MiniLM-L6-v2"), load_embedder("all-MiniLM-L6-v2", tmp_path / "reader")
    assert plain.fingerprint != reader.fingerprint
    question = pairs[0][0]
    assert float(plain.embed([question])[0] @ reader.embed([question])[0]) < 0.999


def test_a_missing_reader_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="adapter_model.safetensors"):
        load_embedder("all-MiniLM-L6-v2", tmp_path)


def test_the_reader_evaluation_scores_the_policy_cases_a_sentence_can_answer(demo_retriever):
    from adapters.evaluate import AnswerCase
    from adapters.policy_reader import evaluate_reader

    def case(cid, text, words, intent="policy"):
        return AnswerCase(id=cid, customer_id=None, turns=[text], expect_any=words, intent=intent)

    cases = [
        case("unopened", "if a tin of beans is still sealed how many days do i have to bring it back", ["30 days"]),
        case("express", "how much is the express option", ["$12.99"]),
        case("unanswerable", "do you price match", ["price match guarantee"]),
        case("a product", "oat milk price", ["$3.49"], intent="price"),
    ]
    result = evaluate_reader(demo_retriever, cases)
    assert result["cases"] == 2 and result["found_first"] == result["quoted"] == 1.0 and result["misses"] == []


def test_a_reader_tuned_for_another_embedder_is_refused_naming_both(tmp_path):
    from bot.settings import POLICY_READER_DIR, SHIPPED_ADAPTER

    shipped = SHIPPED_ADAPTER / POLICY_READER_DIR
    (tmp_path / "adapter_config.json").write_text(
        (shipped / "adapter_config.json").read_text().replace('"all-MiniLM-L6-v2"', '"all-mpnet-base-v2"')
    )
    (tmp_path / "adapter_model.safetensors").write_bytes((shipped / "adapter_model.safetensors").read_bytes())
    with pytest.raises(ValueError, match="tuned for the embedder 'all-mpnet-base-v2', not 'all-MiniLM-L6-v2'"):
        load_embedder("all-MiniLM-L6-v2", tmp_path)
