"""Self-healing runtime: service specs, local node agents, router, reconciler, backups and chaos."""

__all__: list[str] = []
