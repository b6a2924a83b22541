"""Live serving: the fraud service, its wire format, state, observers, the payments decider and the NATS workers."""
