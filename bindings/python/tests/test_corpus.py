"""The corpus verdicts (corpus/MANIFEST.tsv at the top of the repository),
checked through the Python API with the rules of tests/corpus:

  valid       default parse OK with no warning, strict parse OK
  lenient-ok  default parse OK with a warning, strict parse StrictError
  invalid     both parses fail with a protocol error (not EINVAL/ENOMEM)

and every accepted input round-trips (format or to_json, parse, same
bytes). tests/corpus/test_corpus.c checks the same rows in C in more depth
(model equality, allocations); this is the same verdicts seen through the
binding."""

import os

import pytest

import mtasts
from conftest import REPO_ROOT

CORPUS = os.path.join(REPO_ROOT, "corpus")
MANIFEST = os.path.join(CORPUS, "MANIFEST.tsv")

# Rows whose manifest verdict a decision of the project overrides; the same
# list as tests/corpus/test_corpus.c.
DISPUTED = {
    "reports/example__tlsrpt-be__idn-no-policy-found.json": "valid",
}


def load_rows():
    if not os.path.exists(MANIFEST):
        return []
    rows = []
    with open(MANIFEST, encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            line = line.rstrip("\n")
            if line:
                rows.append(line.split("\t"))
    return rows


ROWS = load_rows()


def read_input(path, kind):
    if kind.startswith(("sts-record/", "tlsrpt-record/")):
        file, _, n = path.partition("#L")
        with open(os.path.join(CORPUS, file), "rb") as f:
            line = f.read().split(b"\n")[int(n) - 1]
        return line[:line.rindex(b"\t")]
    with open(os.path.join(CORPUS, path), "rb") as f:
        return f.read()


def parser(path, kind):
    if kind.startswith("policy/"):
        return mtasts.Policy.parse, lambda o: o.format(), lambda o: o.warnings
    if kind.startswith("sts-record/"):
        return (mtasts.StsRecord.parse, lambda o: o.format(),
                lambda o: o.warnings)
    if kind.startswith("tlsrpt-record/"):
        return (mtasts.TlsrptRecord.parse, lambda o: o.format(),
                lambda o: o.warnings)
    if path.endswith(".eml"):
        def ingest(data, strict=False):
            return mtasts.mail_ingest(data, dkim_pass=True, strict=strict)[0]
        return ingest, lambda o: o.to_json(), lambda o: list(o.warnings)
    return (mtasts.Report.parse, lambda o: o.to_json(),
            lambda o: list(o.warnings))


def klass(verdict):
    for k in ("valid", "lenient-ok", "invalid"):
        if verdict.startswith(k):
            return k
    raise AssertionError("unknown verdict %r" % verdict)


def attempt(fn, data, strict):
    try:
        return fn(data, strict=strict), None
    except mtasts.Error as e:
        return None, e


def test_corpus_present():
    if not ROWS:
        pytest.skip("corpus/MANIFEST.tsv is not in this checkout (the "
                    "corpus is copied into the repository by issue 10); "
                    "no corpus verdicts checked")
    assert len(ROWS) > 100


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_corpus_row(row):
    path, kind, verdict = row[0], row[4], row[5]
    if kind.startswith("report/") and not path.endswith(
            (".json", ".json.gz", ".eml")):
        pytest.skip("not a report file")
    expect = DISPUTED.get(path, klass(verdict))
    parse, fmt, warns = parser(path, kind)
    data = read_input(path, kind)
    obj0, e0 = attempt(parse, data, False)
    objs, es = attempt(parse, data, True)
    if expect == "valid":
        assert e0 is None, "default parse failed: %s" % e0
        assert warns(obj0) == []
        assert es is None, "strict parse failed: %s" % es
    elif expect == "lenient-ok":
        assert e0 is None, "default parse failed: %s" % e0
        assert warns(obj0) != []
        assert isinstance(es, mtasts.StrictError), es
        assert es.reason == mtasts.Reason.STRICT
    else:
        assert obj0 is None and objs is None, "accepted"
        for e in (e0, es):
            assert e.code not in (mtasts.Status.EINVAL, mtasts.Status.ENOMEM)
            assert e.offset is not None and e.offset <= len(data)
    # round trip: the canonical text parses (without a new warning: only
    # deviations the canonical form keeps, such as an address kept as
    # text, stay) and formats to the same bytes
    for obj in (obj0, objs):
        if obj is None:
            continue
        text = fmt(obj)
        if path.endswith(".eml"):
            again = mtasts.Report.parse(text)
        else:
            again = parse(text)
        assert set(warns(again)) <= set(warns(obj))
        assert fmt(again) == text
