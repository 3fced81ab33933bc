// Small CLI promises found by QA (issue 14): a reader that closes stdout early
// (`inboxlens check … --json | head -1`) ends the run quietly, with no EPIPE stack
// trace; `inboxlens completion --help` describes the command instead of printing the
// script.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { BIN, ROOT, runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';

let dns: FixtureDns;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-closed-stdout-'));
beforeAll(async () => {
  dns = await startDns();
});
afterAll(async () => {
  await dns?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** `inboxlens ARGS | head -c 1` through a shell: the exit status of inboxlens, and its stderr */
function piped(args: string[]): Promise<{ code: number; stderr: string; head: string }> {
  return new Promise((resolve) => {
    const errFile = path.join(tmp, `stderr-${Math.random().toString(36).slice(2)}`);
    // $0 node, $1 bin, $2 the stderr file, the rest inboxlens's arguments
    const script = '"$0" "$1" "${@:3}" 2>"$2" | head -c 1; echo " ${PIPESTATUS[0]}"; cat "$2" >&2';
    const child = spawn('bash', ['-c', script, process.execPath, BIN, errFile, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', INBOXLENS_NO_CONFIG: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', () => {
      const m = / (\d+)\n?$/.exec(stdout);
      resolve({ code: m ? Number(m[1]) : -1, stderr, head: stdout.slice(0, 1) });
    });
  });
}

describe('stdout closed early', () => {
  it('a --domains-file batch piped into head: stops at once, quietly, status 141 (SIGPIPE), no stack trace', async () => {
    const list = path.join(tmp, 'domains.txt');
    // far more NDJSON than a pipe buffers (64 KB), so writes go on after head has gone
    writeFileSync(list, 'good.example\n'.repeat(400));
    const t0 = Date.now();
    const r = await piped(['check', '--domains-file', list, '--only', 'spf', '--no-save', '--trace', ...dnsArgs(dns)]);
    expect(r.head).toBe('{');
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|internal error|\n\s+at /);
    expect(r.code).toBe(141);
    expect(Date.now() - t0).toBeLessThan(60_000);
  }, 90_000);

  it('one check --json piped into head -c 1: no error on stderr, whatever the run found', async () => {
    const r = await piped(['check', 'good.example', '--no-save', '--json', '--trace', '--verbose', ...dnsArgs(dns)]);
    expect(r.head).toBe('{');
    expect(r.stderr).toBe('');
    // the whole document may fit in the pipe before head leaves (the run's own code), or not (141)
    expect([0, 1, 3, 141]).toContain(r.code);
  }, 60_000);
});

describe('inboxlens completion --help', () => {
  it('describes the command and how to install the script, instead of printing it', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await runCli(['completion', flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^inboxlens completion\n/);
      expect(r.stdout).toMatch(/Print a shell completion script/);
      expect(r.stdout).toMatch(/inboxlens completion >> ~\/\.bashrc/);
      expect(r.stdout).not.toMatch(/###-begin-inboxlens-completions-###/);
    }
    // the script itself still comes without --help
    const script = await runCli(['completion']);
    expect(script.code).toBe(0);
    expect(script.stdout).toMatch(/###-begin-inboxlens-completions-###/);
  });
});
