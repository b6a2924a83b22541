"""Benchmarks for finpilot.deliver: JSON on stdout, progress on stderr."""
