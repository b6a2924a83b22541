"""Models and their registry: artifacts, training, retraining, shadow scoring and model audit entries."""
