"""Benchmarks of the fraud engine (JSON out); figures in docs/benchmarks.md."""
