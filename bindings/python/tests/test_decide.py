import pytest

import mtasts


def test_decide_enforce(policy):
    d = mtasts.decide(policy, "mx1.example.net")
    assert d.action == mtasts.DecideAction.DELIVER and d.deliver
    assert d.reason == mtasts.DecideReason.PASS and d.reason_name == "pass"
    assert d.result_type == mtasts.ResultType.NONE
    assert d.result_type_name is None
    d = mtasts.decide(policy, "mx.evil.example")
    assert d.action == mtasts.DecideAction.SKIP_MX and not d.deliver
    assert d.reason == mtasts.DecideReason.MX_MISMATCH
    assert d.result_type_name == mtasts.result_type_name(d.result_type)
    d = mtasts.decide(policy, "mx1.example.net",
                      tls=mtasts.Tls.CERT_EXPIRED)
    assert d.action == mtasts.DecideAction.SKIP_MX
    assert d.result_type == mtasts.ResultType.CERTIFICATE_EXPIRED
    assert d.result_type_name == "certificate-expired"
    d = mtasts.decide(policy, "mx1.example.net", tls=mtasts.Tls.NO_STARTTLS)
    assert d.reason == mtasts.DecideReason.NO_STARTTLS


def test_decide_dane_tlsrpt_and_none(policy):
    d = mtasts.decide(policy, "mx.evil.example", dane=mtasts.Dane.PASS)
    assert d.deliver and d.reason == mtasts.DecideReason.DANE
    d = mtasts.decide(policy, "mx.evil.example", tlsrpt_report=True)
    assert d.deliver and d.result_type == mtasts.ResultType.NONE
    d = mtasts.decide(None, "anything.example")
    assert d.deliver and d.reason == mtasts.DecideReason.NO_POLICY
    testing = mtasts.Policy.parse(b"version: STSv1\nmode: testing\n"
                                  b"mx: a.example\nmax_age: 1\n")
    d = mtasts.decide(testing, "b.example")
    assert d.deliver
    assert d.result_type == mtasts.ResultType.VALIDATION_FAILURE
    with pytest.raises(mtasts.InvalidArgumentError):
        mtasts.decide(policy, "mx1.example.net", tls=99)


def test_postfix_version_parse():
    assert mtasts.postfix_version_parse("3.7.11") == (3 << 16) | (7 << 8) | 11
    assert mtasts.postfix_version_parse("3.11-20250601") == \
        mtasts.postfix_version_parse("3.10.0")
    with pytest.raises(mtasts.ParseError) as ei:
        mtasts.postfix_version_parse("3.07.1")
    assert ei.value.offset == 2


def test_postfix_answer(policy):
    old = mtasts.postfix_answer(policy, "example.com", "3.3.0")
    assert old == "OK secure match=mail.example.com:.example.net"
    new = mtasts.postfix_answer(policy, "example.com", version="3.10.5")
    assert new.startswith("OK secure ") and "policy_type=sts" in new
    assert "servername=hostname" in mtasts.postfix_answer(
        policy, "example.com", "3.4.0")
    assert mtasts.postfix_answer(None, "example.com") == "NOTFOUND "
    assert mtasts.postfix_answer(policy, ".example.com") == "NOTFOUND "
    assert mtasts.postfix_answer(policy, "example.com", temp=True).startswith(
        "TEMP ")
    num = mtasts.postfix_version_parse("3.7.11")
    assert mtasts.postfix_answer(policy, "example.com", num) == \
        mtasts.postfix_answer(policy, "example.com", "3.7.11")
    with pytest.raises(mtasts.InvalidArgumentError):
        mtasts.postfix_answer(policy, "example.com", "2.9.0")
    with pytest.raises(mtasts.ParseError):
        mtasts.postfix_answer(policy, "[192.0.2.1]:25")
