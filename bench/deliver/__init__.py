"""Benchmarks of the delivery capability: JSON on stdout, progress on stderr; figures in docs/benchmarks.md."""
