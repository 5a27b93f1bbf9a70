"""One forward step of a Llama-family model over many sequences at once, each with its own KV cache slot.

transformers' `forward` takes one rectangular batch with one cache; continuous batching needs
sequences of different lengths, joining and leaving between steps, and a prompt chunk processed in
the same step as other sequences' next tokens. So the layer loop is written out here over the
model's own modules (norms, projections, MLP — LoRA layers included, merged or not) with
`scaled_dot_product_attention` per group: one call for all single-token decodes (over the slot
tensor's view, masked by each slot's length) and one per prompt chunk.

Architectures with the Llama layout (Llama, SmolLM, Mistral, Qwen2) are supported; `supports`
says whether a model is one of them, and the scheduler falls back to one-at-a-time generation
otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bot.slot_cache import SlotCache

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


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class BatchForward:
    def __init__(self, model, cache: SlotCache) -> None:
        self.model = model
        self.decoder, self.lm_head = decoder_of(model)
        config = model.config
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        self.heads = config.num_attention_heads
        self.kv_heads = config.num_key_value_heads
        self.cache = cache

    @torch.inference_mode()
    def __call__(self, segments: list[Segment]) -> torch.Tensor:
        """Logits (float32) for the last token of each segment that wants them, in segment order."""
        decodes = [s for s in segments if len(s.tokens) == 1]
        chunks = [s for s in segments if len(s.tokens) > 1]
        ordered = decodes + chunks
        ids = torch.tensor([t for s in ordered for t in s.tokens])
        positions = torch.tensor([s.start + i for s in ordered for i in range(len(s.tokens))])
        x = self.decoder.embed_tokens(ids)[None]  # [1, T, hidden]
        cos, sin = self.decoder.rotary_emb(x, positions[None])
        cos, sin = cos[0][:, None, :], sin[0][:, None, :]  # [T, 1, head_dim]

        n_dec = len(decodes)
        dec_slots = torch.tensor([s.slot for s in decodes], dtype=torch.long)
        dec_pos = positions[:n_dec]
        view = max((s.slot for s in decodes), default=-1) + 1
        dec_len = max((s.start for s in decodes), default=0) + 1
        dec_mask = None
        if n_dec:
            # slots in the view that are not decoding attend to position 0 only, and their output is dropped
            lengths = torch.ones(view, dtype=torch.long)
            lengths[dec_slots] = dec_pos + 1
            dec_mask = (torch.arange(dec_len)[None, :] < lengths[:, None])[:, None, None, :]

        kv = self.cache.kv
        for layer_idx, layer in enumerate(self.decoder.layers):
            attn = layer.self_attn
            h = layer.input_layernorm(x)[0]  # [T, hidden]
            q = attn.q_proj(h).view(-1, self.heads, self.head_dim)
            k = attn.k_proj(h).view(-1, self.kv_heads, self.head_dim)
            v = attn.v_proj(h).view(-1, self.kv_heads, self.head_dim)
            q = q * cos + _rotate_half(q) * sin
            k = k * cos + _rotate_half(k) * sin
            keys, values = kv[layer_idx, 0], kv[layer_idx, 1]  # [slots, kv_heads, max_len, head_dim]
            out = torch.empty_like(q)
            if n_dec:
                keys[dec_slots, :, dec_pos] = k[:n_dec]
                values[dec_slots, :, dec_pos] = v[:n_dec]
                qd = torch.zeros(view, self.heads, 1, self.head_dim, dtype=q.dtype)
                qd[dec_slots] = q[:n_dec, :, None, :]
                od = F.scaled_dot_product_attention(qd, keys[:view, :, :dec_len], values[:view, :, :dec_len],
                                                    attn_mask=dec_mask, scale=attn.scaling, enable_gqa=True)
                out[:n_dec] = od[dec_slots, :, 0, :]
            offset = n_dec
            for s in chunks:
                n, end = len(s.tokens), s.start + len(s.tokens)
                keys[s.slot, :, s.start:end] = k[offset:offset + n].transpose(0, 1)
                values[s.slot, :, s.start:end] = v[offset:offset + n].transpose(0, 1)
                causal = torch.arange(end)[None, :] <= (s.start + torch.arange(n))[:, None]
                oc = F.scaled_dot_product_attention(q[offset:offset + n].transpose(0, 1)[None],
                                                    keys[s.slot:s.slot + 1, :, :end], values[s.slot:s.slot + 1, :, :end],
                                                    attn_mask=causal, scale=attn.scaling, enable_gqa=True)
                out[offset:offset + n] = oc[0].transpose(0, 1)
                offset += n
            x = x + attn.o_proj(out.reshape(1, -1, self.heads * self.head_dim))
            x = x + layer.mlp(layer.post_attention_layernorm(x))

        last, offset = [], 0
        for s in ordered:
            offset += len(s.tokens)
            if s.wants_logits:
                last.append(offset - 1)
        logits_rows = self.lm_head(self.decoder.norm(x[0, last])).float() if last else torch.empty(0)
        # back to the caller's segment order
        wanted = [s for s in ordered if s.wants_logits]
        order = {id(s): i for i, s in enumerate(wanted)}
        rows = [order[id(s)] for s in segments if s.wants_logits]
        for s in segments:
            self.cache.slots[s.slot].tokens.extend(s.tokens)
        return logits_rows[rows] if rows else logits_rows
