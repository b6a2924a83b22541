"""Streaming features: the feature engine, per-entity day rings, and labelled windows of feature vectors."""
