"""The attention arithmetic of decode steps and prompt chunks, on small random tensors: every variant is
the textbook softmax(q k^T) v over the positions each query may see."""

import pytest
import torch

from bot.inference.batch_forward import (
    CHUNK_QUERY_ROWS,
    _blocked_chunk_attention,
    _decode_attention,
    _query_blocks,
    additive_mask,
    keys_first_is_faster,
)

SLOTS, KV_HEADS, GROUP, LENGTH, DIM = 5, 3, 3, 40, 16


def reference(q, keys, values, lengths, scale):
    """Per slot and head, over that slot's own positions only, in float64."""
    out = torch.empty(q.shape, dtype=torch.float64)
    for s in range(SLOTS):
        for h in range(KV_HEADS * GROUP):
            k = keys[s, h // GROUP, : lengths[s]].double()
            v = values[s, h // GROUP, : lengths[s]].double()
            weights = torch.softmax(q[s, h].double() @ k.T * scale, dim=-1)
            out[s, h] = weights @ v
    return out


@pytest.fixture
def case():
    g = torch.Generator().manual_seed(0)
    q = torch.randn(SLOTS, KV_HEADS * GROUP, 1, DIM, generator=g)
    keys = torch.randn(SLOTS, KV_HEADS, LENGTH, DIM, generator=g)
    values = torch.randn(SLOTS, KV_HEADS, LENGTH, DIM, generator=g)
    lengths = torch.tensor([1, 7, 40, 23, 12])
    blocked = (torch.arange(LENGTH)[None, :] >= lengths[:, None])[:, None, None, :]
    return q, keys, values, lengths, additive_mask(blocked)


@pytest.mark.parametrize("cache_dtype", [torch.float32, torch.bfloat16])
def test_decode_attention_attends_over_each_slots_own_positions(case, cache_dtype):
    q, keys, values, lengths, mask = case
    keys, values = keys.to(cache_dtype), values.to(cache_dtype)
    out = _decode_attention(q, keys, values, mask, DIM**-0.5)
    assert out.dtype == torch.float32 and out.shape == q.shape
    expected = reference(q, keys, values, lengths, DIM**-0.5)  # on the stored (rounded) keys and values
    tolerance = 1e-5 if cache_dtype == torch.float32 else 2e-2  # bf16 cache: the queries are rounded too
    torch.testing.assert_close(out.double(), expected, atol=tolerance, rtol=tolerance)


def test_positions_past_a_slots_length_do_not_change_its_output(case):
    q, keys, values, _, mask = case
    garbage = keys.clone()
    garbage[0, :, 1:] = 1e4  # slot 0 holds one token: the rest must be masked out entirely
    before = _decode_attention(q, keys.bfloat16(), values.bfloat16(), mask, DIM**-0.5)
    after = _decode_attention(q, garbage.bfloat16(), values.bfloat16(), mask, DIM**-0.5)
    torch.testing.assert_close(before, after)


@pytest.mark.parametrize("keys_first", [True, False])
def test_bfloat16_queries_get_the_same_attention_with_either_operand_first(case, keys_first):
    q, keys, values, lengths, mask = case
    q, keys, values = q.bfloat16(), keys.bfloat16(), values.bfloat16()
    out = _decode_attention(q, keys, values, mask, DIM**-0.5, keys_first)
    assert out.dtype == torch.bfloat16 and out.shape == q.shape
    torch.testing.assert_close(out.double(), reference(q, keys, values, lengths, DIM**-0.5), atol=2e-2, rtol=2e-2)


def test_float32_queries_always_go_first():
    assert keys_first_is_faster(torch.float32, KV_HEADS, GROUP, DIM) is False


def test_the_additive_mask_is_zero_where_allowed_and_minus_infinity_where_blocked():
    blocked = torch.tensor([[False, True, False]])
    assert additive_mask(blocked).tolist() == [[0.0, float("-inf"), 0.0]]


def causal_reference(q, keys, values, start, scale):
    """Query i of the chunk sits at position start + i and sees positions 0..start + i, in float64."""
    n, heads, _ = q.shape
    out = torch.empty(q.shape, dtype=torch.float64)
    for i in range(n):
        for h in range(heads):
            k, v = keys[h // GROUP, : start + i + 1].double(), values[h // GROUP, : start + i + 1].double()
            out[i, h] = torch.softmax(q[i, h].double() @ k.T * scale, dim=-1) @ v
    return out


@pytest.mark.parametrize("start, n, rows", [(0, 9, 4), (13, 9, 4), (13, 8, 8), (5, 3, 128)])
def test_a_prompt_chunk_attends_causally_over_its_cached_prefix_and_itself(start, n, rows):
    g = torch.Generator().manual_seed(1)
    q = torch.randn(n, KV_HEADS * GROUP, DIM, generator=g).bfloat16()
    keys, values = (torch.randn(KV_HEADS, start + n, DIM, generator=g).bfloat16() for _ in range(2))
    blocks = _query_blocks(start, n, rows=rows)
    assert [(b.first, b.last) for b in blocks] == [(a, min(a + rows, n)) for a in range(0, n, rows)]
    out = _blocked_chunk_attention(q, keys, values, blocks, DIM**-0.5)
    assert out.dtype == torch.bfloat16 and out.shape == q.shape
    torch.testing.assert_close(out.double(), causal_reference(q, keys, values, start, DIM**-0.5), atol=2e-2, rtol=2e-2)


def test_a_prompt_chunk_never_reads_keys_after_its_own_positions():
    g = torch.Generator().manual_seed(2)
    start, n = 6, 5
    q = torch.randn(n, KV_HEADS * GROUP, DIM, generator=g).bfloat16()
    keys, values = (torch.randn(KV_HEADS, start + n + 4, DIM, generator=g).bfloat16() for _ in range(2))
    garbage_keys, garbage_values = keys.clone(), values.clone()
    garbage_keys[:, start + n :] = 1e4  # positions no query of the chunk may see
    garbage_values[:, start + n :] = float("nan")
    blocks = _query_blocks(start, n, rows=2)
    torch.testing.assert_close(
        _blocked_chunk_attention(q, garbage_keys, garbage_values, blocks, DIM**-0.5),
        _blocked_chunk_attention(q, keys, values, blocks, DIM**-0.5),
    )


def test_within_a_cache_the_blocks_take_few_shapes_and_masked_positions_change_nothing():
    """oneDNN keeps a kernel, with its buffers, for every matmul shape: keys are padded to whole
    CHUNK_QUERY_ROWS steps of the cache and a short block's rows to a power of two."""
    g = torch.Generator().manual_seed(3)
    capacity = 2 * CHUNK_QUERY_ROWS
    shapes = {
        tuple(b.mask.shape)
        for start in range(0, 40, 3)
        for n in range(1, 90, 7)
        for b in _query_blocks(start, n, capacity)
    }
    assert all(keys in (CHUNK_QUERY_ROWS, capacity) for _, keys in shapes)
    assert {rows for rows, _ in shapes} <= {8, 16, 32, 64, 128}
    start, n = 21, 37
    q = torch.randn(n, KV_HEADS * GROUP, DIM, generator=g).bfloat16()
    keys, values = (torch.randn(KV_HEADS, capacity, DIM, generator=g).bfloat16() for _ in range(2))
    stale_keys, stale_values = keys.clone(), values.clone()
    stale_keys[:, start + n :] = 1e4  # a former occupant's finite leftovers
    stale_values[:, start + n :] = -1e4
    blocks = _query_blocks(start, n, capacity)
    out = _blocked_chunk_attention(q, stale_keys, stale_values, blocks, DIM**-0.5)
    torch.testing.assert_close(out, _blocked_chunk_attention(q, keys, values, blocks, DIM**-0.5))
    torch.testing.assert_close(out.double(), causal_reference(q, keys, values, start, DIM**-0.5), atol=2e-2, rtol=2e-2)
