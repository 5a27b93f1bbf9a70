"""What a message is about: the catalog products it names, the dietary tags it asks about, and what a
follow-up refers back to.

A 135M model given "and the other one?", "what about 2 litres" or "the one before it" with the conversation
before it answered about whichever product or order came first in its facts. Such a follow-up is resolved
here, from the shopper's own earlier messages and the catalog, into the question it stands for ("How much is
the Sunfield Farms Honeycrisp Apples (1 kg bag)?"); the turn is then searched and answered as that question.
The conversation keeps its subject (the product or order last talked about, and the list it came from) until
a message names another. Only the shopper's messages are read for products; an order is taken from any
message only where it is one of the shopper's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.assistant.answers import label
from bot.assistant.prompt import listing
from bot.assistant.question import (
    FOLLOW_UP_MAX_WORDS,
    REQUEST,
    SUBJECT_TURNS,
    follows_up,
    numbers_asked,
    order_numbers,
)
from retrieval.lexical import naming, tokenize, uses_phrase
from retrieval.schema import Product
from retrieval.spelling import WORD, common_words, words_of
from retrieval.store import OrderView

_PRICE = re.compile(
    r"how much|price|cost|\$|\bpay\b|set me back|money|cheap|expensive|pricier|dearer|\brun\b", re.IGNORECASE
)
_STOCK = re.compile(
    r"stock|availab|\bhave (it|any|them|some)\b|\bgot (any|em|them|it|some)\b|\bget (some|any|it|them)\b|"
    r"any left|sold out|\bcarry\b|\bstill have\b|\bget (\d+|two|three|four|five|six|a few|several|more)\b",
    re.IGNORECASE,
)
# A message naming a product that asks more than its price, stock or tags is the model's to answer.
_ASKS_ELSE = re.compile(
    r"deliver|ship|\border|recommend|suggest|instead|similar|alternative|ingredient|\bmade\b|contain|taste|"
    r"\buse\b|recipe|how (do|to|long)|\bwhy\b|return|refund|\bbest\b|\bgood\b|difference",
    re.IGNORECASE,
)
MAX_PRODUCTS_ANSWERED = 3
NEARLY_NAMED_WORDS = 3  # names this long still count with one word left out
_WITHOUT = re.compile(r"\b(?:without|no|free of|free from)\s+([a-z]+)", re.IGNORECASE)
# Words that point back at the product talked about: "is it vegan?", "still got em?", "the bigger one".
_POINTS_BACK = re.compile(r"\b(it|its|they|them|em|those|these|that|this|one|version|kind|some|any)\b", re.IGNORECASE)
_OTHER = re.compile(r"\bother\b", re.IGNORECASE)
_FIRST = re.compile(r"\b(first|1st|former)\b", re.IGNORECASE)
_SECOND = re.compile(r"\b(second|2nd|latter)\b", re.IGNORECASE)
_BOTH = re.compile(
    r"\bboth\b|\bwh?ich of\b|\b(of|between) (the|them|these|those)? ?(two|2)\b|\bwhich (one|of|is)\b|\bcompare",
    re.IGNORECASE,
)
_BIGGER = re.compile(r"\b(bigger|larger|big|large|family|bulk|jumbo|biggest|largest)\b", re.IGNORECASE)
_SMALLER = re.compile(r"\b(smaller|small|little|mini|smallest)\b", re.IGNORECASE)
_CHEAPER = re.compile(r"\b(cheaper|cheapest|less money|less expensive|lower price)\b", re.IGNORECASE)
_SIZE = re.compile(
    r"(\d+(?:\.\d+)?)\s*-?\s*(ml|millilit\w*|l|lit\w*|g|gr|grams?|kg|kilos?|kilograms?|oz|ounces?|lbs?|pounds?|"
    r"ct|count|pack|pk|pods?|bags?|pieces?|pcs|rolls?|eggs?)\b",
    re.IGNORECASE,
)
_ORDER_BEFORE = re.compile(
    r"\bbefore (it|that|this|then)\b|\bthe one before\b|\bprevious\b|\bprior\b|\bearlier one\b|\border before\b",
    re.IGNORECASE,
)
_NEWEST = re.compile(r"\b(latest|last|newe?st|most recent|recent|current)\b", re.IGNORECASE)
_ORDERED = re.compile(r"order|oder|odrer|purchase|bought|delivery|package|parcel", re.IGNORECASE)
ORDER_ASPECTS = {
    "tracking": re.compile(r"track|trac[ei]|follow|\bcode\b", re.IGNORECASE),
    "carrier": re.compile(r"courier|carrier|which company|who (is )?deliver|shipping company|\bups\b", re.IGNORECASE),
    "date": re.compile(r"\bwhen\b|\bdate\b|\beta\b|arriv|what day|how long|\bcome\b", re.IGNORECASE),
    "status": re.compile(
        r"statu|\bwhere\b|going on|story|deal|happen|update|shipped|out the door|\bsent\b|\bleft\b|look (it )?up|"
        r"check|chekc|coming|progress|what'?s up",
        re.IGNORECASE,
    ),
}


@dataclass(frozen=True)
class Resolved:
    """A question read as the one it stands for: `text` is searched and answered; `products` or `order`
    is what it resolved to and `aspects` what it asks of them ("price", "stock"; an order's "status",
    "tracking", "carrier", "date"), empty where the words say nothing the facts answer."""

    text: str
    products: tuple[Product, ...] = ()
    order: OrderView | None = None
    aspects: frozenset[str] = frozenset()
    tags: tuple[str, ...] = ()  # dietary tags asked about the products ("is it vegan?")


def quantity(size: str | None) -> tuple[str, float] | None:
    """A size as (unit, amount in that unit's base): "1.5 L" and "1500 ml" are equal; counts are "ct"."""
    match = _SIZE.search(size or "")
    if match is None:
        return None
    value, unit = float(match.group(1)), match.group(2).lower()
    if unit == "ml" or unit.startswith("millilit"):
        return "ml", value
    if unit == "l" or unit.startswith("lit"):
        return "ml", value * 1000
    if unit == "kg" or unit.startswith("kilo"):
        return "g", value * 1000
    if unit in ("g", "gr") or unit.startswith("gram"):
        return "g", value
    if unit.startswith(("oz", "ounce")):
        return "oz", value
    if unit.startswith(("lb", "pound")):
        return "oz", value * 16
    return "ct", value


def product_aspects(text: str) -> frozenset[str]:
    found = set()
    if _PRICE.search(text):
        found.add("price")
    if _STOCK.search(text):
        found.add("stock")
    return frozenset(found)


def asks_of_products(text: str, products: Sequence[Product]) -> bool:
    """ "What would the Sharp Cheddar set me back?" names a product in full and asks its price: a product
    question, however close its words come to a complaint's. A one-word name is not enough ("pay half with
    a gift card" does not ask about the Half & Half)."""
    terms = set(tokenize(text))
    return bool(product_aspects(text)) and any(
        len(words := _name_words(p.name)) >= 2 and words <= terms for p in products
    )


def named_families(text: str, catalog: Sequence[Product]) -> list[list[Product]]:
    """The products a message names, grouped by name ("Whole Milk" in every brand and size), in the order the
    message names them; a name inside another named one ("Whole Milk" in "Organic Whole Milk") is dropped.
    Where no name is used whole, a long name used but for one word other than its last counts ("sockeye
    salmon fillets" names the Wild Sockeye Salmon Fillets; "curl care shampo" names no Curl Care Conditioner)."""
    terms = set(tokenize(text))
    families: dict[str, list[Product]] = {}
    nearly: dict[str, list[Product]] = {}
    for p in catalog:
        words = _name_words(p.name)
        if words and words <= terms:
            families.setdefault(p.name.lower(), []).append(p)
        elif len(words) >= NEARLY_NAMED_WORDS and len(words - terms) == 1 and _head(p.name) in terms:
            nearly.setdefault(p.name.lower(), []).append(p)
    families = families or nearly
    words = {name: _name_words(name) for name in families}
    kept = [n for n in families if not any(words[n] < words[m] for m in words)]
    tokens = tokenize(text)
    return [families[n] for n in sorted(kept, key=lambda n: _first_position(tokens, words[n]))]


@lru_cache(maxsize=8192)
def _name_words(name: str) -> frozenset[str]:
    """A name's words without its figures: "cottage cheese" names the Cottage Cheese 2%."""
    return frozenset(w for w in tokenize(name) if not w[0].isdigit())


def _head(name: str) -> str:
    """A name's last word, the thing it is: "fillet" in "Wild Sockeye Salmon Fillets"."""
    words = [w for w in tokenize(name) if not w[0].isdigit()]
    return words[-1] if words else ""


def _first_position(tokens: list[str], words: set[str]) -> int:
    return min((i for i, t in enumerate(tokens) if t in words), default=len(tokens))


def _last_position(tokens: list[str], words: set[str]) -> int:
    return max((i for i, t in enumerate(tokens) if t in words), default=-1)


def member(family: Sequence[Product], text: str) -> Product:
    """The one of a family the text means (the first of `members`)."""
    return members(family, text)[0]


def _sized(family: Sequence[Product], text: str) -> list[Product]:
    """The ones of a family of the size the text states ("2 litres", "the 510 g box"), if it states one."""
    stated = quantity(text)
    return [p for p in family if quantity(p.size) == stated] if stated is not None else []


def _subject(families: list[list[Product]], text: str) -> int:
    """Which named family a message asks about: the one whose own words come last ("gala or honeycrisp?
    how much are the gala" asks about the gala)."""
    tokens = tokenize(text)
    words = [set(_name_words(f[0].name)) for f in families]
    own = [w - set().union(*(o for j, o in enumerate(words) if j != i)) or w for i, w in enumerate(words)]
    return max(range(len(families)), key=lambda i: _last_position(tokens, own[i]))


def _variant(family: Sequence[Product], chosen: Product, text: str) -> Product | None:
    """Another of the family the follow-up asks for: by size, brand, "bigger", "smaller" or "cheaper"."""
    if sized := _sized(family, text):
        return sized[0]
    terms = set(tokenize(text))
    branded = [p for p in family if p.brand and p.brand != chosen.brand and set(tokenize(p.brand)) <= terms]
    if branded:
        return member(branded, text)
    if _CHEAPER.search(text):
        priced = [p for p in family if p.price is not None]
        return min(priced, key=lambda p: p.price) if priced else None
    unit, own = quantity(chosen.size) or ("", 0.0)
    sizes = sorted((q[1], p.id, p) for p in family if (q := quantity(p.size)) and q[0] == unit)
    if _BIGGER.search(text):
        return next((p for size, _, p in sizes if size > own), None)
    if _SMALLER.search(text):
        return next((p for size, _, p in reversed(sizes) if size < own), None)
    return None


def resolve_products(
    text: str, earlier: Sequence[str], catalog: Sequence[Product], shop_tags: Iterable[str]
) -> Resolved | None:
    """The products a message asks the price, stock or tags of: those it names (every size of a product where
    it names no size or brand, up to `MAX_PRODUCTS_ANSWERED`), or for a follow-up, those it points at among
    the ones the shopper's earlier messages (latest last) named. None where it asks something else too ("and
    can you deliver it today?"), where no earlier message named a product, or where nothing in a follow-up
    points back ("ok what about returns?")."""
    own = named_families(text, catalog)
    asked = product_aspects(text)
    tags = tags_in(text, shop_tags)
    if own and (asked or tags):
        if _ASKS_ELSE.search(text):
            return None
        products = [p for family in own for p in members(family, text)]
        if len(products) > MAX_PRODUCTS_ANSWERED:
            return None
        return Resolved(text, tuple(products), aspects=asked, tags=tags)
    for previous in reversed(earlier[-SUBJECT_TURNS:]):
        families = named_families(previous, catalog)
        if families:
            break
    else:
        return None
    if own:
        if not follows_up(text) or not product_aspects(previous):
            return None
        products = [member(f, text) for f in own]
    else:
        chosen = [member(f, previous) for f in families]
        at = _subject(families, previous)
        products = _referred(text, families, chosen, at)
        if products is not None:
            tags = tuple(t for t in tags if not _BIGGER.search(t))  # "the family-size box" picks, not asks
        else:
            if not (asked or tags) or not (_POINTS_BACK.search(text) or _only_asks(text)):
                return None
            if _names_another(text, families[at], catalog, shop_tags):
                return None  # "is the granola gluten-free?" after the milk: a product the catalog has no name for
            products = [chosen[at]]
    aspects = asked or (frozenset() if tags else product_aspects(previous))
    return Resolved(_standalone(text, products, aspects, tags), tuple(products), aspects=aspects, tags=tags)


def _only_asks(text: str) -> bool:
    """ "how much?", "in stock?": nothing but the ask."""
    return not tokenize(_STOCK.sub(" ", _PRICE.sub(" ", text)))


def members(family: Sequence[Product], text: str) -> list[Product]:
    """The ones of a family a message names: the size it states, else those its brand and size words fit
    best, else every one ("how much is the whole milk?" has three answers)."""
    if sized := _sized(family, text):
        return sized
    terms = set(tokenize(text))
    branded = [p for p in family if p.brand and set(tokenize(p.brand)) <= terms]
    if len({p.brand for p in branded}) > 1:
        return branded  # "Brookfield Farms or Meadowvale skim milk?"
    fit = {p.id: len(set(tokenize(f"{p.brand or ''} {p.size or ''}")) & terms) for p in family}
    best = max(fit.values())
    return [p for p in family if fit[p.id] == best]


def _names_another(text: str, family: Sequence[Product], catalog: Sequence[Product], shop_tags: Iterable[str]) -> bool:
    """Whether a follow-up uses a word of another product's name, the asked tags' words aside ("gluten" in
    "Gluten-Free Bagels" is not a product)."""
    words = set(tokenize(text)) - _name_words(family[0].name) - set(tokenize(" ".join(shop_tags)))
    return any(words & _name_words(p.name) for p in catalog)


def _referred(text: str, families: list[list[Product]], chosen: list[Product], at: int) -> list[Product] | None:
    """What the follow-up's words point at: another of the list, all of it, or another size or brand of the
    subject; None where they point at nothing in particular ("is it vegan?" is about the subject itself)."""
    if len(families) > 1:
        if _BOTH.search(text) or (_CHEAPER.search(text) and not _OTHER.search(text)):
            return chosen
        if _OTHER.search(text):
            return [p for i, p in enumerate(chosen) if i != at][:1]
        if _SECOND.search(text):
            return [chosen[1]]
        if _FIRST.search(text):
            return [chosen[0]]
    variant = _variant(families[at], chosen[at], text)
    if variant is None and _OTHER.search(text) and len(families[at]) == 2:
        variant = next(p for p in families[at] if p.id != chosen[at].id)
    return [variant] if variant is not None else None


def _standalone(text: str, products: Sequence[Product], aspects: frozenset[str], tags: tuple[str, ...]) -> str:
    names = [label(p) for p in products]
    name = listing([f"the {n}" for n in names], "and")
    be = "Are" if len(names) > 1 else "Is"
    asks = [f"{be} {name} {listing(list(tags), 'and')}?"] if tags else []
    if "stock" in aspects:
        asks.append(f"{be} {name} in stock?")
    if "price" in aspects:
        asks.append(
            f"Which is cheaper, {' or '.join(f'the {n}' for n in names)}?" if len(names) > 1 else f"How much is {name}?"
        )
    return " ".join(asks) or f"{text.strip().rstrip('?.!')} ({name})?"


def resolve_order(
    text: str,
    earlier: Sequence[dict[str, str]],
    newest: Callable[[], Sequence[OrderView]],
    own: Callable[[str], OrderView | None],
) -> Resolved | None:
    """A question about one of the shopper's own orders, read as what it asks of which: the order it names by
    number; their newest where it speaks of their latest order; for a follow-up ("which courier?", "and the
    one before it?"), the order the conversation last named (in any message, but only an order of theirs).
    `newest()` reads the shopper's newest orders, newest first, only once the words may ask about one; `own`
    finds one of theirs by number. None for requests about an order ("cancel my last order", "open a
    claim"), which the policies answer, and for numbers that are not the shopper's."""
    numbers = order_numbers(text)
    aspects = frozenset(a for a, pattern in ORDER_ASPECTS.items() if pattern.search(text))
    before = _ORDER_BEFORE.search(text) is not None
    if not (numbers or aspects or before) or REQUEST.search(text):
        return None
    mine = [n for n in numbers if own(n) is not None]
    if (numbers and len(mine) != 1) or numbers_asked(text, set(mine))[1]:
        return None
    if mine:
        subject = mine[0]
        if not aspects and not before and len(text.split()) <= FOLLOW_UP_MAX_WORDS + 2:
            aspects = frozenset({"status"})  # "It's order 3397.", "5302?"
    elif _NEWEST.search(text) and _ORDERED.search(text):
        subject = next((o.id for o in newest()), None)
    elif earlier and follows_up(text):
        subject = _order_subject(earlier, newest, own)
    else:
        return None
    if subject is None or not (aspects or before):
        return None
    order = own(subject)
    if before:
        orders = newest()
        at = next((i for i, o in enumerate(orders) if o.id == subject), None)
        order = orders[at + 1] if at is not None and at + 1 < len(orders) else None
    if order is None:
        return None
    asked = aspects or frozenset({"status"})
    return Resolved(_order_question(order.id, asked), order=order, aspects=asked)


def _order_subject(
    earlier: Sequence[dict[str, str]],
    newest: Callable[[], Sequence[OrderView]],
    own: Callable[[str], OrderView | None],
) -> str | None:
    for message in reversed(earlier[-2 * SUBJECT_TURNS :]):
        numbers = order_numbers(message["content"])
        mine = [n for n in numbers if own(n) is not None]
        if mine:
            return mine[0]
        if numbers_asked(message["content"], set())[1]:
            return None  # the conversation is about an order that is not theirs
        if message["role"] == "user" and _NEWEST.search(message["content"]) and _ORDERED.search(message["content"]):
            return next((o.id for o in newest()), None)
    return None


def _order_question(order_id: str, aspects: frozenset[str]) -> str:
    asks = {
        "tracking": f"What is the tracking number for order {order_id}?",
        "carrier": f"Which courier is delivering order {order_id}?",
        "date": f"When will order {order_id} arrive?",
        "status": f"What is the status of order {order_id}?",
    }
    return " ".join(asks[a] for a in ORDER_ASPECTS if a in aspects)


def tags_asked(text: str, query: str, products: list, shop_tags: Callable[[], Iterable[str]]) -> list[tuple[str, str]]:
    """(product, tag) for each tag the message names about the product it names most fully; a short
    follow-up ("is it vegan?") asks about the product its search query (with the question before) names.
    `shop_tags` is read only when the message names a product."""
    words = tokenize(text)
    named, best = _named(set(words), products)
    if not best and query != text:
        named, best = _named(set(tokenize(query)), products)
    if not best:
        return []
    tags = tags_in(text, shop_tags())
    return [(p.id, t) for p in products if named[p.id] == best for t in tags if not names_tag(p, t)]


def names_tag(p: Product, tag: str) -> bool:
    """ "Gluten-Free Crackers" names the tag, it does not ask it."""
    return set(tokenize(tag)) <= set(tokenize(f"{p.name} {p.brand or ''}"))


def tags_in(text: str, shop_tags: Iterable[str]) -> tuple[str, ...]:
    """The shop's tags a message asks about: "gluten free", "gluten-free", and "without dairy" for dairy-free."""
    phrases = [tokenize(text)] + [tokenize(f"{word} free") for word in _WITHOUT.findall(text)]
    return tuple(sorted(t for t in shop_tags if any(uses_phrase(words, t) for words in phrases)))


def _named(terms: set[str], products: list) -> tuple[dict[str, int], int]:
    named = {p.id: naming(terms, p.name, p.brand, p.size) for p in products}
    best = max(named.values(), default=0)
    if not best and products and naming(terms, products[0].name, min_words=1):
        best = named[products[0].id] = 1  # a one-word name ("Feta") counts for the top-ranked product only
    return named, best


@dataclass(frozen=True)
class ShopWords:
    """The words of what the shop sells (catalog) and of everything else shoppers and the shop say (policies,
    the router's phrasings of questions that are not about a product)."""

    catalog: frozenset[str]
    talk: frozenset[str]


# Product questions a "we don't sell that" may answer: asking whether something is sold or in stock.
ASKS_IF_SOLD = frozenset({"stock", "unknown_product", "follow_up_stock", "search"})
# Every intent of a question about products: their phrasings name products, so their words are not talk.
PRODUCT_INTENTS = ASKS_IF_SOLD | {"price", "attribute", "compare"}


def names_nothing_sold(text: str, intent: str, words: ShopWords) -> bool:
    """Whether a question asking if something is sold names nothing the shop sells: it has words that are
    neither the catalog's nor everyday talk, and no word of the catalog but the commonest English ones.
    "lobster tails?" in a grocer's with no lobster; not "do you have tzatziki?" (sold, out of stock) nor "I'd
    like to browse soup"."""
    if intent not in ASKS_IF_SOLD:
        return False
    found = [w for w in words_of([text]) if len(w) >= 3 and "'" not in w]
    common = common_words()
    if _names_a_kind_not_sold(text, words, common):
        return True
    if any(_sold(w, words.catalog) and w not in common for w in found):
        return False
    return any(w not in words.talk and not _sold(w, words.catalog) for w in found)


def _names_a_kind_not_sold(text: str, words: ShopWords, common: frozenset[str]) -> bool:
    """A word the shop has never used, next to one of the catalog's: "lobster tails" where only the Happy Tails
    dog food is sold, "miso paste" beside the tomato paste. A shopper's filler ("nah", "guys") stands beside
    everyday words, not a catalog's."""
    said = [w.lower() for w in WORD.findall(text)]

    def unknown(w: str) -> bool:
        return len(w) >= 3 and "'" not in w and w not in words.talk and w not in common and not _sold(w, words.catalog)

    def catalogs(w: str) -> bool:
        return len(w) >= 3 and w not in common and _sold(w, words.catalog)

    return any(unknown(a) and catalogs(b) or catalogs(a) and unknown(b) for a, b in zip(said, said[1:]))


def _sold(word: str, catalog: frozenset[str]) -> bool:
    return word in catalog or word.removesuffix("s") in catalog or f"{word}s" in catalog
