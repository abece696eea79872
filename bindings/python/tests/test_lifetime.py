"""Ownership: no use after free whatever order the user drops objects in.
Run with MALLOC_PERTURB_ set (the meson test does) so that freed memory is
overwritten and a dangling read shows as wrong data."""

import gc

import mtasts
from conftest import POLICY, TXT, NOW


def txt(q):
    return [[TXT]]


def fetch(*a):
    return 200, "text/plain", POLICY


def churn():
    # allocate and free a lot, so freed blocks get reused
    for _ in range(200):
        mtasts.Policy.parse(POLICY.replace(b"86400", b"12345"))
    gc.collect()


def test_policy_outlives_lookup():
    lk = mtasts.Lookup("example.com", NOW)
    lk.drive(txt, fetch)
    p = lk.policy
    del lk
    churn()
    assert p.mx == ("mail.example.com", "*.example.net")
    assert p.lines[-1] == "max_age: 86400"
    assert p.raw == POLICY


def test_policy_outlives_entry():
    lk = mtasts.Lookup("example.com", NOW)
    lk.drive(txt, fetch)
    e = mtasts.Entry.decode(lk.entry)
    p = e.policy
    del e, lk
    churn()
    assert p.max_age == 86400 and p.mx_allowed("a.example.net")


def test_taken_entry_and_lookup_policy():
    lk = mtasts.Lookup("example.com", NOW)
    lk.drive(txt, fetch)
    p_before = lk.policy
    e = lk.take_entry()
    del e  # the lookup's policy lives in the taken entry now
    churn()
    assert lk.policy.mx[0] == "mail.example.com"
    assert p_before.mx[0] == "mail.example.com"
    del lk
    churn()
    assert p_before.format().startswith("version: STSv1\r\n")


def test_decoded_entry_borrowed_by_lookup():
    first = mtasts.Lookup("example.com", NOW)
    first.drive(txt, fetch)
    e = mtasts.Entry.decode(first.entry)
    lk = mtasts.Lookup("example.com", NOW + 1, entry=e)
    del e, first
    churn()
    assert lk.drive(txt, fetch)
    assert lk.from_cache and lk.policy.max_age == 86400


def test_objects_outlive_their_context():
    ctx = mtasts.Context(seed=7)
    p = mtasts.Policy.parse(POLICY, ctx=ctx)
    r = mtasts.StsRecord.parse(TXT, ctx=ctx)
    a = mtasts.Aggregator(ctx=ctx)
    del ctx
    churn()
    assert p.mode == mtasts.Mode.ENFORCE and r.id == "20190429T010101"
    k = mtasts.TlsrptPolicy.sts("example.com", p)
    a.add(k, NOW, mtasts.Session.SUCCESS)
    assert len(a) == 1


def test_report_outlives_aggregator_and_key_outlives_policy():
    a = mtasts.Aggregator()
    p = mtasts.Policy.parse(POLICY)
    k = mtasts.TlsrptPolicy.sts("example.com", p)
    del p
    churn()
    a.add(k, NOW, mtasts.Session.SUCCESS)
    day = a.keys()[0][1]
    r = a.report("example.com", day, "O", "x@example.org", "r")
    del a, k
    churn()
    assert r.policies[0].policy_strings[0] == "version: STSv1"
    assert b'"policy-domain":"example.com"' in r.to_json()


def test_cycles_with_context_are_collected_safely():
    for _ in range(50):
        ctx = mtasts.Context()
        lk = mtasts.Lookup("example.com", NOW, ctx=ctx)
        lk.drive(txt, fetch)
        holder = {"ctx": ctx, "lk": lk, "p": lk.policy}
        holder["self"] = holder  # a cycle: the collector picks the order
        del ctx, lk, holder
    gc.collect()
    churn()


def test_cache_get_returns_a_copy():
    lk = mtasts.Lookup("example.com", NOW)
    lk.drive(txt, fetch)
    c = mtasts.Cache(4, 10000)
    c.apply(lk, NOW)
    got = c.get("example.com", NOW)
    c.remove("example.com")
    c.put("other.example", b"x" * len(got), 0, NOW)
    del c
    churn()
    assert got == lk.entry


def test_strings_are_copies():
    p = mtasts.Policy.parse(POLICY)
    mx, lines = p.mx, p.lines
    del p
    churn()
    assert mx == ("mail.example.com", "*.example.net")
    assert lines[2] == "mx: mail.example.com"


def test_everything_is_freed():
    gc.collect()
    base = mtasts._native.live_objects()
    lk = mtasts.Lookup("example.com", NOW)
    lk.drive(txt, fetch)
    objs = [lk, lk.policy, lk.take_entry(), mtasts.Context(),
            mtasts.Aggregator(), mtasts.StsRecord.parse(TXT)]
    assert mtasts._native.live_objects() > base
    del objs, lk
    gc.collect()
    assert mtasts._native.live_objects() == base
