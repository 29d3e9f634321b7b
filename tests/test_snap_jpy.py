"""The stand-in's setSamples rules and the operator's own setSamples call, checked against real jpy.

jpy 1.0.0 (the wheel inside esa_snappy) on the local JDK calls a Java class with the overloads of
``Tile.setSamples`` (shared/snap.md section 1.6). Skipped where javac, a JDK or the wheel is missing.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from snapstub.java import JavaError, ProductData, check_java_array

TESTS = Path(__file__).resolve().parent
JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"
PROBE = """
public class Probe {
    public String last = "";
    public int[] bytes = new int[0];
    public void setSamples(byte[] v) { last = "byte[]"; bytes = new int[v.length];
                                       for (int i = 0; i < v.length; i++) bytes[i] = v[i] & 0xff; }
    public void setSamples(short[] v) { last = "short[]"; }
    public void setSamples(int[] v) { last = "int[]"; }
    public void setSamples(float[] v) { last = "float[]"; }
    public void setSamples(double[] v) { last = "double[]"; }
}
"""
CASES = {
    "uint8": "np.arange(4, dtype=np.uint8)", "int8": "np.arange(4, dtype=np.int8)",
    "float32": "np.arange(4, dtype=np.float32)", "int64": "np.arange(4, dtype=np.int64)",
    "uint64": "np.arange(4, dtype=np.uint64)", "float16": "np.arange(4, dtype=np.float16)",
    "strided": "np.zeros((4, 2), dtype=np.uint8)[:, 0]", "fortran": "np.asfortranarray(np.zeros((2, 2), np.uint8))",
    "list": "[0, 1, 2, 3]",
}
SCRIPT = """
import json, sys
import numpy as np
sys.path[:0] = [{jpy!r}, {tests!r}]
import jpy
jpy.create_jvm(["-Xmx64m", "-Djava.class.path=" + {classes!r}])
from snapstub import load_operator
class Patch:
    def setitem(self, mapping, key, value):
        mapping[key] = value
op = load_operator(Patch())
probe = jpy.get_type("Probe")()
seen = {{}}
for name, expression in {cases!r}.items():
    try:
        probe.setSamples(eval(expression))
        seen[name] = probe.last
    except RuntimeError as err:
        seen[name] = "error: " + str(err)
# the operator's own call, given what a masker may return: int64 argmax, a strided view
classes = np.argmax(np.random.default_rng(1).random((7, 6, 5)), axis=0)[:, ::-1]
op._set_samples(probe, classes)
seen["operator"] = [probe.last, list(probe.bytes), classes.ravel().tolist()]
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def jpy_verdicts(tmp_path_factory):
    wheels = glob.glob(str(Path(sys.prefix) / "lib/python3.11/site-packages/esa_snappy/lib/jpy-*manylinux*x86_64*"))
    if not (shutil.which("javac") and Path(JAVA_HOME).is_dir() and wheels):
        pytest.skip("needs javac, OpenJDK 17 and the jpy wheel bundled with esa_snappy")
    root = tmp_path_factory.mktemp("jpy")
    zipfile.ZipFile(wheels[0]).extractall(root / "jpy")
    (root / "Probe.java").write_text(PROBE)
    subprocess.run(["javac", "-d", str(root), str(root / "Probe.java")], check=True)
    script = SCRIPT.format(jpy=str(root / "jpy"), tests=str(TESTS), classes=str(root), cases=CASES)
    env = {**os.environ, "JAVA_HOME": JAVA_HOME, "LD_LIBRARY_PATH": f"{JAVA_HOME}/lib/server"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_jpy_behaves_as_shared_snap_md_says(jpy_verdicts):
    assert jpy_verdicts["uint8"] == jpy_verdicts["int8"] == "byte[]"
    assert jpy_verdicts["int64"] == jpy_verdicts["uint64"] == "double[]" and jpy_verdicts["float16"] == "short[]"
    assert "no matching Java method overloads" in jpy_verdicts["strided"] == jpy_verdicts["fortran"]
    assert "ambiguous Java method call" in jpy_verdicts["list"]


def test_the_stand_in_accepts_only_what_reaches_byte_array_intact(jpy_verdicts):
    for name, expression in CASES.items():
        values = eval(expression)  # the literal table above, also evaluated in the subprocess
        try:
            check_java_array(values, ProductData.TYPE_UINT8, 4)
        except JavaError as err:
            verdict = jpy_verdicts[name]
            assert verdict != "byte[]" or name == "int8", name  # int8 reaches byte[]: refused as the wrong type
            if verdict.startswith("error: "):
                assert verdict.removeprefix("error: ").split(",")[0] in str(err), name
        else:
            assert jpy_verdicts[name] == "byte[]", name


def test_the_operator_passes_classes_to_java_bit_for_bit(jpy_verdicts):
    overload, received, expected = jpy_verdicts["operator"]
    assert overload == "byte[]" and received == expected and np.ptp(expected) > 0
