"""Runbooks: the YAML schema, the engine, its actions, rate limits, the pager and ledger references."""
