"""Sweeps: a multirun as one MLflow parent run, jobs that share the machine, search."""
