// The pure parts of the blacklist code: query names, range expansion, the list of
// lists, and the decoding of answers (errors are never listings).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { canonicalIp, expandRange, listDomain, queryName, reverseIp } from '../../src/dnsbl/names.ts';
import { builtinCatalog, selectZones, loadZonesFile } from '../../src/dnsbl/zones.ts';
import { decodeAnswer } from '../../src/dnsbl/decode.ts';
import type { DnsResponse } from '../../src/dns/resolver.ts';
import { ROOT } from '../helpers/cli.ts';

const points = JSON.parse(readFileSync(path.resolve(ROOT, '../shared/conformance/spam/dnsbl-test-points.json'), 'utf8'));

function resp(answers: string[], rcode: DnsResponse['rcode'] = 'NOERROR'): DnsResponse {
  return { name: 'x', type: 'A', rcode, ms: 1, answers: answers.map((a) => ({ name: 'x', type: 'A', ttl: 60, data: a })) };
}
const zone = (name: string) => builtinCatalog().zones.find((z) => z.name === name)!;

describe('query names (RFC 5782)', () => {
  it('reverses IPv4 octets', () => {
    expect(queryName('192.0.2.10', 'ip4', 'zen.spamhaus.org')).toBe('10.2.0.192.zen.spamhaus.org');
    expect(points.rfc5782.ipv4.query_example).toContain('2.0.0.127.<zone>');
    expect(reverseIp(points.rfc5782.ipv4.must_be_listed)).toBe('2.0.0.127');
  });
  it('writes IPv6 as 32 reversed nibbles', () => {
    expect(reverseIp('2001:db8::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2');
    const example = points.rfc5782.ipv6.query_example.replace(/^nibble-reversed, e\.g\. /, '').replace(/\.<zone>$/, '');
    expect(reverseIp(points.rfc5782.ipv6.must_be_listed)).toBe(example);
    expect(reverseIp('2001:db8::1').split('.')).toHaveLength(32);
  });
  it('takes IPv4-mapped IPv6 as IPv4, refuses garbage', () => {
    expect(canonicalIp('::ffff:192.0.2.1')).toEqual({ ip: '192.0.2.1', kind: 'ip4' });
    expect(canonicalIp('2001:DB8::A')).toEqual({ ip: '2001:db8::a', kind: 'ip6' });
    expect(canonicalIp('192.0.2')).toBeNull();
    expect(canonicalIp('300.1.1.1')).toBeNull();
  });
  it('domain lists get registrable domains in A-labels', () => {
    expect(listDomain('www.news.spam-dnsbl-lab.example')).toBe('spam-dnsbl-lab.example');
    expect(listDomain('mail.example.co.uk')).toBe('example.co.uk');
    expect(listDomain('Bücher.example')).toBe('xn--bcher-kva.example');
    expect(listDomain('co.uk')).toBeNull();
    expect(listDomain('192.0.2.1')).toBeNull();
  });
});

describe('range expansion', () => {
  it('expands a /30 into 4 addresses and a /24 into 256', () => {
    const r = expandRange('198.51.100.0/30');
    expect(r.ok && r.ips).toEqual(['198.51.100.0', '198.51.100.1', '198.51.100.2', '198.51.100.3']);
    const r24 = expandRange('192.0.2.77/24');
    expect(r24.ok && r24.ips.length).toBe(256);
    expect(r24.ok && r24.network).toBe('192.0.2.0/24');
  });
  it('refuses ranges larger than /24 and IPv6 prefixes, naming why', () => {
    const big = expandRange('10.0.0.0/8');
    expect(big.ok).toBe(false);
    expect(!big.ok && big.reason).toBe('too-large');
    expect(!big.ok && big.message).toMatch(/larger than \/24/);
    const v6 = expandRange('2001:db8::/64');
    expect(!v6.ok && v6.reason).toBe('ipv6-prefix');
    expect(expandRange('2001:db8::5/128')).toMatchObject({ ok: true, ips: ['2001:db8::5'] });
    expect(expandRange('192.0.2.0/33').ok).toBe(false);
    expect(expandRange('nonsense/24').ok).toBe(false);
  });
});

describe('the list of lists (checks/dnsbl-zones.yaml)', () => {
  const cat = builtinCatalog();
  it('ships at least 20 default zones, each documented with a source and date', () => {
    const defaults = cat.zones.filter((z) => z.default);
    expect(defaults.length).toBeGreaterThanOrEqual(20);
    for (const z of cat.zones) {
      expect(z.doc?.url, z.name).toMatch(/^https?:\/\//);
      expect(z.doc?.checked, z.name).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(z.delist, z.name).toBeTruthy();
    }
    for (const name of ['zen.spamhaus.org', 'dbl.spamhaus.org', 'multi.surbl.org', 'multi.uribl.com', 'b.barracudacentral.org', 'bl.spamcop.net', 'list.dnswl.org']) {
      expect(defaults.map((z) => z.name)).toContain(name);
    }
  });
  it('has nothing known dead, and false-positive-prone lists off', () => {
    expect(cat.zones.some((z) => /sorbs/.test(z.name))).toBe(false);
    expect(Object.keys(cat.retired)).toContain('dnsbl.sorbs.net');
    expect(zone('dnsbl-2.uceprotect.net').default).toBe(false);
    expect(zone('dnsbl-3.uceprotect.net').default).toBe(false);
  });
  it('marks lists that refuse public resolvers or need registration/keys', () => {
    expect(zone('zen.spamhaus.org').refusesPublicResolvers).toBe(true);
    expect(zone('zen.spamhaus.org').key?.env).toBe('INBOXLENS_SPAMHAUS_DQS_KEY');
    expect(zone('b.barracudacentral.org').access).toBe('registration');
    expect(zone('combined.mail.abusix.zone').key?.required).toBe(true);
  });
  it('carries the Spamhaus codes of the conformance file', () => {
    const zen = zone('zen.spamhaus.org');
    for (const [code, name] of Object.entries(points.spamhaus.zen_ip_codes as Record<string, string>)) {
      const d = decodeAnswer(zen, resp([code]));
      expect(d.status, code).toBe('listed');
      expect(d.meanings!.join(' '), code).toContain(String(name).split(' ')[0]);
    }
    const dbl = zone('dbl.spamhaus.org');
    for (const [code, meaning] of Object.entries(points.spamhaus.dbl_codes as Record<string, string>)) {
      const d = decodeAnswer(dbl, resp([code]));
      if (meaning.startsWith('ERROR')) expect(d.status, code).toBe('error');
      else expect(d.status, code).toBe('listed');
    }
    expect(dbl.test !== 'none' && dbl.test?.domain?.listed).toBe(points.spamhaus.dbl_test_domain.split(' ')[0]);
  });
});

describe('decoding answers: errors are not listings', () => {
  const zen = zone('zen.spamhaus.org');
  it('Spamhaus error codes → error / refused / rate-limited', () => {
    for (const [code, what] of Object.entries(points.spamhaus.error_codes_not_listings as Record<string, string>)) {
      const d = decodeAnswer(zen, resp([code]));
      expect(['error', 'refused', 'rate-limited'], `${code} ${what}`).toContain(d.status);
    }
    expect(decodeAnswer(zen, resp(['127.255.255.254'])).status).toBe('refused');
    expect(decodeAnswer(zen, resp(['127.255.255.255'])).status).toBe('rate-limited');
    expect(decodeAnswer(zen, resp(['127.255.255.252'])).status).toBe('error');
  });
  it('an error code among listing codes still makes the answer an error', () => {
    expect(decodeAnswer(zen, resp(['127.0.0.2', '127.255.255.254'])).status).toBe('refused');
  });
  it('SURBL/URIBL 127.0.0.1 is a refusal, bitmasks decode', () => {
    expect(decodeAnswer(zone('multi.uribl.com'), resp(['127.0.0.1'])).status).toBe('refused');
    expect(decodeAnswer(zone('multi.surbl.org'), resp(['127.0.0.1'])).status).toBe('refused');
    const s = decodeAnswer(zone('multi.surbl.org'), resp(['127.0.0.80']));
    expect(s.status).toBe('listed');
    expect(s.meanings!.join('|')).toMatch(/MW.*\|.*ABUSE/);
    const grey = decodeAnswer(zone('multi.uribl.com'), resp(['127.0.0.4']));
    expect(grey).toMatchObject({ status: 'listed', severity: 'warn' });
    expect(decodeAnswer(zone('multi.uribl.com'), resp(['127.0.0.6'])).severity).toBe('error');
  });
  it('an answer outside 127/8 is an error, not a listing', () => {
    const d = decodeAnswer(zone('bl.spamcop.net'), resp(['198.51.100.1']));
    expect(d.status).toBe('error');
    expect(d.reason).toMatch(/outside 127\.0\.0\.0\/8/);
  });
  it('DNS failures are unknown or refused, NXDOMAIN is clean', () => {
    expect(decodeAnswer(zen, resp([], 'TIMEOUT')).status).toBe('unknown');
    expect(decodeAnswer(zen, resp([], 'SERVFAIL')).status).toBe('unknown');
    expect(decodeAnswer(zen, resp([], 'REFUSED')).status).toBe('refused');
    expect(decodeAnswer(zen, resp([], 'NXDOMAIN')).status).toBe('clean');
    expect(decodeAnswer(zen, resp([])).status).toBe('clean');
  });
  it('ranges and wildcard codes; allow-lists are allowlisted, never listed', () => {
    expect(decodeAnswer(zen, resp(['127.0.0.6'])).meanings![0]).toMatch(/XBL/);
    const w = decodeAnswer(zone('list.dnswl.org'), resp(['127.0.15.3']));
    expect(w).toMatchObject({ status: 'allowlisted', severity: 'info' });
    expect(w.meanings![0]).toMatch(/trust high/);
    expect(decodeAnswer(zone('list.dnswl.org'), resp(['127.0.0.255'])).status).toBe('refused');
  });
  it('an undocumented 127/8 code is still a listing (RFC 5782 §2.1), said so', () => {
    const d = decodeAnswer(zone('bl.spamcop.net'), resp(['127.0.0.9']));
    expect(d.status).toBe('listed');
    expect(d.meanings![0]).toMatch(/undocumented/);
  });
});

describe('choosing zones', () => {
  it('defaults, --zone replaces, "default" adds', async () => {
    const def = await selectZones({ env: {} });
    expect(def.zones.every((z) => z.default)).toBe(true);
    const one = await selectZones({ zone: ['bl.spamcop.net'], env: {} });
    expect(one.zones.map((z) => z.name)).toEqual(['bl.spamcop.net']);
    const more = await selectZones({ zone: ['default', 'dnsbl-2.uceprotect.net'], env: {} });
    expect(more.zones.length).toBe(def.zones.length + 1);
  });
  it('refuses unknown and retired zones with a clear message', async () => {
    await expect(selectZones({ zone: ['nosuch.example.org'], env: {} })).rejects.toThrow(/--zone: no zone named 'nosuch.example.org'/);
    await expect(selectZones({ zone: ['dnsbl.sorbs.net'], env: {} })).rejects.toThrow(/no longer operating.*SORBS/);
  });
  it('a DQS key moves Spamhaus to the DQS zone, masked where shown', async () => {
    const s = await selectZones({ zone: ['zen.spamhaus.org'], env: { INBOXLENS_SPAMHAUS_DQS_KEY: 'unitdqskey0123456789abcdef' } });
    expect(s.zones[0]!.suffix).toBe('unitdqskey0123456789abcdef.zen.dq.spamhaus.net');
    expect(s.zones[0]!.shownSuffix).toBe('[redacted].zen.dq.spamhaus.net');
    await expect(selectZones({ zone: ['zen.spamhaus.org'], env: { INBOXLENS_SPAMHAUS_DQS_KEY: 'bad key!' } })).rejects.toThrow(/INBOXLENS_SPAMHAUS_DQS_KEY/);
  });
  it('a list that needs a key is skipped without one, refused when asked for', async () => {
    await expect(selectZones({ zone: ['combined.mail.abusix.zone'], env: {} })).rejects.toThrow(/INBOXLENS_ABUSIX_KEY/);
  });
  it('zones files: YAML or JSON, validated, anything else refused', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dnsbl-zones-'));
    const json = path.join(dir, 'z.json');
    await writeFile(json, JSON.stringify({ replace: true, zones: [{ name: 'bl.lab.example', type: 'ip', codes: { '127.0.0.2': 'lab' } }] }));
    const s = await selectZones({ zonesFile: json, env: {} });
    expect(s.zones.map((z) => z.name)).toEqual(['bl.lab.example']);
    const txt = path.join(dir, 'z.txt');
    await writeFile(txt, 'bl.lab.example');
    await expect(loadZonesFile(txt)).rejects.toThrow(/unknown format '\.txt'/);
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'zones:\n  - name: bl.lab.example\n    type: ipv9\n');
    await expect(loadZonesFile(bad)).rejects.toThrow(/zone #1 \(bl.lab.example\).*type/);
  });
});
