// Benchmark: seed-inbox placement on the lab — 50 seeds (40 IMAP, 10 POP3) in the
// lab's Dovecot. A `placement collect` process is started and left to connect;
// then one copy per seed goes through the lab MX (which files it into Dovecot
// before it answers 250). Reported: time from the 250 of the last copy to the
// last placement recorded (the rows' seenAt) and to the process's exit, and the
// collect process's peak RSS — with IDLE, and with the polling fallback (--no-idle).
// Also the wall time of one `placement run` (send then collect) for reference.
// Readiness is read from Dovecot's log (one login per connection), not guessed.
// The CLI process carries the whole CLI (every command and check is loaded at start);
// the same collect is also run in a lean process that loads only the placement
// engine, to show what placement itself costs.
// Run: node_modules/.bin/node bench/placement.ts [--imap 40] [--pop3 10] [--poll 2s]
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSeeds } from '../src/placement/seeds.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { imap: { type: 'string', default: '40' }, pop3: { type: 'string', default: '10' }, poll: { type: 'string', default: '2s' }, engine: { type: 'string' } } });

// lean child: only the placement engine, no CLI (argv: --engine JSON)
if (values.engine) {
  const { collectPlacement } = await import('../src/placement/collect.ts');
  const { DnsClient, parseResolver } = await import('../src/dns/resolver.ts');
  const o = JSON.parse(values.engine) as { seeds: string; token: string; idle: boolean; pollMs: number; resolver: string };
  // the same work as the CLI, local DKIM/ARC re-verification through the lab DNS included
  const dns = new DnsClient({ resolvers: [parseResolver(o.resolver)] });
  const res = await collectPlacement({ seeds: loadSeeds(o.seeds).seeds, matcher: { token: o.token }, timeoutMs: 60_000, pollMs: o.pollMs, idle: o.idle, dns });
  process.stdout.write(JSON.stringify({ targets: [{ checks: [{ data: { rows: res.rows } }] }] }));
  process.exit(0);
}

function readHwm(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) * 1024, () => 0);
}

interface Child { done: Promise<{ code: number | null; stdout: string; exitAt: number }>; rss: () => number; pid: number }

function cli(args: string[], script = path.join(ROOT, 'bin/inboxlens.js')): Child {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  let rss = 0;
  const poll = setInterval(async () => { rss = Math.max(rss, await readHwm(child.pid!)); }, 25);
  const done = new Promise<{ code: number | null; stdout: string; exitAt: number }>((resolve) => child.on('exit', (code) => {
    const exitAt = Date.now();
    clearInterval(poll);
    if (code !== 0 && code !== 1) process.stderr.write(stderr);
    resolve({ code, stdout, exitAt });
  }));
  return { done, rss: () => rss, pid: child.pid! };
}

// the lab and the sender load only here, so the lean child above carries none of them
const { startLab } = await import('../src/lab/index.ts');
const { readLog } = await import('../src/lab/dovecot.ts');
const { sendCopies, parseSmtpUrl, makeToken } = await import('../src/placement/send.ts');
const lab = await startLab({ imapSeeds: Number(values.imap), pop3Seeds: Number(values.pop3) });
const seeds = loadSeeds(lab.seedsFile).seeds;
const good = lab.senders.good;
const smtp = { ...parseSmtpUrl(lab.smtpUrl, {}), ca: lab.caPem };
const spec = { from: good.from, mailFrom: good.envelopeFrom, subject: 'inboxlens benchmark', text: 'benchmark copy', tokenInSubject: true, dkim: { domainName: good.domain, keySelector: good.dkim!.selector, privateKey: good.dkim!.privateKey } };
const common = ['--seeds', lab.seedsFile, '--resolver', lab.dns.address, '--json', '--timeout', '60s'];

console.log(`placement: ${seeds.length} seeds (${values.imap} IMAP, ${values.pop3} POP3) on the lab Dovecot ${lab.dovecot.version}, Node ${process.version}, ${os.cpus().length} cores, poll interval ${values.poll}`);
console.log('mode              | last 250 → last placement | last 250 → exit | send (50 copies) | found | peak RSS MB');

const perCopy: string[] = [];
const connects: string[] = [];
const med = (xs: number[]) => (xs.length ? xs[Math.floor(xs.length / 2)]! : NaN);

const logins = async () => {
  const log = await readLog(lab.dovecot);
  return { imap: (log.match(/imap-login: Info: Login: /g) ?? []).length, pop3: (log.match(/pop3-login: Info: Login: /g) ?? []).length };
};

/** Wait until the collector has opened its connections (Dovecot logs each login), then a little for LIST/EXAMINE/IDLE. */
async function ready(before: { imap: number; pop3: number }, imapConns: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const now = await logins();
    if (now.imap - before.imap >= imapConns && now.pop3 - before.pop3 >= Number(values.pop3)) break;
    if (Date.now() - t0 > 60_000) throw new Error(`the collector did not connect within 60 s (${now.imap - before.imap} IMAP logins)`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1000));
  return Date.now() - t0;
}

async function measure(label: string, extra: string[], lean = false): Promise<void> {
  const token = makeToken();
  const idle = !extra.includes('--no-idle');
  const before = await logins();
  const child = lean
    ? cli(['--engine', JSON.stringify({ seeds: lab.seedsFile, token, idle, resolver: lab.dns.address, pollMs: Number.parseFloat(values.poll!) * (values.poll!.endsWith('ms') ? 1 : 1000) })], fileURLToPath(import.meta.url))
    : cli(['placement', 'collect', ...common, '--token', token, '--poll-interval', values.poll!, ...extra]);
  // every IMAP seed: one poll connection (which idles on spam), plus one IDLE connection on INBOX
  const connectMs = await ready(before, Number(values.imap) * (idle ? 2 : 1));
  const t0 = Date.now();
  let lastAccepted = 0;
  const acceptedAt = new Map<string, number>();
  const sent = await sendCopies(spec, seeds, token, smtp, { onSent: (r) => { if (r.status === 'accepted') { lastAccepted = Date.now(); acceptedAt.set(r.seed, lastAccepted); } } });
  const sendMs = Date.now() - t0;
  const { code, stdout, exitAt } = await child.done;
  const rows = JSON.parse(stdout).targets[0].checks[0].data.rows as { seed: string; protocol: string; seenAt?: string; placement: string }[];
  const found = rows.filter((r) => r.seenAt);
  // per copy: its own 250 → seen by the collector
  const lat = (proto: string) => found.filter((r) => r.protocol === proto && acceptedAt.has(r.seed)).map((r) => Date.parse(r.seenAt!) - acceptedAt.get(r.seed)!).sort((a, b) => a - b);
  perCopy.push(`${label}: per copy (250 → seen) IMAP median ${med(lat('imap'))} ms max ${Math.max(...lat('imap'))} ms; POP3 median ${med(lat('pop3'))} ms max ${Math.max(...lat('pop3'))} ms`);
  const lastSeen = Math.max(...found.map((r) => Date.parse(r.seenAt!)));
  const acceptedN = sent.filter((s) => s.status === 'accepted').length;
  connects.push(`${label}: connected and ready ${connectMs} ms after start`);
  console.log(`${label.padEnd(17)} | ${`${lastSeen - lastAccepted} ms`.padStart(25)} | ${`${exitAt - lastAccepted} ms`.padStart(15)} | ${`${sendMs} ms`.padStart(16)} | ${`${found.length}/${acceptedN}`.padStart(5)} | ${(child.rss() / 1048576).toFixed(0).padStart(11)}${code === 0 || code === 1 ? '' : `  (exit ${code})`}`);
}

await measure('IDLE', []);
await measure('polling (no IDLE)', ['--no-idle']);
await measure('IDLE, engine only', [], true);
await measure('polling, engine', ['--no-idle'], true);
for (const l of [...perCopy, ...connects]) console.log(l);

// for reference: send then collect in one command (connections open after the send)
{
  const t0 = Date.now();
  const child = cli(['placement', 'run', ...common, '--from', good.from, '--envelope-from', good.envelopeFrom, '--smtp', lab.smtpUrl, '--smtp-ca', lab.caFile, '--dkim-key', good.dkim!.keyFile, '--dkim-selector', good.dkim!.selector]);
  const { stdout, exitAt } = await child.done;
  const rows = JSON.parse(stdout).targets[0].checks[0].data.rows as { seenAt?: string }[];
  console.log(`placement run (send + collect, IDLE): wall ${exitAt - t0} ms, ${rows.filter((r) => r.seenAt).length}/${rows.length} found, peak RSS ${(child.rss() / 1048576).toFixed(0)} MB`);
}
await lab.stop();
