// When the lab cannot start (issue 14): `inboxlens demo` with one lab binary missing
// or failing exits 2 within a bound, names the package and `bash scripts/setup.sh`,
// and leaves none of the daemons it started running. The binaries are hidden with the
// lab's own overrides (INBOXLENS_DOVECOT, INBOXLENS_SPAMD: the lab also looks in
// /usr/sbin, so PATH alone cannot hide them). Each run gets its own TMPDIR, which every
// lab daemon's command line contains (Dovecot's config, spamd's home): the processes
// are found by it, so other runs' daemons on this machine are never looked at.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, ROOT } from '../helpers/cli.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Command lines of live processes that mention dir (pgrep -f; never our own). */
function processesUnder(dir: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', '--', dir], { encoding: 'utf8' }).trim().split('\n').filter((l) => l && !l.includes('pgrep'));
  } catch {
    return []; // exit 1: none
  }
}

interface Run {
  code: number | null;
  stderr: string;
  ms: number;
  /** command lines seen under the run's TMPDIR while it ran */
  seen: string[];
  left: string[];
}

async function demo(env: NodeJS.ProcessEnv, boundMs: number, extra: string[] = []): Promise<Run> {
  // 0755: Dovecot's own users must traverse it to read the lab's passwd file
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-labfail-'));
  chmodSync(tmp, 0o755);
  dirs.push(tmp);
  const db = path.join(tmp, 'history.db');
  const t0 = Date.now();
  const child = spawn(process.execPath, [BIN, 'demo', '--no-dashboard', '--db', db, ...extra], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', TMPDIR: tmp, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const seen = new Set<string>();
  const poll = setInterval(() => {
    for (const p of processesUnder(tmp)) seen.add(p);
  }, 100);
  const killer = setTimeout(() => child.kill('SIGKILL'), boundMs);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(killer);
  clearInterval(poll);
  const ms = Date.now() - t0;
  // what the run started had its chance to go: a stop is SIGTERM, SIGKILL after 5 s
  await new Promise((r) => setTimeout(r, 500));
  return { code, stderr, ms, seen: [...seen], left: processesUnder(tmp) };
}

// one at a time: the processes a run starts are seen by polling pgrep, and with five runs at
// once on a loaded machine a lab that started and stopped within a poll's gap went unseen
describe('the lab cannot start', () => {
  it('Dovecot missing: exit 2 at once, naming the packages and scripts/setup.sh, no spamd left', async () => {
    const r = await demo({ INBOXLENS_DOVECOT: '/nonexistent/dovecot' }, 90_000);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/the lab cannot start: Dovecot is not installed \(INBOXLENS_DOVECOT=\/nonexistent\/dovecot does not exist\)/);
    expect(r.stderr).toContain('bash scripts/setup.sh');
    expect(r.stderr).toContain('dovecot-imapd');
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.ms).toBeLessThan(60_000);
    expect(r.left).toEqual([]);
  }, 120_000);

  it('Dovecot failing after spamd started: spamd, started first, is stopped', async () => {
    // a dovecot that takes 4 s to fail its version query: spamd is up and loading rules by then
    const dir = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-fakebin-'));
    dirs.push(dir);
    const fake = path.join(dir, 'dovecot');
    writeFileSync(fake, '#!/bin/sh\nsleep 4\necho "this is not dovecot" >&2\nexit 1\n', { mode: 0o755 });
    const r = await demo({ INBOXLENS_DOVECOT: fake }, 90_000);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/the lab cannot start: Dovecot failed to start/);
    expect(r.stderr).toContain('bash scripts/setup.sh');
    expect(r.ms).toBeLessThan(60_000);
    // the failure came while spamd ran (its home is under the run's TMPDIR) …
    expect(r.seen.some((l) => /spamd/.test(l)), `processes seen: ${r.seen.join('\n')}`).toBe(true);
    // … and it is gone
    expect(r.left).toEqual([]);
  }, 120_000);

  it('spamd missing: exit 2 naming spamd and scripts/setup.sh; the lab (DNS, Dovecot, MX), started meanwhile, is stopped', async () => {
    const r = await demo({ INBOXLENS_SPAMD: '/nonexistent/spamd' }, 90_000);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/the lab cannot start: spamd \(SpamAssassin\) is not installed/);
    expect(r.stderr).toContain('bash scripts/setup.sh');
    expect(r.stderr).toMatch(/apt-get install spamd spamassassin/);
    expect(r.stderr).toContain('--no-spamd');
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.ms).toBeLessThan(60_000);
    expect(r.seen.some((l) => /dovecot/.test(l)), `processes seen: ${r.seen.join('\n')}`).toBe(true);
    expect(r.left).toEqual([]);
  }, 120_000);

  it('spamd failing after it was spawned: the lab is stopped too', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-fakebin-'));
    dirs.push(dir);
    const fake = path.join(dir, 'spamd');
    writeFileSync(fake, '#!/bin/sh\nsleep 3\necho "spamd: could not load rules" >&2\nexit 1\n', { mode: 0o755 });
    const r = await demo({ INBOXLENS_SPAMD: fake }, 90_000);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/the lab cannot start: spamd \(SpamAssassin\) failed to start .*could not load rules/);
    expect(r.stderr).toContain('bash scripts/setup.sh');
    expect(r.ms).toBeLessThan(60_000);
    expect(r.left).toEqual([]);
  }, 120_000);

  it('--no-spamd: the demo runs without a spam score where spamd is missing, and stops its lab', async () => {
    const r = await demo({ INBOXLENS_SPAMD: '/nonexistent/spamd' }, 240_000, ['--no-spamd', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.left).toEqual([]);
  }, 300_000);
});
