// Benchmark: `placement collect` with many seeds at one host (issue 10, "Every
// wait bounded": 20,000 seeds took 59 s and 1.44 GB at --timeout 5s, 2,000 took
// 6.7 s). One lab Dovecot on loopback; N seeds (default 2,000 and 20,000), each a
// distinct address whose login is one of a few real lab users (--users, default
// 64), so every seed can log in but no copy ever arrives: every seed runs to the
// 5 s deadline, the realistic worst case. The CLI runs as a whole process under
// /usr/bin/time -v; reported: wall time, peak RSS, exit code, what the rows say
// (missing: searched and not there; error: never checked, with the reason).
// Bounded: loopback only, each run killed after --kill-after (default 180 s).
// Run: node_modules/.bin/node bench/seeds.ts [--seeds 2000,20000] [--users 64] [--timeout 5s] [-- extra collect args]
// (BENCH_NODE_FLAGS='--cpu-prof --cpu-prof-dir=DIR' profiles the collect process)
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDovecot } from '../src/lab/dovecot.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seeds: { type: 'string', default: '2000,20000' },
    users: { type: 'string', default: '64' },
    timeout: { type: 'string', default: '5s' },
    'kill-after': { type: 'string', default: '180' },
  },
});
const counts = values.seeds!.split(',').map(Number);
const nUsers = Number(values.users);
const TOKEN = 'il-aaaaaaaa-0000000000';

const users = Array.from({ length: nUsers }, (_, i) => ({ user: `u${i}@bench.lab.test`, pass: `pw-${i}-bench`, layout: 'generic' as const }));
const dovecot = await startDovecot({ users });
// a short directory: the seeds file repeats the CA path once per seed (the YAML cap is 4 MB)
const dir = await mkdtemp(path.join(os.tmpdir(), 'ilb-'));
const caFile = path.join(dir, 'ca.pem');
await writeFile(caFile, dovecot.caPem);

/** N seeds as JSON (a subset of YAML): compact, so 20,000 stay under the seeds-file cap. */
function seedsFile(n: number): string {
  const seeds = Array.from({ length: n }, (_, i) => {
    const u = users[i % nUsers]!;
    return { address: `s${i}@bench.lab.test`, imap: { host: dovecot.host, port: dovecot.imapPort, secure: false }, ca: caFile, auth: { user: u.user, pass: u.pass } };
  });
  return JSON.stringify({ seeds });
}

interface Run { n: number; wallMs: number; rssMb: number; code: number | null; placements: Record<string, number>; reasons: Record<string, number>; stderr: string }

function collect(file: string, n: number): Promise<Run> {
  // BENCH_NODE_FLAGS: e.g. --cpu-prof --cpu-prof-dir=/tmp/prof, to see where the time goes
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const args = ['-v', process.execPath, ...flags, path.join(ROOT, 'bin/inboxlens.js'), 'placement', 'collect', '--seeds', file, '--token', TOKEN, '--timeout', values.timeout!, '--json', ...positionals];
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => { stderr += d; });
  const kill = setTimeout(() => child.kill('SIGKILL'), Number(values['kill-after']) * 1000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(kill);
    const wallMs = performance.now() - t0;
    // /usr/bin/time -v reports the child's peak RSS in KB; its own exit status is the child's
    const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? 0);
    const placements: Record<string, number> = {};
    const reasons: Record<string, number> = {};
    try {
      const rows = JSON.parse(Buffer.concat(out).toString('utf8')).targets[0].checks[0].data.rows as { placement: string; error?: string }[];
      for (const r of rows) {
        placements[r.placement] = (placements[r.placement] ?? 0) + 1;
        // the reason without the seed's own address
        if (r.error) {
          const k = r.error.replace(/s\d+@bench\.lab\.test/g, 'sN').replace(/\d+ ms/g, 'N ms').replace(/u\d+@/g, 'uN@').slice(0, 160);
          reasons[k] = (reasons[k] ?? 0) + 1;
        }
      }
    } catch { /* no JSON: shown through stderr */ }
    resolve({ n, wallMs, rssMb: rssKb / 1024, code, placements, reasons, stderr: stderr.split('\n').filter((l) => !/^\s+\S.*: /.test(l) && !l.includes('Command being timed')).join('\n').slice(-2000) });
  }));
}

console.log(`placement collect, many seeds at one host: Dovecot ${dovecot.version} on 127.0.0.1:${dovecot.imapPort} (IMAP, STARTTLS), ${nUsers} lab users, no copy arrives; --timeout ${values.timeout}${positionals.length ? ` ${positionals.join(' ')}` : ''}; Node ${process.version}, ${os.cpus().length} cores`);
console.log('seeds  | wall s | peak RSS MB | exit | rows');
try {
  for (const n of counts) {
    const file = path.join(dir, `seeds-${n}.json`);
    await writeFile(file, seedsFile(n), { mode: 0o600 });
    const r = await collect(file, n);
    console.log(`${String(n).padStart(6)} | ${(r.wallMs / 1000).toFixed(1).padStart(6)} | ${r.rssMb.toFixed(0).padStart(11)} | ${String(r.code).padStart(4)} | ${Object.entries(r.placements).map(([k, v]) => `${k} ${v}`).join(', ') || '(no report)'}`);
    for (const [k, v] of Object.entries(r.reasons).sort((a, b) => b[1] - a[1]).slice(0, 4)) console.log(`         ${v} × ${k}`);
    if (!Object.keys(r.placements).length) console.log(r.stderr);
  }
} finally {
  await dovecot.stop();
  await rm(dir, { recursive: true, force: true });
}
