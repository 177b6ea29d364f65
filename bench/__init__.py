"""Benchmarks: ours beside stock Feast on the same data and Redis (`make bench`)."""
