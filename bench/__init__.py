"""authority's token endpoint benchmark (see bench/run.py)."""
