"""Alert sinks: one interface (:mod:`._interface`), one file per implementation."""
