// Benchmark (not a test): a blacklist sweep of 50 IPs × the default IPv4 zones
// against the lab DNS with injected latency, side by side in one run with the npm
// `dnsbl` package's batch() at the same concurrency. Reports both wall times, the
// ratio, and the ideal (queries ÷ concurrency × latency).
// Run: node_modules/.bin/node bench/blacklist.ts [--ips 50] [--latency 25] [--concurrency 64] [--rounds 5]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { batch } from 'dnsbl';
import { DnsClient } from '../src/dns/resolver.ts';
import { checkSettings, runTarget } from '../src/engine.ts';
import type { Check, RunOptions } from '../src/types.ts';
import blacklist from '../checks/blacklist.ts';
import { builtinCatalog } from '../src/dnsbl/zones.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    ips: { type: 'string', default: '50' },
    latency: { type: 'string', default: '25' },
    concurrency: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '9' },
  },
});
const N = Number(values.ips);
const LATENCY = Number(values.latency);
const C = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

// 198.18.0.0/15 is the benchmarking range (RFC 2544); every 10th address is listed on SpamCop
const ips = Array.from({ length: N }, (_, i) => `198.18.${Math.floor((i + 1) / 256)}.${(i + 1) % 256}`);
const zones = builtinCatalog().zones.filter((z) => z.default && z.type === 'ip' && (z.families ?? [4]).includes(4));
const extra: Record<string, unknown> = {};
ips.forEach((ip, i) => {
  if (i % 10 === 0) extra[`${ip.split('.').reverse().join('.')}.bl.spamcop.net`] = { A: ['127.0.0.2'], TXT: [`Blocked - see https://www.spamcop.net/bl.shtml?${ip}`] };
});
// The lab DNS runs on its own thread, as a real resolver runs on another machine:
// in this thread it would take CPU from whichever client is being measured.
const worker = new Worker(
  `const { parentPort, workerData } = require('node:worker_threads');
   (async () => {
     const m = await import(workerData.module);
     const zone = m.mergeZone(await m.loadZoneFile(workerData.zoneFile), m.parseZone(workerData.extra, 'bench'));
     const dns = await m.FixtureDns.start({ zone, latencyMs: workerData.latency });
     parentPort.postMessage(dns.port);
     parentPort.on('message', async () => { await dns.stop(); process.exit(0); });
   })();`,
  { eval: true, workerData: { module: pathToFileURL(path.join(ROOT, 'src/dns/fixture-server.ts')).href, zoneFile: path.join(ROOT, 'fixtures/zones/dnsbl.yaml'), extra, latency: LATENCY } },
);
const dns = { port: await new Promise<number>((resolve) => worker.once('message', resolve)) };

async function ours(): Promise<{ ms: number; queries: number; listed: number; status: string }> {
  const client = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: dns.port }], concurrency: C, timeoutMs: 2000, retries: 1 });
  const opts: RunOptions = { ips: [], selectors: [], blacklistTargets: ips };
  const registry = new Map<string, Check>([['blacklist', blacklist]]);
  const t0 = performance.now();
  await checkSettings(blacklist, opts);
  const res = await runTarget({ target: 'bench', checks: [blacklist], registry, opts, dns: client });
  const ms = performance.now() - t0;
  const c = res.checks[0]!;
  const listed = (c.data as any).targets.reduce((n: number, t: any) => n + t.listedOn, 0);
  return { ms, queries: client.wireQueries, listed, status: c.status };
}

// the same lookups dnsbl makes, through our DNS layer alone: no self-test, no TXT, no decoding
async function oursLookupsOnly(): Promise<{ ms: number; queries: number }> {
  const client = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: dns.port }], concurrency: C, timeoutMs: 2000, retries: 1 });
  const names = ips.flatMap((ip) => zones.map((z) => `${ip.split('.').reverse().join('.')}.${z.name}`));
  const t0 = performance.now();
  await Promise.all(names.map((n) => client.query(n, 'A')));
  return { ms: performance.now() - t0, queries: client.wireQueries };
}

async function theirs(): Promise<{ ms: number; queries: number; listed: number }> {
  const t0 = performance.now();
  const out = await batch(ips, zones.map((z) => z.name), { servers: [`127.0.0.1:${dns.port}`], concurrency: C, timeout: 2000 });
  return { ms: performance.now() - t0, queries: out.length, listed: out.filter((r: any) => r.listed).length };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
// warm-up (module loading, JIT), then interleaved rounds
for (let i = 0; i < 2; i++) {
  await ours();
  await oursLookupsOnly();
  await theirs();
}
const a: Awaited<ReturnType<typeof ours>>[] = [];
const b: Awaited<ReturnType<typeof theirs>>[] = [];
const r: Awaited<ReturnType<typeof oursLookupsOnly>>[] = [];
// the order rotates each round, so no client always runs right after the same other one
const runs: (() => Promise<void>)[] = [
  async () => void a.push(await ours()),
  async () => void r.push(await oursLookupsOnly()),
  async () => void b.push(await theirs()),
];
for (let i = 0; i < ROUNDS; i++) {
  for (let k = 0; k < runs.length; k++) await runs[(i + k) % runs.length]!();
}
worker.postMessage('stop');
await new Promise((resolve) => worker.once('exit', resolve));

const oursMs = median(a.map((x) => x.ms));
const theirsMs = median(b.map((x) => x.ms));
const rawMs = median(r.map((x) => x.ms));
const q = a[0]!.queries;
const idealOurs = Math.ceil(q / C) * LATENCY;
const idealTheirs = Math.ceil(b[0]!.queries / C) * LATENCY;
const row = (k: string, v: string) => console.log(`${k.padEnd(44)} ${v}`);
console.log(`blacklist sweep: ${N} IPs × ${zones.length} default IPv4 zones, ${LATENCY} ms latency, concurrency ${C}, median of ${ROUNDS} rounds`);
row('inboxlens (self-test + code decoding + TXT)', `${oursMs.toFixed(0)} ms  (${q} queries: ${N * zones.length} lookups + ${zones.length * 2} self-test + ${q - N * zones.length - zones.length * 2} TXT; ${a[0]!.listed} listings; status ${a[0]!.status})`);
row('npm dnsbl batch()', `${theirsMs.toFixed(0)} ms  (${b[0]!.queries} queries; ${b[0]!.listed} listings; no self-test, no codes)`);
row('inboxlens DNS layer, the same lookups only', `${rawMs.toFixed(0)} ms  (${r[0]!.queries} queries: what dnsbl does, nothing more)`);
row('ratio inboxlens / dnsbl', `${(oursMs / theirsMs).toFixed(2)}  (target ≤ 1.00)`);
row('ratio, the same lookups only', `${(rawMs / theirsMs).toFixed(2)}`);
// At a fixed latency the cap makes the sweep run in waves of C queries: a run of q
// queries needs ⌈q ÷ C⌉ round trips, whatever the client.
const waves = (n: number) => Math.ceil(n / C);
row('round trips at this cap (⌈queries ÷ C⌉)', `inboxlens ${waves(q)}, dnsbl ${waves(b[0]!.queries)}${waves(q) > waves(b[0]!.queries) ? `: the ${q - b[0]!.queries} extra queries need ${waves(q) - waves(b[0]!.queries)} more` : ''}`);
row('ideal for inboxlens (⌈queries ÷ C⌉ × latency)', `${idealOurs} ms → ${(oursMs / idealOurs).toFixed(2)}× ideal  (target ≤ 1.5×)`);
row('ideal for dnsbl', `${idealTheirs} ms → ${(theirsMs / idealTheirs).toFixed(2)}× ideal`);
