"""glibc's allocator keeps freed block temporaries, so the next block does not fault them in again."""

import resource
import sys

import numpy as np
import pytest

from s2mask import allocator


def faults_of_reallocating(times: int) -> int:
    """Page faults of allocating, touching and freeing four 20 MB arrays ``times`` times, as a network's
    activations are for every tile: freed together, they used to go back to the kernel."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(times):
        activations = [np.ones(20 << 18, dtype=np.float32) for _ in range(4)]
        del activations
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_freed_block_temporary_is_reused_without_page_faults():
    if not allocator.keep_freed_memory():
        pytest.skip("not glibc, or the environment sets its allocator")
    faults_of_reallocating(1)
    # 80 MB is 20,480 pages; with glibc's defaults about half were faulted in again each time
    assert faults_of_reallocating(5) < 500


def test_the_users_own_allocator_settings_are_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    assert allocator.keep_freed_memory.__wrapped__() is False
