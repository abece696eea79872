#!/usr/bin/env node
// Peer benchmark: npm mailauth's cached MTA-STS path (lib/mta-sts.js).
//
// Install: cd bench/peers && npm install   (package.json pins mailauth)
// No network is used: getPolicy gets opts.resolver, a stub async resolver
// that answers the TXT query with the record of the known policy's id (and
// throws on anything else, so a fetch would fail the self-check).
//
//   mailauth_cached_decide  await getPolicy(domain, knownPolicy, {resolver})
//                           -> status 'renewed' (TXT parsed, id compared, no
//                           fetch), then validateMx(mx, policy): the same
//                           work as our lookup_cached_decide.
//   mailauth_cached_policy  the getPolicy call alone (information).
//
// knownPolicy is what getPolicy itself returned earlier, but with an
// expires in the past: mailauth 4.13.3 only takes the 'renewed' path when
// knownPolicy.expires is absent or past; with a future expires it fetches
// the policy again (see bench/README.md).
//
// JIT warm-up first, then batches of ~20 ms, each a loop of awaited calls
// timed with process.hrtime.bigint(); the median ns per call is reported,
// nothing subtracted. Exit status 77 when mailauth is not installed.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

function usage() {
    console.error('usage: bench_mailauth_discovery.js [--json] [--batches N] [--batch-ms MS] [--policy FILE]');
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
    console.error(`SKIP mailauth discovery: not installed (${e.code || e.message}); run: cd bench/peers && npm install`);
    process.exit(77);
}
const { getPolicy, validateMx, parsePolicy } = mtaSts;
if (typeof getPolicy !== 'function' || typeof validateMx !== 'function') {
    console.error('mailauth: lib/mta-sts.js does not export getPolicy/validateMx');
    process.exit(1);
}

const DOMAIN = 'google.com';
const ID = '20190429T010101';
const TXT = [['v=STSv1; id=' + ID + ';']]; // dns.promises.resolve(name, 'TXT') shape
const MX = 'alt1.aspmx.l.google.com';

let dnsCalls = 0;
async function resolver(name, type) {
    if (type !== 'TXT' || name !== '_mta-sts.' + DOMAIN) {
        const err = new Error(`unexpected query ${name} ${type}`);
        err.code = 'EUNEXPECTED';
        throw err;
    }
    dnsCalls++;
    return TXT;
}
const opts = { resolver };

const parsed = parsePolicy(fs.readFileSync(args.policy));
const knownPolicy = Object.assign({ id: ID }, parsed, {
    expires: new Date(Date.now() - 3600 * 1000).toISOString()
});

let sink = 0;

async function cachedDecide() {
    const r = await getPolicy(DOMAIN, knownPolicy, opts);
    const v = validateMx(MX, r.policy);
    return v.valid ? 1 : 0;
}

async function cachedPolicy() {
    const r = await getPolicy(DOMAIN, knownPolicy, opts);
    return r.policy.maxAge;
}

async function selfCheck() {
    const r = await getPolicy(DOMAIN, knownPolicy, opts);
    const v = validateMx(MX, r.policy);
    if (r.status !== 'renewed' || r.policy.mode !== 'enforce' || !v.valid || v.testing || dnsCalls !== 1) {
        console.error('mailauth: cached path self-check failed', r, v, dnsCalls);
        process.exit(1);
    }
}

async function runBatch(fn, n) {
    let acc = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) acc += await fn();
    const t1 = process.hrtime.bigint();
    sink += acc;
    return Number(t1 - t0);
}

async function bench(fn) {
    await runBatch(fn, 100000); // JIT warm-up
    let n = 64;
    let t;
    for (;;) {
        t = await runBatch(fn, n);
        if (t >= (args.batchMs * 1e6) / 4) break;
        n *= 2;
    }
    n = Math.max(1, Math.floor((n * args.batchMs * 1e6) / t));
    const samples = [];
    for (let b = 0; b < args.batches; b++) samples.push((await runBatch(fn, n)) / n);
    samples.sort((x, y) => x - y);
    const m = samples.length;
    const median = m % 2 ? samples[(m - 1) / 2] : (samples[m / 2 - 1] + samples[m / 2]) / 2;
    return { median_ns: median, min_ns: samples[0], iterations_per_batch: n };
}

(async () => {
    await selfCheck();
    const cases = [
        Object.assign({ name: 'mailauth_cached_decide', what: 'mailauth getPolicy(renewed)+validateMx' }, await bench(cachedDecide)),
        Object.assign({ name: 'mailauth_cached_policy', what: 'mailauth getPolicy(renewed) (info)' }, await bench(cachedPolicy)),
    ];
    const out = { bench: 'mailauth_discovery', peer_version: version, node: process.version, batches: args.batches, cases, sink: sink > 0 };
    if (args.json) {
        console.log(JSON.stringify(out));
    } else {
        console.log(`mailauth ${version}, node ${process.version}, ${args.batches} batches`);
        for (const c of cases) console.log(`${c.name.padEnd(24)} ${c.what.padEnd(40)} ${c.median_ns.toFixed(1).padStart(10)} ns`);
    }
})().catch(e => {
    console.error('mailauth discovery bench failed:', e);
    process.exit(1);
});
