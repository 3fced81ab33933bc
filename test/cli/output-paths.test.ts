// --junit/--markdown paths are checked before any work: placement run must not
// send a single copy when its report file cannot be written at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { checkOutputPath } from '../../src/cli/publish.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-outpaths-'));
let server: net.Server;
let port = 0;
let connections = 0;
beforeAll(async () => {
  // a sending server that only counts: any connection means a copy was on its way
  server = net.createServer((s) => {
    connections++;
    s.end('421 test server: closing\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

describe('report file paths are checked before anything is sent', () => {
  const seeds = path.join(tmp, 's.yaml');
  writeFileSync(seeds, 'seeds:\n  - address: a@example.com\n    imap: { host: 127.0.0.1, port: 1 }\n    auth: { user: u, pass: p }\n');
  const run = (...extra: string[]) =>
    runCli(['placement', 'run', '--seeds', seeds, '--from', 'news@example.com', '--smtp', `smtp://127.0.0.1:${port}`, '--smtp-plaintext', '--timeout', '2s', '--no-save', ...extra], { timeoutMs: 30_000 });

  it.each([
    ['--junit', () => path.join(tmp, 'no-such-dir', 'junit.xml'), /--junit: cannot write '.*no-such-dir\/junit\.xml': the folder '.*no-such-dir' does not exist; nothing was done/],
    ['--markdown', () => path.join(seeds, 'summary.md'), /--markdown: cannot write '.*s\.yaml\/summary\.md': '.*s\.yaml' is not a folder/],
    ['--junit', () => tmp, /--junit: cannot write '.*': it is a directory/],
    ['--html-report', () => path.join(tmp, 'no-such-dir', 'r.html'), /--html-report: cannot write '.*no-such-dir\/r\.html': the folder '.*no-such-dir' does not exist; nothing was done/],
  ])('%s unwritable: exit 2 naming the flag, no connection to the sending server', async (flag, p, re) => {
    const before = connections;
    const r = await run(flag, p());
    expect(r.stderr).toMatch(re);
    expect(r.code).toBe(2);
    expect(connections).toBe(before);
  }, 40_000);

  it('demo --html-report: an unwritable path is exit 2 before the lab starts', async () => {
    const r = await runCli(['demo', '--no-dashboard', '--no-save', '--html-report', path.join(tmp, 'no-such-dir', 'demo.html')], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--html-report: cannot write '.*demo\.html': the folder '.*no-such-dir' does not exist; nothing was done/);
    expect(r.stderr).not.toMatch(/starting the lab/);
  }, 40_000);

  it('check --domains-file refuses --html-report (one document per domain)', async () => {
    const list = path.join(tmp, 'domains.txt');
    writeFileSync(list, 'example.com\n');
    const r = await runCli(['check', '--domains-file', list, '--html-report', path.join(tmp, 'x.html'), '--resolver', '127.0.0.1:1', '--no-save'], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--html-report does not combine with --domains-file/);
  }, 40_000);

  it('the check leaves nothing behind and does not change an existing file', () => {
    const fresh = path.join(tmp, 'fresh.xml');
    checkOutputPath('--junit', fresh);
    expect(existsSync(fresh)).toBe(false);
    const summary = path.join(tmp, 'summary.md');
    writeFileSync(summary, 'earlier step\n');
    checkOutputPath('--markdown', summary);
    expect(readFileSync(summary, 'utf8')).toBe('earlier step\n');
    expect(() => checkOutputPath('--markdown', '/dev/null')).not.toThrow();
    mkdirSync(path.join(tmp, 'd'));
  });
});
