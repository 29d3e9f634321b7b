"""Every case of the fault catalogue (tests/fault_catalogue.py, issue #23): one clear line, s2mask's own
error type, exit 1 (130 after Ctrl-C, 143 after SIGTERM), nothing partial left."""

from __future__ import annotations

import re

import pytest
from fault_catalogue import CASES, Context

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    shared = Context(tmp_path_factory.mktemp("faults"))
    yield shared
    shared.close()


def case_id(case) -> str:
    """``wrong_4-PRODUCT_START_TIME_yesterday_run_info``: usable with ``pytest -k``."""
    return re.sub(r"\W+", "_", case.group) + "-" + re.sub(r"\W+", "_", case.name).strip("_")


@pytest.mark.parametrize("case", [pytest.param(case, id=case_id(case), marks=[pytest.mark.slow] if case.slow else [])
                                  for case in CASES])
def test_case(case, context):
    case.check(context)
