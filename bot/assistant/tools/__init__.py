"""Tools the assistant calls on a shopper's behalf."""
