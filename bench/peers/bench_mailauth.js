#!/usr/bin/env node
// Peer benchmark: npm mailauth's text paths (lib/mta-sts.js): policy parse,
// TXT record parse and MX match.
//
// Install: cd bench/peers && npm install   (package.json pins mailauth)
// Measures the same inputs as bench_text: the policy bytes of
// bench/policy-google.txt, the TXT record and the MX names and patterns
// of bench_text.c (TXT_RECORD, MX_* below):
//
//   mailauth_parse_buffer  parsePolicy(Buffer)  (what fetchPolicy passes)
//   mailauth_parse_string  parsePolicy(string)
//   mailauth_txt_parse     lib/parse-dkim-headers(string): the parser
//                          resolvePolicy runs on the TXT record
//   mailauth_mx_wildcard   validateMx(host, policy) with the one pattern
//                          "*.aspmx.l.google.com" (as mtasts_mx_match)
//   mailauth_mx_exact      validateMx(host, policy) with the one pattern
//                          "aspmx.l.google.com", host in mixed case
//
// JIT warm-up first, then many batches of ~20 ms timed with
// process.hrtime.bigint(); reports the median ns/op.
// Exit status 77 when mailauth is not installed.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

function usage() {
    console.error('usage: bench_mailauth.js [--json] [--batches N] [--batch-ms MS] [--policy FILE]');
    process.exit(2);
}

const args = { json: false, batches: 31, batchMs: 20, policy: path.join(__dirname, '..', 'policy-google.txt') };
for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--batches') args.batches = parseInt(process.argv[++i], 10);
    else if (a === '--batch-ms') args.batchMs = parseFloat(process.argv[++i]);
    else if (a === '--policy') args.policy = process.argv[++i];
    else usage();
}
if (!(args.batches > 0) || !(args.batchMs > 0)) usage();

// The same inputs as bench_text.c (txt_text, mx_*); the patterns are also
// checked to be the policy's own.
const TXT_RECORD = 'v=STSv1; id=20160831085700Z;';
const MX_WILD_PATTERN = '*.aspmx.l.google.com';
const MX_WILD_HOST = 'alt1.aspmx.l.google.com';
const MX_EXACT_PATTERN = 'aspmx.l.google.com';
const MX_EXACT_HOST = 'ASPMX.L.google.com';

let mtaSts, parseDkimHeaders, version = 'unknown';
try {
    mtaSts = require(path.join(__dirname, 'node_modules', 'mailauth', 'lib', 'mta-sts.js'));
    parseDkimHeaders = require(path.join(__dirname, 'node_modules', 'mailauth', 'lib', 'parse-dkim-headers.js'));
    version = require(path.join(__dirname, 'node_modules', 'mailauth', 'package.json')).version;
} catch (e) {
    console.error(`SKIP mailauth: not installed (${e.code || e.message}); run: cd bench/peers && npm install`);
    process.exit(77);
}
const { parsePolicy, validateMx } = mtaSts;
if (typeof parsePolicy !== 'function' || typeof validateMx !== 'function' || typeof parseDkimHeaders !== 'function') {
    console.error('mailauth: lib/mta-sts.js does not export parsePolicy/validateMx, or lib/parse-dkim-headers.js no function');
    process.exit(1);
}

const raw = fs.readFileSync(args.policy);
const str = raw.toString('latin1');
const check = parsePolicy(raw);
if (check.version !== 'STSv1' || check.mode !== 'enforce' || check.maxAge !== 86400 || check.mx.length !== 3) {
    console.error('mailauth: unexpected parse result', check);
    process.exit(1);
}

if (!check.mx.includes(MX_WILD_PATTERN) || !check.mx.includes(MX_EXACT_PATTERN)) {
    console.error('mailauth: the MX patterns are not those of the policy', check.mx);
    process.exit(1);
}
// validateMx on a policy holding only the pattern measured, so that it does
// one pattern-host comparison as mtasts_mx_match does
const wildPolicy = Object.assign({}, check, { mx: [MX_WILD_PATTERN] });
const exactPolicy = Object.assign({}, check, { mx: [MX_EXACT_PATTERN] });
const txt = parseDkimHeaders(TXT_RECORD);
if (txt?.parsed?.v?.value !== 'STSv1' || txt?.parsed?.id?.value !== '20160831085700Z') {
    console.error('mailauth: unexpected TXT parse result', txt);
    process.exit(1);
}
if (!validateMx(MX_WILD_HOST, wildPolicy).valid || !validateMx(MX_EXACT_HOST, exactPolicy).valid ||
    validateMx('aspmx.l.google.com', wildPolicy).valid || validateMx('alt1.aspmx.l.google.com', exactPolicy).valid) {
    console.error('mailauth: unexpected validateMx results');
    process.exit(1);
}

let sink = 0;

// One batch of n calls per case, each its own loop so that every call site
// sees one function (a shared loop calling op(input) would be polymorphic
// and let the JIT's inlining depend on which case ran first). Each result
// is folded into the sink so that no call can be dropped.
function timed(loop, input, n) {
    const t0 = process.hrtime.bigint();
    const acc = loop(input, n);
    const t1 = process.hrtime.bigint();
    sink += acc;
    return Number(t1 - t0);
}

function policyLoop(input, n) {
    let acc = 0;
    for (let i = 0; i < n; i++) {
        const p = parsePolicy(input);
        acc += p.mx.length + p.maxAge;
    }
    return acc;
}
function policyLoop2(input, n) {
    let acc = 0;
    for (let i = 0; i < n; i++) {
        const p = parsePolicy(input);
        acc += p.mx.length + p.maxAge;
    }
    return acc;
}
function txtLoop(input, n) {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += parseDkimHeaders(input).parsed.id.value.length;
    return acc;
}
function wildLoop(host, n) {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += validateMx(host, wildPolicy).valid ? 1 : 0;
    return acc;
}
function exactLoop(host, n) {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += validateMx(host, exactPolicy).valid ? 1 : 0;
    return acc;
}

function bench(loop, input) {
    timed(loop, input, 200000); // JIT warm-up
    let n = 64;
    let t;
    for (;;) {
        t = timed(loop, input, n);
        if (t >= (args.batchMs * 1e6) / 4) break;
        n *= 2;
    }
    n = Math.max(1, Math.floor((n * args.batchMs * 1e6) / t));
    const samples = [];
    for (let b = 0; b < args.batches; b++) samples.push(timed(loop, input, n) / n);
    samples.sort((x, y) => x - y);
    const m = samples.length;
    const median = m % 2 ? samples[(m - 1) / 2] : (samples[m / 2 - 1] + samples[m / 2]) / 2;
    return { median_ns: median, min_ns: samples[0], iterations_per_batch: n };
}

const cases = [
    Object.assign({ name: 'mailauth_parse_buffer', what: 'mailauth parsePolicy(Buffer)' }, bench(policyLoop, raw)),
    Object.assign({ name: 'mailauth_parse_string', what: 'mailauth parsePolicy(string)' }, bench(policyLoop2, str)),
    Object.assign({ name: 'mailauth_txt_parse', what: 'mailauth parse-dkim-headers(TXT)' }, bench(txtLoop, TXT_RECORD)),
    Object.assign({ name: 'mailauth_mx_wildcard', what: 'mailauth validateMx, *. pattern' }, bench(wildLoop, MX_WILD_HOST)),
    Object.assign({ name: 'mailauth_mx_exact', what: 'mailauth validateMx, exact' }, bench(exactLoop, MX_EXACT_HOST)),
];
const out = { bench: 'mailauth', peer_version: version, node: process.version, batches: args.batches, cases, sink: sink > 0 };
if (args.json) {
    console.log(JSON.stringify(out));
} else {
    console.log(`mailauth ${version}, node ${process.version}, ${args.batches} batches`);
    for (const c of cases) console.log(`${c.name.padEnd(24)} ${c.what.padEnd(32)} ${c.median_ns.toFixed(1).padStart(10)} ns`);
}
