// The DMARC policy that applies to the name checked, over the fixture DNS:
// RFC 9989 (np= for a name that does not exist, NXDOMAIN per RFC 8020 and not
// NODATA, falling back to sp= then p=; sp=/np= only for a record inherited from the
// organizational or public suffix domain; t=y one step lower) as effectivePolicy,
// and what an RFC 7489 receiver applies (no np=, no t=; discovery ends at a name
// with two records) as rfc7489EffectivePolicy. Before, effectivePolicy ignored np=
// and t=y, there was no rfc7489EffectivePolicy, and RFC 7489 discovery went on past
// a name with two records.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { validateReport } from '../../src/report/validate.ts';
import { startDns } from '../helpers/dns.ts';
import { runOnly } from '../helpers/run-only.ts';

const RUA = (d: string) => `rua=mailto:dmarc@${d}`;
let dns: FixtureDns;
beforeAll(async () => {
  dns = await startDns({
    '_dmarc.effpol-np.example': { TXT: [`v=DMARC1; p=quarantine; sp=none; np=reject; ${RUA('effpol-np.example')}`] },
    'effpol-np.example': { A: ['192.0.2.10'] },
    'exists.effpol-np.example': { A: ['192.0.2.11'] },
    // NODATA for A: the name exists
    'nodata.effpol-np.example': { MX: ['10 mx.effpol-np.example'] },
    // a CNAME whose target is gone: the name itself exists
    'alias.effpol-np.example': { CNAME: ['gone.elsewhere-effpol.example'] },

    '_dmarc.effpol-spfb.example': { TXT: [`v=DMARC1; p=reject; sp=quarantine; ${RUA('effpol-spfb.example')}`] },
    '_dmarc.effpol-pfb.example': { TXT: [`v=DMARC1; p=reject; ${RUA('effpol-pfb.example')}`] },

    '_dmarc.effpol-treject.example': { TXT: [`v=DMARC1; p=reject; t=y; ${RUA('effpol-treject.example')}`] },
    '_dmarc.effpol-tquar.example': { TXT: [`v=DMARC1; p=quarantine; t=y; ${RUA('effpol-tquar.example')}`] },
    '_dmarc.effpol-tsub.example': { TXT: [`v=DMARC1; p=reject; sp=quarantine; np=reject; t=y; ${RUA('effpol-tsub.example')}`] },
    'www.effpol-tsub.example': { A: ['192.0.2.12'] },

    '_dmarc.two.multi-effpol.example': { TXT: ['v=DMARC1; p=none', 'v=DMARC1; p=quarantine'] },
    'two.multi-effpol.example': { A: ['192.0.2.13'] },
    '_dmarc.multi-effpol.example': { TXT: [`v=DMARC1; p=reject; ${RUA('multi-effpol.example')}`] },

    // a public suffix domain's record (psd=y) applies to an organization below it without one
    '_dmarc.psd-effpol.example': { TXT: ['v=DMARC1; p=none; np=reject; psd=y; rua=mailto:d@psd-effpol.example'] },
    'org.psd-effpol.example': { A: ['192.0.2.14'] },

    '_dmarc.fail-effpol.example': { TXT: [`v=DMARC1; p=none; np=reject; ${RUA('fail-effpol.example')}`] },
    'ghost.fail-effpol.example': { behavior: { A: 'servfail' } },
  });
});
afterAll(async () => {
  await dns?.stop();
});

async function dmarc(domain: string) {
  const { doc } = await runOnly(dns, 'dmarc', [domain]);
  expect(validateReport(doc)).toEqual([]);
  const res = doc.targets[0].checks.find((c: any) => c.check === 'dmarc');
  return { res, data: res.data, codes: res.findings.map((x: any) => x.code) as string[] };
}

describe.concurrent('DMARC effective policy', () => {
  it('np= for a name that does not exist (NXDOMAIN), sp= for one that does (NODATA, a CNAME), p= at the name itself', async () => {
    expect((await dmarc('ghost.effpol-np.example')).data).toMatchObject({
      recordDomain: 'effpol-np.example', inherited: true, nameExists: false,
      effectivePolicy: 'reject', effectivePolicyTag: 'np', rfc7489EffectivePolicy: 'none',
    });
    for (const name of ['exists.effpol-np.example', 'nodata.effpol-np.example', 'alias.effpol-np.example']) {
      expect((await dmarc(name)).data, name).toMatchObject({ inherited: true, nameExists: true, effectivePolicy: 'none', effectivePolicyTag: 'sp', rfc7489EffectivePolicy: 'none' });
    }
    // sp= and np= do not apply to the name that has the record
    expect((await dmarc('effpol-np.example')).data).toMatchObject({ inherited: false, nameExists: null, effectivePolicy: 'quarantine', effectivePolicyTag: 'p', rfc7489EffectivePolicy: 'quarantine' });
  });

  it('without np=, a name that does not exist gets sp=, and without sp= it gets p= (both ways alike)', async () => {
    expect((await dmarc('ghost.effpol-spfb.example')).data).toMatchObject({ nameExists: false, effectivePolicy: 'quarantine', effectivePolicyTag: 'sp', rfc7489EffectivePolicy: 'quarantine' });
    expect((await dmarc('ghost.effpol-pfb.example')).data).toMatchObject({ nameExists: false, effectivePolicy: 'reject', effectivePolicyTag: 'p', rfc7489EffectivePolicy: 'reject' });
  });

  it('t=y lowers the RFC 9989 policy one step; RFC 7489 receivers ignore it', async () => {
    const r = await dmarc('effpol-treject.example');
    expect(r.data).toMatchObject({ effectivePolicy: 'quarantine', effectivePolicyTag: 'p', rfc7489EffectivePolicy: 'reject' });
    expect(r.codes).toContain('dmarc.testing-mode');
    const q = await dmarc('effpol-tquar.example');
    expect(q.data).toMatchObject({ effectivePolicy: 'none', rfc7489EffectivePolicy: 'quarantine' });
    expect(q.codes).toContain('dmarc.policy-none');
    expect(q.res.findings.find((x: any) => x.code === 'dmarc.policy-none').summary).toMatch(/lowered by t=y/);
    // an inherited sp=quarantine with t=y: none; a non-existent name's np=reject: quarantine
    expect((await dmarc('www.effpol-tsub.example')).data).toMatchObject({ effectivePolicy: 'none', effectivePolicyTag: 'sp', rfc7489EffectivePolicy: 'quarantine' });
    expect((await dmarc('ghost.effpol-tsub.example')).data).toMatchObject({ effectivePolicy: 'quarantine', effectivePolicyTag: 'np', rfc7489EffectivePolicy: 'quarantine' });
  });

  it('two records at the name: RFC 9989 walks on to the organizational domain, RFC 7489 discovery ends (no policy)', async () => {
    const r = await dmarc('two.multi-effpol.example');
    expect(r.data).toMatchObject({
      recordDomain: 'multi-effpol.example', inherited: true, effectivePolicy: 'reject',
      rfc7489RecordDomain: null, rfc7489EffectivePolicy: null,
    });
    expect(r.codes).toContain('dmarc.multiple-records');
  });

  it("a public suffix domain's record: np= for a name below it that does not exist", async () => {
    expect((await dmarc('ghost.org.psd-effpol.example')).data).toMatchObject({
      recordDomain: 'psd-effpol.example', organizationalDomain: 'org.psd-effpol.example', nameExists: false,
      effectivePolicy: 'reject', effectivePolicyTag: 'np', rfc7489RecordDomain: 'psd-effpol.example', rfc7489EffectivePolicy: 'none',
    });
    expect((await dmarc('org.psd-effpol.example')).data).toMatchObject({ nameExists: true, effectivePolicy: 'none', effectivePolicyTag: 'p' });
  });

  it('a failed existence lookup, when np= would differ, leaves the policy unknown (never the weaker guess as fact)', async () => {
    const r = await dmarc('ghost.fail-effpol.example');
    expect(r.res.status).toBe('unknown');
    expect(r.res.reason).toMatch(/np=reject/);
    expect(r.data).toMatchObject({ nameExists: null, effectivePolicy: null, rfc7489EffectivePolicy: 'none' });
  });
});
