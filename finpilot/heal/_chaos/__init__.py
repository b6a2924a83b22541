"""The chaos drill: faults, payment traffic, lost and duplicated payments, and the report."""
