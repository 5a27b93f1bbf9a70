"""Intent rules pick which tool runs before the model answers (never whose data)."""

import pytest

from bot.intents import tool_for


@pytest.mark.parametrize(
    "text",
    [
        "what should I reorder?",
        "time for my regular shop - what should go in my basket?",
        "I'm running low on stuff, any ideas?",
        "can you order my usual again",
        "Recommend something I buy often",
    ],
)
def test_reorder_requests_call_the_reorder_tool(text):
    assert tool_for(text) == "suggest_reorder"


@pytest.mark.parametrize(
    "text", ["can I talk to a real person?", "connect me with an agent", "human, please", "live agent"]
)
def test_asking_for_a_person_calls_handoff(text):
    assert tool_for(text) == "handoff"


def test_asking_for_a_person_wins_over_a_reorder_request():
    assert tool_for("I want to reorder but let me talk to a person") == "handoff"


@pytest.mark.parametrize(
    "text", ["where is my order?", "is the oat milk in stock?", "what's your return policy?", "thanks!"]
)
def test_other_questions_call_no_tool(text):
    assert tool_for(text) is None
