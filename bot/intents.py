"""Intent rules that decide when the engine calls a tool before the model answers (`tool_routing` "rules").

Two layers: regexes for the requests whose wording is narrow and whose wrong call costs most (a
person, a reorder), then, for the order history and catalog search, a vote of the nearest labelled
shopper phrasings (`IntentRouter`), which carries over to wordings no regex foresaw. The phrasings are
the adapter's training questions, written by `shopbot train lora` next to the adapter
(`routing.jsonl`), so a shop's own catalog fills them.
Only which tool to call comes from the text — never whose data.

The same vote also says whether a message asks about the shopper's own orders (`asks_about_orders`,
from the phrasings' `intent` labels): an anonymous visitor asking that is told to sign in by the
engine, before any model could invent an order for them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bot.search_tool import SEARCH_PRODUCTS_TOOL
from retrieval.documents import SearchDoc
from retrieval.embeddings import Embedder
from retrieval.index import VectorIndex, load_or_build

NO_TOOL = "none"
ROUTER_NEIGHBOURS = 5
# A handoff pauses the bot and a reorder list answers something else: only the regexes call those. The
# vote picks among these, whose wrong call costs a shopper nothing (their own orders, a catalog search).
ROUTED_TOOLS = frozenset({"lookup_order", "search_products"})
# Training intents (adapters/data.py) that ask about the shopper's own orders and need a signed-in shopper.
ORDER_INTENTS = frozenset({"order_status", "tracking", "delivery_date", "specific_order", "anonymous_order",
                           "follow_up_delivery"})

_REORDER = re.compile(
    r"\b(re-?order|re-?stock|re-?buy|buy (it |them )?again|order (it |them )?again|running (low|out)|run out|"
    r"my usual|usual (stuff|items|order)|regular (shop|order)|what should (i (buy|get|order)|go in my (basket|cart))|"
    r"what do i need|due (for|to)|"
    r"(suggest|recommend|ideas?\b)(?=.*\b(buy|order|get|basket|cart|again|restock|need|often|usual|running|low)))",
    re.IGNORECASE,
)


_HANDOFF = re.compile(
    r"\b(talk|speak|chat|connect|transfer|put) (me )?(to|with) (a |an |some|the )?(real |actual |live )?"
    r"(person|human|agent|people|representative|rep|someone|somebody|staff|operator)\b|"
    r"\b(real|live|actual) (person|human|agent)\b|\bcustomer service (rep|representative|agent)\b|"
    r"\b(human|agent|representative),? please\b",
    re.IGNORECASE,
)


class IntentRouter:
    """Nearest labelled phrasings, similarity-weighted vote: the label most of the close ones share."""

    def __init__(self, index: VectorIndex, embed: Callable[[str], np.ndarray],
                 neighbours: int = ROUTER_NEIGHBOURS, intents: dict[str, str] | None = None) -> None:
        self.index = index
        self.embed = embed
        self.neighbours = neighbours
        self.intents = intents or {}  # phrasing doc id -> its training intent, where the file names one

    @classmethod
    def open(cls, examples_file: Path, embedder: Embedder, index_dir: Path,
             embed: Callable[[str], np.ndarray] | None = None) -> IntentRouter:
        """Index the JSONL of {"text", "tool", "intent"?} (tool null: answer without one), cached like the catalog.

        `embed`: the query embedding to use, e.g. the retriever's cached one, which has usually just
        embedded the same question; by default the embedder's."""
        docs = []
        intents: dict[str, str] = {}
        for n, line in enumerate(Path(examples_file).read_text().splitlines()):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row.get("text"), str) or not row["text"].strip():
                raise ValueError(f"{examples_file} line {n + 1}: 'text' must be a non-empty string")
            label = row.get("tool") or NO_TOOL
            docs.append(SearchDoc(id=f"r{n}", source_id=label, kind="routing", title=label, text=row["text"]))
            if isinstance(row.get("intent"), str):
                intents[f"r{n}"] = row["intent"]
        if not docs:
            raise ValueError(f"{examples_file} has no routing examples")
        index, _ = load_or_build(Path(index_dir), docs, embedder)
        return cls(index, embed or (lambda text: embedder.embed([text])[0]), intents=intents)

    def _vote(self, text: str, label: Callable[[SearchDoc], object]):
        votes: Counter = Counter()
        for doc, similarity in self.index.search(self.embed(text), self.neighbours):
            votes[label(doc)] += similarity
        return votes.most_common(1)[0][0] if votes else None

    def tool_for(self, text: str) -> str | None:
        label = self._vote(text, lambda doc: doc.source_id)
        return None if label in (None, NO_TOOL) else label

    def asks_about_orders(self, text: str) -> bool:
        """Whether the nearest labelled phrasings mostly ask about the shopper's own orders, the order intents
        voting together (False without labels)."""
        if not self.intents:
            return False
        return self._vote(text, lambda doc: self.intents.get(doc.id) in ORDER_INTENTS) is True


def tool_for(text: str, router: IntentRouter | None = None) -> str | None:
    """The tool a shopper's message asks for, if any; asking for a person wins over everything else."""
    if _HANDOFF.search(text):
        return "handoff"
    if _REORDER.search(text):
        return "suggest_reorder"
    routed = router.tool_for(text) if router is not None else None
    return routed if routed in ROUTED_TOOLS else None


def rule_arguments(tool: str, text: str) -> dict:
    """Arguments for a rule-picked call: a search looks for what the shopper wrote; the rest need none."""
    return {"query": text[:200]} if tool == SEARCH_PRODUCTS_TOOL else {}
