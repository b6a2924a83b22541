"""PostgreSQL high availability: the primary/standby pair, its failover healer, and the Patroni healer."""
