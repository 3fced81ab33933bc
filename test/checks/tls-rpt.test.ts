// The tls-rpt check through the real CLI against the fixture DNS (and, for the
// "MTA-STS enforced" case, the mta-sts check fetching from a real HTTPS server).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { runCli } from '../helpers/cli.ts';
import { check } from '../../src/engine/api.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { startHttpsLab, type HttpsLab } from '../helpers/https-lab.ts';
import { validateReport } from '../../src/report/validate.ts';
import { parseTlsRptRecord } from '../../checks/tls-rpt.ts';

let dns: FixtureDns;
let lab: HttpsLab;
beforeAll(async () => {
  dns = await startDns();
  lab = await startHttpsLab({ hosts: ['mta-sts.shortage.sts.example', 'mta-sts.testing.sts.example'] });
  lab.route('mta-sts.shortage.sts.example', '/.well-known/mta-sts.txt', { type: 'text/plain', body: 'version: STSv1\nmode: enforce\nmx: mx.shortage.sts.example\nmax_age: 3600\n' });
  lab.route('mta-sts.testing.sts.example', '/.well-known/mta-sts.txt', { type: 'text/plain', body: 'version: STSv1\nmode: testing\nmx: mx.testing.sts.example\nmax_age: 86400\n' });
});
afterAll(async () => {
  await lab?.stop();
  await dns?.stop();
});

/** The check in-process through the library (what `check --only tls-rpt --json` prints). */
async function rpt(domain: string) {
  process.env.INBOXLENS_HTTPS_PORT_MAP = lab.portMap;
  const doc: any = await check(domain, { only: ['tls-rpt'], checkOptions: { 'ca-file': lab.caFile }, resolvers: [dns.address], timeoutMs: 400, retries: 1 });
  const r = { code: doc.summary.exitCode as number };
  expect(validateReport(doc)).toEqual([]);
  expect(doc.targets[0].checks).toHaveLength(1); // the mta-sts dependency runs but is not reported
  const res = doc.targets[0].checks[0];
  return { r, res, codes: res.findings.map((f: any) => f.code) as string[] };
}

describe('TLS-RPT record grammar', () => {
  it('parses rua lists and rejects what RFC 8460 does not allow', () => {
    expect(parseTlsRptRecord('v=TLSRPTv1; rua=mailto:a@example.com, https://r.example.net/x;')).toEqual({
      rua: [
        { uri: 'mailto:a@example.com', scheme: 'mailto', host: 'example.com', resolves: null },
        { uri: 'https://r.example.net/x', scheme: 'https', host: 'r.example.net', resolves: null },
      ],
    });
    expect(parseTlsRptRecord('v=TLSRPTv1;rua=mailto:a@example.com;rua=mailto:b@example.com')).toMatchObject({ error: expect.stringMatching(/twice/) });
    expect(parseTlsRptRecord('v=TLSRPTv1; rua=ftp://x.example')).toMatchObject({ error: expect.stringMatching(/only mailto: and https:/) });
    expect(parseTlsRptRecord('v=TLSRPTv1;')).toMatchObject({ error: expect.stringMatching(/no rua/) });
    expect(parseTlsRptRecord('v=TLSRPTv1; rua=mailto:nobody')).toMatchObject({ error: expect.stringMatching(/email address/) });
  });
});

describe('tls-rpt check', () => {
  it('passes a valid record whose destinations receive mail / resolve', async () => {
    const names = ['good', 'uncovered', 'rpttwo'];
    const runs = await Promise.all(names.map((d) => rpt(`${d}.sts.example`)));
    for (const [i, d] of names.entries()) {
      expect(runs[i]!.codes, d).toEqual(['tls-rpt.ok']);
      expect(runs[i]!.res.data.rua.every((u: any) => u.resolves === true)).toBe(true);
      expect(runs[i]!.r.code).toBe(0);
    }
  });
  it('reports syntax errors: bad scheme, no rua, not an address, wrong-case version', async () => {
    const names = ['rptbadscheme', 'rptnorua', 'rptbadmail', 'rptcase'];
    const runs = await Promise.all(names.map((d) => rpt(`${d}.sts.example`)));
    for (const [i, d] of names.entries()) {
      expect(runs[i]!.codes, d).toEqual(['tls-rpt.syntax']);
      expect(runs[i]!.r.code).toBe(1);
    }
  });
  it('reports several records', async () => {
    const { codes, r } = await rpt('rptmulti.sts.example');
    expect(codes).toEqual(['tls-rpt.multiple-records']);
    expect(r.code).toBe(1);
  });
  it('warns when a mailto destination domain cannot receive mail', async () => {
    const { codes, res } = await rpt('rptnowhere.sts.example');
    expect(codes).toEqual(['tls-rpt.rua-unresolvable']);
    expect(res.data.rua[0]).toMatchObject({ host: 'nowhere.sts.example', resolves: false });
  });
  it('a missing record is info, or a warning when MTA-STS is enforced', async () => {
    const plain = await rpt('nosts.sts.example');
    expect(plain.codes).toEqual(['tls-rpt.missing']);
    expect(plain.res.findings[0].severity).toBe('info');
    const testing = await rpt('testing.sts.example');
    expect(testing.res.findings[0].severity).toBe('info');
    const enforced = await rpt('shortage.sts.example');
    expect(enforced.codes).toEqual(['tls-rpt.missing']);
    expect(enforced.res.findings[0].severity).toBe('warn');
    expect(enforced.res.findings[0].summary).toMatch(/enforces MTA-STS/);
  });
  it('a failed lookup is unknown', async () => {
    const { res, r } = await rpt('rptfail.sts.example');
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/SERVFAIL/);
    expect(r.code).toBe(3);
  });
});
