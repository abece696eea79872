"""MTA-STS: names, TXT records, policies, decisions, discovery, cache."""

from dataclasses import dataclass
import re

from ._native import (
    ffi, lib, check, error, new_diag, warning_names, text, raw, as_bytes,
    len_getter, snprintf_out, StrArray, RRset, ctx_ptr, gc_with, add_parent,
    _enum,
    Mode, Select, Action, Dns, Fetch, Outcome, Why, EntryAction, EntryTime,
    ResultType, Tls, Dane, DecideAction, DecideReason, Rua,
    take_buf,
)


def _flags(strict):
    return lib.MTASTS_PARSE_F_STRICT if strict else 0


# ------------------------------------------------------------------ #
# Names                                                               #
# ------------------------------------------------------------------ #

def hostname_check(name, wildcard=False, trailing_dot=False):
    """Raise ParseError (or NonAsciiError, TooBigError) unless name is an
    RFC 5321 Domain in A-label form."""
    b = as_bytes(name, "name")
    flags = ((lib.MTASTS_HOST_F_WILDCARD if wildcard else 0)
             | (lib.MTASTS_HOST_F_TRAILING_DOT if trailing_dot else 0))
    d = new_diag()
    check(lib.mtasts_hostname_check(b, len(b), flags, d), d,
          what="hostname %r" % (name,))


def _domain_fn(fn, domain):
    b = as_bytes(domain, "domain")
    return snprintf_out(fn, b, len(b), what="domain %r" % (domain,))


def domain_normalize(domain):
    return _domain_fn(lib.mtasts_domain_normalize, domain)


def sts_txt_name(domain):
    return _domain_fn(lib.mtasts_sts_txt_name, domain)


def tlsrpt_txt_name(domain):
    return _domain_fn(lib.mtasts_tlsrpt_txt_name, domain)


def policy_host(domain):
    return _domain_fn(lib.mtasts_domain_policy_host, domain)


def policy_url(domain):
    return _domain_fn(lib.mtasts_domain_policy_url, domain)


def policy_domain_for(recipient, smarthost=None):
    r = as_bytes(recipient, "recipient")
    s = ffi.NULL if smarthost is None else as_bytes(smarthost, "smarthost")
    return snprintf_out(lib.mtasts_domain_for_delivery, r, len(r), s,
                        0 if smarthost is None else len(s))


def mx_match(pattern, host):
    """True when the policy mx pattern matches the MX host name."""
    p, h = as_bytes(pattern, "pattern"), as_bytes(host, "host")
    return lib.mtasts_mx_match(p, len(p), h, len(h)) == 1


def cert_name_match(san, host):
    s, h = as_bytes(san, "san"), as_bytes(host, "host")
    return lib.mtasts_cert_name_match(s, len(s), h, len(h)) == 1


def cert_names_match(sans, host):
    a = StrArray(sans, "san")
    h = as_bytes(host, "host")
    return lib.mtasts_cert_names_match(a.ptrs, a.lens, a.count, h,
                                       len(h)) == 1


# ------------------------------------------------------------------ #
# Common pieces of parsed objects                                     #
# ------------------------------------------------------------------ #

class _Handle:
    """An owned or borrowed C object; _ptr is a handle of gc_with()."""

    __slots__ = ("_ptr",)

    def __init__(self, ptr):
        self._ptr = ptr


def _exts(fn, ptr, count):
    out = []
    np_, nl = ffi.new("const char **"), ffi.new("size_t *")
    vp, vl = ffi.new("const char **"), ffi.new("size_t *")
    for i in range(count):
        check(fn(ptr, i, np_, nl, vp, vl))
        out.append((text(np_[0], nl[0]), text(vp[0], vl[0])))
    return tuple(out)


def _ext_arrays(extensions):
    items = list(extensions.items() if hasattr(extensions, "items")
                 else extensions)
    return (StrArray([k for k, _ in items], "extension name"),
            StrArray([v for _, v in items], "extension value"))


# ------------------------------------------------------------------ #
# _mta-sts TXT record                                                 #
# ------------------------------------------------------------------ #

class StsRecord(_Handle):
    """A parsed _mta-sts TXT record."""

    __slots__ = ()

    @classmethod
    def _own(cls, ptr, ctx):
        return cls(gc_with(ptr, lib.mtasts_sts_record_free, ctx))

    @classmethod
    def parse(cls, data, strict=False, ctx=None):
        b = as_bytes(data, "record")
        pp = ffi.new("mtasts_sts_record **")
        d = new_diag()
        c = ctx_ptr(ctx)
        check(lib.mtasts_sts_record_parse(c, b, len(b), _flags(strict), pp, d),
              d, what="sts record")
        return cls._own(pp[0], c)

    @classmethod
    def select(cls, rrset, strict=False, ctx=None):
        """Select the record of a TXT RRset (a list of records, each a list
        of strings). Returns (Select outcome, record or None, the parse
        error of an invalid record or None)."""
        rr = RRset(rrset)
        c = ctx_ptr(ctx)
        out = ffi.new("int *")
        pp = ffi.new("mtasts_sts_record **")
        d = new_diag()
        check(lib.mtasts_sts_record_select(c, rr.strs.ptrs, rr.strs.lens,
                                           rr.nstr, rr.count, _flags(strict),
                                           out, pp, d), d)
        rec = cls._own(pp[0], c) if pp[0] != ffi.NULL else None
        err = error(d.code, d) if d.code < 0 else None
        return _enum(Select, out[0]), rec, err

    @classmethod
    def build(cls, id, extensions=(), ctx=None):
        b = as_bytes(id, "id")
        names, values = _ext_arrays(extensions)
        c = ctx_ptr(ctx)
        pp = ffi.new("mtasts_sts_record **")
        d = new_diag()
        check(lib.mtasts_sts_record_build(c, b, len(b), names.ptrs,
                                          names.lens, values.ptrs,
                                          values.lens, names.count, pp, d),
              d, what="sts record build")
        return cls._own(pp[0], c)

    @property
    def id(self):
        return len_getter(lib.mtasts_sts_record_id, self._ptr)

    @property
    def extensions(self):
        return _exts(lib.mtasts_sts_record_ext, self._ptr,
                     lib.mtasts_sts_record_ext_count(self._ptr))

    @property
    def warnings(self):
        return warning_names(lib.mtasts_sts_record_warnings(self._ptr))

    def format(self):
        return snprintf_out(lib.mtasts_sts_record_format, self._ptr)

    def __str__(self):
        return self.format()


# ------------------------------------------------------------------ #
# Policy                                                              #
# ------------------------------------------------------------------ #

class Policy(_Handle):
    """A parsed MTA-STS policy. Getters copy out of C at access time."""

    __slots__ = ()

    @classmethod
    def _own(cls, ptr, ctx):
        return cls(gc_with(ptr, lib.mtasts_policy_free, ctx))

    @classmethod
    def _borrowed(cls, ptr, owner):
        return None if ptr == ffi.NULL else cls(gc_with(ptr, None, owner))

    @classmethod
    def parse(cls, data, strict=False, ctx=None):
        b = as_bytes(data, "policy")
        pp = ffi.new("mtasts_policy **")
        d = new_diag()
        c = ctx_ptr(ctx)
        check(lib.mtasts_policy_parse(c, b, len(b), _flags(strict), pp, d), d,
              what="policy")
        return cls._own(pp[0], c)

    @classmethod
    def build(cls, mode, max_age, mx=(), extensions=(), ctx=None):
        m = StrArray(mx, "mx")
        names, values = _ext_arrays(extensions)
        c = ctx_ptr(ctx)
        model = ffi.new("struct mtasts_policy_model *")
        model.version = lib.MTASTS_POLICY_MODEL_VERSION
        model.mode = int(mode)
        model.max_age = max_age
        model.mx, model.mx_lens, model.mx_count = m.ptrs, m.lens, m.count
        model.ext_names, model.ext_name_lens = names.ptrs, names.lens
        model.ext_values, model.ext_value_lens = values.ptrs, values.lens
        model.ext_count = names.count
        pp = ffi.new("mtasts_policy **")
        d = new_diag()
        check(lib.mtasts_policy_build(c, model, pp, d), d,
              what="policy build")
        return cls._own(pp[0], c)

    @property
    def version(self):
        return len_getter(lib.mtasts_policy_version, self._ptr)

    @property
    def mode(self):
        return _enum(Mode, lib.mtasts_policy_mode(self._ptr))

    @property
    def mode_name(self):
        p = lib.mtasts_mode_name(lib.mtasts_policy_mode(self._ptr))
        return None if p == ffi.NULL else ffi.string(p).decode()

    @property
    def max_age(self):
        return lib.mtasts_policy_max_age(self._ptr)

    @property
    def mx(self):
        n = lib.mtasts_policy_mx_count(self._ptr)
        return tuple(len_getter(lib.mtasts_policy_mx, self._ptr, i)
                     for i in range(n))

    @property
    def extensions(self):
        return _exts(lib.mtasts_policy_ext, self._ptr,
                     lib.mtasts_policy_ext_count(self._ptr))

    @property
    def lines(self):
        # mtasts_policy_line() is NUL-terminated since 1.0, but the length
        # is what keeps any byte of the line
        n = lib.mtasts_policy_line_count(self._ptr)
        return tuple(len_getter(lib.mtasts_policy_line, self._ptr, i)
                     for i in range(n))

    @property
    def raw(self):
        n = ffi.new("size_t *")
        p = lib.mtasts_policy_raw(self._ptr, n)
        return raw(p, n[0])

    @property
    def warnings(self):
        return warning_names(lib.mtasts_policy_warnings(self._ptr))

    def mx_allowed(self, host):
        h = as_bytes(host, "host")
        return lib.mtasts_policy_mx_allowed(self._ptr, h, len(h)) == 1

    def format(self):
        return snprintf_out(lib.mtasts_policy_format, self._ptr)

    def __repr__(self):
        return "<mtasts.Policy mode=%s max_age=%d mx=%r>" % (
            self.mode_name, self.max_age, list(self.mx))


# ------------------------------------------------------------------ #
# Delivery decision and the Postfix answer                            #
# ------------------------------------------------------------------ #

@dataclass(frozen=True)
class Decision:
    action: DecideAction
    result_type: ResultType
    reason: DecideReason

    @property
    def deliver(self):
        return self.action == DecideAction.DELIVER

    @property
    def reason_name(self):
        p = lib.mtasts_decide_reason_name(int(self.reason))
        return None if p == ffi.NULL else ffi.string(p).decode()

    @property
    def result_type_name(self):
        return result_type_name(self.result_type)


def result_type_name(rt):
    p = lib.mtasts_result_type_name(int(rt))
    return None if p == ffi.NULL else ffi.string(p).decode()


def decide(policy, mx, tls=None, dane=None, tlsrpt_report=False):
    """What to do with one MX under policy (None: no policy)."""
    m = as_bytes(mx, "mx")
    tls = Tls.NOT_TRIED if tls is None else tls
    dane = Dane.NOT_USED if dane is None else dane
    a, r, why = ffi.new("int *"), ffi.new("int *"), ffi.new("int *")
    flags = lib.MTASTS_DECIDE_F_TLSRPT_REPORT if tlsrpt_report else 0
    p = ffi.NULL if policy is None else policy._ptr
    check(lib.mtasts_decide(p, m, len(m), int(tls), int(dane), flags, a, r,
                            why), what="decide")
    return Decision(_enum(DecideAction, a[0]), _enum(ResultType, r[0]),
                    _enum(DecideReason, why[0]))


def postfix_version_parse(version):
    """'3.7.11' or '3.11-20250601' -> the comparable number; ParseError
    with the offset otherwise."""
    b = as_bytes(version, "version")
    v, off = ffi.new("uint32_t *"), ffi.new("size_t *")
    rc = lib.mtasts_postfix_version_parse(b, len(b), v, off)
    if rc < 0:
        e = error(rc, what="postfix version %r" % (version,))
        if rc == lib.MTASTS_ESYNTAX:
            e.offset, e.line = off[0], 1
        raise e
    return v[0]


def postfix_answer(policy, domain, version="3.7.11", temp=False):
    """The smtp_tls_policy_maps socketmap reply (without netstring)."""
    if not isinstance(version, int):
        version = postfix_version_parse(version)
    d = as_bytes(domain, "domain")
    p = ffi.NULL if policy is None else policy._ptr
    flags = lib.MTASTS_POSTFIX_F_TEMP if temp else 0
    return snprintf_out(lib.mtasts_postfix_answer_format, p, d, len(d),
                        version, flags, what="postfix answer")


# ------------------------------------------------------------------ #
# Cache entries                                                       #
# ------------------------------------------------------------------ #

class Entry(_Handle):
    """A decoded cache entry."""

    __slots__ = ()

    @classmethod
    def decode(cls, data, ctx=None):
        b = as_bytes(data, "entry")
        pp = ffi.new("mtasts_entry **")
        d = new_diag()
        c = ctx_ptr(ctx)
        check(lib.mtasts_entry_decode(c, b, len(b), pp, d), d, what="entry")
        return cls(gc_with(pp[0], lib.mtasts_entry_free, c))

    def encode(self):
        return snprintf_out(lib.mtasts_entry_encode, self._ptr,
                            ctype="uint8_t[]", decode=False)

    @property
    def domain(self):
        return len_getter(lib.mtasts_entry_domain, self._ptr)

    @property
    def id(self):
        return len_getter(lib.mtasts_entry_id, self._ptr)

    @property
    def backoff_id(self):
        return len_getter(lib.mtasts_entry_backoff_id, self._ptr)

    @property
    def policy(self):
        return Policy._borrowed(lib.mtasts_entry_policy(self._ptr), self._ptr)

    def time(self, which):
        return lib.mtasts_entry_time(self._ptr, int(which))

    @property
    def fetched_at(self):
        return self.time(EntryTime.FETCHED_AT)

    @property
    def expires_at(self):
        return self.time(EntryTime.EXPIRES_AT)

    @property
    def backoff_until(self):
        return self.time(EntryTime.BACKOFF_UNTIL)

    @property
    def last_used(self):
        return self.time(EntryTime.LAST_USED)


# ------------------------------------------------------------------ #
# Discovery                                                           #
# ------------------------------------------------------------------ #

class DnsFailure(Exception):
    """Raise from a drive() TXT callback for a DNS outcome without an
    answer: DnsFailure(Dns.NXDOMAIN), Dns.NODATA or Dns.TEMPFAIL."""

    def __init__(self, status, message=None):
        self.status = status
        super().__init__(message or "DNS %s" % _enum(Dns, status).name)


class FetchFailure(Exception):
    """Raise from a drive() fetch callback for a transport failure:
    FetchFailure(Fetch.TIMEOUT), Fetch.CERT, ..."""

    def __init__(self, transport, message=None):
        self.transport = transport
        super().__init__(message or "fetch %s"
                         % _enum(Fetch, transport).name)


DEFER = object()
"""Return this from a drive() callback to answer later with put_txt() /
put_fetch() and call drive() again."""


class Lookup(_Handle):
    """One policy lookup (the pull API)."""

    __slots__ = ("_c",)

    def __init__(self, domain, now, entry=None, refresh=False, ctx=None):
        d = as_bytes(domain, "domain")
        c = self._c = ctx_ptr(ctx)
        pp = ffi.new("mtasts_lookup **")
        flags = lib.MTASTS_LOOKUP_F_REFRESH if refresh else 0
        if isinstance(entry, Entry):
            # borrowed by the lookup: keep it alive as long as the lookup
            rc = lib.mtasts_lookup_new_decoded(c, d, len(d), entry._ptr, now,
                                               flags, pp)
            keep = (c, entry._ptr)
        else:
            e = ffi.NULL if entry is None else as_bytes(entry, "entry")
            rc = lib.mtasts_lookup_new(c, d, len(d), e,
                                       0 if entry is None else len(e), now,
                                       flags, pp)
            keep = (c,)
        check(rc, what="lookup %r" % (domain,))
        super().__init__(gc_with(pp[0], lib.mtasts_lookup_free, *keep))

    def next(self):
        return _enum(Action, check(lib.mtasts_lookup_next(self._ptr)))

    @property
    def txt_name(self):
        return len_getter(lib.mtasts_lookup_txt_name, self._ptr)

    @property
    def fetch_url(self):
        return len_getter(lib.mtasts_lookup_fetch_url, self._ptr)

    @property
    def fetch_host(self):
        return len_getter(lib.mtasts_lookup_fetch_host, self._ptr)

    @property
    def fetch_timeout_ms(self):
        return lib.mtasts_lookup_fetch_timeout_ms(self._ptr)

    @property
    def fetch_max_size(self):
        return lib.mtasts_lookup_fetch_max_size(self._ptr)

    def put_txt(self, status=None, rrset=()):
        status = Dns.OK if status is None else status
        rr = RRset(rrset)
        check(lib.mtasts_lookup_put_txt(self._ptr, int(status), rr.strs.ptrs,
                                        rr.strs.lens, rr.nstr, rr.count),
              what="put_txt")

    def put_fetch(self, transport=None, status=0, content_type=None,
                  body=b""):
        transport = Fetch.OK if transport is None else transport
        ct = ffi.NULL if content_type is None else as_bytes(content_type)
        b = as_bytes(body, "body")
        check(lib.mtasts_lookup_put_fetch(self._ptr, int(transport), status,
                                          ct, 0 if ct == ffi.NULL else len(ct),
                                          b, len(b)), what="put_fetch")

    def drive(self, txt, fetch, log=None):
        """Run the lookup over Python callables until it is done.

        txt(qname) returns the TXT RRset (a list of records, each a list of
        strings; [] is an answer without TXT records), or a (Dns status,
        rrset) pair, or raises DnsFailure(Dns.NXDOMAIN/NODATA/TEMPFAIL).
        fetch(url, host, timeout_ms, max_size) returns (http_status,
        content_type or None, body) or raises FetchFailure(Fetch.X).
        log(message) is optional. A callback may return DEFER: drive()
        then returns False and the caller answers with put_txt()/put_fetch()
        and calls drive() again. Any other exception raised by a callback
        ends the drive and propagates, with the C status (ECALLBACK) as
        its __context__. Returns True once the lookup is done."""
        caught = []
        eagain = lib.MTASTS_EAGAIN

        def guard(fn):
            def wrapped(*args):
                try:
                    return fn(*args)
                except BaseException as e:  # reported after the C call
                    caught.append(e)
                    return -1
            return wrapped

        @guard
        def on_txt(user, lk, qname, qlen):
            try:
                ans = txt(text(qname, qlen))
            except DnsFailure as e:
                self.put_txt(e.status, ())
                return 0
            if ans is DEFER:
                return eagain
            if (isinstance(ans, tuple) and len(ans) == 2
                    and isinstance(ans[0], int)):
                self.put_txt(ans[0], ans[1])
            else:
                self.put_txt(Dns.OK, ans)
            return 0

        @guard
        def on_fetch(user, lk, url, ulen, host, hlen, timeout_ms, max_size):
            try:
                ans = fetch(text(url, ulen), text(host, hlen), timeout_ms,
                            max_size)
            except FetchFailure as e:
                self.put_fetch(e.transport, 0, None, b"")
                return 0
            if ans is DEFER:
                return eagain
            status, ctype, body = ans
            self.put_fetch(Fetch.OK, status, ctype, body)
            return 0

        @guard
        def on_log(user, msg, mlen):
            if log is not None:
                log(text(msg, mlen))

        io = ffi.new("struct mtasts_io *")
        io.version = lib.MTASTS_IO_VERSION
        cb_txt = ffi.callback("int(void *, mtasts_lookup *, const char *, "
                              "size_t)", on_txt)
        cb_fetch = ffi.callback("int(void *, mtasts_lookup *, const char *, "
                                "size_t, const char *, size_t, uint32_t, "
                                "size_t)", on_fetch)
        cb_log = ffi.callback("void(void *, const char *, size_t)", on_log)
        io.txt, io.fetch = cb_txt, cb_fetch
        io.log = cb_log if log is not None else ffi.NULL
        rc = lib.mtasts_lookup_drive(self._ptr, io, ffi.NULL)
        if caught:
            try:
                raise error(rc, what="drive")
            except Exception:
                raise caught[0]
        if rc == eagain:
            return False
        check(rc, what="drive")
        return True

    @property
    def done(self):
        return lib.mtasts_lookup_outcome(self._ptr) != 0

    @property
    def outcome(self):
        v = lib.mtasts_lookup_outcome(self._ptr)
        return None if v == 0 else _enum(Outcome, v)

    @property
    def why(self):
        v = lib.mtasts_lookup_why(self._ptr)
        return None if v == 0 else _enum(Why, v)

    @property
    def why_name(self):
        p = lib.mtasts_why_name(lib.mtasts_lookup_why(self._ptr))
        return None if p == ffi.NULL else ffi.string(p).decode()

    @property
    def policy(self):
        return Policy._borrowed(lib.mtasts_lookup_policy(self._ptr),
                                self._ptr)

    @property
    def from_cache(self):
        return lib.mtasts_lookup_from_cache(self._ptr) == 1

    @property
    def result_type(self):
        return _enum(ResultType, lib.mtasts_lookup_result_type(self._ptr))

    @property
    def alert(self):
        return lib.mtasts_lookup_alert(self._ptr) == 1

    @property
    def entry_error(self):
        rc = lib.mtasts_lookup_entry_error(self._ptr)
        return None if rc == 0 else error(rc, what="cached entry")

    @property
    def entry_action(self):
        return _enum(EntryAction, lib.mtasts_lookup_entry_action(self._ptr))

    @property
    def entry(self):
        """The entry bytes to store, or None when there is nothing to
        store (MTASTS_NONE). Raises StateError before the lookup is
        done."""
        return snprintf_out(lib.mtasts_lookup_entry, self._ptr,
                            ctype="uint8_t[]", decode=False)

    def take_entry(self):
        pp = ffi.new("mtasts_entry **")
        rc = check(lib.mtasts_lookup_take_entry(self._ptr, pp),
                   what="take_entry")
        if rc == lib.MTASTS_NONE:
            return None
        # the lookup's policy now lives in the entry: the entry is freed
        # only after the lookup (and so after any Policy it lent)
        ent = Entry(gc_with(pp[0], lib.mtasts_entry_free, self._c))
        add_parent(self._ptr, ent._ptr)
        return ent

    @property
    def refresh_at(self):
        return lib.mtasts_lookup_refresh_at(self._ptr)

    def may_permfail(self, bounce_time):
        return lib.mtasts_lookup_may_permfail(self._ptr, bounce_time) == 1

    def format(self):
        return snprintf_out(lib.mtasts_lookup_format, self._ptr)

    def __str__(self):
        return self.format()


# ------------------------------------------------------------------ #
# In-memory cache                                                     #
# ------------------------------------------------------------------ #

class Cache(_Handle):
    """Bounded in-memory store of entry bytes with a refresh planner. Not
    thread-safe."""

    __slots__ = ()

    def __init__(self, max_entries, max_bytes, ctx=None):
        c = ctx_ptr(ctx)
        pp = ffi.new("mtasts_cache **")
        check(lib.mtasts_cache_new(c, max_entries, max_bytes, pp),
              what="cache")
        super().__init__(gc_with(pp[0], lib.mtasts_cache_free, c))

    def get(self, domain, now):
        d = as_bytes(domain, "domain")
        pp, n = ffi.new("const uint8_t **"), ffi.new("size_t *")
        check(lib.mtasts_cache_get(self._ptr, d, len(d), now, pp, n))
        return raw(pp[0], n[0])  # copied: valid until the next change

    def put(self, domain, entry, refresh_at, now):
        d, e = as_bytes(domain, "domain"), as_bytes(entry, "entry")
        check(lib.mtasts_cache_put(self._ptr, d, len(d), e, len(e),
                                   refresh_at, now), what="cache put")

    def remove(self, domain):
        d = as_bytes(domain, "domain")
        check(lib.mtasts_cache_remove(self._ptr, d, len(d)))

    def apply(self, lookup, now):
        check(lib.mtasts_cache_apply(self._ptr, lookup._ptr, now),
              what="cache apply")

    def __len__(self):
        return lib.mtasts_cache_count(self._ptr)

    @property
    def bytes(self):
        return lib.mtasts_cache_bytes(self._ptr)

    def gc(self, now, unused_for):
        return lib.mtasts_cache_gc(self._ptr, now, unused_for)

    def next_refresh(self, now, used_within, jitter=0):
        """(domain, due time) of the next refresh, or None."""
        due = ffi.new("int64_t *")
        dom = snprintf_out(lib.mtasts_cache_next_refresh, self._ptr, now,
                           used_within, jitter, extra=(due,))
        return None if dom is None else (dom, due[0])


# ------------------------------------------------------------------ #
# gzip                                                                #
# ------------------------------------------------------------------ #

def gzip(data, level=6, ctx=None):
    b = as_bytes(data, "data")
    pp = ffi.new("mtasts_buf **")
    check(lib.mtasts_gzip(ctx_ptr(ctx), b, len(b), level, pp), what="gzip")
    return take_buf(pp)


def gunzip(data, max_out=None, ctx=None):
    b = as_bytes(data, "data")
    if max_out is None:
        max_out = lib.MTASTS_GUNZIP_MAX_DEFAULT
    pp = ffi.new("mtasts_buf **")
    d = new_diag()
    check(lib.mtasts_gunzip(ctx_ptr(ctx), b, len(b), max_out, pp, d), d,
          what="gunzip")
    return take_buf(pp)


_ = (re, Rua)
