"""seqlab: reproducible experiments for the five sequence-learning archetypes."""

import os

from omegaconf import OmegaConf

# conf/train.yaml names a run's folder by time and process id (`${seqlab_pid:}`), so that
# runs started in the same instant never share a folder. Cached, as Hydra's `now` is: a
# sweep's jobs, in joblib's or submitit's processes, get the launching process's value
# with its config, so they write into the sweep folder and find its parent run there.
if not OmegaConf.has_resolver("seqlab_pid"):
    OmegaConf.register_new_resolver("seqlab_pid", os.getpid, use_cache=True)
