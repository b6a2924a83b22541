"""The local runtime: node agents, replica launcher, controller, reconciler, placement, probes and back-off."""
