#!/usr/bin/python3
"""Peer benchmark: postfix-mta-sts-resolver's cached discovery path.

Uses the Debian package (apt-get install postfix-mta-sts-resolver); run it
with the system interpreter (/usr/bin/python3). No network is used: the
resolver's DNS query function (aiodns.DNSResolver.query) is replaced by a
stub that returns an already-completed future holding the TXT record with
the same id as the cached entry, as aiodns would once c-ares answered.

  pmsr_cached_resolve   what responder.py does for a cached domain whose
                        entry is past the grace period: cache.get(domain),
                        STSResolver.resolve(domain, cached.pol_id) ->
                        NOT_CHANGED (TXT parsed, id compared, no fetch),
                        cache.set(domain, CacheEntry(now, ...)).
  pmsr_process_request  the whole socketmap request handler
                        (STSSocketmapResponder.process_request) with
                        cache_grace 0, so it takes the same DNS path and
                        also formats the Postfix answer (information).
  pmsr_cache_get        InternalLRUCache.get of one of 10000 domains, in a
                        pseudo-random order (information, vs cache_get).

Each call is awaited inside one coroutine per batch on an asyncio event
loop; a batch lasts about --batch-ms, timed with time.perf_counter_ns()
inside the coroutine. The median ns per call is reported and nothing is
subtracted (the await and event-loop costs are part of the peer's path).
Exit status 77 when the package is not installed.
"""
import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "google.com"
TXT = "v=STSv1; id=20190429T010101;"
POLICY_ID = "20190429T010101"
NDOMAINS = 10000


def make_stub(loop, records):
    calls = {"n": 0}

    def query(host, qtype, qclass=None):
        if host != "_mta-sts." + DOMAIN or qtype != "TXT":
            raise AssertionError("unexpected DNS query %r %r" % (host, qtype))
        calls["n"] += 1
        fut = loop.create_future()
        fut.set_result(records)
        return fut

    return query, calls


def run_batches(loop, make_coro, batches, batch_ms):
    """make_coro(n) -> coroutine that runs n calls and returns elapsed ns."""
    loop.run_until_complete(make_coro(2000))  # warm-up
    n = 16
    while True:
        t = loop.run_until_complete(make_coro(n))
        if t >= batch_ms * 1e6 / 4:
            break
        n *= 2
    n = max(1, int(n * batch_ms * 1e6 / t))
    per = [loop.run_until_complete(make_coro(n)) / n for _ in range(batches)]
    return statistics.median(per), min(per), n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--batches", type=int, default=31)
    ap.add_argument("--batch-ms", type=float, default=20.0)
    ap.add_argument("--policy", default=os.path.join(HERE, "..", "policy-google.txt"))
    args = ap.parse_args()

    try:
        from postfix_mta_sts_resolver.base_cache import CacheEntry
        from postfix_mta_sts_resolver.internal_cache import InternalLRUCache
        from postfix_mta_sts_resolver.resolver import STSFetchResult, STSResolver
        from postfix_mta_sts_resolver.responder import STSSocketmapResponder
        from postfix_mta_sts_resolver.utils import parse_mta_sts_policy
    except ImportError as e:
        print("SKIP pmsr discovery: postfix-mta-sts-resolver not importable "
              "(%s); apt-get install postfix-mta-sts-resolver and run with "
              "/usr/bin/python3" % e, file=sys.stderr)
        return 77

    with open(args.policy, "rb") as f:
        body = f.read().decode("ascii")
    pol = parse_mta_sts_policy(body)
    pol["max_age"] = int(pol["max_age"])  # as resolve() stores it

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    records = [types.SimpleNamespace(text=TXT, ttl=-1)]

    # --- cached resolve: cache + resolver --------------------------------
    cache = InternalLRUCache(cache_size=NDOMAINS)
    resolver = STSResolver(loop=loop, timeout=4)
    stub, calls = make_stub(loop, records)
    resolver._resolver.query = stub  # pylint: disable=protected-access
    loop.run_until_complete(
        cache.set(DOMAIN, CacheEntry(time.time() - 600, POLICY_ID, pol)))

    async def cached_resolve_once():
        cached = await cache.get(DOMAIN)
        ts = time.time()
        status, _ = await resolver.resolve(DOMAIN, cached.pol_id)
        if status is STSFetchResult.NOT_CHANGED:
            cached = CacheEntry(ts, cached.pol_id, cached.pol_body)
            await cache.set(DOMAIN, cached)
        return status, cached

    status, cached = loop.run_until_complete(cached_resolve_once())
    if (status is not STSFetchResult.NOT_CHANGED or calls["n"] != 1
            or cached.pol_body["mode"] != "enforce"):
        print("pmsr: cached resolve self-check failed: %r %r" % (status, calls),
              file=sys.stderr)
        return 1

    async def cached_resolve_batch(n):
        get, resolve, setter = cache.get, resolver.resolve, cache.set
        not_changed = STSFetchResult.NOT_CHANGED
        t0 = time.perf_counter_ns()
        for _ in range(n):
            cached = await get(DOMAIN)
            ts = time.time()
            status, _ = await resolve(DOMAIN, cached.pol_id)
            if status is not_changed:
                await setter(DOMAIN, CacheEntry(ts, cached.pol_id, cached.pol_body))
        return time.perf_counter_ns() - t0

    # --- whole socketmap request handler ---------------------------------
    cfg = {"host": "127.0.0.1", "port": 8461, "reuse_port": True,
           "shutdown_timeout": 1, "cache_grace": 0,
           "default_zone": {"strict_testing": False, "timeout": 4,
                            "require_sni": True},
           "zones": {}}
    rcache = InternalLRUCache(cache_size=NDOMAINS)
    responder = STSSocketmapResponder(cfg, loop, rcache)
    rstub, rcalls = make_stub(loop, records)
    responder._default_zone.resolver._resolver.query = rstub  # pylint: disable=protected-access
    loop.run_until_complete(
        rcache.set(DOMAIN, CacheEntry(time.time() - 600, POLICY_ID, pol)))
    req = ("postfix " + DOMAIN).encode("ascii")
    answer = loop.run_until_complete(responder.process_request(req))
    if rcalls["n"] != 1 or b"OK secure match=" not in answer:
        print("pmsr: process_request self-check failed: %r %r" % (answer, rcalls),
              file=sys.stderr)
        return 1

    async def process_batch(n):
        proc = responder.process_request
        t0 = time.perf_counter_ns()
        for _ in range(n):
            await proc(req)
        return time.perf_counter_ns() - t0

    # --- cache get over 10000 domains ------------------------------------
    gcache = InternalLRUCache(cache_size=NDOMAINS)
    names = ["d%d.example-%d.com" % (i, i * 7919 % 1000) for i in range(NDOMAINS)]
    entry = CacheEntry(time.time(), POLICY_ID, pol)
    for d in names:
        loop.run_until_complete(gcache.set(d, entry))
    state, order = 12345, []
    for _ in range(1 << 16):
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        order.append(names[(state >> 8) % NDOMAINS])
    if loop.run_until_complete(gcache.get(names[17])) is not entry:
        print("pmsr: cache get self-check failed", file=sys.stderr)
        return 1

    async def get_batch(n):
        get, o, m = gcache.get, order, len(order) - 1
        t0 = time.perf_counter_ns()
        for i in range(n):
            await get(o[i & m])
        return time.perf_counter_ns() - t0

    cases = []
    for name, fn, what in (
            ("pmsr_cached_resolve", cached_resolve_batch,
             "PMSR cache.get+resolve(NOT_CHANGED)+set"),
            ("pmsr_process_request", process_batch,
             "PMSR process_request, grace 0 (info)"),
            ("pmsr_cache_get", get_batch,
             "PMSR InternalLRUCache.get, 10000 (info)")):
        med, mn, number = run_batches(loop, fn, args.batches, args.batch_ms)
        cases.append({"name": name, "what": what, "median_ns": med,
                      "min_ns": mn, "iterations_per_batch": number})
    loop.close()

    try:
        import importlib.metadata as md
        ver = md.version("postfix_mta_sts_resolver")
    except Exception:  # noqa: BLE001 - version is informational only
        ver = "unknown"
    out = {"bench": "pmsr_discovery", "peer_version": ver,
           "python": sys.version.split()[0], "batches": args.batches,
           "cases": cases}
    if args.json:
        print(json.dumps(out))
    else:
        print("postfix-mta-sts-resolver %s, Python %s, %d batches"
              % (ver, out["python"], args.batches))
        for c in cases:
            print("%-22s %-42s %10.1f ns" % (c["name"], c["what"], c["median_ns"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
