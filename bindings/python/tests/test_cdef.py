"""The shipped cdef is generated from the header, fresh, and cffi parses it;
the constants the package exposes are the cdef's."""

import os
import re
import subprocess
import sys

import cffi
import pytest

from conftest import PKG_ROOT, REPO_ROOT

sys.path.insert(0, PKG_ROOT)
import gen_cdef  # noqa: E402

HEADER = os.path.join(REPO_ROOT, "include", "mtasts.h")
SHIPPED = os.path.join(PKG_ROOT, "mtasts", "_cdef.h")


def read(p):
    with open(p, encoding="utf-8") as f:
        return f.read()


def test_shipped_cdef_is_fresh():
    assert gen_cdef.generate(read(HEADER)) == read(SHIPPED), \
        "run: python3 bindings/python/gen_cdef.py include/mtasts.h " \
        "bindings/python/mtasts/_cdef.h"


def test_check_mode_detects_stale_copy(tmp_path):
    stale = tmp_path / "_cdef.h"
    stale.write_text(read(SHIPPED).replace("mtasts_policy_parse",
                                           "mtasts_policy_parsex"))
    r = subprocess.run([sys.executable, os.path.join(PKG_ROOT, "gen_cdef.py"),
                        "--check", HEADER, str(stale)], capture_output=True)
    assert r.returncode == 1 and b"stale" in r.stderr
    r = subprocess.run([sys.executable, os.path.join(PKG_ROOT, "gen_cdef.py"),
                        "--check", HEADER, SHIPPED])
    assert r.returncode == 0


def test_cffi_parses_shipped_cdef():
    ffi = cffi.FFI()
    ffi.cdef(read(SHIPPED))
    assert ffi.sizeof("struct mtasts_diag") > 0
    assert ffi.typeof("mtasts_policy *").kind == "pointer"


def test_every_public_function_declared():
    cdef = read(SHIPPED)
    # without comments: prose such as "Version of struct
    # mtasts_policy_model (a plain constant)" is not a declaration
    header = gen_cdef.strip_comments(read(HEADER))
    funcs = set(re.findall(r"(?<!struct )\b(mtasts_[a-z0-9_]+)\s*\(",
                           header))
    assert len(funcs) > 100
    macros = set(re.findall(r"#define\s+(MTASTS_[A-Z0-9_]+)\(", header))
    missing = [f for f in funcs if f + "(" not in cdef]
    assert not missing
    assert not macros & set(re.findall(r"(MTASTS_[A-Z0-9_]+)", cdef))


def test_every_public_struct_declared():
    # the versioned argument structs of 1.0 reach the cdef whole: cffi
    # knows each member, with the size the header gives
    header = gen_cdef.strip_comments(read(HEADER))
    ffi = cffi.FFI()
    ffi.cdef(read(SHIPPED))
    structs = re.findall(r"\bstruct\s+(mtasts_\w+)\s*\{([^}]*)\}", header)
    names = [n for n, _ in structs]
    for n in ("mtasts_policy_model", "mtasts_tlsrpt_filename",
              "mtasts_tlsrpt_mail_fields", "mtasts_tlsrpt_failure",
              "mtasts_diag"):
        assert n in names
    for n, body in structs:
        members = []
        for decl in filter(None, (d.strip() for d in body.split(";"))):
            fp = re.search(r"\(\s*\*\s*(\w+)\s*\)\s*\(", decl)
            members.append(fp.group(1) if fp else
                           re.search(r"(\w+)\s*(\[[^]]*\])?$", decl).group(1))
        assert members and members[0] == "version", n
        assert [f for f, _ in ffi.typeof("struct %s" % n).fields] == members


def test_every_integer_define_is_a_constant():
    # every object-like integer #define of the header reaches the cdef,
    # with the same value as the C compiler sees (checked via the header
    # text: continuation lines joined). Since 1.0 only the struct
    # versions, default limits and sizes are #defines.
    text = gen_cdef.strip_comments(read(HEADER)).replace("\\\n", " ")
    cdef = read(SHIPPED)
    n = 0
    for name, body in re.findall(r"#define\s+(MTASTS_\w+)[ \t]+([^\n]*)",
                                 text):
        v = gen_cdef.int_value(body)
        if v is None:
            continue
        n += 1
        assert re.search(r"static const [a-z ]+ %s = %d;" % (name, v), cdef)
    assert n >= 15
    for name in ("MTASTS_POLICY_MODEL_VERSION", "MTASTS_FILENAME_VERSION",
                 "MTASTS_MAIL_FIELDS_VERSION", "MTASTS_FAILURE_VERSION",
                 "MTASTS_DIAG_VERSION", "MTASTS_ENTRY_FORMAT_VERSION"):
        assert re.search(r"static const [a-z ]+ %s = " % name, cdef), name


def test_every_enum_member_is_a_constant():
    # every family is a typedef'd enum with explicit values (issue 10):
    # each member reaches cffi with the header's value, in its own type
    text = gen_cdef.strip_comments(read(HEADER))
    ffi = cffi.FFI()
    ffi.cdef(read(SHIPPED))
    blocks = re.findall(r"typedef\s+enum\s+(\w+)\s*\{([^}]*)\}\s*(\w+)\s*;",
                        text)
    assert len(blocks) > 30
    n = 0
    for tag, body, name in blocks:
        assert tag == name
        want = {}
        for item in filter(None, (i.strip() for i in body.split(","))):
            m = re.match(r"^(MTASTS_\w+)\s*=\s*(.+)$", item, re.S)
            assert m, "member without an explicit value: %r" % item
            v = gen_cdef.int_value(m.group(2))
            assert v is not None, item
            want[m.group(1)] = v
        assert ffi.typeof(name).relements == want
        n += len(want)
    assert n > 200


def test_generator_handles_enums_and_strips_cxx():
    h = """#ifndef MTASTS_H
#define MTASTS_H
#ifdef __cplusplus
extern "C" {
#endif
/** Status. */
typedef enum mtasts_status {
    MTASTS_OK = 0,    /**< ok */
    MTASTS_EINVAL = -1 /**< misuse,
                            two lines */
} mtasts_status;
typedef enum {
    MTASTS_F_A = 0x1u, // a
    MTASTS_F_B = 1u << 1
} mtasts_flags;
#define MTASTS_BIG UINT64_C(9007199254740991)
#define MTASTS_NEG                                   \\
    -10 /**< continued */
#define MTASTS_M(x) ((x) + 1)
#define MTASTS_INIT {1, 2}
MTASTS_API mtasts_status mtasts_f(mtasts_flags f,
                                  int b);
#ifdef __cplusplus
}
#endif
#endif
"""
    out = gen_cdef.generate(h)
    assert "extern" not in out and "MTASTS_API" not in out
    assert "#" not in out and "MTASTS_M" not in out and "INIT" not in out
    ffi = cffi.FFI()
    ffi.cdef(out)
    assert ffi.typeof("mtasts_flags").relements == {"MTASTS_F_A": 1,
                                                    "MTASTS_F_B": 2}
    assert ffi.typeof("mtasts_status").relements["MTASTS_EINVAL"] == -1
    assert "static const long long MTASTS_BIG = 9007199254740991;" in out
    assert "static const int MTASTS_NEG = -10;" in out
    assert "mtasts_status mtasts_f(mtasts_flags f, int b);" in out


def test_generator_refuses_unknown_conditions():
    with pytest.raises(gen_cdef.GenError):
        gen_cdef.generate("#if FOO\nint x;\n#endif\n")
    with pytest.raises(gen_cdef.GenError):
        gen_cdef.generate("int x(void)\n")


def test_constants_come_from_the_cdef():
    import mtasts
    lib = mtasts.lib
    assert mtasts.Status.ESYNTAX == lib.MTASTS_ESYNTAX
    assert mtasts.const.PARSE_F_STRICT == lib.MTASTS_PARSE_F_STRICT
    assert mtasts.const.NONE == 1 and mtasts.Status.NONE == lib.MTASTS_NONE
    assert mtasts.Status.REFUSED == lib.MTASTS_REFUSED
    # option families no longer overlap the limits
    assert min(mtasts.Option) >= 100 and min(mtasts.AggOption) >= 200
    assert not set(map(int, mtasts.Limit)) & set(map(int, mtasts.Option))
    # names the library gives agree with the enum members
    for s in mtasts.Status:
        assert mtasts.ffi.string(lib.mtasts_status_name(s)).decode() == \
            "MTASTS_" + s.name
    for w in mtasts.Warn:
        assert mtasts.ffi.string(lib.mtasts_warning_name(w)).decode() == \
            w.name.lower()
    assert len(mtasts.Warn) == lib.MTASTS_W_COUNT


def test_families_follow_enum_types(monkeypatch):
    # once the header declares typed enums (issue 10), the families are
    # read from them; the prefix rule is only the fallback
    from mtasts import _native
    monkeypatch.setitem(_native._ENUM_TYPES, "mtasts_policy_mode", {
        "MTASTS_MODE_ENFORCE": 1, "MTASTS_MODE_TESTING": 2,
        "MTASTS_MODE_NONE": 3})
    Mode = _native._family("Mode", "MTASTS_MODE_",
                           typedefs=("mtasts_mode", "mtasts_policy_mode"))
    assert [(m.name, int(m)) for m in Mode] == [
        ("ENFORCE", 1), ("TESTING", 2), ("NONE", 3)]
    monkeypatch.setitem(_native._ENUM_TYPES, "mtasts_decide_flags", {
        "MTASTS_DECIDE_F_TLSRPT_REPORT": 1, "MTASTS_DECIDE_F_OTHER": 2})
    e = _native._Enums()
    assert e.PolicyMode.TESTING == 2
    assert e.DecideFlags.TLSRPT_REPORT == 1
    # a family of one flag is named by the _F_ rule
    assert mtasts_enums().DecideFlag.TLSRPT_REPORT == \
        _native.lib.MTASTS_DECIDE_F_TLSRPT_REPORT
    assert mtasts_enums().DeliverFlag.GZIP == \
        _native.lib.MTASTS_DELIVER_F_GZIP
    with pytest.raises(ImportError):
        _native._family("Nothing", "MTASTS_NO_SUCH_")


def mtasts_enums():
    import mtasts
    return mtasts.enums
