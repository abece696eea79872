import json

import pytest

import mtasts
from conftest import NOW

DAY = NOW - NOW % 86400

REPORT = b"""{
  "organization-name": "Company-X",
  "date-range": {"start-datetime": "2016-04-01T00:00:00Z",
                 "end-datetime": "2016-04-01T23:59:59Z"},
  "contact-info": "sts-reporting@company-x.example",
  "report-id": "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
  "policies": [{
    "policy": {"policy-type": "sts",
               "policy-string": ["version: STSv1", "mode: testing",
                                 "mx: *.mail.company-y.example",
                                 "max_age: 86400"],
               "policy-domain": "company-y.example",
               "mx-host": ["*.mail.company-y.example"]},
    "summary": {"total-successful-session-count": 5326,
                "total-failure-session-count": 303},
    "failure-details": [
      {"result-type": "certificate-expired",
       "sending-mta-ip": "2001:db8:abcd:12::1",
       "receiving-mx-hostname": "mx1.mail.company-y.example",
       "failed-session-count": 100},
      {"result-type": "x-new-type",
       "sending-mta-ip": "198.51.100.62",
       "receiving-ip": "192.0.2.1",
       "receiving-mx-hostname": "mx2.mail.company-y.example",
       "receiving-mx-helo": "mx2.mail.company-y.example",
       "failed-session-count": 203,
       "additional-information": "https://reports.company-x.example/x",
       "failure-reason-code": "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"}]
  }]
}"""


def test_report_parse_dataclasses():
    r = mtasts.Report.parse(REPORT)
    assert r.organization_name == "Company-X"
    assert r.contact_info == "sts-reporting@company-x.example"
    assert r.report_id == "5065427c-23d3-47ca-b6e0-946ea0e8c4be"
    assert r.start_datetime == 1459468800
    assert r.end_datetime == 1459468800 + 86399
    assert r.warnings == () and r.diagnostics == ()
    (p,) = r.policies
    assert p.policy_type == mtasts.PolicyType.STS
    assert p.policy_type_text == "sts"
    assert p.policy_domain == "company-y.example"
    assert p.policy_strings[1] == "mode: testing"
    assert p.mx_hosts == ("*.mail.company-y.example",)
    assert p.total_successful_session_count == 5326
    assert p.total_failure_session_count == 303
    a, b = p.failure_details
    assert a.result_type == mtasts.ResultType.CERTIFICATE_EXPIRED
    assert a.failed_session_count == 100 and a.receiving_ip is None
    assert b.result_type == mtasts.ResultType.NONE
    assert b.result_type_text == "x-new-type"
    assert b.failure_reason_code == "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
    with pytest.raises(Exception):
        r.report_id = "x"  # frozen
    import dataclasses
    copy = dataclasses.replace(r, _handle=None)
    assert copy == r
    with pytest.raises(ValueError):
        copy.to_json()
    assert mtasts.Report.parse(REPORT) == r


def test_report_canonical_json_round_trip():
    r = mtasts.Report.parse(REPORT)
    j = r.to_json()
    doc = json.loads(j)
    assert list(doc)[:2] == ["organization-name", "date-range"]
    assert doc["date-range"]["start-datetime"] == "2016-04-01T00:00:00Z"
    again = mtasts.Report.parse(j)
    assert again == r and again.to_json() == j
    # the canonical form writes addresses canonically
    odd = mtasts.Report.parse(REPORT.replace(b"2001:db8:abcd:12::1",
                                             b"2001:db8:abcd:0012::1"))
    assert odd.policies[0].failure_details[0].sending_mta_ip == \
        "2001:db8:abcd:0012::1"
    assert odd.to_json() == j
    pretty = r.to_json(pretty=True)
    assert b"\n  " in pretty and json.loads(pretty) == doc


def test_report_gzip_and_warnings():
    z = mtasts.gzip(REPORT)
    assert mtasts.Report.parse(z) == mtasts.Report.parse(REPORT)
    with pytest.raises(mtasts.ParseError):
        mtasts.Report.parse(z, gzip=False)
    lax = REPORT.replace(b'"mx-host": ["*.mail.company-y.example"]',
                         b'"mx-host": "*.mail.company-y.example"')
    r = mtasts.Report.parse(lax)
    assert r.warnings == ("mx_host_string",)
    assert r.diagnostics == (mtasts.ReportDiagnostic(
        "mx_host_string", "policies[0].policy.mx-host"),)
    with pytest.raises(mtasts.StrictError):
        mtasts.Report.parse(lax, strict=True)


def test_report_bad_input():
    bad = REPORT.replace(b'"organization-name"', b'organization-name')
    with pytest.raises(mtasts.ParseError) as ei:
        mtasts.Report.parse(bad)
    e = ei.value
    assert e.reason == mtasts.Reason.JSON
    assert e.line == 2 and bad[e.offset:e.offset + 1] == b"o"
    dup = REPORT.replace(b'"report-id"', b'"contact-info"')
    with pytest.raises(mtasts.ParseError) as ei:
        mtasts.Report.parse(dup)
    assert ei.value.reason == mtasts.Reason.DUPLICATE
    ctx = mtasts.Context(limits={mtasts.Limit.JSON_SIZE: 100})
    with pytest.raises(mtasts.TooBigError):
        mtasts.Report.parse(REPORT, ctx=ctx)


def test_mail_and_ingest():
    r = mtasts.Report.parse(REPORT)
    msg = r.mail("reports@company-x.example", "tls@company-y.example",
                 "company-x.example", "Fri, 01 Apr 2016 12:00:00 +0000",
                 "abc.123@company-x.example")
    assert b"TLS-Report-Domain: company-y.example" in msg
    got, mismatch = mtasts.mail_ingest(msg, dkim_pass=True)
    assert got == r and mismatch is False
    with pytest.raises(mtasts.RefusedError) as ei:
        mtasts.mail_ingest(msg, dkim_pass=False)
    assert ei.value.code == mtasts.Status.REFUSED
    assert ei.value.reason == mtasts.Reason.DKIM and not ei.value.fatal
    with pytest.raises(ValueError):
        r.mail("a\0b", "x", "y", "z", "w")
    with pytest.raises(mtasts.ParseError):
        r.mail("reports@company-x.example", "", "company-x.example",
               "Fri, 01 Apr 2016 12:00:00 +0000", "abc.123@company-x.example")
    body, ctype = r.https_body()
    assert ctype == "application/tlsrpt+gzip"
    assert mtasts.gunzip(body) == r.to_json()
    body, ctype = r.https_body(gzip=False)
    assert ctype == "application/tlsrpt+json" and body == r.to_json()


def test_delivery_helpers():
    name = mtasts.report_filename("company-x.example", "company-y.example",
                                  1459468800, 1459555199, "abc")
    assert name == ("company-x.example!company-y.example!1459468800!"
                    "1459555199!abc.json.gz")
    assert mtasts.report_filename_parse(name) == (
        "company-x.example", "company-y.example", 1459468800, 1459555199,
        "abc", True)
    assert mtasts.report_filename_parse(
        mtasts.report_filename("a.example", "b.example", 1, 2,
                               gzip=False))[4:] == (None, False)
    with pytest.raises(mtasts.ParseError):
        mtasts.report_filename_parse("nonsense")
    s = mtasts.report_subject("company-y.example", "company-x.example",
                              "r1")
    assert s.startswith("Report Domain: company-y.example Submitter: ")
    rid = mtasts.new_report_id(DAY, "example.com", 0x1a2b)
    assert "example.com" in rid
    assert mtasts.generation_time(DAY, 0) == DAY + 86400 + 1
    assert mtasts.retry_time(NOW, 1) == NOW + 300
    assert mtasts.retry_time(NOW, 100) == 0
    assert mtasts.too_large(10 ** 8) and not mtasts.too_large(10)
    assert mtasts.https_delivered(200) and not mtasts.https_delivered(301)
    assert "From" in mtasts.dkim_headers()


def _agg_with_data():
    a = mtasts.Aggregator()
    pol = mtasts.Policy.parse(b"version: STSv1\nmode: enforce\n"
                              b"mx: mx.example.com\nmax_age: 86400\n")
    k = mtasts.TlsrptPolicy.sts("example.com", pol)
    a.add(k, NOW, mtasts.Session.SUCCESS)
    fail = mtasts.Failure(mtasts.ResultType.CERTIFICATE_EXPIRED,
                          sending_ip="192.0.2.1",
                          receiving_mx="mx.example.com")
    a.add(k, NOW, mtasts.Session.FAILURE, [fail])
    a.add_n(k, NOW, mtasts.Session.SUCCESS, 41)
    a.add(k, NOW, mtasts.Session.TRANSIENT)
    a.add(k, NOW, mtasts.Session.FAILURE, [fail], tlsrpt_report=True)
    return a, k, fail


def test_aggregator_report():
    a, k, fail = _agg_with_data()
    assert len(a) == 1 and a.keys() == [("example.com", DAY)]
    r = a.report("example.com", DAY, "Org", "tlsrpt@example.org", "r.1")
    (p,) = r.policies
    assert p.total_successful_session_count == 42
    assert p.total_failure_session_count == 1
    assert p.failure_details[0].sending_mta_ip == "192.0.2.1"
    assert p.policy_strings[2] == "mx: mx.example.com"
    assert mtasts.Report.parse(r.to_json()) == r
    assert a.report("other.example", DAY, "Org", "x@example.org",
                    "r.2") is None
    with pytest.raises(mtasts.ParseError):
        a.report("example.com", DAY, "Org", "not an address", "r.1")
    assert a.remove("example.com", DAY) is True
    assert len(a) == 0
    assert a.remove("example.com", DAY) is False


def test_aggregator_export_import_merge():
    a, k, _ = _agg_with_data()
    data = a.encode()
    assert a.export() == data  # the 0.x name
    b = mtasts.Aggregator()
    b.decode(data)
    b.merge(a)
    r = b.report("example.com", DAY, "Org", "x@example.org", "r")
    assert r.policies[0].total_successful_session_count == 84
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0x40
    with pytest.raises(mtasts.CorruptError):
        b.decode(bytes(bad))
    with pytest.raises(mtasts.Error):
        b.import_(b"junk")


def test_aggregator_options_and_keys():
    a = mtasts.Aggregator(failures_only=True, max_details=1)
    none = mtasts.TlsrptPolicy.none("example.org")
    tlsa = mtasts.TlsrptPolicy.tlsa("example.org",
                                    [(3, 1, 1, bytes(range(32)))])
    a.add(none, NOW, mtasts.Session.SUCCESS)
    assert a.report("example.org", DAY, "O", "x@example.org", "r") is None
    a.add(tlsa, NOW, mtasts.Session.FAILURE,
          [mtasts.Failure(mtasts.ResultType.TLSA_INVALID)])
    r = a.report("example.org", DAY, "O", "x@example.org", "r")
    types = sorted(p.policy_type_text for p in r.policies)
    assert types == ["no-policy-found", "tlsa"]
    t = [p for p in r.policies if p.policy_type == mtasts.PolicyType.TLSA][0]
    assert t.policy_strings[0].startswith("3 1 1 000102")
    with pytest.raises(mtasts.InvalidArgumentError):
        a.set(999, 1)
    # option values are disjoint from the limits and context options
    assert mtasts.AggOption.MAX_DETAILS == 201
    with pytest.raises(mtasts.InvalidArgumentError):
        a.set(mtasts.Limit.POLICY_MX, 1)
    with pytest.raises(mtasts.InvalidArgumentError):
        a.set(mtasts.Option.FETCH_BACKOFF, 1)
    with pytest.raises(mtasts.ParseError):
        a.add(none, NOW, mtasts.Session.FAILURE,
              [mtasts.Failure(mtasts.ResultType.VALIDATION_FAILURE,
                              sending_ip="not-an-ip")])
    # failure strings are (pointer, length): empty or holding a NUL is
    # refused, None is unknown
    for bad in ("", "mx.example\0.org"):
        with pytest.raises(mtasts.ParseError):
            a.add(none, NOW, mtasts.Session.FAILURE,
                  [mtasts.Failure(mtasts.ResultType.VALIDATION_FAILURE,
                                  receiving_mx=bad)])
    n = len(a)
    a.add(none, NOW, mtasts.Session.FAILURE,
          [mtasts.Failure(mtasts.ResultType.VALIDATION_FAILURE,
                          receiving_mx="mx2.example.org",
                          additional="https://example.org/x")])
    r = a.report("example.org", DAY, "O", "x@example.org", "r")
    (nopol,) = [p for p in r.policies
                if p.policy_type == mtasts.PolicyType.NO_POLICY_FOUND]
    assert [f.receiving_mx_hostname for f in nopol.failure_details] == [
        "mx2.example.org"]
    assert len(a) == n
    with pytest.raises(mtasts.InvalidArgumentError):
        a.add_n(none, NOW, mtasts.Session.SUCCESS, 0)
    with pytest.raises(mtasts.TooBigError):
        a.add_n(none, NOW, mtasts.Session.SUCCESS,
                mtasts.const.TLSRPT_COUNT_MAX + 1)
    with pytest.raises(mtasts.InvalidArgumentError):
        mtasts.TlsrptPolicy.tlsa("example.org", [])
