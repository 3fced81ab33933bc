// Benchmark: the wall time of a full `check` of a domain whose SPF tree is three
// include levels deep, served by the lab DNS with 25 ms added to every answer,
// against that domain's DNS critical path: the longest chain of lookups where
// each needs the answer of the one before, times the latency. Computed from the
// run's own query trace, not guessed. Target: wall ≤ 1.3 × critical path, also
// with --ip (mailauth then evaluates SPF one lookup at a time, from the cache
// that the parallel tree walk filled).
// Run: node_modules/.bin/node bench/check-latency.ts [--latency 25] [--runs 5] [--domain bench.spf.example] [--ip 192.0.2.20]
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { spf as mailauthSpf } from 'mailauth/lib/spf/index.js';
import { FixtureDns, loadZoneDir } from '../src/dns/fixture-server.ts';
import { DEFAULT_CONCURRENCY, DnsClient, type TraceEntry } from '../src/dns/resolver.ts';
import { Semaphore } from '../src/util/semaphore.ts';
import { loadChecks } from '../checks/index.ts';
import { checkDomain, prepareChecks, selectChecks } from '../src/cli/commands/check.ts';
import type { DnsSetup } from '../src/cli/common.ts';
import type { RunOptions } from '../src/types.ts';
import type { SpfNode } from '../src/spf/walker.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    latency: { type: 'string', default: '25' },
    runs: { type: 'string', default: '5' },
    domain: { type: 'string', default: 'bench.spf.example' },
    ip: { type: 'string', default: '192.0.2.20' },
  },
});
const LATENCY = Number(values.latency);
const RUNS = Number(values.runs);
const DOMAIN = values.domain!;
const IP = values.ip!;

/**
 * Depth of every query in the dependency graph read from the trace: a name
 * that appears in another query's answer depends on that query; the target and
 * names no answer mentions (_dmarc.D, s1._domainkey.D, the PTR name of an IP)
 * start a chain. Where a name could be known several ways, the shortest chain
 * counts, so the critical path is a lower bound for any implementation.
 */
export function criticalPath(trace: TraceEntry[], target: string): { depth: number; chain: string[] } {
  const queries = new Map<string, TraceEntry>();
  for (const t of trace) queries.set(`${t.type} ${t.name}`, t);
  const list = [...queries.values()];
  const mentions = (t: TraceEntry, name: string) => {
    const re = new RegExp(`(^|[\\s":=@,;])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.?($|[\\s"/,;])`, 'i');
    return t.answers.some((a) => re.test(a));
  };
  const parents = new Map<string, TraceEntry[]>();
  for (const q of list) parents.set(`${q.type} ${q.name}`, list.filter((p) => p !== q && p.name !== q.name && mentions(p, q.name)));
  const depth = new Map<string, { d: number; via?: string }>();
  // shortest-chain relaxation (the graph is small; cycles cannot lower a depth below 1)
  for (const q of list) {
    const key = `${q.type} ${q.name}`;
    if (q.name === target || !parents.get(key)!.length) depth.set(key, { d: 1 });
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const q of list) {
      const key = `${q.type} ${q.name}`;
      for (const p of parents.get(key)!) {
        const pd = depth.get(`${p.type} ${p.name}`);
        if (!pd) continue;
        const cur = depth.get(key);
        if (!cur || pd.d + 1 < cur.d) {
          depth.set(key, { d: pd.d + 1, via: `${p.type} ${p.name}` });
          changed = true;
        }
      }
    }
  }
  let worst = '';
  let max = 0;
  for (const [k, v] of depth) if (v.d > max) [max, worst] = [v.d, k];
  const chain: string[] = [];
  for (let k: string | undefined = worst; k; k = depth.get(k)?.via) chain.unshift(k);
  return { depth: max, chain };
}

/** The SPF part alone, from the walked tree: TXT per level, +1 for a/exists, +2 for mx (MX, then addresses). */
function spfChain(n: SpfNode): number {
  let below = 0;
  for (const t of n.terms) {
    if (t.status !== 'resolved' || !t.lookups) continue;
    if (t.name === 'a' || t.name === 'exists') below = Math.max(below, 1);
    if (t.name === 'mx') below = Math.max(below, (t.mx?.length ? 2 : 1));
  }
  for (const c of n.children) below = Math.max(below, spfChain(c));
  return 1 + below;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dns = await FixtureDns.start({ zone: await loadZoneDir(path.join(ROOT, 'fixtures/zones')), latencyMs: LATENCY });
  try {
    const registry = await loadChecks();
    const all = selectChecks(registry, undefined);
    // the blacklist sweep is bound by throughput (its queries ÷ the concurrency cap), not by a
    // chain of lookups: it gets its own row, measured against that floor
    const dnsChecks = all.filter((c) => c.id !== 'blacklist');
    const setup: DnsSetup = {
      resolvers: [{ host: dns.host, port: dns.port }], timeoutMs: 2500, retries: 2,
      concurrency: DEFAULT_CONCURRENCY, trace: true, semaphore: new Semaphore(DEFAULT_CONCURRENCY),
    };
    const rows: string[][] = [];
    let ok = true;
    const variants = [
      { label: 'check', checks: dnsChecks, ips: [] as string[], target: true },
      { label: `check --ip ${IP}`, checks: dnsChecks, ips: [IP], target: true },
      ...(all.length > dnsChecks.length ? [{ label: `check --ip ${IP}, with blacklist`, checks: all, ips: [IP], target: false }] : []),
    ];
    for (const v of variants) {
      const opts: RunOptions = { ips: v.ips, selectors: [] };
      await prepareChecks(v.checks, registry, opts);
      // one untimed run loads every module and warms the JIT; each timed run has a fresh DNS cache
      await checkDomain(DOMAIN, v.checks, registry, opts, { ...setup, trace: false });
      const walls: number[] = [];
      let cp = { depth: 0, chain: [] as string[] };
      let spfDepth = 0;
      let queries = 0;
      let perCheck = '';
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        const { result, dns: client } = await checkDomain(DOMAIN, v.checks, registry, opts, setup);
        walls.push(performance.now() - t0);
        cp = criticalPath(client.trace, DOMAIN);
        queries = client.trace.length;
        const spf = result.checks.find((c) => c.check === 'spf');
        if (spf?.data?.tree) spfDepth = spfChain(spf.data.tree as SpfNode);
        perCheck = result.checks.map((c) => `${c.check} ${c.ms}`).join(', ');
        if (i === 0) {
          const ev = (spf?.data?.evaluations as { ip: string; result: string }[] | undefined) ?? [];
          console.error(`${v.label}: ${result.checks.map((c) => `${c.check}:${c.status}`).join(' ')}${ev.length ? `; SPF evaluation ${ev.map((e) => `${e.ip} ${e.result}`).join(', ')}` : ''}`);
        }
      }
      const wall = median(walls);
      const cpMs = cp.depth * LATENCY;
      // with a concurrency cap, Q queries cannot take less than ceil(Q / cap) rounds of latency
      const floorMs = Math.ceil(queries / DEFAULT_CONCURRENCY) * LATENCY;
      const bound = Math.max(cpMs, floorMs);
      const ratio = wall / bound;
      if (v.target) ok &&= ratio <= 1.3;
      rows.push([v.label, `${Math.round(wall)} (${Math.round(Math.min(...walls))})`, `${cp.depth} × ${LATENCY} = ${cpMs}`, `${floorMs}`, (wall / cpMs).toFixed(2), ratio.toFixed(2), String(queries), String(spfDepth)]);
      console.error(`  critical path: ${cp.chain.join(' → ')}`);
      console.error(`  per check (ms, last run): ${perCheck}`);
    }

    // for contrast: mailauth alone, one lookup at a time, with an empty cache
    const alone: number[] = [];
    let cpAlone = 0;
    for (let i = 0; i < RUNS; i++) {
      const client = new DnsClient({ resolvers: setup.resolvers, trace: true });
      const t0 = performance.now();
      await mailauthSpf({ sender: `postmaster@${DOMAIN}`, ip: IP, mta: 'bench', resolver: client.mailauthResolver, strict: true });
      alone.push(performance.now() - t0);
      cpAlone = criticalPath(client.trace, DOMAIN).depth;
    }
    const a = median(alone);
    rows.push([`mailauth spf() alone, --ip ${IP}`, `${Math.round(a)} (${Math.round(Math.min(...alone))})`, `${cpAlone} × ${LATENCY} = ${cpAlone * LATENCY}`, '', (a / (cpAlone * LATENCY)).toFixed(2), '', '', '']);

    const head = ['run', 'wall ms median (min)', 'critical path ms', 'cap floor ms', 'wall / path', 'wall / max(path, floor)', 'queries', 'SPF chain'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    console.log(`${DOMAIN}, ${LATENCY} ms per answer, ${RUNS} runs each, load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs; checks: ${dnsChecks.map((c) => c.id).join(', ')}${all.length > dnsChecks.length ? ' (+ blacklist in the last check row)' : ''}`);
    console.log(line(head));
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const r of rows) console.log(line(r));
    console.log(`target wall ≤ 1.3 × critical path (DNS checks, with and without --ip): ${ok ? 'met' : 'NOT met'}`);
  } finally {
    await dns.stop();
  }
}

await main();
