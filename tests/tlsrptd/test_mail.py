#!/usr/bin/env python3
"""mtasts-tlsrptd delivers mailto: reports through a real Postfix into a
mailbox (suite tlsrptd).

    test_mail.py MTASTS_TLSRPTD MTASTS

A private instance of the installed Postfix (rig.Postfix: its own
main.cf and master.cf, queue and data directories in a temp dir, no
listener; mail for reports.test delivered by virtual(8) into one mbox
file) takes the reports through its own sendmail ("sendmail -C DIR -i
-t"). A collector fills yesterday with results for domains whose
_smtp._tls records (a DNS responder on loopback) name mailto: rua.

  - `send --day` with a sendmail that fails (/bin/false): the attempt is
    recorded as failed with sendmail's exit status and kept for a retry;
  - `send --day` with Postfix's sendmail: each destination's message
    arrives in the mailbox once, as recorded (the recorded message is
    what was piped); its headers are RFC 8460 section 5.3's (Subject,
    TLS-Report-Domain, TLS-Report-Submitter; and TLS-Required: No), its
    attachment is application/tlsrpt+gzip named
    submitter!domain!begin!end.json.gz and gunzips to the recorded report;
    `mtasts report parse --strict --dkim-pass` reads the delivered mail
    back to the same report without a mismatch;
  - a second `send` sends nothing again.

Skips (77) when not root (a private Postfix instance needs root) or
Postfix is not installed.
"""
import email
import email.policy
import gzip
import json
import mailbox
import os
import re
import shutil
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rig  # noqa: E402
from rig import check  # noqa: E402

TLSRPTD, MTASTS = sys.argv[1], sys.argv[2]
ORG = ["--org", "Example Org", "--contact", "tlsrpt@example.net", "--from",
       "TLSRPT reporter <noreply@example.net>"]


def main():
    if os.geteuid() != 0:
        rig.skip("not root: a private Postfix instance must be started as "
                 "root")
    for prog in ("postfix", "sendmail", "postconf"):
        if shutil.which(prog) is None and not os.path.exists(
                "/usr/sbin/" + prog):
            rig.skip(prog + " is not installed (apt-get install postfix)")
    tmp = tempfile.mkdtemp(prefix="tlsrptd-mail-")
    try:
        run(tmp)
    except Exception as e:  # a broken step fails the test
        traceback.print_exc()
        check(False, repr(e))
    finally:
        status = rig.finish()
        shutil.rmtree(tmp, ignore_errors=True)
    return status


def messages(pf):
    if not os.path.exists(pf.mailbox):
        return []
    box = mailbox.mbox(pf.mailbox, create=False)
    try:
        return [email.message_from_bytes(m.as_bytes(),
                                         policy=email.policy.default)
                for m in box]
    finally:
        box.close()


def run(tmp):
    pf = rig.Postfix(tmp, ["reports.test"])
    dns = rig.Dns({
        "_smtp._tls.mail.example": [["v=TLSRPTv1; rua=mailto:tlsrpt@"
                                     "reports.test"]],
        "_smtp._tls.two.example": [["v=TLSRPTv1; rua=mailto:a@reports.test,"
                                    "mailto:b@reports.test"]],
    })
    day = rig.utc_day(-1)
    c = rig.Collector(TLSRPTD, tmp, "c",
                      env={"MTASTS_TLSRPTD_TEST_CLOCK_OFFSET": "-86400"})
    c.start()
    c.send([rig.datagram(b"mail.example",
                         [rig.sts_policy(b"mail.example", 0)])] * 4 +
           [rig.datagram(b"mail.example", [rig.none_policy(1, [
               {"c": 203, "f": b"unknown issuer"}])])] * 2 +
           [rig.datagram(b"two.example", [rig.sts_policy(b"two.example",
                                                         0)])] * 3)
    check(c.stop() == 0, "fill: stop")
    base = [TLSRPTD, "send", "--store", c.store, "--day", day,
            "--dns-server", dns.addr] + ORG

    # a sendmail that fails: recorded, kept for a retry
    r = rig.run_cmd(base + ["--sendmail", "/bin/false"])
    check(r.returncode == 3 and "/bin/false exited with status 1" in r.out,
          "failing sendmail: %d %s %s" % (r.returncode, r.out, r.err))
    rows = c.query("SELECT uri, state, attempts, payload FROM deliveries "
                   "WHERE day = ? ORDER BY uri", (day,))
    check(len(rows) == 3 and all(x[1] == "pending" and x[2] == 1
                                 for x in rows),
          "failing sendmail: pending after one attempt: %s" % [
              x[:3] for x in rows])
    payload = {x[0]: x[3] for x in rows}

    # Postfix's sendmail: delivered into the mailbox
    r = rig.run_cmd(base + ["--sendmail", pf.sendmail])
    check(r.returncode == 0 and r.out.count("delivered (attempt 2)") == 3,
          "send through Postfix: %d %s %s" % (r.returncode, r.out, r.err))
    check(rig.wait_for(lambda: len(messages(pf)) >= 3, 30, 0.2),
          "three messages in the mailbox: %d; %s" % (
              len(messages(pf)), pf.log()[-3000:]))
    msgs = messages(pf)
    check(len(msgs) == 3, "exactly three messages: %d" % len(msgs))
    check(re.search(r"status=sent \(delivered to mailbox\)", pf.log())
          is not None, "Postfix logs the delivery: " + pf.log()[-2000:])
    rid, js = rig.report_json(c.store, day, "mail.example")
    got = [m for m in msgs if m["To"] == "tlsrpt@reports.test"]
    check(len(got) == 1, "one message to tlsrpt@reports.test")
    if got:
        m = got[0]
        check(m["Subject"] == "Report Domain: mail.example Submitter: "
              "example.net Report-ID: <%s@example.net>" % rid,
              "Subject: %r" % m["Subject"])
        check(m["TLS-Report-Domain"] == "mail.example" and
              m["TLS-Report-Submitter"] == "example.net" and
              m["TLS-Required"] == "No" and
              m["From"] == "TLSRPT reporter <noreply@example.net>",
              "headers: %s" % list(m.items()))
        check(m.get_content_type() == "multipart/report" and
              m.get_param("report-type") == "tlsrpt",
              "Content-Type: %s" % m["Content-Type"])
        parts = [p for p in m.iter_attachments()]
        check(len(parts) == 1 and parts[0].get_content_type() ==
              "application/tlsrpt+gzip", "one gzip attachment")
        if parts:
            begin = json.loads(js)["date-range"]["start-datetime"]
            check(re.fullmatch(r"example\.net!mail\.example!\d+!\d+\.json\.gz",
                               parts[0].get_filename() or "") is not None,
                  "attachment name %r (%s)" % (parts[0].get_filename(),
                                               begin))
            check(gzip.decompress(parts[0].get_content()) == js,
                  "the attachment gunzips to the recorded report")
        # the recorded message is what Postfix delivered (Postfix adds
        # its trace headers in front)
        raw = m.as_bytes(policy=email.policy.compat32)
        rec = payload["mailto:tlsrpt@reports.test"]
        check(rec.split(b"\n\n", 1)[1].replace(b"\r\n", b"\n") in
              raw.replace(b"\r\n", b"\n"),
              "the mailbox holds the recorded message body")
        path = os.path.join(tmp, "delivered.eml")
        with open(path, "wb") as f:
            f.write(raw)
        r2 = rig.run_cmd([MTASTS, "report", "parse", "--strict",
                          "--dkim-pass", "--json", path])
        check(r2.returncode == 0 and '"mismatch":false' in r2.out,
              "mtasts reads the delivered mail: %s %s" % (r2.out, r2.err))
        r2 = rig.run_cmd([MTASTS, "report", "parse", "--canonical",
                          "--dkim-pass", path])
        check(r2.stdout.rstrip(b"\n") == js,
              "the delivered mail holds the recorded report")
    two = sorted(m["To"] for m in msgs if m["TLS-Report-Domain"] ==
                 "two.example")
    check(two == ["a@reports.test", "b@reports.test"],
          "two.example: one message per rua: %s" % two)

    # nothing is sent twice
    r = rig.run_cmd(base + ["--sendmail", pf.sendmail])
    check(r.returncode == 0 and "delivered (attempt" not in r.out,
          "a second send sends nothing: %s" % r.out)
    rows = c.query("SELECT state FROM deliveries WHERE day = ?", (day,))
    check([x[0] for x in rows] == ["delivered"] * 3, "all delivered")
    check(c.query("SELECT COUNT(*) FROM sent_days WHERE day = ?",
                  (day,))[0][0] == 1, "the day's sending is finished")
    check(len(messages(pf)) == 3, "still three messages")
    pf.stop()
    dns.stop()


if __name__ == "__main__":
    sys.exit(main())
