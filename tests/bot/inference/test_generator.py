"""The real bundled model streams text piece by piece, stops where it should, and can be cancelled."""

import torch

from bot.inference.generator import GenerationStats, IncrementalDecoder, SamplingConfig, TransformersGenerator

QUESTION = [
    {"role": "system", "content": "You are a shop assistant. Barista Oat Milk costs $3.49."},
    {"role": "user", "content": "How much is the oat milk?"},
]


def test_stream_yields_text_incrementally(generator):
    stats = GenerationStats()
    pieces = list(generator.stream(QUESTION, max_new_tokens=16, stats=stats))
    assert len(pieces) >= 5
    assert all(isinstance(p, str) and p for p in pieces)
    assert stats.completion_tokens >= len(pieces)
    assert stats.prompt_tokens == generator.count_tokens(QUESTION)
    assert 0 < stats.ttft_s < stats.total_s


def test_first_piece_arrives_before_the_answer_is_finished(generator):
    stats = GenerationStats()
    stream = generator.stream(QUESTION, max_new_tokens=16, stats=stats)
    next(stream)
    assert stats.completion_tokens <= 2  # only a token or two decoded so far
    stream.close()


def test_token_budget_ends_with_finish_reason_length(generator):
    stats = GenerationStats()
    "".join(generator.stream(QUESTION, max_new_tokens=3, stats=stats))
    assert stats.completion_tokens == 3
    assert stats.finish_reason == "length"


def test_closing_the_stream_cancels_generation(generator):
    stats = GenerationStats()
    stream = generator.stream(QUESTION, max_new_tokens=50, stats=stats)
    next(stream)
    stream.close()
    assert stats.finish_reason == "cancelled"
    assert stats.completion_tokens < 5


def test_greedy_generation_is_deterministic(generator):
    first = "".join(generator.stream(QUESTION, max_new_tokens=12))
    assert first == "".join(generator.stream(QUESTION, max_new_tokens=12))


def test_incremental_decoding_never_splits_a_multibyte_character(loaded_model):
    tokenizer = loaded_model.tokenizer
    text = "Café ☕ 🥛 crème brûlée — 3,49 €"
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert any("\ufffd" in tokenizer.decode([i]) for i in ids), "the text must contain characters split across tokens"
    decoder = IncrementalDecoder(tokenizer)
    pieces = [decoder.push(i) for i in ids]
    assert "".join(pieces) == text
    assert not any("\ufffd" in p for p in pieces)


def test_a_model_opening_the_next_turn_has_ended_its_answer(loaded_model):
    """Forced past its end (`min_new_tokens`), the tuned SmolLM2 wrote `<|im_start|>user` and a made-up
    shopper's message: the turn marker ends an answer like `<|im_end|>`, and is held back with it."""
    tokenizer = loaded_model.tokenizer
    held = TransformersGenerator(loaded_model, SamplingConfig(max_new_tokens=8, min_new_tokens=4))
    opening, closing, document_end = (
        tokenizer.convert_tokens_to_ids(t) for t in ("<|im_start|>", "<|im_end|>", "<|endoftext|>")
    )
    assert {opening, closing, document_end} <= held.eos_ids  # `<|endoftext|>` is also SmolLM2's unknown token
    scores = held.hold_end(torch.zeros(1, len(tokenizer)), produced=0)
    assert scores[0, opening] == scores[0, closing] == float("-inf")
    assert torch.isfinite(held.hold_end(torch.zeros(1, len(tokenizer)), produced=4)).all()
