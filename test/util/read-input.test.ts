// Files named by the user are read bounded (src/util/read-input.ts): devices and
// directories are refused at once (exit 2, naming the option), pipes and
// standard input are read up to a cap fit for the kind of input. The CLI runs
// under a virtual-memory cap and a timeout, so the old unbounded reads of
// /dev/zero fail the test instead of eating the machine.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readInputFile, INPUT_LIMITS } from '../../src/util/read-input.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { BIN, ROOT, TEST_DB } from '../helpers/cli.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-read-input-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = path.join(tmp, name);
  writeFileSync(p, text);
  return p;
};

/** The CLI in a child under `ulimit -v` (4 GB) and a 20 s kill: a read that grows fails here. */
function runCapped(args: string[], opts: { input?: string; stdinFile?: string } = {}): Promise<{ code: number | null; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', 'ulimit -v 4000000; exec "$0" "$@"', process.execPath, BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', INBOXLENS_DB: TEST_DB, INBOXLENS_NO_CONFIG: '1' },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code, stderr, ms: Date.now() - t0 });
    });
    child.stdin.end(opts.input ?? '');
  });
}

const seeds = file('s.yaml', 'seeds:\n  - address: a@example.com\n    imap: { host: 127.0.0.1, port: 1 }\n    auth: { user: u, pass: p }\n');
const TOKEN = 'il-abcdef-0123456789';
const SEND = ['placement', 'send', '--seeds', seeds, '--from', 'a@example.com', '--smtp', 'smtp://127.0.0.1:25'];

describe('every file option refuses a device at once (exit 2, naming the option)', () => {
  const caSeeds = file('ca.yaml', 'seeds:\n  - address: a@example.com\n    imap: { host: 127.0.0.1, port: 1, ca: /dev/urandom }\n    auth: { user: u, pass: p }\n');
  const cases: [string, string[], RegExp][] = [
    ['--seeds /dev/zero', ['placement', 'collect', '--seeds', '/dev/zero', '--token', TOKEN], /--seeds: '\/dev\/zero' is a character device/],
    ["a seed's ca: /dev/urandom", ['placement', 'collect', '--seeds', caSeeds, '--token', TOKEN], /imap\.ca: '\/dev\/urandom' is a character device/],
    ['--config /dev/zero', ['--config', '/dev/zero', 'history'], /--config: '\/dev\/zero' is a character device/],
    ['--ca-file /dev/zero', ['check', 'example.com', '--only', 'mta-sts', '--ca-file', '/dev/zero'], /--ca-file: '\/dev\/zero' is a character device/],
    ['--smtp-ca /dev/zero (smtp)', ['smtp', 'example.com', '--smtp-ca', '/dev/zero'], /--smtp-ca: '\/dev\/zero' is a character device/],
    ['--smtp-ca /dev/zero (placement)', [...SEND, '--smtp-ca', '/dev/zero'], /--smtp-ca: '\/dev\/zero' is a character device/],
    ['--dkim-key /dev/zero', [...SEND, '--dkim-key', '/dev/zero', '--dkim-selector', 's1'], /--dkim-key: '\/dev\/zero' is a character device/],
    ['--html @/dev/zero', [...SEND, '--html', '@/dev/zero'], /--html: '\/dev\/zero' is a character device/],
    ['--message /dev/zero (placement)', [...SEND, '--message', '/dev/zero'], /--message: '\/dev\/zero' is a character device/],
    ['content /dev/urandom (the command names its argument)', ['content', '/dev/urandom'], /^inboxlens: content: '\/dev\/urandom' is a character device/],
    ['--bounces /dev/zero', ['placement', 'collect', '--seeds', seeds, '--token', TOKEN, '--bounces', '/dev/zero'], /--bounces: '\/dev\/zero' is a character device/],
    ['a directory as --seeds', ['placement', 'collect', '--seeds', tmp, '--token', TOKEN], /--seeds: '.*' is a directory, not a file/],
  ];
  for (const [name, args, re] of cases) {
    it(name, async () => {
      const r = await runCapped(args);
      expect(r.stderr).toMatch(re);
      expect(r.code).toBe(2);
      expect(r.ms).toBeLessThan(15_000);
    }, 25_000);
  }
});

describe('standard input and pipes are read, up to a cap', () => {
  it('--seeds - reads the seeds from standard input (written --seeds=- or --seeds -)', async () => {
    for (const args of [['--seeds=-'], ['--seeds', '-']]) {
      const r = await runCapped(['placement', 'collect', ...args, '--token', TOKEN], {
        input: 'seeds:\n  - address: a@example.com\n    imap: { host: h, port: x }\n    auth: { user: u, pass: p }\n',
      });
      // the seeds were read from stdin: the error is about their content
      expect(r.stderr).toMatch(/imap\.port: must be a whole number/);
      expect(r.code).toBe(2);
    }
  }, 25_000);

  it('content - reads the message from standard input', async () => {
    const { startDns } = await import('../helpers/dns.ts');
    const dns = await startDns();
    try {
      const { runCli } = await import('../helpers/cli.ts');
      const r = await runCli(['content', '-', '--no-save', '--json', '--resolver', dns.address], { input: 'From: a@b.example\r\nSubject: read from stdin\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\nhello\r\n' });
      // the message was read and judged (before, '-' became '' and the command asked for a file)
      const doc = r.json();
      expect(doc.targets[0].checks[0].data.subject).toBe('read from stdin');
    } finally {
      await dns.stop();
    }
  }, 25_000);

  it('a FIFO is read to its end, and one that does not end stops at the cap', async () => {
    const fifo = path.join(tmp, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `printf 'hello' > '${fifo}'`]);
    expect(readInputFile(fifo, { what: '--x', maxBytes: 100, encoding: 'utf8' })).toBe('hello');
    await new Promise((r) => writer.on('close', r));
    // an endless writer: cut at the cap, not read forever
    const endless = spawn('sh', ['-c', `exec cat /dev/zero > '${fifo}'`]);
    try {
      const t0 = Date.now();
      expect(() => readInputFile(fifo, { what: '--seeds', maxBytes: INPUT_LIMITS.yaml })).toThrow(/--seeds: '.*fifo' holds more than the 4 MB this input may be/);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      endless.kill('SIGKILL');
    }
  }, 15_000);

  it('a regular file over the cap is refused before it is read; within it, read whole', () => {
    const big = file('big.pem', 'x'.repeat(INPUT_LIMITS.key + 1));
    expect(() => readInputFile(big, { what: '--dkim-key', maxBytes: INPUT_LIMITS.key })).toThrow(UsageError);
    expect(() => readInputFile(big, { what: '--dkim-key', maxBytes: INPUT_LIMITS.key })).toThrow(/--dkim-key: '.*big\.pem' is 65537 bytes, more than the 64 KB this input may be/);
    expect(readInputFile(big, { what: '--x', maxBytes: INPUT_LIMITS.pem }).length).toBe(INPUT_LIMITS.key + 1);
    expect(() => readInputFile(path.join(tmp, 'nope'), { what: '--x', maxBytes: 10 })).toThrow(/--x: cannot read '.*nope' \(ENOENT\)/);
  });
});

describe('a YAML alias bomb is bad input (exit 2 with the reason), not an internal error', () => {
  // ten levels of ten aliases each: 10^10 nodes once expanded
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `b${i + 1}: &b${i + 1} [${Array(10).fill(i ? `*b${i}` : '*a').join(',')}]`)].join('\n');
  it('in a seeds file', async () => {
    const r = await runCapped(['placement', 'collect', '--seeds', file('bomb-seeds.yaml', `${bomb}\nseeds:\n  - *b9\n`), '--token', TOKEN]);
    expect(r.stderr).toMatch(/bomb-seeds\.yaml: refused: its YAML aliases \(\*name\) expand to more than 100 copies/);
    expect(r.code).toBe(2);
  }, 25_000);
  it('in a config file', async () => {
    const r = await runCapped(['--config', file('bomb-config.yaml', `${bomb}\n`), 'history']);
    expect(r.stderr).toMatch(/config .*bomb-config\.yaml: refused: its YAML aliases \(\*name\) expand to more than 100 copies/);
    expect(r.code).toBe(2);
  }, 25_000);
  it('a seeds file that uses an alias or two is read as before', async () => {
    const r = await runCapped(['placement', 'collect', '--seeds', file('alias-seeds.yaml', 'x: &imap { host: h, port: x }\nseeds:\n  - address: a@example.com\n    imap: *imap\n    auth: { user: u, pass: p }\n'), '--token', TOKEN]);
    expect(r.stderr).toMatch(/imap\.port: must be a whole number/);
    expect(r.code).toBe(2);
  }, 25_000);
});
