// How the blacklist check gathers its targets inside `check`: --ip addresses and
// ranges, the From/envelope/DKIM domains, and the SPF check's authorized ranges
// (own ranges checked, shared ESP ranges only with --include-shared, too-wide
// ranges reported). The SPF result is a hand-made one here so these rules are
// tested on their own; DNS is the real lab server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { DnsClient } from '../../src/dns/resolver.ts';
import { checkSettings, runTarget } from '../../src/engine.ts';
import type { Check, RunOptions } from '../../src/types.ts';
import blacklist from '../../checks/blacklist.ts';
import { startDns } from '../helpers/dns.ts';

let dns: FixtureDns;
beforeAll(async () => {
  dns = await startDns();
});
afterAll(async () => {
  await dns?.stop();
});

const RANGES = [
  { range: '192.0.2.99', family: 4, source: 'gather-dnsbl-lab.example', term: 'ip4:192.0.2.99', shared: false },
  { range: '198.51.100.0/30', family: 4, source: 'gather-dnsbl-lab.example', term: 'ip4:198.51.100.0/30', shared: false },
  { range: '10.0.0.0/16', family: 4, source: 'gather-dnsbl-lab.example', term: 'ip4:10.0.0.0/16', shared: false },
  { range: '2001:db8::bad/128', family: 6, source: 'gather-dnsbl-lab.example', term: 'ip6:2001:db8::bad', shared: false },
  { range: '2001:db8:1::/64', family: 6, source: 'gather-dnsbl-lab.example', term: 'ip6:2001:db8:1::/64', shared: false },
  { range: '203.0.113.0/30', family: 4, source: '_spf.esp-dnsbl-lab.example', term: 'ip4:203.0.113.0/30', shared: true },
];

function spfStub(data: Record<string, unknown> | undefined, status: 'pass' | 'unknown' = 'pass'): Check {
  return { id: 'spf', title: 'SPF', needs: ['dns'], run: async () => ({ status, ...(status === 'unknown' ? { reason: 'TXT lookup: TIMEOUT' } : {}), findings: [], ...(data ? { data } : {}) }) };
}

async function run(opts: Partial<RunOptions>, spf?: Check) {
  const o: RunOptions = { ips: [], selectors: [], ...opts };
  const registry = new Map<string, Check>([['blacklist', blacklist]]);
  if (spf) registry.set('spf', spf);
  await checkSettings(blacklist, o);
  const client = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: dns.port }], timeoutMs: 500, retries: 1 });
  const res = await runTarget({ target: 'gather-dnsbl-lab.example', checks: [blacklist], registry, opts: o, dns: client });
  const c = res.checks[0]!;
  const data = c.data as any;
  return { c, data, row: (t: string) => data.targets.find((x: any) => x.target === t), codes: c.findings.map((f) => f.code) };
}

describe('gathering targets for the blacklist check', () => {
  it("checks the domain's own SPF ranges, not shared ones, and reports what it did not expand", async () => {
    const { data, row, codes, c } = await run({}, spfStub({ authorizedRanges: RANGES }));
    const targets = data.targets.map((t: any) => t.target);
    expect(targets).toEqual(expect.arrayContaining(['192.0.2.99', '198.51.100.0', '198.51.100.3', '2001:db8::bad', 'gather-dnsbl-lab.example']));
    expect(targets.some((t: string) => t.startsWith('203.0.113.'))).toBe(false);
    expect(targets.some((t: string) => t.startsWith('10.0.'))).toBe(false);
    expect(row('192.0.2.99').sources).toEqual(['SPF ip4:192.0.2.99']);
    expect(row('198.51.100.2').listedOn).toBe(1);
    expect(row('gather-dnsbl-lab.example').sources).toEqual(['From domain']);
    expect(data.shared).toEqual([{ range: '203.0.113.0/30', term: 'ip4:203.0.113.0/30', source: '_spf.esp-dnsbl-lab.example' }]);
    expect(data.notExpanded.map((n: any) => n.range)).toEqual(['10.0.0.0/16', '2001:db8:1::/64']);
    expect(codes).toEqual(expect.arrayContaining(['dnsbl.shared-skipped', 'dnsbl.range-not-expanded', 'dnsbl.listed']));
    expect(c.findings.find((f) => f.code === 'dnsbl.shared-skipped')!.fix).toMatch(/--include-shared/);
    // single addresses come before expanded ranges (the budget cuts from the end)
    expect(targets.indexOf('192.0.2.99')).toBeLessThan(targets.indexOf('198.51.100.0'));
  });

  it('--include-shared checks the shared ranges too', async () => {
    const { row, data } = await run({ includeShared: true }, spfStub({ authorizedRanges: RANGES }));
    expect(row('203.0.113.1').sources).toEqual(['SPF ip4:203.0.113.0/30 in _spf.esp-dnsbl-lab.example (shared)']);
    expect(data.shared).toBeUndefined();
  });

  it('puts --ip, envelope and DKIM domains first, merging sources of the same target', async () => {
    const { data, row } = await run(
      { ips: ['192.0.2.99'], ipRanges: ['192.0.2.8/30'], mailFrom: 'bounce.spam-dnsbl-lab.example', dkimDomain: 'gather-dnsbl-lab.example' },
      spfStub({ authorizedRanges: RANGES.slice(0, 1) }),
    );
    expect(data.targets[0].target).toBe('192.0.2.99');
    expect(row('192.0.2.99').sources).toEqual(['--ip', 'SPF ip4:192.0.2.99']);
    expect(row('192.0.2.9').sources).toEqual(['--ip 192.0.2.8/30']);
    expect(row('spam-dnsbl-lab.example').sources).toEqual(['envelope domain (--mail-from) bounce.spam-dnsbl-lab.example']);
    expect(row('gather-dnsbl-lab.example').sources).toEqual(['From domain', 'DKIM domain (--dkim-domain)']);
  });

  it("takes the envelope domain's ranges from the SPF check's per-domain results", async () => {
    const { row } = await run({ mailFrom: 'bounce-dnsbl-lab.example' }, spfStub({
      authorizedRanges: [],
      domains: { 'bounce-dnsbl-lab.example': { authorizedRanges: [{ range: '192.0.2.56', family: 4, source: 'bounce-dnsbl-lab.example', term: 'ip4:192.0.2.56', shared: false }] } },
    }));
    expect(row('192.0.2.56').sources).toEqual(['SPF ip4:192.0.2.56 in bounce-dnsbl-lab.example']);
  });

  it('without an SPF check, or with an SPF lookup that failed, it says the IPs were not gathered', async () => {
    const none = await run({ ips: ['192.0.2.10'] });
    expect(none.codes).toContain('dnsbl.spf-unavailable');
    expect(none.c.findings.find((f) => f.code === 'dnsbl.spf-unavailable')!.severity).toBe('info');
    expect(none.row('192.0.2.10')).toBeTruthy();
    const failed = await run({}, spfStub(undefined, 'unknown'));
    const f = failed.c.findings.find((x) => x.code === 'dnsbl.spf-unavailable')!;
    expect(f.severity).toBe('warn');
    expect(f.summary).toMatch(/TIMEOUT/);
  });
});
