"""libmtasts for Python: MTA-STS (RFC 8461) and SMTP TLS Reporting
(RFC 8460), through cffi in ABI mode on the installed shared library.

    import mtasts
    p = mtasts.Policy.parse(b"version: STSv1\\nmode: enforce\\n"
                            b"mx: *.example.net\\nmax_age: 86400\\n")
    p.mx_allowed("mx1.example.net")           # True
    mtasts.decide(p, "mx.other.org").action   # DecideAction.SKIP_MX

The library is found with ctypes.util.find_library("mtasts") (any
soname), or at the path in the environment variable MTASTS_LIBRARY.
"""

from ._native import (  # noqa: F401
    ffi, lib, library_path, const, enums, Context,
    Status, Limit, Warn, Reason, Select, Mode, ResultType, Option, Action,
    Dns, Fetch, Outcome, Why, EntryTime, EntryAction, Tls, Dane,
    DecideAction, DecideReason, Rua, PolicyType, Session, AggOption,
    Error, InvalidArgumentError, NoMemoryError, ParseError, NonAsciiError,
    StrictError, TooBigError, VersionError, StateError, CallbackError,
    RangeError, CorruptError, RefusedError, warning_names, is_fatal,
)
from ._sts import (  # noqa: F401
    hostname_check, domain_normalize, sts_txt_name, tlsrpt_txt_name,
    policy_host, policy_url, policy_domain_for, mx_match, cert_name_match,
    cert_names_match, StsRecord, Policy, Decision, decide, result_type_name,
    postfix_version_parse, postfix_answer, Entry, Lookup, DnsFailure,
    FetchFailure, DEFER, Cache, gzip, gunzip,
)
from ._tlsrpt import (  # noqa: F401
    RuaUri, TlsrptRecord, FailureDetail, PolicyResult, ReportDiagnostic,
    Report, mail_ingest, report_filename, report_filename_parse,
    report_subject, new_report_id, generation_time, retry_time, too_large,
    https_delivered, dkim_headers, TlsrptPolicy, Failure, Aggregator,
)

__version__ = "1.0.0"

__all__ = [n for n in dir() if not n.startswith("_")
           and n not in ("ffi", "lib")]

for _n in __all__:  # show mtasts.ParseError, not mtasts._native.ParseError
    _o = globals()[_n]
    if isinstance(_o, type) and _o.__module__.startswith("mtasts._"):
        _o.__module__ = "mtasts"
del _n, _o


def library_version():
    """(version string, MTASTS_VERSION_NUM) of the loaded library."""
    n = ffi.new("uint32_t *")
    s = ffi.string(lib.mtasts_version(n)).decode("ascii")
    return s, n[0]


def library_at_least(num):
    return lib.mtasts_version_at_least(num) == 1


def limits():
    """The compiled-in default limits (the function twins of constants)."""
    return {
        "policy_max_size": lib.mtasts_policy_max_size(),
        "policy_max_mx": lib.mtasts_policy_max_mx(),
        "txt_max_size": lib.mtasts_txt_max_size(),
        "id_max_len": lib.mtasts_id_max_len(),
        "domain_max_len": lib.mtasts_domain_max_len(),
        "max_age_max": lib.mtasts_max_age_max(),
    }
