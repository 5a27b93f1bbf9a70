"""The shoppers' evaluation set (adapters/eval_shoppers.jsonl): written apart from the training phrasings, in
shoppers' own styles, with every kind of question the bot must answer."""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

from adapters import templates as T
from adapters.data import ROUTING_ONLY
from adapters.evaluate import load_cases
from adapters.policy_reader import QUESTIONS, load_questions
from bot.settings import PROJECT_ROOT

CASES = PROJECT_ROOT / "adapters" / "eval_shoppers.jsonl"
FLOORS = {"policy": 70, "handoff": 20, "complaint": 10, "reorder": 30, "beyond_powers": 30}
# a turn this close to a training phrasing (difflib ratio, lower-cased, placeholders dropped) is a copy of it
TOO_CLOSE = 0.85


def normal(text: str) -> str:
    return " ".join(re.sub(r"\{[a-z_]+\}|[^a-z0-9' ]", " ", text.lower()).split())


def training_phrasings() -> list[str]:
    phrasings = [t for ts in T.TRAIN.values() for t in ts] + list(T.POLICY_QUESTIONS_TRAIN)
    phrasings += [t for ts in ROUTING_ONLY.values() for t in ts]
    phrasings += [q.text for q in load_questions(QUESTIONS)]
    return sorted({normal(t) for t in phrasings if normal(t)})


def test_the_set_is_large_and_covers_every_kind_the_bot_must_answer():
    cases = load_cases(Path(CASES))
    kinds = Counter(c.intent for c in cases)
    assert len(cases) >= 450 and len({c.id for c in cases}) == len(cases)
    assert [kind for kind, floor in FLOORS.items() if kinds[kind] < floor] == []
    assert kinds["handoff"] + kinds["complaint"] >= 30
    assert sum(len(c.turns) > 1 for c in cases) >= 40
    assert sum(c.customer_id is None for c in cases) >= 40


def test_every_policy_is_the_source_of_expected_facts():
    """Each policy's own words are what some policy cases expect (a fact only that policy states)."""
    folder = PROJECT_ROOT / "retrieval" / "demo" / "data" / "policies"
    texts = {p.stem: p.read_text(encoding="utf-8").lower() for p in folder.glob("*.md")}
    sourced = Counter()
    for case in load_cases(Path(CASES)):
        if case.intent != "policy":
            continue
        expected = [s.lower() for s in case.expect_all + case.expect_any if len(s) >= 4]
        holders = {name for name, text in texts.items() if any(s in text for s in expected)}
        if len(holders) == 1:
            sourced[holders.pop()] += 1
    assert {name: sourced[name] >= 2 for name in texts} == dict.fromkeys(texts, True), sourced


def test_no_turn_is_a_training_phrasing_or_close_to_one():
    train = training_phrasings()
    close = []
    for case in load_cases(Path(CASES)):
        for turn in case.turns:
            text = normal(turn)
            matcher = SequenceMatcher(None, text)
            for phrasing in train:
                matcher.set_seq1(phrasing)
                if matcher.real_quick_ratio() >= TOO_CLOSE and matcher.quick_ratio() >= TOO_CLOSE:
                    if matcher.ratio() >= TOO_CLOSE:
                        close.append((case.id, turn, phrasing))
    assert close == []
