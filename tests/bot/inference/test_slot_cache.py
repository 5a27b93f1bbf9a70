"""Cache slots: a new prompt starts from the longest prefix any slot holds, and a busy slot is never handed out."""

import pytest
import torch

from bot.inference.slot_cache import CAPACITY_STEP, SlotCache, common_prefix


def cache(slots=3):
    return SlotCache(layers=2, kv_heads=1, head_dim=4, slots=slots, max_len=32, dtype=torch.float32)


def fill(c, slot, tokens):
    slot.tokens = list(tokens)
    for layer in c.kv:
        layer[:, slot.index, :, : len(tokens)] = (
            torch.arange(len(tokens), dtype=torch.float32)[None, None, :, None] + 100 * slot.index
        )


def cached(c, index, n):
    """A slot's keys and values at its first n positions, every layer."""
    return torch.stack([layer[:, index, :, :n] for layer in c.kv])


def test_common_prefix_counts_equal_leading_tokens():
    import numpy as np

    assert common_prefix(np.array([1, 2, 3]), np.array([1, 2, 4, 5])) == 2
    assert common_prefix(np.array([1, 2]), np.array([1, 2, 3])) == 2
    assert common_prefix(np.array([], dtype=int), np.array([1])) == 0


def test_a_fresh_prompt_gets_an_empty_slot_and_reuses_nothing():
    c = cache()
    slot, reused = c.acquire(list(range(40, 60)), min_reuse=4)
    assert (slot.index, reused, slot.busy) == (0, 0, True)
    assert c.free == 2


def test_a_free_slot_holding_the_prefix_is_reused_in_place():
    c = cache()
    slot, _ = c.acquire(list(range(20)), min_reuse=4)
    fill(c, slot, range(20))
    c.release(slot)
    again, reused = c.acquire(list(range(10)) + [99, 98], min_reuse=4)
    assert again is slot and reused == 10 and again.tokens == list(range(10))


def test_a_prefix_held_by_a_busy_slot_is_copied_into_a_free_one():
    c = cache()
    running, _ = c.acquire(list(range(20)), min_reuse=4)
    fill(c, running, range(20))
    new, reused = c.acquire(list(range(12)) + [7, 7], min_reuse=4)
    assert new is not running and reused == 12
    assert torch.equal(cached(c, new.index, 12), cached(c, running.index, 12))


def test_the_last_prompt_token_is_always_left_to_compute():
    c = cache()
    slot, _ = c.acquire(list(range(20)), min_reuse=4)
    fill(c, slot, range(20))
    c.release(slot)
    _, reused = c.acquire(list(range(20)), min_reuse=4)
    assert reused == 19


def test_short_shared_prefixes_are_not_worth_a_copy():
    c = cache()
    slot, _ = c.acquire(list(range(20)), min_reuse=8)
    fill(c, slot, range(20))
    _, reused = c.acquire([0, 1, 2, 50, 51], min_reuse=8)
    assert reused == 0


def test_no_free_slot_is_an_error_not_a_shared_slot():
    c = cache(slots=1)
    c.acquire([1, 2, 3])
    with pytest.raises(RuntimeError, match="no free slot"):
        c.acquire([1, 2, 3])


def test_growing_the_capacity_keeps_every_slots_cached_tokens():
    c = SlotCache(layers=2, kv_heads=1, head_dim=4, slots=3, max_len=400, dtype=torch.float32)
    first, _ = c.acquire(list(range(20)))
    fill(c, first, range(20))
    second, _ = c.acquire(list(range(50, 60)))
    fill(c, second, range(10))
    before = [cached(c, s.index, len(s.tokens)).clone() for s in (first, second)]
    c.reserve(130)
    assert c.capacity == 256  # whole steps of CAPACITY_STEP
    for s, kept in zip((first, second), before):
        assert torch.equal(cached(c, s.index, len(s.tokens)), kept)


def test_the_capacity_never_exceeds_max_len():
    c = SlotCache(layers=1, kv_heads=1, head_dim=4, slots=1, max_len=300, dtype=torch.float32)
    c.reserve(290)
    assert c.capacity == 300
    with pytest.raises(ValueError, match="max_len of 300"):
        c.reserve(301)


def test_positions_no_sequence_wrote_read_as_zeros_after_growing():
    """Decode attention spans the whole capacity; unwritten positions must be finite for its zero weights."""
    c = SlotCache(layers=2, kv_heads=1, head_dim=4, slots=2, max_len=600, dtype=torch.bfloat16)
    slot, _ = c.acquire(list(range(30)))
    fill(c, slot, range(30))
    c.reserve(500)
    for layer in c.kv:
        assert torch.count_nonzero(layer[:, :, :, 30:]) == 0


def test_the_capacity_shrinks_back_to_what_the_running_sequences_use_and_keeps_their_tokens():
    c = SlotCache(layers=2, kv_heads=1, head_dim=4, slots=3, max_len=1000, dtype=torch.float32)
    c.reserve(701)
    assert c.capacity == 768
    short, _ = c.acquire(list(range(100)))
    fill(c, short, range(100))
    long, _ = c.acquire(list(range(500, 1200)))
    fill(c, long, range(500, 1200))
    kept = cached(c, short.index, 100).clone()
    c.release(long)  # the long conversation ends; only the short one runs
    assert c.shrink_to_fit(longest=100)
    assert c.capacity == 256  # the running sequence's 100 positions and one step to grow into
    assert torch.equal(cached(c, short.index, 100), kept)
    assert long.tokens == list(range(500, 756))  # a free slot keeps the part of its prefix that fits
    reused_slot, reused = c.acquire(list(range(500, 900)))
    assert (reused_slot, reused) == (long, 256)


def test_the_capacity_does_not_shrink_for_less_than_two_steps():
    c = SlotCache(layers=1, kv_heads=1, head_dim=4, slots=2, max_len=1000, dtype=torch.float32)
    c.reserve(300 + CAPACITY_STEP)
    a, _ = c.acquire(list(range(300)))
    fill(c, a, range(300))
    before = c.capacity
    assert not c.shrink_to_fit(longest=300)
    assert c.capacity == before


def test_a_slot_takes_over_what_another_has_cached_since_of_the_same_prompt():
    c = cache()
    shared = list(range(20))
    first, _ = c.acquire(shared + [900, 901])
    second, reused = c.acquire(shared + [800, 801])
    assert reused == 0  # admitted together: nothing cached yet
    fill(c, first, shared + [900, 901])
    assert c.extend_prefix(second, shared + [800, 801]) == 20
    assert second.tokens == shared
    assert torch.equal(cached(c, second.index, 20), cached(c, first.index, 20))


def test_a_slot_takes_over_nothing_shorter_than_the_minimum_and_always_leaves_the_last_token():
    c = cache()
    first, _ = c.acquire(list(range(30)))
    second, _ = c.acquire(list(range(20)) + [7, 7])
    fill(c, first, range(30))
    assert c.extend_prefix(second, list(range(20)) + [7, 7], min_reuse=21) == 0 and second.tokens == []
    assert (
        c.extend_prefix(second, list(range(25))) == 24
    )  # the whole prompt is cached elsewhere: its last token is computed
