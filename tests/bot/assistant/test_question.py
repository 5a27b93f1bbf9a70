"""What a message asks, read from its words: a deed asked of the bot, a way to reach the shop's people."""

import pytest

from bot.assistant.question import asks_how_to_reach, asks_to_have_done, question_parts


@pytest.mark.parametrize(
    "text",
    [
        "redeliver the order i missed yesterday",
        "My parcel is lost. Can you open a claim with UPS for me?",
        "pls cancel the order i just placed",
        "I need you to change the address on my delivery",
    ],
)
def test_a_deed_asked_of_the_bot_about_an_order_is_known_as_such(text):
    assert asks_to_have_done(text)


@pytest.mark.parametrize(
    "text",
    [
        "where is my refund for order 5245 please",
        "when will my refund arrive?",
        "can you tell me when my order arrives?",
        "how do I cancel an order?",
        "can you cancel the rain?",
    ],
)
def test_a_question_about_an_order_or_a_deed_about_nothing_of_the_shops_is_not(text):
    assert not asks_to_have_done(text)


def test_a_question_asking_how_to_reach_the_shop_is_known_by_its_words():
    assert asks_how_to_reach("support email?") and asks_how_to_reach("what number do I ring to call you")
    assert not asks_how_to_reach("how long do refunds take?")


def test_a_message_asking_two_things_is_split_into_its_questions():
    assert question_parts("is there a fee for late returns? and who pays the postage") == [
        "is there a fee for late returns",
        "and who pays the postage",
    ]
    assert question_parts("how long is the courier window, and when do I get a text") == [
        "how long is the courier window",
        "when do I get a text",
    ]


@pytest.mark.parametrize("text", ["return window?", "bread and milk please", "can I pay by card and PayPal?"])
def test_a_message_asking_one_thing_has_no_parts(text):
    assert question_parts(text) == []
