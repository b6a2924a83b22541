"""Benchmarks of core's shared helpers (the retry helper against stamina and tenacity)."""
