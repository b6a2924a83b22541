"""The package version, the default for the ``PAYMENTS_VERSION`` setting."""

__version__ = "0.1.0"
