import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { runCli } from '../helpers/cli.ts';
import { check } from '../../src/engine/api.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { validateReport } from '../../src/report/validate.ts';

let dns: FixtureDns;
beforeAll(async () => {
  dns = await startDns();
});
afterAll(async () => {
  await dns?.stop();
});

/** The check in-process through the library (what `check --only mx --json` prints). */
async function mx(domain: string) {
  const doc: any = await check(domain, { only: ['mx'], resolvers: [dns.address], timeoutMs: 400, retries: 1 });
  const r = { code: doc.summary.exitCode as number };
  expect(validateReport(doc)).toEqual([]);
  return { r, res: doc.targets[0].checks[0], codes: doc.targets[0].checks[0].findings.map((f: any) => f.code) };
}

describe('mx check', () => {
  it('passes a domain whose MX hosts resolve', async () => {
    const { r, res } = await mx('good.example');
    expect(r.code).toBe(0);
    expect(res.status).toBe('pass');
    expect(res.data.hosts.map((h: any) => h.exchange)).toEqual(['mx1.good.example', 'mx2.good.example']);
  });
  it('flags a null MX as an error (RFC 7505)', async () => {
    const { r, codes } = await mx('nullmx.example');
    expect(codes).toEqual(['mx.null']);
    expect(r.code).toBe(1);
  });
  it('warns when there is no MX', async () => {
    const { r, codes } = await mx('nomx.example');
    expect(codes).toEqual(['mx.missing']);
    expect(r.code).toBe(0);
  });
  it('finds unresolvable and CNAME targets', async () => {
    const { codes } = await mx('badmx.example');
    expect(codes).toContain('mx.unresolvable');
    expect(codes).toContain('mx.cname-target');
  });
  it('reports a DNS timeout as unknown, never pass or fail (exit 3)', async () => {
    const { r, res } = await mx('slowmx.example');
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/TIMEOUT/);
    expect(r.code).toBe(3);
  });
});
