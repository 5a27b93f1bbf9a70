"""Tool-call data, LoRA training and evaluation, and the shipped adapter."""
