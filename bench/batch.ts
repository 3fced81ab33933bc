// Benchmark: `inboxlens check --domains-file` over 1,000 fixture domains served
// by the lab DNS with 25 ms injected latency. Reports domains/second and the CLI
// process's peak RSS at the default --concurrency and at 256.
// Run: node_modules/.bin/node bench/batch.ts [--domains 1000] [--latency 25]
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FixtureDns, parseZone } from '../src/dns/fixture-server.ts';
import { DEFAULT_CONCURRENCY } from '../src/dns/resolver.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { domains: { type: 'string', default: '1000' }, latency: { type: 'string', default: '25' }, jobs: { type: 'string', default: '16' } } });
const N = Number(values.domains);
const LATENCY = Number(values.latency);

/** Realistic customer domains: SPF with an ESP include, DKIM, DMARC, MX. */
function zoneFor(n: number): Record<string, unknown> {
  const z: Record<string, unknown> = {
    '_spf.esp.bench': { TXT: ['v=spf1 ip4:198.51.100.0/24 ip4:203.0.113.0/24 -all'] },
    'mx.esp.bench': { A: ['198.51.100.25'] },
  };
  for (let i = 0; i < n; i++) {
    const d = `customer${i}.bench`;
    z[d] = { TXT: [`v=spf1 ip4:192.0.2.${i % 250} include:_spf.esp.bench -all`], MX: ['10 mx.esp.bench'] };
    z[`_dmarc.${d}`] = { TXT: [`v=DMARC1; p=${i % 3 ? 'reject' : 'none'}; rua=mailto:dmarc@${d}`] };
    z[`s1._domainkey.${d}`] = { TXT: ['v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='] };
  }
  return z;
}

function readHwm(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then(
    (s) => Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) * 1024,
    () => 0,
  );
}

/** Peak RSS of a process and its children (a batch runs in a child with a bounded heap). */
async function treeHwm(pid: number): Promise<number> {
  let total = await readHwm(pid);
  const kids = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  for (const k of kids.trim().split(/\s+/).filter(Boolean)) total += await treeHwm(Number(k));
  return total;
}

async function runBatch(file: string, dns: FixtureDns, concurrency: number): Promise<{ wall: number; lines: number; rss: number; code: number | null }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/inboxlens.js'), 'check', '--domains-file', file, '--resolver', dns.address, '--concurrency', String(concurrency), '--jobs', values.jobs!, '--timeout', '2s', '--no-save'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let lines = 0;
  let rss = 0;
  child.stdout.on('data', (d: Buffer) => {
    for (const b of d) if (b === 10) lines++;
  });
  const poll = setInterval(async () => {
    rss = Math.max(rss, await treeHwm(child.pid!));
  }, 50);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  clearInterval(poll);
  return { wall: performance.now() - t0, lines, rss, code };
}

const dns = await FixtureDns.start({ zone: parseZone(zoneFor(N), 'bench'), latencyMs: LATENCY });
const dir = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-bench-'));
const file = path.join(dir, 'domains.txt');
await writeFile(file, Array.from({ length: N }, (_, i) => `customer${i}.bench`).join('\n') + '\n');
console.log(`check --domains-file: ${N} domains, ${LATENCY} ms latency per query, --jobs ${values.jobs}, Node ${process.version}, ${os.cpus().length} cores`);
console.log('concurrency | wall s | domains/s | queries | peak RSS MB (all processes) | exit');
for (const c of [DEFAULT_CONCURRENCY, 256]) {
  dns.resetCounts();
  const r = await runBatch(file, dns, c);
  if (r.lines !== N) console.log(`  !! expected ${N} NDJSON lines, got ${r.lines}`);
  console.log(`${String(c).padStart(11)} | ${(r.wall / 1000).toFixed(2).padStart(6)} | ${(N / (r.wall / 1000)).toFixed(0).padStart(9)} | ${String(dns.queries).padStart(7)} | ${(r.rss / 1048576).toFixed(0).padStart(11)} | ${r.code}`);
}
await dns.stop();
await rm(dir, { recursive: true, force: true });
