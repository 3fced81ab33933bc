// The library API in-process: typed options in, the versioned report out, the
// same document `--json` prints (checked against the schema and against the CLI).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { blacklist, check, content, ResultStream, UsageError, validateReport } from '../../src/index.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';

let dns: FixtureDns;
beforeAll(async () => {
  dns = await startDns();
});
afterAll(async () => {
  await dns?.stop();
});

const net = () => ({ resolvers: [dns.address], timeoutMs: 400, retries: 1 });

describe('library: check()', () => {
  it('returns the report --json prints: same checks, statuses, codes and exit code', async () => {
    const events: string[] = [];
    const stream = new ResultStream();
    stream.on('event', (e: { type: string }) => events.push(e.type));
    const report = await check('good.example', { only: ['spf', 'mx', 'dmarc'], ...net(), stream });
    expect(validateReport(report)).toEqual([]);
    expect(report.command).toBe('check');
    expect(report.targets.map((t) => t.target)).toEqual(['good.example']);
    expect(report.targets[0]!.checks.map((c) => c.check)).toEqual(['spf', 'dmarc', 'mx']);
    expect(events.filter((e) => e === 'check-done')).toHaveLength(3);
    const cli = await runCli(['check', 'good.example', '--only', 'spf,mx,dmarc', '--json', '--no-save', ...dnsArgs(dns)]);
    const doc = cli.json();
    const shape = (r: any) => r.targets.map((t: any) => t.checks.map((c: any) => [c.check, c.status, c.findings.map((f: any) => f.code).sort()]));
    expect(shape(report)).toEqual(shape(doc));
    expect(report.summary.exitCode).toBe(doc.summary.exitCode);
    expect(report.summary.exitCode).toBe(cli.code);
  });

  it('check options by their CLI names; bad input is a UsageError naming the value, before any query', async () => {
    await expect(check('good.example', { only: ['nope'], ...net() })).rejects.toThrow(/only: no check named 'nope'/);
    await expect(check('not a domain', net())).rejects.toBeInstanceOf(UsageError);
    await expect(check('good.example', { ips: ['300.1.1.1'], ...net() })).rejects.toThrow(/300\.1\.1\.1/);
    await expect(check('good.example', { checkOptions: { 'no-such-option': 1 }, ...net() })).rejects.toThrow(/checkOptions: 'no-such-option'/);
    await expect(check('good.example', { resolvers: ['not a resolver!'] })).rejects.toBeInstanceOf(UsageError);
  });

  it('an unanswered lookup is unknown with exit code 3, never a pass', async () => {
    const report = await check('slowmx.example', { only: ['mx'], resolvers: [dns.address], timeoutMs: 200, retries: 0 });
    expect(report.targets[0]!.checks[0]!.status).toBe('unknown');
    expect(report.summary.exitCode).toBe(3);
  });
});

describe('library: blacklist()', () => {
  it('looks an IP up with the lists\' self-tests and returns the blacklist report', async () => {
    const report = await blacklist('192.0.2.10', { ...net(), zones: ['zen.spamhaus.org'] });
    expect(validateReport(report)).toEqual([]);
    expect(report.command).toBe('blacklist');
    expect(report.targets[0]!.checks[0]!.check).toBe('blacklist');
    await expect(blacklist([], net())).rejects.toBeInstanceOf(UsageError);
  });
});

describe('library: content()', () => {
  const gtube = path.join(ROOT, '../shared/conformance/spam/gtube.eml');
  it('judges a message file or its bytes: the report content --json prints', async () => {
    const report = await content(gtube, net());
    expect(validateReport(report)).toEqual([]);
    expect(report.command).toBe('content');
    const codes = report.targets[0]!.checks[0]!.findings.map((f) => f.code);
    expect(codes).toContain('content.test-string');
    expect(report.summary.exitCode).toBe(1);
    const fromBytes = await content(readFileSync(gtube), net());
    expect(fromBytes.targets[0]!.checks[0]!.findings.map((f) => f.code).sort()).toEqual([...codes].sort());
    const cli = await runCli(['content', gtube, '--json', '--no-save', ...dnsArgs(dns)]);
    expect(cli.json().targets[0].checks[0].findings.map((f: { code: string }) => f.code).sort()).toEqual([...codes].sort());
  });

  it('bad options are a UsageError naming them, before anything is read', async () => {
    await expect(content(gtube, { spamd: 'localhost:spam' })).rejects.toThrow(/--spamd/);
    await expect(content(gtube, { ip: 'nope' })).rejects.toBeInstanceOf(UsageError);
    await expect(content('/no/such/file.eml')).rejects.toBeInstanceOf(UsageError);
  });
});

describe('a domain that does not exist', () => {
  it('gets one headline (NXDOMAIN) before any check\'s advice, in the JSON and first in the text', async () => {
    const report = await check('nosuch-at-all.example', { only: ['spf', 'dmarc', 'mta-sts'], ...net() });
    expect(validateReport(report)).toEqual([]);
    expect(report.targets[0]!.headline).toMatch(/^nosuch-at-all\.example does not exist: NXDOMAIN/);
    const good = await check('good.example', { only: ['mx'], ...net() });
    expect(good.targets[0]!.headline).toBeUndefined();
    const cli = await runCli(['check', 'nosuch-at-all.example', '--only', 'spf,dmarc,mta-sts', '--no-save', ...dnsArgs(dns)]);
    const lines = cli.stdout.split('\n');
    expect(lines[1]).toMatch(/^\s+nosuch-at-all\.example does not exist: NXDOMAIN/);
    // the advice to publish records comes after it
    expect(cli.stdout.indexOf('does not exist: NXDOMAIN')).toBeLessThan(cli.stdout.search(/fix: Publish/));
  });
});
