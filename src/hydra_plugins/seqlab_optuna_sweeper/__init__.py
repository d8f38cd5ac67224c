"""seqlab's Hydra sweeper on Optuna 5: `hydra/sweeper=optuna` (see conf/search/).

Hydra finds it by importing every module of the `hydra_plugins` namespace package except
those named with a leading underscore: config.py registers the config and sweeper.py
holds the Sweeper, both light; Optuna is imported by _space.py and _results.py only when a
sweep starts, so `python -m seqlab.train --help` stays fast.
"""
