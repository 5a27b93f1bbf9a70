"""The `handoff` tool: the shopper wants a person, so the conversation waits for a human agent.

The tool only changes the conversation's state; notifying agents (the signed webhook) and telling
the shopper's open connections is the server's job, done when it sees this tool's result.
"""

from __future__ import annotations

from pydantic import Field

from bot.assistant.conversations import Conversations
from bot.assistant.tools.base import Tool, ToolArgs, ToolResult, ToolSession
from retrieval.schema import ConversationState

HANDOFF_TOOL = "handoff"
DEFAULT_REASON = "the shopper asked for a person"


class HandoffArgs(ToolArgs):
    reason: str = Field(DEFAULT_REASON, max_length=500, description="why a person should take over")


def handoff_tool(conversations: Conversations) -> Tool:
    def run(session: ToolSession, args: HandoffArgs) -> ToolResult:
        if conversations.state(session.conversation_id) is ConversationState.bot:
            conversations.set_state(session.conversation_id, ConversationState.waiting_for_agent)
        return ToolResult(
            "A person from the shop's team has been asked to join this chat and will reply here. "
            "Tell the shopper that, in one short sentence.",
            items=[{"reason": args.reason}],
        )

    return Tool(
        name=HANDOFF_TOOL,
        description="Hand the conversation to a human agent when the shopper asks for a person or you cannot help.",
        args=HandoffArgs,
        run=run,
    )
