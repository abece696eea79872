import pytest

import mtasts
from conftest import POLICY, TXT, NOW


def fetch_ok(url, host, timeout_ms, max_size):
    assert url == "https://mta-sts.example.com/.well-known/mta-sts.txt"
    assert host == "mta-sts.example.com"
    assert timeout_ms > 0 and max_size >= len(POLICY)
    return 200, "text/plain; charset=utf-8", POLICY


def txt_ok(qname):
    assert qname == "_mta-sts.example.com"
    return [[TXT], ["v=spf1 -all"]]


def fresh_entry():
    lk = mtasts.Lookup("example.com", NOW)
    assert lk.drive(txt_ok, fetch_ok)
    return lk.entry


def test_drive_fetches_policy():
    lk = mtasts.Lookup("Example.COM", NOW)
    assert not lk.done and lk.outcome is None and lk.why is None
    logs = []
    assert lk.drive(txt_ok, fetch_ok, logs.append) is True
    assert lk.done
    assert lk.outcome == mtasts.Outcome.APPLY
    assert lk.why == mtasts.Why.FETCHED and lk.why_name == "fetched"
    assert lk.result_type == mtasts.ResultType.NONE
    assert not lk.from_cache and not lk.alert and lk.entry_error is None
    assert lk.policy.mx == ("mail.example.com", "*.example.net")
    assert lk.entry_action == mtasts.EntryAction.STORE
    assert lk.entry.startswith(b"MTASTS-ENTRY/")
    assert NOW < lk.refresh_at <= NOW + 86400
    assert "outcome=apply" in lk.format() and "why=fetched" in str(lk)
    assert logs and all(isinstance(m, str) for m in logs)


def test_pull_api_by_hand_and_cached_entry():
    e = fresh_entry()
    lk = mtasts.Lookup("example.com", NOW + 60, entry=e)
    assert lk.next() == mtasts.Action.TXT
    assert lk.txt_name == "_mta-sts.example.com"
    assert lk.next() == mtasts.Action.TXT  # same question until answered
    with pytest.raises(mtasts.StateError):
        lk.put_fetch(mtasts.Fetch.OK, 200, "text/plain", POLICY)
    lk.put_txt(mtasts.Dns.OK, [[TXT]])
    assert lk.next() == mtasts.Action.DONE
    assert lk.outcome == mtasts.Outcome.APPLY
    assert lk.why == mtasts.Why.CACHED and lk.from_cache
    assert lk.entry_action == mtasts.EntryAction.UNCHANGED
    assert lk.entry is None  # nothing to store
    assert lk.may_permfail(NOW + 60) and not lk.may_permfail(NOW + 61)


def test_pull_api_fetch_by_hand():
    lk = mtasts.Lookup("example.com", NOW)
    assert lk.next() == mtasts.Action.TXT
    lk.put_txt(mtasts.Dns.OK, [TXT])
    assert lk.next() == mtasts.Action.FETCH
    assert lk.fetch_url.endswith("/.well-known/mta-sts.txt")
    assert lk.fetch_host == "mta-sts.example.com"
    assert lk.fetch_timeout_ms == 60000
    assert lk.fetch_max_size == mtasts.limits()["policy_max_size"]
    lk.put_fetch(mtasts.Fetch.OK, 404, "text/plain", b"")
    assert lk.next() == mtasts.Action.DONE
    assert lk.outcome == mtasts.Outcome.NO_POLICY
    assert lk.why == mtasts.Why.FETCH_FAILED
    assert lk.result_type == mtasts.ResultType.STS_POLICY_FETCH_ERROR


def test_drive_dns_outcomes():
    lk = mtasts.Lookup("example.com", NOW)

    def nx(q):
        raise mtasts.DnsFailure(mtasts.Dns.NXDOMAIN)
    assert lk.drive(nx, fetch_ok)
    assert lk.outcome == mtasts.Outcome.NO_POLICY
    assert lk.why == mtasts.Why.NO_RECORD
    lk = mtasts.Lookup("example.com", NOW)
    assert lk.drive(lambda q: (mtasts.Dns.TEMPFAIL, []), fetch_ok)
    assert lk.why == mtasts.Why.TXT_TEMPFAIL
    lk = mtasts.Lookup("example.com", NOW,
                       ctx=mtasts.Context(options={
                           mtasts.Option.TEMPFAIL_NO_CACHE: 1}))
    assert lk.drive(lambda q: (mtasts.Dns.TEMPFAIL, []), fetch_ok)
    assert lk.outcome == mtasts.Outcome.TEMPFAIL


def test_drive_fetch_failure_and_bad_policy():
    lk = mtasts.Lookup("example.com", NOW)

    def cert(url, host, t, m):
        raise mtasts.FetchFailure(mtasts.Fetch.CERT)
    assert lk.drive(txt_ok, cert)
    assert lk.result_type == mtasts.ResultType.STS_WEBPKI_INVALID
    lk = mtasts.Lookup("example.com", NOW)
    assert lk.drive(txt_ok, lambda *a: (200, "text/plain", b"garbage"))
    assert lk.result_type == mtasts.ResultType.STS_POLICY_INVALID
    lk = mtasts.Lookup("example.com", NOW)
    assert lk.drive(txt_ok, lambda *a: (200, "text/html", POLICY))
    assert lk.outcome == mtasts.Outcome.NO_POLICY


def test_refresh_with_failed_fetch_alerts():
    e = fresh_entry()
    lk = mtasts.Lookup("example.com", NOW + 100, entry=e, refresh=True)

    def down(*a):
        raise mtasts.FetchFailure(mtasts.Fetch.TIMEOUT)
    assert lk.drive(txt_ok, down)
    assert lk.outcome == mtasts.Outcome.APPLY and lk.from_cache
    assert lk.alert


class Boom(Exception):
    pass


def test_callback_raising_propagates():
    lk = mtasts.Lookup("example.com", NOW)

    def bad(q):
        raise Boom("resolver exploded")
    with pytest.raises(Boom) as ei:
        lk.drive(bad, fetch_ok)
    # the C side reported the failed hook
    assert isinstance(ei.value.__context__, mtasts.CallbackError)
    assert ei.value.__context__.code == mtasts.Status.ECALLBACK
    # the question is still pending: a later drive can answer it
    assert lk.next() == mtasts.Action.TXT
    assert lk.drive(txt_ok, fetch_ok)
    assert lk.outcome == mtasts.Outcome.APPLY


def test_fetch_callback_raising_and_bad_return():
    lk = mtasts.Lookup("example.com", NOW)

    def bad(*a):
        raise KeyError("x")
    with pytest.raises(KeyError):
        lk.drive(txt_ok, bad)
    with pytest.raises(ValueError):  # not a 3-tuple
        lk.drive(txt_ok, lambda *a: (200,))
    with pytest.raises(TypeError):  # a body that is not bytes
        lk.drive(txt_ok, lambda *a: (200, "text/plain", 42))
    assert lk.drive(txt_ok, fetch_ok)


def test_drive_defer():
    lk = mtasts.Lookup("example.com", NOW)
    assert lk.drive(lambda q: mtasts.DEFER, fetch_ok) is False
    assert not lk.done
    lk.put_txt(mtasts.Dns.OK, [[TXT]])
    assert lk.drive(txt_ok, lambda *a: mtasts.DEFER) is False
    lk.put_fetch(mtasts.Fetch.OK, 200, "text/plain", POLICY)
    assert lk.drive(txt_ok, fetch_ok) is True
    assert lk.outcome == mtasts.Outcome.APPLY


def test_lookup_errors():
    with pytest.raises(mtasts.ParseError):
        mtasts.Lookup("bad domain", NOW)
    with pytest.raises(mtasts.InvalidArgumentError):
        mtasts.Lookup("example.com", -1)
    lk = mtasts.Lookup("[192.0.2.1]", NOW)
    assert lk.next() == mtasts.Action.DONE
    assert lk.why == mtasts.Why.ADDRESS_LITERAL
    lk = mtasts.Lookup("example.com", NOW, entry=b"garbage")
    assert isinstance(lk.entry_error, mtasts.Error)


def test_entry_decode_and_decoded_lookup():
    b = fresh_entry()
    e = mtasts.Entry.decode(b)
    assert e.domain == "example.com" and e.id == "20190429T010101"
    assert e.fetched_at == NOW and e.expires_at == NOW + 86400
    assert e.backoff_until == 0 and e.backoff_id == ""
    assert e.last_used == NOW
    assert e.time(mtasts.EntryTime.FETCHED_AT) == NOW
    assert e.policy.max_age == 86400
    assert e.encode() == b
    bad = bytearray(b)
    bad[-3] ^= 1
    with pytest.raises(mtasts.CorruptError) as ei:
        mtasts.Entry.decode(bytes(bad))
    assert ei.value.reason == mtasts.Reason.CHECKSUM
    lk = mtasts.Lookup("example.com", NOW + 5, entry=e)
    assert lk.drive(txt_ok, fetch_ok)
    assert lk.why == mtasts.Why.CACHED


def test_take_entry():
    lk = mtasts.Lookup("example.com", NOW)
    # before the lookup is done: misuse (ESTATE), not "nothing" (NONE)
    with pytest.raises(mtasts.StateError):
        lk.take_entry()
    with pytest.raises(mtasts.StateError):
        lk.entry
    assert lk.drive(txt_ok, fetch_ok)
    e = lk.take_entry()
    assert e.domain == "example.com"
    assert lk.entry_action == mtasts.EntryAction.UNCHANGED
    assert lk.take_entry() is None
    assert lk.policy.mode == mtasts.Mode.ENFORCE


def test_cache():
    lk = mtasts.Lookup("example.com", NOW)
    assert lk.drive(txt_ok, fetch_ok)
    c = mtasts.Cache(10, 100000)
    c.apply(lk, NOW)
    assert len(c) == 1 and c.bytes == len(lk.entry)
    assert c.get("EXAMPLE.com.", NOW + 1) == lk.entry
    assert c.get("other.example", NOW + 1) is None
    dom, due = c.next_refresh(NOW + 2, 86400, 0)
    assert dom == "example.com" and due == lk.refresh_at
    c.put("b.example", lk.entry, 0, NOW)
    assert len(c) == 2
    c.remove("b.example")
    assert len(c) == 1
    assert c.gc(NOW + 10 ** 6, 1000) == 1 and len(c) == 0
    assert c.next_refresh(NOW, 86400) is None
    with pytest.raises(mtasts.TooBigError):
        mtasts.Cache(1, 10).put("a.example", lk.entry, 0, NOW)
    with pytest.raises(mtasts.InvalidArgumentError):
        mtasts.Cache(0, 10)
    with pytest.raises(mtasts.StateError):
        c.apply(mtasts.Lookup("example.com", NOW), NOW)


def test_context_options():
    ctx = mtasts.Context(seed=42)
    ctx.set_option(mtasts.Option.FETCH_TIMEOUT_MS, 1234)
    assert ctx.get_option(mtasts.Option.FETCH_TIMEOUT_MS) == 1234
    assert ctx.get_option(9999) == -1
    with pytest.raises(mtasts.InvalidArgumentError):
        ctx.set_option(mtasts.Option.FETCH_BACKOFF, 1)
    # a limit is not an option (the families were disjoint in 1.0)
    before = ctx.get_option(mtasts.Option.FETCH_BACKOFF)
    with pytest.raises(mtasts.InvalidArgumentError):
        ctx.set_option(mtasts.Limit.POLICY_MX, 600)
    assert ctx.get_option(mtasts.Option.FETCH_BACKOFF) == before
    lk = mtasts.Lookup("example.com", NOW, ctx=ctx)
    lk.next()
    lk.put_txt(mtasts.Dns.OK, [[TXT]])
    lk.next()
    assert lk.fetch_timeout_ms == 1234
