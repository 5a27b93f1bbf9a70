"""The conversation engine, its tools, the generator and the command line."""
