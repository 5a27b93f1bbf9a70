"""Answers in fixed words from the turn's facts: a policy's own sentences, a complaint's apology, what the bot
cannot do and who can, and nothing at all about an order that is not the shopper's."""

from bot.assistant.answers import (
    OFFER_PERSON,
    beyond_powers_answer,
    complaint_answer,
    not_your_order,
    policy_answer,
    policy_sentences,
)
from retrieval.documents import SearchDoc


def sentence(policy, n, text, title="Returns and Refunds"):
    return SearchDoc(
        id=f"{policy}.{n}",
        source_id=policy,
        kind="policy_sentence",
        title=f"{title} — a section",
        text=f"{title} — a section: {text}",
        metadata={"sentence": text, "policy_title": title, "position": n},
    )


THIRTY_DAYS = sentence("returns", 2, "You can return unopened items within 30 days of delivery for a full refund.")
OPENED = sentence("returns", 4, "Opened items can only be returned if they are faulty or damaged.")
PHONE = sentence("contact", 3, "Phone: 1-800-555-0142.", title="Contact Us")


def test_a_policy_answer_quotes_the_best_sentence_and_the_next_from_the_same_policy_naming_it():
    answer = policy_answer([OPENED, PHONE, THIRTY_DAYS])
    assert answer == (
        "From our Returns and Refunds policy: You can return unopened items within 30 days of delivery for a full "
        "refund. Opened items can only be returned if they are faulty or damaged."
    )
    assert "Phone" not in answer and "a section" not in answer


def test_another_policy_that_answers_as_well_is_quoted_after_the_first_each_policy_named():
    answer = policy_answer([THIRTY_DAYS, PHONE, OPENED], also=[PHONE])
    assert answer == (
        "From our Returns and Refunds policy: You can return unopened items within 30 days of delivery for a full "
        "refund. Opened items can only be returned if they are faulty or damaged. "
        "From our Contact Us policy: Phone: 1-800-555-0142."
    )


def test_sentences_are_quoted_in_the_policys_own_order():
    assert [d.id for d in policy_sentences([OPENED, THIRTY_DAYS])] == ["returns.2", "returns.4"]


def test_without_an_answering_sentence_a_person_is_offered_and_nothing_is_made_up():
    assert policy_answer([]) == f"I don't have an answer to that in our policies. {OFFER_PERSON}"


def test_a_complaint_gets_an_apology_what_the_policy_says_and_a_person_offered():
    answer = complaint_answer([OPENED])
    assert answer.startswith("I'm sorry about that.") and "faulty or damaged" in answer
    assert answer.endswith(OFFER_PERSON)
    assert complaint_answer([]) == f"I'm sorry about that. {OFFER_PERSON}"


def test_a_request_the_bot_cannot_carry_out_gets_the_steps_and_a_person_never_a_claim_it_was_done():
    answer = beyond_powers_answer([THIRTY_DAYS])
    assert answer.startswith("I can't do that from this chat, but here is how:") and "30 days" in answer
    assert answer.endswith(OFFER_PERSON)
    assert "I've" not in answer


def test_an_order_that_is_not_the_shoppers_gets_nothing_about_it():
    assert not_your_order(["5245"]) == "I can't find order 5245 on your account. I can only share your own orders."
    assert not_your_order(["5245", "5246"]).startswith("I can't find order 5245 or order 5246 on your account.")


def test_a_tracking_number_is_given_only_for_an_order_that_has_left():
    from bot.assistant.answers import tracking_answer
    from retrieval.store import OrderView

    def order(status):
        return OrderView("5302", "2026-11-20 09:00", status, "UPS", "1Z9", None, None, ())

    assert tracking_answer(order("shipped")) == "The tracking number for order 5302 is 1Z9 (UPS)."
    assert tracking_answer(order("placed")) == "Order 5302 is placed, so it has no tracking number yet."
    assert tracking_answer(order("refunded")) == "Order 5302 was refunded, so there is nothing to track."


FREE_LABEL = sentence("returns", 6, "If the return is our mistake, the return label is free.")
PAID_LABEL = sentence("returns", 7, "Otherwise a $4.95 prepaid label is deducted from your refund.")
SECTION = {d.metadata["position"]: d for d in (THIRTY_DAYS, OPENED, FREE_LABEL, PAID_LABEL)}


def beside(doc, step):
    return SECTION.get(doc.metadata["position"] + step)


def test_a_sentence_that_leans_on_the_one_before_is_quoted_with_it_and_the_other_way_round():
    assert [d.id for d in policy_sentences([PAID_LABEL], beside)] == ["returns.6", "returns.7"]
    assert [d.id for d in policy_sentences([FREE_LABEL], beside)] == ["returns.6", "returns.7"]
    assert [d.id for d in policy_sentences([THIRTY_DAYS], beside)] == ["returns.2"]


def test_a_request_beyond_the_bot_says_how_to_reach_the_shops_people_where_the_shop_says():
    answer = beyond_powers_answer([THIRTY_DAYS], "our team on 1-800-555-0142")
    assert "You can also reach our team on 1-800-555-0142." in answer and answer.endswith(OFFER_PERSON)
    assert "reach" not in beyond_powers_answer([THIRTY_DAYS], "")


def test_the_answer_to_each_question_of_a_message_asking_two_is_quoted_once():
    chosen = policy_sentences([THIRTY_DAYS, PHONE], also=[OPENED, THIRTY_DAYS])
    assert [d.id for d in chosen] == ["returns.2", "returns.4"]
