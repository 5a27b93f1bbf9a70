"""Answers written from the turn's facts in fixed words, where a 135M model is the weaker writer.

A policy question is answered with the policy's own sentences, the policy named: the model, given the
right paragraph, still answered "what is your return policy?" with a section's title, and a sentence of
the shop's terms is only ever right when it is the shop's own. A complaint gets an apology, what the
policy says to do and a person offered; a request the bot cannot carry out (cancel an order, change an
address) gets the policy's steps and a person offered; an order number that is not the shopper's gets
nothing about that order, and a question about another shopper (or a claim to be one) nothing about anyone.
The model answers everything else.
"""

from __future__ import annotations

from collections.abc import Sequence

from retrieval.documents import SearchDoc

# Sentences quoted from the policy that answers: the best one, and the next best from the same policy.
POLICY_SENTENCES_SHOWN = 2
OFFER_PERSON = "Would you like me to connect you with a person from our team?"
APOLOGY = "I'm sorry about that."
CANNOT_DO = "I can't do that from this chat, but here is how:"
NO_POLICY = "I don't have an answer to that in our policies."
INJECTION = (
    "Sorry, I can't do that. I'm {shop}'s shopping assistant and can only help with your own orders, "
    "our products and our policies."
)
OTHER_DATA = "Sorry, I can't share other customers' information. I can only help with your own account."


def policy_sentences(hits: Sequence[SearchDoc]) -> list[SearchDoc]:
    """The best sentence and the next best from the same policy, in the policy's own order."""
    if not hits:
        return []
    first = hits[0]
    chosen = [first] + [d for d in hits[1:] if d.source_id == first.source_id][: POLICY_SENTENCES_SHOWN - 1]
    return sorted(chosen, key=lambda d: d.metadata.get("position", 0))


def quoted(sentences: Sequence[SearchDoc]) -> str:
    """ "From our Returns and Refunds policy: ..." (empty without sentences)."""
    if not sentences:
        return ""
    title = sentences[0].metadata.get("policy_title") or sentences[0].title
    body = " ".join(d.metadata.get("sentence", d.text) for d in sentences)
    return f"From our {title} policy: {body}"


def policy_answer(hits: Sequence[SearchDoc]) -> str:
    """A question about the shop's terms, answered with the sentences that answer it."""
    chosen = policy_sentences(hits)
    return quoted(chosen) if chosen else f"{NO_POLICY} {OFFER_PERSON}"


def complaint_answer(hits: Sequence[SearchDoc]) -> str:
    """An apology, what the policy says to do about it (where a sentence is close enough), and a person."""
    return " ".join(x for x in (APOLOGY, quoted(policy_sentences(hits)), OFFER_PERSON) if x)


def beyond_powers_answer(hits: Sequence[SearchDoc]) -> str:
    """A request only the shopper or a person can carry out: the policy's steps, and a person."""
    chosen = policy_sentences(hits)
    if not chosen:
        return f"I can't do that from this chat. {OFFER_PERSON}"
    return f"{CANNOT_DO} {quoted(chosen)} {OFFER_PERSON}"


def not_your_order(order_ids: Sequence[str]) -> str:
    """An order number that is not on the shopper's account: nothing about it, not even whether it exists."""
    named = " or ".join(f"order {n}" for n in order_ids)
    return f"I can't find {named} on your account. I can only share your own orders."
