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
# The router's probabilities: this share from the vote of the phrasings nearest the message, the rest from the
# linear layer. The layer, regularised and class-weighted, misses messages worded close to phrasings it was
# fitted on ("when do I get a tracking number for a parcel order?" read as tracking); the vote misses wordings
# no phrasing is near. Measured in docs/benchmarks.md.
NEIGHBOUR_SHARE = 0.25
NEIGHBOURS = 10
NEIGHBOUR_TEMPERATURE = 0.05  # of the softmax over the neighbours' cosine similarities
# Training intents (adapters/data.py) that ask about the shopper's own orders and need a signed-in shopper.
ORDER_INTENTS = frozenset(
    {"order_status", "tracking", "delivery_date", "specific_order", "anonymous_order", "follow_up_delivery"}
)

# An order asked about, the shopper's or not ("where is order 5245?" with someone else's number).
ORDER_MASS_INTENTS = ORDER_INTENTS | {"other_customer_order"}

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
POLICY_ANSWER = "policy_answer"  # the route all of POLICY_INTENTS lead to
# Asking for another shopper's data, claiming to be someone, or telling the bot to break its rules: refused.
REFUSED_INTENTS = frozenset({"other_customer_data", "injection"})
REFUSAL = "refusal"
# Routes answered in fixed words (bot/assistant/answers.py), each with the intents that lead to it.
FIXED_ROUTES = {POLICY_ANSWER: POLICY_INTENTS, REFUSAL: REFUSED_INTENTS}
FIXED_ANSWER_PRECISION = {POLICY_ANSWER: 0.9, REFUSAL: 0.97}
THRESHOLD_GRID = tuple(round(0.05 * n, 2) for n in range(2, 20))
NEVER = 1.01  # the threshold of a route no grid point makes precise enough
# Routes that ask no more than this precision may be acted on by a router without calibration rows.
UNCALIBRATED_PRECISION = 0.8
# How often a fixed answer's route must be right on the held-apart phrasings: a wrong policy answer quotes a
# policy to a shopper who asked about a product or their order; a wrong refusal turns away a shopper asking
# about their own order (the model, reading only their own facts, refuses others' data anyway).
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
    """What the router makes of one message: its likeliest intent, and the class it is sure enough of to act
    on (a tool to call, an intent answered in fixed words)."""

    intent: str
    tool: str | None
    probabilities: dict[str, float] = field(repr=False)
    acted_on: str | None = None  # the class whose calibrated threshold the message passes, if any

    @property
    def order_mass(self) -> float:
        """How likely the message asks about an order: the order intents together, an order number that
        turns out not to be the shopper's included."""
        return sum(p for label, p in self.probabilities.items() if label in ORDER_MASS_INTENTS)

    @property
    def asks_about_orders(self) -> bool:
        return self.order_mass > 0.5


class IntentRouter:
    """A linear classifier over the sentence embeddings of labelled phrasings, blended with the vote of the
    phrasings nearest the message.

    A nearest-neighbour vote alone follows the words a question shares with the phrasings ("I'd like to
    browse soup" sat next to "is the minestrone soup vegetarian?") and misrouted questions a softmax layer
    fitted on the same phrasings gets right: it learns which directions of the embedding carry the intent.
    The layer alone, regularised, misses messages worded close to a phrasing of a small class; the blend
    (`NEIGHBOUR_SHARE`) keeps both. Fitting is quick, so it is done at start-up, not stored; so is the
    calibration of the routes' thresholds on the rows marked `"split": "calibration"`, which the fit never
    sees."""

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
        targets = [self.classes.index(label) for label in labels]
        self.weights, self.bias = _fit_softmax(vectors, targets, len(self.classes))
        self.neighbours = torch.from_numpy(np.array(vectors, dtype=np.float32))
        self.neighbour_labels = torch.tensor(targets)
        self.balance = _balance(self.neighbour_labels, len(self.classes))
        self.thresholds: dict[str, float] = {}
        self.calibration: dict = {}
        self.phrasings: list[str] = []  # the texts fitted and calibrated on, where read from a file
        self.labels: list[str] = []  # each phrasing's class
        if held is not None and len(held[1]):
            self.thresholds, self.calibration = self.calibrate(*held)

    @classmethod
    def open(
        cls, examples_file: Path, embedder: Embedder, index_dir: Path, embed: Callable[[str], np.ndarray] | None = None
    ) -> IntentRouter:
        """Fit on the JSONL of {"text", "tool", "intent"?, "split"?} (tool null: answer without one); the
        phrasings' embeddings are cached like the catalog's. Rows of the calibration split set the routes'
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
        router = cls(
            vectors[fit],
            [labels[i] for i in fit],
            tool_of,
            embed or (lambda text: embedder.embed([text])[0]),
            held=(vectors[held], [labels[i] for i in held]) if held else None,
        )
        router.phrasings = [d.text for d in docs]
        router.labels = labels
        return router

    def _routes(self) -> dict[str, frozenset[str]]:
        """What is acted on, each with the classes that lead to it: each tool the router may call (by its
        intent), and the answers from the policies' sentences, which several intents lead to."""
        routes = {s.route.intent: frozenset({s.route.intent}) for s in registered() if s.route.classifier}
        return FIXED_ROUTES | {name: labels for name, labels in routes.items() if name in self.classes}

    def calibrate(self, vectors: np.ndarray, labels: list[str]) -> tuple[dict[str, float], dict]:
        """The threshold of each route (a tool's intent; a fixed answer): the lowest on the grid at which the
        held-apart phrasings reaching it are its own at least as often as asked (a tool's route says how
        often: a wrong handoff pauses the bot, a wrong search costs nothing; a fixed answer's is in
        `FIXED_ANSWER_PRECISION`). Returns the thresholds and a report: per route its threshold, precision and
        recall there, and the router's accuracy on the likeliest intent."""
        x = torch.from_numpy(np.array(vectors, dtype=np.float32))
        probabilities = self._blend(x)
        wanted = {s.route.intent: s.route.precision for s in registered() if s.route.classifier}
        wanted |= FIXED_ANSWER_PRECISION
        thresholds: dict[str, float] = {}
        report: dict = {"rows": len(labels), "routes": {}}
        for route, members in sorted(self._routes().items()):
            columns = [self.classes.index(label) for label in members if label in self.classes]
            p = probabilities[:, columns].sum(dim=1).tolist()
            right = [label in members for label in labels]
            thresholds[route] = next((t for t in THRESHOLD_GRID if _precision(right, p, t) >= wanted[route]), NEVER)
            caught = [r for r, q in zip(right, p) if q >= thresholds[route]]
            report["routes"][route] = {
                "tool": self.tool_of.get(route) if self.tool_of.get(route, NO_TOOL) != NO_TOOL else None,
                "threshold": thresholds[route],
                "precision": round(sum(caught) / len(caught), 3) if caught else None,
                "recall": round(sum(caught) / sum(right), 3) if any(right) else None,
                "held_apart": sum(right),
            }
        predicted = [self.classes[i] for i in probabilities.argmax(dim=1).tolist()]
        report["intent_accuracy"] = round(sum(a == b for a, b in zip(predicted, labels)) / len(labels), 3)
        return thresholds, report

    def _blend(self, x: torch.Tensor) -> torch.Tensor:
        """Each row's class probabilities: the linear layer's and the nearest phrasings' vote, blended."""
        linear = torch.softmax(x @ self.weights + self.bias, dim=1)
        near = torch.topk(x @ self.neighbours.T, min(NEIGHBOURS, len(self.neighbour_labels)), dim=1)
        labels = self.neighbour_labels[near.indices]
        weights = torch.softmax(near.values / NEIGHBOUR_TEMPERATURE, dim=1) * self.balance[labels]
        vote = torch.zeros_like(linear).scatter_add_(1, labels, weights)
        vote = vote / vote.sum(dim=1, keepdim=True)
        return (1 - NEIGHBOUR_SHARE) * linear + NEIGHBOUR_SHARE * vote

    def _probabilities(self, text: str) -> dict[str, float]:
        vector = torch.from_numpy(np.array(self.embed(text), dtype=np.float32))
        return dict(zip(self.classes, self._blend(vector.unsqueeze(0))[0].tolist()))

    def route(self, text: str) -> Routing:
        """The message's likeliest intent, and what is acted on: the route whose probability passes its
        calibrated threshold, the likeliest first (for a fixed answer, its likeliest intent), with its tool if
        it has one. Without calibration rows, the likeliest class where a wrong call costs nothing."""
        probabilities = self._probabilities(text)
        intent = max(probabilities, key=probabilities.__getitem__)
        acted = intent if self._cheap_to_miss(intent) else None
        if self.thresholds:
            routes = self._routes()
            mass = {
                r: sum(probabilities.get(label, 0.0) for label in routes[r]) for r in routes if r in self.thresholds
            }
            passing = [
                r for r in mass if mass[r] >= self.thresholds[r] and _outweighs(routes[r], mass[r], probabilities)
            ]
            acted = max(passing, key=mass.__getitem__) if passing else None
            if acted in FIXED_ROUTES:
                acted = max(FIXED_ROUTES[acted], key=lambda label: probabilities.get(label, 0.0))
        tool = self.tool_of.get(acted, NO_TOOL) if acted is not None else NO_TOOL
        return Routing(intent, None if tool == NO_TOOL else tool, probabilities, acted)

    def _cheap_to_miss(self, label: str) -> bool:
        """Whether an uncalibrated router may act on its likeliest class: only a tool whose wrong call costs
        nothing (a catalog search, the shopper's own order list); never a handoff, a reorder or a fixed answer."""
        tool = self.tool_of.get(label)
        return any(
            tool == s.name and s.route.classifier and s.route.precision <= UNCALIBRATED_PRECISION for s in registered()
        )

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


def _outweighs(members: frozenset[str], mass: float, probabilities: dict[str, float]) -> bool:
    """A route is taken only where no intent outside it is likelier ("pull up my past purchases" is the order
    history, though it passes the reorder threshold), and a fixed answer only where the order intents
    together are not: "which company brings my last order?" is the shopper's order, even near a policy."""
    if mass <= max((p for label, p in probabilities.items() if label not in members), default=0.0):
        return False
    return members not in FIXED_ROUTES.values() or mass > sum(
        p for label, p in probabilities.items() if label in ORDER_INTENTS
    )


def _precision(right: list[bool], probabilities: list[float], threshold: float) -> float:
    caught = [r for r, p in zip(right, probabilities) if p >= threshold]
    return sum(caught) / len(caught) if caught else 0.0


def _balance(targets: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Each class's weight: the inverse of its share of the phrasings, so a class with more phrasings (108
    reorder requests to 60 order-history ones) does not win by number alone."""
    counts = torch.bincount(targets, minlength=n_classes).clamp(min=1).float()
    return len(targets) / (n_classes * counts)


def _fit_softmax(vectors: np.ndarray, targets: list[int], n_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Multinomial logistic regression, L2-regularised, from zeros: the same phrasings give the same router.

    Classes are weighted by the inverse of their share of the phrasings: the policy questions outnumber the
    unknown-product ones six to one, and unweighted, "do you sell cigarettes?" read as a policy question."""
    x = torch.from_numpy(np.array(vectors, dtype=np.float32))
    y = torch.tensor(targets)
    balance = _balance(y, n_classes)
    weights = torch.zeros(x.shape[1], n_classes, requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([weights, bias], max_iter=ROUTER_FIT_ITERATIONS, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        value = F.cross_entropy(x @ weights + bias, y, weight=balance) + ROUTER_L2 * (weights**2).sum()
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
