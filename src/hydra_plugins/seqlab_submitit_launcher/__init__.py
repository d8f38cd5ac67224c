"""seqlab's submitit launchers: `hydra/launcher=slurm` and `slurm_local` (conf/hydra/launcher/).

Hydra accepts launchers only from the `hydra_plugins` namespace package, and imports
every module here on each start: launcher.py imports submitit only when a sweep launches.
"""
