import pytest

import mtasts
from conftest import POLICY


def test_parse_attributes(policy):
    assert policy.version == "STSv1"
    assert policy.mode == mtasts.Mode.ENFORCE
    assert policy.mode_name == "enforce"
    assert policy.max_age == 86400
    assert policy.mx == ("mail.example.com", "*.example.net")
    assert policy.extensions == ()
    assert policy.raw == POLICY
    assert policy.warnings == []
    assert policy.lines == ("version: STSv1", "mode: enforce",
                            "mx: mail.example.com", "mx: *.example.net",
                            "max_age: 86400")


def test_lines_are_read_with_their_length():
    # since 1.0 mtasts_policy_line() is also NUL-terminated: the length
    # and the terminator agree, also for CRLF input
    p = mtasts.Policy.parse(b"version: STSv1\r\nmode: none\r\nmax_age: 1")
    assert p.lines == ("version: STSv1", "mode: none", "max_age: 1")
    n = mtasts.ffi.new("size_t *")
    for i, want in enumerate(p.lines):
        c = mtasts.lib.mtasts_policy_line(p._ptr, i, n)
        assert n[0] == len(want)
        assert mtasts.ffi.string(c).decode() == want


def test_extensions_and_warnings():
    p = mtasts.Policy.parse(b"\xef\xbb\xbfversion: STSv1\nmode: testing\n"
                            b"mx: a.example\nmax_age: 9999999999\n"
                            b"foo: bar\n")
    assert p.extensions == (("foo", "bar"),)
    assert p.max_age == mtasts.limits()["max_age_max"]
    assert set(p.warnings) == {"bom", "max_age_clamped"}
    with pytest.raises(mtasts.StrictError) as ei:
        mtasts.Policy.parse(p.raw, strict=True)
    e = ei.value
    assert e.code == mtasts.Status.ESTRICT and e.code.name == "ESTRICT"
    assert e.reason == mtasts.Reason.STRICT
    assert isinstance(e, mtasts.ParseError)


def test_bad_input_raises_with_code_offset_line():
    bad = b"version: STSv1\nmode: enforce\nmx *.example.net\nmax_age: 1\n"
    with pytest.raises(mtasts.ParseError) as ei:
        mtasts.Policy.parse(bad)
    e = ei.value
    assert e.code == mtasts.Status.ESYNTAX == -3
    assert e.code_name == "MTASTS_ESYNTAX"
    assert e.reason == mtasts.Reason.COLON
    assert e.reason_name == "colon"
    assert "':'" in e.reason_message
    assert e.line == 3
    assert bad[e.offset:e.offset + 1] == b" "
    assert "offset %d, line 3" % e.offset in str(e)


@pytest.mark.parametrize("data,reason", [
    (b"", "EMPTY"),
    (b"version: STSv2\nmode: none\nmax_age: 1\n", "POLICY_VERSION"),
    (b"version: STSv1\nmode: live\nmax_age: 1\nmx: a.b\n", "MODE"),
    (b"version: STSv1\nmode: enforce\nmax_age: 1\n", "MISSING_MX"),
])
def test_reasons(data, reason):
    with pytest.raises(mtasts.ParseError) as ei:
        mtasts.Policy.parse(data)
    assert ei.value.reason == mtasts.Reason[reason]


def test_non_ascii_mx():
    with pytest.raises(mtasts.Error) as ei:
        mtasts.Policy.parse("version: STSv1\nmode: enforce\nmx: bücher.de\n"
                            "max_age: 1\n".encode())
    assert ei.value.code in (mtasts.Status.ENONASCII, mtasts.Status.ESYNTAX)
    assert ei.value.offset is not None


def test_too_big_under_context_limit():
    ctx = mtasts.Context(limits={mtasts.Limit.POLICY_SIZE: 10})
    assert ctx.get_limit(mtasts.Limit.POLICY_SIZE) == 10
    with pytest.raises(mtasts.TooBigError):
        mtasts.Policy.parse(POLICY, ctx=ctx)
    with pytest.raises(mtasts.InvalidArgumentError):
        ctx.set_limit(mtasts.Limit.POLICY_SIZE, 0)


def test_mx_allowed(policy):
    assert policy.mx_allowed("mail.example.com")
    assert policy.mx_allowed("MX1.Example.NET.")
    assert not policy.mx_allowed("a.b.example.net")
    assert not policy.mx_allowed("example.net")


def test_is_fatal():
    S = mtasts.Status
    for s in (S.ENOMEM, S.EINVAL, S.EVERSION, S.ESTATE, S.ECALLBACK, -999):
        assert mtasts.is_fatal(s), s
    for s in (S.OK, S.NONE, S.REFUSED, S.EAGAIN, S.ERANGE, S.ESYNTAX,
              S.ETOOBIG, S.ENONASCII, S.ESTRICT, S.ECORRUPT):
        assert not mtasts.is_fatal(s), s
    with pytest.raises(mtasts.ParseError) as ei:
        mtasts.Policy.parse(b"junk")
    assert not ei.value.fatal and not mtasts.is_fatal(ei.value)
    with pytest.raises(mtasts.InvalidArgumentError) as ei:
        mtasts.Context().set_limit(mtasts.Option.FETCH_BACKOFF, 1)
    assert ei.value.fatal and mtasts.is_fatal(ei.value)


def test_format_and_build():
    p = mtasts.Policy.build(mtasts.Mode.TESTING, 3600, ["mx.example.org"],
                            [("ext", "v")])
    text = p.format()
    assert text == ("version: STSv1\r\nmode: testing\r\nmx: mx.example.org"
                    "\r\nmax_age: 3600\r\next: v\r\n")
    assert mtasts.Policy.parse(text).format() == text
    with pytest.raises(mtasts.ParseError) as ei:
        mtasts.Policy.build(mtasts.Mode.ENFORCE, 1, ["ok.example", "-bad"])
    assert ei.value.offset == 1  # index of the bad mx
    # no mx, no extensions: NULL arrays in struct mtasts_policy_model
    p = mtasts.Policy.build(mtasts.Mode.NONE, 60)
    assert p.mode == mtasts.Mode.NONE and p.mx == () and p.extensions == ()
    assert p.max_age == 60


def test_accepts_str_and_bytes(policy):
    assert mtasts.Policy.parse(POLICY.decode()).mx == policy.mx
    with pytest.raises(TypeError):
        mtasts.Policy.parse(42)


def test_mx_match():
    assert mtasts.mx_match("*.example.net", "mx.example.net")
    assert not mtasts.mx_match("*.example.net", "a.mx.example.net")
    assert mtasts.mx_match(b"mail.example.com", b"MAIL.example.com.")
    assert not mtasts.mx_match("bad pattern", "bad pattern")


def test_names():
    assert mtasts.domain_normalize("Example.COM.") == "example.com"
    assert mtasts.sts_txt_name("Example.com") == "_mta-sts.example.com"
    assert mtasts.tlsrpt_txt_name("example.com") == "_smtp._tls.example.com"
    assert mtasts.policy_host("example.com") == "mta-sts.example.com"
    assert mtasts.policy_url("example.com") == \
        "https://mta-sts.example.com/.well-known/mta-sts.txt"
    assert mtasts.policy_domain_for("user@Example.com") == "example.com"
    assert mtasts.policy_domain_for("u@example.com",
                                    "relay.example.org") == \
        "relay.example.org"
    mtasts.hostname_check("mx.example.com")
    mtasts.hostname_check("*.example.com", wildcard=True)
    mtasts.hostname_check("example.com.", trailing_dot=True)
    with pytest.raises(mtasts.ParseError) as ei:
        mtasts.hostname_check("*.example.com")
    assert ei.value.offset == 0
    with pytest.raises(mtasts.ParseError) as ei:
        mtasts.hostname_check("a..b")
    assert ei.value.offset in (1, 2)
    with pytest.raises(mtasts.TooBigError):
        mtasts.hostname_check("a" * 64 + ".com")
    with pytest.raises(mtasts.NonAsciiError):
        mtasts.domain_normalize("bücher.de")
    assert mtasts.cert_name_match("*.example.com", "mx.example.com")
    assert not mtasts.cert_name_match("mx*.example.com", "mx1.example.com")
    assert mtasts.cert_names_match(["a.example", "*.example.com"],
                                   "mx.example.com")
    assert not mtasts.cert_names_match([], "mx.example.com")


def test_library_info():
    s, n = mtasts.library_version()
    assert s.count(".") == 2 and n > 0
    assert mtasts.library_at_least(n)
    assert not mtasts.library_at_least(n + 0x10000)
    lim = mtasts.limits()
    assert lim["policy_max_size"] == mtasts.const.POLICY_MAX_SIZE
    assert lim["txt_max_size"] == mtasts.const.TXT_MAX_SIZE
    assert lim["id_max_len"] == mtasts.const.ID_MAX_LEN
    assert lim["domain_max_len"] == mtasts.const.DOMAIN_MAX_LEN
    assert lim["policy_max_mx"] == mtasts.const.POLICY_MAX_MX


def test_gzip_round_trip():
    data = b"hello " * 1000
    z = mtasts.gzip(data, 9)
    assert z[:2] == b"\x1f\x8b" and len(z) < len(data)
    assert mtasts.gunzip(z) == data
    with pytest.raises(mtasts.TooBigError):
        mtasts.gunzip(z, max_out=100)
    with pytest.raises(mtasts.ParseError) as ei:
        mtasts.gunzip(z[:-3])
    assert ei.value.offset is not None
    with pytest.raises(mtasts.InvalidArgumentError):
        mtasts.gzip(data, 42)
