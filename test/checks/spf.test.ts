// The spf check through the real CLI against the fixture DNS server: every
// finding code, the tree in the JSON and in the human output, --ip, --mail-from.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { runSpfCheck } from '../helpers/spf-cli.ts';

let dns: FixtureDns;
beforeAll(async () => {
  // a provider under another registrable domain, to test `shared` ranges
  dns = await startDns({
    'shared.spf.example': { TXT: ['v=spf1 ip4:192.0.2.8 include:_spf.esp-for-spf.example -all'] },
    '_spf.esp-for-spf.example': { TXT: ['v=spf1 ip4:198.51.100.0/24 a:out.esp-for-spf.example -all'] },
    'out.esp-for-spf.example': { A: ['203.0.113.44'] },
  });
});
afterAll(async () => {
  await dns?.stop();
});

const spf = (args: string[]) => runSpfCheck(dns, args);

describe('spf check', () => {
  it('passes a clean record and lists its authorized ranges', async () => {
    const { r, res, data, codes } = await spf(['ok.spf.example']);
    expect(r.code).toBe(0);
    expect(res.status).toBe('pass');
    expect(codes).toEqual(['spf.ok']);
    expect(data.lookups).toBe(2);
    expect(data.voidLookups).toBe(0);
    expect(data.record).toBe('v=spf1 ip4:192.0.2.0/25 include:_spf.ok.spf.example mx -all');
    const ranges = data.authorizedRanges.map((x: any) => `${x.range} ${x.family} ${x.source} ${x.term} ${x.shared}`);
    expect(ranges).toEqual([
      '192.0.2.0/25 4 ok.spf.example ip4:192.0.2.0/25 false',
      '192.0.2.200/32 4 ok.spf.example mx false',
      '2001:db8:6::25/128 6 ok.spf.example mx false',
      '198.51.100.0/24 4 _spf.ok.spf.example ip4:198.51.100.0/24 false',
      '2001:db8:5::/48 6 _spf.ok.spf.example ip6:2001:db8:5::/48 false',
    ]);
  });

  it('draws a 3-level tree with lookup counts per node, and carries it in the JSON', async () => {
    const { data } = await spf(['tree.spf.example']);
    const t = data.tree;
    expect(t.lookups).toBe(2);
    expect(t.subtreeLookups).toBe(6);
    const l1 = t.children[0];
    const l2 = l1.children[0];
    const l3 = l2.children[0];
    expect([l1.domain, l2.domain, l3.domain]).toEqual(['l1.tree.spf.example', 'l2.tree.spf.example', 'l3.tree.spf.example']);
    expect([l1.subtreeLookups, l2.subtreeLookups, l3.subtreeLookups]).toEqual([4, 3, 2]);
    expect([l1.lookups, l2.lookups, l3.lookups]).toEqual([1, 1, 2]);
    expect(l3.terms.find((x: any) => x.name === 'mx').mx).toEqual([{ exchange: 'mx.tree.spf.example', addresses: ['192.0.2.40', '2001:db8:7::40'] }]);
    // a/28 widens the resolved address; the -ip4 in l2 is not an authorization
    const ranges = data.authorizedRanges.map((x: any) => x.range);
    expect(ranges).toContain('198.51.100.64/28');
    expect(ranges).not.toContain('203.0.113.66/32');
    expect(ranges).toContain('203.0.113.64/26');

    const human = await runCli(['check', 'tree.spf.example', '--only', 'spf', ...dnsArgs(dns)]);
    expect(human.stdout).toContain('tree.spf.example 6/10 lookups, 0/2 void');
    expect(human.stdout).toMatch(/├─ include:l1\.tree\.spf\.example \(5 lookups\)/);
    expect(human.stdout).toMatch(/│  └─ include:l2\.tree\.spf\.example \(4 lookups\)/);
    expect(human.stdout).toMatch(/└─ include:l3\.tree\.spf\.example \(3 lookups\)/);
    expect(human.stdout).toMatch(/mx:tree\.spf\.example \(1 lookup\) 1 host: mx\.tree\.spf\.example 192\.0\.2\.40/);
  });

  it('spf.missing when there is no v=spf1 record', async () => {
    const { r, codes, find } = await spf(['nospf.spf.example']);
    expect(codes).toEqual(['spf.missing']);
    expect(find('spf.missing').severity).toBe('error');
    expect(find('spf.missing').evidence[0].answers).toEqual(['"google-site-verification=xyz"']);
    expect(r.code).toBe(1);
  });

  it('spf.multiple-records for two v=spf1 records (case-insensitive)', async () => {
    const { codes, data } = await spf(['multi.spf.example']);
    expect(codes).toEqual(['spf.multiple-records']);
    expect(data.record).toBeNull();
  });

  it('spf.syntax names each bad term exactly', async () => {
    const { codes, res } = await spf(['syntax.spf.example']);
    expect(codes).toEqual(['spf.syntax', 'spf.syntax', 'spf.syntax']);
    const summaries = res.findings.map((f: any) => f.summary).join('\n');
    expect(summaries).toContain('"ip4:192.0.2.300"');
    expect(summaries).toContain('"a:mail.syntax.spf.example/33"');
    expect(summaries).toContain('"foo:bar"');
  });

  it('spf.too-many-lookups at 11, with the costliest subtrees', async () => {
    const { codes, data, find } = await spf(['many.spf.example']);
    // the a:hN hosts are IPv4-only: for IPv6 senders each is a void lookup (RFC 7208 §5.3), and
    // the third (a:h3, the 6th lookup) ends their evaluation before the lookup limit does
    expect(codes).toEqual(['spf.too-many-lookups', 'spf.void-lookups']);
    expect(find('spf.void-lookups').summary).toContain('for IPv6 senders: every IPv6 sender not matched before "a:h3.many.spf.example" in i3.many.spf.example gets permerror');
    expect(data.unmatched.ipv4).toMatchObject({ result: 'permerror', limit: 'lookups', term: 'mx', lookups: 11, voidLookups: 0 });
    expect(data.unmatched.ipv6).toMatchObject({ result: 'permerror', limit: 'void', term: 'a:h3.many.spf.example', lookups: 6, voidLookups: 3 });
    expect(data.lookups).toBe(11);
    expect(find('spf.too-many-lookups').summary).toContain('11 DNS lookups');
    expect(find('spf.too-many-lookups').detail).toContain('include:i1.many.spf.example 2');
  });

  it('spf.void-lookups above 2; an IPv4-only or IPv6-only host is void for the other family only', async () => {
    const { codes, data, find } = await spf(['void.spf.example']);
    expect(codes).toEqual(['spf.void-lookups']);
    expect(data.voidLookups).toBe(3);
    const terms = Object.fromEntries(data.tree.terms.map((t: any) => [t.term, t.void ?? false]));
    expect(terms).toEqual({
      'a:gone1.void.spf.example': true, 'a:gone2.void.spf.example': true, 'mx:nomx.void.spf.example': true,
      'a:v4only.void.spf.example': false, 'a:v6only.void.spf.example': false, '-all': false,
    });
    expect(find('spf.void-lookups').detail).toContain('"mx:nomx.void.spf.example"');
    const families = Object.fromEntries(data.tree.terms.map((t: any) => [t.term, t.voidFamilies ?? []]));
    expect(families['a:v4only.void.spf.example']).toEqual([6]);
    expect(families['a:v6only.void.spf.example']).toEqual([4]);
    expect(families['a:gone1.void.spf.example']).toEqual([4, 6]);
    expect(find('spf.void-lookups').summary).toContain('for IPv4 and IPv6 senders: every sender not matched before "mx:nomx.void.spf.example"');
  });

  it('spf.mx-too-many-addresses for an mx with 11 hosts', async () => {
    const { codes, find } = await spf(['mxmany.spf.example']);
    expect(codes).toEqual(['spf.mx-too-many-addresses']);
    expect(find('spf.mx-too-many-addresses').detail).toContain('11 MX records');
  });

  it('spf.include-loop names the loop', async () => {
    const { codes, find } = await spf(['loop.spf.example']);
    expect(codes).toEqual(['spf.include-loop']);
    expect(find('spf.include-loop').summary).toContain('loop.spf.example → loop2.spf.example → loop.spf.example');
  });

  it('spf.permissive-all: +all is an error, ?all and a missing all are warnings, +all inside an include is an error', async () => {
    const plus = await spf(['plusall.spf.example']);
    expect(plus.codes).toEqual(['spf.permissive-all']);
    expect(plus.find('spf.permissive-all').severity).toBe('error');
    const neutral = await spf(['neutral.spf.example']);
    expect(neutral.find('spf.permissive-all').severity).toBe('warn');
    expect(neutral.codes).toContain('spf.ok');
    const noall = await spf(['noall.spf.example']);
    expect(noall.find('spf.permissive-all').summary).toContain('no "all" and no redirect');
    const inc = await spf(['incplus.spf.example']);
    expect(inc.find('spf.permissive-all').severity).toBe('error');
    expect(inc.find('spf.permissive-all').summary).toContain('through "include:_spf.incplus.spf.example"');
    // a redirect hands over the ending: ~all at the target is fine
    const redir = await spf(['redir.spf.example']);
    expect(redir.codes).toEqual(['spf.ok']);
    expect(redir.find('spf.ok').summary).toContain('"~all" (via _spf.redir.spf.example)');
  });

  it('spf.ptr-mechanism: counted but not resolved without an IP', async () => {
    const { codes, data } = await spf(['ptr.spf.example']);
    expect(codes).toContain('spf.ptr-mechanism');
    expect(data.lookups).toBe(1);
    expect(data.tree.terms[0].status).toBe('not-resolved');
  });

  it('spf.record-too-long for a 600-octet record served as 255-octet strings', async () => {
    const { codes, data, find } = await spf(['long.spf.example']);
    expect(codes).toEqual(['spf.record-too-long', 'spf.ok']);
    expect(data.tree.strings.map((s: string) => s.length)).toEqual([255, 255, data.record.length - 510]);
    expect(find('spf.record-too-long').summary).toMatch(/name plus TXT text is \d+ octets/);
    expect(find('spf.record-too-long').summary).toMatch(/over the 512-octet UDP limit/);
  });

  it('joins a record split over two 255-octet strings without adding spaces', async () => {
    const { codes, data } = await spf(['split.spf.example']);
    expect(codes).toEqual(['spf.ok']);
    expect(data.tree.strings.length).toBe(2);
    expect(data.record).toBe(data.tree.strings.join(''));
    expect(data.authorizedRanges).toHaveLength(15);
  });

  it('joins explicit strings exactly (RFC 7208 §3.3)', async () => {
    const { data } = await spf(['joined.spf.example']);
    expect(data.tree.strings).toEqual(['v=spf1 ip4:192.0.2', '.3 ', '-all']);
    expect(data.record).toBe('v=spf1 ip4:192.0.2.3 -all');
    expect(data.authorizedRanges.map((x: any) => x.range)).toEqual(['192.0.2.3/32']);
  });

  it('counts macro terms, marks them not resolved, and does not query them', async () => {
    dns.resetCounts();
    const { data, codes } = await spf(['macro.spf.example']);
    expect(codes).toEqual(['spf.ok']);
    expect(data.lookups).toBe(2);
    for (const t of data.tree.terms.filter((x: any) => x.lookups)) {
      expect(t.status).toBe('not-resolved');
      expect(t.note).toMatch(/needs the (connecting IP|sender address)/);
    }
    expect([...dns.counts.keys()].filter((k) => k.includes('%') || (k.includes('macro.spf.example') && !k.startsWith('TXT macro.') && !k.startsWith('SOA macro.')))).toEqual([]);
  });

  it('a timeout inside an include makes the result unknown (exit 3), naming the node and query', async () => {
    const { r, res } = await spf(['slowinc.spf.example']);
    expect(res.status).toBe('unknown');
    expect(res.reason).toContain('TXT slow.slowinc.spf.example');
    expect(res.reason).toContain('TIMEOUT');
    expect(res.findings.map((f: any) => f.code)).not.toContain('spf.ok');
    expect(r.code).toBe(3);
  });

  it('an include of a name without SPF is an error (permerror) and a void lookup', async () => {
    const { codes, data } = await spf(['badinc.spf.example']);
    expect(codes).toEqual(['spf.missing']);
    expect(data.voidLookups).toBe(1);
  });

  it('marks ranges from another organisation as shared', async () => {
    const { data } = await spf(['shared.spf.example']);
    const byRange = Object.fromEntries(data.authorizedRanges.map((x: any) => [x.range, x.shared]));
    expect(byRange).toEqual({ '192.0.2.8/32': false, '198.51.100.0/24': true, '203.0.113.44/32': true });
  });

  it('--ip evaluates each IP with mailauth: pass, fail, and an IPv6 pass', async () => {
    const { r, data, find, codes } = await spf(['ok.spf.example', '--ip', '192.0.2.10', '--ip', '203.0.113.5', '--ip', '2001:db8:5::1']);
    expect(data.evaluations.map((e: any) => `${e.ip} ${e.result}`)).toEqual(['192.0.2.10 pass', '203.0.113.5 fail', '2001:db8:5::1 pass']);
    expect(find('spf.ip-not-authorized').severity).toBe('error');
    expect(find('spf.ip-not-authorized').summary).toContain('203.0.113.5');
    expect(codes.filter((c) => c === 'spf.ip-authorized')).toHaveLength(2);
    expect(r.code).toBe(1);
  });

  it('--ip: an IP that only an include deep in the tree authorizes passes; a -ip4 there fails', async () => {
    const { data, find } = await spf(['tree.spf.example', '--ip', '198.51.100.78', '--ip', '203.0.113.66']);
    expect(data.evaluations.map((e: any) => e.result)).toEqual(['pass', 'fail']);
    // the finding names the term that denies it
    expect(find('spf.ip-not-authorized').fix).toContain('"-ip4:203.0.113.66" in l2.tree.spf.example');
  });

  it('--mail-from: walks both domains, evaluates on the envelope, findings carry the subject', async () => {
    const { data, res } = await spf(['brand.spf.example', '--mail-from', 'bounces.brand.spf.example', '--ip', '192.0.2.1', '--ip', '198.51.100.7']);
    expect(data.domain).toBe('brand.spf.example');
    expect(data.evaluatedDomain).toBe('bounces.brand.spf.example');
    expect(Object.keys(data.domains).sort()).toEqual(['bounces.brand.spf.example', 'brand.spf.example']);
    expect(data.domains['bounces.brand.spf.example'].roles).toEqual(['envelope']);
    expect(data.domains['brand.spf.example'].roles).toEqual(['from']);
    expect(data.evaluations.map((e: any) => `${e.domain} ${e.ip} ${e.result}`)).toEqual([
      'bounces.brand.spf.example 192.0.2.1 softfail',
      'bounces.brand.spf.example 198.51.100.7 pass',
    ]);
    const warn = res.findings.find((f: any) => f.code === 'spf.ip-not-authorized');
    expect(warn.severity).toBe('warn');
    expect(warn.subject).toBe('bounces.brand.spf.example');
    const subjects = new Set(res.findings.filter((f: any) => f.code === 'spf.ok').map((f: any) => f.subject));
    expect(subjects).toEqual(new Set(['brand.spf.example', 'bounces.brand.spf.example']));
  });

  it('--mail-from: a From domain without SPF is a warning when another domain is the envelope', async () => {
    const { find } = await spf(['nospf.spf.example', '--mail-from', 'ok.spf.example']);
    expect(find('spf.missing').severity).toBe('warn');
    expect(find('spf.missing').subject).toBe('nospf.spf.example');
  });
});
