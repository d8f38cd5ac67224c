"""Evaluation: test metrics, trivial baselines, plots and the metrics file DVC tracks."""
