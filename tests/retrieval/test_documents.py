"""Policies become the sentences a policy answer quotes: every section's own sentences, never its title."""

from retrieval.documents import policy_sentence_docs, section_sentences
from retrieval.retriever import POLICY_SENTENCES
from retrieval.schema import Policy

BODY = """# Returns

We want you to be happy.

## Non-perishable items: 30 days

You can return unopened items within 30 days of delivery for a full refund. Opened items can only be
returned if they are faulty.

## Items we cannot take back

- opened personal care, cosmetics and baby formula
- gift cards

## Ways to reach us

- **Phone:** 1-800-555-0142, Monday to Friday
  8 am to 8 pm.
- **Email:** help@shop.example. We answer within one business day.
"""


def sentences():
    return [d.metadata["sentence"] for d in policy_sentence_docs([Policy(id="returns", title="Returns", body=BODY)])]


def test_each_sentence_of_a_section_is_its_own_unit_and_no_title_is_one():
    found = sentences()
    assert "You can return unopened items within 30 days of delivery for a full refund." in found
    assert "Opened items can only be returned if they are faulty." in found
    assert not any(s.startswith(("Non-perishable items", "Returns", "Ways to reach us")) for s in found)


def test_a_list_of_plain_items_reads_as_one_sentence_under_its_section():
    assert "Items we cannot take back: opened personal care, cosmetics and baby formula; gift cards." in sentences()


def test_a_bullet_that_says_something_is_a_sentence_with_its_wrapped_lines_and_without_markup():
    found = sentences()
    assert "Phone: 1-800-555-0142, Monday to Friday 8 am to 8 pm." in found
    assert "Email: help@shop.example. We answer within one business day." in found
    assert not any("**" in s for s in found)


def test_a_sentence_is_searched_with_its_policy_and_section_but_quoted_alone():
    doc = next(d for d in policy_sentence_docs([Policy(id="r", title="Returns", body=BODY)]) if "30 days" in d.text)
    assert doc.text.startswith("Returns — Non-perishable items: 30 days: ")
    assert doc.metadata["sentence"].startswith("You can return")
    assert doc.metadata["policy_title"] == "Returns" and doc.source_id == "r"


def test_a_section_without_sentences_gives_none():
    assert section_sentences("Empty", "\n\n") == []


def test_the_sentence_that_answers_a_shoppers_question_ranks_first(demo_retriever):
    asks = {
        "how long do i have to return an unopened box of pasta?": "30 days",
        "do you take american express?": "American Express",
        "whats your phone number": "1-800-555-0142",
    }
    for question, fact in asks.items():
        best = demo_retriever.search(question, POLICY_SENTENCES, 2)
        assert any(fact in h.doc.metadata["sentence"] for h in best), (question, [h.doc.text for h in best])
