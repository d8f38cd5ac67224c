"""DVC stages: one module per stage of dvc.yaml, each reading params.yaml."""
