"""Human handoff on the server side: notify agents by a signed webhook, relay agent messages live.

The `handoff` tool (bot/assistant/tools/handoff.py) only marks the conversation; everything that talks to the
outside world is here. Webhooks follow Standard Webhooks (https://www.standardwebhooks.com), so a helpdesk can
verify them with any of its libraries, and are retried in the background with exponential backoff. Failures are
logged and counted, never raised: a broken helpdesk must not break the shopper's chat.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

import httpx

from bot.assistant.conversations import Conversations
from bot.settings import Settings
from retrieval.schema import ConversationState
from server.hub import Hub
from server.metrics import Metrics
from server.protocol import AgentMessage, HandoffEvent, history_messages

log = logging.getLogger(__name__)
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
EVENT_HEADER = "X-Shopbot-Event"
SIGNATURE_HEADER = "X-Shopbot-Signature"  # the body-only signature receivers built before Standard Webhooks check
SECRET_PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """The HMAC key: a Standard Webhooks secret (`whsec_` + base64) is the bytes it encodes, any other its UTF-8."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode()
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError(
            "SHOPBOT_HANDOFF_WEBHOOK_SECRET starts with whsec_ but the rest is not base64: "
            "use whsec_ and the base64 of a random key, or a secret without that prefix"
        ) from None


def standard_signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`."""
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign(secret: str, body: bytes) -> str:
    """The `X-Shopbot-Signature` value: hex HMAC-SHA256 of the exact body bytes (no id or time: replayable)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


class Webhook:
    """Delivers events to the helpdesk: each one signed, and retried under the same `webhook-id`.

    Each try is signed afresh with the time it is sent, since receivers refuse old timestamps; the unchanged id
    lets them drop a delivery they already have.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        timeout_s: float,
        metrics: Metrics,
        attempts: int = 5,
        retry_delay_s: float = 1.0,
    ) -> None:
        self.url = url
        self.secret = secret
        self.key = signing_key(secret)
        self.timeout_s = timeout_s
        self.metrics = metrics
        self.attempts = attempts
        self.retry_delay_s = retry_delay_s
        self._client: httpx.AsyncClient | None = None
        self._pending: set[asyncio.Task] = set()

    @classmethod
    def from_settings(cls, settings: Settings, metrics: Metrics) -> Webhook:
        s = settings
        return cls(
            s.handoff_webhook_url,
            s.handoff_webhook_secret,
            s.webhook_timeout_s,
            metrics,
            attempts=s.webhook_attempts,
            retry_delay_s=s.webhook_retry_delay_s,
        )

    def send(self, event: str, payload: dict[str, Any]) -> None:
        """POST in the background; the chat does not wait for the helpdesk."""
        if not self.url:
            return
        task = asyncio.create_task(self._deliver(event, {"event": event, **payload}))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def headers(self, event: str, webhook_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        timestamp = int(time.time()) if timestamp is None else timestamp
        return {
            "Content-Type": "application/json",
            ID_HEADER: webhook_id,
            TIMESTAMP_HEADER: str(timestamp),
            STANDARD_SIGNATURE_HEADER: standard_signature(self.key, webhook_id, timestamp, body),
            EVENT_HEADER: event,
            SIGNATURE_HEADER: sign(self.secret, body),
        }

    async def _deliver(self, event: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        webhook_id = f"msg_{uuid.uuid4().hex}"
        delay = self.retry_delay_s
        for attempt in range(1, self.attempts + 1):
            failure, retryable = await self._try(event, webhook_id, body)
            if failure is None:
                return
            if not retryable or attempt == self.attempts:
                break
            self.metrics.webhook_retries.inc()
            log.info(
                "handoff webhook %s to %s failed (%s); try %d in %.1f s",
                webhook_id,
                self.url,
                failure,
                attempt + 1,
                delay,
            )
            await asyncio.sleep(delay)
            delay *= 2
        self.metrics.webhook_failures.inc()
        log.warning(
            "handoff webhook %s %s to %s failed after %d tries: %s", event, webhook_id, self.url, attempt, failure
        )

    async def _try(self, event: str, webhook_id: str, body: bytes) -> tuple[str | None, bool]:
        """One POST: (None, _) when delivered, else what went wrong and whether another try may succeed."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
        try:
            response = await self._client.post(self.url, content=body, headers=self.headers(event, webhook_id, body))
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}", True
        if response.is_success:
            return None, False
        return f"HTTP {response.status_code}", _retryable(response.status_code)

    async def aclose(self) -> None:
        """Give deliveries in flight `timeout_s` to finish; those still waiting to retry then are dropped."""
        if self._pending:
            _, late = await asyncio.wait(set(self._pending), timeout=self.timeout_s)
            for task in late:
                task.cancel()
            if late:
                log.warning("%d handoff webhooks were still undelivered at shutdown", len(late))
                await asyncio.wait(late, timeout=1)
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
