// Benchmark: start-up of the INSTALLED CLI. Packs the tarball (`npm pack`, which
// builds dist/), installs it globally into a temporary prefix, then measures
// whole-process wall time and peak RSS (/usr/bin/time's %M) of
//   inboxlens --version | --help | check --help | check D --only mx
// (the last against the lab DNS, fixtures/zones, at 0 ms latency), median of N,
// side by side in the same run with bare `node -e 0` on the same Node, runs interleaved.
// Targets (issue 11): --version ≤ 150 ms and ≤ 100 ms / 30 MB above bare node;
// --help ≤ 250 ms; check D --only mx ≤ 300 ms.
// Run: node_modules/.bin/node bench/startup.ts [--runs 10] [--tgz FILE]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { FixtureDns, loadZoneDir } from '../src/dns/fixture-server.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, tgz: { type: 'string' }, domain: { type: 'string', default: 'good.example' } } });
const RUNS = Number(values.runs);
const TIME = '/usr/bin/time';
if (!existsSync(TIME)) throw new Error('bench/startup needs /usr/bin/time (Debian: apt-get install time) for the peak RSS');

const nodeBin = path.dirname(process.execPath);
const env = { ...process.env, PATH: `${nodeBin}:${process.env.PATH}`, NO_COLOR: '1', INBOXLENS_NO_CONFIG: '1' };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-startup-'));

interface Sample { ms: number; rssMb: number; code: number }

function once(cmd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const out = path.join(tmp, 'time.txt');
    const t0 = performance.now();
    const child = spawn(TIME, ['-f', '%M', '-o', out, cmd, ...args], { env: { ...env, ...extraEnv }, cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      const kb = Number(readFileSync(out, 'utf8').trim().split('\n').pop());
      resolve({ ms, rssMb: kb / 1024, code: code ?? -1 });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  let tgz = values.tgz;
  if (!tgz) {
    process.stderr.write('packing…\n');
    const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: ROOT, env, encoding: 'utf8' }).trim().split('\n').pop()!;
    tgz = path.join(tmp, name);
  }
  const prefix = path.join(tmp, 'global');
  process.stderr.write('installing…\n');
  execFileSync('npm', ['install', '--silent', '--no-audit', '--no-fund', '-g', '--prefix', prefix, tgz], { env, stdio: 'inherit' });
  const bin = path.join(prefix, 'bin/inboxlens');
  const dns = await FixtureDns.start({ zone: await loadZoneDir(path.join(ROOT, 'fixtures/zones')), latencyMs: 0 });
  try {
    const cases: { label: string; cmd: string; args: string[]; target?: number; env?: Record<string, string> }[] = [
      { label: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
      { label: 'inboxlens --version', cmd: bin, args: ['--version'], target: 150 },
      { label: 'inboxlens --help', cmd: bin, args: ['--help'], target: 250 },
      { label: 'inboxlens check --help', cmd: bin, args: ['check', '--help'] },
      { label: `inboxlens check ${values.domain} --only mx`, cmd: bin, args: ['check', values.domain!, '--only', 'mx', '--resolver', dns.address, '--no-save'], target: 300 },
      // the bin enables Node's compile cache (warm after the first run): the same without it
      { label: `… same, NODE_DISABLE_COMPILE_CACHE=1`, cmd: bin, args: ['check', values.domain!, '--only', 'mx', '--resolver', dns.address, '--no-save'], env: { NODE_DISABLE_COMPILE_CACHE: '1' } },
    ];
    const samples = cases.map(() => [] as Sample[]);
    for (const [i, c] of cases.entries()) await once(c.cmd, c.args, c.env).then((s) => { if (s.code !== 0) throw new Error(`${c.label} exited ${s.code}`); void i; }); // warm the file cache
    for (let r = 0; r < RUNS; r++) {
      for (const [i, c] of cases.entries()) samples[i]!.push(await once(c.cmd, c.args, c.env));
    }
    const base = { ms: median(samples[0]!.map((s) => s.ms)), rss: median(samples[0]!.map((s) => s.rssMb)) };
    const rows = cases.map((c, i) => {
      const ms = median(samples[i]!.map((s) => s.ms));
      const rss = median(samples[i]!.map((s) => s.rssMb));
      const ok = c.target === undefined ? '' : ms <= c.target && (c.label !== 'inboxlens --version' || (ms - base.ms <= 100 && rss - base.rss <= 30)) ? 'yes' : 'NO';
      return [c.label, ms.toFixed(0), i ? `+${(ms - base.ms).toFixed(0)}` : '', rss.toFixed(1), i ? `+${(rss - base.rss).toFixed(1)}` : '', c.target ? `≤ ${c.target} ms${c.label.endsWith('--version') ? ', ≤ +100 ms, ≤ +30 MB' : ''}` : '', ok];
    });
    const header = ['command', 'wall ms (median)', 'vs node', 'peak RSS MB (median)', 'vs node', 'target', 'met'];
    console.log(`Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, load average ${os.loadavg()[0]!.toFixed(1)}, ${RUNS} runs each, median; ${new Date().toISOString().slice(0, 10)}\n`);
    console.log(`| ${header.join(' | ')} |`);
    console.log(`|${header.map(() => '---').join('|')}|`);
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
    if (rows.some((r) => r[6] === 'NO')) process.exitCode = 1;
  } finally {
    await dns.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
