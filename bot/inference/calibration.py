"""How large each input channel of the model's linear layers gets, read off one short float forward pass.

int8 activations share one step per row, so a row's few large channels set the step for all the
others: in SmolLM2 the inputs of the q/k/v projections reach many times their root mean square in
every row (the same few channels, far above the median channel), the MLP's down projection more.
SmoothQuant (Xiao et al., 2023) moves part of that range into the weights, per channel, which needs
these magnitudes; the channels that carry them are a property of the model, so any text in the model's
chat format finds them. The calibration chat is a made-up shop's, in the shape of shopbot's prompts,
and short enough that the pass adds little to start-up.
"""

from __future__ import annotations

import torch

from bot.inference.batch_forward import decoder_of

CALIBRATION_CHAT = [
    {
        "role": "system",
        "content": (
            "You are the customer-service assistant of Example Grocer. Answer the shopper in one to three short "
            "sentences, using only the facts below. Copy prices, dates and tracking numbers exactly.\n\n"
            "The shopper is Sam Doe, signed in.\n\nProducts:\n"
            "[P0012] Rolled Oats | Field & Mill | 1 kg | $3.29 | in stock (41) | vegan, whole grain. Thick-cut oats.\n"
            "[P0233] Almond Milk, Unsweetened | Brook Farm | 1 L | $2.79 | out of stock | vegan, dairy-free.\n"
            "[P0871] Sharp Cheddar | Hill Dairy | 400 g | $6.49 | in stock (7) | vegetarian. Aged 18 months.\n\n"
            "Policies:\n[returns] Returns — Unopened items can be returned within 30 days with the receipt; "
            "fresh food is refunded if it arrives damaged. Refunds reach the card in 3-5 business days.\n\n"
            "The shopper's orders (newest first):\n"
            "Order 7712 | placed 2026-10-03 09:14 | status shipped | carrier UPS | tracking 1Z999AA10123456784 | "
            "total $24.57 | items: 2x Rolled Oats, 1x Sharp Cheddar\n"
            "Order 7650 | placed 2026-09-21 18:40 | status delivered | delivered 2026-09-22 12:05 | total $11.16 | "
            "items: 4x Almond Milk, Unsweetened"
        ),
    },
    {"role": "user", "content": "hi! where is my last order, and is the almond milk back in stock?"},
    {
        "role": "assistant",
        "content": (
            "Your order 7712 shipped with UPS, tracking 1Z999AA10123456784. The Brook Farm Almond Milk is out of "
            "stock right now; the Rolled Oats ($3.29) are in stock."
        ),
    },
    {"role": "user", "content": "thanks. can I return the cheddar if it's opened?"},
]

INPUTS = ("qkv", "o", "gate_up", "down")  # per layer; the LM head's input is keyed (None, "head")


def _recorder(ranges: dict, key):
    def record(module, args):
        rows = args[0].detach().reshape(-1, args[0].shape[-1])
        channels = rows.abs().amax(dim=0).float()
        ranges[key] = torch.maximum(ranges[key], channels) if key in ranges else channels

    return record


@torch.inference_mode()
def input_ranges(model, token_ids: list[list[int]]) -> dict:
    """{(layer, input): largest magnitude per input channel} over the sequences, for the Llama layout."""
    decoder, head = decoder_of(model)
    ranges: dict = {}
    hooks = [head.register_forward_pre_hook(_recorder(ranges, (None, "head")))]
    for i, layer in enumerate(decoder.layers):
        modules = (layer.self_attn.q_proj, layer.self_attn.o_proj, layer.mlp.gate_proj, layer.mlp.down_proj)
        hooks += [m.register_forward_pre_hook(_recorder(ranges, (i, name))) for m, name in zip(modules, INPUTS)]
    try:
        for ids in token_ids:
            model(input_ids=torch.tensor([ids]), use_cache=False)
    finally:
        for hook in hooks:
            hook.remove()
    return ranges
