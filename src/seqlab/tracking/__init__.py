"""MLflow tracking: the store, one run per training, and the lineage tags on it."""
