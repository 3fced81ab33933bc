// `inboxlens blacklist` and the blacklist check against a lab DNS that plays the
// real lists under their real zone names (fixtures/zones/dnsbl.yaml).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { validateReport } from '../../src/report/validate.ts';
import { builtinCatalog } from '../../src/dnsbl/zones.ts';
import { blacklist } from '../../src/engine/api.ts';

let dns: FixtureDns;
let tmp: string;
beforeAll(async () => {
  dns = await startDns();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'inboxlens-bl-'));
});
afterAll(async () => {
  await dns?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const DEFAULT_IP4 = builtinCatalog().zones.filter((z) => z.default && z.type === 'ip' && (z.families ?? [4]).includes(4));

/**
 * A sweep in-process through the library (what `blacklist --json` prints; the CLI's
 * own behaviour — text, exit codes, usage errors — is tested with runCli below).
 * Arguments as on the command line: targets, --zone Z (repeatable), --max-queries N.
 */
async function bl(args: string[], opts: { server?: FixtureDns } = {}) {
  const targets: string[] = [];
  const zones: string[] = [];
  let maxQueries: number | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--zone') zones.push(args[++i]!);
    else if (args[i] === '--max-queries') maxQueries = Number(args[++i]);
    else targets.push(args[i]!);
  }
  const server = opts.server ?? dns;
  const doc: any = await blacklist(targets, { resolvers: [server.address], timeoutMs: 400, retries: 1, ...(zones.length ? { zones } : {}), ...(maxQueries !== undefined ? { maxQueries } : {}) });
  const r = { code: doc.summary.exitCode as number };
  expect(validateReport(doc)).toEqual([]);
  const check = doc.targets[0].checks[0];
  const row = (t: string) => check.data.targets.find((x: any) => x.target === t);
  const cell = (t: string, zone: string) => row(t)?.results.find((c: any) => c.zone === zone);
  return { r, doc, check, row, cell, codes: check.findings.map((f: any) => f.code) as string[] };
}

describe('listings and clean answers', () => {
  it('reports a listing with its code meaning, TXT reason and delist URL; a clean IP is clean on every list', async () => {
    const { r, check, row, cell } = await bl(['192.0.2.99', '192.0.2.10']);
    expect(r.code).toBe(1);
    expect(check.status).toBe('fail');
    const zen = cell('192.0.2.99', 'zen.spamhaus.org');
    expect(zen).toMatchObject({ status: 'listed', answers: ['127.0.0.2', '127.0.0.4'], query: '99.2.0.192.zen.spamhaus.org' });
    expect(zen.meanings.join(' ')).toMatch(/SBL.*XBL/);
    expect(zen.txt[0]).toMatch(/SBL999999/);
    expect(cell('192.0.2.99', 'bl.spamcop.net').status).toBe('listed');
    expect(row('192.0.2.99').listedOn).toBe(3);
    const clean = row('192.0.2.10');
    expect(clean.listedOn).toBe(0);
    expect(clean.answering).toBe(clean.zones);
    expect(clean.zones).toBe(DEFAULT_IP4.filter((z) => z.kind === 'block').length);
    expect(clean.results.every((c: any) => c.status === 'clean')).toBe(true);
    const f = check.findings.find((x: any) => x.code === 'dnsbl.listed' && x.summary.includes('zen.spamhaus.org'));
    expect(f).toMatchObject({ severity: 'error', subject: '192.0.2.99' });
    expect(f.fix).toContain('https://check.spamhaus.org/');
    expect(f.detail).toContain('SBL999999');
    expect(f.evidence[0]).toMatchObject({ query: '99.2.0.192.zen.spamhaus.org', type: 'A' });
    // every default IPv4 zone ran its self-test and passed
    for (const z of check.data.zones.filter((z: any) => z.type === 'ip')) expect(z.selfTest.ipv4?.status, z.name).toBe('ok');
  });

  it('draws a grid of targets × zones in the human output, listings apart from errors', async () => {
    const r = await runCli(['blacklist', '192.0.2.99', '192.0.2.254', 'spam-dnsbl-lab.example', ...dnsArgs(dns)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/IP addresses × IP lists/);
    expect(r.stdout).toMatch(/ZEN zen\.spamhaus\.org\s+│ LISTED 127\.0\.0\.2/);
    expect(r.stdout).toMatch(/REFUSED 127\.255\.255\.254/);
    expect(r.stdout).toMatch(/domains × domain lists/);
    expect(r.stdout).toMatch(/\[dnsbl\.listed\]/);
    expect(r.stdout).toMatch(/not a listing, not clean/);
  });

  it('uses the compact grid (one row per target) for many targets', async () => {
    const r = await runCli(['blacklist', '198.51.100.0/29', ...dnsArgs(dns)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/│ target\s+│ listed │ ZEN/);
    expect(r.stdout).toMatch(/198\.51\.100\.2\s+│ 1\/\d+/);
    expect(r.stdout).toMatch(/columns: ZEN=zen\.spamhaus\.org/);
  });

  it('allow-lists (DNSWL) are reputation, reported apart, never a listing', async () => {
    const { r, check, row, cell } = await bl(['192.0.2.55']);
    expect(r.code).toBe(0);
    expect(cell('192.0.2.55', 'list.dnswl.org')).toMatchObject({ status: 'allowlisted', answers: ['127.0.15.3'] });
    expect(row('192.0.2.55').listedOn).toBe(0);
    const f = check.findings.find((x: any) => x.code === 'dnsbl.allowlisted');
    expect(f.severity).toBe('pass');
    expect(f.summary).toMatch(/trust high/);
  });

  it('a Mailspike L2 reputation is a warning-level listing', async () => {
    const { r, check } = await bl(['192.0.2.56']);
    expect(r.code).toBe(0);
    const f = check.findings.find((x: any) => x.code === 'dnsbl.listed');
    expect(f).toMatchObject({ severity: 'warn' });
    expect(f.summary).toMatch(/L2/);
  });
});

describe('errors are not listings', () => {
  it('Spamhaus 127.255.255.252/254/255 and an answer outside 127/8 are errors, never listed or clean', async () => {
    const { r, check, cell, codes } = await bl(['192.0.2.252', '192.0.2.254', '192.0.2.253', '192.0.2.66']);
    expect(cell('192.0.2.252', 'zen.spamhaus.org')).toMatchObject({ status: 'error' });
    expect(cell('192.0.2.254', 'zen.spamhaus.org').status).toBe('refused');
    expect(cell('192.0.2.254', 'zen.spamhaus.org').reason).toMatch(/public/);
    expect(cell('192.0.2.253', 'zen.spamhaus.org').status).toBe('rate-limited');
    expect(cell('192.0.2.66', 'bl.spamcop.net')).toMatchObject({ status: 'error', answers: ['198.51.100.1'] });
    expect(codes).not.toContain('dnsbl.listed');
    expect(codes).toContain('dnsbl.zone-error');
    expect(check.status).toBe('unknown');
    expect(check.reason).toMatch(/no usable answer/);
    expect(r.code).toBe(3);
  });

  it('DBL 127.0.1.255 and URIBL 127.0.0.1 are errors; URIBL grey is a warning', async () => {
    const { check, cell } = await bl(['ipquery-dnsbl-lab.example', 'refused-dnsbl-lab.example', 'grey-dnsbl-lab.example']);
    expect(cell('ipquery-dnsbl-lab.example', 'dbl.spamhaus.org')).toMatchObject({ status: 'error' });
    expect(cell('ipquery-dnsbl-lab.example', 'dbl.spamhaus.org').reason).toMatch(/IP address queried against a domain list/);
    expect(cell('refused-dnsbl-lab.example', 'multi.uribl.com').status).toBe('refused');
    expect(cell('grey-dnsbl-lab.example', 'multi.uribl.com')).toMatchObject({ status: 'listed', severity: 'warn' });
    expect(check.findings.filter((f: any) => f.code === 'dnsbl.listed').map((f: any) => f.severity)).toEqual(['warn']);
  });

  it('SERVFAIL, REFUSED and a timeout are unknown/refused for that lookup only', async () => {
    const { r, cell, row } = await bl(['192.0.2.77', '192.0.2.78', '192.0.2.79']);
    expect(cell('192.0.2.77', 'psbl.surriel.com')).toMatchObject({ status: 'unknown' });
    expect(cell('192.0.2.77', 'psbl.surriel.com').reason).toMatch(/SERVFAIL/);
    expect(cell('192.0.2.78', 'bl.spamcop.net').status).toBe('unknown');
    expect(cell('192.0.2.78', 'bl.spamcop.net').reason).toMatch(/TIMEOUT/);
    expect(cell('192.0.2.79', 'psbl.surriel.com').status).toBe('refused');
    expect(row('192.0.2.78').answering).toBe(row('192.0.2.78').zones - 1);
    expect(r.code).toBe(3);
  });

  it('a list that refuses public resolvers says so, with the fix', async () => {
    // Spamhaus's answer to everything asked through a public resolver, test points included
    const pub = await startDns({
      '*.zen.spamhaus.org': { A: ['127.255.255.254'] },
      '2.0.0.127.zen.spamhaus.org': { A: ['127.255.255.254'] },
      '99.2.0.192.zen.spamhaus.org': { A: ['127.255.255.254'] },
    });
    try {
      const { r, check, cell } = await bl(['192.0.2.10', '192.0.2.99', '--zone', 'zen.spamhaus.org'], { server: pub });
      expect(cell('192.0.2.99', 'zen.spamhaus.org').status).toBe('refused');
      expect(cell('192.0.2.10', 'zen.spamhaus.org').status).toBe('refused');
      const zone = check.data.zones[0];
      expect(zone.selfTest.ipv4.status).toBe('refused');
      const f = check.findings.find((x: any) => x.code === 'dnsbl.zone-error');
      expect(f.fix).toMatch(/refuses queries from public resolvers.*INBOXLENS_SPAMHAUS_DQS_KEY/);
      expect(check.findings.some((x: any) => x.code === 'dnsbl.listed')).toBe(false);
      expect(r.code).toBe(3);
    } finally {
      await pub.stop();
    }
  });
});

describe('self-test', () => {
  it('a zone whose test point is not listed is unreliable, not clean', async () => {
    const srv = await startDns();
    srv.setBehavior('2.0.0.127.psbl.surriel.com', 'nxdomain');
    try {
      const { r, check, cell, codes } = await bl(['192.0.2.10', '198.51.100.2'], { server: srv });
      expect(cell('192.0.2.10', 'psbl.surriel.com').status).toBe('unreliable');
      // its listing is not trusted either
      expect(cell('198.51.100.2', 'psbl.surriel.com').status).toBe('unreliable');
      expect(cell('198.51.100.2', 'psbl.surriel.com').reason).toMatch(/self-test.*said listed/);
      expect(codes).toContain('dnsbl.zone-unreliable');
      expect(codes).not.toContain('dnsbl.listed');
      const f = check.findings.find((x: any) => x.code === 'dnsbl.zone-unreliable');
      expect(f.detail).toMatch(/127\.0\.0\.2 must be listed/);
      expect(check.status).toBe('unknown');
      expect(r.code).toBe(3);
    } finally {
      await srv.stop();
    }
  });

  it('a zone that lists everything (127.0.0.1 listed) is unreliable: its "listings" are not reported', async () => {
    const srv = await startDns({ '*.bl.spamcop.net': { A: ['127.0.0.2'] } });
    try {
      const { check, cell, codes } = await bl(['192.0.2.10', '--zone', 'bl.spamcop.net'], { server: srv });
      expect(cell('192.0.2.10', 'bl.spamcop.net').status).toBe('unreliable');
      expect(codes).not.toContain('dnsbl.listed');
      expect(check.findings.find((x: any) => x.code === 'dnsbl.zone-unreliable').detail).toMatch(/127\.0\.0\.1 must not be listed/);
    } finally {
      await srv.stop();
    }
  });

  it('runs alongside the real queries, not before them', async () => {
    const srv = await startDns({ '2.0.0.127.bl.spamcop.net': { A: ['127.0.0.2'], delayMs: 300 } });
    try {
      const r = await runCli(['blacklist', '192.0.2.10', '192.0.2.11', '--zone', 'bl.spamcop.net', '--json', '--trace', ...dnsArgs(srv, '2s')]);
      const trace: any[] = r.json().trace;
      const names = trace.map((t) => t.name);
      // answers are traced as they arrive: the real lookups finished while the slow test point was still out
      expect(names.indexOf('10.2.0.192.bl.spamcop.net')).toBeLessThan(names.indexOf('2.0.0.127.bl.spamcop.net'));
      expect(r.json().targets[0].checks[0].data.zones[0].selfTest.ipv4.status).toBe('ok');
    } finally {
      await srv.stop();
    }
  });
});

describe('query names and targets', () => {
  it('IPv6 addresses are queried as nibbles on the lists that take IPv6', async () => {
    dns.resetCounts();
    const { row, cell } = await bl(['2001:db8::bad']);
    expect(cell('2001:db8::bad', 'zen.spamhaus.org')).toMatchObject({ status: 'listed', query: 'd.a.b.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org' });
    expect(cell('2001:db8::bad', 'dnsbl.dronebl.org').meanings[0]).toMatch(/botnet/);
    // IPv4-only lists are not asked about an IPv6 address
    expect(cell('2001:db8::bad', 'bl.spamcop.net')).toBeUndefined();
    expect(row('2001:db8::bad').zones).toBe(2);
    expect(dns.counts.get('A 2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.zen.spamhaus.org')).toBe(1);
  });

  it('a /30 is expanded into 4 queries per zone', async () => {
    dns.resetCounts();
    const { check, cell } = await bl(['198.51.100.0/30']);
    expect(check.data.targets.map((t: any) => t.target)).toEqual(['198.51.100.0', '198.51.100.1', '198.51.100.2', '198.51.100.3']);
    expect(cell('198.51.100.2', 'psbl.surriel.com')).toMatchObject({ status: 'listed' });
    for (const z of DEFAULT_IP4) {
      const n = [...dns.counts.keys()].filter((k) => k.startsWith('A ') && k.endsWith(`.100.51.198.${z.name}`)).length;
      expect(n, z.name).toBe(4);
    }
  });

  it('a pasted link or an email address is checked by its host or domain', async () => {
    const { check, row } = await bl(['https://www.Bücher.example/offer?id=1', 'http://[2001:db8::bad]/x', 'news@mail.example.org', 'mailto:a@[192.0.2.99]']);
    expect(check.data.targets.map((t: any) => t.target)).toEqual(['xn--bcher-kva.example', '2001:db8::bad', 'example.org', '192.0.2.99']);
    expect(row('xn--bcher-kva.example')).toMatchObject({ kind: 'domain', sources: ['argument https://www.Bücher.example/offer?id=1'] });
    // an IP literal in a link or an address goes to the IP lists, never to the domain lists
    expect(row('2001:db8::bad')).toMatchObject({ kind: 'ip6', listedOn: 2 });
    expect(row('example.org')).toMatchObject({ kind: 'domain', sources: ['argument news@mail.example.org'] });
    expect(row('192.0.2.99')).toMatchObject({ kind: 'ip4', sources: ['argument mailto:a@[192.0.2.99]'] });
    expect(row('192.0.2.99').listedOn).toBeGreaterThan(0);
  });

  it('de-duplicates targets given twice', async () => {
    const { check } = await bl(['192.0.2.10', '192.0.2.10', '192.0.2.8/30']);
    expect(check.data.targets.filter((t: any) => t.target === '192.0.2.10')).toHaveLength(1);
    expect(check.data.targets).toHaveLength(4);
  });

  it('a target no selected list takes is said so, not passed as clean', async () => {
    const { r, check, codes } = await bl(['2001:db8::10', '--zone', 'bl.spamcop.net']);
    expect(codes).toContain('dnsbl.not-checked');
    expect(check.status).toBe('unknown');
    expect(check.reason).toMatch(/no selected list takes these targets/);
    expect(r.code).toBe(3);
  });

  it('a domain argument is looked up as its registrable domain', async () => {
    const { row } = await bl(['news.mail.spam-dnsbl-lab.example']);
    expect(row('spam-dnsbl-lab.example').sources).toEqual(['argument news.mail.spam-dnsbl-lab.example']);
    expect(row('spam-dnsbl-lab.example').listedOn).toBe(3);
  });

  it('a message: linked domains go to domain lists, IP-literal links to IP lists only', async () => {
    const eml = path.join(tmp, 'campaign.eml');
    await writeFile(eml, [
      'From: news@clean-dnsbl-lab.example', 'To: a@b.example', 'Subject: offer', 'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '',
      '<p><a href="https://www.spam-dnsbl-lab.example/offer?id=1">Offer</a> <a href="http://192.0.2.99/track">t</a>',
      '<img src="https://cdn.clean-dnsbl-lab.example/logo.png"> <a href="mailto:x@y.example">mail</a></p>', '',
    ].join('\r\n'));
    dns.resetCounts();
    const r = await runCli(['check', 'clean-dnsbl-lab.example', '--only', 'blacklist', '--message', eml, '--json', ...dnsArgs(dns)]);
    const doc = r.json();
    expect(validateReport(doc)).toEqual([]);
    const c = doc.targets[0].checks.find((x: any) => x.check === 'blacklist');
    const row = (t: string) => c.data.targets.find((x: any) => x.target === t);
    expect(row('spam-dnsbl-lab.example').sources[0]).toMatch(/^link in message: https:\/\/www\.spam-dnsbl-lab\.example\/offer/);
    expect(row('spam-dnsbl-lab.example').listedOn).toBe(3);
    expect(row('192.0.2.99').kind).toBe('ip4');
    expect(row('192.0.2.99').listedOn).toBeGreaterThan(0);
    expect(row('clean-dnsbl-lab.example').sources).toEqual(expect.arrayContaining(['From domain']));
    expect(c.data.message).toMatchObject({ domains: 2, ips: 1 });
    // never an IP to a domain list (DBL would answer 127.0.1.255)
    expect([...dns.counts.keys()].filter((k) => /192\.0\.2\.99\.|99\.2\.0\.192\./.test(k) && /dbl|surbl|uribl/.test(k))).toEqual([]);
    expect(c.findings.some((f: any) => f.code === 'dnsbl.listed' && f.subject === 'spam-dnsbl-lab.example')).toBe(true);
    expect(r.code).toBe(1);
  });
});

describe('addresses no list can judge', () => {
  it('loopback and private addresses are not looked up and never called clean; the RFC 5782 test point still is', async () => {
    const { check, codes } = await bl(['127.0.0.1', '10.0.0.1', '192.168.1.20', '100.64.0.1', '::1', 'fd00::1', '::ffff:10.1.2.3']);
    expect(codes).toContain('dnsbl.not-listable');
    expect(codes).not.toContain('dnsbl.clean');
    expect(check.status).toBe('unknown');
    expect(check.reason).toMatch(/no blacklist can judge these 7 addresses: loopback, private, carrierGradeNat, uniqueLocal address space/);
    expect(check.data.notListable.map((x: any) => x.range)).toEqual(['loopback', 'private', 'private', 'carrierGradeNat', 'loopback', 'uniqueLocal', 'private']);
    // nothing was queried for them
    expect(check.data.targets).toEqual([]);
    // mixed with a public one: that one is judged as usual, the others said apart
    const mixed = await bl(['127.0.0.1', '192.0.2.99']);
    expect(mixed.codes).toEqual(expect.arrayContaining(['dnsbl.not-listable', 'dnsbl.listed']));
    expect(mixed.check.data.targets.map((t: any) => t.target)).toEqual(['192.0.2.99']);
    // the test point every list must answer is still looked up
    const point = await bl(['127.0.0.2', '--zone', 'zen.spamhaus.org']);
    expect(point.codes).not.toContain('dnsbl.not-listable');
    expect(point.cell('127.0.0.2', 'zen.spamhaus.org')?.status).toBe('listed');
  });
});

describe('inside `inboxlens check`', () => {
  it("checks the domain's own SPF ranges (not the ESP's shared ones), the From domain and --ip", async () => {
    const r = await runCli(['check', 'spf-dnsbl-lab.example', '--only', 'blacklist', '--ip', '192.0.2.10', '--json', ...dnsArgs(dns)]);
    const doc = r.json();
    expect(validateReport(doc)).toEqual([]);
    const c = doc.targets[0].checks.find((x: any) => x.check === 'blacklist');
    const row = (t: string) => c.data.targets.find((x: any) => x.target === t);
    const targets = c.data.targets.map((t: any) => t.target);
    expect(targets[0]).toBe('192.0.2.10');
    expect(row('192.0.2.10').sources).toEqual(['--ip']);
    expect(row('192.0.2.99').sources).toEqual(['SPF ip4:192.0.2.99']);
    expect(row('192.0.2.56').sources).toEqual(['SPF a:mail.spf-dnsbl-lab.example']);
    expect(targets).toEqual(expect.arrayContaining(['198.51.100.0', '198.51.100.3', 'spf-dnsbl-lab.example']));
    expect(targets.some((t: string) => t.startsWith('203.0.113.') || t.startsWith('10.0.'))).toBe(false);
    const codes = c.findings.map((f: any) => f.code);
    expect(codes).toEqual(expect.arrayContaining(['dnsbl.listed', 'dnsbl.shared-skipped', 'dnsbl.range-not-expanded']));
    expect(c.findings.find((f: any) => f.code === 'dnsbl.shared-skipped').summary).toMatch(/_spf\.esp-dnsbl-lab\.example/);
    expect(r.code).toBe(1);
    // the human output carries the grid
    const h = await runCli(['check', 'spf-dnsbl-lab.example', '--only', 'blacklist', ...dnsArgs(dns)]);
    expect(h.stdout).toMatch(/Blacklists/);
    expect(h.stdout).toMatch(/192\.0\.2\.99\s+│ 3\/\d+/);
  });

  it('--include-shared adds the ESP ranges', async () => {
    const r = await runCli(['check', 'spf-dnsbl-lab.example', '--only', 'blacklist', '--include-shared', '--json', ...dnsArgs(dns)]);
    const c = r.json().targets[0].checks[0];
    expect(c.data.targets.find((t: any) => t.target === '203.0.113.1').sources[0]).toMatch(/^SPF ip4:203\.0\.113\.0\/30 in _spf\.esp-dnsbl-lab\.example \(shared\)$/);
  });
});

describe('in a --domains-file batch', () => {
  it('runs blacklists only when asked', async () => {
    const file = path.join(tmp, 'domains.txt');
    await writeFile(file, 'clean-dnsbl-lab.example\nspf-dnsbl-lab.example\n');
    const plain = await runCli(['check', '--domains-file', file, '--only', 'mx', ...dnsArgs(dns)]);
    const docs = plain.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(docs).toHaveLength(2);
    for (const d of docs) expect(d.targets[0].checks.map((c: any) => c.check)).toEqual(['mx']);
    const unasked = await runCli(['check', '--domains-file', file, ...dnsArgs(dns)]);
    for (const line of unasked.stdout.trim().split('\n')) {
      const d = JSON.parse(line);
      expect(d.targets[0].checks.some((c: any) => c.check === 'blacklist')).toBe(false);
      expect(d.skipped.find((x: any) => x.check === 'blacklist').reason).toMatch(/only when asked/);
    }
    const asked = await runCli(['check', '--domains-file', file, '--only', 'blacklist', ...dnsArgs(dns)]);
    const rows = asked.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((d) => d.targets[0].checks[0].check)).toEqual(['blacklist', 'blacklist']);
    expect(rows.find((d) => d.targets[0].target === 'spf-dnsbl-lab.example').targets[0].checks[0].status).toBe('fail');
  });

  it('a single-domain check runs blacklists by default', async () => {
    const r = await runCli(['check', 'clean-dnsbl-lab.example', '--json', ...dnsArgs(dns)]);
    const c = r.json().targets[0].checks.find((x: any) => x.check === 'blacklist');
    expect(c.data.targets.map((t: any) => t.target)).toEqual(expect.arrayContaining(['clean-dnsbl-lab.example', '192.0.2.10']));
  });
});

describe('budget', () => {
  it('keeps a run under --max-queries and says what it left out', async () => {
    const { r, check, codes } = await bl(['198.51.100.0/28', '--zone', 'bl.spamcop.net', '--zone', 'psbl.surriel.com', '--max-queries', '20']);
    // 4 self-test queries, then 2 per address: 8 addresses fit
    expect(check.data.targets).toHaveLength(8);
    expect(check.data.leftOut).toMatchObject({ count: 8, queries: 16 });
    expect(check.data.queries).toMatchObject({ planned: 20, selfTest: 4, budget: 20 });
    expect(codes).toContain('dnsbl.budget-exceeded');
    expect(check.findings.find((f: any) => f.code === 'dnsbl.budget-exceeded').summary).toMatch(/8 target\(s\) \(16 lookups\)/);
    expect(r.code).toBe(1); // 198.51.100.2 is listed on PSBL
  });
});

describe('Spamhaus DQS key', () => {
  const KEY = 'labdqskey7q2w9e4r1t6y3u8i5o';
  it('queries the DQS zones and never shows the key (JSON, trace, human output, errors)', async () => {
    const srv = await startDns({
      [`2.0.0.127.${KEY}.zen.dq.spamhaus.net`]: { A: ['127.0.0.2', '127.0.0.4'] },
      [`99.2.0.192.${KEY}.zen.dq.spamhaus.net`]: { A: ['127.0.0.2'], TXT: [`listed; query was 99.2.0.192.${KEY}.zen.dq.spamhaus.net`] },
      [`33.2.0.192.${KEY}.zen.dq.spamhaus.net`]: { behavior: 'timeout' },
      [`dbltest.com.${KEY}.dbl.dq.spamhaus.net`]: { A: ['127.0.1.2'] },
      [`spam-dnsbl-lab.example.${KEY}.dbl.dq.spamhaus.net`]: { A: ['127.0.1.2'] },
    });
    try {
      const env = { INBOXLENS_SPAMHAUS_DQS_KEY: KEY };
      const args = ['192.0.2.99', '192.0.2.33', 'spam-dnsbl-lab.example', '--zone', 'zen.spamhaus.org', '--zone', 'dbl.spamhaus.org'];
      const json = await runCli(['blacklist', ...args, '--json', '--trace', ...dnsArgs(srv)], { env });
      const human = await runCli(['blacklist', ...args, '--verbose', ...dnsArgs(srv)], { env });
      for (const out of [json.stdout, json.stderr, human.stdout, human.stderr]) expect(out).not.toContain(KEY);
      const doc = json.json();
      expect(validateReport(doc)).toEqual([]);
      const c = doc.targets[0].checks[0];
      expect(c.data.zones.every((z: any) => z.keyed)).toBe(true);
      const cell = c.data.targets.find((t: any) => t.target === '192.0.2.99').results[0];
      expect(cell).toMatchObject({ status: 'listed', query: '99.2.0.192.[redacted].zen.dq.spamhaus.net' });
      expect(c.data.targets.find((t: any) => t.target === '192.0.2.33').results[0].status).toBe('unknown');
      expect(doc.trace.some((t: any) => t.name.includes('[redacted].zen.dq.spamhaus.net'))).toBe(true);
      expect(c.findings.some((f: any) => f.code === 'dnsbl.listed' && f.subject === 'spam-dnsbl-lab.example')).toBe(true);
      expect(human.stdout).toMatch(/\[redacted\]\.zen\.dq\.spamhaus\.net/);
    } finally {
      await srv.stop();
    }
  });

  it('a key on the command line is not accepted', async () => {
    const r = await runCli(['blacklist', '192.0.2.10', '--dqs-key', KEY, ...dnsArgs(dns)]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain(KEY);
  });
});

describe.concurrent('bad input → exit 2, one clear line', () => {
  const cases: [string, string[], RegExp][] = [
    ['an invalid IP', ['300.1.2.3'], /target '300\.1\.2\.3' is not a valid IPv4 address/],
    ['a /8 range', ['10.0.0.0/8'], /10\.0\.0\.0\/8.*larger than \/24/],
    ['an IPv6 prefix', ['2001:db8::/48'], /IPv6 prefix/],
    ['an unknown zones file format', ['192.0.2.10', '--zones-file', 'zones.txt'], /--zones-file: 'zones\.txt' has an unknown format '\.txt'/],
    ['an unknown zone', ['192.0.2.10', '--zone', 'bl.nosuch.example'], /--zone: no zone named 'bl\.nosuch\.example'/],
    ['a retired zone', ['192.0.2.10', '--zone', 'dnsbl.sorbs.net'], /no longer operating/],
    ['a bad budget', ['192.0.2.10', '--max-queries', '0'], /--max-queries: '0' must be a whole number/],
    ['no target', [], /give an IP, a CIDR range or a domain/],
    ['a public suffix', ['co.uk'], /public suffix/],
    ['a link without a host', ['https://'], /target 'https:\/\/' is not a valid URL/],
  ];
  for (const [what, args, msg] of cases) {
    it(what, async () => {
      const r = await runCli(['blacklist', ...args, ...dnsArgs(dns)]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
  it('in `check` too: --ip with a /8 range', async () => {
    const r = await runCli(['check', 'clean-dnsbl-lab.example', '--only', 'blacklist', '--ip', '10.0.0.0/8', ...dnsArgs(dns)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--ip '10\.0\.0\.0\/8' is a \/8/);
  });
});
