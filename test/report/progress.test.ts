// Progress on long waits, on a real terminal (a pty from util-linux's `script`):
// the placement countdown moves while no seed answers, and with --json the
// progress still goes to stderr (the terminal) while stdout carries only the document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BIN, ROOT, TEST_DB } from '../helpers/cli.ts';
import { validateReport } from '../../src/report/validate.ts';

let dir: string;
let server: net.Server;
const sockets = new Set<net.Socket>();
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-progress-'));
  // an IMAP server that accepts and then says nothing: the seed waits until the deadline
  server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs the CLI with stderr on a pty (stdout to a file when given): returns what the terminal showed. */
function onTerminal(args: string[], stdoutFile?: string): Promise<{ code: number; screen: string }> {
  const cmd = `${[process.execPath, BIN, ...args].map(sh).join(' ')}${stdoutFile ? ` > ${sh(stdoutFile)}` : ''}`;
  return new Promise((resolve) => {
    execFile('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', INBOXLENS_DB: TEST_DB }, timeout: 60_000 }, (err, stdout) => {
      resolve({ code: err ? Number((err as any).code ?? 99) : 0, screen: stdout });
    });
  });
}

function countdown(screen: string): number[] {
  return [...new Set([...screen.matchAll(/(\d+)s left at most/g)].map((m) => Number(m[1])))];
}

describe('progress on long waits', () => {
  it('placement collect --json on a terminal: a countdown that moves on stderr, only JSON on stdout', async () => {
    const port = (server.address() as net.AddressInfo).port;
    const seeds = path.join(dir, 'seeds.yaml');
    await writeFile(seeds, `seeds:\n  - address: quiet@example.com\n    imap: { host: 127.0.0.1, port: ${port} }\n    auth: { user: u, pass: p }\n`);
    const json = path.join(dir, 'out.json');
    const r = await onTerminal(['placement', 'collect', '--seeds', seeds, '--token', 'il-mkq3x1a0-3f9c2e71d4', '--timeout', '5s', '--no-save', '--json'], json);
    expect(r.screen).toMatch(/placement: waiting for 1 copy…/);
    const seen = countdown(r.screen);
    // redrawn every second: several different values, counting down (a loaded machine may skip one)
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen[0]).toBeGreaterThan(seen[seen.length - 1]!);
    expect(Math.max(...seen)).toBeLessThanOrEqual(5);
    // the line is cleared before the end, and nothing of it is in the document
    const doc = JSON.parse(await readFile(json, 'utf8'));
    expect(validateReport(doc)).toEqual([]);
    expect(doc.targets[0].checks[0].data.rows[0].placement).toBe('error');
    expect([1, 3]).toContain(r.code);
  }, 60_000);

  it('placement collect (text) on a terminal: the countdown moves while no seed answers (it stood still)', async () => {
    const port = (server.address() as net.AddressInfo).port;
    const seeds = path.join(dir, 'seeds3.yaml');
    await writeFile(seeds, `seeds:\n  - address: quiet@example.com\n    imap: { host: 127.0.0.1, port: ${port} }\n    auth: { user: u, pass: p }\n`);
    const r = await onTerminal(['placement', 'collect', '--seeds', seeds, '--token', 'il-mkq3x1a0-3f9c2e71d4', '--timeout', '5s', '--no-save']);
    expect(countdown(r.screen).length).toBeGreaterThanOrEqual(3);
    expect(r.screen).toMatch(/Seed-inbox placement/);
  }, 60_000);

  it('without a terminal there is no progress at all (stderr is a pipe)', async () => {
    const port = (server.address() as net.AddressInfo).port;
    const seeds = path.join(dir, 'seeds2.yaml');
    await writeFile(seeds, `seeds:\n  - address: quiet@example.com\n    imap: { host: 127.0.0.1, port: ${port} }\n    auth: { user: u, pass: p }\n`);
    const r = await new Promise<{ stderr: string }>((resolve) =>
      execFile(process.execPath, [BIN, 'placement', 'collect', '--seeds', seeds, '--token', 'il-mkq3x1a0-3f9c2e71d4', '--timeout', '2s', '--no-save', '--json'], { cwd: ROOT, env: { ...process.env, INBOXLENS_DB: TEST_DB }, timeout: 30_000 }, (_e, _o, stderr) => resolve({ stderr })),
    );
    expect(r.stderr).not.toMatch(/left at most|waiting for/);
  }, 40_000);
});
