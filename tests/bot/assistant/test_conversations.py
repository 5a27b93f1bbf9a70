"""Conversations in a real shop database, SQLite and PostgreSQL: stored with their first message, one rating per
answer (older databases migrated), answers saved as they stream and recovered after a crash."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest
from sqlalchemy import inspect, select

from bot.assistant.conversations import Conversations, NotConversationOwner
from retrieval import migrations
from retrieval.schema import Feedback, MessageStatus
from retrieval.store import Store
from tests.pg import on_both_stores


def answered(conversations: Conversations, customer_id: str | None) -> tuple[str, int]:
    cid = conversations.create(customer_id)
    conversations.append(cid, "user", "is the oat milk vegan?")
    return cid, conversations.append(cid, "assistant", "Yes.")


def ratings(store: Store) -> list[tuple[int, str, str]]:
    with store.session() as s:
        return [(f.message_id, f.rating, f.comment) for f in s.scalars(select(Feedback).order_by(Feedback.id))]


@on_both_stores
def test_opening_a_named_conversation_stores_it_once_for_its_shopper(tiny_store):
    conversations = Conversations(tiny_store)
    conversations.open("a" * 32, "C1")
    conversations.open("a" * 32, "C1")  # again, e.g. after a first message that failed: no error, no second row
    assert conversations.exists("a" * 32) and conversations.messages("a" * 32, "C1") == []
    with pytest.raises(NotConversationOwner):
        conversations.open("a" * 32, "C2")


@on_both_stores
def test_rating_an_answer_again_replaces_the_rating(tiny_store):
    conversations = Conversations(tiny_store)
    cid, mid = answered(conversations, None)
    _, other = answered(conversations, "C1")
    conversations.add_feedback(mid, None, "up", "great", conversation_id=cid)
    conversations.add_feedback(mid, None, "down", "no, wrong", conversation_id=cid)
    conversations.add_feedback(other, "C1", "up", conversation_id=conversations.conversation_of(other))
    assert ratings(tiny_store) == [(mid, "down", "no, wrong"), (other, "up", "")]


def test_a_database_made_before_migrations_keeps_each_answers_latest_rating_and_gets_the_unique_index(tmp_path):
    path = tmp_path / "old.db"
    store = Store(f"sqlite:///{path}")
    store.create_schema()
    conversations = Conversations(store)
    cid, mid = answered(conversations, None)
    _, other = answered(conversations, None)
    with sqlite3.connect(path) as db:  # the tables as shopbot made them before migrations: no unique index
        db.execute("DROP TABLE alembic_version")
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


@on_both_stores
def test_upgrading_from_the_revision_before_one_rating_per_answer_keeps_each_answers_latest_rating(store_url):
    store = Store(store_url)
    migrations.upgrade(store.engine, "0002")  # ratings were rows of their own then, any number per answer
    cid, mid = answered(Conversations(store), None)
    _, other = answered(Conversations(store), None)
    rows = [(mid, "up", "first"), (other, "down", "only"), (mid, "down", "latest")]
    with store.engine.begin() as connection:
        connection.execute(
            Feedback.__table__.insert(),
            [{"message_id": m, "rating": r, "comment": c, "created_at": datetime(2026, 11, 30)} for m, r, c in rows],
        )

    store.create_schema()
    assert store.schema_revision() == migrations.HEAD
    assert sorted(ratings(store)) == sorted([(mid, "down", "latest"), (other, "down", "only")])
    Conversations(store).add_feedback(mid, None, "up", "changed", conversation_id=cid)
    assert sorted(ratings(store)) == sorted([(mid, "up", "changed"), (other, "down", "only")])
    store.engine.dispose()


@on_both_stores
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
