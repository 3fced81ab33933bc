import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { runCli } from '../helpers/cli.ts';
import { check } from '../../src/engine/api.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { validateReport } from '../../src/report/validate.ts';
import { genericReason, reverseName } from '../../checks/ptr.ts';

let dns: FixtureDns;
beforeAll(async () => {
  dns = await startDns();
});
afterAll(async () => {
  await dns?.stop();
});

/** The check in-process through the library (what `check --only ptr --json` prints). */
async function ptr(...ips: string[]) {
  const doc: any = await check('ptr.example', { only: ['ptr'], ips, resolvers: [dns.address], timeoutMs: 400, retries: 1 });
  const r = { code: doc.summary.exitCode as number };
  expect(validateReport(doc)).toEqual([]);
  const res = doc.targets[0].checks[0];
  return { r, res, codes: res.findings.map((f: any) => f.code) as string[], row: (ip: string) => res.data.ips.find((x: any) => x.ip === ip) };
}

describe('reverse names', () => {
  it('builds in-addr.arpa and ip6.arpa nibble names', () => {
    expect(reverseName('192.0.2.101')).toBe('101.2.0.192.in-addr.arpa');
    expect(reverseName('2001:db8::25')).toBe('5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
    // an IPv4-mapped IPv6 address is looked up as the IPv4 address it is
    expect(reverseName('::ffff:192.0.2.101')).toBe('101.2.0.192.in-addr.arpa');
  });
});

describe('generic-name heuristic', () => {
  it('recognises the IP written into the name, in its usual spellings', () => {
    for (const name of ['c-192-0-2-10.hsd1.ma.comcast.net', '10.2.0.192.dynamic.example.net', 'host-0-2-10.isp.example', 'ip192x0x2x10.example.org', 'ec2-192-0-2-10.compute-1.amazonaws.com', 'h192000002010.isp.example', 'c000020a.isp.example']) {
      expect(genericReason(name, '192.0.2.10'), name).toMatch(/written into the name/);
    }
    expect(genericReason('2001-db8--25.pool.example.net', '2001:db8::25')).toBeTruthy();
  });
  it('recognises pool words, and leaves mail server names alone', () => {
    expect(genericReason('adsl123.isp.example', '192.0.2.10')).toMatch(/'adsl'/);
    expect(genericReason('static-ip-host.isp.example', '192.0.2.10')).toMatch(/static-ip/);
    for (const name of ['mail.example.com', 'mx1.example.com', 'smtp-out-3.mailer.example', 'o1.email.example.com', 'mail.cable.com', 'bounce.poolparty.com']) {
      expect(genericReason(name, '192.0.2.10'), name).toBeUndefined();
    }
  });
});

describe('ptr check (real fixture DNS)', () => {
  it('passes a forward-confirmed PTR, with the contract shape the bulk-sender check reads', async () => {
    const { r, res, codes, row } = await ptr('192.0.2.101');
    expect(r.code).toBe(0);
    expect(res.status).toBe('pass');
    expect(codes).toEqual(['ptr.ok']);
    expect(row('192.0.2.101')).toMatchObject({ ip: '192.0.2.101', names: ['mail.ptr.example'], forwardConfirmed: true, generic: false });
  });
  it('reports a missing PTR as an error with the record to publish', async () => {
    const { r, res, codes, row } = await ptr('192.0.2.102');
    expect(codes).toEqual(['ptr.missing']);
    expect(res.findings[0].fix).toContain('102.2.0.192.in-addr.arpa');
    expect(res.findings[0].evidence[0]).toMatchObject({ query: '102.2.0.192.in-addr.arpa', type: 'PTR', rcode: 'NXDOMAIN' });
    expect(row('192.0.2.102')).toMatchObject({ names: [], forwardConfirmed: false });
    expect(r.code).toBe(1);
  });
  it('reports a PTR name that does not resolve back to the IP', async () => {
    const { r, codes, row } = await ptr('192.0.2.103');
    expect(codes).toEqual(['ptr.not-forward-confirmed']);
    expect(row('192.0.2.103')).toMatchObject({ names: ['out.ptr.example'], forwardConfirmed: false });
    expect(r.code).toBe(1);
  });
  it('warns about a generic pool name even when it is forward-confirmed', async () => {
    const { r, res, codes, row } = await ptr('192.0.2.104', '192.0.2.107');
    expect(codes.sort()).toEqual(['ptr.generic', 'ptr.generic']);
    expect(res.status).toBe('warn');
    expect(row('192.0.2.104')).toMatchObject({ forwardConfirmed: true, generic: true });
    expect(row('192.0.2.107').genericReason).toMatch(/pppoe/);
    expect(r.code).toBe(0);
  });
  it('notes several PTR names, and passes when one of them confirms', async () => {
    const { codes, row } = await ptr('192.0.2.105');
    expect(codes.sort()).toEqual(['ptr.multiple', 'ptr.ok']);
    expect(row('192.0.2.105')).toMatchObject({ names: ['a.ptr.example', 'b.ptr.example'], confirmedNames: ['a.ptr.example'], forwardConfirmed: true });
  });
  it('follows an RFC 2317 classless-delegation CNAME and handles IPv6', async () => {
    const { res, codes } = await ptr('198.51.100.7', '2001:db8::25');
    expect(codes).toEqual(['ptr.ok', 'ptr.ok']);
    expect(res.data.ips.map((x: any) => x.names[0])).toEqual(['mx.ptr.example', 'mail6.ptr.example']);
  });
  it('a SERVFAIL on the reverse zone or a timeout on the forward name is unknown, never pass or fail', async () => {
    const { r, res, row } = await ptr('192.0.2.106', '198.51.100.9');
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/SERVFAIL/);
    expect(res.reason).toMatch(/TIMEOUT/);
    expect(row('192.0.2.106').forwardConfirmed).toBeNull();
    expect(row('198.51.100.9')).toMatchObject({ names: ['slowfwd.ptr.example'], forwardConfirmed: null });
    expect(res.findings).toEqual([]);
    expect(r.code).toBe(3);
  });
  it('checks every IP at once: all reverse lookups reach the server', async () => {
    dns.resetCounts();
    const { res } = await ptr('192.0.2.101', '192.0.2.103', '198.51.100.7');
    expect(res.data.ips).toHaveLength(3);
    expect(dns.counts.get('PTR 101.2.0.192.in-addr.arpa')).toBe(1);
    expect(dns.counts.get('A out.ptr.example')).toBe(1);
  });
  it('is skipped with a reason when no --ip is given', async () => {
    const r = await runCli(['check', 'ptr.example', '--only', 'ptr', '--json', ...dnsArgs(dns)]);
    const doc = r.json();
    expect(doc.skipped).toEqual([{ check: 'ptr', reason: expect.stringMatching(/--ip/) }]);
  });
});
