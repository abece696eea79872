"""Loading libmtasts through cffi in ABI mode, errors, constants, helpers.

The declarations come from _cdef.h, generated from include/mtasts.h by
gen_cdef.py; nothing here repeats a value of the header.
"""

import ctypes.util
import enum
import os
import re
import threading

import cffi

__all__ = ["ffi", "lib", "library_path"]

ffi = cffi.FFI()
with open(os.path.join(os.path.dirname(__file__), "_cdef.h"),
          encoding="utf-8") as _f:
    _CDEF = _f.read()
ffi.cdef(_CDEF)


def _candidates():
    env = os.environ.get("MTASTS_LIBRARY")
    if env:
        return [env]  # explicit: no fallback to another copy
    names = []
    found = ctypes.util.find_library("mtasts")
    if found:
        names.append(found)
    # The soname carries the ABI major version: look for any of them, the
    # newest first, then the unversioned development link.
    for major in (1, 0):
        names.append("libmtasts.so.%d" % major)
    names += ["libmtasts.so", "libmtasts.dylib"]
    return names


def _load():
    errors = []
    funcs = re.findall(r"\b(mtasts_\w+)\(", _CDEF)
    for name in _candidates():
        try:
            handle = ffi.dlopen(name)
        except OSError as e:
            errors.append("%s: %s" % (name, e))
            continue
        # ABI mode binds lazily: check now that every declared function is
        # there, so an older library fails here and not at its first call
        missing = [f for f in funcs if not hasattr(handle, f)]
        if missing:
            errors.append("%s does not export %d of the %d functions of the "
                          "declarations (%s...): another version"
                          % (name, len(missing), len(funcs),
                             ", ".join(missing[:3])))
            continue
        return handle, name
    raise ImportError("cannot load libmtasts (set MTASTS_LIBRARY=/path/to/"
                      "libmtasts.so.N):\n  " + "\n  ".join(errors))


lib, library_path = _load()


class _CountingLib:
    """lib with a count of calls per C function (MTASTS_PY_COUNT_CALLS=1,
    for the test that every C function is reached through the package)."""

    def __init__(self, real):
        self._real = real
        self.calls = {}

    def __getattr__(self, name):
        v = getattr(self._real, name)
        if not name.startswith("mtasts_"):
            return v
        calls = self.calls

        def counted(*args):
            calls[name] = calls.get(name, 0) + 1
            return v(*args)
        return counted

    def __dir__(self):
        return dir(self._real)


if os.environ.get("MTASTS_PY_COUNT_CALLS"):
    lib = _CountingLib(lib)

# ------------------------------------------------------------------ #
# Constants: read from the cdef, grouped into IntEnum families         #
# ------------------------------------------------------------------ #

_ALL = {n: getattr(lib, n) for n in dir(lib)
        if n.startswith("MTASTS_") and isinstance(getattr(lib, n), int)}


class _Const:
    """Every integer constant of the header, without the MTASTS_ prefix."""

    def __init__(self, values):
        for k, v in values.items():
            setattr(self, k[len("MTASTS_"):], v)

    def __repr__(self):
        return "<mtasts constants: %d names>" % len(self.__dict__)


const = _Const(_ALL)


# The enum types of the cdef (typedef enum {...} name;), name -> members.
_ENUM_TYPES = {}
for _t in ffi.list_types()[0]:
    try:
        _ty = ffi.typeof(_t)
    except ffi.error:
        continue
    if _ty.kind == "enum":
        _ENUM_TYPES[_t] = dict(_ty.relements)


def _strip_common(names):
    if len(names) < 2:
        # a family of one flag (MTASTS_DECIDE_F_TLSRPT_REPORT): the
        # MTASTS_<OBJ>_F_ naming rule of 1.0 gives its prefix
        n = next(iter(names), "")
        return n[:n.index("_F_") + 3] if "_F_" in n else "MTASTS_"
    pre = os.path.commonprefix(list(names))
    pre = pre[:pre.rfind("_") + 1] if "_" in pre else ""
    if any(not n[len(pre):] or n[len(pre)].isdigit() for n in names):
        pre = "MTASTS_"
    return pre


def _camel(typedef):
    return "".join(w.capitalize() for w in
                   typedef[len("mtasts_"):].split("_"))


class _Enums:
    """Every typedef'd enum of the header as an IntEnum, named after the
    type: mtasts_policy_mode -> enums.PolicyMode."""

    def __init__(self):
        for t, members in _ENUM_TYPES.items():
            if not t.startswith("mtasts_") or not members:
                continue
            pre = _strip_common(members)
            setattr(self, _camel(t), enum.IntEnum(
                _camel(t), {n[len(pre):]: v for n, v in
                            sorted(members.items(), key=lambda kv: kv[1])},
                module="mtasts"))


enums = _Enums()


def _family(cname, prefix, names=None, exclude=(), strip=True,
            typedefs=()):
    """An IntEnum of a family of constants: the members of the first of
    typedefs that the header declares as an enum type, else the constants
    starting with prefix (or listed in names)."""
    members = {}
    for td in typedefs:
        if td in _ENUM_TYPES:
            for full, v in sorted(_ENUM_TYPES[td].items(),
                                  key=lambda kv: kv[1]):
                if full in exclude or (names is not None
                                       and full not in names):
                    continue
                short = (full[len(prefix):] if full.startswith(prefix)
                         else full[len("MTASTS_"):])
                members[short] = v
            if members:
                return enum.IntEnum(cname, members, module="mtasts")
    for full, v in sorted(_ALL.items(), key=lambda kv: kv[1]):
        if names is not None:
            if full not in names:
                continue
        elif not full.startswith(prefix) or full in exclude:
            continue
        short = full[len(prefix):] if strip else full[len("MTASTS_"):]
        members[short] = v
    if not members:
        raise ImportError("no constants for %s in the cdef" % cname)
    return enum.IntEnum(cname, members, module="mtasts")


Status = _family("Status", "MTASTS_",
                 names={n for n in _ALL
                        if n in ("MTASTS_OK", "MTASTS_NONE",
                                 "MTASTS_REFUSED")
                        or (n.startswith("MTASTS_E")
                                                and n[8:].isalpha()
                                                and n[8:].isupper())},
                 strip=True,
                 typedefs=('mtasts_status',))
Limit = _family("Limit", "MTASTS_LIMIT_",
                typedefs=('mtasts_limit',))
Warn = _family("Warn", "MTASTS_W_", exclude={"MTASTS_W_COUNT"},
               typedefs=('mtasts_warning', 'mtasts_warn'))
Reason = _family("Reason", "MTASTS_R_",
                 typedefs=('mtasts_reason',))
Select = _family("Select", "MTASTS_SELECT_",
                 typedefs=('mtasts_select_outcome', 'mtasts_select'))
Mode = _family("Mode", "MTASTS_MODE_",
               typedefs=('mtasts_mode', 'mtasts_policy_mode'))
ResultType = _family("ResultType", "MTASTS_RESULT_",
                     typedefs=('mtasts_result_type', 'mtasts_result'))
Option = _family("Option", "MTASTS_OPT_",
                 typedefs=('mtasts_option', 'mtasts_opt'))
Action = _family("Action", "MTASTS_ACT_",
                 typedefs=('mtasts_action', 'mtasts_act',
                           'mtasts_lookup_action'))
Dns = _family("Dns", "MTASTS_DNS_",
              typedefs=('mtasts_dns_status', 'mtasts_dns'))
Fetch = _family("Fetch", "MTASTS_FETCH_",
                typedefs=('mtasts_fetch_status', 'mtasts_fetch'))
Outcome = _family("Outcome", "MTASTS_OUTCOME_",
                  typedefs=('mtasts_outcome',))
Why = _family("Why", "MTASTS_WHY_",
              typedefs=('mtasts_why',))
EntryTime = _family("EntryTime", "MTASTS_ENTRY_TIME_",
                    typedefs=('mtasts_entry_time_field',))
EntryAction = _family("EntryAction", "MTASTS_ENTRY_ACTION_",
                      typedefs=('mtasts_entry_action',))
Tls = _family("Tls", "MTASTS_TLS_",
              typedefs=('mtasts_tls_status', 'mtasts_tls'))
Dane = _family("Dane", "MTASTS_DANE_",
               typedefs=('mtasts_dane_status', 'mtasts_dane'))
DecideAction = _family("DecideAction", "MTASTS_",
                       names={"MTASTS_DELIVER", "MTASTS_SKIP_MX"},
                       typedefs=('mtasts_decide_action',))
DecideReason = _family("DecideReason", "MTASTS_DECIDE_",
                       exclude={"MTASTS_DECIDE_F_TLSRPT_REPORT"},
                       typedefs=('mtasts_decide_reason',))
Rua = _family("Rua", "MTASTS_RUA_",
              typedefs=('mtasts_rua_kind', 'mtasts_rua'))
PolicyType = _family("PolicyType", "MTASTS_POLICY_TYPE_",
                     typedefs=('mtasts_policy_type',))
Session = _family("Session", "MTASTS_SESSION_",
                  exclude={"MTASTS_SESSION_F_TLSRPT_REPORT"},
                  typedefs=('mtasts_session_outcome', 'mtasts_session'))
AggOption = _family("AggOption", "MTASTS_AGG_",
                    typedefs=('mtasts_agg_option',))


def _enum(cls, v):
    try:
        return cls(v)
    except ValueError:
        return v


# ------------------------------------------------------------------ #
# Errors                                                              #
# ------------------------------------------------------------------ #

class Error(Exception):
    """A libmtasts status. code is a Status (an int: the C value); reason,
    offset and line come from the parse diagnostic when there is one."""

    def __init__(self, code, reason=None, offset=None, line=None,
                 warnings=0, what=None):
        self.code = _enum(Status, code)
        self.code_name = _cstr(lib.mtasts_status_name(code))
        self.strerror = _cstr(lib.mtasts_strerror(code))
        self.fatal = lib.mtasts_is_fatal(code) == 1
        self.reason = None if reason is None else _enum(Reason, reason)
        self.reason_name = (None if reason is None
                            else _cstr(lib.mtasts_reason_name(reason)))
        self.reason_message = (None if reason is None
                               else _cstr(lib.mtasts_reason_message(reason)))
        self.offset = offset
        self.line = line
        self.warnings = warning_names(warnings)
        msg = "%s: %s" % (self.code_name, self.strerror)
        if what:
            msg = "%s: %s" % (what, msg)
        if reason:
            msg += ": %s" % self.reason_message
        if offset is not None:
            msg += " (offset %d, line %d)" % (offset, line or 0)
        super().__init__(msg)


class InvalidArgumentError(Error, ValueError):
    pass


class NoMemoryError(Error, MemoryError):
    pass


class ParseError(Error, ValueError):
    pass


class NonAsciiError(ParseError):
    pass


class StrictError(ParseError):
    pass


class TooBigError(Error, ValueError):
    pass


class VersionError(Error):
    pass


class StateError(Error):
    pass


class CallbackError(Error):
    pass


class RangeError(Error):
    pass


class CorruptError(Error, ValueError):
    pass


class RefusedError(Error):
    """MTASTS_REFUSED: not an error of the call but a protocol rule that
    refuses the input (a report mail without a DKIM pass); reason says
    which rule."""


_ERRORS = {
    "EINVAL": InvalidArgumentError, "ENOMEM": NoMemoryError,
    "ESYNTAX": ParseError, "ENONASCII": NonAsciiError,
    "ESTRICT": StrictError, "ETOOBIG": TooBigError,
    "EVERSION": VersionError, "ESTATE": StateError,
    "ECALLBACK": CallbackError, "ERANGE": RangeError,
    "ECORRUPT": CorruptError, "REFUSED": RefusedError,
}
_ERROR_BY_CODE = {int(Status[k]): v for k, v in _ERRORS.items()
                  if k in Status.__members__}


def error(rc, diag=None, what=None):
    cls = _ERROR_BY_CODE.get(rc, Error)
    if diag is not None and diag.code == rc:
        return cls(rc, diag.reason, diag.offset, diag.line, diag.warnings,
                   what)
    return cls(rc, what=what)


def check(rc, diag=None, what=None):
    """Raise the Error of a negative status; return the others (MTASTS_OK,
    and the outcomes MTASTS_NONE and MTASTS_REFUSED, which callers that
    can get them test for)."""
    if rc < 0:
        raise error(rc, diag, what)
    return rc


def is_fatal(status):
    """Whether a status means the operation cannot go on (mtasts_is_fatal):
    True for misuse (EINVAL, EVERSION, ESTATE), ENOMEM, ECALLBACK and
    unknown negative codes; False for OK, NONE, REFUSED and the errors a
    retry or other input cures. Takes an int, a Status or an Error."""
    if isinstance(status, Error):
        status = status.code
    return lib.mtasts_is_fatal(int(status)) == 1


def new_diag():
    d = ffi.new("struct mtasts_diag *")
    d.version = lib.MTASTS_DIAG_VERSION
    return d


def warning_names(mask):
    names = []
    w = 0
    while mask >> w:
        if (mask >> w) & 1:
            p = lib.mtasts_warning_name(w)
            names.append(_cstr(p) if p != ffi.NULL else "w%d" % w)
        w += 1
    return names


# ------------------------------------------------------------------ #
# Strings                                                             #
# ------------------------------------------------------------------ #

def _cstr(p):
    """A static NUL-terminated string of the library (names, messages)."""
    return None if p == ffi.NULL else ffi.string(p).decode("ascii")


def text(p, n):
    """A (pointer, length) string out of C, copied; None for NULL."""
    if p == ffi.NULL:
        return None
    return bytes(ffi.buffer(p, n)).decode("utf-8", "surrogateescape")


def raw(p, n):
    if p == ffi.NULL:
        return None
    return bytes(ffi.buffer(p, n))


def as_bytes(s, what="argument"):
    if isinstance(s, str):
        return s.encode("utf-8", "surrogateescape")
    if isinstance(s, (bytes, bytearray, memoryview)):
        return bytes(s)
    raise TypeError("%s must be str or bytes, not %s"
                    % (what, type(s).__name__))


def len_getter(fn, obj, *args):
    n = ffi.new("size_t *")
    p = fn(obj, *args, n)
    return text(p, n[0])


def snprintf_out(fn, *args, ctype="char[]", decode=True, what=None,
                 extra=None):
    """Call an output function with snprintf semantics twice: once to learn
    the length, once to write. Returns the bytes (str when decode), or None
    when the function returns MTASTS_NONE (nothing to return)."""
    need = ffi.new("size_t *")
    tail = () if extra is None else extra
    rc = fn(*args, ffi.NULL, 0, need, *tail)
    if rc == lib.MTASTS_NONE:
        return None
    if rc < 0 and rc != lib.MTASTS_ERANGE:
        raise error(rc, what=what)
    buf = ffi.new(ctype, need[0] + 1)
    rc = fn(*args, buf, need[0] + 1, need, *tail)
    check(rc, what=what)
    data = bytes(ffi.buffer(buf, need[0]))
    return data.decode("utf-8", "surrogateescape") if decode else data


def take_buf(pp):
    """Copy a mtasts_buf out and free it."""
    try:
        n = ffi.new("size_t *")
        p = lib.mtasts_buf_data(pp[0], n)
        return raw(p, n[0])
    finally:
        lib.mtasts_buf_free(pp[0])


class StrArray:
    """(const char *const *, const size_t *) of a list of strings, kept
    alive as long as this object."""

    def __init__(self, items, what="string"):
        self.keep = [ffi.new("char[]", as_bytes(s, what)) for s in items]
        self.count = len(self.keep)
        self.ptrs = ffi.new("const char *[]", self.keep or [ffi.NULL])
        self.lens = ffi.new("size_t[]", [len(k) - 1 for k in self.keep]
                            or [0])
        if not self.keep:
            self.ptrs = ffi.NULL
            self.lens = ffi.NULL


class RRset:
    """A TXT RRset (list of records, each a list of character-strings)."""

    def __init__(self, records):
        if isinstance(records, (str, bytes)):
            raise TypeError("an RRset is a list of records, each a list of "
                            "strings")
        flat, nstr = [], []
        for rec in records:
            if isinstance(rec, (str, bytes)):
                rec = [rec]  # a record of one string
            rec = list(rec)
            flat += rec
            nstr.append(len(rec))
        self.strs = StrArray(flat, "TXT string")
        self.count = len(nstr)
        self.nstr = ffi.new("size_t[]", nstr) if nstr else ffi.NULL


# ------------------------------------------------------------------ #
# Context                                                             #
# ------------------------------------------------------------------ #

class Context:
    """A library context: limits, discovery options and the hash seed.
    Objects made from a context keep it alive."""

    def __init__(self, seed=None, limits=None, options=None):
        pp = ffi.new("mtasts_ctx **")
        check(lib.mtasts_ctx_new(ffi.NULL, pp), what="mtasts_ctx_new")
        self._ptr = gc_with(pp[0], lib.mtasts_ctx_free)
        if seed is not None:
            check(lib.mtasts_ctx_set_seed(self._ptr, seed))
        for k, v in (limits or {}).items():
            self.set_limit(k, v)
        for k, v in (options or {}).items():
            self.set_option(k, v)

    def set_limit(self, limit, value):
        check(lib.mtasts_ctx_set_limit(self._ptr, int(limit), value),
              what="set_limit(%r)" % (limit,))

    def get_limit(self, limit):
        return lib.mtasts_ctx_get_limit(self._ptr, int(limit))

    def set_option(self, option, value):
        check(lib.mtasts_ctx_set_option(self._ptr, int(option), value),
              what="set_option(%r)" % (option,))

    def get_option(self, option):
        return lib.mtasts_ctx_get_option(self._ptr, int(option))


_default = None
_default_lock = threading.Lock()


def ctx_ptr(ctx):
    global _default
    if ctx is not None:
        return ctx._ptr
    with _default_lock:
        if _default is None:
            _default = Context()
    return _default._ptr


# Ownership graph. Every C object a wrapper holds is a node with a count
# of references: one for the wrapper's handle, one per child that needs
# it (a context for everything made from it, a lookup for the policy it
# lends, an entry taken from a lookup for that lookup...). A node's C
# object is freed when its count falls to zero, then its parents are
# released. The graph lives in module globals, not in the wrappers: the
# cyclic garbage collector may clear wrappers, closures and tuples of a
# garbage cycle in any order, but never these tables, so the order of the
# frees does not depend on it.
_nodes = {}    # key -> [refs, free function or None, pointer, parent keys]
_by_handle = {}  # id(handle cdata) -> key, to find a parent's node
_lock = threading.RLock()


def _release(key):
    stack = [key]
    while stack:
        k = stack.pop()
        n = _nodes[k]
        n[0] -= 1
        if n[0] == 0:
            del _nodes[k]
            if n[1] is not None:
                n[1](n[2])
            stack.extend(n[3])


def _collect(old):
    try:
        with _lock:
            key = id(old)
            if _by_handle.get(_nodes[key][4]) == key:
                del _by_handle[_nodes[key][4]]
            _release(key)
    except Exception:  # interpreter shutdown: the tables may be gone
        pass


def _key(handle):
    return _by_handle[id(handle)]


def gc_with(ptr, free, *parents):
    """A handle (a cdata of ptr's type) for a C object: free(ptr) runs once
    the handle and every child registered on it are gone; free None for a
    borrowed pointer. parents are handles the object needs alive (its
    context, the object lending it)."""
    old = ffi.cast(ffi.typeof(ptr), ptr)
    key = id(old)  # unique while the node holds old
    with _lock:
        pkeys = [_key(h) for h in parents]
        for k in pkeys:
            _nodes[k][0] += 1
        handle = ffi.gc(old, _collect)
        _nodes[key] = [1, free, old, pkeys, id(handle)]
        _by_handle[id(handle)] = key
    return handle


def add_parent(handle, parent):
    """Make the object of handle need parent's object too."""
    with _lock:
        k, pk = _key(handle), _key(parent)
        _nodes[pk][0] += 1
        _nodes[k][3].append(pk)


def live_objects():
    """Number of C objects held (for tests)."""
    with _lock:
        return len(_nodes)
