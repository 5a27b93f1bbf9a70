"""Answers written from the turn's facts in fixed words, where a 135M model is the weaker writer.

A policy question is answered with the policy's own sentences, the policy named: the model, given the
right paragraph, still answered "what is your return policy?" with a section's title, and a sentence of
the shop's terms is only ever right when it is the shop's own. A complaint gets an apology, what the
policy says to do and a person offered; a request the bot cannot carry out (cancel an order, change an
address) gets the policy's steps and a person offered; an order number that is not the shopper's gets
nothing about that order, and a question about another shopper (or a claim to be one) nothing about anyone.
A dietary question is answered from the product's tags, and a follow-up resolved to one product or order
(bot/assistant/subject.py) from its catalog line or order record: the model, given both sizes of a product,
quoted the other size's price. The model answers everything else.

The order and product sentences are also the adapter's training targets (adapters/data.py), so the model and
the fixed answers say the same thing the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.assistant.prompt import format_price, listing
from retrieval.documents import SearchDoc
from retrieval.retriever import Hit
from retrieval.schema import Product
from retrieval.store import OrderView

# A sentence that only makes sense after the one before it.
LEANS_BACK = re.compile(r"(Otherwise|However|But|This|That|These|Those|It|They|Then)\b")
Beside = Callable[[SearchDoc, int], SearchDoc | None]
# Sentences quoted from the policy that answers: the best one, and the next best two from the same policy.
POLICY_SENTENCES_SHOWN = 3
# Another policy's sentence among the first `POLICY_TIES_READ` is quoted too where it is within this much (cosine)
# of the best: two policies that both answer ("how long does a refund take?": returns and substitutions).
POLICY_TIE = 0.05
POLICY_TIES_READ = 3
OFFER_PERSON = "Would you like me to connect you with a person from our team?"
APOLOGY = "I'm sorry about that."
CANNOT_DO = "I can't do that from this chat, but here is how:"
NO_POLICY = "I don't have an answer to that in our policies."
NOT_SOLD = "Sorry, we don't sell that. I'm happy to help you find something else in our shop."
INJECTION = (
    "Sorry, I can't do that. I'm {shop}'s shopping assistant and can only help with your own orders, "
    "our products and our policies."
)
OTHER_DATA = "Sorry, I can't share other customers' information. I can only help with your own account."


def policy_sentences(
    hits: Sequence[SearchDoc], beside: Beside | None = None, also: Sequence[SearchDoc] = ()
) -> list[SearchDoc]:
    """The best sentence and the next best from the same policy, in the policy's own order, then `also` (other
    policies' sentences as close to the question as the best: "how long does a refund take?" is answered by
    both the returns and the substitutions policy; the answer to each question of a message asking two), each
    with the sentence it leans on or that leans on it
    (`beside`: a sentence's neighbour in its section): "Otherwise a $4.95 label is deducted" says nothing
    without the sentence before it."""
    if not hits:
        return []
    first = hits[0]
    chosen = [first] + [d for d in hits[1:] if d.source_id == first.source_id][: POLICY_SENTENCES_SHOWN - 1]
    chosen += [d for d in also if d not in chosen]
    if beside is not None:
        chosen += [n for d in list(chosen) for n in _leaning(d, beside) if n not in chosen]
    policies = list(dict.fromkeys(d.source_id for d in chosen))
    return sorted(dict.fromkeys(chosen), key=lambda d: (policies.index(d.source_id), d.metadata.get("position", 0)))


def _leaning(doc: SearchDoc, beside: Beside) -> list[SearchDoc]:
    after, before = beside(doc, 1), beside(doc, -1)
    return [
        *([after] if after is not None and LEANS_BACK.match(after.metadata.get("sentence", "")) else []),
        *([before] if before is not None and LEANS_BACK.match(doc.metadata.get("sentence", "")) else []),
    ]


def policy_ties(hits: Sequence[Hit]) -> list[SearchDoc]:
    """Other policies' sentences among the first `POLICY_TIES_READ` hits after the best, as close to the question
    as it within `POLICY_TIE` (cosine)."""
    if not hits or hits[0].similarity is None:
        return []
    best = hits[0]
    return [
        h.doc
        for h in hits[1 : POLICY_TIES_READ + 1]
        if h.doc.source_id != best.doc.source_id
        and h.similarity is not None
        and h.similarity >= best.similarity - POLICY_TIE
    ]


def quoted(sentences: Sequence[SearchDoc]) -> str:
    """ "From our Returns and Refunds policy: ..." for each policy quoted, in order (empty without sentences)."""
    parts = []
    for policy in dict.fromkeys(d.source_id for d in sentences):
        own = [d for d in sentences if d.source_id == policy]
        title = own[0].metadata.get("policy_title") or own[0].title
        parts.append(f"From our {title} policy: " + " ".join(d.metadata.get("sentence", d.text) for d in own))
    return " ".join(parts)


def reach(contact: str) -> str:
    return f"You can also reach {contact.rstrip('.')}." if contact else ""


def policy_answer(
    hits: Sequence[SearchDoc], contact: str = "", beside: Beside | None = None, also: Sequence[SearchDoc] = ()
) -> str:
    """A question about the shop's terms, answered with the sentences that answer it, then how to reach the
    shop's people where `contact` is given (the question asks how to)."""
    chosen = policy_sentences(hits, beside, also)
    return " ".join(x for x in (quoted(chosen) or NO_POLICY, reach(contact), "" if chosen else OFFER_PERSON) if x)


def complaint_answer(
    hits: Sequence[SearchDoc], contact: str = "", beside: Beside | None = None, also: Sequence[SearchDoc] = ()
) -> str:
    """An apology, what the policy says to do about it (where a sentence is close enough), and a person here
    (`contact` is not added: the person is offered in the chat)."""
    return " ".join(x for x in (APOLOGY, quoted(policy_sentences(hits, beside, also)), OFFER_PERSON) if x)


def beyond_powers_answer(
    hits: Sequence[SearchDoc], contact: str = "", beside: Beside | None = None, also: Sequence[SearchDoc] = ()
) -> str:
    """A request only the shopper or a person can carry out: the policy's steps, how to reach the shop's
    people (`support_contact`), and a person offered here."""
    chosen = policy_sentences(hits, beside, also)
    steps = f"{CANNOT_DO} {quoted(chosen)}" if chosen else "I can't do that from this chat."
    return " ".join(x for x in (steps, reach(contact), OFFER_PERSON) if x)


def not_your_order(order_ids: Sequence[str]) -> str:
    """An order number that is not on the shopper's account: nothing about it, not even whether it exists."""
    named = " or ".join(f"order {n}" for n in order_ids)
    return f"I can't find {named} on your account. I can only share your own orders."


def attribute_answer(products: list, asked_tags: list[tuple[str, str]]) -> str:
    """The catalog's answer to "is the X vegan?": a dietary or allergen claim is only ever what the tags say.

    One sentence per asked product; look-alikes the question names equally (the 2 L and 4 L Whole Milk)
    are told apart by brand and size.
    """
    by_id = {p.id: p for p in products}
    asked: dict[str, list[str]] = {}
    for product_id, tag in asked_tags:
        if product_id in by_id:
            asked.setdefault(product_id, []).append(tag)
    sentences = []
    for product_id, tags in asked.items():
        p = by_id[product_id]
        name = p.name if len(asked) == 1 else label(p)
        has = [t for t in tags if t in p.tag_list]
        lacks = [t for t in tags if t not in p.tag_list]
        if not lacks:
            sentences.append(f"Yes, the {name} is {listing(has, 'and')}.")
        elif not has:
            sentences.append(f"The {name} is not listed as {listing(lacks, 'or')}, so I can't confirm that.")
        else:
            sentences.append(f"The {name} is {listing(has, 'and')}, but it is not listed as {listing(lacks, 'or')}.")
    return " ".join(sentences)


def label(p: Product) -> str:
    """A product told apart from its look-alikes: "Sunfield Farms Blueberries (510 g)"."""
    return " ".join(filter(None, [p.brand, p.name, f"({p.size})" if p.size else None]))


def sized(p: Product) -> str:
    """A product with its size, which a shopper asking the price of one often wants too ("how big is it?")."""
    return f"{p.name} ({p.size})" if p.size else p.name


def price_answer(p: Product, name: str) -> str:
    return f"The {name} costs {format_price(p.price)}."


def stock_answer(p: Product, name: str) -> str:
    if (p.stock or 0) > 0:
        return f"Yes, the {name} is in stock ({p.stock} available)."
    return f"Sorry, the {name} is out of stock right now."


def compare_answer(products: Sequence[Product], names: dict[str, str]) -> str:
    """Two or more products' prices, the cheapest first and said to be so."""
    ranked = sorted(products, key=lambda p: (p.price is None, p.price or 0))
    first, rest = ranked[0], ranked[1:]
    if all(p.price == first.price for p in rest):
        return f"They cost the same: {format_price(first.price)} each."
    others = "; ".join(f"the {names[p.id]} costs {format_price(p.price)}" for p in rest)
    return f"The {names[first.id]} is cheaper at {format_price(first.price)}; {others}."


def product_answer(products: Sequence[Product], aspects: frozenset[str]) -> str:
    """What was asked ("price", "stock") of the products a follow-up resolved to, from their catalog lines."""
    names = {p.id: label(p) if len(products) > 1 else sized(p) for p in products}
    if len(products) > 1 and "price" in aspects:
        sentences = [compare_answer(products, names)]
        if "stock" in aspects:
            sentences += [stock_answer(p, names[p.id]) for p in products]
        return " ".join(sentences)
    sentences = []
    for p in products:
        if "price" in aspects:
            sentences.append(price_answer(p, names[p.id]))
        if "stock" in aspects:
            sentences.append(stock_answer(p, names[p.id]))
    return " ".join(sentences)


def day_of(value: str | None) -> str:
    """The date part of a stored timestamp."""
    return (value or "")[:10]


def has_left(o: OrderView) -> bool:
    """Whether the order is with a courier: a tracking number on an unshipped order is not one to follow."""
    return bool(o.tracking_number) and o.status in ("shipped", "delivered")


def tracking_note(o: OrderView) -> str:
    """Status and delivery answers name the tracking number too: asked for tracking, one answer fits both."""
    return f" Tracking number: {o.tracking_number} ({o.carrier})." if has_left(o) else ""


def order_summary(o: OrderView, own: bool = True) -> str:
    who = "Your order" if own else "Order"
    if o.status == "shipped":
        text = f"{who} {o.id} has shipped with {o.carrier}, tracking number {o.tracking_number}."
        return text + (f" It is expected on {o.estimated_delivery}." if o.estimated_delivery else "")
    if o.status == "delivered":
        return f"{who} {o.id} was delivered on {day_of(o.delivered_at)}." + tracking_note(o)
    if o.status in ("placed", "packed"):
        text = f"{who} {o.id} is {o.status} and has not shipped yet."
        return text + (f" It is expected on {o.estimated_delivery}." if o.estimated_delivery else "")
    return f"{who} {o.id} was {o.status}."


def tracking_answer(o: OrderView) -> str:
    if has_left(o):
        return f"The tracking number for order {o.id} is {o.tracking_number} ({o.carrier})."
    if o.status in ("cancelled", "refunded"):
        return f"Order {o.id} was {o.status}, so there is nothing to track."
    return f"Order {o.id} is {o.status}, so it has no tracking number yet."


def carrier_answer(o: OrderView) -> str:
    if has_left(o):
        went = "was delivered" if o.status == "delivered" else "ships"
        return f"Order {o.id} {went} by {o.carrier}. Tracking number: {o.tracking_number}."
    if o.status in ("cancelled", "refunded"):
        return f"Order {o.id} was {o.status}, so no courier is taking it."
    return f"Order {o.id} is {o.status} and has not been given to a courier yet."


def delivery_answer(o: OrderView) -> str:
    if o.status == "delivered":
        return f"Order {o.id} was delivered on {day_of(o.delivered_at)}." + tracking_note(o)
    if o.status in ("cancelled", "refunded"):
        return f"Order {o.id} was {o.status}, so it will not be delivered."
    if o.estimated_delivery:
        return f"Order {o.id} is expected on {o.estimated_delivery}." + tracking_note(o)
    return f"Order {o.id} is {o.status}; I don't have a delivery date for it yet."


ORDER_ANSWERS = {
    "status": order_summary,
    "tracking": tracking_answer,
    "carrier": carrier_answer,
    "date": delivery_answer,
}


def order_answer(o: OrderView, aspects: frozenset[str]) -> str:
    """What was asked of one of the shopper's own orders, from its record; its status where nothing narrower was."""
    asked = [a for a in ORDER_ANSWERS if a in aspects] or ["status"]
    return " ".join(dict.fromkeys(ORDER_ANSWERS[a](o) for a in asked))
