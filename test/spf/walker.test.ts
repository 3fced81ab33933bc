// The SPF parser and tree walker on their own: grammar cases, the walk's
// parallelism and cache filling, limits, and failure handling, against the
// real fixture DNS server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spf as mailauthSpf } from 'mailauth/lib/spf/index.js';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { DnsClient, type DnsResponse, type RRType } from '../../src/dns/resolver.ts';
import { isSpfRecord, parseSpf } from '../../src/spf/parser.ts';
import { walkSpf } from '../../src/spf/walker.ts';
import { authorizedRanges, defaultResult, recordSize, sizeProblems } from '../../src/spf/analyze.ts';
import { startDns } from '../helpers/dns.ts';

let dns: FixtureDns;
beforeAll(async () => {
  dns = await startDns({
    'servfail-a.spf.example': { TXT: ['v=spf1 a:broken.servfail-a.spf.example ip4:192.0.2.1 -all'] },
    'broken.servfail-a.spf.example': { behavior: { AAAA: 'servfail' }, A: ['192.0.2.2'] },
    'twice.spf.example': { TXT: ['v=spf1 include:_spf.ok.spf.example include:_inc.twice.spf.example -all'] },
    '_inc.twice.spf.example': { TXT: ['v=spf1 include:_spf.ok.spf.example -all'] },
    'badname.spf.example': { TXT: ['v=spf1 include:x..badname.spf.example a:y..badname.spf.example -all'] },
    'garbled.spf.example': { TXT: ['v=spf1 include:_spf.garbled.spf.example -all'] },
    '_spf.garbled.spf.example': { behavior: { TXT: 'malformed' } },
    'after-all.spf.example': { TXT: ['v=spf1 ip4:192.0.2.1 -all include:never.after-all.spf.example a:never2.after-all.spf.example redirect=never3.after-all.spf.example'] },
    // a chain deeper than the walk limit
    ...Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`d${i}.deep.spf.example`, { TXT: [`v=spf1 include:d${i + 1}.deep.spf.example -all`] }])),
  });
});
afterAll(async () => {
  await dns?.stop();
});

/** A DnsClient that remembers the most queries it ever had in flight at once. */
class PeakClient extends DnsClient {
  inFlight = 0;
  peak = 0;
  override query(name: string, type: RRType): Promise<DnsResponse> {
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
    return super.query(name, type).finally(() => this.inFlight--);
  }
}

const client = (opts: { timeoutMs?: number } = {}) => new PeakClient({ resolvers: [{ host: dns.host, port: dns.port }], timeoutMs: opts.timeoutMs ?? 400, retries: 0 });

describe('spf parser', () => {
  it('selects records by "v=spf1" + space or end, case-insensitively', () => {
    expect(isSpfRecord('v=spf1 -all')).toBe(true);
    expect(isSpfRecord('V=SpF1')).toBe(true);
    expect(isSpfRecord('v=spf10 -all')).toBe(false);
    expect(isSpfRecord('v=spf1\t-all')).toBe(false);
    expect(isSpfRecord(' v=spf1 -all')).toBe(false);
  });

  it('parses mechanisms with qualifiers, prefix lengths, macros and modifiers', () => {
    const p = parseSpf('v=spf1  +a -mx:mail.example.com/24//64 ~ip4:192.0.2.0/24 ?ip6:2001:db8::/32 include:_spf.example.com exists:%{ir}.%{l1r+-}._spf.%{d} ptr redirect=_spf.example.net exp=explain.%{d} x-custom=%{c} ');
    expect(p.errors).toEqual([]);
    expect(p.terms.map((t) => [t.raw, t.name, t.qualifier ?? '', t.countsLookup])).toEqual([
      ['+a', 'a', '+', true],
      ['-mx:mail.example.com/24//64', 'mx', '-', true],
      ['~ip4:192.0.2.0/24', 'ip4', '~', false],
      ['?ip6:2001:db8::/32', 'ip6', '?', false],
      ['include:_spf.example.com', 'include', '+', true],
      ['exists:%{ir}.%{l1r+-}._spf.%{d}', 'exists', '+', true],
      ['ptr', 'ptr', '+', true],
      ['redirect=_spf.example.net', 'redirect', '', true],
      ['exp=explain.%{d}', 'exp', '', false],
      ['x-custom=%{c}', 'x-custom', '', false],
    ]);
    expect(p.terms[1]).toMatchObject({ domainSpec: 'mail.example.com', cidr4: 24, cidr6: 64 });
    expect(p.terms[5]!.macros).toEqual(['i', 'l', 'd']);
  });

  it.each([
    ['v=spf1 ip4:192.0.2.256', 'ip4:192.0.2.256'],
    ['v=spf1 ip4:192.0.02.1', 'ip4:192.0.02.1'],
    ['v=spf1 ip4:192.0.2.0/33', 'ip4:192.0.2.0/33'],
    ['v=spf1 ip6:2001:db8::/129', 'ip6:2001:db8::/129'],
    ['v=spf1 ip6:fe80::1%eth0', 'ip6:fe80::1%eth0'],
    ['v=spf1 a:example.com/024', 'a:example.com/024'],
    ['v=spf1 a:foo', 'a:foo'],
    ['v=spf1 include:', 'include:'],
    ['v=spf1 include', 'include'],
    ['v=spf1 include:example.com/24', 'include:example.com/24'],
    ['v=spf1 exists:%{c}.example.com', 'exists:%{c}.example.com'],
    ['v=spf1 exists:%{x}.example.com', 'exists:%{x}.example.com'],
    ['v=spf1 exists:%{d0}.example.com', 'exists:%{d0}.example.com'],
    ['v=spf1 exists:%{d.example.com', 'exists:%{d.example.com'],
    ['v=spf1 a:100%.example.com', 'a:100%.example.com'],
    ['v=spf1 -all:foo', '-all:foo'],
    ['v=spf1 ptr/24', 'ptr/24'],
    ['v=spf1 foo:bar', 'foo:bar'],
    ['v=spf1 a:ctrl.example.com\rptr -all', 'a:ctrl.example.com\rptr'],
    ['v=spf1 redirect=', 'redirect='],
    ['v=spf1 -', '-'],
    ['v=spf1 mx:example.com//129', 'mx:example.com//129'],
    ['v=spf1 mx:example.com/24/', 'mx:example.com/24/'],
    ['v=spf1 ip4:', 'ip4:'],
  ])('%j: syntax error on exactly %j', (record, term) => {
    const p = parseSpf(record);
    expect(p.errors.map((e) => e.term)).toEqual([term]);
    expect(p.errors[0]!.message.length).toBeGreaterThan(10);
  });

  it('rejects a second redirect or exp', () => {
    expect(parseSpf('v=spf1 redirect=a.example redirect=b.example').errors[0]!.term).toBe('redirect=b.example');
    expect(parseSpf('v=spf1 -all exp=a.example EXP=b.example').errors[0]!.term).toBe('EXP=b.example');
  });

  it('allows unknown modifiers, including empty ones (RFC 7208 §6)', () => {
    expect(parseSpf('v=spf1 moo=cow foo= -all').errors).toEqual([]);
  });
});

describe('spf walker', () => {
  it('fetches all the children of a node at once', async () => {
    const c = client();
    dns.latencyMs = 20;
    try {
      const tree = await walkSpf(c, 'many.spf.example');
      expect(tree.lookups).toBe(11);
      // five includes and the mx lookup of the root were in flight together
      expect(c.peak).toBeGreaterThanOrEqual(6);
    } finally {
      dns.latencyMs = 0;
    }
  });

  it('fills the DNS cache so that mailauth evaluates without a single new query', async () => {
    const c = client();
    const tree = await walkSpf(c, 'tree.spf.example');
    expect(tree.failures).toEqual([]);
    const before = c.wireQueries;
    for (const ip of ['198.51.100.78', '203.0.113.66', '192.0.2.99', '2001:db8:7::40']) {
      const r = await mailauthSpf({ sender: 'postmaster@tree.spf.example', ip, mta: 'test', resolver: c.mailauthResolver });
      expect(['pass', 'fail', 'softfail', 'neutral']).toContain(r.status.result);
    }
    expect(c.wireQueries).toBe(before);
  });

  it('counts an include that appears twice each time it is evaluated', async () => {
    const tree = await walkSpf(client(), 'twice.spf.example');
    expect(tree.lookups).toBe(3);
    expect(tree.root.children.map((n) => n.domain)).toEqual(['_spf.ok.spf.example', '_inc.twice.spf.example']);
  });

  it('ignores terms after "all" and a redirect beside an "all", without querying them', async () => {
    dns.resetCounts();
    const tree = await walkSpf(client(), 'after-all.spf.example');
    expect(tree.lookups).toBe(0);
    expect(tree.root.terms.filter((t) => t.status === 'ignored').map((t) => t.term)).toEqual([
      'include:never.after-all.spf.example', 'a:never2.after-all.spf.example', 'redirect=never3.after-all.spf.example',
    ]);
    expect([...dns.counts.keys()].filter((k) => k.includes('never'))).toEqual([]);
  });

  it('stops at the depth limit and says the counts are lower bounds', async () => {
    const tree = await walkSpf(client(), 'd0.deep.spf.example', { maxDepth: 5 });
    expect(tree.truncated).toBe(true);
    expect(tree.lookups).toBe(5);
    let n = tree.root;
    while (n.children.length) n = n.children[0]!;
    expect(n.terms[0]!.status).toBe('not-walked');
  });

  it('a SERVFAIL in an a term is a failure of that term, not a void lookup', async () => {
    const tree = await walkSpf(client(), 'servfail-a.spf.example');
    expect(tree.voidLookups).toBe(0);
    expect(tree.failures).toEqual([expect.objectContaining({ node: 'servfail-a.spf.example', query: 'AAAA broken.servfail-a.spf.example', rcode: 'SERVFAIL' })]);
    expect(tree.root.terms[0]!.status).toBe('unknown');
  });

  it('a timeout at the root leaves an empty tree with the failure', async () => {
    const tree = await walkSpf(client({ timeoutMs: 200 }), 'slow.slowinc.spf.example');
    expect(tree.root.record).toBeNull();
    expect(tree.failures[0]).toMatchObject({ query: 'TXT slow.slowinc.spf.example', rcode: 'TIMEOUT' });
  });

  it('never queries a target that is not a valid DNS name; an include of one is a syntax error', async () => {
    dns.resetCounts();
    const tree = await walkSpf(client(), 'badname.spf.example');
    expect(tree.root.errors).toEqual([expect.objectContaining({ kind: 'syntax', term: 'include:x..badname.spf.example', message: expect.stringContaining('empty label') })]);
    expect(tree.root.terms[1]!.note).toContain('never matches');
    expect([...dns.counts.keys()].filter((k) => k.includes('..'))).toEqual([]);
    expect(tree.lookups).toBe(2);
  });

  it('a malformed answer inside an include is a failure (unknown), not a missing record', async () => {
    const tree = await walkSpf(client(), 'garbled.spf.example');
    expect(tree.failures).toEqual([expect.objectContaining({ node: '_spf.garbled.spf.example', rcode: 'MALFORMED' })]);
    expect(tree.root.children[0]!.errors.map((e) => e.kind)).toEqual(['dns']);
  });

  it('NXDOMAIN at the root is "missing", not a failure', async () => {
    const tree = await walkSpf(client(), 'nonexistent.spf.example');
    expect(tree.failures).toEqual([]);
    expect(tree.root.errors[0]).toMatchObject({ kind: 'missing', rcode: 'NXDOMAIN' });
  });

  it('follows redirects for the ending and the authorized ranges', async () => {
    const tree = await walkSpf(client(), 'redir.spf.example');
    const def = defaultResult(tree.root);
    expect(def.qualifier).toBe('~');
    expect(def.at.domain).toBe('_spf.redir.spf.example');
    expect(authorizedRanges(tree).map((r) => r.range)).toEqual(['192.0.2.90/32']);
  });
});

describe('record size (RFC 7208 §3.4)', () => {
  it('measures the exact UDP message and the 450-octet guideline', async () => {
    const tree = await walkSpf(client(), 'long.spf.example');
    const s = recordSize(tree.root);
    const name = 'long.spf.example';
    const rdata = tree.root.strings.reduce((n, x) => n + 1 + x.length, 0);
    expect(s.message).toBe(12 + (name.length + 2) + 4 + 12 + rdata);
    expect(s.nameAndText).toBe(name.length + tree.root.record!.length);
    expect(sizeProblems(s)).toHaveLength(2);
  });

  it('flags a character-string over 255 octets in a record given as text', () => {
    const node = { domain: 'x.example', record: `v=spf1 ${'a'.repeat(300)}`, strings: [`v=spf1 ${'a'.repeat(300)}`], txt: [`v=spf1 ${'a'.repeat(300)}`] } as any;
    expect(sizeProblems(recordSize(node))[0]).toMatch(/character-string of 307 octets/);
  });

  it('counts the other TXT records at the name', async () => {
    const tree = await walkSpf(client(), 'ok.spf.example');
    const s = recordSize(tree.root);
    expect(s.nameAndText).toBe('ok.spf.example'.length + tree.root.txt.reduce((n, t) => n + t.length, 0));
    expect(tree.root.txt).toHaveLength(2);
    expect(sizeProblems(s)).toEqual([]);
  });
});
