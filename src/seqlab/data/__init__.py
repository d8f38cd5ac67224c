"""Datasets: raw sources (fetch) and their preprocessing into one tensor format."""
