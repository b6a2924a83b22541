"""Benchmarks of the watch capability: JSON on stdout, progress on stderr; figures in the lead's docs/benchmarks.md."""
