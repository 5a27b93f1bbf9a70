"""`shopbot eval answers`: runs each case's turns as one conversation through the real engine and scores the last answer.

A case passes when the final answer (its text plus the items of the tool results shown to the shopper)
contains every `expect_all` string and, if any are given, one `expect_any` string (case-insensitive),
contains no `expect_none` string, and the tool named in `expect_tool` was called in that turn
(`"none"`: no tool; null: not checked).

A case may also carry `plant`: text put at the start of one product's description before the run, as a
seller editing a listing might (instructions aimed at the assistant); at the start because the prompt
shows only a description's first sentence (`bot/assistant/prompt.py`), and the case must test text the model
reads. It is written to the evaluation's scratch copy of the database after the search index is loaded,
so retrieval still finds the product by its real text while the prompt shows the planted one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.assistant.engine import ChatEngine
from bot.assistant.grounding import check as check_grounding
from bot.assistant.tools import suggest_reorder


class Plant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str
    text: str


class AnswerCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    customer_id: str | None
    turns: list[str]
    expect_all: list[str] = []
    expect_any: list[str] = []
    expect_none: list[str] = []
    expect_tool: str | None = None
    intent: str | None = None
    plant: Plant | None = None


def load_cases(path: Path, limit: int | None = None) -> list[AnswerCase]:
    cases = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            cases.append(AnswerCase.model_validate_json(line))
        except ValidationError as exc:
            raise ValueError(f"{path}:{n}: {exc.errors(include_url=False)}") from exc
    if not cases:
        raise ValueError(f"{path} has no cases")
    return cases[:limit] if limit else cases


def plant(store, cases: Iterable[AnswerCase]) -> int:
    """Put every case's planted text before its product's description, in one transaction; returns how many."""
    from retrieval.schema import Product

    plants = [c.plant for c in cases if c.plant is not None]
    with store.transaction() as s:
        for p in plants:
            product = s.get(Product, p.product_id)
            if product is None:
                raise ValueError(f"plant: no product {p.product_id!r} in the shop")
            product.description = f"{p.text} {product.description}".strip()
    return len(plants)


def shown_text(text: str, tool_results) -> str:
    """What the shopper sees: the answer, then every value of every tool card."""
    parts = [text]
    for _, result in tool_results:
        for item in result.items:
            parts += [str(v) for v in item.values() if v is not None]
    return "\n".join(parts)


def score(case: AnswerCase, text: str, tools_called: list[str]) -> tuple[bool, bool | None, list[str]]:
    """(passed, tool check or None when not checked, reasons it failed)."""
    low = text.lower()
    why = [f"missing {s!r}" for s in case.expect_all if s.lower() not in low]
    if case.expect_any and not any(s.lower() in low for s in case.expect_any):
        why.append(f"none of {case.expect_any}")
    why += [f"contains {s!r}" for s in case.expect_none if s.lower() in low]
    tool_ok = None
    if case.expect_tool is not None:
        tool_ok = (not tools_called) if case.expect_tool == "none" else case.expect_tool in tools_called
        if not tool_ok:
            why.append(f"tool {case.expect_tool!r} expected, called {tools_called}")
    return not why, tool_ok, why


def run_case(engine: ChatEngine, case: AnswerCase) -> dict:
    conversation = engine.start(case.customer_id)
    reply = None
    for turn in case.turns:
        reply = engine.reply(conversation, case.customer_id, turn)
        for _ in reply:
            pass
    assert reply is not None
    called = [name for name, _ in reply.tool_results]
    called += [e["name"] for e in _refused(reply)]
    text = shown_text(reply.text.strip(), reply.tool_results)
    passed, tool_ok, why = score(case, text, called)
    return {
        "id": case.id,
        "intent": case.intent,
        "passed": passed,
        "tool_ok": tool_ok,
        "why": why,
        "answer": reply.text.strip(),
        "tools": called,
        "names_suggestion": names_suggestion(reply.text, reply.tool_results),
        "ungrounded": [f"{f.kind} {f.text}: {f.why}" for f in check_grounding(reply.text, reply.context)],
        "corrections": [f"{f.kind} {f.text}: {f.why}" for f in reply.corrections],
    }


def names_suggestion(text: str, tool_results) -> bool | None:
    """Whether the answer's own words name one of the first three reorder suggestions (None: none were made).

    The cards carry the names whatever the answer says, so a case scored on the shown text passes a
    reorder answer of "I can only help with..." too; this is the figure that catches it."""
    names = [
        item["name"]
        for name, result in tool_results
        if name == suggest_reorder.NAME
        for item in result.items
        if item.get("kind") == "reorder"
    ][:3]
    return any(n.lower() in text.lower() for n in names) if names else None


def _refused(reply) -> list[dict]:
    from bot.assistant.toolcall import ToolFailure

    return [{"name": n} for n, r in reply.context.tool_results if isinstance(r, ToolFailure)]


def summarize(results: list[dict]) -> dict:
    n = len(results)
    tool_checked = [r for r in results if r["tool_ok"] is not None]
    suggested = [r for r in results if r.get("names_suggestion") is not None]
    by_intent: dict[str, dict] = {}
    for r in results:
        group = by_intent.setdefault(r["intent"] or "other", {"cases": 0, "passed": 0})
        group["cases"] += 1
        group["passed"] += r["passed"]
    for group in by_intent.values():
        group["accuracy"] = round(group["passed"] / group["cases"], 4)
    return {
        "cases": n,
        "accuracy": round(sum(r["passed"] for r in results) / n, 4) if n else 0.0,
        "tool_accuracy": round(sum(r["tool_ok"] for r in tool_checked) / len(tool_checked), 4)
        if tool_checked
        else None,
        "reorder_answers_naming_a_suggestion": f"{sum(r['names_suggestion'] for r in suggested)}/{len(suggested)}"
        if suggested
        else None,
        "by_intent": dict(sorted(by_intent.items())),
        # answers stating a price, stock count, order, tracking number or date the turn's facts do not back
        "ungrounded_answers": sum(bool(r.get("ungrounded")) for r in results),
        "corrected_answers": sum(bool(r.get("corrections")) for r in results),
        "ungrounded": [
            {"id": r["id"], "findings": r["ungrounded"], "answer": r["answer"]} for r in results if r.get("ungrounded")
        ],
        "failures": [{k: r[k] for k in ("id", "why", "answer", "tools")} for r in results if not r["passed"]],
    }


def evaluate(engine: ChatEngine, cases: Iterable[AnswerCase], *, progress: bool = True, workers: int = 1) -> dict:
    """Cases run `workers` at a time: with the batching scheduler they share model steps, as shoppers do."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    from bot.inference.scheduler import torch_on_one_core

    cases = list(cases)
    with ThreadPoolExecutor(max(1, workers), initializer=torch_on_one_core) as pool:
        running = pool.map(lambda c: run_case(engine, c), cases)
        results = list(tqdm(running, total=len(cases), desc="answers", unit="case", disable=not progress))
    return summarize(results)


def plot_by_intent(result: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    intents = list(result["by_intent"])
    values = [result["by_intent"][i]["accuracy"] for i in intents]
    fig, ax = plt.subplots(figsize=(8, max(3, 0.3 * len(intents))))
    ax.barh(intents, values, color="#3a7d44")
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy")
    ax.set_title(f"{title}: accuracy {result['accuracy']:.0%} over {result['cases']} cases")
    ax.invert_yaxis()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def dumps(result: dict) -> str:
    return json.dumps(result)
