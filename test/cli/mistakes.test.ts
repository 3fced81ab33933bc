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

describe('help and names that say one thing', () => {
  it('placement <action> --help describes that action and only its options', async () => {
    const collect = await runCli(['placement', 'collect', '--help']);
    expect(collect.stdout).toMatch(/^inboxlens placement collect \[options\]\n\nFind the copies of an earlier `placement send` by its run token/);
    expect(collect.stdout).toMatch(/--token /);
    for (const other of ['--from ', '--smtp ', '--match-subject ', '--dkim-key ']) expect(collect.stdout).not.toContain(other);
    const send = await runCli(['placement', 'send', '--help']);
    expect(send.stdout).toMatch(/Send one test copy to each seed/);
    expect(send.stdout).toMatch(/--from /);
    for (const other of ['--token ', '--cleanup ', '--match-header ']) expect(send.stdout).not.toContain(other);
    const watch = await runCli(['placement', 'watch', '--help']);
    expect(watch.stdout).toMatch(/--match-header /);
    expect(watch.stdout).not.toContain('--cleanup ');
  });

  it('check --help lists each option once (one two checks share is listed with both)', async () => {
    const r = await runCli(['check', '--help']);
    const flags = [...r.stdout.matchAll(/^\s+(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1]);
    expect(flags.length).toBeGreaterThan(20);
    expect(flags.filter((f, i) => flags.indexOf(f) !== i)).toEqual([]);
    expect(r.stdout).toMatch(/--message .*\(Blacklists?, Content\)|--message[\s\S]*?\((?:Blacklists?|Content), (?:Blacklists?|Content)\)/);
  });

  it('--timeout keeps its old meaning in each command, and the two waits have names of their own', async () => {
    // check: the DNS wait (--dns-timeout); placement: the wait for copies (--placement-timeout)
    const dnsHelp = await runCli(['check', '--help']);
    expect(dnsHelp.stdout).toMatch(/--dns-timeout, --timeout\s+how long to wait for each DNS answer/);
    const long = await runCli(['check', 'good.example', '--only', 'mx', '--timeout', '1d', '--no-save']);
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/^inboxlens: --timeout: '1d' is longer than 5m/);
    const named = await runCli(['check', 'good.example', '--only', 'mx', '--dns-timeout', 'soon', '--no-save']);
    expect(named.stderr).toMatch(/^inboxlens: --dns-timeout: 'soon' is not a duration \(use e\.g\. 90s, 1500ms, 5m, 2h30m, 1d\)/);
    const placement = await runCli(['placement', 'collect', '--help']);
    expect(placement.stdout).toMatch(/--placement-timeout, --timeout\s+how long to wait for copies/);
  });

  it('errors name the value as typed', async () => {
    const r = await runCli(['history', '--limit', 'abc', '--db', path.join(dir, 'limit.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--limit: 'abc' must be a whole number/);
  });
});

describe('durations', () => {
  it('accept 1d, 2h30m, 1w2d, 1500ms, 90s, and a bare number of seconds', async () => {
    const { parseDuration } = await import('../../src/util/validate.ts');
    expect(parseDuration('1d', 'x')).toBe(86_400_000);
    expect(parseDuration('2h30m', 'x')).toBe(9_000_000);
    expect(parseDuration('1w2d', 'x')).toBe(777_600_000);
    expect(parseDuration('1500ms', 'x')).toBe(1500);
    expect(parseDuration('90', 'x')).toBe(90_000);
    expect(() => parseDuration('2 hours', '--since')).toThrow(/--since: '2 hours' is not a duration/);
    expect(() => parseDuration('h2', 'x')).toThrow();
  });
});

describe('--color and --no-color', () => {
  it('--color colours output that is not a terminal; --no-color wins over FORCE_COLOR', async () => {
    const on = await runCli(['check', 'good.example', '--only', 'mx', '--no-save', '--color', ...dnsArgs(dns)], { env: { NO_COLOR: '' } });
    expect(on.stdout).toMatch(/\x1b\[/);
    const off = await runCli(['check', 'good.example', '--only', 'mx', '--no-save', '--no-color', ...dnsArgs(dns)], { env: { FORCE_COLOR: '1' } });
    expect(off.stdout).not.toMatch(/\x1b\[/);
    expect(off.stdout).toMatch(/Summary:/);
  });
});
