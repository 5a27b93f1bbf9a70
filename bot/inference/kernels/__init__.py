"""The batched model's linear layers on the CPU: int8 weights and activations, and the float kernels timed against them."""
