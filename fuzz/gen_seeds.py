#!/usr/bin/env python3
"""Write the hand-made seeds of fuzz/corpus/lookup/ and cache_entry/.

Lookup seeds are scripts for the interpreter in fuzz_lookup.c; each walks
rows of doc/discovery.md. Cache entry seeds are the distinct entries those
scripts store (dumped by fuzz_lookup with FUZZ_LOOKUP_DUMP=DIR), plus each
field of one of them mangled:

    python3 fuzz/gen_seeds.py lookup fuzz/corpus/lookup
    FUZZ_LOOKUP_DUMP=/tmp/ents build/fuzz/fuzz_lookup fuzz/corpus/lookup
    python3 fuzz/gen_seeds.py entries /tmp/ents fuzz/corpus/cache_entry
"""
import os
import sys
import zlib

# domains (step byte bits 0-2)
EX, EXUP, OTHER, LITERAL, BAD = 0, 2, 3, 6, 7
# entry source (bits 3-4)
NONE, STORED, GARBAGE, MUTATED = 0, 1, 2, 3
# record ids (record byte bits 2-4)
ID1, ID2, IDLONG, IDUP, IDLOW, ID32, IDRAW, IDEMPTY = range(8)
# DNS status
OK, NX, NODATA, TEMP = 0, 1, 2, 3
ENFORCE, TESTING, NONE_MODE = 0, 1, 2
MAXAGE = {"0": 0, "1": 1, "60": 2, "86400": 3, "604800": 4, "31557600": 5,
          "31557601": 6, "9999999999": 7}


def cfg(refresh=0, backoff=0, extend=0, tempfail=0, keep_none=0,
        refetch=0, small=0, start=0):
    c0 = refresh | backoff << 2 | extend << 4 | tempfail << 6 | keep_none << 7
    c1 = refetch | small << 2 | start << 3
    return bytes([c0, c1])


def rec_sts(idsel=ID1, ext=0):
    return bytes([0 | idsel << 2 | ext << 5])


def rec_raw(text):
    return bytes([1]) + text + b"\x1e"


def rec_spf():
    return bytes([2])


def rec_bad(tail):
    return bytes([3]) + tail + b"\x1e"


def txt(dns=OK, recs=()):
    n = len(recs)
    extra = 0
    if n == 4:
        n, extra = 3, 1
    return bytes([dns | n << 2 | extra << 4]) + b"".join(recs)


def fetch(transport=0, http=200, ct=0, mode=ENFORCE, mx=0, max_age="86400",
          crlf=1, final=1, raw=None):
    tv = transport if transport == 0 else transport + 3
    hi = {200: 0, 301: 4, 404: 5, 500: 6, 304: 7}[http]
    f = tv + 10 * hi
    if raw is not None:
        if len(raw) > 255:
            return bytes([f, ct | 0x10, len(raw) & 255, len(raw) >> 8]) + raw
        return bytes([f, ct]) + bytes([len(raw)]) + raw
    g = ct | 8 | crlf << 4 | final << 5
    h = mode | mx << 2 | MAXAGE[max_age] << 4
    return bytes([f, g, h])


def decide(host=b"mx.example.com", tls=1, dane=0):
    return bytes([len(host)]) + host + bytes([tls, dane])


def step(dom=EX, src=NONE, refresh=0, dt=0, dtb=b"\x00", entry=b"",
         answers=b"", dec=None):
    """One lookup; no decision bytes when the lookup cannot be created
    (invalid domain or time)."""
    b = dom | src << 3 | refresh << 5 | dt << 6
    if dec is None:
        bad_time = dt == 3 and dtb[0] < 8
        dec = b"" if dom == BAD or bad_time else decide()
    return bytes([b]) + dtb + entry + answers + dec


def garbage(data):
    return bytes([len(data) & 255, len(data) >> 8]) + data


def hours(h):
    """dt class 3: +d*3600 for d in 32..127; class 2 (+u16*64) below."""
    if h < 32:
        n = h * 3600 // 64
        return dict(dt=2, dtb=bytes([n & 255, n >> 8]))
    assert h < 128
    return dict(dt=3, dtb=bytes([h]))


def minutes(m):
    assert m < 256
    return dict(dt=1, dtb=bytes([m]))


def weeks(w):
    return dict(dt=3, dtb=bytes([128 + w]))


FETCH_OK = txt(OK, [rec_sts(ID1)]) + fetch()

seeds = {
    "t01-literal": cfg() + step(dom=LITERAL),
    "t02-first-fetch": cfg() + step(answers=FETCH_OK),
    "t02-none-policy": cfg() + step(answers=txt(OK, [rec_sts(ID1)]) +
                                    fetch(mode=NONE_MODE, mx=2)),
    "t03-new-id": cfg() + step(answers=FETCH_OK) +
    step(src=STORED, **minutes(10),
         answers=txt(OK, [rec_sts(ID2)]) + fetch(mode=TESTING)),
    "t04-nxdomain-cached": cfg() + step(answers=FETCH_OK) +
    step(src=STORED, **minutes(5), answers=txt(NX)) +
    step(src=STORED, **minutes(5), answers=txt(NODATA)) +
    step(src=STORED, **hours(40), answers=txt(OK, [rec_spf()])),
    "t05-tempfail-cached": cfg() + step(answers=FETCH_OK) +
    step(src=STORED, **minutes(1), answers=txt(TEMP)),
    "t05b-tempfail-nocache": cfg(tempfail=1) + step(answers=txt(TEMP)) +
    step(dom=OTHER, answers=txt(TEMP)),
    "t06-multiple": cfg() + step(answers=FETCH_OK) +
    step(src=STORED, **minutes(1),
         answers=txt(OK, [rec_sts(ID1), rec_sts(ID2)])) +
    step(dom=OTHER, answers=txt(OK, [rec_sts(ID1), rec_sts(ID1, 1)])),
    "t06-invalid": cfg() + step(answers=FETCH_OK) +
    step(src=STORED, **minutes(1),
         answers=txt(OK, [rec_bad(b" id=bad_id;"), rec_spf()])) +
    step(dom=OTHER, answers=txt(OK, [rec_sts(IDEMPTY)])),
    "t07-delete-none": cfg() + step(answers=txt(OK, [rec_sts(ID1)]) +
                                    fetch(mode=NONE_MODE)) +
    step(src=STORED, **minutes(1), answers=txt(NX)),
    "t07-keep-none": cfg(keep_none=1) + step(answers=txt(OK, [rec_sts(ID1)]) +
                                             fetch(mode=NONE_MODE)) +
    step(src=STORED, **minutes(1), answers=txt(NX)),
    "t08-refresh-no-record": cfg() + step(answers=txt(OK, [rec_sts(ID1)]) +
                                          fetch(max_age="604800")) +
    step(src=STORED, refresh=1, **hours(48), answers=txt(NX) + fetch()) +
    step(src=STORED, refresh=1, **minutes(3), answers=txt(TEMP) +
         fetch(transport=1)) +
    step(src=STORED, refresh=1, **minutes(1), answers=txt(TEMP)),
    "t09-same-id": cfg() + step(answers=FETCH_OK) +
    step(src=STORED, **minutes(30), answers=txt(OK, [rec_sts(ID1)])) +
    step(src=STORED, **hours(20), answers=txt(OK, [rec_sts(ID1)])) +
    step(src=STORED, **hours(3), answers=txt(OK, [rec_sts(ID1)])),
    "t10-refresh-interval":
    cfg() + step(answers=txt(OK, [rec_sts(ID1)]) + fetch(max_age="604800")) +
    step(src=STORED, **hours(100), answers=txt(OK, [rec_sts(ID1)]) +
         fetch(max_age="604800")) +
    step(src=STORED, refresh=1, **minutes(1),
         answers=txt(OK, [rec_sts(ID1)]) + fetch(transport=4)),
    "t11-extend": cfg(refresh=1, extend=2) + step(answers=txt(OK, [rec_sts(ID1)]) +
                                       fetch(max_age="86400")) +
    step(src=STORED, **hours(20), answers=txt(OK, [rec_sts(ID1)])) +
    step(src=STORED, **hours(20), answers=txt(OK, [rec_sts(ID1)])),
    "t12-expired": cfg() + step(answers=txt(OK, [rec_sts(ID1)]) +
                                fetch(max_age="60")) +
    step(src=STORED, **minutes(2), answers=txt(NX)) +
    step(src=STORED, **minutes(1), answers=txt(TEMP)),
    "t13-backoff": cfg() + step(answers=txt(OK, [rec_sts(ID1)]) +
                                fetch(transport=4)) +
    step(src=STORED, **minutes(2), answers=txt(OK, [rec_sts(ID1)])) +
    step(src=STORED, **minutes(4), answers=txt(OK, [rec_sts(ID1)]) +
         fetch()),
    "t13-backoff-cached": cfg() + step(answers=FETCH_OK) +
    step(src=STORED, **minutes(1), answers=txt(OK, [rec_sts(ID2)]) +
         fetch(http=404)) +
    step(src=STORED, **minutes(1), answers=txt(OK, [rec_sts(ID2)])),
    "t14-min-refetch": cfg(refetch=2) + step(answers=FETCH_OK) +
    step(src=STORED, **minutes(5), answers=txt(OK, [rec_sts(ID2)])) +
    step(src=STORED, **minutes(10), answers=txt(OK, [rec_sts(ID2)]) +
         fetch()),
    "t15-expired-same-id": cfg() + step(answers=txt(OK, [rec_sts(ID1)]) +
                                        fetch(max_age="60")) +
    step(src=STORED, **minutes(5), answers=txt(OK, [rec_sts(ID1)]) +
         fetch(transport=3)),
    "t16-other-id-than-backoff": cfg() + step(answers=txt(
        OK, [rec_sts(ID1)]) + fetch(ct=4)) +
    step(src=STORED, **minutes(1), answers=txt(OK, [rec_sts(IDLONG)]) +
         fetch()),
    "t17-fetch-fails-cached": cfg() + step(answers=FETCH_OK) +
    step(src=STORED, **minutes(1), answers=txt(OK, [rec_sts(ID2)]) +
         fetch(ct=2)) +
    step(dom=OTHER, answers=txt(OK, [rec_sts(ID1)]) +
         fetch(mode=NONE_MODE, mx=2)) +
    step(dom=OTHER, src=STORED, **minutes(1),
         answers=txt(OK, [rec_sts(ID2)]) + fetch(transport=6)),
    "t18-fetch-fails": cfg() +
    step(answers=txt(OK, [rec_sts(ID1)]) + fetch(transport=1)) +
    step(dom=OTHER, answers=txt(OK, [rec_sts(ID32)]) +
         fetch(raw=b"version: STSv1\nmode: enforce\n")) +
    step(dom=EXUP, **hours(33), answers=txt(OK, [rec_sts(ID1)]) +
         fetch(transport=5)),
    "t19-max-age-0": cfg() + step(answers=txt(OK, [rec_sts(ID1)]) +
                                  fetch(max_age="0")) +
    step(src=STORED, dt=0, dtb=b"\x00", answers=txt(OK, [rec_sts(ID1)]) +
         fetch(max_age="31557601")),
    "oom-walk": bytes([0x0c, 0x40]) + step(answers=FETCH_OK) +
    step(src=STORED, **hours(40), answers=txt(OK, [rec_sts(ID2)]) +
         fetch(mode=TESTING, mx=3)) +
    step(src=STORED, refresh=1, **minutes(1), answers=txt(NX) +
         fetch(transport=4)) + b"\x07",
    "garbage-entry": cfg() + step(src=GARBAGE, entry=garbage(
        b"MTASTS-ENTRY/1\ndomain=example.com\n"), answers=txt(NX)) +
    step(dom=OTHER, src=GARBAGE, entry=garbage(
        b"MTASTS-ENTRY/1\ndomain=example.com\nid=1\nfetched=1\n"
        b"expires=1800000000\nbackoff-until=0\nbackoff-id=\n"
        b"backoff-result=0\nlast-used=0\npolicy=0\n"), answers=txt(NX)) +
    step(src=GARBAGE, entry=garbage(b"MTASTS-ENTRY/2\n"), answers=txt(NX)),
    "mutated-entry": cfg() + step(answers=FETCH_OK) +
    step(src=MUTATED, entry=b"\x02\x20\x00" + b"9", **minutes(1),
         answers=txt(NX)) +
    step(src=MUTATED, entry=b"\x01\x40\x00", **minutes(1),
         answers=txt(NX)) +
    step(src=MUTATED, entry=b"\x05\x30\x00", **minutes(1),
         answers=txt(NX)) +
    step(src=MUTATED, entry=b"\x00", **minutes(1), answers=txt(NX)),
    "split-record": cfg() + step(answers=txt(
        OK, [bytes([0x80 | ID2 << 2]) + b"\x05", rec_spf()]) + fetch()),
    "bad-domain-and-times": cfg() + step(dom=BAD) +
    step(dt=3, dtb=b"\x01") + step(dt=3, dtb=b"\x10\x05", answers=txt(NX)),
    "small-limit": cfg(small=1) + step(answers=txt(OK, [rec_sts(ID1)]) +
                                       fetch(mx=3)) +
    step(dom=OTHER, answers=txt(OK, [rec_sts(ID1)]) +
         fetch(raw=b"version: STSv1\nmode: testing\nmax_age: 1\nmx: a.b\n" +
               b"x" * 300)),
    "far-future": cfg(refresh=1, start=2, extend=3) + step(answers=txt(
        OK, [rec_sts(ID1)]) + fetch(max_age="31557600")) +
    step(src=STORED, **weeks(10), answers=txt(OK, [rec_sts(ID1)])),
}



def entry(domain=b"example.com", id=b"1", fetched=b"1700000000",
          expires=b"1700086400", bu=b"0", bid=b"", br=b"0",
          last=b"1700000000", body=None, plen=None,
          head=b"MTASTS-ENTRY/1"):
    if body is None:
        body = (b"version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\n"
                b"max_age: 86400\r\n")
    if plen is None:
        plen = str(len(body)).encode()
    return (head + b"\ndomain=" + domain + b"\nid=" + id + b"\nfetched=" +
            fetched + b"\nexpires=" + expires + b"\nbackoff-until=" + bu +
            b"\nbackoff-id=" + bid + b"\nbackoff-result=" + br +
            b"\nlast-used=" + last + b"\npolicy=" + plen + b"\n" + body)


def v2(e, crc=None):
    """The version-2 form of a version-1 entry: the header of version 2
    and the check line (CRC-32 of the entry without that line)."""
    assert e.startswith(b"MTASTS-ENTRY/1\n")
    rest = e[15:]
    if crc is None:
        crc = b"%08x" % zlib.crc32(b"MTASTS-ENTRY/2\n" + rest)
    return b"MTASTS-ENTRY/2\ncrc32=" + crc + b"\n" + rest


def fletcher64(data):
    """The check of version 3 (doc/cache-entry.md): Fletcher-64 over the
    32-bit little-endian words of data (zero-padded), then one word, the
    length of data in bytes."""
    m = 0xffffffff
    a = b = 0
    padded = data + b"\0" * (-len(data) % 4)
    words = [int.from_bytes(padded[i:i + 4], "little")
             for i in range(0, len(padded), 4)]
    for w in words + [len(data) & 0xffffffff]:
        a = (a + w) % m
        b = (b + a) % m
    return b << 32 | a


def v3(e, check=None):
    """The version-3 form of a version-1 entry: the header of version 3
    and the check line (Fletcher-64 of everything after that line)."""
    assert e.startswith(b"MTASTS-ENTRY/1\n")
    rest = e[15:]
    if check is None:
        check = b"%016x" % fletcher64(rest)
    return b"MTASTS-ENTRY/3\ncheck=" + check + b"\n" + rest


def mangles():
    base = entry()
    nopol = dict(id=b"", fetched=b"0", expires=b"0", bu=b"1700000300",
                 bid=b"1", br=b"9", last=b"0", body=b"")
    m = {
        "valid-hand": base,
        "valid-backoff-only": entry(**nopol),
        "head-v0": entry(head=b"MTASTS-ENTRY/0"),
        "head-v01": entry(head=b"MTASTS-ENTRY/01"),
        "head-v3": entry(head=b"MTASTS-ENTRY/3"),
        "head-v4": entry(head=b"MTASTS-ENTRY/4"),
        "head-v-long": entry(head=b"MTASTS-ENTRY/99999999"),
        "head-empty-version": entry(head=b"MTASTS-ENTRY/"),
        "head-crlf": entry(head=b"MTASTS-ENTRY/1\r"),
        "head-lower": entry(head=b"mtasts-entry/1"),
        "head-only": b"MTASTS-ENTRY/1\n",
        "domain-upper": entry(domain=b"Example.com"),
        "domain-trailing-dot": entry(domain=b"example.com."),
        "domain-empty": entry(domain=b""),
        "domain-wildcard": entry(domain=b"*.example.com"),
        "domain-underscore": entry(domain=b"ex_ample.com"),
        "domain-253": entry(domain=b".".join([b"a" * 63] * 3 + [b"b" * 61])),
        "domain-254": entry(domain=b".".join([b"a" * 63] * 3 + [b"b" * 62])),
        "domain-other": entry(domain=b"fixed.example"),
        "domain-utf8": entry(domain=b"b\xc3\xbccher.example"),
        "id-32": entry(id=b"a" * 32),
        "id-33": entry(id=b"a" * 33),
        "id-dash": entry(id=b"a-b"),
        "id-empty": entry(id=b""),
        "fetched-leading-zero": entry(fetched=b"01700000000"),
        "fetched-plus": entry(fetched=b"+1700000000"),
        "fetched-minus": entry(fetched=b"-1"),
        "fetched-20-digits": entry(fetched=b"17000000000000000000"),
        "fetched-2p62": entry(fetched=b"4611686018427387904",
                              expires=b"4611686018427387904"),
        "fetched-2p62-plus-1": entry(fetched=b"4611686018427387905",
                                     expires=b"4611686018427387905"),
        "fetched-after-expires": entry(fetched=b"1700086401"),
        "fetched-zero-with-policy": entry(fetched=b"0"),
        "expires-zero-with-policy": entry(fetched=b"0", expires=b"0"),
        "expires-space": entry(expires=b" 1700086400"),
        "nopolicy-fetched-set": entry(**dict(nopol, fetched=b"5")),
        "backoff-id-without-time": entry(bid=b"1"),
        "backoff-result-without-time": entry(br=b"9"),
        "backoff-result-12": entry(bu=b"1700000300", bid=b"1", br=b"12"),
        "backoff-result-5": entry(bu=b"1700000300", bid=b"1", br=b"5"),
        "backoff-result-0-with-time": entry(bu=b"1700000300", bid=b"1"),
        "last-used-huge": entry(last=b"4611686018427387904"),
        "policy-len-short": entry(plen=b"70"),
        "policy-len-long": entry(plen=b"72"),
        "policy-len-zero-with-body": entry(plen=b"0"),
        "policy-len-over-limit": entry(plen=b"65537"),
        "policy-len-leading-zero": entry(plen=b"071"),
        "policy-invalid": entry(body=b"version: STSv1\nmode: enforce\n"
                                     b"max_age: 1\n"),
        "policy-lf-no-final": entry(body=b"version: STSv1\nmode: none\n"
                                         b"max_age: 0"),
        "policy-trailing-newline": base + b"\n",
        "field-order": base.replace(b"\nfetched=1700000000\nexpires="
                                    b"1700086400", b"\nexpires=1700086400"
                                    b"\nfetched=1700000000"),
        "field-repeated": base.replace(b"\nid=1\n", b"\nid=1\nid=1\n"),
        "field-missing": base.replace(b"\nlast-used=1700000000", b""),
        "field-cr": base.replace(b"\nid=1\n", b"\nid=1\r\n"),
        "field-misspelt": base.replace(b"backoff-until", b"backoff_until"),
        "truncated-in-body": base[:-10],
        "truncated-in-fields": base[:60],
        "too-big": entry(plen=b"66000", body=b"x" * 66000),
    }
    # version 2 (a CRC-32 line after the header); the seeds above are
    # version 1, which is still read (without a check)
    b2 = v2(base)
    m.update({
        "v2-valid-hand": b2,
        "v2-valid-backoff-only": v2(entry(**nopol)),
        "v2-no-check-line": entry(head=b"MTASTS-ENTRY/2"),
        "v2-check-zero": v2(base, b"00000000"),
        "v2-check-upper": v2(base, b"%08X" % zlib.crc32(
            b"MTASTS-ENTRY/2\n" + base[15:])),
        "v2-check-short": v2(base, b"1234567"),
        "v2-body-flipped": b2[:-3] + bytes([b2[-3] ^ 1]) + b2[-2:],
        "v2-expires-flipped": b2.replace(b"expires=1700086400",
                                         b"expires=1700086401"),
        "v2-truncated": b2[:-1],
        "v2-fields-bad": v2(entry(domain=b"Example.com")),
    })
    # version 3 (a Fletcher-64 line after the header), written since
    b3 = v3(base)
    m.update({
        "v3-valid-hand": b3,
        "v3-valid-backoff-only": v3(entry(**nopol)),
        "v3-no-check-line": entry(head=b"MTASTS-ENTRY/3"),
        "v3-check-zero": v3(base, b"0" * 16),
        "v3-check-upper": v3(base, b"%016X" % fletcher64(base[15:])),
        "v3-check-short": v3(base, b"%015x" % (fletcher64(base[15:]) >> 4)),
        "v3-crc32-line": v2(base).replace(b"MTASTS-ENTRY/2", b"MTASTS-ENTRY/3"),
        "v3-body-flipped": b3[:-3] + bytes([b3[-3] ^ 1]) + b3[-2:],
        "v3-expires-flipped": b3.replace(b"expires=1700086400",
                                         b"expires=1700086401"),
        "v3-words-swapped": b3[:40] + b3[44:48] + b3[40:44] + b3[48:],
        "v3-truncated": b3[:-1],
        "v3-fields-bad": v3(entry(domain=b"Example.com")),
    })
    return m


if len(sys.argv) == 3 and sys.argv[1] == "lookup":
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)
    print(len(seeds), "seeds")
elif len(sys.argv) == 4 and sys.argv[1] == "entries":
    src, out = sys.argv[2], sys.argv[3]
    os.makedirs(out, exist_ok=True)
    seen = set()
    n = 0
    for name in sorted(os.listdir(src)):
        with open(os.path.join(src, name), "rb") as f:
            data = f.read()
        if data in seen:
            continue
        seen.add(data)
        with open(os.path.join(out, "lookup-%02d.bin" % n), "wb") as f:
            f.write(data)
        n += 1
    for name, data in mangles().items():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)
    print(n, "dumped entries,", len(mangles()), "mangled")
else:
    sys.exit(__doc__)
