#!/usr/bin/env node
// Peer benchmark: npm mailauth's parsePolicy (lib/mta-sts.js).
//
// Install: cd bench/peers && npm install   (package.json pins mailauth)
// Measures the same policy bytes as bench_text (bench/policy-google.txt):
//
//   mailauth_parse_buffer  parsePolicy(Buffer)  (what fetchPolicy passes)
//   mailauth_parse_string  parsePolicy(string)
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

let mtaSts, version = 'unknown';
try {
    mtaSts = require(path.join(__dirname, 'node_modules', 'mailauth', 'lib', 'mta-sts.js'));
    version = require(path.join(__dirname, 'node_modules', 'mailauth', 'package.json')).version;
} catch (e) {
    console.error(`SKIP mailauth: not installed (${e.code || e.message}); run: cd bench/peers && npm install`);
    process.exit(77);
}
const parsePolicy = mtaSts.parsePolicy;
if (typeof parsePolicy !== 'function') {
    console.error('mailauth: lib/mta-sts.js does not export parsePolicy');
    process.exit(1);
}

const raw = fs.readFileSync(args.policy);
const str = raw.toString('latin1');
const check = parsePolicy(raw);
if (check.version !== 'STSv1' || check.mode !== 'enforce' || check.maxAge !== 86400 || check.mx.length !== 3) {
    console.error('mailauth: unexpected parse result', check);
    process.exit(1);
}

let sink = 0;

function runBatch(input, n) {
    let acc = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
        const p = parsePolicy(input);
        acc += p.mx.length + p.maxAge;
    }
    const t1 = process.hrtime.bigint();
    sink += acc;
    return Number(t1 - t0);
}

function bench(input) {
    runBatch(input, 200000); // JIT warm-up
    let n = 64;
    let t;
    for (;;) {
        t = runBatch(input, n);
        if (t >= (args.batchMs * 1e6) / 4) break;
        n *= 2;
    }
    n = Math.max(1, Math.floor((n * args.batchMs * 1e6) / t));
    const samples = [];
    for (let b = 0; b < args.batches; b++) samples.push(runBatch(input, n) / n);
    samples.sort((x, y) => x - y);
    const m = samples.length;
    const median = m % 2 ? samples[(m - 1) / 2] : (samples[m / 2 - 1] + samples[m / 2]) / 2;
    return { median_ns: median, min_ns: samples[0], iterations_per_batch: n };
}

const cases = [
    Object.assign({ name: 'mailauth_parse_buffer', what: 'mailauth parsePolicy(Buffer)' }, bench(raw)),
    Object.assign({ name: 'mailauth_parse_string', what: 'mailauth parsePolicy(string)' }, bench(str)),
];
const out = { bench: 'mailauth', peer_version: version, node: process.version, batches: args.batches, cases, sink: sink > 0 };
if (args.json) {
    console.log(JSON.stringify(out));
} else {
    console.log(`mailauth ${version}, node ${process.version}, ${args.batches} batches`);
    for (const c of cases) console.log(`${c.name.padEnd(24)} ${c.what.padEnd(32)} ${c.median_ns.toFixed(1).padStart(10)} ns`);
}
