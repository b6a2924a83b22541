"""The router: a health-aware HTTP/1.1 load balancer, its message framing and its per-replica metrics."""
