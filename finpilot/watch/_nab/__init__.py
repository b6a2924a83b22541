"""Private: see finpilot.watch."""
