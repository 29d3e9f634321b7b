"""Rerun the fault catalogue of issue #23 and count right, wrong and questionable cases.

The catalogue (``tests/fault_catalogue.py``) holds every bad input and fault of the issue, each with
the outcome s2mask owes it: one line naming the problem, s2mask's own error type, exit status 1 (130
after Ctrl-C, 143 after SIGTERM), nothing partial left. A case that breaks that contract is *wrong*,
or *questionable* where the issue asked for a decision that the case's expectation records. The cases
use only the CLI and the Python API, so any checkout can be measured: put its ``s2mask`` package first
on ``PYTHONPATH``. Prints one line per case and the counts; ``--json FILE`` keeps the outcomes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fault_catalogue import CASES, Context


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run only the cases whose group or name holds this text")
    parser.add_argument("--json", type=Path, help="write every case's outcome to this file")
    args = parser.parse_args()
    import s2mask

    print(f"s2mask {s2mask.__version__} from {Path(s2mask.__file__).parent}", flush=True)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="s2mask-faults-") as root:
        context = Context(Path(root))
        try:
            for case in CASES:
                if args.only not in f"{case.group} {case.name}":
                    continue
                started = time.perf_counter()
                try:
                    case.check(context)
                    verdict, detail = "right", ""
                except Exception as err:  # a failing case is its outcome
                    verdict = "questionable" if case.questionable else "wrong"
                    detail = " ".join(f"{type(err).__name__}: {err}".split())
                seconds = time.perf_counter() - started
                outcomes.append({"group": case.group, "case": case.name, "verdict": verdict,
                                 "seconds": round(seconds, 2), "detail": detail})
                print(f"{verdict:<12} {case.group:<12} {case.name} ({seconds:.1f} s)"
                      + (f"\n{'':13}{detail[:300]}" if detail else ""), flush=True)
        finally:
            context.close()
    counts = Counter(outcome["verdict"] for outcome in outcomes)
    print(f"\n{len(outcomes)} cases: {counts['right']} right, {counts['wrong']} wrong, "
          f"{counts['questionable']} questionable")
    if args.json:
        args.json.write_text(json.dumps({"counts": counts, "cases": outcomes}, indent=2) + "\n")
    return 0 if counts["wrong"] == counts["questionable"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
