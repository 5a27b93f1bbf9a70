"""Dietary and allergen questions ("is the X vegan?"): which product and tags a message asks about, and the
catalog's answer, which is only ever what the product's tags say.

With `attribute_answers=catalog` such a turn is answered from the tags without the model; with "model"
the tags' verdict is stated in the prompt. A small model asked alone says "yes" regardless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.assistant.prompt import listing
from retrieval.lexical import naming, tokenize, uses_phrase


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
        name = (
            p.name if len(asked) == 1 else " ".join(filter(None, [p.brand, p.name, f"({p.size})" if p.size else None]))
        )
        has = [t for t in tags if t in p.tag_list]
        lacks = [t for t in tags if t not in p.tag_list]
        if not lacks:
            sentences.append(f"Yes, the {name} is {listing(has, 'and')}.")
        elif not has:
            sentences.append(f"The {name} is not listed as {listing(lacks, 'or')}, so I can't confirm that.")
        else:
            sentences.append(f"The {name} is {listing(has, 'and')}, but it is not listed as {listing(lacks, 'or')}.")
    return " ".join(sentences)


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
    tags = sorted(t for t in shop_tags() if uses_phrase(words, t))
    asked = []
    for p in products:
        if named[p.id] == best:
            own = set(tokenize(f"{p.name} {p.brand or ''}"))  # "Gluten-Free Crackers" names, not asks
            asked += [(p.id, t) for t in tags if not set(tokenize(t)) <= own]
    return asked


def _named(terms: set[str], products: list) -> tuple[dict[str, int], int]:
    named = {p.id: naming(terms, p.name, p.brand, p.size) for p in products}
    best = max(named.values(), default=0)
    if not best and products and naming(terms, products[0].name, min_words=1):
        best = named[products[0].id] = 1  # a one-word name ("Feta") counts for the top-ranked product only
    return named, best
