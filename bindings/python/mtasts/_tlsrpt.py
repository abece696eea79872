"""SMTP TLS Reporting: the _smtp._tls record, reports, aggregation."""

from dataclasses import dataclass, field
from typing import Optional, Tuple

from ._native import (
    ffi, lib, check, error, new_diag, warning_names, text, as_bytes,
    len_getter, snprintf_out, StrArray, RRset, ctx_ptr, gc_with, _enum,
    _cstr, take_buf, Select, Rua, ResultType, PolicyType,
    Session, Warn,
)
from ._sts import _Handle, _exts, _flags


# ------------------------------------------------------------------ #
# _smtp._tls TXT record                                               #
# ------------------------------------------------------------------ #

@dataclass(frozen=True)
class RuaUri:
    uri: str
    kind: Rua
    target: Optional[str]  # mailto address or https URI; None: unusable


class TlsrptRecord(_Handle):
    __slots__ = ()

    @classmethod
    def _own(cls, ptr, ctx):
        return cls(gc_with(ptr, lib.mtasts_tlsrpt_record_free, ctx))

    @classmethod
    def parse(cls, data, strict=False, ctx=None):
        b = as_bytes(data, "record")
        pp = ffi.new("mtasts_tlsrpt_record **")
        d = new_diag()
        c = ctx_ptr(ctx)
        check(lib.mtasts_tlsrpt_record_parse(c, b, len(b), _flags(strict), pp,
                                             d), d, what="tlsrpt record")
        return cls._own(pp[0], c)

    @classmethod
    def select(cls, rrset, strict=False, ctx=None):
        """As StsRecord.select(): (Select, record or None, error or None)."""
        rr = RRset(rrset)
        c = ctx_ptr(ctx)
        out = ffi.new("int *")
        pp = ffi.new("mtasts_tlsrpt_record **")
        d = new_diag()
        check(lib.mtasts_tlsrpt_record_select(c, rr.strs.ptrs, rr.strs.lens,
                                              rr.nstr, rr.count,
                                              _flags(strict), out, pp, d), d)
        rec = cls._own(pp[0], c) if pp[0] != ffi.NULL else None
        err = error(d.code, d) if d.code < 0 else None
        return _enum(Select, out[0]), rec, err

    @classmethod
    def build(cls, uris, ctx=None):
        a = StrArray(uris, "uri")
        c = ctx_ptr(ctx)
        pp = ffi.new("mtasts_tlsrpt_record **")
        d = new_diag()
        check(lib.mtasts_tlsrpt_record_build(c, a.ptrs, a.lens, a.count, pp,
                                             d), d, what="tlsrpt record build")
        return cls._own(pp[0], c)

    @property
    def rua(self):
        out = []
        for i in range(lib.mtasts_tlsrpt_record_rua_count(self._ptr)):
            out.append(RuaUri(
                len_getter(lib.mtasts_tlsrpt_record_rua, self._ptr, i),
                _enum(Rua, lib.mtasts_tlsrpt_record_rua_kind(self._ptr, i)),
                len_getter(lib.mtasts_tlsrpt_record_rua_target, self._ptr,
                           i)))
        return tuple(out)

    @property
    def extensions(self):
        return _exts(lib.mtasts_tlsrpt_record_ext, self._ptr,
                     lib.mtasts_tlsrpt_record_ext_count(self._ptr))

    @property
    def warnings(self):
        return warning_names(lib.mtasts_tlsrpt_record_warnings(self._ptr))

    def format(self):
        return snprintf_out(lib.mtasts_tlsrpt_record_format, self._ptr)

    def __str__(self):
        return self.format()


# ------------------------------------------------------------------ #
# Reports                                                             #
# ------------------------------------------------------------------ #

@dataclass(frozen=True)
class FailureDetail:
    result_type: ResultType  # ResultType.NONE for an unregistered one
    result_type_text: str
    sending_mta_ip: Optional[str]
    receiving_mx_hostname: Optional[str]
    receiving_mx_helo: Optional[str]
    receiving_ip: Optional[str]
    failed_session_count: int
    additional_information: Optional[str]
    failure_reason_code: Optional[str]


@dataclass(frozen=True)
class PolicyResult:
    policy_type: PolicyType  # PolicyType.UNKNOWN: see policy_type_text
    policy_type_text: str
    policy_domain: Optional[str]
    policy_strings: Tuple[str, ...]
    mx_hosts: Tuple[str, ...]
    total_successful_session_count: int
    total_failure_session_count: int
    failure_details: Tuple[FailureDetail, ...]


@dataclass(frozen=True)
class ReportDiagnostic:
    warning: str
    path: str


@dataclass(frozen=True)
class Report:
    """A TLS report (RFC 8460 4.4), copied out of the C model. The C
    object is kept (not compared) for to_json(), mail() and https_body()."""

    organization_name: Optional[str]
    contact_info: Optional[str]
    report_id: Optional[str]
    start_datetime: int  # Unix seconds, UTC
    end_datetime: int
    policies: Tuple[PolicyResult, ...]
    warnings: Tuple[str, ...]
    diagnostics: Tuple[ReportDiagnostic, ...]
    _handle: object = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, data, strict=False, gzip=True, ctx=None):
        b = as_bytes(data, "report")
        pp = ffi.new("mtasts_tlsrpt_report **")
        d = new_diag()
        c = ctx_ptr(ctx)
        flags = _flags(strict) | (0 if gzip else lib.MTASTS_PARSE_F_NO_GZIP)
        check(lib.mtasts_tlsrpt_report_parse(c, b, len(b), flags, pp, d), d,
              what="report")
        return cls._from_ptr(gc_with(pp[0], lib.mtasts_tlsrpt_report_free,
                                     c))

    @classmethod
    def _from_ptr(cls, p):
        L = lib

        def t(f, i=0, j=0):
            return len_getter(L.mtasts_tlsrpt_report_text, p, f, i, j)

        def num(w, i=0, j=0):
            return L.mtasts_tlsrpt_report_number(p, w, i, j)

        pols = []
        for i in range(L.mtasts_tlsrpt_report_count(p, L.MTASTS_RC_POLICIES,
                                                    0)):
            dets = []
            for j in range(L.mtasts_tlsrpt_report_count(
                    p, L.MTASTS_RC_DETAILS, i)):
                dets.append(FailureDetail(
                    _enum(ResultType,
                          L.mtasts_tlsrpt_report_result_type(p, i, j)),
                    t(L.MTASTS_RF_RESULT_TYPE, i, j),
                    t(L.MTASTS_RF_SENDING_IP, i, j),
                    t(L.MTASTS_RF_RECEIVING_MX, i, j),
                    t(L.MTASTS_RF_RECEIVING_HELO, i, j),
                    t(L.MTASTS_RF_RECEIVING_IP, i, j),
                    num(L.MTASTS_RN_FAILED_SESSIONS, i, j),
                    t(L.MTASTS_RF_ADDITIONAL, i, j),
                    t(L.MTASTS_RF_REASON_CODE, i, j)))
            pols.append(PolicyResult(
                _enum(PolicyType, L.mtasts_tlsrpt_report_policy_type(p, i)),
                t(L.MTASTS_RF_POLICY_TYPE, i),
                t(L.MTASTS_RF_POLICY_DOMAIN, i),
                tuple(t(L.MTASTS_RF_POLICY_STRING, i, j) for j in range(
                    L.mtasts_tlsrpt_report_count(
                        p, L.MTASTS_RC_POLICY_STRINGS, i))),
                tuple(t(L.MTASTS_RF_MX_HOST, i, j) for j in range(
                    L.mtasts_tlsrpt_report_count(p, L.MTASTS_RC_MX_HOSTS,
                                                 i))),
                num(L.MTASTS_RN_SUCCESS_COUNT, i),
                num(L.MTASTS_RN_FAILURE_COUNT, i),
                tuple(dets)))
        diags = []
        w, pth, pl = ffi.new("int *"), ffi.new("const char **"), \
            ffi.new("size_t *")
        for i in range(L.mtasts_tlsrpt_report_diag_count(p)):
            check(L.mtasts_tlsrpt_report_diag(p, i, w, pth, pl))
            diags.append(ReportDiagnostic(_cstr(L.mtasts_warning_name(w[0])),
                                          text(pth[0], pl[0])))
        return cls(t(L.MTASTS_RF_ORGANIZATION), t(L.MTASTS_RF_CONTACT),
                   t(L.MTASTS_RF_REPORT_ID), num(L.MTASTS_RN_START_TIME),
                   num(L.MTASTS_RN_END_TIME), tuple(pols),
                   tuple(warning_names(L.mtasts_tlsrpt_report_warnings(p))),
                   tuple(diags), p)

    def _c(self):
        if self._handle is None:
            raise ValueError("this Report was not made by the library "
                             "(Report.parse, mail_ingest, Aggregator.report)")
        return self._handle

    def to_json(self, pretty=False):
        """Canonical JSON (bytes)."""
        pp = ffi.new("mtasts_buf **")
        check(lib.mtasts_tlsrpt_report_format(
            self._c(), lib.MTASTS_JSON_F_PRETTY if pretty else 0, pp))
        return take_buf(pp)

    def mail(self, from_, to, submitter, date, message_id, gzip=True):
        """The report e-mail (bytes) with these header values (struct
        mtasts_tlsrpt_mail_fields); a value the mail cannot carry (a NUL,
        a line break...) raises ParseError."""
        f = ffi.new("struct mtasts_tlsrpt_mail_fields *")
        f.version = lib.MTASTS_MAIL_FIELDS_VERSION
        keep = []
        for name, v in (("from", from_), ("to", to),
                        ("submitter", submitter), ("date", date),
                        ("message_id", message_id)):
            b = as_bytes(v, name)
            c = ffi.new("char[]", b)
            keep.append(c)
            setattr(f, name, c)
            setattr(f, name + "_len", len(b))
        pp = ffi.new("mtasts_buf **")
        check(lib.mtasts_tlsrpt_mail_build(
            self._c(), f, lib.MTASTS_DELIVER_F_GZIP if gzip else 0, pp),
            what="report mail")
        return take_buf(pp)

    def https_body(self, gzip=True):
        """(body bytes, content type)."""
        pp = ffi.new("mtasts_buf **")
        ct, ctl = ffi.new("const char **"), ffi.new("size_t *")
        check(lib.mtasts_tlsrpt_https_body_build(
            self._c(), lib.MTASTS_DELIVER_F_GZIP if gzip else 0, pp, ct, ctl))
        return take_buf(pp), text(ct[0], ctl[0])


def mail_ingest(message, dkim_pass, strict=False, ctx=None):
    """Read a report e-mail: (Report, mismatch). dkim_pass is the caller's
    DKIM verdict for the reporting domain; without a pass the mail is
    refused (RefusedError, reason DKIM)."""
    b = as_bytes(message, "message")
    pp = ffi.new("mtasts_tlsrpt_report **")
    mm = ffi.new("int *")
    d = new_diag()
    c = ctx_ptr(ctx)
    dkim = lib.MTASTS_DKIM_PASS if dkim_pass else lib.MTASTS_DKIM_FAIL
    rc = check(lib.mtasts_tlsrpt_mail_ingest(c, b, len(b), dkim,
                                             _flags(strict), pp, mm, d), d,
               what="report mail")
    if rc == lib.MTASTS_REFUSED:
        raise error(rc, d, what="report mail")  # RefusedError, reason DKIM
    rep = Report._from_ptr(gc_with(pp[0], lib.mtasts_tlsrpt_report_free, c))
    return rep, mm[0] == 1


# ------------------------------------------------------------------ #
# Delivery helpers                                                    #
# ------------------------------------------------------------------ #

def report_filename(sender, policy_domain, begin, end, unique_id=None,
                    gzip=True):
    """The report file name (struct mtasts_tlsrpt_filename)."""
    s, p = as_bytes(sender), as_bytes(policy_domain)
    u = None if unique_id is None else as_bytes(unique_id)
    fn = ffi.new("struct mtasts_tlsrpt_filename *")
    fn.version = lib.MTASTS_FILENAME_VERSION
    keep = [ffi.new("char[]", s), ffi.new("char[]", p)]
    fn.sender, fn.sender_len = keep[0], len(s)
    fn.policy_domain, fn.policy_domain_len = keep[1], len(p)
    fn.begin, fn.end = begin, end
    if u is not None:
        keep.append(ffi.new("char[]", u))
        fn.unique_id, fn.unique_id_len = keep[-1], len(u)
    fn.gzip = 1 if gzip else 0
    return snprintf_out(lib.mtasts_tlsrpt_filename_format, fn,
                        what="report filename")


def report_filename_parse(name):
    """(sender, policy_domain, begin, end, unique_id or None, gzip)."""
    b = as_bytes(name)
    fn = ffi.new("struct mtasts_tlsrpt_filename *")
    fn.version = lib.MTASTS_FILENAME_VERSION
    keep = ffi.new("char[]", b)  # the spans point into this copy
    check(lib.mtasts_tlsrpt_filename_parse(keep, len(b), fn),
          what="report filename %r" % (name,))
    return (text(fn.sender, fn.sender_len),
            text(fn.policy_domain, fn.policy_domain_len), fn.begin, fn.end,
            text(fn.unique_id, fn.unique_id_len), fn.gzip == 1)


def report_subject(policy_domain, submitter, report_id):
    a, b, c = (as_bytes(policy_domain), as_bytes(submitter),
               as_bytes(report_id))
    return snprintf_out(lib.mtasts_tlsrpt_subject_format, a, len(a), b,
                        len(b), c, len(c), what="report subject")


def new_report_id(day, domain, random):
    d = as_bytes(domain)
    return snprintf_out(lib.mtasts_tlsrpt_report_id_generate, day, d,
                        len(d), random, what="report id")


def generation_time(day, random):
    return lib.mtasts_tlsrpt_generation_time(day, random)


def retry_time(first_attempt, attempt):
    return lib.mtasts_tlsrpt_retry_time(first_attempt, attempt)


def too_large(payload_len):
    return lib.mtasts_tlsrpt_too_large(payload_len) == 1


def https_delivered(http_status):
    return lib.mtasts_tlsrpt_https_delivered(http_status) == 1


def dkim_headers():
    return _cstr(lib.mtasts_tlsrpt_dkim_headers())


# ------------------------------------------------------------------ #
# Aggregation                                                         #
# ------------------------------------------------------------------ #

class TlsrptPolicy(_Handle):
    """An applied policy: the key of one policies[] element."""

    __slots__ = ()

    @classmethod
    def _make(cls, fn, domain, ctx, *args):
        d = as_bytes(domain, "domain")
        c = ctx_ptr(ctx)
        pp = ffi.new("mtasts_tlsrpt_policy **")
        check(fn(c, d, len(d), *args, pp), what="policy key %r" % (domain,))
        return cls(gc_with(pp[0], lib.mtasts_tlsrpt_policy_free, c))

    @classmethod
    def sts(cls, domain, policy, ctx=None):
        return cls._make(lib.mtasts_tlsrpt_policy_build_sts, domain, ctx,
                         policy._ptr)

    @classmethod
    def tlsa(cls, domain, records, ctx=None):
        """records: (usage, selector, matching type, data bytes) tuples."""
        records = list(records)
        u = ffi.new("uint8_t[]", [r[0] for r in records] or [0])
        s = ffi.new("uint8_t[]", [r[1] for r in records] or [0])
        m = ffi.new("uint8_t[]", [r[2] for r in records] or [0])
        keep = [ffi.new("uint8_t[]", bytes(r[3]) or b"\0") for r in records]
        data = ffi.new("const uint8_t *[]", keep or [ffi.NULL])
        lens = ffi.new("size_t[]", [len(r[3]) for r in records] or [0])
        return cls._make(lib.mtasts_tlsrpt_policy_build_tlsa, domain, ctx, u,
                         s, m, data, lens, len(records))

    @classmethod
    def none(cls, domain, ctx=None):
        return cls._make(lib.mtasts_tlsrpt_policy_build_none, domain, ctx)


@dataclass(frozen=True)
class Failure:
    """One failure of a session (struct mtasts_tlsrpt_failure version 2:
    each string goes to C with its length). None is unknown; an empty
    string, or one holding a NUL, is refused with ParseError."""
    result_type: int = 0
    result_text: Optional[str] = None
    sending_ip: Optional[str] = None
    receiving_mx: Optional[str] = None
    receiving_helo: Optional[str] = None
    receiving_ip: Optional[str] = None
    reason_code: Optional[str] = None
    additional: Optional[str] = None


def _failures(failures):
    failures = list(failures)
    if not failures:
        return ffi.NULL, 0, None
    arr = ffi.new("struct mtasts_tlsrpt_failure[]", len(failures))
    keep = []
    for i, f in enumerate(failures):
        a = arr[i]
        a.version = lib.MTASTS_FAILURE_VERSION
        a.result_type = int(f.result_type)
        for name in ("result_text", "sending_ip", "receiving_mx",
                     "receiving_helo", "receiving_ip", "reason_code",
                     "additional"):
            v = getattr(f, name)  # None: unknown (NULL)
            if v is None:
                continue
            b = as_bytes(v, name)
            c = ffi.new("char[]", b)
            keep.append(c)
            setattr(a, name, c)
            setattr(a, name + "_len", len(b))
    return arr, len(failures), keep


class Aggregator(_Handle):
    """Aggregated TLS session results (mtasts_tlsrpt_agg). Not
    thread-safe: one per thread, merged later."""

    __slots__ = ("_c",)

    def __init__(self, ctx=None, max_bytes=None, max_details=None,
                 failures_only=None):
        c = self._c = ctx_ptr(ctx)
        pp = ffi.new("mtasts_tlsrpt_agg **")
        check(lib.mtasts_tlsrpt_agg_new(c, pp), what="aggregator")
        super().__init__(gc_with(pp[0], lib.mtasts_tlsrpt_agg_free, c))
        for opt, v in ((lib.MTASTS_AGG_MAX_BYTES, max_bytes),
                       (lib.MTASTS_AGG_MAX_DETAILS, max_details),
                       (lib.MTASTS_AGG_FAILURES_ONLY, failures_only)):
            if v is not None:
                self.set(opt, int(v))

    def set(self, option, value):
        check(lib.mtasts_tlsrpt_agg_set(self._ptr, int(option), value),
              what="aggregator option")

    def add(self, policy, when, outcome, failures=(), tlsrpt_report=False):
        arr, n, _keep = _failures(failures)
        flags = lib.MTASTS_SESSION_F_TLSRPT_REPORT if tlsrpt_report else 0
        check(lib.mtasts_tlsrpt_agg_add(self._ptr, policy._ptr, when,
                                        int(outcome), arr, n, flags),
              what="aggregator add")

    def add_n(self, policy, when, outcome, sessions, failures=(),
              tlsrpt_report=False):
        arr, n, _keep = _failures(failures)
        flags = lib.MTASTS_SESSION_F_TLSRPT_REPORT if tlsrpt_report else 0
        check(lib.mtasts_tlsrpt_agg_add_n(self._ptr, policy._ptr, when,
                                          int(outcome), arr, n, flags,
                                          sessions), what="aggregator add_n")

    def merge(self, other):
        check(lib.mtasts_tlsrpt_agg_merge(self._ptr, other._ptr),
              what="aggregator merge")

    def encode(self):
        """The aggregate as bytes for storage (mtasts_tlsrpt_agg_encode),
        integrity-checked when decoded."""
        pp = ffi.new("mtasts_buf **")
        check(lib.mtasts_tlsrpt_agg_encode(self._ptr, pp))
        return take_buf(pp)

    def decode(self, data):
        """Merge bytes of encode() into this aggregate
        (mtasts_tlsrpt_agg_decode); CorruptError when they were altered."""
        b = as_bytes(data, "encoded aggregate")
        check(lib.mtasts_tlsrpt_agg_decode(self._ptr, b, len(b)),
              what="aggregator decode")

    # the names of 0.x (mtasts_tlsrpt_agg_export/_import)
    export = encode
    import_ = decode

    def __len__(self):
        return lib.mtasts_tlsrpt_agg_count(self._ptr)

    def keys(self):
        """[(domain, day)] in the library's stable order."""
        out = []
        dp, dl, day = ffi.new("const char **"), ffi.new("size_t *"), \
            ffi.new("int64_t *")
        for i in range(lib.mtasts_tlsrpt_agg_count(self._ptr)):
            check(lib.mtasts_tlsrpt_agg_key(self._ptr, i, dp, dl, day))
            out.append((text(dp[0], dl[0]), day[0]))
        return out

    def report(self, domain, day, org, contact, report_id):
        """The Report of one (domain, day) key (mtasts_tlsrpt_report_build);
        None when there is nothing to report: no such key, or only
        successes with failures_only."""
        d, o, c, r = (as_bytes(domain), as_bytes(org), as_bytes(contact),
                      as_bytes(report_id))
        pp = ffi.new("mtasts_tlsrpt_report **")
        rc = check(lib.mtasts_tlsrpt_report_build(
            self._ptr, d, len(d), day, o, len(o), c, len(c), r, len(r), pp),
            what="aggregator report")
        if rc == lib.MTASTS_NONE:
            return None
        # the report is kept with the aggregate alive, in case it borrows
        return Report._from_ptr(gc_with(pp[0], lib.mtasts_tlsrpt_report_free,
                                        self._c, self._ptr))

    def remove(self, domain, day):
        """Drop one (domain, day) key: True, or False when there is no such
        key."""
        d = as_bytes(domain)
        rc = check(lib.mtasts_tlsrpt_agg_remove(self._ptr, d, len(d), day),
                   what="aggregator remove")
        return rc != lib.MTASTS_NONE


_ = (Session, Warn)
