"""Bad inputs and faults as a new user meets them (issue #23), each with the outcome s2mask owes them.

The contract (README, "Errors and exit codes"): one line on stderr that names the file or option and
the problem; in the Python API, s2mask's own error type (:class:`s2mask.errors.S2MaskError`); exit
status 1 (130 after Ctrl-C, 143 after SIGTERM); nothing partial left in the output folder.

Every case is a function of a :class:`Context` (fresh folders, cached synthetic products) that raises
``AssertionError`` when s2mask breaks the contract. Groups follow the issue: ``wrong N`` for its
eleven wrong items, ``questionable`` for the cases it asked to decide (the decision is the
expectation), ``worked`` for a sample of what already worked. ``tests/test_fault_catalogue.py`` runs
every case; ``bench/faults.py`` reruns them against any checkout and counts right, wrong and
questionable. The cases use only public interfaces (the CLI, the Python API), so that older code can
be measured with the same catalogue.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from helpers import small_scene

#: The product every metadata case edits: a 120 x 120 px (1.2 km) L1C tile of baseline 05.10.
SIZE = 120
#: Products big enough for a signal to land while blocks still stream (10 m, 128 px blocks).
SIGNAL_SIZE = 600
PHYSICS = ("--model", "physics")


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    questionable: bool
    check: Callable[[Context], None]
    #: what the issue saw, and what the case requires
    description: str
    #: about ten seconds or more on 2 busy cores (a cluster started and signalled, or hundreds of edits)
    slow: bool = False


CASES: list[Case] = []


def case(group: str, name: str, *, questionable: bool = False, slow: bool = False) -> Callable:
    def register(check: Callable[[Context], None]) -> Callable[[Context], None]:
        description = " ".join((check.__doc__ or "").split())
        CASES.append(Case(name, group, questionable, check, description, slow))
        return check
    return register


class Context:
    """Fresh folders under ``root``, pristine synthetic products (never modified: copy them first)
    and, on demand, one local Dask cluster shared by the batch cases."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._products: dict[tuple, Path] = {}
        self._count = 0
        self._cluster = None

    def folder(self, name: str = "case") -> Path:
        self._count += 1
        folder = self.root / f"{self._count:03d}-{name}"
        folder.mkdir(parents=True)
        return folder

    def product(self, level: str = "L1C", baseline: str = "05.10", size: int = SIZE, zipped: bool = False,
                day: int = 5) -> Path:
        from s2mask.sim.safe import write_product

        key = (level, baseline, size, zipped, day)
        if key not in self._products:
            self._products[key] = write_product(
                small_scene(size, seed=day), self.root / "products" / "_".join(map(str, key)), level=level,
                baseline=baseline, zipped=zipped, quality_masks=False,
                sensing_time=datetime(2024, 3, day, 10, 48, 19, tzinfo=UTC))
        return self._products[key]

    def copy(self, name: str = "copy", **product: object) -> Path:
        """A copy of a product (``product`` as for :meth:`product`) in a fresh folder, to edit."""
        source = self.product(**product)
        target = self.folder(name) / source.name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
        return target

    def scheduler(self) -> str:
        """The address of a two-worker local cluster, started on first use."""
        if self._cluster is None:
            from distributed import LocalCluster

            self._cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                         dashboard_address=":0")
        return self._cluster.scheduler_address

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


# --- running s2mask ------------------------------------------------------------------------------

@dataclass
class Result:
    """How a command ended: ``code`` is its exit status, or the name of an exception that escaped."""

    code: int | str
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


@contextlib.contextmanager
def _captured() -> Iterator[tuple[io.StringIO, io.StringIO, list[str]]]:
    """Python's stdout/stderr, and what C libraries (GDAL) write to file descriptor 2."""
    out, err, native = io.StringIO(), io.StringIO(), []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as spill:
        os.dup2(spill.fileno(), 2)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                yield out, err, native
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            spill.seek(0)
            native.append(spill.read().decode(errors="replace"))


def cli(*argv: object) -> Result:
    """``s2mask ARGV`` in this process (as fast as a call; what it prints is captured)."""
    from s2mask.cli import main

    with _captured() as (out, err, native):
        try:
            code: int | str = main([str(arg) for arg in argv])
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException as escaped:  # whatever escapes is the finding
            traceback.print_exc(file=err)
            code = type(escaped).__name__
    return Result(code, out.getvalue(), err.getvalue() + native[0])


def start(*argv: object, group: bool = False) -> subprocess.Popen:
    """``s2mask ARGV`` as a process of its own (its own process group with ``group``) that Ctrl-C reaches as
    from a terminal (a job started in the background would ignore SIGINT, and so would what it starts)."""
    return subprocess.Popen([sys.executable, "-m", "s2mask.cli", *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=group,
                            preexec_fn=None if group else lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def finish(process: subprocess.Popen, timeout: float = 180) -> Result:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL) if process.pid == os.getpgid(process.pid) else process.kill()
        stdout, stderr = process.communicate()
        return Result("timeout", stdout, stderr)
    code = process.returncode
    # A process killed by a signal it did not handle has no exit status: the shell would show 128 + n.
    return Result(128 - code if code < 0 else code, stdout, stderr)


def wait_for(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("what the case waits for never happened")
        time.sleep(0.01)


def staging(folder: Path) -> list[str]:
    """Hidden staging folders (``.NAME.s2mask-partial-*``) in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if ".s2mask-partial-" in p.name) if folder.is_dir() else []


# --- what the contract says ----------------------------------------------------------------------

def expect_error(result: Result, *fragments: str, code: int = 1) -> str:
    """Exit ``code``, and stderr is one line ``s2mask: error: ...`` holding every fragment."""
    assert result.code == code, f"exit {result.code}, expected {code}: {result.stderr.strip()[-600:]}"
    lines = result.lines
    assert len(lines) == 1, f"{len(lines)} lines on stderr, expected one: {result.stderr.strip()[-900:]}"
    assert lines[0].startswith("s2mask: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def expect_success(result: Result) -> None:
    assert result.code == 0, f"exit {result.code}: {result.stderr.strip()[-600:]}"
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr[-600:]


def expect_raises(call: Callable[[], object], kind: str = "S2MaskError", *fragments: str) -> BaseException:
    """``call()`` raises s2mask's ``kind`` (a class name in :mod:`s2mask.errors`) with a one-line message."""
    from s2mask import errors

    expected = getattr(errors, kind)
    try:
        call()
    except errors.S2MaskError as err:
        assert isinstance(err, expected), f"{type(err).__name__} ({err}), expected {kind}"
        text = str(err)
        assert "\n" not in text, text
        for fragment in fragments:
            assert fragment in text, f"{fragment!r} not in {text!r}"
        return err
    except Exception as err:  # the finding
        raise AssertionError(f"{type(err).__name__} is not s2mask's own: {str(err)[:300]}") from None
    raise AssertionError("no error was raised")


def expect_nothing_partial(folder: Path, before: set[str] | None = None) -> None:
    """No staging folder, and the visible files are those there ``before`` (none when not given)."""
    assert staging(folder) == [], staging(folder)
    if folder.exists():
        visible = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
        assert visible == (before or set()), f"left behind: {sorted(visible - (before or set()))}"


def edit(path: Path, pattern: str, replacement: str, count: int = 1) -> None:
    """Replace the first ``count`` matches of the regular expression ``pattern`` in a text file."""
    text = path.read_text(encoding="utf-8")
    edited, done = re.subn(pattern, replacement, text, count=count, flags=re.S)
    assert done, f"{pattern!r} not found in {path.name}"
    path.write_text(edited, encoding="utf-8")


def tile_mtd(product: Path) -> Path:
    return next(product.glob("GRANULE/*/MTD_TL.xml"))


def band_file(product: Path, band_id: str) -> Path:
    return next(product.glob(f"GRANULE/*/IMG_DATA/*_{band_id}.jp2"))


def write_band(path: Path, values: np.ndarray, resolution: int) -> None:
    """Replace a band's JPEG 2000 file by ``values`` on the tile's grid."""
    from s2mask.sim.safe import write_jp2

    georeference = type("Georeference", (), {"ulx": 300000.0, "uly": 4900020.0, "epsg": 32631})
    write_jp2(path, values, georeference, resolution)


def physics_masker() -> type:
    """The rule-based masker's class (it moved from s2mask.masker to s2mask.physics)."""
    try:
        from s2mask.physics import PhysicsMasker
    except ImportError:
        from s2mask.masker import PhysicsMasker
    return PhysicsMasker


def report_of(folder: Path) -> dict:
    return json.loads(next(folder.glob("*_s2mask_report.json")).read_text())


def summary(folder: Path) -> list[dict]:
    return json.loads((folder / "batch_summary.json").read_text())["products"]


def same_id_copies(ctx: Context, names: tuple[str, ...]) -> list[Path]:
    """Copies of one product under other folder names (``cp -r $L1C b/a.SAFE``): one product ID."""
    source = ctx.product()
    folder = ctx.folder("copies")
    copies = []
    for name in names:
        shutil.copytree(source, folder / name)
        copies.append(folder / name)
    return copies


def truncate(path: Path, size: int = 2000) -> None:
    path.write_bytes(path.read_bytes()[:size])


@contextlib.contextmanager
def patched(owner: object, name: str, replacement: object) -> Iterator[None]:
    saved = getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        setattr(owner, name, saved)


def run_and_info(ctx: Context, product: Path, *fragments: str) -> None:
    """``s2mask run`` and ``s2mask info`` both end with one line holding ``fragments``; nothing written."""
    output = ctx.folder("out")
    expect_error(cli("run", product, "-o", output, *PHYSICS), *fragments)
    expect_nothing_partial(output)
    expect_error(cli("info", product), *fragments)


# === 1. Batch product identity ======================================================================

@case("wrong 1", "batch: three copies of one product ID, the third truncated")
def _(ctx: Context) -> None:
    """cp -r of one product to a, b, c (c's B04 cut to 2000 bytes), then `s2mask batch a b c`: the issue saw
    exit 0, "1 done, 2 skipped", broken c reported skipped with a's cloud cover. Wanted: a done, b and c
    reported as duplicates of a's product ID (exit 1), c never reported as done or skipped."""
    a, b, c = same_id_copies(ctx, ("a.SAFE", "b.SAFE", "c.SAFE"))
    truncate(band_file(c, "B04"))
    output = ctx.folder("out")
    result = cli("batch", a, b, c, "-o", output, "--scheduler", ctx.scheduler(), *PHYSICS, "--quiet")
    assert result.code == 1, result.stderr
    statuses = {Path(item["path"]).name: item for item in summary(output)}
    assert statuses["a.SAFE"]["status"] == "done", statuses
    for name in ("b.SAFE", "c.SAFE"):
        assert statuses[name]["status"] == "duplicate", statuses[name]
        assert "a.SAFE" in statuses[name]["error"], statuses[name]
    assert staging(output) == []


@case("wrong 1", "batch --force: copies of one product ID never overwrite each other")
def _(ctx: Context) -> None:
    """With --force the issue saw a and b both "done", the second silently overwriting the first. Wanted: the
    repeat reported as a duplicate, the outputs those of the first."""
    a, b = same_id_copies(ctx, ("a.SAFE", "b.SAFE"))
    output = ctx.folder("out")
    result = cli("batch", a, b, "-o", output, "--scheduler", ctx.scheduler(), *PHYSICS, "--quiet", "--force")
    assert result.code == 1, result.stderr
    assert [item["status"] for item in summary(output)] == ["done", "duplicate"], summary(output)


@case("wrong 1", "batch: a broken copy of a finished product ID is not skipped")
def _(ctx: Context) -> None:
    """A product ID finished in one batch, then a copy with the same ID but a truncated B04 in the next batch:
    "skipped" must require the same input, so the copy is processed and fails naming B04."""
    a, c = same_id_copies(ctx, ("a.SAFE", "c.SAFE"))
    truncate(band_file(c, "B04"))
    output = ctx.folder("out")
    assert cli("batch", a, "-o", output, "--scheduler", ctx.scheduler(), *PHYSICS, "--quiet").code == 0
    result = cli("batch", c, "-o", output, "--scheduler", ctx.scheduler(), *PHYSICS, "--quiet")
    (item,) = summary(output)
    assert item["status"] == "failed" and "_B04.jp2" in item["error"], item
    assert result.code == 1


@case("wrong 1", "batch: a task's start-up clean-up spares the staging folder of a live run")
def _(ctx: Context) -> None:
    """A product's task deleted every staging folder of its product ID, the running one of another worker too.
    Wanted: only folders whose owner is dead are removed."""
    from s2mask.batch import process_product
    from s2mask.io.atomic import OutputStage

    product = ctx.product()
    output = ctx.folder("out")
    name = product.name.removesuffix(".SAFE")
    with OutputStage(output, name) as live:
        live.path("marker.txt").write_text("a run of another worker")
        outcome = process_product(str(product), str(output), {"model": "physics", "threads": 1})
        assert outcome.status == "done", outcome
        assert live.staging.is_dir(), "the live staging folder was deleted"
    assert (output / "marker.txt").read_text() == "a run of another worker"


@case("wrong 1", "batch: one product named twice")
def _(ctx: Context) -> None:
    """The same product as folder and as its MTD file: processed once, the repeat reported as a duplicate."""
    product = ctx.product()
    output = ctx.folder("out")
    cli("batch", product, product / "MTD_MSIL1C.xml", "-o", output, "--scheduler", ctx.scheduler(), *PHYSICS,
        "--quiet")
    items = summary(output)
    assert [item["status"] for item in items] == ["done", "duplicate"], items
    assert "named twice" in items[1]["error"] or "same product" in items[1]["error"], items[1]


# === 2. What "complete" means ======================================================================

def damaged_output_is_redone(ctx: Context, pattern: str, damage: Callable[[bytes], bytes]) -> None:
    """Batch a product, damage its output matching ``pattern``, batch again: the product is done again."""
    output = ctx.folder("out")
    batch = ("batch", ctx.product(), "-o", output, "--scheduler", ctx.scheduler(), *PHYSICS, "--quiet")
    assert cli(*batch).code == 0
    target = next(output.glob(pattern))
    damaged = damage(target.read_bytes())
    target.write_bytes(damaged)
    assert cli(*batch).code == 0
    assert [item["status"] for item in summary(output)] == ["done"], summary(output)
    assert target.read_bytes() != damaged


@case("wrong 2", "batch: a class GeoTIFF truncated to 0 bytes is not complete")
def _(ctx: Context) -> None:
    """The issue saw a product whose _s2mask.tif was truncated to 0 bytes reported "skipped"."""
    damaged_output_is_redone(ctx, "*_s2mask.tif", lambda data: b"")


@case("wrong 2", "batch: an output with changed bytes (same size) is not complete")
def _(ctx: Context) -> None:
    """Complete outputs are those of the completion record, checksums included."""
    damaged_output_is_redone(ctx, "*_quicklook.png", lambda data: data[:-20] + bytes([data[-20] ^ 0xFF]) + data[-19:])


@case("wrong 2", "run: outputs of an earlier run with other outputs and resolution do not survive")
def _(ctx: Context) -> None:
    """A 60 m run with scl, then a 20 m run without: the issue saw the 60 m _scl.tif stay beside the 20 m
    classes. Wanted: a run replaces every output of its product, so the folder holds one run's outputs."""
    product = ctx.product()
    output = ctx.folder("out")
    expect_success(cli("run", product, "-o", output, *PHYSICS, "--resolution", "60", "--outputs", "cog,scl,report",
                       "--quiet"))
    expect_success(cli("run", product, "-o", output, *PHYSICS, "--resolution", "20", "--outputs", "cog,report",
                       "--quiet"))
    assert not list(output.glob("*_scl.tif*")), sorted(p.name for p in output.iterdir())
    assert report_of(output)["parameters"]["resolution"] == 20


@case("wrong 2", "batch: a rerun with other outputs leaves no output of the earlier one")
def _(ctx: Context) -> None:
    """As above, through `s2mask batch` (the parameters differ, so the product is processed again)."""
    product = ctx.product()
    output = ctx.folder("out")
    batch = ("batch", product, "-o", output, "--scheduler", ctx.scheduler(), *PHYSICS, "--quiet")
    assert cli(*batch, "--resolution", "60", "--outputs", "cog,scl,quicklook").code == 0
    assert cli(*batch, "--outputs", "cog").code == 0
    assert not list(output.glob("*_scl.tif*")) and not list(output.glob("*_quicklook.png"))


# === 3. Signals ======================================================================================

@case("wrong 3", "run: SIGTERM mid-run (timeout, SLURM, docker stop)")
def _(ctx: Context) -> None:
    """`timeout 4.5 s2mask run ...` left an 8-9 MB hidden staging folder. Wanted: SIGTERM handled like
    Ctrl-C: exit 143, one line, nothing partial; earlier outputs untouched."""
    product = ctx.product(size=SIGNAL_SIZE)
    output = ctx.folder("out")
    (output / "earlier.tif").write_bytes(b"kept")
    process = start("run", product, "-o", output, *PHYSICS, "--resolution", "10", "--block-size", "128",
                    "--outputs", "cog,probabilities,scl,dimap,quicklook,report")
    wait_for(lambda: bool(staging(output)) or process.poll() is not None)
    process.send_signal(signal.SIGTERM)
    result = finish(process)
    assert result.code == 143, f"exit {result.code}: {result.stderr[-600:]}"
    assert len(result.lines) == 1 and "Traceback" not in result.stderr, result.stderr[-900:]
    expect_nothing_partial(output, {"earlier.tif"})
    assert (output / "earlier.tif").read_bytes() == b"kept"


@case("wrong 3", "run after kill -9: the next run removes what the killed one left")
def _(ctx: Context) -> None:
    """kill -9 leaves a staging folder (nothing can prevent that); the issue saw a later `s2mask run` succeed
    and never remove it. Wanted: run removes stale staging folders of its own product (owner dead)."""
    product = ctx.product(size=SIGNAL_SIZE)
    output = ctx.folder("out")
    process = start("run", product, "-o", output, *PHYSICS, "--resolution", "10", "--block-size", "128")
    wait_for(lambda: bool(staging(output)) or process.poll() is not None)
    process.kill()
    finish(process)
    assert staging(output), "the kill came too late to leave anything"
    expect_success(cli("run", ctx.product(), "-o", output, *PHYSICS, "--resolution", "60", "--quiet"))
    assert staging(output) == []


@case("wrong 3", "batch: SIGTERM to the batch process", slow=True)
def _(ctx: Context) -> None:
    """`timeout` and `docker stop` send SIGTERM to the batch process alone. Wanted: exit 143, the cluster
    stopped, no staging folder and no lock file left."""
    products = [ctx.product(size=SIGNAL_SIZE, day=day) for day in (5, 6)]
    output = ctx.folder("out")
    process = start("batch", *products, "-o", output, *PHYSICS, "--resolution", "10", "--block-size", "128",
                    "--workers", "1", "--quiet")
    wait_for(lambda: bool(staging(output)) or process.poll() is not None)
    process.send_signal(signal.SIGTERM)
    result = finish(process)
    assert result.code == 143, f"exit {result.code}: {result.stderr[-900:]}"
    assert "Traceback" not in result.stderr, result.stderr[-900:]
    assert staging(output) == [] and not (output / ".s2mask-batch.lock").exists(), sorted(os.listdir(output))


@case("wrong 3", "batch: Ctrl-C in the terminal (SIGINT to every process of the job)", slow=True)
def _(ctx: Context) -> None:
    """Ctrl-C of `s2mask batch` printed 71 lines, four worker tracebacks among them. Wanted: exit 130, no
    traceback, nothing partial."""
    products = [ctx.product(size=SIGNAL_SIZE, day=day) for day in (5, 6)]
    output = ctx.folder("out")
    process = start("batch", *products, "-o", output, *PHYSICS, "--resolution", "10", "--block-size", "128",
                    "--workers", "2", "--quiet", group=True)
    wait_for(lambda: bool(staging(output)) or process.poll() is not None)
    os.killpg(process.pid, signal.SIGINT)
    result = finish(process)
    assert result.code == 130, f"exit {result.code}: {result.stderr[-900:]}"
    assert "Traceback" not in result.stderr and len(result.lines) == 1, result.stderr[-1500:]
    assert staging(output) == [] and not (output / ".s2mask-batch.lock").exists(), sorted(os.listdir(output))


# === 4, 5. One bad metadata field; grids that disagree ============================================

def product_mtd(product: Path) -> Path:
    return product / "MTD_MSIL1C.xml"


#: One field of one metadata file edited, then `s2mask run` and `s2mask info`: (group, case, file, pattern,
#: replacement, what the issue saw, fragments of the one line wanted).
METADATA_EDITS = (
    ("wrong 4", "PRODUCT_START_TIME 'yesterday' (run, info)", product_mtd, r"<PRODUCT_START_TIME>[^<]*<",
     "<PRODUCT_START_TIME>yesterday<", "", ("MTD_MSIL1C.xml", "PRODUCT_START_TIME", "yesterday")),
    ("wrong 4", "SPECIAL_VALUE_INDEX 'zero' (run, info)", product_mtd, r"<SPECIAL_VALUE_INDEX>0<",
     "<SPECIAL_VALUE_INDEX>zero<", "", ("MTD_MSIL1C.xml", "SPECIAL_VALUE_INDEX", "zero")),
    ("wrong 4", "SENSING_TIME '2024-13-45' in MTD_TL.xml (run, info)", tile_mtd, r"(<SENSING_TIME[^>]*>)[^<]*<",
     r"\g<1>2024-13-45T10:00:00Z<", "", ("MTD_TL.xml", "SENSING_TIME", "2024-13-45")),
    ("wrong 4", "a Viewing_Incidence_Angles_Grids bandId 'B1' (run, info)", tile_mtd,
     r'<Viewing_Incidence_Angles_Grids bandId="0"', '<Viewing_Incidence_Angles_Grids bandId="B1"', "",
     ("MTD_TL.xml", "bandId", "B1")),
    ("wrong 4", "a Mean_Viewing_Incidence_Angle without ZENITH_ANGLE (run, info)", tile_mtd,
     r'(<Mean_Viewing_Incidence_Angle bandId="3">\s*)<ZENITH_ANGLE[^>]*>[^<]*</ZENITH_ANGLE>', r"\g<1>", "",
     ("MTD_TL.xml", "ZENITH_ANGLE")),
    ("wrong 4", "one detector's angle grid a row short (run, info)", tile_mtd,
     r'(<Viewing_Incidence_Angles_Grids bandId="2" detectorId="5">\s*<Zenith>.*?<Values_List>\s*)'
     r"<VALUES>[^<]*</VALUES>", r"\g<1>", "", ("MTD_TL.xml", "bandId=2", "detectorId=5")),
    ("wrong 4", "a mean sun angle 'NaN' in MTD_TL.xml (run, info)", tile_mtd,
     r"(<Mean_Sun_Angle>\s*<ZENITH_ANGLE[^>]*>)[^<]*<", r"\g<1>NaN<",
     "NaN parsed as a number reached the report, whose writer refused it with a traceback.",
     ("MTD_TL.xml", "ZENITH_ANGLE")),
    ("wrong 5", "MTD_TL.xml's 20 m NROWS larger than the band files (run, info)", tile_mtd,
     r'(<Size resolution="20">\s*<NROWS>)\d+<', r"\g<1>66<",
     "NROWS 549 -> 600 at 20 m gave a 55-line traceback (Window ... does not lie inside).",
     ("MTD_TL.xml", "20 m")),
)


def _metadata_case(group: str, name: str, where: Callable[[Path], Path], pattern: str, replacement: str,
                   seen: str, fragments: tuple[str, ...]) -> None:
    def check(ctx: Context) -> None:
        product = ctx.copy()
        edit(where(product), pattern, replacement)
        run_and_info(ctx, product, *fragments)

    CASES.append(Case(name, group, False, check, seen or "A 23-31 line traceback in run and info."))


for _edit in METADATA_EDITS:
    _metadata_case(*_edit)


@case("wrong 4", "GENERATION_TIME and SENSING_ORBIT_NUMBER not readable (info)")
def _(ctx: Context) -> None:
    for element, value in (("GENERATION_TIME", "soon"), ("SENSING_ORBIT_NUMBER", "fifty-one")):
        product = ctx.copy()
        edit(product / "MTD_MSIL1C.xml", rf"<{element}>[^<]*<", f"<{element}>{value}<")
        expect_error(cli("info", product), "MTD_MSIL1C.xml", element, value)


@case("wrong 4", "a band index out of range or not a number in MTD_TL.xml (info)")
def _(ctx: Context) -> None:
    for pattern, replacement in (('Incidence_Angle bandId="0"', 'Incidence_Angle bandId="99"'),
                                 ('MASK_FILENAME bandId="0"', 'MASK_FILENAME bandId="x"'),
                                 ('Size resolution="10"', 'Size resolution="ten"')):
        product = ctx.copy()
        edit(tile_mtd(product), pattern, replacement)
        expect_error(cli("info", product), "MTD_TL.xml")


@case("wrong 4", "every element and attribute of both metadata files, each made unreadable in turn", slow=True)
def _(ctx: Context) -> None:
    """Each element text of MTD_MSIL1C.xml and MTD_TL.xml (one per kind of element) set to 'zz', '', 'NaN'
    or removed, each attribute to 'zz' or '99': opening, summarising and reading the product either works
    or raises s2mask's own error."""
    from lxml import etree

    from s2mask.errors import S2MaskError
    from s2mask.io.safe import open_product
    from s2mask.io.summary import summarize

    source = ctx.product()
    product = ctx.folder("sweep") / source.name
    shutil.copytree(source, product)
    failures = []
    for relative in ("MTD_MSIL1C.xml", tile_mtd(source).relative_to(source).as_posix()):
        pristine = etree.parse(str(source / relative))
        seen = set()
        for index, element in enumerate(pristine.iter()):
            if not isinstance(element.tag, str):
                continue
            parent = element.getparent()
            kind = (etree.QName(parent).localname if parent is not None else "", etree.QName(element).localname,
                    tuple(sorted(element.attrib)))
            if kind in seen or parent is None:
                continue
            seen.add(kind)
            edits: list[tuple[str, Callable]] = []
            if len(element) == 0 and (element.text or "").strip():
                edits += [(f"text {text!r}", lambda e, t=text: setattr(e, "text", t)) for text in ("zz", "", "NaN")]
            edits += [(f"@{name}={text}", lambda e, n=name, t=text: e.set(n, t))
                      for name in element.attrib for text in ("zz", "99")]
            edits.append(("removed", lambda e: e.getparent().remove(e)))
            for label, change in edits:
                tree = etree.parse(str(source / relative))
                change(list(tree.iter())[index])
                tree.write(str(product / relative))
                try:
                    opened = open_product(product)
                    summarize(opened)
                    opened.angles(60)
                    opened.read("B2", 60)
                except S2MaskError as err:
                    if "\n" in str(err):
                        failures.append(f"{relative} {kind[1]} {label}: a message of several lines")
                except Exception as err:  # the finding
                    failures.append(f"{relative} {kind[1]} {label}: {type(err).__name__}: {str(err)[:80]}")
        shutil.copy(source / relative, product / relative)
    assert not failures, f"{len(failures)} edits escaped: " + "; ".join(failures[:12])


# === 6. Nothing to write =============================================================================

@case("wrong 6", "--outputs ','")
def _(ctx: Context) -> None:
    output = ctx.folder("out") / "new"
    expect_error(cli("run", ctx.product(), "-o", output, *PHYSICS, "--outputs", ","), "--outputs")
    assert not output.exists()


@case("wrong 6", "--outputs ''")
def _(ctx: Context) -> None:
    output = ctx.folder("out") / "new"
    expect_error(cli("run", ctx.product(), "-o", output, *PHYSICS, "--outputs", ""), "--outputs")
    assert not output.exists()


@case("wrong 6", "run(outputs=()) in the API")
def _(ctx: Context) -> None:
    from s2mask import run

    output = ctx.folder("out")
    expect_raises(lambda: run(ctx.product(), output, model="physics", outputs=()), "ParameterError", "outputs")
    expect_nothing_partial(output)


# === 7. Ctrl-C early, start-up cost =================================================================

IMPORTED = ("import sys\nfrom s2mask.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print('imported:' + ','.join(m for m in ('torch', 'osgeo', 'distributed') if m in sys.modules))")


def heavy_imports(*argv: str) -> list[str]:
    script = IMPORTED.format(argv=list(argv))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-600:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("imported:"))
    return [name for name in line.removeprefix("imported:").split(",") if name]


@case("wrong 7", "--version imports neither torch nor GDAL")
def _(ctx: Context) -> None:
    """Every command paid 2.7-2.9 s to import torch while building the argument parser, --version too."""
    assert heavy_imports("--version") == []


@case("wrong 7", "building the parser of `run` imports no torch")
def _(ctx: Context) -> None:
    assert "torch" not in heavy_imports("run", "--help")


@case("wrong 7", "Ctrl-C while the argument parser is built")
def _(ctx: Context) -> None:
    """A Ctrl-C in the first 1-2.5 s gave exit 130 with an 18-31 line traceback (outside the handler)."""
    import s2mask.cli.info as command

    def interrupted(parser: object) -> None:
        raise KeyboardInterrupt

    with patched(command, "add_arguments", interrupted):
        result = cli("info", ctx.product())
    expect_error_line = result.lines
    assert result.code == 130 and len(expect_error_line) == 1, f"exit {result.code}: {result.stderr[-600:]}"


# === 8. Batch options ================================================================================

@case("wrong 8", "batch --retry-delay -1")
def _(ctx: Context) -> None:
    output = ctx.folder("out")
    expect_error(cli("batch", ctx.product(), "-o", output, *PHYSICS, "--retry-delay", "-1"), "--retry-delay")


@case("wrong 8", "batch --scheduler 'not an address'")
def _(ctx: Context) -> None:
    output = ctx.folder("out")
    expect_error(cli("batch", ctx.product(), "-o", output, *PHYSICS, "--scheduler", "not an address"),
                 "not an address")


@case("wrong 8", "batch --workers 0 and -3")
def _(ctx: Context) -> None:
    for workers in ("0", "-3"):
        output = ctx.folder("out")
        expect_error(cli("batch", ctx.product(), "-o", output, *PHYSICS, "--workers", workers), "--workers")


@case("wrong 8", "batch --memory-per-worker 0")
def _(ctx: Context) -> None:
    output = ctx.folder("out")
    expect_error(cli("batch", ctx.product(), "-o", output, *PHYSICS, "--memory-per-worker", "0"),
                 "--memory-per-worker")


# === 9. evaluate ====================================================================================

def write_classes(path: Path, values: np.ndarray, x0: float = 300000.0, y0: float = 4900020.0,
                  epsg: int = 32631, resolution: float = 20.0) -> Path:
    from osgeo import gdal, osr

    dataset = gdal.GetDriverByName("GTiff").Create(str(path), values.shape[1], values.shape[0], 1, gdal.GDT_Byte)
    dataset.SetGeoTransform((x0, resolution, 0, y0, 0, -resolution))
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(epsg)
    dataset.SetProjection(reference.ExportToWkt())
    dataset.GetRasterBand(1).WriteArray(values)
    dataset = None
    return path


def classes_pair(ctx: Context) -> tuple[Path, np.ndarray]:
    """An s2mask class GeoTIFF (the input of `evaluate`) in a fresh folder, and its classes."""
    rng = np.random.default_rng(3)
    classes = rng.integers(1, 7, (60, 60)).astype(np.uint8)
    return write_classes(ctx.folder("evaluate") / "classes.tif", classes), classes


@case("wrong 9", "evaluate: a reference whose every value is unknown")
def _(ctx: Context) -> None:
    """All 200: the issue saw exit 0 and "0 pixels"."""
    prediction, classes = classes_pair(ctx)
    reference = write_classes(prediction.parent / "reference.tif", np.full(classes.shape, 200, np.uint8))
    expect_error(cli("evaluate", prediction, "-r", reference), "reference.tif", "200")


@case("wrong 9", "evaluate: codes the mapping does not know are said, not silently dropped")
def _(ctx: Context) -> None:
    """Clouds coded 9 in an s2mask-coded reference: they were dropped without a word (CLOUD F1 0.000)."""
    prediction, classes = classes_pair(ctx)
    reference = write_classes(prediction.parent / "reference.tif", np.where(classes == 4, 9, classes).astype(np.uint8))
    result = cli("evaluate", prediction, "-r", reference)
    assert result.code == 0, result.stderr
    assert len(result.lines) == 1 and "warning" in result.lines[0] and "9" in result.lines[0], result.stderr


@case("wrong 9", "evaluate: an SCL reference without --mapping scl")
def _(ctx: Context) -> None:
    prediction, classes = classes_pair(ctx)
    from s2mask.classes import to_scl

    reference = write_classes(prediction.parent / "scl.tif", to_scl(classes).astype(np.uint8))
    result = cli("evaluate", prediction, "-r", reference)
    assert any("--mapping scl" in line for line in result.lines), result.stderr


@case("wrong 9", "evaluate: a reference of another place or CRS")
def _(ctx: Context) -> None:
    """A reference 5 km east, and one in another UTM zone, were scored as if aligned."""
    prediction, classes = classes_pair(ctx)
    east = write_classes(prediction.parent / "east.tif", classes, x0=305000.0)
    expect_error(cli("evaluate", prediction, "-r", east), "east.tif")
    zone = write_classes(prediction.parent / "zone.tif", classes, epsg=32632)
    expect_error(cli("evaluate", prediction, "-r", zone), "zone.tif")


@case("wrong 9", "evaluate --json into a folder that does not exist")
def _(ctx: Context) -> None:
    """The traceback came after the results were printed: check before the work."""
    prediction, classes = classes_pair(ctx)
    reference = write_classes(prediction.parent / "reference.tif", classes)
    result = cli("evaluate", prediction, "-r", reference, "--json", ctx.root / "nonexistent_dir" / "x.json")
    expect_error(result, "nonexistent_dir")
    assert result.stdout == "", "the error must come before the work"


# === 10. Misleading messages ========================================================================

@case("wrong 10", "a truncated zip (run, info)")
def _(ctx: Context) -> None:
    """It said "not a Sentinel-2 product"."""
    archive = ctx.copy(zipped=True)
    truncate(archive, archive.stat().st_size // 2)
    run_and_info(ctx, archive, archive.name, "truncated or corrupt")


@case("wrong 10", "only B04 at DN 0")
def _(ctx: Context) -> None:
    """It said "the product holds no valid pixel (every band is no data ...)"; wanted: name B4."""
    product = ctx.copy()
    write_band(band_file(product, "B04"), np.zeros((SIZE, SIZE), np.uint16), 10)
    output = ctx.folder("out")
    expect_error(cli("run", product, "-o", output, *PHYSICS), "B4")
    expect_nothing_partial(output)


@case("wrong 10", "the output folder disappears mid-run")
def _(ctx: Context) -> None:
    """Two GDAL lines "Warning 1: Unable to save auxiliary information" came beside the one-line error."""
    PhysicsMasker = physics_masker()
    product = ctx.product(size=SIGNAL_SIZE)
    output = ctx.folder("out") / "vanishing"
    predict = PhysicsMasker.predict
    calls = []

    def vanish(self: object, block: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            shutil.rmtree(output)
        return predict(self, block)

    with patched(PhysicsMasker, "predict", vanish):
        result = cli("run", product, "-o", output, *PHYSICS, "--resolution", "10", "--block-size", "128",
                     "--outputs", "cog,scl,quicklook,report")
    expect_error(result, "vanishing")


@case("wrong 10", "errors name the command-line flag, not the Python field")
def _(ctx: Context) -> None:
    """`--block-size 100` said "block_size must lie in 128..8192"."""
    output = ctx.folder("out")
    expect_error(cli("run", ctx.product(), "-o", output, "--block-size", "100"), "--block-size")
    expect_error(cli("run", ctx.product(), "-o", output, "--super-resolution", "--resolution", "20"),
                 "--super-resolution", "--resolution 10")
    expect_nothing_partial(output)


# === 11. Python API ==================================================================================

def all_bands(value: float = 0.1, shape: tuple[int, int] = (40, 40)) -> dict[str, np.ndarray]:
    from s2mask.bands import ALL_BANDS

    return {band: np.full(shape, value, np.float32) for band in ALL_BANDS}


def classify(**kwargs: object) -> Callable[[], object]:
    from s2mask import classify as function

    arguments = {"model": "physics", "sun_azimuth": 150.0, **kwargs}
    bands = arguments.pop("bands", None)
    return lambda: function(all_bands() if bands is None else bands, **arguments)


API_CASES: dict[str, tuple[Callable[[Context], Callable[[], object]], str, tuple[str, ...]]] = {
    "classify(resolution=0) with shadows": (lambda ctx: classify(resolution=0), "ParameterError", ("resolution",)),
    "classify(sun_zenith=90)": (lambda ctx: classify(sun_zenith=90), "ParameterError", ("sun_zenith",)),
    "classify(sun_zenith=NaN)": (lambda ctx: classify(sun_zenith=float("nan")), "ParameterError", ("sun_zenith",)),
    "classify: a sun zenith array of another shape": (
        lambda ctx: classify(sun_zenith=np.full((3, 3), 40.0)), "ParameterError", ("sun_zenith", "(3, 3)")),
    "classify: a view azimuth array of another shape": (
        lambda ctx: classify(view_azimuth=np.zeros((2, 2))), "ParameterError", ("view_azimuth",)),
    "classify: an elevation array of another shape": (
        lambda ctx: classify(elevation=np.zeros((3, 3))), "ParameterError", ("elevation",)),
    "classify: bands as a list": (lambda ctx: classify(bands=[np.zeros((4, 4))]), "ParameterError", ("bands",)),
    "classify: a band of strings": (
        lambda ctx: classify(bands={**all_bands(), "B2": np.full((40, 40), "a")}), "ParameterError", ("B2",)),
    "classify: a band of complex numbers": (
        lambda ctx: classify(bands={**all_bands(), "B2": np.zeros((40, 40), complex)}), "ParameterError", ("B2",)),
    "classify(resolution='abc')": (lambda ctx: classify(resolution="abc"), "ParameterError", ("resolution",)),
    "classify(masker=object())": (lambda ctx: classify(masker=object()), "ParameterError", ("masker",)),
    "run(product, out, ProcessingParameters(), bogus=1)": (
        lambda ctx: lambda: __import__("s2mask").run(ctx.product(), ctx.folder("out"),
                                                     __import__("s2mask").ProcessingParameters(), bogus=1),
        "ParameterError", ("bogus",)),
    "run(product, out, {'model': 'physics'}) (a dict for the parameters)": (
        lambda ctx: lambda: __import__("s2mask").run(ctx.product(), ctx.folder("out"), {"model": "physics"}),
        "ParameterError", ("params",)),
    "run(123)": (lambda ctx: lambda: __import__("s2mask").run(123, ctx.folder("out")), "ParameterError", ("123",)),
    "run(product, None)": (lambda ctx: lambda: __import__("s2mask").run(ctx.product(), None, model="physics"),
                           "ParameterError", ("output",)),
    "open_product(None)": (lambda ctx: lambda: __import__("s2mask").open_product(None), "ParameterError", ()),
    "open_product(p).read('B13')": (lambda ctx: lambda: __import__("s2mask").open_product(ctx.product()).read("B13"),
                                    "S2MaskError", ("B13",)),
    "read() of a window outside the tile": (
        lambda ctx: lambda: __import__("s2mask").open_product(ctx.product()).read(
            "B2", 10, __import__("s2mask.grid", fromlist=["Window"]).Window(100, 100, 50, 50)),
        "ParameterError", ("window",)),
    "ProcessingParameters(block_size='512')": (
        lambda ctx: lambda: __import__("s2mask").ProcessingParameters(block_size="512"), "ParameterError",
        ("block_size",)),
    "run_batch(retries='2')": (
        lambda ctx: lambda: __import__("s2mask").run_batch([ctx.product()], ctx.folder("out"), retries="2"),
        "ParameterError", ("retries",)),
}


def _api_case(name: str) -> None:
    build, kind, fragments = API_CASES[name]

    @case("wrong 11", f"API: {name}")
    def check(ctx: Context) -> None:
        expect_raises(build(ctx), kind, *fragments)


for _name in API_CASES:
    _api_case(_name)


@case("wrong 11", "API: run_batch(one path as a string)")
def _(ctx: Context) -> None:
    """A single path given as a string was taken character by character."""
    from s2mask import run_batch

    output = ctx.folder("out")
    result = run_batch(str(ctx.product()), output, scheduler=ctx.scheduler(), model="physics")
    assert result.counts["done"] == 1 and len(result.outcomes) == 1, result.outcomes


# === Questionable: decided, documented in the README, tested ========================================

@case("questionable", "a MSK_DETFOO file listed in MTD_TL.xml but missing", questionable=True)
def _(ctx: Context) -> None:
    """Decided: an error, as for a missing band (the footprint marks where a band has no data)."""
    product = ctx.copy()
    next(product.glob("GRANULE/*/QI_DATA/MSK_DETFOO_B04.jp2")).unlink()
    run_and_info(ctx, product, "MSK_DETFOO_B04.jp2", "missing")


@case("questionable", "every MSK_DETFOO file missing", questionable=True)
def _(ctx: Context) -> None:
    product = ctx.copy()
    for mask in product.glob("GRANULE/*/QI_DATA/MSK_DETFOO_*"):
        mask.unlink()
    run_and_info(ctx, product, "MSK_DETFOO_B01.jp2", "missing")


@case("questionable", "a MSK_DETFOO path pointing outside the SAFE", questionable=True)
def _(ctx: Context) -> None:
    """Decided: refused; a product never names files outside itself."""
    product = ctx.copy()
    outside = product.parent / "elsewhere.jp2"
    shutil.copy(next(product.glob("GRANULE/*/QI_DATA/MSK_DETFOO_B04.jp2")), outside)
    edit(tile_mtd(product), r'(<MASK_FILENAME bandId="3" type="MSK_DETFOO">)[^<]*<', r"\g<1>../../../elsewhere.jp2<")
    run_and_info(ctx, product, "MTD_TL.xml", "outside the product")


@case("questionable", "a GML MSK_DETFOO missing (baseline 02.09)", questionable=True)
def _(ctx: Context) -> None:
    product = ctx.copy(baseline="02.09")
    next(product.glob("GRANULE/*/QI_DATA/MSK_DETFOO_B04.gml")).unlink()
    run_and_info(ctx, product, "MSK_DETFOO_B04.gml", "missing")


@case("questionable", "garbage written inside a band JP2, with --verify", questionable=True)
def _(ctx: Context) -> None:
    """JPEG 2000 has no checksum; decided: `--verify` checks the files s2mask reads against manifest.safe
    (MD5 or SHA3-256) before the work; without it the product is trusted (documented)."""
    product = ctx.copy()
    band = band_file(product, "B08")
    data = bytearray(band.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 64):
        data[offset] ^= 0x5A
    band.write_bytes(bytes(data))
    output = ctx.folder("out")
    expect_error(cli("run", product, "-o", output, *PHYSICS, "--verify"), band.name, "manifest.safe")
    expect_nothing_partial(output)
    expect_error(cli("info", product, "--verify"), band.name, "manifest.safe")


@case("questionable", "--verify of an intact product, folder and zip", questionable=True)
def _(ctx: Context) -> None:
    for product in (ctx.product(), ctx.product(zipped=True)):
        expect_success(cli("info", product, "--verify"))
        expect_success(cli("run", product, "-o", ctx.folder("out"), *PHYSICS, "--verify", "--quiet"))


@case("questionable", "classify() of boolean arrays", questionable=True)
def _(ctx: Context) -> None:
    """Decided: refused (a mask is no reflectance)."""
    expect_raises(classify(bands={name: values > 0 for name, values in all_bands().items()}), "ParameterError",
                  "true/false")


@case("questionable", "classify() of negative reflectance", questionable=True)
def _(ctx: Context) -> None:
    """Decided: values down to -1 are accepted (BOA reflectance of dark water can be negative, and the
    PB 04.00 offset reaches -0.1); below -1 it is no reflectance and refused."""
    from s2mask import classify as function

    assert function(all_bands(-0.05), model="physics").shape == (40, 40)
    expect_raises(classify(bands=all_bands(-5.0)), "ParameterError", "-5")


@case("questionable", "classify(resolution <= 0)", questionable=True)
def _(ctx: Context) -> None:
    for resolution in (0, -20):
        expect_raises(classify(resolution=resolution), "ParameterError", "resolution")


@case("questionable", "block_size=512.7 and threads=1.5", questionable=True)
def _(ctx: Context) -> None:
    """Decided: whole numbers only (512.0 is taken as 512)."""
    from s2mask import ProcessingParameters

    expect_raises(lambda: ProcessingParameters(block_size=512.7), "ParameterError", "block_size")
    expect_raises(lambda: ProcessingParameters(threads=1.5), "ParameterError", "threads")
    expect_raises(lambda: ProcessingParameters.from_mapping({"block_size": 512.7}), "ParameterError", "block_size")
    assert ProcessingParameters(block_size=512.0).block_size == 512


@case("questionable", "a run that fails after opening the product leaves no empty output folder", questionable=True)
def _(ctx: Context) -> None:
    """Decided: the output folder a failed run created is removed again when it is empty."""
    product = ctx.copy()
    truncate(band_file(product, "B11"))
    output = ctx.folder("out") / "new" / "deeper"
    expect_error(cli("run", product, "-o", output, *PHYSICS), "_B11.jp2")
    assert not output.parent.exists(), "the failed run left the folders it created"


@case("questionable", "a batch leaves no lock file", questionable=True)
def _(ctx: Context) -> None:
    """Decided: the lock file goes with the batch (a killed batch's stale file is reused, harmless)."""
    output = ctx.folder("out")
    assert cli("batch", ctx.product(), "-o", output, "--scheduler", ctx.scheduler(), *PHYSICS, "--quiet").code == 0
    assert not (output / ".s2mask-batch.lock").exists()


# === What worked (keep it) ==========================================================================

@case("worked", "missing, empty, non-SAFE and wrong-type paths")
def _(ctx: Context) -> None:
    folder = ctx.folder("paths")
    (folder / "notes.txt").write_text("hello")
    (folder / "empty").mkdir()
    for path, fragment in ((folder / "nothing.SAFE", "no such file"), (folder / "empty", "not a Sentinel-2"),
                           (folder / "notes.txt", "not a Sentinel-2")):
        expect_error(cli("info", path), path.name, fragment)
        expect_error(cli("run", path, "-o", folder / "out", *PHYSICS), path.name, fragment)
    assert not (folder / "out").exists()


@case("worked", "spaces, non-ASCII, a symlink, the MTD file and a zip as input")
def _(ctx: Context) -> None:
    folder = ctx.folder("naming")
    odd = folder / "Öl und Wasser" / ctx.product().name
    shutil.copytree(ctx.product(), odd)
    link = folder / "link.SAFE"
    link.symlink_to(ctx.product())
    for product in (odd, link, ctx.product() / "MTD_MSIL1C.xml", ctx.product(zipped=True)):
        output = folder / f"out {len(list(folder.iterdir()))} ü"
        expect_success(cli("run", product, "-o", output, *PHYSICS, "--resolution", "60", "--quiet"))
        assert len(list(output.glob("*_s2mask.tif"))) == 1


@case("worked", "a truncated, deleted, swapped or cropped band")
def _(ctx: Context) -> None:
    truncated = ctx.copy()
    truncate(band_file(truncated, "B11"))
    deleted = ctx.copy()
    band_file(deleted, "B03").unlink()
    swapped = ctx.copy()
    shutil.copy(band_file(swapped, "B05"), band_file(swapped, "B02"))
    cropped = ctx.copy()
    write_band(band_file(cropped, "B8A"), np.ones((30, 30), np.uint16), 20)
    for product, fragment in ((truncated, "_B11.jp2"), (deleted, "_B03.jp2"), (swapped, "_B02.jp2"),
                              (cropped, "_B8A.jp2")):
        output = ctx.folder("out")
        expect_error(cli("run", product, "-o", output, *PHYSICS), fragment)
        expect_nothing_partial(output)


@case("worked", "malformed or missing metadata XML")
def _(ctx: Context) -> None:
    malformed = ctx.copy()
    (malformed / "MTD_MSIL1C.xml").write_text("<not-closed>")
    expect_error(cli("info", malformed), "MTD_MSIL1C.xml", "malformed XML")
    missing = ctx.copy()
    tile_mtd(missing).unlink()
    expect_error(cli("info", missing), "MTD_TL.xml", "missing")


@case("worked", "an all-nodata product")
def _(ctx: Context) -> None:
    from s2mask.sim.safe import write_product

    folder = ctx.folder("empty")
    product = write_product(small_scene(60, nodata_columns=60), folder, level="L2A", baseline="05.09")
    output = ctx.folder("out")
    expect_error(cli("run", product, "-o", output, *PHYSICS), "no valid pixel")
    expect_nothing_partial(output)


@case("worked", "option checks of run")
def _(ctx: Context) -> None:
    output = ctx.folder("out")
    for option, value in (("--resolution", "15"), ("--model", "bogus"), ("--block-size", "abc"),
                          ("--threads", "-2"), ("--upsampling", "nearest")):
        expect_error(cli("run", ctx.product(), "-o", output, option, value), value)
    expect_nothing_partial(output)


@case("worked", "an output folder that is a file, or below one")
def _(ctx: Context) -> None:
    folder = ctx.folder("blocked")
    (folder / "file").write_text("x")
    expect_error(cli("run", ctx.product(), "-o", folder / "file", *PHYSICS), "file")
    expect_error(cli("run", ctx.product(), "-o", folder / "file" / "out", *PHYSICS), "file")
    assert sorted(os.listdir(folder)) == ["file"]
