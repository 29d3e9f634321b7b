"""Helpers shared by the benchmarks: cached synthetic products, timers, peak memory of a child process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR / "cache"


def load_average() -> str:
    """The machine's load (1, 5, 15 min) and core count: print it beside every timing."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg()) + f" ({os.cpu_count()} cores)"


#: The writer of each input format, and its keyword arguments (STAC: stactools' items carry every file).
WRITERS = {"SAFE": ("s2mask.sim.safe", "write_product", {"quality_masks": False}),
           "EOPF": ("s2mask.sim.eopf", "write_eopf", {}),
           "STAC": ("s2mask.sim.stac", "write_stac", {"style": "stactools"})}


def cached_product(size: int, level: str = "L1C", baseline: str = "05.10", cloudy: bool = False,
                   seed: int = 0, fmt: str = "SAFE") -> Path:
    """A synthetic product of ``size`` x ``size`` 10 m pixels, generated once and kept in bench/cache, as
    ``fmt`` (SAFE, EOPF Zarr or a STAC item of COGs; the same scene in every format)."""
    suffix = "" if fmt == "SAFE" else f"_{fmt}"
    folder = CACHE_DIR / f"{level}_{baseline}_{size}_{'cloudy' if cloudy else 'clear'}_{seed}{suffix}"
    done = folder / "done.json"
    if done.exists():
        return Path(json.loads(done.read_text())["product"])
    from importlib import import_module

    module, function, options = WRITERS[fmt]
    write = getattr(import_module(module), function)
    started = time.perf_counter()
    if cloudy:
        from s2mask.sim.clouds import cloudy_scene
        scene = cloudy_scene(size, size, seed=seed, sun_zenith=40.0, sun_azimuth=150.0)
    else:
        from s2mask.sim.scene import landscape
        scene = landscape(size, size, seed=seed)
    path = write(scene, folder, level=level, baseline=baseline, **options)
    del scene
    done.write_text(json.dumps({"product": str(path), "seconds": time.perf_counter() - started}))
    return path


_MEASURED = """
import resource, sys
code = sys.argv[1]
sys.argv = [sys.argv[0], *sys.argv[2:]]
exec(compile(code, "<benchmark>", "exec"), {"__name__": "__main__"})
try:
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("PEAK_RSS_KB", peak_kb)
"""


def run_measured(code: str, *args: str) -> tuple[dict, int]:
    """Run python ``code`` in a fresh interpreter; returns the JSON it prints last and its own peak RSS in MB.

    The peak is the child's VmHWM, the high-water mark of its own memory since it started. Its
    ``ru_maxrss`` is not: Linux hands a new process the peak of the process it was forked from, so a run
    started right after :func:`cached_product` generated a tile in the benchmark's process reported
    that generator's 5.8 GB (issue 22)."""
    result = subprocess.run([sys.executable, "-c", _MEASURED, code, *args], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "child failed")
    lines = result.stdout.strip().splitlines()
    peak_kb = int(lines[-1].split()[1])
    payload = next(line for line in reversed(lines[:-1]) if line.startswith(("{", "[")))
    return json.loads(payload), peak_kb // 1024


def timed_command(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def decode_seconds(jobs: list[tuple[str, list[str]]], workers: int = 1) -> float:
    """Wall seconds ``gdal_translate`` takes to decode each raster of ``jobs`` (a GDAL name: file or
    ``ZARR:"store":/array``, and extra options such as ``-outsize``) into memory, ``workers`` rasters at a
    time: the bare decode of the JPEG 2000 code-blocks, Zarr chunks or COG tiles a read touches."""
    from concurrent.futures import ThreadPoolExecutor

    scratch = Path(tempfile.mkdtemp(dir="/dev/shm" if Path("/dev/shm").exists() else None))

    def decode(index: int) -> None:
        name, options = jobs[index]
        target = scratch / f"decoded{index}.img"
        subprocess.run(["gdal_translate", "-q", "-of", "ENVI", "--config", "GDAL_NUM_THREADS", "ALL_CPUS",
                        *options, name, str(target)], check=True, capture_output=True)
        for leftover in scratch.glob(f"decoded{index}.*"):
            leftover.unlink()

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(decode, range(len(jobs))))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return time.perf_counter() - started


def gdal_translate_seconds(product: Path, bands: tuple[str, ...] | None = None, resolution: int = 20,
                           files: str = "IMG_DATA/*.jp2", workers: int = 1) -> float:
    """Seconds ``gdal_translate`` takes to decode the JPEG 2000 files of ``bands`` (all when None) at the
    resolution s2mask reads them for a ``resolution`` grid: bands finer than it at their power-of-two
    level, the others in full. The reference every read benchmark is a ratio to. ``files`` (under the
    granule): the band images, or ``QI_DATA/MSK_DETFOO_*.jp2`` for the detector footprints, which s2mask
    decodes at the same levels."""
    from s2mask.bands import NATIVE_RESOLUTION, band_from_file_id

    jobs = []
    for jp2 in sorted(product.glob(f"GRANULE/*/{files}")):
        band = band_from_file_id(jp2.stem.rsplit("_", 1)[-1])
        if bands is None or band in bands:
            factor = resolution // NATIVE_RESOLUTION[band]
            jobs.append((str(jp2), ["-outsize", "50%", "50%"] if factor >= 2 and factor % 2 == 0 else []))
    return decode_seconds(jobs, workers)


def kept_section(path: Path, heading: str = "## Summary") -> list[str]:
    """The hand-written section ``heading`` of a report that a script rewrites (reports keep it)."""
    text = path.read_text() if path.exists() else ""
    start = text.find(heading)
    if start < 0:
        return [f"{heading}\n", "(written by hand after a run)\n"]
    end = text.find("\n## ", start + 1)
    return [text[start:end if end >= 0 else None].rstrip("\n") + "\n"]
