// The dmarc check against the real fixture DNS server through the real CLI:
// every finding code, RFC 9989 Tree Walk versus RFC 7489 PSL, report-destination
// authorization present/absent/unknown, inheritance, and DNS failures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { DnsClient } from '../../src/dns/resolver.ts';
import { discoverDmarc, walkNames } from '../../src/dmarc/discover.ts';
import { mailtoDomain, parseDmarc } from '../../src/dmarc/record.ts';
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

async function dmarc(domain: string, extra: string[] = [], cli = false) {
  const { code, doc } = await runOnly(dns, 'dmarc', [domain, ...extra], cli);
  expect(validateReport(doc)).toEqual([]);
  const res = doc.targets[0].checks[0];
  return { r: { code }, res, codes: res.findings.map((f: any) => f.code) as string[], find: (c: string) => res.findings.find((f: any) => f.code === c) };
}

describe.concurrent('dmarc check', () => {
  it('passes an enforced policy with reports, and says what it found', async () => {
    const { r, res, codes } = await dmarc('auth-good.example');
    expect(codes).toEqual(['dmarc.ok']);
    expect(res.status).toBe('pass');
    expect(r.code).toBe(0);
    expect(res.data).toMatchObject({
      record: 'v=DMARC1; p=reject; rua=mailto:dmarc@auth-good.example; adkim=r; aspf=r',
      recordDomain: 'auth-good.example', organizationalDomain: 'auth-good.example', pslOrganizationalDomain: 'auth-good.example',
      inherited: false, effectivePolicy: 'reject',
      policy: { p: 'reject', sp: null, np: null, adkim: 'r', aspf: 'r', t: 'n', pct: null, rua: ['mailto:dmarc@auth-good.example'], ruf: [] },
      reportDestinations: [{ kind: 'rua', uri: 'mailto:dmarc@auth-good.example', domain: 'auth-good.example', external: false, authorized: true }],
    });
  });

  it('dmarc.missing: no record anywhere on the Tree Walk (exit 1), with every query as evidence', async () => {
    const { r, res, codes, find } = await dmarc('auth-missing.example', [], true);
    expect(codes).toEqual(['dmarc.missing']);
    expect(find('dmarc.missing').severity).toBe('error');
    expect(find('dmarc.missing').evidence.map((e: any) => e.query)).toEqual(['_dmarc.auth-missing.example', '_dmarc.example']);
    expect(find('dmarc.missing').fix).toMatch(/v=DMARC1; p=none; rua=mailto:/);
    expect(res.data.record).toBeNull();
    expect(r.code).toBe(1);
  });

  it('dmarc.multiple-records: two records are discarded as none (and not also reported missing)', async () => {
    const { codes, res } = await dmarc('auth-multi.example');
    expect(codes).toEqual(['dmarc.multiple-records']);
    expect(res.data.walk[0].records).toHaveLength(2);
    expect(res.status).toBe('fail');
  });

  it('dmarc.syntax: a lower-case "v=dmarc1" is not a DMARC record to receivers', async () => {
    const { codes, find } = await dmarc('auth-lower.example');
    expect(codes).toEqual(['dmarc.syntax']);
    expect(find('dmarc.syntax').severity).toBe('error');
    expect(find('dmarc.syntax').summary).toMatch(/must start with exactly "v=DMARC1"/);
  });

  it('dmarc.syntax: bad values, a bare address in rua and unknown tags are each explained', async () => {
    const { codes, find } = await dmarc('auth-syntax.example');
    expect(codes).toEqual(['dmarc.syntax', 'dmarc.no-rua']);
    const d = find('dmarc.syntax');
    expect(d.severity).toBe('error');
    expect(d.detail).toMatch(/p=rejectt is not none, quarantine or reject/);
    expect(d.detail).toMatch(/adkim=x is not r/);
    expect(d.detail).toMatch(/'reports@auth-syntax\.example' is not a URI/);
    expect(d.detail).toMatch(/unknown tag foo=/);
    expect(d.summary).toMatch(/receivers apply no policy/);
  });

  it('dmarc.syntax: a record without p= and without rua= is ignored by receivers', async () => {
    const { find, res } = await dmarc('auth-nopolicy.example');
    expect(find('dmarc.syntax').detail).toMatch(/no p= tag and no valid rua=/);
    expect(res.data.effectivePolicy).toBeNull();
  });

  it('dmarc.policy-none and dmarc.no-rua', async () => {
    const { codes, find, res } = await dmarc('auth-nokey.example');
    expect(codes.sort()).toEqual(['dmarc.no-rua', 'dmarc.policy-none']);
    expect(find('dmarc.policy-none').severity).toBe('warn');
    expect(res.status).toBe('warn');
  });

  it('dmarc.deprecated-tag: pct, rf and ri are historic in RFC 9989; pct below 100 changes meaning (warn)', async () => {
    const { codes, find, res } = await dmarc('auth-legacy.example');
    expect(codes).toEqual(['dmarc.deprecated-tag']);
    expect(find('dmarc.deprecated-tag').severity).toBe('warn');
    expect(find('dmarc.deprecated-tag').summary).toMatch(/pct=, rf=, ri=/);
    expect(find('dmarc.deprecated-tag').fix).toMatch(/t=y/);
    expect(res.data.policy.pct).toBe(50);
  });

  it('dmarc.testing-mode: t=y', async () => {
    const { codes, res } = await dmarc('auth-testing.example');
    expect(codes).toEqual(['dmarc.testing-mode']);
    expect(res.data.policy.t).toBe('y');
  });

  it('dmarc.subdomain-policy-weaker: sp and np weaker than p', async () => {
    const { codes, find } = await dmarc('auth-weaksub.example');
    expect(codes).toEqual(['dmarc.subdomain-policy-weaker']);
    expect(find('dmarc.subdomain-policy-weaker').summary).toMatch(/sp=none and np=quarantine are weaker than p=reject/);
  });

  it('a subdomain inherits the organizational record and gets its sp= policy', async () => {
    const { res, codes } = await dmarc('mail.auth-sub.example');
    expect(res.data).toMatchObject({ recordDomain: 'auth-sub.example', inherited: true, effectivePolicy: 'quarantine', organizationalDomain: 'auth-sub.example' });
    expect(codes).toEqual(['dmarc.subdomain-policy-weaker']);
  });

  it('report destinations: authorized, authorized by wildcard, internal, and not authorized (all queried)', async () => {
    const { codes, res, find } = await dmarc('auth-ext.example');
    expect(codes).toEqual(['dmarc.rua-unauthorized']);
    expect(res.data.reportDestinations).toEqual([
      { kind: 'rua', uri: 'mailto:agg@auth-reports.example', domain: 'auth-reports.example', external: true, authorized: true, query: 'auth-ext.example._report._dmarc.auth-reports.example' },
      { kind: 'rua', uri: 'mailto:agg@auth-rptwild.example', domain: 'auth-rptwild.example', external: true, authorized: true, query: 'auth-ext.example._report._dmarc.auth-rptwild.example' },
      { kind: 'rua', uri: 'mailto:d@auth-ext.example', domain: 'auth-ext.example', external: false, authorized: true },
      { kind: 'ruf', uri: 'mailto:ruf@auth-unauth.example', domain: 'auth-unauth.example', external: true, authorized: false, query: 'auth-ext.example._report._dmarc.auth-unauth.example' },
    ]);
    const u = find('dmarc.rua-unauthorized');
    expect(u.subject).toBe('auth-ext.example._report._dmarc.auth-unauth.example');
    expect(u.ref).toBe('RFC 9990 §4');
    expect(u.evidence[0]).toMatchObject({ query: 'auth-ext.example._report._dmarc.auth-unauth.example', rcode: 'NXDOMAIN' });
    // the three external destinations were each asked exactly once
    for (const d of ['auth-reports.example', 'auth-rptwild.example', 'auth-unauth.example']) {
      expect(dns.counts.get(`TXT auth-ext.example._report._dmarc.${d}`)).toBeGreaterThanOrEqual(1);
    }
  });

  it('an authorization lookup that fails leaves the result unknown (exit 3)', async () => {
    const { r, res } = await dmarc('auth-extfail.example');
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/auth-extfail\.example\._report\._dmarc\.auth-rptfail\.example could not be looked up.*SERVFAIL/);
    expect(res.data.reportDestinations[0].authorized).toBeNull();
    expect(r.code).toBe(3);
  });

  it('a DNS timeout on the policy lookup is unknown with the reason, never "missing" (exit 3)', async () => {
    const { r, res, codes } = await dmarc('auth-dmarcfail.example', [], true);
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/_dmarc\.auth-dmarcfail\.example.*TIMEOUT/);
    expect(codes).not.toContain('dmarc.missing');
    expect(r.code).toBe(3);
  });

  it('Tree Walk vs PSL: the walk finds a record between the domain and its registrable domain, RFC 7489 finds none', async () => {
    const { res, codes, find } = await dmarc('news.deep.auth-walk.example');
    expect(res.data).toMatchObject({
      recordDomain: 'deep.auth-walk.example', organizationalDomain: 'deep.auth-walk.example',
      pslOrganizationalDomain: 'auth-walk.example', rfc7489RecordDomain: null, inherited: true, effectivePolicy: 'quarantine',
    });
    expect(res.data.walk.map((w: any) => w.domain)).toEqual(['news.deep.auth-walk.example', 'deep.auth-walk.example', 'auth-walk.example', 'example']);
    expect(codes).toEqual(['dmarc.org-domain-differs', 'dmarc.ok']);
    expect(find('dmarc.org-domain-differs').detail).toMatch(/they find no record, while RFC 9989 receivers apply _dmarc\.deep\.auth-walk\.example/);
  });

  it('Tree Walk vs PSL: below a psd=y record the domain is its own organization', async () => {
    const { res, codes } = await dmarc('brand.auth-psd.example');
    expect(res.data).toMatchObject({
      recordDomain: 'auth-psd.example', organizationalDomain: 'brand.auth-psd.example', pslOrganizationalDomain: 'auth-psd.example',
      rfc7489RecordDomain: 'auth-psd.example', inherited: true,
    });
    expect(codes).toContain('dmarc.org-domain-differs');
  });

  it('dmarc.org-domain-unknown: the record at the domain applies, the walk above it failed (unknown)', async () => {
    const { res, codes, r } = await dmarc('sub.auth-orgfail.example');
    expect(codes).toEqual(['dmarc.org-domain-unknown', 'dmarc.ok']);
    expect(res.data).toMatchObject({ recordDomain: 'sub.auth-orgfail.example', organizationalDomain: null, effectivePolicy: 'reject' });
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/organizational domain unknown: .*_dmarc\.auth-orgfail\.example.*SERVFAIL/);
    expect(r.code).toBe(3);
  });

  it('draws the policy in the human output', async () => {
    const r = await runCli(['check', 'auth-ext.example', '--only', 'dmarc', '--no-save', ...dnsArgs(dns, '1500ms')]);
    expect(r.stdout).toContain('policy for auth-ext.example: reject');
    expect(r.stdout).toContain('ruf mailto:ruf@auth-unauth.example not authorized');
  });
});

describe('DMARC discovery and parser units', () => {
  it('walks at most eight names: eight or more labels are cut straight to seven (RFC 9989 §4.10)', () => {
    expect(walkNames('a.b.c.d.e.f.g.h.i.example')).toEqual([
      'a.b.c.d.e.f.g.h.i.example', 'd.e.f.g.h.i.example', 'e.f.g.h.i.example', 'f.g.h.i.example', 'g.h.i.example', 'h.i.example', 'i.example', 'example',
    ]);
  });

  it('queries every walk name at once and each only once, over the real DNS layer', async () => {
    // generous: a loaded CI machine must not turn a slow answer into a timeout
  const client = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: dns.port }], timeoutMs: 1500, retries: 1 });
    dns.resetCounts();
    const d = await discoverDmarc(client, 'x.y.news.deep.auth-walk.example');
    expect(d.recordDomain).toBe('deep.auth-walk.example');
    const asked = [...dns.counts.entries()].filter(([k]) => k.startsWith('TXT _dmarc.'));
    expect(asked.map(([k]) => k).sort()).toEqual(walkNames('x.y.news.deep.auth-walk.example').map((n) => `TXT _dmarc.${n}`).sort());
    expect(asked.every(([, n]) => n === 1)).toBe(true);
  });

  it('parses records as strict receivers do and reports what lenient ones forgive', () => {
    expect(parseDmarc('v=DMARC1; p=reject').problems).toEqual([]);
    expect(parseDmarc('v=DMARC1; P=reject; rua=mailto:a@b.example').problems[0]).toMatchObject({ severity: 'warn', tag: 'p' });
    expect(parseDmarc('v=DMARC1; p=none; p=reject').problems.some((p) => p.severity === 'error' && /twice/.test(p.message))).toBe(true);
    expect(parseDmarc('v=DMARC1;p=quarantine;rua=mailto:a@b.example!10m').policy.rua).toEqual(['mailto:a@b.example!10m']);
    expect(parseDmarc('v=DMARC1; rua=mailto:a@b.example').applied).toEqual({ p: 'none' });
    expect(parseDmarc('v=DMARC1; p=reject; sp=bogus').applied).toBeNull();
    expect(parseDmarc('v=spf1 -all').isDmarc).toBe(false);
  });

  it('finds the mailbox domain of a reporting URI', () => {
    expect(mailtoDomain('mailto:dmarc@Example.COM')).toBe('example.com');
    expect(mailtoDomain('mailto:a%40b@example.com!10m')).toBe('example.com');
    expect(mailtoDomain('https://example.com/r')).toBeNull();
    expect(mailtoDomain('mailto:nobody')).toBeNull();
  });
});
