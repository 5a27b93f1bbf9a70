"""Human handoff on the server side: notify agents by a signed webhook, relay agent messages live.

The `handoff` tool (bot/assistant/tools/handoff.py) only marks the conversation; everything that talks to the
outside world is here. Webhook failures are logged and counted, never raised: a broken helpdesk
must not break the shopper's chat.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import Any

import httpx

from bot.assistant.conversations import Conversations
from retrieval.schema import ConversationState
from server.hub import Hub
from server.metrics import Metrics
from server.protocol import AgentMessage, HandoffEvent, history_messages

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Shopbot-Signature"
EVENT_HEADER = "X-Shopbot-Event"


def sign(secret: str, body: bytes) -> str:
    """The signature header value: hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Webhook:
    def __init__(self, url: str, secret: str, timeout_s: float, metrics: Metrics) -> None:
        self.url = url
        self.secret = secret
        self.timeout_s = timeout_s
        self.metrics = metrics
        self._client: httpx.AsyncClient | None = None
        self._pending: set[asyncio.Task] = set()

    def send(self, event: str, payload: dict[str, Any]) -> None:
        """POST in the background; the chat does not wait for the helpdesk."""
        if not self.url:
            return
        task = asyncio.create_task(self._post(event, {"event": event, **payload}))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _post(self, event: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", EVENT_HEADER: event, SIGNATURE_HEADER: sign(self.secret, body)}
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self.metrics.webhook_failures.inc()
            log.warning("handoff webhook %s to %s failed: %s", event, self.url, exc)

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=self.timeout_s)
        if self._client is not None:
            await self._client.aclose()


class HandoffDesk:
    """Moves conversations between the bot and people, and tells both sides."""

    def __init__(self, conversations: Conversations, hub: Hub, webhook: Webhook, metrics: Metrics) -> None:
        self.conversations = conversations
        self.hub = hub
        self.webhook = webhook
        self.metrics = metrics

    async def requested(self, conversation_id: str, customer_id: str | None, reason: str) -> None:
        self.metrics.handoffs.inc()
        await self.hub.publish(
            HandoffEvent(
                conversation_id=conversation_id, state=ConversationState.waiting_for_agent.value, reason=reason
            )
        )
        transcript = await asyncio.to_thread(self.conversations.transcript, conversation_id)
        self.webhook.send(
            "handoff_requested",
            {
                "conversation_id": conversation_id,
                "customer_id": customer_id,
                "reason": reason,
                "messages": [m.model_dump() for m in history_messages(transcript)],
            },
        )

    async def forward(self, conversation_id: str, customer_id: str | None, text: str) -> int:
        """A shopper message while a person holds the conversation: stored and passed on, not answered."""
        message_id = await asyncio.to_thread(self.conversations.append, conversation_id, "user", text)
        self.webhook.send(
            "shopper_message",
            {"conversation_id": conversation_id, "customer_id": customer_id, "message_id": message_id, "text": text},
        )
        return message_id

    async def agent_message(self, conversation_id: str, text: str, agent_name: str | None) -> int:
        previous = await asyncio.to_thread(self.conversations.state, conversation_id)
        message_id = await asyncio.to_thread(
            self.conversations.append, conversation_id, "agent", text, meta={"agent_name": agent_name}
        )
        if previous is not ConversationState.agent:
            await asyncio.to_thread(self.conversations.set_state, conversation_id, ConversationState.agent)
            await self.hub.publish(HandoffEvent(conversation_id=conversation_id, state=ConversationState.agent.value))
        await self.hub.publish(
            AgentMessage(conversation_id=conversation_id, message_id=message_id, text=text, agent_name=agent_name)
        )
        return message_id

    async def release(self, conversation_id: str) -> None:
        await asyncio.to_thread(self.conversations.set_state, conversation_id, ConversationState.bot)
        await self.hub.publish(HandoffEvent(conversation_id=conversation_id, state=ConversationState.bot.value))
