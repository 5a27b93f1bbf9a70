"""Draft tokens for speculative decoding, looked up in the sequence itself (prompt lookup decoding).

A shop's answer copies much of its prompt: product names, prices, order numbers, tracking numbers,
policy sentences. When the last few tokens of a sequence also occur earlier in it, the tokens that
followed there are a good guess for what comes next. The scheduler feeds such a guess beside the
sequence's next token and keeps the guessed tokens the model itself picks; each one kept saves a
whole decode step, and a step of a handful of rows costs about as much as a step of one (the weights
are read once either way). No draft model is needed, and each token is still the model's own pick
(`bot/inference/scheduler.py` says where rounding can differ).
"""

from __future__ import annotations

import numpy as np

NGRAM_SIZES = (3, 2)  # longest first: a longer match is a better guess; single tokens match too often


def draft(tokens: list[int], max_tokens: int, ngram_sizes: tuple[int, ...] = NGRAM_SIZES) -> list[int]:
    """Up to `max_tokens` tokens that followed the latest earlier occurrence of the sequence's last n
    tokens, for the longest n in `ngram_sizes` that occurs; [] when none does."""
    if max_tokens <= 0:
        return []
    seq = np.asarray(tokens)
    for n in ngram_sizes:
        if len(seq) <= n:
            continue
        windows = len(seq) - n  # earlier starts only: the tail itself is not a match
        match = np.ones(windows, dtype=bool)
        for j in range(n):
            match &= seq[j : j + windows] == seq[windows + j]
        hits = np.flatnonzero(match)
        if hits.size:
            start = int(hits[-1]) + n
            return seq[start : start + max_tokens].tolist()
    return []
