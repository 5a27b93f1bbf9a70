"""One forward step of a Llama-family model over many sequences at once, each with its own KV cache slot.

transformers' `forward` takes one rectangular batch with one cache; continuous batching needs
sequences of different lengths, joining and leaving between steps, and a prompt chunk processed in
the same step as other sequences' next tokens. So the layer loop is written out here over the
model's own modules (norms, projections, MLP — LoRA layers included, merged or not), with one
attention for all single-token decodes (over the slot tensor's view, masked by each slot's length)
and one `scaled_dot_product_attention` per prompt chunk.

Architectures with the Llama layout (Llama, SmolLM, Mistral, Qwen2) are supported; `supports`
says whether a model is one of them, and the scheduler falls back to one-at-a-time generation
otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bot.inference import precision
from bot.inference.kernels import int8_linear, linear_kernels
from bot.inference.slot_cache import SlotCache

SUPPORTED_TYPES = ("llama", "mistral", "qwen2")


def decoder_of(model):
    """The bare decoder stack (`LlamaModel`) and the LM head, through a peft wrapper if there is one."""
    from peft import PeftModel

    base = model.base_model.model if isinstance(model, PeftModel) else model  # PeftModel -> LoraModel -> *ForCausalLM
    return base.model, base.lm_head


def supports(config) -> bool:
    """Whether a model with this transformers config has the layout `BatchForward` computes."""
    if getattr(config, "model_type", None) not in SUPPORTED_TYPES:
        return False
    return not (getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", False))


@dataclass
class Segment:
    """Tokens of one sequence fed in this step, starting at cache position `start`."""

    slot: int
    tokens: list[int]
    start: int
    wants_logits: bool = True  # False for a prompt chunk that is not the prompt's last
    every_row: bool = False  # logits for every token, not only the last (checking drafted tokens)

    @property
    def logit_rows(self) -> int:
        return (len(self.tokens) if self.every_row else 1) if self.wants_logits else 0


@dataclass
class _Fused:
    qkv: linear_kernels.Projection
    qkv_sizes: tuple[int, int, int]
    o: linear_kernels.Projection
    gate_up: linear_kernels.Projection
    down: linear_kernels.Projection
    modules: (
        tuple  # the layer's linear modules: a LoRA wrapped around them later (peft replaces them) switches fusion off
    )
    norms: tuple[torch.Tensor, torch.Tensor] | None = None  # int8: the two RMSNorms' weights, smoothing folded in

    def valid_for(self, layer) -> bool:
        return self.modules == _linears(layer)


def _linears(layer) -> tuple:
    """The layer's seven linear modules, read from the modules' own dicts: checked in every layer of every
    step, and `nn.Module.__getattr__` costs many times a plain dict lookup."""
    attn, mlp = layer._modules["self_attn"]._modules, layer._modules["mlp"]._modules
    return (
        attn["q_proj"],
        attn["k_proj"],
        attn["v_proj"],
        attn["o_proj"],
        mlp["gate_proj"],
        mlp["up_proj"],
        mlp["down_proj"],
    )


def _fuse(layer, kernel: str, ranges: dict | None = None, release: bool = False) -> _Fused | None:
    """One matmul for q, k and v and one for gate and up, each through the chosen kernel: fewer, larger
    calls cut the per-token overhead.

    The modules' own weights become views into the fused tensors, so memory is not doubled (an int8
    kernel holds its own packed copy beside them). Only plain `nn.Linear` layers are fused: an
    unmerged LoRA layer must run its own forward, and then the whole layer runs its modules. `ranges`:
    the inputs' magnitudes per channel (`bot/inference/calibration.py`), keyed by kind, for int8 smoothing.
    `release` (int8 only): the layer's float weights are handed back as soon as they are packed, so
    start-up never holds more than one layer's float copies beside the packed ones.
    """
    attn, mlp = layer.self_attn, layer.mlp
    projections = (attn.q_proj, attn.k_proj, attn.v_proj)
    if any(type(m) is not torch.nn.Linear for m in _linears(layer)):
        return None
    if mlp.gate_proj.bias is not None or mlp.up_proj.bias is not None:
        return None
    sizes = tuple(m.out_features for m in projections)
    qkv = torch.cat([m.weight.detach() for m in projections])
    biases = [m.bias for m in projections]
    qkv_bias = torch.cat([b.detach() for b in biases]) if all(b is not None for b in biases) else None
    if qkv_bias is None and any(b is not None for b in biases):
        return None
    gate_up = torch.cat([mlp.gate_proj.weight.detach(), mlp.up_proj.weight.detach()])
    for module, part in zip(projections, qkv.split(sizes)):
        module.weight = torch.nn.Parameter(part, requires_grad=False)
    if qkv_bias is not None:
        for module, part in zip(projections, qkv_bias.split(sizes)):
            module.bias = torch.nn.Parameter(part, requires_grad=False)
    half = mlp.gate_proj.out_features
    mlp.gate_proj.weight = torch.nn.Parameter(gate_up[:half], requires_grad=False)
    mlp.up_proj.weight = torch.nn.Parameter(gate_up[half:], requires_grad=False)
    if kernel == linear_kernels.INT8:
        fused = _int8_layer(layer, qkv, qkv_bias, sizes, gate_up, ranges or {})
    else:

        def prepare(weight, bias):
            return linear_kernels.prepare(kernel, weight, bias)

        fused = _Fused(
            prepare(qkv, qkv_bias),
            sizes,
            prepare(attn.o_proj.weight, attn.o_proj.bias),
            prepare(gate_up, None),
            prepare(mlp.down_proj.weight, mlp.down_proj.bias),
            _linears(layer),
        )
    if release:
        for module in fused.modules:
            _release(module)
    return fused


def _smoothing(absmax: torch.Tensor | None, weight: torch.Tensor) -> torch.Tensor | None:
    return None if absmax is None else int8_linear.smoothing(absmax, weight)


def _folded(norm_weight: torch.Tensor, smooth: torch.Tensor | None) -> torch.Tensor:
    """An RMSNorm's weight in float32 that also divides its output by the next projection's smoothing."""
    weight = norm_weight.detach().float()
    return weight if smooth is None else weight / smooth


def _int8_layer(layer, qkv, qkv_bias, sizes, gate_up, ranges: dict) -> _Fused:
    """Int8 projections whose input smoothing is folded upstream where that is exact: q/k/v's and
    gate/up's into the RMSNorm before them, down's into up's output rows (down reads act(gate) * up,
    linear in up; per-row weight quantization is unchanged by scaling a row). o reads attention output,
    whose channels mix across each group of query heads, so it divides its own inputs."""
    o, down = layer.self_attn.o_proj, layer.mlp.down_proj
    smooth_down = _smoothing(ranges.get("down"), down.weight)
    if smooth_down is not None:
        half = gate_up.shape[0] // 2
        gate_up = torch.cat([gate_up[:half].float(), gate_up[half:].float() / smooth_down[:, None]])
    smooth_qkv, smooth_gate_up = _smoothing(ranges.get("qkv"), qkv), _smoothing(ranges.get("gate_up"), gate_up)
    return _Fused(
        int8_linear.Int8Linear(qkv, qkv_bias, smooth_qkv, divide_inputs=False),
        sizes,
        int8_linear.Int8Linear(o.weight, o.bias, _smoothing(ranges.get("o"), o.weight)),
        int8_linear.Int8Linear(gate_up, None, smooth_gate_up, divide_inputs=False),
        int8_linear.Int8Linear(down.weight, down.bias, smooth_down, divide_inputs=False),
        _linears(layer),
        (
            _folded(layer.input_layernorm.weight, smooth_qkv),
            _folded(layer.post_attention_layernorm.weight, smooth_gate_up),
        ),
    )


def _norm(module, x: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """The model's RMSNorm, or one fused op with a folded float32 weight (the int8 path)."""
    return module(x) if weight is None else F.rms_norm(x, weight.shape, weight, module.variance_epsilon)


def _release(module) -> None:
    module.weight = torch.nn.Parameter(torch.empty(0, dtype=module.weight.dtype), requires_grad=False)


def additive_mask(blocked: torch.Tensor) -> torch.Tensor:
    """0 where attention is allowed, -inf where `blocked`: built once per step and added to every layer's
    scores (a broadcast `masked_fill_` in every layer is several times slower than an add)."""
    return torch.zeros(blocked.shape).masked_fill_(blocked, float("-inf"))


def _decode_attention(q, keys, values, mask, scale, keys_first: bool = True):
    """Attention of one new token per slot over that slot's cache, as two batched matmuls.

    For a single query token the CPU flash kernel behind `scaled_dot_product_attention` is slow in
    bfloat16 (most of a decode step); plain matmuls with grouped heads folded into the query dimension
    take a fraction of that. The slots' keys and values are one contiguous batch of [capacity, dim]
    matrices (`SlotCache`), read in place. Which operand goes first depends on the type and the CPU: as the transposed operand, bfloat16 keys made `bmm` several times
    slower on a CPU with AMX, so there keys go first (keys @ queries^T) and the scores are turned back to
    [.., group, length] before the softmax (reduced along a strided axis, the softmax and masking of that
    small tensor cost as much as both matmuls); on a CPU with AVX-512 but no AMX, bfloat16 queries first
    was the faster, so for bfloat16 `keys_first_is_faster` measures it. In float32 queries first
    (queries @ keys^T) is the faster and needs no turning.
    """
    slots, heads, _, dim = q.shape
    kv_heads, length = keys.shape[1], keys.shape[2]
    group = heads // kv_heads
    if keys.dtype != q.dtype:
        return _narrow_cache_attention(q, keys, values, mask, scale)
    keys = keys.view(slots * kv_heads, length, dim)  # a view, never a copy
    values = values.view(slots * kv_heads, length, dim)
    if q.dtype == torch.float32 or not keys_first:
        scores = torch.bmm(q.reshape(slots * kv_heads, group, dim), keys.transpose(1, 2))
    else:
        q = q.reshape(slots * kv_heads, group, dim).transpose(1, 2).contiguous()  # [slots*kv_heads, dim, group]
        scores = torch.bmm(keys, q).transpose(1, 2)  # [slots*kv_heads, group, length]
    # scaled, widened to float32 and masked in one op
    scores = torch.add(mask, scores.view(slots, kv_heads, group, length), alpha=scale)
    weights = torch.softmax(scores, dim=-1).to(values.dtype).view(slots * kv_heads, group, length)
    return torch.bmm(weights, values).view(slots, heads, 1, dim)


DECODE_ORDER_REPEATS = 3


def keys_first_is_faster(dtype: torch.dtype, kv_heads: int, group: int, dim: int) -> bool:
    """Whether this CPU runs the decode attention faster with keys as the first operand, timed once on a
    full default batch (16 slots of 512 positions; the first call is the slowest)."""
    if dtype == torch.float32:
        return False
    slots, length = 16, 512
    generator = torch.Generator().manual_seed(0)
    q = torch.randn(slots, kv_heads * group, 1, dim, generator=generator).to(dtype)
    keys, values = (torch.randn(slots, kv_heads, length, dim, generator=generator).to(dtype) for _ in range(2))
    mask = torch.zeros(slots, 1, 1, length)
    seconds = {
        order: precision.best_seconds(
            lambda order=order: _decode_attention(q, keys, values, mask, 1.0, order), DECODE_ORDER_REPEATS
        )
        for order in (True, False)
    }
    return seconds[True] < seconds[False]


def _narrow_cache_attention(q, keys, values, mask, scale):
    """Decode attention over a bfloat16 cache for float32 queries, read in place by the CPU flash kernel.

    Each slot's kv head is one batch entry whose grouped query heads are its query rows. On a CPU without
    bf16 instructions a bfloat16 `bmm` is many times slower than float32, and widening the cache to
    float32 every step costs fresh allocations; the flash kernel accumulates in float32 and is no slower
    than attention over a float32 cache.
    """
    slots, heads, _, dim = q.shape
    kv_heads, length = keys.shape[1], keys.shape[2]
    rows = slots * kv_heads
    mask = mask.expand(slots, kv_heads, 1, length).reshape(rows, 1, 1, length).to(keys.dtype)
    out = F.scaled_dot_product_attention(
        q.reshape(rows, 1, heads // kv_heads, dim).to(keys.dtype),
        keys.view(rows, 1, length, dim),
        values.view(rows, 1, length, dim),
        attn_mask=mask,
        scale=scale,
    )
    return out.view(slots, heads, 1, dim).to(q.dtype)


def _computable(cached: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A prompt chunk's cached keys or values in the model's type: a bfloat16 cache beside float32 weights
    only stores in bfloat16, and one slot's widened copy is small beside the chunk's own work."""
    return cached if cached.dtype == dtype else cached.to(dtype)


CHUNK_QUERY_ROWS = 128  # prompt positions per block of `_blocked_chunk_attention`
MIN_QUERY_ROWS = 8  # a shorter block (a chunk's tail, guessed tokens) is padded to a power of two from here


def _padded_rows(rows: int) -> int:
    return min(CHUNK_QUERY_ROWS, max(MIN_QUERY_ROWS, 1 << (rows - 1).bit_length()))


@dataclass(frozen=True)
class _QueryBlock:
    first: int  # the block's rows of the chunk: first..last-1
    last: int
    mask: torch.Tensor  # [padded rows, padded keys], additive: each row sees the cache up to its own position


def _query_blocks(
    start: int, n: int, capacity: int | None = None, rows: int = CHUNK_QUERY_ROWS, dtype: torch.dtype = torch.float32
) -> list[_QueryBlock]:
    """A chunk's blocks of query rows and their causal masks, built once per step for all layers.

    oneDNN builds and keeps a bfloat16 matmul kernel, with its buffers, for every shape it is given, so
    memory grows with every new key length; the shapes come from a short list: keys up to the next
    multiple of `CHUNK_QUERY_ROWS` (within the cache's `capacity`, masked out past the block), and a
    short block's rows padded to a power of two. Padded rows see every key up to their position (never
    none: a softmax over nothing is NaN) and their output is dropped. The padding costs a little time
    and saves the memory those extra kernels would hold."""
    blocks = []
    for first in range(0, n, rows):
        last = min(first + rows, n)
        keys = start + last
        if capacity is not None:
            keys = min(-(-keys // CHUNK_QUERY_ROWS) * CHUNK_QUERY_ROWS, capacity)
        positions = start + torch.arange(first, first + _padded_rows(last - first))
        future = torch.arange(keys)[None, :] > positions[:, None]
        blocks.append(_QueryBlock(first, last, additive_mask(future).to(dtype)))
    return blocks


def _blocked_chunk_attention(q, keys, values, blocks: list[_QueryBlock], scale):
    """Causal attention of a prompt chunk over its slot's cache as batched matmuls, one block of query rows
    at a time, each block reading the keys only up to (about) its own last position.

    In bfloat16 this is faster than the CPU flash kernel with a causal mask (which reads every key for
    every query); a whole chunk as one block was slower than either, its large score buffers freshly
    mapped and page-faulted on every call. In float32 the flash kernel is the faster.

    q: [n, heads, dim]; keys, values: [kv_heads, length, dim], the slot's cache at least as long as the
    blocks' masks; positions past the chunk's own are masked, and must hold finite numbers (a cache only
    ever holds model outputs or zeros). Returns [n, heads, dim].
    """
    n, heads, dim = q.shape
    kv_heads = keys.shape[0]
    group = heads // kv_heads
    out = torch.empty_like(q)
    for block in blocks:
        rows = block.last - block.first
        padded, end = block.mask.shape
        qb = q[block.first : block.last]
        if padded > rows:
            qb = torch.cat((qb, qb.new_zeros(padded - rows, heads, dim)))
        # heads sharing a kv head become one matrix of query rows: [kv_heads, group * padded, dim]
        qb = qb.view(padded, kv_heads, group, dim).permute(1, 2, 0, 3).reshape(kv_heads, -1, dim)
        scores = torch.bmm(qb, keys[:, :end].transpose(1, 2)).view(kv_heads, group, padded, end)
        # scaled and masked in the mask's type, the attention's own (`_query_blocks`): in bfloat16 the softmax
        # reads and writes half the bytes of float32 (it still sums in float32), and `.to` copies nothing
        weights = torch.softmax(torch.add(block.mask, scores, alpha=scale), dim=-1).to(values.dtype)
        ob = torch.bmm(weights.view(kv_heads, group * padded, end), values[:, :end]).view(kv_heads, group, padded, dim)
        out[block.first : block.last] = ob[:, :, :rows].permute(2, 0, 1, 3).reshape(rows, heads, dim)
    return out


def _rope(x: torch.Tensor, cos: torch.Tensor, signed_sin: torch.Tensor) -> torch.Tensor:
    """Llama's rotary embedding, `x * cos + rotate_half(x) * sin`, bit for bit: rotate_half is a roll of
    the head dimension by half with the first half negated, and the negation is moved into `signed_sin`
    (computed once per step), so each call is four ops instead of seven. Queries and keys are rotated
    in one call where they come out of one projection."""
    return x * cos + torch.roll(x, x.shape[-1] // 2, -1) * signed_sin


class BatchForward:
    def __init__(
        self,
        model,
        cache: SlotCache,
        kernel: str = linear_kernels.AUTO,
        input_ranges: dict | None = None,
        release_float_weights: bool = False,
    ) -> None:
        """`input_ranges`: {(layer, kind): per-channel input magnitudes} from `bot.inference.calibration.input_ranges`,
        which int8 linears use to smooth their inputs; without them int8 quantizes the inputs as they come.

        `release_float_weights`: int8 linears hold their own packed copy, so where nothing else runs the
        model (the server's runtime) the float weights of the layers it replaced are handed back; the
        model itself can then no longer run those layers. A LM head tied to the embeddings stays: the
        embedding lookup reads it."""
        self.decoder, self.lm_head = decoder_of(model)
        self.kernel = linear_kernels.resolve(kernel, self.lm_head.weight.detach())
        self.heads = model.config.num_attention_heads
        self.kv_heads = model.config.num_key_value_heads
        self.head_dim = cache.head_dim
        self.cache = cache
        ranges = input_ranges or {}
        release = release_float_weights and self.kernel == linear_kernels.INT8
        self.fused = [
            _fuse(layer, self.kernel, {kind: r for (i, kind), r in ranges.items() if i == index}, release)
            for index, layer in enumerate(self.decoder.layers)
        ]
        head = self.lm_head
        int8 = self.kernel == linear_kernels.INT8
        # int8 linears take and give float32: the residual stream stays float32 between them, which spares
        # two conversions per projection and two per norm (a faster decode step, and `shopbot eval answers`
        # scores no lower than with a bfloat16 stream)
        self.dtype = torch.float32 if int8 else self.decoder.embed_tokens.weight.dtype
        self.final_norm = None
        cache_dtype = cache.kv[0].dtype
        # attention runs in the cache's type where this CPU computes bfloat16 fast (a float32 query beside
        # a bfloat16 cache otherwise takes the slower flash kernel)
        self.attention_dtype = (
            cache_dtype if cache_dtype != self.dtype and precision.resolve(precision.AUTO) == "bfloat16" else self.dtype
        )
        # prompt chunks: blocked matmuls where attention runs in bfloat16, the flash kernel in float32
        # (the faster of the two for each type, see `_blocked_chunk_attention`)
        self.blocked_chunks = self.attention_dtype == torch.bfloat16 and cache_dtype == torch.bfloat16
        self.keys_first = keys_first_is_faster(
            self.attention_dtype, self.kv_heads, self.heads // self.kv_heads, self.head_dim
        )
        if type(head) is not torch.nn.Linear:
            self.head = head
        elif int8:
            smooth = _smoothing(ranges.get((None, "head")), head.weight)
            self.head = int8_linear.Int8Linear(head.weight.detach(), head.bias, smooth, divide_inputs=False)
            self.final_norm = _folded(self.decoder.norm.weight, smooth)
        else:
            self.head = linear_kernels.prepare(self.kernel, head.weight.detach(), head.bias)
        if release and type(head) is torch.nn.Linear and head.weight is not self.decoder.embed_tokens.weight:
            _release(head)

    @torch.inference_mode()
    def __call__(self, segments: list[Segment]) -> torch.Tensor:
        """Logits (float32) for the last token of each segment that wants them (every token of an
        `every_row` segment), in segment order."""
        decodes = [s for s in segments if len(s.tokens) == 1]
        chunks = [s for s in segments if len(s.tokens) > 1]
        ordered = decodes + chunks
        ids = torch.tensor([t for s in ordered for t in s.tokens])
        positions = torch.tensor([s.start + i for s in ordered for i in range(len(s.tokens))])
        x = self.decoder.embed_tokens(ids)[None].to(self.dtype)  # [1, T, hidden]
        cos, sin = self.decoder.rotary_emb(x, positions[None])
        cos, sin = cos[0][:, None, :], sin[0][:, None, :]  # [T, 1, head_dim]
        half = self.head_dim // 2
        signed_sin = torch.cat((-sin[..., :half], sin[..., half:]), dim=-1)

        n_dec = len(decodes)
        dec_slots = torch.tensor([s.slot for s in decodes], dtype=torch.long)
        dec_pos = positions[:n_dec]
        view = max((s.slot for s in decodes), default=-1) + 1
        self.cache.reserve(max(s.start + len(s.tokens) for s in ordered))
        # decodes attend over the whole capacity (the rest masked): a contiguous batch, and shapes that
        # change once per capacity step, so oneDNN's cache of kernels built per shape stays small
        dec_len = self.cache.capacity
        mask = qd = cache_rows = None
        # the usual case, slots 0..n-1 all decoding: queries and outputs need no scatter or gather
        dense = dec_slots.tolist() == list(range(n_dec))
        if n_dec:
            # slots in the view that are not decoding attend to position 0 only, and their output is dropped
            lengths = torch.ones(view, dtype=torch.long)
            lengths[dec_slots] = dec_pos + 1
            mask = additive_mask((torch.arange(dec_len)[None, :] >= lengths[:, None])[:, None, None, :])
            if not dense:  # one query row per slot in the view, rewritten at the decoding slots in every layer
                qd = torch.zeros(view, self.heads, 1, self.head_dim, dtype=self.attention_dtype)
            # each new key/value's row in a layer's [slots * kv_heads * capacity, head_dim] cache
            heads = torch.arange(self.kv_heads)
            cache_rows = ((dec_slots[:, None] * self.kv_heads + heads[None, :]) * dec_len + dec_pos[:, None]).reshape(
                -1
            )

        blocks = (
            {
                id(s): _query_blocks(s.start, len(s.tokens), self.cache.capacity, dtype=self.attention_dtype)
                for s in chunks
            }
            if self.blocked_chunks
            else {}
        )

        kv = self.cache.kv
        for layer_idx, layer in enumerate(self.decoder.layers):
            attn = layer.self_attn
            fused = self.fused[layer_idx]
            if fused is not None and not fused.valid_for(layer):
                fused = self.fused[layer_idx] = None
            norms = fused.norms if fused is not None and fused.norms else (None, None)
            h = _norm(layer.input_layernorm, x, norms[0])[0]  # [T, hidden]
            if fused is not None:
                q_size, k_size, v_size = fused.qkv_sizes
                qk, v = fused.qkv(h).split((q_size + k_size, v_size), dim=-1)
                qk = _rope(qk.view(-1, self.heads + self.kv_heads, self.head_dim), cos, signed_sin)
                q, k = qk[:, : self.heads], qk[:, self.heads :]
                v = v.reshape(-1, self.kv_heads, self.head_dim)
            else:
                q = _rope(attn.q_proj(h).view(-1, self.heads, self.head_dim), cos, signed_sin)
                k = _rope(attn.k_proj(h).view(-1, self.kv_heads, self.head_dim), cos, signed_sin)
                v = attn.v_proj(h).view(-1, self.kv_heads, self.head_dim)
            keys, values = kv[layer_idx]  # each [slots, kv_heads, capacity, head_dim]
            out = torch.empty_like(q)
            if n_dec:
                keys.view(-1, self.head_dim).index_copy_(
                    0, cache_rows, k[:n_dec].reshape(-1, self.head_dim).to(keys.dtype)
                )
                values.view(-1, self.head_dim).index_copy_(
                    0, cache_rows, v[:n_dec].reshape(-1, self.head_dim).to(values.dtype)
                )
                if dense:
                    od = _decode_attention(
                        q[:n_dec, :, None, :].to(self.attention_dtype),
                        keys[:view],
                        values[:view],
                        mask,
                        attn.scaling,
                        self.keys_first,
                    )
                    out[:n_dec] = od[:, :, 0, :]
                else:
                    qd[dec_slots] = q[:n_dec, :, None, :].to(qd.dtype)
                    od = _decode_attention(qd, keys[:view], values[:view], mask, attn.scaling, self.keys_first)
                    out[:n_dec] = od[dec_slots, :, 0, :]
            offset = n_dec
            for s in chunks:
                n, end = len(s.tokens), s.start + len(s.tokens)
                keys[s.slot, :, s.start : end] = k[offset : offset + n].transpose(0, 1)
                values[s.slot, :, s.start : end] = v[offset : offset + n].transpose(0, 1)
                if self.blocked_chunks:
                    out[offset : offset + n] = _blocked_chunk_attention(
                        q[offset : offset + n].to(self.attention_dtype),
                        keys[s.slot],
                        values[s.slot],
                        blocks[id(s)],
                        attn.scaling,
                    ).to(out.dtype)
                    offset += n
                    continue
                causal = torch.arange(end)[None, :] <= (s.start + torch.arange(n))[:, None]
                oc = F.scaled_dot_product_attention(
                    q[offset : offset + n].transpose(0, 1)[None].to(self.attention_dtype),
                    _computable(keys[s.slot : s.slot + 1, :, :end], self.attention_dtype),
                    _computable(values[s.slot : s.slot + 1, :, :end], self.attention_dtype),
                    attn_mask=causal,
                    scale=attn.scaling,
                    enable_gqa=True,
                )
                out[offset : offset + n] = oc[0].transpose(0, 1)
                offset += n
            out = out.reshape(1, -1, self.heads * self.head_dim)
            x = x + (fused.o(out) if fused is not None else attn.o_proj(out))
            h = _norm(layer.post_attention_layernorm, x, norms[1])
            if fused is not None:
                gate, up = fused.gate_up(h).chunk(2, dim=-1)
                x = x + fused.down(layer.mlp.act_fn(gate) * up)
            else:
                x = x + layer.mlp(h)

        # each segment's logit rows of x, in the caller's segment order
        ends, offset = {}, 0
        for s in ordered:
            offset += len(s.tokens)
            ends[id(s)] = offset
        rows = [r for s in segments for r in range(ends[id(s)] - s.logit_rows, ends[id(s)])]
        for s in segments:
            self.cache.slots[s.slot].tokens.extend(s.tokens)
        return self.head(_norm(self.decoder.norm, x[0, rows], self.final_norm)).float() if rows else torch.empty(0)
