// The CLI catches mistakes before any work (issue 14): a mistyped flag, a bad choice
// or an unknown command is refused at once with exit 2 and one line naming what was
// typed, with the nearest right spelling; no report is printed and no run is saved.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { distance, nearest } from '../../src/cli/main.ts';
import { runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';

let dns: FixtureDns;
const dir = mkdtempSync(path.join(os.tmpdir(), 'inboxlens-mistakes-'));
beforeAll(async () => {
  dns = await startDns();
});
afterAll(async () => {
  await dns?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('mistakes are refused before any work', () => {
  const cases: [string, string[], RegExp][] = [
    ['a mistyped flag, with the nearest one', ['check', 'good.example', '--only', 'mx', '--juint', 'x.xml'], /^inboxlens: unknown option --juint \(did you mean --junit\?\); nothing was done/],
    ['a short flag nobody defined', ['check', '-j', 'good.example', '--only', 'mx'], /^inboxlens: unknown option -j; nothing was done/],
    ['a choice that is not one', ['check', 'good.example', '--only', 'mx', '--fail-on', 'warnings'], /^inboxlens: --fail-on: 'warnings' is not one of error, warn \(did you mean warn\?\)/],
    ['an unknown command', ['chek', 'good.example'], /^inboxlens: 'chek' is not a command \(did you mean check\?\)/],
    ['an unknown placement action, before the seeds file is read', ['placement', 'colect', '--seeds', '/no/such/seeds.yaml'], /^inboxlens: placement action: 'colect' is not one of send, collect, watch, run \(did you mean collect\?\)/],
  ];
  for (const [what, args, re] of cases) {
    it(what, async () => {
      const db = path.join(dir, `${what.replace(/\W+/g, '-')}.db`);
      const r = await runCli([...args, '--db', db, ...dnsArgs(dns)]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
      // no report, no saved run: the command never started
      expect(r.stdout).toBe('');
      expect(existsSync(db)).toBe(false);
    });
  }
});

describe('did you mean', () => {
  it('counts an adjacent transposition as one edit, and suggests only near words', () => {
    expect(distance('juint', 'junit')).toBe(1);
    expect(distance('chek', 'check')).toBe(1);
    expect(distance('abc', 'xyz')).toBe(3);
    expect(nearest('juint', ['junit', 'json', 'markdown'])).toBe('junit');
    expect(nearest('warnings', ['error', 'warn'])).toBe('warn');
    expect(nearest('zzz', ['check', 'blacklist'])).toBeUndefined();
  });
});
