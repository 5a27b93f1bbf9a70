"""`shopbot train lora`: a peft LoRA adapter for the chat model, trained on data generated from the shop.

The loss counts only the assistant's tokens (answer or tool call): the prompt is most of each example,
and learning to reproduce facts lists would spend the CPU budget on nothing. Micro-batches of one
example (gradients accumulated to `batch_size`) avoid padding, which matters when prompt lengths vary
widely. Everything random is seeded; checkpoints hold the adapter, the optimizer,
the scheduler, the step and the loss history, so `--resume` continues exactly where a run stopped.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from adapters.data import Example
from bot.settings import ROUTING_FILE, SHIPPED_ADAPTER

ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class TrainConfig(BaseModel):
    """One training run. Presets fix everything; the command line may override a few fields."""

    preset: str
    scenarios: int = Field(ge=1)  # generated conversations; tool intents yield two examples each
    heldout_scenarios: int = Field(ge=1)  # eval-phrasing examples for the perplexity report
    routing_scenarios: int = Field(1500, ge=1)  # labelled questions rule routing's classifier is fitted on
    max_steps: int | None = None  # None: one pass over the data
    batch_size: int = 8  # examples per optimizer step (micro-batches of one, accumulated)
    learning_rate: float = 4e-4
    warmup_steps: int = 5
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = ALL_LINEAR
    max_tokens: int = 1700  # longer examples are dropped, never truncated (a cut prompt would teach guessing)
    checkpoint_every: int = 10
    bf16: bool | None = None  # bfloat16 autocast; None: where this CPU runs it faster (bot/inference/precision.py)
    # the system message (the facts) is run without gradients and only the turns after it are backpropagated:
    # several times the examples per CPU-hour, since the facts are most of every prompt (README "The LoRA adapter")
    detach_facts: bool = True
    # start from this adapter's weights (same rank and layers) instead of zeros: a short run then teaches a
    # trained adapter a changed prompt format without the full run's hour of CPU
    init_adapter: str | None = None
    seed: int = 0


PRESETS = {
    # CI and development: a tiny slice, two optimizer steps, everything else exercised (data, loss, PNG, checkpoint).
    "smoke": TrainConfig(
        preset="smoke",
        scenarios=23,
        heldout_scenarios=6,
        routing_scenarios=46,
        max_steps=2,
        batch_size=2,
        checkpoint_every=1,
    ),
    # The shipped adapter: ~3,000 examples (the facts prefilled without gradients), sized to train within an
    # hour on 2 idle CPU cores with bfloat16 autocast; see README "The LoRA adapter".
    "full": TrainConfig(preset="full", scenarios=2500, heldout_scenarios=60, checkpoint_every=20),
    # The shipped adapter, trained on for 150 more steps on prompts exactly as the server builds them (few
    # facts per question, short product and reorder lines); written beside, not over, the shipped one.
    "refresh": TrainConfig(
        preset="refresh",
        scenarios=1300,
        heldout_scenarios=60,
        max_steps=150,
        learning_rate=2e-4,
        checkpoint_every=10,
        init_adapter=str(SHIPPED_ADAPTER),
    ),
}


@dataclass
class Progress:
    step: int = 0
    losses: list[float] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]
    context_len: int = 0  # leading tokens (the system message) that may be run without gradients


def encode(tokenizer, example: Example) -> Encoded:
    """Prompt tokens are masked (-100); the answer and its end-of-turn token are learned."""
    prompt = tokenizer.apply_chat_template(
        example.messages, add_generation_prompt=True, tokenize=True, return_dict=True
    )["input_ids"]
    full = tokenizer.apply_chat_template(
        [*example.messages, {"role": "assistant", "content": example.target}], tokenize=True, return_dict=True
    )["input_ids"]
    full, prompt = list(full), list(prompt)
    if full[: len(prompt)] != prompt:
        raise ValueError("the chat template does not extend the prompt with the answer; cannot mask the prompt")
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    answer = full[len(prompt) :]
    if end in answer:
        answer = answer[: answer.index(end) + 1]
    ids = prompt + answer
    return Encoded(ids, [-100] * len(prompt) + answer, _system_len(tokenizer, example.messages, ids))


def _system_len(tokenizer, messages: list[dict[str, str]], ids: list[int]) -> int:
    """Tokens of the rendered system message when they are exactly the sequence's start, else 0."""
    if not messages or messages[0]["role"] != "system":
        return 0
    head = list(tokenizer.apply_chat_template(messages[:1], tokenize=True, return_dict=True)["input_ids"])
    return len(head) if ids[: len(head)] == head and len(head) < len(ids) else 0


def save_examples(path: Path, examples: list[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(asdict(e)) + "\n" for e in examples))


def load_examples(path: Path) -> list[Example]:
    return [Example(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def lora_model(base, cfg: TrainConfig):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=cfg.rank,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=cfg.target_modules,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(base, config)


def _autocast(enabled: bool):
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled)


def example_loss(model, item: Encoded, bf16: bool):
    """Mean cross-entropy over the answer tokens of one whole sequence, every token backpropagated.

    Logits are computed only where an answer token is predicted: the prompt is most of the sequence,
    and projecting all of it onto the 49k-token vocabulary was a noticeable share of each step, for nothing.
    """
    import torch

    answer = _answer(item)
    with _autocast(bf16):
        logits = model(input_ids=torch.tensor([item.input_ids]), logits_to_keep=len(answer) + 1).logits
    return torch.nn.functional.cross_entropy(logits[0, :-1].float(), torch.tensor(answer))


def _answer(item: Encoded) -> list[int]:
    answer = [t for t in item.labels if t != -100]
    if not answer or item.labels[len(item.labels) - len(answer) :] != answer:
        raise ValueError("the learned tokens must be the end of the sequence")
    return answer


class FactsPrefill:
    """A copy of the model with the adapter merged in, in the training's compute type (bfloat16 where the CPU
    runs it faster), that reads the facts (system messages).

    The facts are most of every prompt and need no gradients, so they are prefilled by this copy at
    inference speed (one unpadded sequence, no LoRA side branches, no autocast casts, no dropout: faster
    than through the peft model) and the peft model continues from its cache. `refresh` re-merges the
    adapter after every optimizer step, so the cache is the one the current adapter would produce.
    """

    def __init__(self, base, dtype) -> None:
        import copy

        self.model = copy.deepcopy(base).to(dtype).eval()
        self.targets: dict[str, tuple] = {}

    def refresh(self, peft_model) -> None:
        import torch

        if not self.targets:
            mine = dict(self.model.named_modules())
            for name, module in peft_model.named_modules():
                if "default" in getattr(module, "lora_A", {}):
                    self.targets[name] = (module, mine[name.removeprefix("base_model.model.")])
        with torch.no_grad():
            for lora, linear in self.targets.values():
                delta = (lora.lora_B["default"].weight @ lora.lora_A["default"].weight) * lora.scaling["default"]
                linear.weight.copy_(lora.base_layer.weight + delta)

    def cache(self, ids: list[int], pad_id: int):
        """The cache of `ids` right-padded to a multiple of PAD_TO: oneDNN builds kernels per shape, and a
        new length each example cost more than the prefill itself. Callers mask the padding."""
        import torch

        with torch.no_grad():
            return self.model(input_ids=torch.tensor([_pad(ids, pad_id)]), use_cache=True, logits_to_keep=1).cache


PAD_TO = 32


def _pad(ids: list[int], pad_id: int) -> list[int]:
    return ids + [pad_id] * (-len(ids) % PAD_TO)


def facts_detached_loss(model, prefill: FactsPrefill, item: Encoded, bf16: bool, pad_id: int = 0):
    """The answer loss with the system message prefilled by `prefill`: the same number as `example_loss`
    (up to bfloat16 rounding), but the backward pass covers only the question and the answer, a small
    part of the tokens; the adapter learns to look facts up from the question's side.

    Both parts are right-padded (see `FactsPrefill.cache`): the facts' padding is masked out and the
    rest continues at the facts' true positions; padding after the answer is never attended to."""
    import torch

    if item.context_len <= 0:
        return example_loss(model, item, bf16)
    answer = _answer(item)
    facts = item.input_ids[: item.context_len]
    rest = item.input_ids[item.context_len :]
    cache = prefill.cache(facts, pad_id)
    padded = _pad(rest, pad_id)
    mask = [1] * len(facts) + [0] * (-len(facts) % PAD_TO) + [1] * len(padded)
    positions = torch.arange(len(facts), len(facts) + len(padded))[None]
    with _autocast(bf16):
        logits = model(
            input_ids=torch.tensor([padded]),
            attention_mask=torch.tensor([mask]),
            position_ids=positions,
            cache=cache,
            use_cache=True,
        ).logits
    start = len(rest) - len(answer) - 1  # the logit there predicts the answer's first token
    return torch.nn.functional.cross_entropy(logits[0, start : len(rest) - 1].float(), torch.tensor(answer))


def perplexity(model, items: list[Encoded], bf16: bool) -> float:
    """exp of the mean per-token loss over the answer tokens of `items`."""
    import torch

    total, count = 0.0, 0
    with torch.inference_mode():
        for item in items:
            n = sum(1 for t in item.labels if t != -100) - 0
            total += float(example_loss(model, item, bf16)) * n
            count += n
    return math.exp(total / count)


def save_adapter(model, folder: Path) -> int:
    """The adapter as bfloat16 safetensors + peft config (half the bytes of float32); returns its size in bytes."""
    import torch
    from safetensors.torch import load_file, save_file

    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    weights = folder / "adapter_model.safetensors"
    tensors = {k: v.to(torch.bfloat16) for k, v in load_file(weights).items()}
    save_file(tensors, weights, metadata={"format": "pt"})
    return weights.stat().st_size


def plot_losses(losses: list[float], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(range(1, len(losses) + 1), losses, marker="o" if len(losses) < 30 else None, color="#3a7d44")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (answer tokens)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def _latest_checkpoint(work: Path) -> Path | None:
    found = sorted((work / "checkpoints").glob("step-*"), key=lambda p: int(p.name.split("-")[1]))
    return found[-1] if found else None


def _save_checkpoint(work: Path, model, optimizer, scheduler, progress: Progress, keep: int = 2) -> None:
    import torch

    folder = work / "checkpoints" / f"step-{progress.step}"
    model.save_pretrained(folder)
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state()},
        folder / "trainer.pt",
    )
    (folder / "progress.json").write_text(json.dumps(asdict(progress)))
    for old in sorted((work / "checkpoints").glob("step-*"), key=lambda p: int(p.name.split("-")[1]))[:-keep]:
        shutil.rmtree(old)


def train(
    cfg: TrainConfig,
    *,
    builder_factory,
    loaded,
    out: Path,
    work: Path,
    resume: bool,
    progress_bar: bool = True,
    log=print,
) -> dict:
    """Generate (or reuse) the data, train, checkpoint, and write the adapter, loss curve and report."""
    import torch
    from tqdm import tqdm

    from bot.inference.precision import AUTO
    from bot.inference.precision import resolve as resolve_dtype

    if cfg.bf16 is None:
        cfg = cfg.model_copy(update={"bf16": resolve_dtype(AUTO) == "bfloat16"})
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.json").write_text(cfg.model_dump_json(indent=1))
    data_file, heldout_file = work / "train.jsonl", work / "heldout.jsonl"
    routing_file = work / ROUTING_FILE
    if not (resume and data_file.is_file() and heldout_file.is_file() and routing_file.is_file()):
        builder = builder_factory()
        started = time.perf_counter()
        save_examples(data_file, builder.training_examples(cfg.scenarios, cfg.seed))
        save_examples(heldout_file, builder.heldout_examples(cfg.heldout_scenarios, cfg.seed + 1))
        routing_file.write_text(
            "".join(json.dumps(r) + "\n" for r in builder.routing_examples(cfg.routing_scenarios, cfg.seed + 2))
        )
        log(f"generated training data in {time.perf_counter() - started:.0f} s")
    tokenizer = loaded.tokenizer
    items = [e for e in (encode(tokenizer, x) for x in load_examples(data_file)) if len(e.input_ids) <= cfg.max_tokens]
    heldout = [
        e for e in (encode(tokenizer, x) for x in load_examples(heldout_file)) if len(e.input_ids) <= cfg.max_tokens
    ]
    steps = cfg.max_steps or max(1, len(items) // cfg.batch_size)
    order = list(range(len(items)))
    random.Random(cfg.seed).shuffle(order)
    order = (order * math.ceil(steps * cfg.batch_size / max(1, len(order))))[: steps * cfg.batch_size]

    torch.manual_seed(cfg.seed)
    prefill = (
        FactsPrefill(loaded.model, torch.bfloat16 if cfg.bf16 else torch.float32) if cfg.detach_facts else None
    )  # copied before peft wraps the model
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    model = lora_model(loaded.model, cfg)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=cfg.learning_rate, weight_decay=0.0
    )
    warmup = min(cfg.warmup_steps, max(1, steps // 10))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.05, 1 - s / steps)
    )
    progress = Progress()
    checkpoint = _latest_checkpoint(work) if resume else None
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    if checkpoint is None and cfg.init_adapter:
        start = {k: v.float() for k, v in load_file(Path(cfg.init_adapter) / "adapter_model.safetensors").items()}
        unexpected = set_peft_model_state_dict(model, start).unexpected_keys
        if unexpected:
            raise ValueError(f"{cfg.init_adapter} does not fit this preset's LoRA layers: {sorted(unexpected)[:3]}")
        log(f"starting from the adapter in {cfg.init_adapter}")
    if checkpoint is not None:
        set_peft_model_state_dict(model, load_file(checkpoint / "adapter_model.safetensors"))
        state = torch.load(checkpoint / "trainer.pt", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        progress = Progress(**json.loads((checkpoint / "progress.json").read_text()))
        log(f"resumed from {checkpoint.name}")

    model.train()
    if prefill is not None:
        prefill.refresh(model)
    bar = tqdm(total=steps, initial=progress.step, desc=f"lora {cfg.preset}", unit="step", disable=not progress_bar)
    while progress.step < steps:
        started = time.perf_counter()
        batch = order[progress.step * cfg.batch_size : (progress.step + 1) * cfg.batch_size]
        total = 0.0
        for i in batch:
            loss = (
                facts_detached_loss(model, prefill, items[i], cfg.bf16, pad_id)
                if prefill is not None
                else example_loss(model, items[i], cfg.bf16)
            ) / len(batch)
            loss.backward()
            total += float(loss.detach())
            progress.tokens += len(items[i].input_ids)
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if prefill is not None:
            prefill.refresh(model)
        progress.step += 1
        progress.losses.append(round(total, 5))
        progress.seconds += time.perf_counter() - started
        bar.update(1)
        bar.set_postfix(loss=f"{total:.3f}", tok_s=f"{progress.tokens / progress.seconds:.0f}")
        if progress.step % cfg.checkpoint_every == 0 or progress.step == steps:
            _save_checkpoint(work, model, optimizer, scheduler, progress)
    bar.close()

    model.eval()
    tuned = perplexity(model, heldout, cfg.bf16)
    with model.disable_adapter():
        untuned = perplexity(model, heldout, cfg.bf16)
    size = save_adapter(model, out)
    shutil.copyfile(routing_file, out / ROUTING_FILE)
    plot_losses(progress.losses, out / "loss.png", f"LoRA {cfg.preset}: r={cfg.rank}, {len(items)} examples")
    report = {
        "preset": cfg.preset,
        "steps": progress.step,
        "examples": len(items),
        "train_tokens": progress.tokens,
        "train_seconds": round(progress.seconds, 1),
        "tokens_per_s": round(progress.tokens / progress.seconds, 1) if progress.seconds else None,
        "final_loss": progress.losses[-1] if progress.losses else None,
        "heldout_examples": len(heldout),
        "heldout_perplexity": {"tuned": round(tuned, 3), "untuned": round(untuned, 3)},
        "adapter_bytes": size,
        "adapter": str(out),
    }
    (out / "training_report.json").write_text(json.dumps(report, indent=1))
    (work / "losses.json").write_text(json.dumps(progress.losses))
    return report
