"""Entry points: the `shopbot` command line, the terminal chat and the benchmarks."""
