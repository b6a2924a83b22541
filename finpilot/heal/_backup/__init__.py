"""Encrypted backups: sources, the chunked cipher, manifests, retention, schedules and restore drills."""
