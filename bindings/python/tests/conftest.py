"""Test setup: import the package from this source tree unless
MTASTS_PY_INSTALLED is set (then it must come from sys.path, e.g. an
installed copy), and find the library through MTASTS_LIBRARY."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_ROOT = os.path.dirname(HERE)               # bindings/python
REPO_ROOT = os.path.dirname(os.path.dirname(PKG_ROOT))

if not os.environ.get("MTASTS_PY_INSTALLED"):
    sys.path.insert(0, PKG_ROOT)

POLICY = (b"version: STSv1\nmode: enforce\nmx: mail.example.com\n"
          b"mx: *.example.net\nmax_age: 86400\n")
TXT = "v=STSv1; id=20190429T010101;"
NOW = 1700000000


@pytest.fixture
def policy_bytes():
    return POLICY


@pytest.fixture
def policy():
    import mtasts
    return mtasts.Policy.parse(POLICY)
