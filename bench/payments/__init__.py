"""Benchmarks of the reference payments service."""
