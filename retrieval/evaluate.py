"""Retrieval quality on a case file: recall@5 and MRR over product and policy ids."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from retrieval.retriever import Retriever

EVAL_K = 5


@dataclass(frozen=True)
class RetrievalCase:
    query: str
    relevant: frozenset[str]


def load_cases(path: Path) -> list[RetrievalCase]:
    cases = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            query, relevant = row["query"], row["relevant"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f'{path}:{n}: expected {{"query": str, "relevant": [ids]}} ({exc})') from exc
        if not isinstance(query, str) or not query.strip() or not relevant:
            raise ValueError(f"{path}:{n}: query must be non-empty text and relevant a non-empty list")
        cases.append(RetrievalCase(query, frozenset(map(str, relevant))))
    return cases


def ranked_sources(retriever: Retriever, query: str, depth: int = 20) -> list[str]:
    """Distinct product/policy ids in rank order (several chunks of one policy count once)."""
    seen: list[str] = []
    for hit in retriever.search_all(query, depth):
        if hit.doc.source_id not in seen:
            seen.append(hit.doc.source_id)
    return seen


def evaluate(retriever: Retriever, cases: list[RetrievalCase], *, progress: bool = False) -> dict:
    recall_sum = rr_sum = 0.0
    misses = []
    for case in tqdm(cases, desc="retrieval eval", disable=not progress):
        ranking = ranked_sources(retriever, case.query)
        found = case.relevant & set(ranking[:EVAL_K])
        recall_sum += len(found) / len(case.relevant)
        first = next((i for i, s in enumerate(ranking) if s in case.relevant), None)
        rr_sum += 0.0 if first is None else 1.0 / (first + 1)
        if len(found) < len(case.relevant):
            misses.append({"query": case.query, "missing": sorted(case.relevant - found), "top": ranking[:EVAL_K]})
    n = len(cases)
    return {
        "cases": n,
        "recall_at_5": round(recall_sum / n, 4) if n else 0.0,
        "mrr": round(rr_sum / n, 4) if n else 0.0,
        "misses": misses,
    }
