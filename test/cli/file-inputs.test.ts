// Every file-taking option of every command, given what never ends (issue 14, issue 10):
// /dev/zero (refused at once: a device), a FIFO whose writer sends zeros forever (cut
// at the input's cap) and a FIFO whose writer holds it open and never writes (given up
// on after PIPE_IDLE_MS), and `-` fed an endless standard input (cut at the cap). Each
// run is exit 2 with a message naming the option, within a bound, under a memory cap
// (`ulimit -v`), so a read that grows fails here instead of eating the machine. The
// options are the ones each command's --help lists.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PIPE_IDLE_MS } from '../../src/util/read-input.ts';
import { BIN, ROOT } from '../helpers/cli.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-file-inputs-'));
const writers: ChildProcess[] = [];
afterAll(() => {
  for (const w of writers) w.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});
const file = (name: string, text: string) => {
  const p = path.join(tmp, name);
  writeFileSync(p, text);
  return p;
};

/** per run: the slow case is the silent FIFO (PIPE_IDLE_MS, then exit) */
const BOUND_MS = PIPE_IDLE_MS + 15_000;

interface Run { code: number | null; stderr: string; ms: number }

/** The CLI under a 4 GB address-space cap, killed at BOUND_MS; stdin endless when asked. */
function run(args: string[], stdin: 'empty' | 'endless' = 'empty', env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    // stdin from a real pipe (the shell's), as a user's `yes | inboxlens analyze -` is
    const script = stdin === 'endless' ? 'ulimit -v 4000000; cat /dev/zero | "$0" "$@"' : 'ulimit -v 4000000; exec "$0" "$@" < /dev/null';
    const child = spawn('sh', ['-c', script, process.execPath, BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', INBOXLENS_DB: path.join(tmp, 'history.db'), INBOXLENS_NO_CONFIG: '1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const kill = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch { /* gone */ }
    }, BOUND_MS);
    child.on('close', (code) => {
      clearTimeout(kill);
      // the pipeline's cat, if node left first
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch { /* gone */ }
      resolve({ code, stderr, ms: Date.now() - t0 });
    });
  });
}

let fifoCount = 0;
/** A FIFO and its writer: `endless` sends zeros forever, `silent` holds it open and never writes. */
function fifo(kind: 'endless' | 'silent', suffix = ''): string {
  const p = path.join(tmp, `fifo-${++fifoCount}${suffix}`);
  execFileSync('mkfifo', [p]);
  const w = spawn('sh', ['-c', kind === 'endless' ? `exec cat /dev/zero > '${p}'` : `exec 3> '${p}'; exec sleep 600`], { stdio: 'ignore' });
  writers.push(w);
  return p;
}

const seeds = file('seeds.yaml', 'seeds:\n  - address: a@example.com\n    imap: { host: 127.0.0.1, port: 1 }\n    auth: { user: u, pass: p }\n');
const eml = file('m.eml', 'From: a@example.com\r\nTo: b@example.net\r\nSubject: hi\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\nhello\r\n');
const TOKEN = 'il-abcdef-0123456789';
const SEND = ['placement', 'send', '--seeds', seeds, '--from', 'a@example.com', '--smtp', 'smtp://127.0.0.1:25'];
// no DNS leaves the machine: a closed port on loopback (a file read comes before any lookup)
const DNS = ['--resolver', '127.0.0.1:9', '--dns-timeout', '200ms', '--retries', '0'];

/** [name, command line with f for the file, what the message names, the FIFO's suffix, env] */
const CASES: [string, (f: string) => string[], string, string?, NodeJS.ProcessEnv?][] = [
  ['--config', (f) => ['--config', f, 'history'], '--config'],
  ['check --ca-file', (f) => ['check', 'example.com', '--only', 'mta-sts', '--no-save', ...DNS, '--ca-file', f], '--ca-file'],
  // a zones file is named by its format (.yaml/.json): the FIFO too
  ['check --zones-file', (f) => ['check', 'example.com', '--only', 'blacklist', '--no-save', ...DNS, '--zones-file', f], '--zones-file', '.yaml'],
  ['check --smtp-ca', (f) => ['check', 'example.com', '--only', 'smtp', '--no-save', ...DNS, '--smtp-ca', f], '--smtp-ca'],
  ['check --message', (f) => ['check', 'example.com', '--only', 'content', '--no-save', ...DNS, '--message', f], '--message'],
  ['check --seeds', (f) => ['check', 'example.com', '--only', 'placement', '--no-save', ...DNS, '--seeds', f, '--token', TOKEN], '--seeds'],
  ['check --baseline', (f) => ['check', 'example.com', '--only', 'spf', '--no-save', ...DNS, '--baseline', f], '--baseline'],
  ['check --domains-file', (f) => ['check', '--only', 'spf', '--no-save', ...DNS, '--domains-file', f], '--domains-file'],
  ['blacklist --zones-file', (f) => ['blacklist', '192.0.2.1', '--no-save', ...DNS, '--zones-file', f], '--zones-file', '.json'],
  ['content FILE', (f) => ['content', f, '--no-save', ...DNS], 'content'],
  ['content --ca-file', (f) => ['content', eml, '--no-save', ...DNS, '--ca-file', f], '--ca-file'],
  ['smtp --smtp-ca', (f) => ['smtp', 'example.com', '--no-save', ...DNS, '--smtp-ca', f], '--smtp-ca'],
  ['analyze FILE', (f) => ['analyze', f, '--no-save', ...DNS], 'analyze'],
  ['placement --seeds', (f) => ['placement', 'collect', '--seeds', f, '--token', TOKEN, '--no-save'], '--seeds'],
  ['placement --bounces', (f) => ['placement', 'collect', '--seeds', seeds, '--token', TOKEN, '--no-save', '--bounces', f], '--bounces'],
  ['placement --smtp-ca', (f) => [...SEND, '--no-save', '--smtp-ca', f], '--smtp-ca'],
  ['placement --dkim-key', (f) => [...SEND, '--no-save', '--dkim-key', f, '--dkim-selector', 's1'], '--dkim-key'],
  ['placement --html @FILE', (f) => [...SEND, '--no-save', '--html', `@${f}`], '--html'],
  ['placement --message', (f) => [...SEND, '--no-save', '--message', f], '--message'],
  ['reports import FILE', (f) => ['reports', 'import', f], 'reports import'],
  ['reports import --imap-ca', (f) => ['reports', 'import', '--imap', 'imaps://u@127.0.0.1:1/INBOX', '--imap-ca', f], '--imap-ca', '', { INBOXLENS_IMAP_PASS: 'not-a-secret' }],
  ['diff FILE', (f) => ['diff', f, f], 'diff', '.json'],
  ['history --db', (f) => ['history', '--db', f], '--db'],
  ['check --db', (f) => ['check', 'example.com', '--only', 'spf', ...DNS, '--db', f], '--db'],
];

/** reports import and the history database take regular files (and folders) only: a pipe is refused as not a file, at once */
const NOT_A_FILE = new Set(['reports import FILE', 'history --db', 'check --db']);

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.concurrent('every file option, given input that never ends: exit 2 naming the option, within a bound', () => {
  for (const [name, argsFor, flag, suffix, env] of CASES) {
    it(`${name} /dev/zero: refused at once as a device`, async () => {
      const r = await run(argsFor('/dev/zero'), 'empty', env);
      expect(r.stderr).toMatch(new RegExp(`${esc(flag)}: .*'/dev/zero'.* (is a character device|not a regular file)`));
      expect(r.code, r.stderr).toBe(2);
      expect(r.ms).toBeLessThan(15_000);
    }, BOUND_MS + 5_000);

    it(`${name} FIFO that sends forever: stopped at the cap`, async () => {
      const f = fifo('endless', suffix);
      const r = await run(argsFor(f), 'empty', env);
      expect(r.stderr).toMatch(new RegExp(`${esc(flag)}: .*${esc(path.basename(f))}.*${NOT_A_FILE.has(name) ? 'is not a regular file' : '(holds more than|line 1 is longer than)'}`));
      expect(r.code, r.stderr).toBe(2);
      expect(r.ms).toBeLessThan(BOUND_MS);
    }, BOUND_MS + 5_000);

    // the default wait once (the first option); the others with INBOXLENS_PIPE_IDLE, which the wait is the same code for
    const idle = name === CASES[0]![0] ? undefined : 1500;
    it(`${name} FIFO held open and silent: given up on${idle ? ' (INBOXLENS_PIPE_IDLE=1500ms)' : ' after the default 10 s'}`, async () => {
      const f = fifo('silent', suffix);
      const r = await run(argsFor(f), 'empty', { ...env, ...(idle ? { INBOXLENS_PIPE_IDLE: `${idle}ms` } : {}) });
      expect(r.stderr).toMatch(new RegExp(`${esc(flag)}: .*${esc(path.basename(f))}.*${NOT_A_FILE.has(name) ? 'is not a regular file' : `is a pipe that sent nothing for ${(idle ?? PIPE_IDLE_MS) / 1000} s`}`));
      if (!NOT_A_FILE.has(name)) expect(r.ms).toBeGreaterThanOrEqual(idle ?? PIPE_IDLE_MS);
      expect(r.code, r.stderr).toBe(2);
      expect(r.ms).toBeLessThan(BOUND_MS);
    }, BOUND_MS + 5_000);
  }

  it('INBOXLENS_PIPE_IDLE that is not a duration: exit 2 naming the variable, before any wait', async () => {
    for (const v of ['soon', '5ms']) {
      const r = await run(['placement', 'collect', '--seeds', fifo('silent'), '--token', TOKEN, '--no-save'], 'empty', { INBOXLENS_PIPE_IDLE: v });
      expect(r.stderr).toMatch(/^inboxlens: INBOXLENS_PIPE_IDLE: '(soon|5ms)' (is not a duration|must be from 100ms to 24h)/);
      expect(r.code, r.stderr).toBe(2);
      expect(r.ms).toBeLessThan(PIPE_IDLE_MS);
    }
  }, BOUND_MS + 5_000);

  /** `-` for standard input, fed zeros forever through a shell pipe */
  const STDIN: [string, string[], string][] = [
    ['analyze -', ['analyze', '-', '--no-save', ...DNS], 'analyze'],
    ['content -', ['content', '-', '--no-save', ...DNS], 'content'],
    ['placement --seeds -', ['placement', 'collect', '--seeds', '-', '--token', TOKEN, '--no-save'], '--seeds'],
    ['placement --message -', [...SEND, '--no-save', '--message', '-'], '--message'],
  ];
  for (const [name, args, flag] of STDIN) {
    it(`${name} from a never-ending pipe: stopped at the cap`, async () => {
      const r = await run(args, 'endless');
      expect(r.stderr).toMatch(new RegExp(`${esc(flag)}: standard input holds more than`));
      expect(r.code, r.stderr).toBe(2);
      expect(r.ms).toBeLessThan(BOUND_MS);
    }, BOUND_MS + 5_000);
  }
});
