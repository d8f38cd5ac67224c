"""Which process of a data-parallel run this is: rank zero writes and logs, the others
only train. A ground module: the pipeline and the tracking adapter both ask it."""

from __future__ import annotations

import os
import sys


def is_global_zero() -> bool:
    """False in DDP's other ranks: they train, rank zero writes and logs."""
    if int(os.environ.get("NODE_RANK") or 0):  # a node started by hand (Lightning's
        return False                           # rank says 0 there until the Trainer runs)
    lightning = sys.modules.get("pytorch_lightning.utilities.rank_zero")
    if lightning is not None:  # a Trainer may have set the rank
        return getattr(lightning.rank_zero_only, "rank", 0) == 0
    # What Lightning reads at import, without its 3 s import where nothing trains.
    ranks = (os.environ.get(v) for v in ("RANK", "LOCAL_RANK", "SLURM_PROCID",
                                         "JSM_NAMESPACE_RANK"))
    return int(next((r for r in ranks if r is not None), 0)) == 0
