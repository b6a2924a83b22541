"""Replay protocols: the handbook and prequential runs, their shared streaming machinery and metrics."""
