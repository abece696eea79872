import pytest

import mtasts
from conftest import TXT


def test_sts_record_parse():
    r = mtasts.StsRecord.parse(TXT + " ext=1;")
    assert r.id == "20190429T010101"
    assert r.extensions == (("ext", "1"),)
    assert r.warnings == []
    assert r.format() == "v=STSv1; id=20190429T010101; ext=1;"
    assert str(r) == r.format()


def test_sts_record_bad():
    with pytest.raises(mtasts.ParseError) as ei:
        mtasts.StsRecord.parse("v=STSv1; id=toolong%s;" % ("x" * 40))
    assert ei.value.reason == mtasts.Reason.ID
    assert ei.value.line == 1
    with pytest.raises(mtasts.ParseError) as ei:
        mtasts.StsRecord.parse("v=STSv1; ext=1;")
    assert ei.value.reason == mtasts.Reason.NO_ID
    r = mtasts.StsRecord.parse("v=STSv1; id=abc ")
    assert r.warnings == ["trailing_wsp"]
    with pytest.raises(mtasts.StrictError):
        mtasts.StsRecord.parse("v=STSv1; id=abc ", strict=True)


def test_sts_record_select():
    out, rec, err = mtasts.StsRecord.select(
        [["v=spf1 -all"], ["v=STSv1; id=ab", "c;"]])
    assert out == mtasts.Select.FOUND and err is None
    assert rec.id == "abc"  # strings of one record joined
    out, rec, err = mtasts.StsRecord.select([])
    assert (out, rec, err) == (mtasts.Select.NONE, None, None)
    out, rec, err = mtasts.StsRecord.select([[TXT], [TXT]])
    assert out == mtasts.Select.MULTIPLE and rec is None
    out, rec, err = mtasts.StsRecord.select([["v=STSv1; id=-;"]])
    assert out == mtasts.Select.INVALID and rec is None
    assert isinstance(err, mtasts.ParseError) and err.offset == 12
    with pytest.raises(TypeError):
        mtasts.StsRecord.select("v=STSv1; id=1;")


def test_sts_record_build():
    r = mtasts.StsRecord.build("abc123", {"x": "y"})
    assert r.format() == "v=STSv1; id=abc123; x=y;"
    with pytest.raises(mtasts.ParseError):
        mtasts.StsRecord.build("not valid!")


def test_tlsrpt_record():
    r = mtasts.TlsrptRecord.parse(
        "v=TLSRPTv1; rua=mailto:tls%2Dreports@example.com,"
        "https://r.example.com/x,ftp://x.example")
    rua = r.rua
    assert [u.kind for u in rua] == [mtasts.Rua.MAILTO, mtasts.Rua.HTTPS,
                                     mtasts.Rua.OTHER]
    assert rua[0].uri == "mailto:tls%2Dreports@example.com"
    assert rua[0].target == "tls-reports@example.com"
    assert rua[1].target == "https://r.example.com/x"
    assert rua[2].target is None
    assert r.warnings == ["rua_scheme"]  # ftp: not usable
    assert r.extensions == ()
    assert r.format().startswith("v=TLSRPTv1; rua=mailto:")
    with pytest.raises(mtasts.ParseError) as ei:
        mtasts.TlsrptRecord.parse("v=TLSRPTv1; ext=1")
    assert ei.value.reason == mtasts.Reason.NO_RUA


def test_tlsrpt_select_and_build():
    out, rec, err = mtasts.TlsrptRecord.select(
        [["v=TLSRPTv1; rua=mailto:a@example.com"], ["other"]])
    assert out == mtasts.Select.FOUND
    assert rec.rua[0].target == "a@example.com"
    r = mtasts.TlsrptRecord.parse("v=TLSRPTv1; rua=https://r.example/; "
                                  "x-ext=abc")
    assert r.extensions == (("x-ext", "abc"),)
    assert r.format() == "v=TLSRPTv1; rua=https://r.example/; x-ext=abc"
    r = mtasts.TlsrptRecord.build(["mailto:a,b@example.com"])
    assert r.format() == "v=TLSRPTv1; rua=mailto:a%2Cb@example.com"
    with pytest.raises(mtasts.ParseError):
        mtasts.TlsrptRecord.build([])
