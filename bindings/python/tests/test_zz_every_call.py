"""Every C function of the cdef is called through the package by this test
suite. Runs last (file order) and only when the suite runs whole with
MTASTS_PY_COUNT_CALLS=1 (as the meson test python-pytest does)."""

import os
import re

import pytest

import mtasts
from conftest import PKG_ROOT


def test_every_c_function_is_reached():
    if not os.environ.get("MTASTS_PY_COUNT_CALLS"):
        pytest.skip("set MTASTS_PY_COUNT_CALLS=1 and run the whole suite")
    with open(os.path.join(PKG_ROOT, "mtasts", "_cdef.h")) as f:
        funcs = set(re.findall(r"\b(mtasts_\w+)\(", f.read()))
    calls = mtasts.lib.calls
    if len(calls) < 20:
        pytest.skip("only part of the suite ran")
    missing = sorted(funcs - set(calls))
    assert not missing, "C functions no test reaches: %s" % missing
