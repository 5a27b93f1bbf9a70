"""A shopper's message, checked once where it enters (a socket, a REST call, the terminal), and what its
words alone say: the order numbers it names, whether it speaks of the shopper's own things.

Only what is asked comes from the text, never who asks: identity is the session's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ORDER_NUMBER = re.compile(r"\b\d{3,12}\b")
_ABOUT_ORDERS = re.compile(
    r"order|oder|#|track|package|parcel|deliver|ship|refund|status|where|late|arriv|\beta\b|update|going on|"
    r"happen|\bcome\b|came|courier|carrier|dispatch",
    re.IGNORECASE,
)
# Numbers that are something else: a size or count ("500 ml", "12 pack"), a time, a card's or code's digits, a
# phone number ("555-0187").
_NOT_AN_ORDER = re.compile(
    r"\b(\d{3,12})\s*(?:ml|l|g|kg|oz|lbs?|ct|pack|pk|%|am|pm|bags?|count|calories)\b|"
    r"\b(?:ends? in|ending in|code|card|pin|phone|number is|call|ring|zip|postcode)\D{0,12}(\d{3,12})\b|"
    r"(?<=\d-)(\d{3,12})\b|\b(\d{3,12})(?=-\d)",
    re.IGNORECASE,
)
# A message that is little more than a number ("5302?", "1761 pls") names an order.
_BARE_NUMBER = re.compile(r"^\W*(?:\w+\W+)?\d{3,12}\W*(?:\w+\W*)?$")
# A message that leans on the one before: "and the other one?", "what about the bigger box", "is it vegan".
_REFERS_BACK = re.compile(
    r"^\s*(and|or|also|what about|how about|wat about|ok|okay|so)\b|\b(it|its|it's|that|those|them|this one|"
    r"the other|the second|the first|the last one|the bigger|the smaller|the cheaper|the same)\b",
    re.IGNORECASE,
)
SUBJECT_TURNS = 3  # how many of the shopper's earlier messages an order number is looked for in
# The sign-in gate also needs the shopper to speak of something of theirs: "how much is shipping?" and
# "tell me about your delivery options" read close to order phrasings to the router but are policy questions.
_THEIR_OWN = re.compile(r"\b(my|mine|i ordered|i've ordered|i placed)\b|#\s?\d{3,}|\border \d{3,}", re.IGNORECASE)
# "is the feta in stock? I'm vegan" asks more than the tags answer: such a turn goes to the model (with the tags' verdict)
_ASKS_MORE = re.compile(
    r"how much|price|cost|stock|availab|deliver|ship|order|recommend|suggest|instead", re.IGNORECASE
)
MAX_FOREIGN_ORDERS = 3
FOLLOW_UP_MAX_WORDS = 5


class MessageRejected(ValueError):
    """The shopper's message breaks a limit; the text says which and what to do."""


@dataclass(frozen=True)
class Question:
    """A message that passed the limits: stripped, not empty, at most `max_message_chars` long."""

    text: str

    @classmethod
    def parse(cls, text: str, max_chars: int) -> Question:
        text = text.strip()
        if not text:
            raise MessageRejected("the message is empty: type a question")
        if len(text) > max_chars:
            raise MessageRejected(
                f"the message has {len(text)} characters; the limit is {max_chars} "
                "(SHOPBOT_MAX_MESSAGE_CHARS): send a shorter message"
            )
        return cls(text)


def order_numbers(text: str) -> list[str]:
    """Numbers that may be order numbers, in the order written, each once."""
    return list(dict.fromkeys(_ORDER_NUMBER.findall(text)))


def numbers_asked(text: str, own_ids: set[str]) -> tuple[list[str], list[str]]:
    """Order numbers in the question: (the shopper's own, the rest).

    Both are stated in the prompt, so the model answers from what it reads instead of matching a
    number against the order lines itself; whether a foreign order exists is never looked up. A number
    is taken for a foreign order only in a question about orders, and not where it is a size, a time, a
    card's or code's digits or a phone number ("do you have the 1000 ct pack?", "the card ending in 4421");
    one of the shopper's own order numbers always ("status update for 4030 please").
    """
    numbers = order_numbers(text)
    about_orders = _ABOUT_ORDERS.search(text) or _BARE_NUMBER.match(text)
    other = {n for match in _NOT_AN_ORDER.finditer(text) for n in match.groups() if n}
    foreign = [n for n in numbers if n not in own_ids and n not in other] if about_orders else []
    return [n for n in numbers if n in own_ids], foreign[:MAX_FOREIGN_ORDERS]


def speaks_of_their_own(text: str) -> bool:
    """ "my order", "#4030": the shopper speaks of something of theirs, not of the shop's terms."""
    return _THEIR_OWN.search(text) is not None


def asks_more_than_tags(text: str) -> bool:
    """A dietary question that also asks about price, stock or delivery, which the tags cannot answer."""
    return _ASKS_MORE.search(text) is not None


def follows_up(text: str) -> bool:
    """Whether the message leans on the one before: short, or referring back ("and the other one?")."""
    return len(text.split()) <= FOLLOW_UP_MAX_WORDS or _REFERS_BACK.search(text) is not None


def search_query(text: str, history: list[dict[str, str]]) -> str:
    """What retrieval searches for: a follow-up ("and the 2 L one?", "what about the bigger box of it") is read
    with the question before it, so the conversation keeps its product until another is named."""
    previous_user = next((m["content"] for m in reversed(history) if m["role"] == "user"), None)
    if previous_user and follows_up(text):
        return f"{previous_user} {text}"
    return text


def subject_orders(text: str, history: list[dict[str, str]]) -> str:
    """The text to read a follow-up's order numbers from: the message itself where it names one or is no
    follow-up, else the shopper's latest message (of the last `SUBJECT_TURNS`) that named any, then the
    message. "and the delivery date?" after "where is order 5245?" is still about 5245."""
    if order_numbers(text) or not follows_up(text):
        return text
    earlier = [m["content"] for m in history if m["role"] == "user"][-SUBJECT_TURNS:]
    named = next((m for m in reversed(earlier) if order_numbers(m)), None)
    return f"{named} {text}" if named else text


# Where a message asking two things splits: after a question mark, or at ", and" / "and" before a question word.
_PARTS = re.compile(
    r"\?\s*|[,;]?\s+and\s+(?=(?:what|how|when|where|which|who|why|do|does|is|are|can|will|would|should)\b)",
    re.IGNORECASE,
)
QUESTION_PART_MIN_WORDS = 3


def question_parts(text: str) -> list[str]:
    """The questions of a message that asks two or more ("do you take back gift cards? and what about final
    sale items?"); empty for a message that asks one."""
    parts = [p.strip(" ,.;") for p in _PARTS.split(text)]
    parts = [p for p in parts if len(p.split()) >= QUESTION_PART_MIN_WORDS]
    return parts if len(parts) >= 2 else []


_REACH = re.compile(
    r"\b(phone|call|ring|e-?mail|contact|reach|get hold|get in touch|helpline|hotline|number for)\b", re.IGNORECASE
)


def asks_how_to_reach(text: str) -> bool:
    """Whether a question about the shop's terms asks how to reach its people ("support email?")."""
    return _REACH.search(text) is not None


# What a shopper may ask to have done about an order or their account; resolved to an order, such a message
# is not a question about it (bot/assistant/subject.py).
REQUEST = re.compile(
    r"cancel|change|edit|modif|\badd\b|remove|return|refund|invoice|receipt|redeliver|reschedul|damaged|broken|"
    r"missing|wrong|spoil|complain|claim|\blost\b|address|swap|substitut",
    re.IGNORECASE,
)
# Asking the bot to do something: "can you ...", "I need you to ...", or a message that starts with the deed.
_ASKS_TO_DO = re.compile(
    r"\b(can|could|would|will) you\b|\bi (want|need|would like) you to\b|"
    r"^\W*((please|pls|plz|kindly)\s+)?(cancel|change|add|remove|redeliver|refund|send|resend|switch|swap|move|"
    r"update|put|bring|file|open|"
    r"chase|call|phone|tell|use|apply|take|turn|set|reset|delete|close|unlock|unsubscribe)\b",
    re.IGNORECASE,
)
_ABOUT_AN_ORDER = re.compile(
    r"\b(order|delivery|parcel|package|groceries|driver|account|card|refund|receipt|invoice|claim)\b", re.IGNORECASE
)


def asks_to_have_done(text: str) -> bool:
    """Whether a message asks the bot to do something to an order or the account ("redeliver the order i
    missed yesterday", "can you open a claim with UPS for me"): the router, reading the order words, may
    take it for a question about the order."""
    return all(p.search(text) for p in (REQUEST, _ASKS_TO_DO, _ABOUT_AN_ORDER))
