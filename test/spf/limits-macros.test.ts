// The spf check through the real CLI on the defects pyspf exposed (issue 12): an
// include whose domain-spec holds %{d} is walked and counted; void lookups are
// counted per address family and the static verdict says which family fails;
// --mail-from takes a full address for %{l}/%{s}/%{o}; an MX set of more than 10
// names is a permerror in the --ip evaluation as in the static finding.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { runSpfCheck } from '../helpers/spf-cli.ts';

// dual-stack hosts: no void lookup in either family
const hosts = (prefix: string, n: number, net: string) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i + 1}.${net}`, { A: [`198.51.100.${i + 1}`], AAAA: [`2001:db8:100::${i + 1}`] }]));

let dns: FixtureDns;
beforeAll(async () => {
  dns = await startDns({
    // include:_spf.%{d} expands to _spf.macro.lim.example, whose record has 11 a terms
    'macro.lim.example': { TXT: ['v=spf1 include:_spf.%{d} -all'] },
    '_spf.macro.lim.example': { TXT: [`v=spf1 ${Array.from({ length: 11 }, (_, i) => `a:h${i + 1}.macro.lim.example`).join(' ')} -all`] },
    ...hosts('h', 11, 'macro.lim.example'),
    // the same, within the limit: 1 + 3 lookups, and the tree shows the expansion
    'macro-ok.lim.example': { TXT: ['v=spf1 include:_spf.%{d} -all'] },
    '_spf.macro-ok.lim.example': { TXT: ['v=spf1 a:h1.macro.lim.example a:h2.macro.lim.example a:%{d2}.h3.lim.example -all'] },
    'lim.example.h3.lim.example': { A: ['198.51.100.33'], AAAA: ['2001:db8:100::33'] },
    // one IPv6-only host and two missing hosts before the ip4: terms: IPv4 senders hit the void limit, IPv6 ones do not
    'fam.lim.example': { TXT: ['v=spf1 a:v6only.fam.lim.example a:gone1.fam.lim.example a:gone2.fam.lim.example ip4:192.0.2.0/24 ip6:2001:db8:f::/48 -all'] },
    'v6only.fam.lim.example': { AAAA: ['2001:db8:f::25'] },
    // the mirror image: an IPv4-only host, IPv6 senders fail
    'fam6.lim.example': { TXT: ['v=spf1 a:v4only.fam.lim.example a:gone1.fam.lim.example a:gone2.fam.lim.example ip4:192.0.2.0/24 -all'] },
    'v4only.fam.lim.example': { A: ['192.0.2.25'] },
    // %{l}: only the bounces@ local part is allowed
    'lp.lim.example': { TXT: ['v=spf1 exists:%{l}.allow.%{o} -all'] },
    'bounces.allow.lp.lim.example': { A: ['127.0.0.2'] },
    // 11 MX records, the first host the sender: pyspf's reading, permerror whatever the IP
    'mx11.lim.example': { TXT: ['v=spf1 mx -all'], MX: Array.from({ length: 11 }, (_, i) => `${i} m${i + 1}.mx11.lim.example`) },
    ...Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`m${i + 1}.mx11.lim.example`, { A: [`203.0.113.${i + 1}`] }])),
    // 11 MX records naming 2 hosts (the OpenSPF mx-limit case): a name listed twice counts twice
    'mxdup.lim.example': { TXT: ['v=spf1 mx -all'], MX: [...Array.from({ length: 10 }, (_, i) => `${i} a.mxdup.lim.example`), '10 b.mxdup.lim.example'] },
    'a.mxdup.lim.example': { A: ['203.0.113.50'] },
    'b.mxdup.lim.example': { A: ['203.0.113.51'] },
  });
});
afterAll(async () => {
  await dns?.stop();
});

const spf = (args: string[]) => runSpfCheck(dns, args);

describe('macros that do not depend on the connection are walked (RFC 7208 §7.2, §7.3)', () => {
  it('include:_spf.%{d} expanding to 11 more lookups is spf.too-many-lookups, not PASS 1/10', async () => {
    const { codes, data, find } = await spf(['macro.lim.example', '--ip', '198.51.100.11']);
    expect(codes).not.toContain('spf.ok');
    expect(codes).toContain('spf.too-many-lookups');
    expect(data.lookups).toBe(12);
    const inc = data.tree.terms.find((t: any) => t.term === 'include:_spf.%{d}');
    expect(inc).toMatchObject({ status: 'resolved', target: '_spf.macro.lim.example', expandedFrom: '_spf.%{d}' });
    expect(data.tree.children[0].domain).toBe('_spf.macro.lim.example');
    expect(find('spf.too-many-lookups').summary).toContain('12 DNS lookups');
    // the static verdict and the --ip evaluation agree: the 11th lookup is a permerror
    expect(data.unmatched.ipv4).toMatchObject({ result: 'permerror', limit: 'lookups', term: 'a:h10.macro.lim.example' });
    expect(data.evaluations.map((e: any) => e.result)).toEqual(['permerror']);
  });

  it('within the limit it passes, and the tree shows what %{d} and %{d2} expanded to', async () => {
    const { codes, data } = await spf(['macro-ok.lim.example']);
    expect(codes).toEqual(['spf.ok']);
    expect(data.lookups).toBe(4);
    const inner = data.tree.children[0].terms.find((t: any) => t.expandedFrom);
    expect(inner).toMatchObject({ term: 'a:%{d2}.h3.lim.example', target: 'lim.example.h3.lim.example', addresses: ['198.51.100.33', '2001:db8:100::33'] });
    const human = await runCli(['check', 'macro-ok.lim.example', '--only', 'spf', ...dnsArgs(dns)]);
    expect(human.stdout).toContain('include:_spf.%{d} → _spf.macro-ok.lim.example (4 lookups)');
    expect(human.stdout).toContain('a:%{d2}.h3.lim.example → lim.example.h3.lim.example (1 lookup) 198.51.100.33 2001:db8:100::33');
  });
});

describe('void lookups per address family (RFC 7208 §4.6.4, §5.3)', () => {
  it('an IPv6-only host and two missing hosts before ip4: are 3 void lookups for IPv4 senders, 2 for IPv6', async () => {
    const { codes, data, find } = await spf(['fam.lim.example', '--ip', '192.0.2.5', '--ip', '2001:db8:f::5']);
    expect(codes).not.toContain('spf.ok');
    expect(codes).toContain('spf.void-lookups');
    const v = find('spf.void-lookups');
    expect(v.severity).toBe('error');
    expect(v.summary).toBe('fam.lim.example\'s SPF reaches 3 void lookups for IPv4 senders: every IPv4 sender not matched before "a:gone2.fam.lim.example" in fam.lim.example\'s record gets permerror');
    expect(v.detail).toContain('"a:v6only.fam.lim.example" in fam.lim.example');
    expect(v.detail).toContain('IPv6 senders: 2/2 void (fail)');
    expect(data.unmatched.ipv4).toMatchObject({ result: 'permerror', limit: 'void', voidLookups: 3 });
    expect(data.unmatched.ipv6).toMatchObject({ result: 'fail', voidLookups: 2 });
    expect(data.tree.terms[0]).toMatchObject({ term: 'a:v6only.fam.lim.example', voidFamilies: [4] });
    expect(data.tree.terms[0].void).toBeUndefined();
    // the --ip evaluation agrees: the IPv4 sender in ip4:192.0.2.0/24 gets permerror, the IPv6 one passes
    expect(data.evaluations.map((e: any) => `${e.ip} ${e.result}`)).toEqual(['192.0.2.5 permerror', '2001:db8:f::5 pass']);
    const human = await runCli(['check', 'fam.lim.example', '--only', 'spf', ...dnsArgs(dns)]);
    expect(human.stdout).toContain('fam.lim.example 3/10 lookups, 3/2 void (IPv4), 2/2 void (IPv6)');
    expect(human.stdout).toContain('2001:db8:f::25 (no A: void lookup for IPv4 senders)');
  });

  it('an IPv4-only host: IPv6 senders fail, IPv4 ones do not', async () => {
    const { codes, data, find } = await spf(['fam6.lim.example', '--ip', '192.0.2.5', '--ip', '2001:db8:f::5']);
    expect(codes).toContain('spf.void-lookups');
    expect(find('spf.void-lookups').summary).toContain('for IPv6 senders: every IPv6 sender not matched before "a:gone2.fam.lim.example"');
    expect(data.unmatched.ipv4.result).toBe('fail');
    expect(data.unmatched.ipv6.result).toBe('permerror');
    expect(data.evaluations.map((e: any) => e.result)).toEqual(['pass', 'permerror']);
  });
});

describe('--mail-from takes a full address (RFC 7208 §4.3, §7.3)', () => {
  it('%{l} and %{o} expand with the address: bounces@ passes, the walk resolves the exists term', async () => {
    const { r, codes, data } = await spf(['lp.lim.example', '--mail-from', 'bounces@lp.lim.example', '--ip', '203.0.113.9']);
    expect(r.code).toBe(0);
    expect(data.sender).toBe('bounces@lp.lim.example');
    expect(data.evaluatedDomain).toBe('lp.lim.example');
    expect(data.evaluations).toEqual([expect.objectContaining({ ip: '203.0.113.9', sender: 'bounces@lp.lim.example', result: 'pass' })]);
    expect(data.evaluations[0].assumedLocalPart).toBeUndefined();
    expect(data.tree.terms[0]).toMatchObject({ status: 'resolved', target: 'bounces.allow.lp.lim.example', addresses: ['127.0.0.2'] });
    expect(codes).toContain('spf.ok');
  });

  it('without a local part the evaluation says it assumed postmaster', async () => {
    const { data, find } = await spf(['lp.lim.example', '--mail-from', 'lp.lim.example', '--ip', '203.0.113.9']);
    expect(data.evaluations[0]).toMatchObject({ sender: 'postmaster@lp.lim.example', assumedLocalPart: 'postmaster', result: 'fail' });
    expect(find('spf.ip-not-authorized').detail).toContain('Evaluated as MAIL FROM postmaster@lp.lim.example: no local part was given, so "postmaster" is assumed (RFC 7208 §4.3)');
    // the walk does not guess a local part: the term needs it
    expect(data.tree.terms[0].status).toBe('not-resolved');
    expect(data.tree.terms[0].note).toContain('give --mail-from a full address');
    const human = await runCli(['check', 'lp.lim.example', '--only', 'spf', '--ip', '203.0.113.9', ...dnsArgs(dns)]);
    expect(human.stdout).toContain('203.0.113.9 → fail (SPF of lp.lim.example, MAIL FROM postmaster@lp.lim.example: local part assumed, RFC 7208 §4.3)');
  });

  it('a config file\'s mailFrom takes the address too', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-spf-cfg-'));
    try {
      const cfg = path.join(dir, 'inboxlens.yaml');
      await writeFile(cfg, `domain: lp.lim.example\nmailFrom: bounces@lp.lim.example\nips: [203.0.113.9]\nonly: [spf]\nresolver: ${dns.address}\n`);
      const r = await runCli(['check', '--config', cfg, '--json']);
      expect(r.stderr).toBe('');
      const data = r.json().targets[0].checks[0].data;
      expect(data.evaluations).toEqual([expect.objectContaining({ sender: 'bounces@lp.lim.example', result: 'pass' })]);
      await writeFile(cfg, 'domain: lp.lim.example\nmailFrom: "@lp.lim.example"\n');
      const bad = await runCli(['check', '--config', cfg]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('mailFrom');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a bad --mail-from is a usage error naming the flag (exit 2)', async () => {
    for (const bad of ['@lp.lim.example', 'bounces@', 'a b@lp.lim.example', 'bounces@not a domain']) {
      const r = await runCli(['check', 'lp.lim.example', '--only', 'spf', '--mail-from', bad, ...dnsArgs(dns)]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr, bad).toContain('--mail-from');
      expect(r.stderr, bad).not.toMatch(/\n\s+at /);
    }
  });
});

describe('more than 10 MX names: permerror whatever the IP (RFC 7208 §4.6.4; docs/spf.md)', () => {
  it('--ip of the first MX host is a permerror, as the static finding says', async () => {
    const { codes, data } = await spf(['mx11.lim.example', '--ip', '203.0.113.1']);
    expect(codes).toContain('spf.mx-too-many-addresses');
    expect(codes).not.toContain('spf.ip-authorized');
    expect(data.evaluations.map((e: any) => e.result)).toEqual(['permerror']);
    expect(data.evaluations[0].comment).toContain('11 MX records');
    expect(data.unmatched.ipv4).toMatchObject({ result: 'permerror', limit: 'mx' });
  });

  it('11 MX records naming 2 hosts count as 11', async () => {
    const { codes, find, data } = await spf(['mxdup.lim.example', '--ip', '203.0.113.50']);
    expect(codes).toContain('spf.mx-too-many-addresses');
    expect(find('spf.mx-too-many-addresses').detail).toContain('11 MX records (2 distinct)');
    expect(data.tree.terms[0].mxRecords).toBe(11);
    expect(data.evaluations.map((e: any) => e.result)).toEqual(['permerror']);
  });
});
