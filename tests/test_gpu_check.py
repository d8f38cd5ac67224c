"""`make gpu-check` on a machine without a GPU: one line that says so, exit status 2.

On a GPU machine the same command trains the default entries on both devices (its
figures are in docs: guides/gpu.md); here only its refusals can be checked.
"""

from __future__ import annotations

import pytest

from tests.conftest import run_module

try:
    import torch

    HAS_GPU = torch.cuda.is_available()
except ImportError:  # pragma: no cover
    HAS_GPU = False


@pytest.mark.skipif(HAS_GPU, reason="this machine has a GPU: the check would train")
def test_no_gpu_is_one_line_and_a_failure():
    done = run_module("seqlab.gpu_check", "--entries", "course_ex1")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("seqlab: error: no GPU: torch ")
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_an_unknown_entry_is_one_line():
    done = run_module("seqlab.gpu_check", "--entries", "nope")
    assert done.returncode == 2
    assert "--entries: no entry 'nope' in conf/pipeline.yaml; entries: course_ex1" in done.stderr
