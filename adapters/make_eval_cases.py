"""Writes adapters/eval_cases.jsonl from the demo shop with the eval-only phrasings: `python -m adapters.make_eval_cases`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from adapters.data import DataBuilder

EVAL_CASES = Path(__file__).parent / "eval_cases.jsonl"
EVAL_SEED = 20261123


def builder_from_runtime(runtime, router=None) -> DataBuilder:
    """A DataBuilder over the runtime's shop, with the serving tokenizer (the model weights are not loaded)."""
    from transformers import AutoTokenizer

    from bot.inference.model import resolve_model_dir

    s = runtime.settings
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_dir(s.model_path, s.model_cache_dir), local_files_only=True)
    return DataBuilder(s, runtime.store, runtime.retriever, tokenizer, router=router)


def main(n: int = 330, planted: int = 15, seed: int = EVAL_SEED, out: Path = EVAL_CASES) -> None:
    from bot.runtime import Runtime
    from bot.settings import Settings

    # a fixed shop clock, so reorder suggestions and wording do not drift with the date
    runtime = Runtime(Settings(shop_now="2026-11-20T12:00:00"))
    builder = builder_from_runtime(runtime)
    cases = builder.eval_cases(n, seed) + builder.planted_cases(planted, seed + 1)
    out.write_text("".join(json.dumps(c) + "\n" for c in cases))
    typer.echo(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    typer.run(main)
