"""The policy reader: the shop's embedder with a small LoRA, tuned to find the policy sentence that answers a
shopper's question.

A policy question is answered with the policy's own sentences (bot/assistant/answers.py), so the answer is
only as good as the sentence found. The bundled MiniLM, asked "return window?", put "Open the order under
Account > Orders and choose Return items" above "You can return unopened, non-perishable items within 30
days": a question and the sentence that answers it share few words, and the model never read a shop's terms.
Tuned on shoppers' questions, each paired with the sentence that answers it (adapters/policy_questions.jsonl,
written apart from the evaluation sets), with the other sentences of a batch as the wrong answers (multiple
negatives ranking loss), it finds the answering sentence far more often (docs/benchmarks.md). Only policy
sentences are searched with it; products, policy chunks and routing keep the plain embedder.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.settings import PROJECT_ROOT
from retrieval.documents import policy_sentence_docs
from retrieval.schema import Policy

QUESTIONS = PROJECT_ROOT / "adapters" / "policy_questions.jsonl"
KINDS = ("question", "request")
REPORT = "reader_report.json"


@dataclass(frozen=True)
class ReaderConfig:
    epochs: int = 4
    learning_rate: float = 2e-4
    rank: int = 16
    batch_size: int = 32
    # cosine similarities are multiplied by this before the softmax over a batch's sentences
    scale: float = 20.0
    seed: int = 0


@dataclass(frozen=True)
class PolicyQuestion:
    """A shopper's message and the policy sentence that answers it; `kind` "request" asks the bot to do what the
    sentence tells the shopper how to do ("cancel my order" for the steps to cancel)."""

    policy: str
    sentence: str
    text: str
    kind: str


def load_questions(path: Path) -> list[PolicyQuestion]:
    """The JSONL file's rows; a bad row raises ValueError naming its line and what is wrong."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from exc
        missing = [k for k in ("policy", "sentence", "text", "kind") if not isinstance(raw.get(k), str) or not raw[k]]
        if missing:
            raise ValueError(f"{path}:{n}: needs a non-empty {', '.join(missing)}")
        if raw["kind"] not in KINDS:
            raise ValueError(f"{path}:{n}: kind must be one of {', '.join(KINDS)}, not {raw['kind']!r}")
        rows.append(PolicyQuestion(raw["policy"], raw["sentence"], raw["text"], raw["kind"]))
    return rows


def training_pairs(questions: Iterable[PolicyQuestion], policies: Iterable[Policy]) -> list[tuple[str, str]]:
    """(question, the sentence's indexed text) for each question; a question whose sentence is no longer in its
    policy raises ValueError naming it (a policy edited since the questions were written)."""
    indexed = {(d.source_id, d.metadata["sentence"]): d.text for d in policy_sentence_docs(policies)}
    lost = [q for q in questions if (q.policy, q.sentence) not in indexed]
    if lost:
        shown = "; ".join(f"{q.policy}: {q.sentence[:60]!r}" for q in lost[:5])
        raise ValueError(f"{len(lost)} questions name a sentence their policy does not have, e.g. {shown}")
    return [(q.text, indexed[(q.policy, q.sentence)]) for q in questions]


def train_reader(
    pairs: list[tuple[str, str]],
    embedder_path: Path,
    out: Path,
    config: ReaderConfig = ReaderConfig(),
    progress: Callable[[str], None] | None = None,
    base_name: str | None = None,
) -> dict:
    """Tune a LoRA of the embedder at `embedder_path` on `pairs` and save it to `out` (adapter_config.json,
    adapter_model.safetensors and reader_report.json); `base_name` is what the adapter's config records as its
    base (the `embedder` setting; default: the folder). Two questions of one sentence are never each other's
    wrong answers: a batch holds one question per sentence. The loop is written out because sentence-transformers'
    trainer needs the `datasets` package, which nothing else here does."""
    import torch
    from peft import LoraConfig, get_peft_model
    from sentence_transformers import SentenceTransformer

    random.seed(config.seed)
    torch.manual_seed(config.seed)
    model = SentenceTransformer(str(embedder_path), device="cpu", local_files_only=True)
    first = model[0]
    lora = LoraConfig(
        r=config.rank,
        lora_alpha=2 * config.rank,
        lora_dropout=0.05,
        target_modules=["query", "key", "value", "dense"],
    )
    first.model = get_peft_model(first.model, lora)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)

    def encode(texts: list[str]):
        return torch.nn.functional.normalize(model(model.preprocess(texts))["sentence_embedding"], dim=-1)

    order = random.Random(config.seed)
    losses: list[float] = []
    started = time.perf_counter()
    for epoch in range(config.epochs):
        shuffled = list(pairs)
        order.shuffle(shuffled)
        total, steps = 0.0, 0
        for batch in _batches(shuffled, config.batch_size):
            questions, sentences = encode([q for q, _ in batch]), encode([s for _, s in batch])
            logits = config.scale * questions @ sentences.T
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, steps = total + loss.item(), steps + 1
        losses.append(round(total / max(steps, 1), 4))
        if progress is not None:
            progress(f"epoch {epoch + 1}/{config.epochs}: loss {losses[-1]} ({time.perf_counter() - started:.0f} s)")
    out.mkdir(parents=True, exist_ok=True)
    first.model.peft_config["default"].base_model_name_or_path = base_name or str(embedder_path)
    first.model.save_pretrained(str(out))
    (out / "README.md").unlink(missing_ok=True)  # peft's blank model card
    report = {
        "pairs": len(pairs),
        "sentences": len({s for _, s in pairs}),
        "config": asdict(config),
        "loss_by_epoch": losses,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / REPORT).write_text(json.dumps(report, indent=2) + "\n")
    return report


def _batches(pairs: list[tuple[str, str]], size: int) -> Iterable[list[tuple[str, str]]]:
    """Batches of up to `size` pairs with no sentence twice; a pair whose sentence is taken waits for the next."""
    waiting = list(pairs)
    while waiting:
        batch: list[tuple[str, str]] = []
        taken: set[str] = set()
        rest = []
        for pair in waiting:
            if len(batch) < size and pair[1] not in taken:
                batch.append(pair)
                taken.add(pair[1])
            else:
                rest.append(pair)
        yield batch
        waiting = rest


def evaluate_reader(retriever, cases, read: Callable[[str], str] = str) -> dict:
    """How often the policy sentence a case expects is the one found first, and among those a policy answer
    quotes (bot/assistant/answers.py), on the one-turn policy, complaint and beyond-the-bot cases whose expected
    words some policy sentence holds. `read`: the engine's reading of a message (spelling)."""
    from bot.assistant.answers import policy_sentences
    from bot.assistant.engine import policy_search
    from bot.assistant.intents import POLICY_INTENTS
    from retrieval.retriever import POLICY_SENTENCES

    sentences = retriever.kinds[POLICY_SENTENCES].dense.docs
    first = quoted = 0
    scored, misses = [], []
    for case in cases:
        wanted = [w.lower() for w in case.expect_all + case.expect_any]
        if case.intent not in POLICY_INTENTS or len(case.turns) != 1 or not wanted:
            continue
        if not any(_holds(d, wanted) for d in sentences):
            continue
        text = read(case.turns[0])
        hits, also = policy_search(retriever, text, text)
        chosen = policy_sentences([h.doc for h in hits], retriever.sentence_beside, also)
        scored.append(case.id)
        first += bool(hits) and _holds(hits[0].doc, wanted)
        if any(_holds(d, wanted) for d in chosen):
            quoted += 1
        else:
            misses.append({"id": case.id, "text": case.turns[0], "first": hits[0].doc.id if hits else None})
    n = len(scored)
    return {
        "cases": n,
        "found_first": round(first / n, 4) if n else None,
        "quoted": round(quoted / n, 4) if n else None,
        "misses": misses,
    }


def _holds(doc, words: list[str]) -> bool:
    return any(w in doc.metadata.get("sentence", "").lower() for w in words)
