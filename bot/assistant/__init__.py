"""The assistant: one shopper turn from question to streamed answer (facts, prompt, tools, generation)."""
