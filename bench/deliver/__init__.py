"""Benchmarks of the delivery capability (JSON out); figures in docs/benchmarks.md and docs/deliver-*.md."""
