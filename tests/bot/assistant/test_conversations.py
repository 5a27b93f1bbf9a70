"""Conversations in a real SQLite shop database: stored with their first message, one rating per answer (older
databases migrated), answers saved as they stream and recovered after a crash."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import inspect, select

from bot.assistant.conversations import Conversations, NotConversationOwner
from retrieval.schema import Feedback, MessageStatus
from retrieval.store import Store


def answered(conversations: Conversations, customer_id: str | None) -> tuple[str, int]:
    cid = conversations.create(customer_id)
    conversations.append(cid, "user", "is the oat milk vegan?")
    return cid, conversations.append(cid, "assistant", "Yes.")


def ratings(store: Store) -> list[tuple[int, str, str]]:
    with store.session() as s:
        return [(f.message_id, f.rating, f.comment) for f in s.scalars(select(Feedback).order_by(Feedback.id))]


def test_opening_a_named_conversation_stores_it_once_for_its_shopper(tiny_store):
    conversations = Conversations(tiny_store)
    conversations.open("a" * 32, "C1")
    conversations.open("a" * 32, "C1")  # again, e.g. after a first message that failed: no error, no second row
    assert conversations.exists("a" * 32) and conversations.messages("a" * 32, "C1") == []
    with pytest.raises(NotConversationOwner):
        conversations.open("a" * 32, "C2")


def test_rating_an_answer_again_replaces_the_rating(tiny_store):
    conversations = Conversations(tiny_store)
    cid, mid = answered(conversations, None)
    _, other = answered(conversations, "C1")
    conversations.add_feedback(mid, None, "up", "great", conversation_id=cid)
    conversations.add_feedback(mid, None, "down", "no, wrong", conversation_id=cid)
    conversations.add_feedback(other, "C1", "up", conversation_id=conversations.conversation_of(other))
    assert ratings(tiny_store) == [(mid, "down", "no, wrong"), (other, "up", "")]


def test_an_older_database_keeps_each_answers_latest_rating_and_gets_the_unique_index(tmp_path):
    path = tmp_path / "old.db"
    store = Store(f"sqlite:///{path}")
    store.create_schema()
    conversations = Conversations(store)
    cid, mid = answered(conversations, None)
    _, other = answered(conversations, None)
    with sqlite3.connect(path) as db:  # the feedback table as shopbot made it before: no unique index
        db.execute("DROP INDEX ux_feedback_message")
        db.execute("CREATE INDEX ix_feedback_message_id ON feedback (message_id)")
        rows = [(mid, "up", "first"), (other, "down", "only"), (mid, "down", "second"), (mid, "up", "latest")]
        db.executemany(
            "INSERT INTO feedback (message_id, rating, comment, created_at) VALUES (?, ?, ?, '2024-01-01')", rows
        )
    store.engine.dispose()

    again = Store(f"sqlite:///{path}")
    again.create_schema()
    assert sorted(ratings(again)) == sorted([(mid, "up", "latest"), (other, "down", "only")])
    assert any(
        i["name"] == "ux_feedback_message" and i["unique"] for i in inspect(again.engine).get_indexes("feedback")
    )
    Conversations(again).add_feedback(mid, None, "down", "changed", conversation_id=cid)
    assert sorted(ratings(again)) == sorted([(mid, "down", "changed"), (other, "down", "only")])


def test_a_streaming_answers_saved_text_becomes_interrupted_at_recovery(tiny_store):
    conversations = Conversations(tiny_store)
    cid = conversations.create("C1")
    conversations.append(cid, "user", "tell me about the oat milk")
    cut = conversations.append(cid, "assistant", "", status=MessageStatus.streaming)
    done = conversations.append(cid, "assistant", "", status=MessageStatus.streaming)
    conversations.save_partial(cut, "Barista Oat Milk is", {"sources": [{"type": "product", "id": "P1"}]})
    conversations.finish(done, "It is vegan.", status=MessageStatus.complete)
    conversations.save_partial(done, "It is")  # a save that comes late never undoes a finished answer

    assert conversations.recover_interrupted() == 1
    assert conversations.recover_interrupted() == 0
    stored = {m.id: m for m in conversations.messages(cid, "C1")}
    assert (stored[cut].status, stored[cut].content) == ("interrupted", "Barista Oat Milk is")
    assert stored[cut].meta["sources"] == [{"type": "product", "id": "P1"}]
    assert stored[cut].meta["finish_reason"] == "cancelled"
    assert (stored[done].status, stored[done].content) == ("complete", "It is vegan.")
    assert conversations.history(cid, "C1", 10)[-2] == {"role": "assistant", "content": "Barista Oat Milk is"}
