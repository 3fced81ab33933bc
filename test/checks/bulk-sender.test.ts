// The bulk-sender rollup against the real fixture DNS server through the real CLI:
// it reads the real spf, dkim, dmarc, alignment and ptr results of the same run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { validateReport } from '../../src/report/validate.ts';
import { runCli } from '../helpers/cli.ts';
import { runOnly } from '../helpers/run-only.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';


let dns: FixtureDns;
beforeAll(async () => {
  dns = await startDns();
});
afterAll(async () => {
  await dns?.stop();
});

async function bulk(domain: string, extra: string[] = [], cli = false) {
  const { code, doc } = await runOnly(dns, 'bulk-sender', [domain, ...extra], cli);
  expect(validateReport(doc)).toEqual([]);
  const res = doc.targets[0].checks[0];
  const line = (id: string) => res.data.requirements.find((l: any) => l.id === id);
  return { r: { code }, doc, res, line, codes: res.findings.map((f: any) => f.code) as string[] };
}

const OUTSIDE = ['unsubscribe', 'tls', 'format', 'spam-rate'];

describe.concurrent('bulk-sender check', () => {
  it('a well-configured sender meets every requirement DNS can show', async () => {
    const { r, doc, res, line, codes } = await bulk('auth-good.example', ['--mail-from', 'bounce.auth-good.example', '--ip', '192.0.2.231', '--selector', 'google'], true);
    // only the selected check is reported, though its inputs ran
    expect(doc.targets[0].checks.map((c: any) => c.check)).toEqual(['bulk-sender']);
    expect(res.data.requirements.map((l: any) => [l.id, l.status])).toEqual([
      ['spf', 'pass'], ['spf-pass', 'pass'], ['dkim', 'pass'], ['dmarc', 'pass'], ['alignment', 'pass'], ['ptr', 'pass'],
      ['unsubscribe', 'not-checkable'], ['tls', 'not-checkable'], ['format', 'not-checkable'], ['spam-rate', 'not-checkable'],
    ]);
    expect(line('spf').detail).toBe('bounce.auth-good.example: v=spf1 ip4:192.0.2.0/24 -all');
    expect(line('dkim').detail).toBe('usable key(s) at google._domainkey.auth-good.example, s1._domainkey.auth-good.example');
    expect(line('dmarc').detail).toBe('p=reject for auth-good.example (from _dmarc.auth-good.example)');
    expect(line('ptr').detail).toBe('192.0.2.231 ↔ out.auth-good.example');
    expect(res.data.summary).toEqual({ pass: 6, fail: 0, unknown: 0, notCheckable: 4 });
    expect(codes.filter((c) => c === 'bulk-sender.ok')).toHaveLength(6);
    expect(codes).toContain('bulk-sender.not-checkable');
    expect(res.status).toBe('pass');
    expect(r.code).toBe(0);
  });

  it('each line names its providers and links their documents', async () => {
    const { res, line } = await bulk('auth-good.example', ['--selector', 'google']);
    expect(line('ptr').providers).toEqual(['gmail', 'yahoo']);
    expect(line('unsubscribe').level).toEqual({ gmail: 'required', yahoo: 'required', microsoft: 'recommended' });
    expect(line('spam-rate').requirement).toMatch(/0\.3%/);
    expect(line('tls').providers).toEqual(['gmail']);
    expect(line('tls').refs).toEqual(['https://support.google.com/a/answer/81126']);
    expect(line('dmarc').refs).toHaveLength(3);
    expect(Object.keys(res.data.providers)).toEqual(['gmail', 'yahoo', 'microsoft']);
    expect(res.data.providers.microsoft.name).toMatch(/5,000/);
    const ok = res.findings.find((f: any) => f.code === 'bulk-sender.ok' && f.subject === 'dmarc');
    expect(ok.ref).toContain('https://support.google.com/a/answer/81126');
    expect(ok.ref).toContain('https://senders.yahooinc.com/best-practices/');
    expect(ok.ref).toContain('techcommunity.microsoft.com');
    const outside = res.findings.find((f: any) => f.code === 'bulk-sender.not-checkable');
    expect(outside.summary).toMatch(new RegExp(OUTSIDE.join(', ')));
    // without --ip the IP-based lines are not checkable, not failures
    expect(line('ptr').status).toBe('not-checkable');
    expect(line('spf-pass').status).toBe('not-checkable');
  });

  it('fails the lines that are not met, each with its own code, and exits 1', async () => {
    const { r, res, line, codes } = await bulk('auth-missing.example', ['--ip', '192.0.2.232', '--selector', 'google']);
    expect(line('spf').status).toBe('pass'); // "v=spf1 -all" is a record…
    expect(line('spf-pass')).toMatchObject({ status: 'fail', detail: '192.0.2.232: fail' }); // …that authorizes nothing
    expect(line('dkim')).toMatchObject({ status: 'fail' });
    expect(line('dmarc')).toMatchObject({ status: 'fail' });
    expect(line('dmarc').detail).toMatch(/no DMARC policy applies to auth-missing\.example \(dmarc\.missing\)/);
    expect(line('ptr')).toMatchObject({ status: 'fail', detail: '192.0.2.232: no PTR record' });
    expect(codes).toEqual(expect.arrayContaining(['bulk-sender.spf-pass', 'bulk-sender.dkim', 'bulk-sender.dmarc', 'bulk-sender.ptr']));
    expect(res.findings.find((f: any) => f.code === 'bulk-sender.ptr').severity).toBe('error');
    expect(res.status).toBe('fail');
    expect(r.code).toBe(1);
  });

  it('alignment that cannot be achieved with the given envelope and DKIM domains fails the alignment line', async () => {
    const { line } = await bulk('auth-good.example', ['--mail-from', 'mail.auth-esp.example', '--dkim-domain', 'auth-esp.example']);
    expect(line('alignment')).toMatchObject({ status: 'fail', detail: 'neither SPF (mail.auth-esp.example) nor DKIM (auth-esp.example) aligns' });
  });

  it('an envelope domain without SPF fails the SPF line', async () => {
    const { line, codes } = await bulk('auth-good.example', ['--mail-from', 'other.auth-walk.example', '--selector', 'google']);
    expect(line('spf')).toMatchObject({ status: 'fail', detail: 'other.auth-walk.example has no SPF record' });
    expect(codes).toContain('bulk-sender.spf');
  });

  it('a reverse lookup that failed (SERVFAIL) is unknown, never "no PTR record"', async () => {
    const { line } = await bulk('auth-good.example', ['--ip', '192.0.2.106', '--selector', 'google']);
    expect(line('ptr').status).toBe('unknown');
    expect(line('ptr').detail).not.toMatch(/no PTR record/);
  });

  it('an input that is unknown makes its line unknown, and the rollup unknown (exit 3)', async () => {
    const { r, res, line, codes } = await bulk('auth-nokey.example');
    expect(line('dkim').status).toBe('unknown');
    expect(line('dkim').detail).toMatch(/guessed selectors/);
    expect(codes).toContain('bulk-sender.unknown');
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/could not be determined: dkim/);
    expect(r.code).toBe(3);
  });

  it('an SPF lookup that fails (SERVFAIL) is unknown for the SPF lines, never "has no SPF record" (exit 3, not 1)', async () => {
    const { r, line, codes } = await bulk('auth-spfservfail.example');
    expect(line('spf').status).toBe('unknown');
    expect(line('spf').detail).toMatch(/SPF lookup for auth-spfservfail\.example failed: .*SERVFAIL/);
    expect(codes).not.toContain('bulk-sender.spf');
    expect(codes).not.toContain('bulk-sender.spf-pass');
    expect(r.code).toBe(3);
  });

  it('a DMARC lookup that times out is unknown, not a failed requirement', async () => {
    const { line } = await bulk('auth-dmarcfail.example', ['--selector', 'x']);
    expect(line('dmarc').status).toBe('unknown');
    expect(line('dmarc').detail).toMatch(/TIMEOUT/);
  });

  it('draws one line per requirement in the human output', async () => {
    const r = await runCli(['check', 'auth-good.example', '--only', 'bulk-sender', '--no-save', '--selector', 'google', ...dnsArgs(dns, '1500ms')]);
    expect(r.stdout).toContain('pass  DMARC policy published for the From domain (p=none or stronger) [Gmail, Yahoo, Microsoft]');
    expect(r.stdout).toContain(' n/a  User-reported spam rate below 0.3% (aim for under 0.1%) [Gmail, Yahoo] — see: Postmaster Tools');
  });
});
