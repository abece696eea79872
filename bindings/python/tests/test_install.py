"""pip install of the package works offline with Debian's setuptools and
the installed copy imports and works (the exact command of the README)."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import PKG_ROOT


def test_offline_pip_install_into_target(tmp_path):
    try:
        import pip  # noqa: F401
    except ImportError:
        pytest.skip("pip is not installed for %s (Debian: python3-pip)"
                    % sys.executable)
    # build from a copy: an in-tree build leaves build/ and *.egg-info
    src = tmp_path / "src"
    shutil.copytree(PKG_ROOT, src, ignore=shutil.ignore_patterns(
        "tests", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    target = tmp_path / "target"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation",
         "--no-index", "--target", str(target), str(src)],
        capture_output=True, text=True,
        env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert (target / "mtasts" / "_cdef.h").is_file()
    code = ("import mtasts, sys; "
            "assert mtasts.__file__.startswith(sys.argv[1]), mtasts.__file__; "
            "p = mtasts.Policy.parse(b'version: STSv1\\nmode: enforce\\n"
            "mx: *.example.net\\nmax_age: 86400\\n'); "
            "assert p.mx_allowed('mx.example.net'); "
            "print(mtasts.library_version()[0])")
    r = subprocess.run([sys.executable, "-c", code, str(target)],
                       capture_output=True, text=True, cwd=str(tmp_path),
                       env=dict(os.environ, PYTHONPATH=str(target)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(".") == 2


def test_library_lookup_order(monkeypatch):
    import mtasts._native as n
    monkeypatch.setenv("MTASTS_LIBRARY", "/nonexistent/libmtasts.so.7")
    assert n._candidates() == ["/nonexistent/libmtasts.so.7"]
    monkeypatch.delenv("MTASTS_LIBRARY")
    c = n._candidates()
    assert "libmtasts.so.1" in c and "libmtasts.so.0" in c
    # a bad MTASTS_LIBRARY is an ImportError naming the variable
    code = "import mtasts"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, cwd=PKG_ROOT,
                       env=dict(os.environ,
                                MTASTS_LIBRARY="/nonexistent/libmtasts.so"))
    assert r.returncode != 0 and "MTASTS_LIBRARY" in r.stderr


def test_library_without_the_functions_is_refused():
    # a library that lacks declared functions (another version) fails at
    # import, naming what is missing, not at the first call
    code = "import mtasts"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, cwd=PKG_ROOT,
                       env=dict(os.environ, MTASTS_LIBRARY="libc.so.6"))
    assert r.returncode != 0
    assert "does not export" in r.stderr and "mtasts_" in r.stderr
