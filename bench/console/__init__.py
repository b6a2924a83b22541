"""Benchmarks for finpilot.console: JSON on stdout, progress on stderr."""
