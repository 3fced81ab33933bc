// The DNS layer against real servers on loopback: the fixture dns2 server (UDP and
// TCP) and a dns2 DNS-over-HTTP server. Truncation, failover, de-duplication, the
// concurrency cap, failures as rcodes, mailauth's resolver contract, the trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { FixtureDns, parseZone } from '../../src/dns/fixture-server.ts';
import { DnsClient, addresses, isFailure, mxRecords, parseResolver, resolverValidates, txtRecords } from '../../src/dns/resolver.ts';
import { registerSecret } from '../../src/util/redact.ts';
import { runCli } from '../helpers/cli.ts';

const require = createRequire(import.meta.url);
const DNS2 = require('dns2');

const LONG = `v=spf1 ${Array.from({ length: 40 }, (_, i) => `ip4:198.51.100.${i}`).join(' ')} -all`;
let dns: FixtureDns;
let broken: FixtureDns;

beforeAll(async () => {
  dns = await FixtureDns.start({
    zone: parseZone({
      'long.dns.example': { TXT: [LONG] },
      'split.dns.example': { TXT: [['v=spf1 ip4:192.0.2.1', ' -all']] },
      'tc.dns.example': { behavior: 'truncate', TXT: ['only over TCP'] },
      'mx.dns.example': { MX: ['10 a.dns.example', '20 b.dns.example'] },
      'a.dns.example': { A: ['192.0.2.1'] },
      'slow.dns.example': { behavior: 'timeout' },
      'sf.dns.example': { behavior: 'servfail' },
      'bad.dns.example': { behavior: 'malformed' },
      'alias.dns.example': { CNAME: ['a.dns.example'] },
      'signed.dns.example': { A: ['192.0.2.7'], secure: true },
      'signedtc.dns.example': { behavior: 'truncate', TXT: ['signed, over TCP'], secure: true },
    }),
  });
  // a second resolver that fails everything: failover must move past it
  broken = await FixtureDns.start({ zone: parseZone({ '*.dns.example': { behavior: 'servfail' } }) });
});
afterAll(async () => {
  await dns?.stop();
  await broken?.stop();
});

/** A loopback UDP port that was just bound and released: nothing listens there now. */
async function releasedUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const client = (o: Partial<ConstructorParameters<typeof DnsClient>[0]> = {}) =>
  new DnsClient({ resolvers: [{ host: '127.0.0.1', port: dns.port }], timeoutMs: 300, retries: 1, ...o });

describe('DnsClient', () => {
  it('splits long TXT into 255-byte strings on the server and joins them without spaces (RFC 7208 §3.3)', async () => {
    const c = client();
    const r = await c.query('long.dns.example', 'TXT');
    expect(r.rcode).toBe('NOERROR');
    expect((r.answers[0]!.data as string[]).length).toBeGreaterThan(1);
    expect((r.answers[0]!.data as string[]).every((s) => Buffer.byteLength(s) <= 255)).toBe(true);
    expect(txtRecords(r)).toEqual([LONG]);
    expect(txtRecords(await c.query('split.dns.example', 'TXT'))).toEqual(['v=spf1 ip4:192.0.2.1 -all']);
  });

  it('falls back to TCP when the UDP answer is truncated', async () => {
    const r = await client().query('tc.dns.example', 'TXT');
    expect(r.transport).toBe('tcp');
    expect(txtRecords(r)).toEqual(['only over TCP']);
  });

  it('a long answer that does not fit in 1232 bytes comes over TCP', async () => {
    dns.set('big.dns.example', 'TXT', Array.from({ length: 12 }, (_, i) => `record ${i} ${'x'.repeat(200)}`));
    const r = await client().query('big.dns.example', 'TXT');
    expect(r.transport).toBe('tcp');
    expect(txtRecords(r)).toHaveLength(12);
  });

  it('reports failures as rcodes, never as answers', async () => {
    const c = client();
    const [slow, sf, bad, nx, nodata] = await Promise.all([
      c.query('slow.dns.example', 'A'),
      c.query('sf.dns.example', 'A'),
      c.query('bad.dns.example', 'A'),
      c.query('nope.dns.example', 'A'),
      c.query('a.dns.example', 'AAAA'),
    ]);
    expect(slow.rcode).toBe('TIMEOUT');
    expect(slow.error).toMatch(/after 2 attempts/);
    expect(sf.rcode).toBe('SERVFAIL');
    expect(isFailure(bad)).toBe(true);
    expect(nx.rcode).toBe('NXDOMAIN');
    expect(isFailure(nx)).toBe(false);
    expect(nodata.rcode).toBe('NOERROR');
    expect(nodata.answers).toEqual([]);
  });

  it('fails over to the next resolver when one answers SERVFAIL or does not answer', async () => {
    const c = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: broken.port }, { host: '127.0.0.1', port: dns.port }], timeoutMs: 300, retries: 1, trace: true });
    const r = await c.query('a.dns.example', 'A');
    expect(addresses(r)).toEqual(['192.0.2.1']);
    expect(r.server).toBe(`127.0.0.1:${dns.port}`);
    expect(c.trace[0]!.attempts).toBe(2);
    // a resolver that is not there at all (nothing listens on that UDP port)
    const dead = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: 9 }, { host: '127.0.0.1', port: dns.port }], timeoutMs: 300, retries: 1 });
    expect(addresses(await dead.query('a.dns.example', 'A'))).toEqual(['192.0.2.1']);
  });

  it('says plainly when nothing listens at the resolver address (ICMP port unreachable on a connected socket)', async () => {
    const port = await releasedUdpPort();
    // a long timeout: the answer must be the refusal, not a timeout
    const c = new DnsClient({ resolvers: [{ host: '127.0.0.1', port }], timeoutMs: 20_000, retries: 0 });
    const r = await c.query('a.dns.example', 'A');
    expect(r.rcode).toBe('NETERR');
    expect(r.error).toContain(`nothing answers DNS on UDP port ${port} of 127.0.0.1`);
  });

  it('answers from an IPv6 resolver however its address is written', async () => {
    const v6 = await FixtureDns.start({ zone: parseZone({ 'a.v6.dns.example': { A: ['192.0.2.6'] } }), host: '::1' });
    try {
      for (const host of ['::1', '0:0:0:0:0:0:0:1']) {
        const c = new DnsClient({ resolvers: [{ host, port: v6.port }], timeoutMs: 2000, retries: 0 });
        expect(addresses(await c.query('a.v6.dns.example', 'A')), host).toEqual(['192.0.2.6']);
      }
    } finally {
      await v6.stop();
    }
  });

  it('a resolver address the socket cannot connect to is an error with its reason, not a crash', async () => {
    // connect() to the broadcast address fails in the kernel (EACCES without SO_BROADCAST): nothing is sent
    const c = new DnsClient({ resolvers: [{ host: '255.255.255.255', port: 53 }], timeoutMs: 20_000, retries: 0 });
    const r = await c.query('a.dns.example', 'A');
    expect(r.rcode).toBe('NETERR');
    expect(r.error).toMatch(/EACCES 255\.255\.255\.255:53/);
  });

  it('the CLI turns a resolver with nothing listening into one clear line and exit 2, without waiting out --timeout', async () => {
    const port = await releasedUdpPort();
    // a run limited to 20 s that would take 60 s if the refusal were waited out as a timeout
    const r = await runCli(['check', 'example.com', '--resolver', `127.0.0.1:${port}`, '--timeout', '30s', '--no-save'], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`no DNS resolver answered (127.0.0.1:${port}): nothing answers DNS on UDP port ${port} of 127.0.0.1`);
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('asks for the AD bit and reports answers the resolver validated (UDP and TCP); tells a validating resolver by the root zone', async () => {
    const c = client();
    expect((await c.query('signed.dns.example', 'A')).authenticated).toBe(true);
    const tcp = await c.query('signedtc.dns.example', 'TXT');
    expect(tcp).toMatchObject({ transport: 'tcp', authenticated: true });
    expect((await c.query('a.dns.example', 'A')).authenticated).toBeUndefined();
    // this lab resolver has no signed root: it does not validate
    expect(await resolverValidates(client())).toBe(false);
    dns.set('.', 'NS', ['a.root-servers.net']);
    dns.setSecure('.', true);
    try {
      expect(await resolverValidates(client())).toBe(true);
    } finally {
      dns.setSecure('.', false);
    }
    // a resolver that does not answer: not known
    expect(await resolverValidates(new DnsClient({ resolvers: [{ host: '127.0.0.1', port: await releasedUdpPort() }], timeoutMs: 300, retries: 0 }))).toBeUndefined();
  });

  it('asks the wire once for the same question in flight or answered (de-duplication and per-run cache)', async () => {
    dns.resetCounts();
    const c = client();
    const all = await Promise.all(Array.from({ length: 50 }, () => c.query('a.dns.example', 'A')));
    await c.query('A.DNS.EXAMPLE.', 'A');
    expect(new Set(all).size).toBe(1);
    expect(dns.counts.get('A a.dns.example')).toBe(1);
    expect(c.wireQueries).toBe(1);
  });

  it('never has more queries in flight than --concurrency', async () => {
    const slow = await FixtureDns.start({ zone: parseZone({ '*.cap.example': { A: ['192.0.2.9'] } }), latencyMs: 30 });
    try {
      const c = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: slow.port }], timeoutMs: 2000, retries: 0, concurrency: 5 });
      const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => c.query(`h${i}.cap.example`, 'A')));
      expect(rs.every((r) => r.rcode === 'NOERROR')).toBe(true);
      expect(slow.maxInFlight).toBeLessThanOrEqual(5);
      expect(slow.maxInFlight).toBeGreaterThan(1); // and they do go out in parallel
    } finally {
      await slow.stop();
    }
  });

  it('gives mailauth node-style answers and error codes', async () => {
    const c = client();
    expect(await c.mailauthResolver('mx.dns.example', 'MX')).toEqual([{ exchange: 'a.dns.example', priority: 10 }, { exchange: 'b.dns.example', priority: 20 }]);
    expect(await c.mailauthResolver('split.dns.example', 'TXT')).toEqual([['v=spf1 ip4:192.0.2.1', ' -all']]);
    expect(await c.mailauthResolver('alias.dns.example', 'A')).toEqual(['192.0.2.1']);
    const code = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: string }) => e.code);
    expect(await code(c.mailauthResolver('nope.dns.example', 'TXT'))).toBe('ENOTFOUND');
    expect(await code(c.mailauthResolver('a.dns.example', 'TXT'))).toBe('ENODATA');
    expect(await code(c.mailauthResolver('slow.dns.example', 'TXT'))).toBe('ETIMEOUT');
    expect(await code(c.mailauthResolver('sf.dns.example', 'TXT'))).toBe('ESERVFAIL');
  });

  it('traces every query, with registered secrets masked', async () => {
    registerSecret('s3cr3tdqskey');
    dns.set('s3cr3tdqskey.2.0.0.127.zen.dns.example', 'A', ['127.0.0.2']);
    const c = client({ trace: true });
    await c.query('s3cr3tdqskey.2.0.0.127.zen.dns.example', 'A');
    await c.query('mx.dns.example', 'MX');
    expect(c.trace.map((t) => t.name)).toEqual(['[redacted].2.0.0.127.zen.dns.example', 'mx.dns.example']);
    expect(JSON.stringify(c.trace)).not.toContain('s3cr3tdqskey');
    expect(c.trace[1]).toMatchObject({ type: 'MX', rcode: 'NOERROR', answers: ['10 a.dns.example', '20 b.dns.example'], attempts: 1 });
    expect(mxRecords(await c.query('mx.dns.example', 'MX'))).toHaveLength(2);
  });

  it('speaks DNS-over-HTTPS (RFC 8484 POST) to a DoH server; plain http only on loopback', async () => {
    const server = DNS2.createDOHServer({});
    server.on('request', (req: any, send: any) => {
      const res = DNS2.Packet.createResponseFromRequest(req);
      res.answers.push({ name: req.questions[0].name, type: DNS2.Packet.TYPE.A, class: DNS2.Packet.CLASS.IN, ttl: 60, address: '192.0.2.53' });
      send(res);
    });
    await new Promise<void>((r) => {
      server.once('listening', () => r());
      server.listen(0, '127.0.0.1');
    });
    try {
      const port = server.address().port;
      const spec = parseResolver(`http://127.0.0.1:${port}/dns-query`);
      const c = new DnsClient({ resolvers: [spec], timeoutMs: 2000, retries: 0 });
      const r = await c.query('doh.example', 'A');
      expect(r.transport).toBe('doh');
      expect(addresses(r)).toEqual(['192.0.2.53']);
    } finally {
      await new Promise<void>((r) => {
        server.once('close', () => r());
        server.close();
      });
    }
    expect(() => parseResolver('http://192.0.2.1/dns-query')).toThrow(/must use https/);
    expect(parseResolver('https://dns.example/dns-query').doh).toBe('https://dns.example/dns-query');
    expect(() => parseResolver('dns.example')).toThrow(/IP address/);
    expect(parseResolver('[::1]:5353')).toEqual({ host: '::1', port: 5353 });
  });
});
