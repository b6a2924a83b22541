"""Benchmarks for finpilot.heal: JSON on stdout, progress on stderr."""
