"""`shopbot eval routing`: the router alone on answer-evaluation cases, in seconds rather than minutes.

Each case's last message is read and routed as the engine does under rule routing (misspellings
corrected, then `tool_for`: the tools' phrases, then the classifier); the route is the tool called, or "none". A case with `expect_tool` is
scored on its route; one with an `intent` the router knows is also scored on the router's likeliest intent.
The model is never loaded.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

from adapters.evaluate import AnswerCase
from bot.assistant.intents import IntentRouter, tool_for

NO_ROUTE = "none"


def _scores(pairs: list[tuple[str, str]]) -> dict:
    by: dict[str, Counter] = defaultdict(Counter)
    for expected, predicted in pairs:
        by[expected][predicted] += 1
    correct = sum(1 for expected, predicted in pairs if expected == predicted)
    return {
        "cases": len(pairs),
        "accuracy": round(correct / len(pairs), 4) if pairs else None,
        "by_route": {
            expected: {
                "cases": sum(row.values()),
                "correct": row[expected],
                "accuracy": round(row[expected] / sum(row.values()), 4),
            }
            for expected, row in sorted(by.items())
        },
        "confusion": {expected: dict(sorted(row.items())) for expected, row in sorted(by.items())},
    }


def evaluate_routing(
    router: IntentRouter | None, cases: Iterable[AnswerCase], read: Callable[[str], str] = lambda text: text
) -> dict:
    """`read`: the message as the engine reads it before routing (misspellings corrected)."""
    started = time.perf_counter()
    routes, intents, misrouted = [], [], []
    known = set(router.classes) if router is not None else set()
    for case in cases:
        text = read(case.turns[-1])
        if case.expect_tool is not None:
            predicted = tool_for(text, router) or NO_ROUTE
            routes.append((case.expect_tool, predicted))
            if predicted != case.expect_tool:
                misrouted.append({"id": case.id, "text": text, "expected": case.expect_tool, "routed": predicted})
        if router is not None and case.intent in known:
            intents.append((case.intent, router.intent(text)))
    result = {"routes": _scores(routes), "misrouted": misrouted}
    if router is not None:
        intent_scores = _scores(intents)
        result["intents"] = {k: intent_scores[k] for k in ("cases", "accuracy", "by_route")}
        result["intents"]["by_intent"] = result["intents"].pop("by_route")
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result
