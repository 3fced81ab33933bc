// The alignment check against the real fixture DNS server through the real CLI:
// strict and relaxed SPF/DKIM alignment under the policy's aspf/adkim, assumed
// identifiers, the RFC 9989 Tree Walk versus the RFC 7489 PSL, and DNS failures.
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

async function align(domain: string, extra: string[] = [], cli = false) {
  const { code, doc } = await runOnly(dns, 'alignment', [domain, ...extra], cli);
  expect(validateReport(doc)).toEqual([]);
  const res = doc.targets[0].checks[0];
  return { r: { code }, res, codes: res.findings.map((f: any) => f.code) as string[], find: (c: string) => res.findings.find((f: any) => f.code === c) };
}

describe.concurrent('alignment check', () => {
  it('without --mail-from and --dkim-domain assumes both are the From domain, and says so', async () => {
    const { r, res, codes } = await align('auth-good.example');
    expect(codes).toEqual(['alignment.assumed', 'alignment.ok']);
    expect(res.data.spf).toMatchObject({ domain: 'auth-good.example', assumed: true, strict: true, aligned: true });
    expect(res.data.dkim).toMatchObject({ domain: 'auth-good.example', assumed: true, strict: true, aligned: true });
    expect(res.status).toBe('pass');
    expect(r.code).toBe(0);
  });

  it('relaxed policy: a bounce subdomain aligns relaxed but not strictly', async () => {
    const { res, codes, find } = await align('auth-good.example', ['--mail-from', 'bounce.auth-good.example', '--dkim-domain', 'auth-good.example']);
    expect(codes).toEqual(['alignment.ok']);
    expect(res.data.spf).toMatchObject({ domain: 'bounce.auth-good.example', strict: false, relaxed: true, relaxedPsl: true, mode: 'r', aligned: true, assumed: false, orgDomain: 'auth-good.example' });
    expect(find('alignment.ok').summary).toBe('SPF (bounce.auth-good.example, relaxed) and DKIM (auth-good.example, strict) align with auth-good.example');
  });

  it('strict policy (aspf=s): the same subdomain does not align; DKIM still does', async () => {
    const { res, find } = await align('auth-strict.example', ['--mail-from', 'bounces.auth-strict.example', '--dkim-domain', 'auth-strict.example']);
    expect(res.data.spf).toMatchObject({ strict: false, relaxed: true, mode: 's', aligned: false });
    expect(res.data.dkim).toMatchObject({ strict: true, mode: 's', aligned: true });
    const u = find('alignment.spf-unaligned');
    expect(u.severity).toBe('warn');
    expect(u.summary).toMatch(/aspf=s requires the identical domain/);
    expect(u.detail).toMatch(/DMARC can still pass through DKIM/);
    expect(u.fix).toMatch(/aspf=r/);
    expect(res.status).toBe('warn');
  });

  it('strict adkim: a signing subdomain does not align', async () => {
    const { res, codes } = await align('auth-strict.example', ['--mail-from', 'auth-strict.example', '--dkim-domain', 'mail.auth-strict.example']);
    expect(codes).toEqual(['alignment.dkim-unaligned', 'alignment.ok']);
    expect(res.data.dkim).toMatchObject({ relaxed: true, strict: false, mode: 's', aligned: false });
  });

  it('an ESP envelope and signing domain: alignment.none is an error (DMARC fails for every message)', async () => {
    const { r, res, codes, find } = await align('auth-good.example', ['--mail-from', 'mail.auth-esp.example', '--dkim-domain', 'auth-esp.example'], true);
    expect(codes).toEqual(['alignment.spf-unaligned', 'alignment.dkim-unaligned', 'alignment.none']);
    expect(find('alignment.none').severity).toBe('error');
    expect(find('alignment.none').fix).toMatch(/d=auth-good\.example/);
    expect(res.data.spf).toMatchObject({ relaxed: false, relaxedPsl: false, aligned: false });
    expect(res.status).toBe('fail');
    expect(r.code).toBe(1);
  });

  it('Tree Walk vs PSL: the same registrable domain is not the same organization when a record sits in between', async () => {
    const { res, codes, find } = await align('news.deep.auth-walk.example', ['--mail-from', 'other.auth-walk.example', '--dkim-domain', 'deep.auth-walk.example']);
    expect(res.data.fromOrgDomain).toBe('deep.auth-walk.example');
    expect(res.data.spf).toMatchObject({ orgDomain: 'other.auth-walk.example', relaxed: false, relaxedPsl: true, aligned: false });
    expect(res.data.dkim).toMatchObject({ orgDomain: 'deep.auth-walk.example', relaxed: true, relaxedPsl: true, aligned: true });
    expect(codes).toEqual(['alignment.psl-differs', 'alignment.spf-unaligned', 'alignment.ok']);
    expect(find('alignment.psl-differs').summary).toMatch(/does not align .* by the RFC 9989 Tree Walk but aligns by the RFC 7489 Public Suffix List/);
  });

  it('no DMARC record: computed with the default relaxed modes, and says alignment decides nothing yet', async () => {
    const { res, codes } = await align('auth-missing.example', ['--mail-from', 'bounce.auth-missing.example', '--dkim-domain', 'auth-missing.example']);
    expect(codes).toEqual(['alignment.no-policy', 'alignment.ok']);
    expect(res.data.policyFound).toBe(false);
    expect(res.data.spf).toMatchObject({ mode: 'r', relaxed: true, aligned: true });
  });

  it('when the policy cannot be read, only what holds in both modes counts; the rest is unknown (exit 3)', async () => {
    const { r, res } = await align('auth-dmarcfail.example', ['--mail-from', 'bounce.auth-dmarcfail.example', '--dkim-domain', 'auth-dmarcfail.example']);
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/SPF alignment of bounce\.auth-dmarcfail\.example could not be determined/);
    expect(res.data.spf).toMatchObject({ mode: null, aligned: null });
    expect(res.data.dkim).toMatchObject({ mode: null, strict: true, aligned: true });
    expect(r.code).toBe(3);
  });

  it('draws both identifiers in the human output', async () => {
    const r = await runCli(['check', 'auth-strict.example', '--only', 'alignment', '--no-save', '--mail-from', 'bounces.auth-strict.example', ...dnsArgs(dns, '1500ms')]);
    expect(r.stdout).toContain('SPF  bounces.auth-strict.example  strict no  relaxed yes  mode s → not aligned');
    expect(r.stdout).toContain('DKIM auth-strict.example (assumed)  strict yes  relaxed yes  mode s → aligned');
  });
});
