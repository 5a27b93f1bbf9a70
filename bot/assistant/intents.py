"""How a shopper's message is routed: which tool the engine calls before answering (`tool_routing` "rules")
and what kind of question it is (a policy, a complaint, a request the bot cannot carry out, ...).

One learned router reads every route: a classifier fitted on labelled shopper phrasings (`IntentRouter`),
which carries over to wordings no regex foresaw. A tool's phrase pattern still calls it outright (a
shopper who writes "talk to a person" gets one), but the classifier reaches every tool too, each above
its own probability threshold, calibrated on phrasings held apart from the fit: a wrong handoff pauses
the bot, so its threshold is set where the held-apart phrasings it catches are nearly all requests for a
person. The phrasings are written by `shopbot train router` (and `shopbot train lora`) next to the
adapter (`routing.jsonl`), so a shop's own catalog fills them.
Only which tool to call comes from the text — never whose data.

The same classifier also says whether a message asks about the shopper's own orders (`asks_about_orders`,
from the phrasings' `intent` labels): an anonymous visitor asking that is told to sign in by the
engine, before any model could invent an order for them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from bot.assistant.prompt import FACT_KINDS, ORDERS, POLICIES, PRODUCTS
from bot.assistant.tools import ToolSpec, registered
from bot.assistant.tools import version as registry_version
from retrieval.documents import SearchDoc
from retrieval.embeddings import Embedder
from retrieval.index import load_or_build

NO_TOOL = "none"
# L2 strength of the router's classifier: much stronger and "pull up my past purchases" starts to read as a
# reorder request (the range measured is in docs/benchmarks.md).
ROUTER_L2 = 1e-4
ROUTER_FIT_ITERATIONS = 500
# Training intents (adapters/data.py) that ask about the shopper's own orders and need a signed-in shopper.
ORDER_INTENTS = frozenset(
    {"order_status", "tracking", "delivery_date", "specific_order", "anonymous_order", "follow_up_delivery"}
)

# The kinds of facts a question of each intent is answered from, where that is fewer than all (intents not
# listed need all of them; a tool's intent is declared in its module). Every fact left out is prompt the CPU
# need not read before the first token.
ANSWER_FACTS: dict[str, frozenset[str]] = {
    **{intent: frozenset({ORDERS}) for intent in ORDER_INTENTS},
    **{intent: frozenset({PRODUCTS}) for intent in ("price", "stock", "attribute", "compare", "unknown_product")},
    "policy": frozenset({POLICIES}),
    # the answer is "only your own orders": the foreign order numbers asked about are stated in the prompt
    "other_customer_order": frozenset({ORDERS}),
    **{intent: frozenset() for intent in ("greeting", "thanks", "off_topic", "other_customer_data", "small_talk")},
    # answered from the policies' own sentences (bot/assistant/answers.py)
    "complaint": frozenset({POLICIES}),
    "beyond_powers": frozenset({POLICIES}),
}
# Questions about the shop's terms, and what a complaint or a request the bot cannot carry out is answered
# from: the policy sentences that say what to do.
POLICY_INTENTS = frozenset({"policy", "complaint", "beyond_powers"})
THRESHOLD_GRID = tuple(round(0.05 * n, 2) for n in range(2, 20))
CALIBRATION = "calibration"  # a routing row's "split" for the phrasings held apart from the fit


_facts: tuple[int, dict[str, frozenset[str]]] = (-1, {})


def facts_by_intent() -> dict[str, frozenset[str]]:
    """ANSWER_FACTS and the tools' own intents, made anew only when a tool is registered or removed."""
    global _facts
    version = registry_version()
    if _facts[0] != version:
        specs = registered()
        _facts = (version, ANSWER_FACTS | {s.route.intent: s.route.facts for s in specs if s.route.facts is not None})
    return _facts[1]


# A kind of fact is left out only when the intents that read it are together less likely than this: "how much
# does delivery cost?" reads as a policy question (0.53) but as a price one too (0.28), and keeps its products.
# On the project's own eval questions this leaves a kind of fact the question's labelled intent reads out only
# for planted injections (price questions that need no orders).
MIN_FACT_PROBABILITY = 0.1


@dataclass(frozen=True)
class Routing:
    """What the router makes of one message: its likeliest intent, and the tool (if any) its probability
    reaches the calibrated threshold of."""

    intent: str
    tool: str | None
    probabilities: dict[str, float] = field(repr=False)

    @property
    def asks_about_orders(self) -> bool:
        """Whether the order intents together are more likely than not."""
        return sum(p for label, p in self.probabilities.items() if label in ORDER_INTENTS) > 0.5


class IntentRouter:
    """A linear classifier over the sentence embeddings of labelled phrasings.

    A nearest-neighbour vote follows the words a question shares with the phrasings ("I'd like to browse
    soup" sat next to "is the minestrone soup vegetarian?") and misrouted questions a softmax layer fitted
    on the same phrasings gets right: it learns which directions of the embedding carry the intent.
    Fitting is quick, so it is done at start-up, not stored; so is the calibration of the tools'
    thresholds on the rows marked `"split": "calibration"`, which the fit never sees."""

    def __init__(
        self,
        vectors: np.ndarray,
        labels: list[str],
        tool_of: dict[str, str],
        embed: Callable[[str], np.ndarray],
        held: tuple[np.ndarray, list[str]] | None = None,
    ) -> None:
        self.classes = sorted(set(labels) | set(held[1] if held else []))
        self.tool_of = tool_of  # class (an intent, or a tool where the file names no intent) -> its tool label
        self.embed = embed
        self.weights, self.bias = _fit_softmax(
            vectors, [self.classes.index(label) for label in labels], len(self.classes)
        )
        self.thresholds: dict[str, float] = {}
        self.calibration: dict = {}
        if held is not None and len(held[1]):
            self.thresholds, self.calibration = self.calibrate(*held)

    @classmethod
    def open(
        cls, examples_file: Path, embedder: Embedder, index_dir: Path, embed: Callable[[str], np.ndarray] | None = None
    ) -> IntentRouter:
        """Fit on the JSONL of {"text", "tool", "intent"?, "split"?} (tool null: answer without one); the
        phrasings' embeddings are cached like the catalog's. Rows of the calibration split set the tools'
        thresholds and are not fitted on.

        `embed`: the query embedding to use, e.g. the retriever's cached one, which has usually just
        embedded the same question; by default the embedder's."""
        docs = []
        labels: list[str] = []
        held_out: list[bool] = []
        tools: dict[str, Counter] = {}
        for n, line in enumerate(Path(examples_file).read_text().splitlines()):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row.get("text"), str) or not row["text"].strip():
                raise ValueError(f"{examples_file} line {n + 1}: 'text' must be a non-empty string")
            tool = row.get("tool") or NO_TOOL
            label = row["intent"] if isinstance(row.get("intent"), str) else tool
            docs.append(SearchDoc(id=f"r{n}", source_id=tool, kind="routing", title=tool, text=row["text"]))
            labels.append(label)
            held_out.append(row.get("split") == CALIBRATION)
            tools.setdefault(label, Counter())[tool] += 1
        if not docs or all(held_out):
            raise ValueError(f"{examples_file} has no routing examples to fit on")
        index, _ = load_or_build(Path(index_dir), docs, embedder)
        vectors = index.index.reconstruct_n(0, len(docs))
        fit = [i for i, held in enumerate(held_out) if not held]
        held = [i for i, held in enumerate(held_out) if held]
        tool_of = {label: counts.most_common(1)[0][0] for label, counts in tools.items()}
        return cls(
            vectors[fit],
            [labels[i] for i in fit],
            tool_of,
            embed or (lambda text: embedder.embed([text])[0]),
            held=(vectors[held], [labels[i] for i in held]) if held else None,
        )

    def calibrate(self, vectors: np.ndarray, labels: list[str]) -> tuple[dict[str, float], dict]:
        """Each tool class's threshold: the lowest on the grid at which the held-apart phrasings reaching it
        are that tool's at least as often as its route's `precision` asks (a wrong handoff pauses the bot, a
        wrong search costs nothing). Returns the thresholds and a report: per tool its threshold, precision
        and recall there, and the router's accuracy on the likeliest intent."""
        x = torch.from_numpy(np.array(vectors, dtype=np.float32))
        probabilities = torch.softmax(x @ self.weights + self.bias, dim=1)
        truth = [self.tool_of.get(label, NO_TOOL) for label in labels]
        thresholds: dict[str, float] = {}
        report: dict = {"rows": len(labels), "tools": {}}
        wanted = {spec.name: spec.route.precision for spec in registered()}
        for label, tool in sorted(self.tool_of.items()):
            if tool == NO_TOOL or label not in self.classes:
                continue
            p = probabilities[:, self.classes.index(label)].tolist()
            chosen = None
            for threshold in THRESHOLD_GRID:
                caught = [t for t, q in zip(truth, p) if q >= threshold]
                if caught and sum(t == tool for t in caught) / len(caught) >= wanted.get(tool, 1.0):
                    chosen = threshold
                    break
            thresholds[label] = chosen if chosen is not None else 1.0
            caught = [t for t, q in zip(truth, p) if q >= thresholds[label]]
            relevant = sum(t == tool for t in truth)
            report["tools"][tool] = {
                "intent": label,
                "threshold": thresholds[label],
                "precision": round(sum(t == tool for t in caught) / len(caught), 3) if caught else None,
                "recall": round(sum(t == tool for t in caught) / relevant, 3) if relevant else None,
                "held_apart": relevant,
            }
        predicted = [self.classes[i] for i in probabilities.argmax(dim=1).tolist()]
        report["intent_accuracy"] = round(sum(a == b for a, b in zip(predicted, labels)) / len(labels), 3)
        return thresholds, report

    def _probabilities(self, text: str) -> dict[str, float]:
        vector = torch.from_numpy(np.array(self.embed(text), dtype=np.float32))
        return dict(zip(self.classes, torch.softmax(vector @ self.weights + self.bias, dim=0).tolist()))

    def route(self, text: str) -> Routing:
        """The message's likeliest intent, and its tool: the likeliest class's where no threshold is set (the
        many intents answered without a tool would otherwise outvote a search on probability mass alone),
        else the tool class whose probability passes its calibrated threshold, the likeliest first."""
        probabilities = self._probabilities(text)
        intent = max(probabilities, key=probabilities.__getitem__)
        if self.thresholds:
            passing = [c for c, t in self.thresholds.items() if probabilities.get(c, 0.0) >= t]
            label = max(passing, key=probabilities.__getitem__) if passing else None
        else:
            label = intent
        tool = self.tool_of.get(label, NO_TOOL) if label is not None else NO_TOOL
        return Routing(intent, None if tool == NO_TOOL else tool, probabilities)

    def intent(self, text: str) -> str:
        """The likeliest class: an intent, or a tool where the phrasings name no intent."""
        return self.route(text).intent

    def tool_for(self, text: str) -> str | None:
        return self.route(text).tool

    def fact_kinds(self, text: str) -> frozenset[str]:
        """The kinds of facts the message may need: each kind the intents that read it make at least
        `MIN_FACT_PROBABILITY` likely (the same figure for every kind, so an unsure router keeps them all)."""
        probabilities = self._probabilities(text)
        facts = facts_by_intent()
        return frozenset(
            kind
            for kind in FACT_KINDS
            if sum(p for label, p in probabilities.items() if kind in facts.get(label, FACT_KINDS))
            >= MIN_FACT_PROBABILITY
        )

    def asks_about_orders(self, text: str) -> bool:
        """Whether the message most likely asks about the shopper's own orders, the order intents counted
        together (False without intent labels)."""
        return self.route(text).asks_about_orders


def _fit_softmax(vectors: np.ndarray, targets: list[int], n_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Multinomial logistic regression, L2-regularised, from zeros: the same phrasings give the same router."""
    x = torch.from_numpy(np.array(vectors, dtype=np.float32))
    y = torch.tensor(targets)
    weights = torch.zeros(x.shape[1], n_classes, requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([weights, bias], max_iter=ROUTER_FIT_ITERATIONS, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        value = F.cross_entropy(x @ weights + bias, y) + ROUTER_L2 * (weights**2).sum()
        value.backward()
        return value

    with torch.enable_grad():
        optimizer.step(loss)
    return weights.detach(), bias.detach()


def tool_for(text: str, router: IntentRouter | None = None, tools: list[ToolSpec] | None = None) -> str | None:
    """The tool a shopper's message asks for, if any: the first tool whose phrases match (in their priority
    order; asking for a person wins over everything else), else the router's pick among the tools it may
    choose. `tools`: the registered tools by default."""
    specs = registered() if tools is None else tools
    for spec in sorted((s for s in specs if s.route.pattern is not None), key=lambda s: s.route.priority):
        if spec.route.pattern.search(text):
            return spec.name
    routed = router.tool_for(text) if router is not None else None
    return routed if any(s.name == routed and s.route.classifier for s in specs) else None


def rule_arguments(tool: str, text: str) -> dict:
    """Arguments for a rule-picked call, from the shopper's words (a search looks for what they wrote)."""
    spec = next((s for s in registered() if s.name == tool), None)
    return spec.route.arguments(text) if spec is not None else {}
