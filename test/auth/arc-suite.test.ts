// The ValiMail ARC validation suite (171 cases, ../shared/conformance/arc) through
// inboxlens's own ARC verification (src/auth/arc.ts, behind placement's local
// re-check), with each scenario's txt-records served by the fixture DNS server.
// Before the tag-list pre-validation and the AMS h= rule, 166 passed: four
// malformed ARC-Seals were accepted and a valid AMS with an empty h= refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsClient } from '../../src/dns/resolver.ts';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { verifyArc } from '../../src/auth/arc.ts';
import { localAuth } from '../../src/placement/classify.ts';
import { startDns } from '../helpers/dns.ts';
import { loadArcSuite } from '../helpers/arc-suite.ts';

const { cases, txt } = loadArcSuite();
let dns: FixtureDns;
let client: DnsClient;
beforeAll(async () => {
  dns = await startDns(Object.fromEntries(Object.entries(txt).map(([k, v]) => [k, { TXT: [v] }])), { zonesDir: null });
  client = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: dns.port }], timeoutMs: 3000, retries: 2 });
});
afterAll(async () => {
  await dns?.stop();
});

describe('ValiMail ARC validation suite', () => {
  it('has its 171 cases', () => {
    expect(cases).toHaveLength(171);
  });

  it("every case gets the chain status the suite expects through placement's local re-check (171/171)", async () => {
    const got: { id: string; expected: string; result: string; comment?: string }[] = [];
    for (const c of cases) {
      const v = await localAuth(c.message, client);
      got.push({ id: c.id, expected: c.cv, result: v.arc?.result ?? `error: ${v.error}`, ...(v.arc?.comment ? { comment: v.arc.comment } : {}) });
    }
    const wrong = got.filter((g) => g.expected !== g.result);
    expect(wrong).toEqual([]);
    // the keys really came over DNS
    expect(dns.counts.size).toBeGreaterThan(0);
  }, 120_000);

  it('names what is wrong with a malformed seal', async () => {
    const by = (id: string) => cases.find((c) => c.id === id)!;
    expect(await verifyArc(by('as_format_tags_dup').message, client.mailauthResolver)).toMatchObject({ result: 'fail', comment: 'i=1 as tag-list: duplicate tag: s' });
    expect(await verifyArc(by('as_format_tags_key_case').message, client.mailauthResolver)).toMatchObject({ result: 'fail', comment: 'i=1 as tag-list: missing s=' });
    expect(await verifyArc(by('as_format_tags_sc').message, client.mailauthResolver)).toMatchObject({ result: 'fail', comment: 'i=1 as tag-list: empty tag-spec' });
    expect(await verifyArc(by('as_format_inv_tag_key').message, client.mailauthResolver)).toMatchObject({ result: 'fail', comment: 'i=1 as tag-list: invalid tag name: _' });
    expect(await verifyArc(by('ams_fields_h_empty').message, client.mailauthResolver)).toMatchObject({ result: 'pass', instance: 1 });
  });
});
