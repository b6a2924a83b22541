"""The Kubernetes backend: render manifests, apply them, and heal dead nodes."""
