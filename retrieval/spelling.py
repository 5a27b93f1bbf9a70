"""Shoppers' misspellings read as the shop's own words, before a question is routed or searched.

"how lng do i have to retrun an unopend box" shares no word with "You can return unopened ... items
within 30 days": the embedder's word pieces and BM25's terms both miss a transposed letter, and the router
reads "cancle" and "pasword" as words it never saw. A word is corrected only when it is neither an English
word (SymSpell's frequency list) nor one of the shop's (its catalog, policies and routing phrasings), and
only toward one of the shop's words, at one edit for a short word and two for a long one: a word the shop
does not use is left as written, so "do you sell vapes?" still asks about vapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

from symspellpy import SymSpell, Verbosity

# A word shorter than SHORT_WORD letters is corrected by one edit at most, one shorter than MIN_WORD not at
# all: "duk" is as near "duck" as "dusk" and "dug".
SHORT_WORD = 6
MIN_WORD = 4
# Shorthand no spelling distance finds: the word a shopper means.
SHORTHAND = {
    "amex": "American Express",
    "prefs": "preferences",
    "pls": "please",
    "plz": "please",
    "u": "you",
    "ur": "your",
    "thx": "thanks",
    "mins": "minutes",
    "hrs": "hours",
    "acct": "account",
    "tmrw": "tomorrow",
    "wkend": "weekend",
    "addr": "address",
}
_CONTRACTIONS = (
    "don't isn't haven't who's that's won't can't didn't doesn't i'm i've you're it's what's where's wasn't "
    "aren't couldn't wouldn't shouldn't there's i'd i'll hasn't weren't"
).split()
# Endings that make another form of a word, not a slip: a word one of these short of a shop word is kept.
ENDINGS = frozenset({"s", "es", "d", "ed", "y", "r", "er", "ing"})
WITHOUT_APOSTROPHE = {c.replace("'", ""): c for c in _CONTRACTIONS}
WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


@cache
def english_words() -> dict[str, int]:
    """SymSpell's English word list with each word's corpus frequency."""
    text = resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt").read_text()
    return {word: int(count) for word, count in (line.split() for line in text.splitlines() if line.strip())}


# English words this common ("have", "any", "still") say nothing about what a question is about.
COMMON_WORDS = 500


@cache
def common_words() -> frozenset[str]:
    """The `COMMON_WORDS` commonest English words."""
    english = english_words()
    return frozenset(sorted(english, key=english.__getitem__, reverse=True)[:COMMON_WORDS])


def words_of(texts: Iterable[str]) -> set[str]:
    return {w.lower() for text in texts for w in WORD.findall(text)}


class Speller:
    """Corrects a message's unknown words toward the shop's vocabulary; everything else is kept as written."""

    def __init__(self, shop_words: Iterable[str]) -> None:
        english = english_words()
        self.known = set(english)
        self.shop = {w for w in shop_words if w.isalpha()}
        self.known |= self.shop
        self._lookup = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word in self.shop:
            if len(word) >= MIN_WORD - 1:
                # ties between equally near words go to the commoner one ("stock" over "stork")
                self._lookup.create_dictionary_entry(word, english.get(word, 0) + 1)

    def correct(self, text: str) -> str:
        return WORD.sub(lambda m: self._word(m.group(0)), self._joined(text))

    def _joined(self, text: str) -> str:
        """Two unknown halves of one of the shop's words made whole: "cous cous" is the couscous."""
        words = list(WORD.finditer(text))
        for first, second in zip(reversed(words[:-1]), reversed(words[1:])):
            whole = first.group(0) + second.group(0)
            between = text[first.end() : second.start()]
            if between == " " and whole.lower() in self.shop and first.group(0).lower() not in self.known:
                text = text[: first.start()] + whole + text[second.end() :]
        return text

    def _word(self, word: str) -> str:
        lower = word.lower()
        if lower in SHORTHAND:
            return SHORTHAND[lower]
        if lower in WITHOUT_APOSTROPHE and lower not in self.known:
            return WITHOUT_APOSTROPHE[lower]
        if len(lower) < MIN_WORD or "'" in lower or lower in self.known:
            return word
        distance = 1 if len(lower) < SHORT_WORD else 2
        near = self._lookup.lookup(lower, Verbosity.CLOSEST, max_edit_distance=distance)
        if not near:
            return word
        # a dropped letter is the commonest slip: "drivr" is "driver" before it is "drive"
        best = max(near, key=lambda s: (_within(lower, s.term), s.count))
        if best.term.startswith(lower) and best.term[len(lower) :] in ENDINGS:
            return word  # another form of a word the list lacks: "redeliver" is not "redelivery"
        return best.term


def _within(typed: str, word: str) -> bool:
    """Whether `typed` is `word` with letters left out."""
    letters = iter(word)
    return all(c in letters for c in typed)
