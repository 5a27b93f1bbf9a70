"""The `handoff` tool: the shopper wants a person, so the conversation waits for a human agent.

The tool only changes the conversation's state; notifying agents (the signed webhook) and telling
the shopper's open connections is the server's job, done when it sees this tool's `Effect.HANDOFF`.
Its phrases call it under rule routing, and so does the router above a threshold calibrated to be nearly
always right: a wrong call would pause the bot for a shopper who did not ask for anyone.
"""

from __future__ import annotations

import re

from pydantic import Field

from bot.assistant.conversations import Conversations
from bot.assistant.tools import register
from bot.assistant.tools.base import Effect, Route, Tool, ToolArgs, ToolResult, ToolSession, ToolSpec, Training
from retrieval.schema import ConversationState

NAME = "handoff"
DEFAULT_REASON = "the shopper asked for a person"
DONE = "I've asked a person from our team to join this chat. They will reply here shortly."

PHRASES = re.compile(
    r"\b(talk|speak|chat|connect|transfer|put) (me )?(to|with) (a |an |some|the )?(real |actual |live )?"
    r"(person|human|agent|people|representative|rep|someone|somebody|staff|operator)\b|"
    r"\b(real|live|actual) (person|human|agent)\b|\bcustomer service (rep|representative|agent)\b|"
    r"\b(human|agent|representative),? please\b|"
    r"\b(escalate (this|it|me|my)|escalated to)\b|\bone of your (people|staff|team|employees|agents)\b|"
    r"\b(get|find) me (somebody|someone|a person|a human|an agent)\b|\b(pick up|take over) (the|this) chat\b|"
    r"\b(have|let|get) (a|an|one of your) (representative|agent|person|human|employee|staff member)\b|"
    r"^\W*(a |an |some )?(real |live )?(human|person|agent|representative|operator|somebody|someone)\b\W*(now|please|pls)?\W*$",
    re.IGNORECASE,
)


class HandoffArgs(ToolArgs):
    reason: str = Field(DEFAULT_REASON, max_length=500, description="why a person should take over")


def handoff_tool(conversations: Conversations | None) -> Tool:
    """`conversations` None: nothing is written (the training-data builder plays the call through)."""

    def run(session: ToolSession, args: HandoffArgs) -> ToolResult:
        if conversations is not None and conversations.state(session.conversation_id) is ConversationState.bot:
            conversations.set_state(session.conversation_id, ConversationState.waiting_for_agent)
        return ToolResult(
            "A person from the shop's team has been asked to join this chat and will reply here. "
            "Tell the shopper that, in one short sentence.",
            items=[{"reason": args.reason}],
        )

    return SPEC.with_run(run)


SPEC = register(
    ToolSpec(
        name=NAME,
        description="Hand the conversation to a human agent when the shopper asks for a person or you cannot help.",
        args=HandoffArgs,
        build=lambda deps: handoff_tool(deps.conversations),
        returns=("the conversation waits for a human agent"),
        # asking for a person wins over everything else
        route=Route(intent="handoff", pattern=PHRASES, priority=0, classifier=True, precision=0.95, facts=frozenset()),
        effect=Effect.HANDOFF,
        reply=DONE,
        training=Training(
            train=(
                "I want to talk to a person",
                "can I speak to a human?",
                "get me a real agent",
                "connect me with customer service",
                "Please transfer me to a representative.",
                "human please",
                "this isn't working, I need a real person",
                "is there a real person I can talk to?",
                "agent please",
                "I'd like to speak to a manager.",
                "put me through to customer support",
                "let me chat with a human",
                "hi, can a person help me instead of a bot?",
                "you're not helping. get me a human asap",
                "Excuse me, how do I reach a customer service representative?",
                "transfer me to support please",
                "I need to speak to a real human, thanks",
                "operator",
                "Could you connect me to a support advisor?",
                "I want a human, not a chatbot",
                "talk to person",
                "Please escalate this to a human.",
                "can i get a real person on the line",
                "I don't want to talk to a bot. Real person please.",
                "get me customer care",
            ),
            eval=(
                "I'd rather speak with someone from your staff.",
                "let me talk to an actual human being",
                "Can a live agent help me instead?",
            ),
            call=lambda _subject: {"reason": DEFAULT_REASON},
            answer=lambda _result, _subject: DONE,
        ),
    )
)
