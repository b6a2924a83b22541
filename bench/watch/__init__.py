"""Benchmarks of the watch capability."""
