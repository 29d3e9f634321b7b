"""Helpers shared by the benchmarks: cached synthetic products, timers, peak memory of a child process."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR / "cache"


def cached_product(size: int, level: str = "L1C", baseline: str = "05.10", cloudy: bool = False,
                   seed: int = 0) -> Path:
    """A synthetic product of ``size`` x ``size`` 10 m pixels, generated once and kept in bench/cache."""
    folder = CACHE_DIR / f"{level}_{baseline}_{size}_{'cloudy' if cloudy else 'clear'}_{seed}"
    done = folder / "done.json"
    if done.exists():
        return Path(json.loads(done.read_text())["product"])
    from s2mask.sim.safe import write_product

    started = time.perf_counter()
    if cloudy:
        from s2mask.sim.clouds import cloudy_scene
        scene = cloudy_scene(size, size, seed=seed, sun_zenith=40.0, sun_azimuth=150.0)
    else:
        from s2mask.sim.scene import landscape
        scene = landscape(size, size, seed=seed)
    path = write_product(scene, folder, level=level, baseline=baseline, quality_masks=False)
    del scene
    done.write_text(json.dumps({"product": str(path), "seconds": time.perf_counter() - started}))
    return path


def run_measured(code: str, *args: str) -> tuple[dict, int]:
    """Run python ``code`` in a fresh interpreter; returns its JSON stdout and its peak RSS in MB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "child failed")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return json.loads(result.stdout.strip().splitlines()[-1]), max(peak, before) // 1024


def timed_command(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started
