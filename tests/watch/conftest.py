"""Shared by every watch test folder: this folder's directory is on ``sys.path`` (pytest puts a
conftest's directory there), so ``tests/watch/prom`` and ``tests/watch/metrics`` both import the one
conformance suite, ``watch_conformance``."""
