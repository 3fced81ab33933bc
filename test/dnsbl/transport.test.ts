// The pooled UDP transport under the DnsClient (src/dns/udp-pool.ts), which a
// blacklist sweep leans on: many queries share a few sockets, answers are matched
// by id, source and question, strays are dropped, and idle sockets are closed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { FixtureDns, parseZone } from '../../src/dns/fixture-server.ts';
import { UdpPool, encodeQuery } from '../../src/dns/udp-pool.ts';
import { DnsClient, addresses } from '../../src/dns/resolver.ts';

const require = createRequire(import.meta.url);
const Packet = require('dns2').Packet;

let dns: FixtureDns;
beforeAll(async () => {
  const zone: Record<string, unknown> = {};
  for (let i = 0; i < 300; i++) zone[`n${i}.pool-dnsbl-lab.example`] = { A: [`10.0.${i >> 8}.${i & 255}`] };
  dns = await FixtureDns.start({ zone: parseZone(zone), latencyMs: 5 });
});
afterAll(async () => {
  await dns?.stop();
});

const udpHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;

describe('pooled UDP transport', () => {
  it('encodes a standard query with EDNS0 that dns2 decodes back', () => {
    const p = Packet.parse(encodeQuery(4242, '2.0.0.127.zen.spamhaus.org', 16));
    expect(p.header).toMatchObject({ id: 4242, rd: 1, qdcount: 1, arcount: 1 });
    expect(p.questions[0]).toMatchObject({ name: '2.0.0.127.zen.spamhaus.org', type: 16, class: 1 });
    expect(p.additionals[0]).toMatchObject({ type: 41, class: 1232 });
    expect(() => encodeQuery(1, `${'a'.repeat(64)}.example`, 1)).toThrow(/63 octets/);
  });

  it('matches 300 concurrent answers to their questions and closes its sockets when idle', async () => {
    const before = udpHandles();
    const client = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: dns.port }], concurrency: 300, timeoutMs: 3000, retries: 0 });
    const res = await Promise.all(Array.from({ length: 300 }, (_, i) => client.query(`n${i}.pool-dnsbl-lab.example`, 'A')));
    res.forEach((r, i) => expect(addresses(r), `n${i}`).toEqual([`10.0.${i >> 8}.${i & 255}`]));
    // at most a handful of sockets were used for 300 queries
    expect(dns.queries).toBeGreaterThanOrEqual(300);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(udpHandles()).toBe(before);
  });

  it('drops an answer from the wrong source or about another question, and times out naming why', async () => {
    // a "resolver" that answers with a forged reply from another port, then about the wrong name
    const server = dgram.createSocket('udp4');
    const forger = dgram.createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => forger.bind(0, '127.0.0.1', () => r()));
    const port = (server.address() as any).port;
    server.on('message', (msg, rinfo) => {
      const req = Packet.parse(msg);
      const forged = Packet.createResponseFromRequest(req);
      forged.answers.push({ name: req.questions[0].name, type: 1, class: 1, ttl: 60, address: '6.6.6.6' });
      forger.send(forged.toBuffer(), rinfo.port, rinfo.address);
      if (req.questions[0].name.startsWith('other')) {
        const wrong = Packet.createResponseFromRequest(req);
        wrong.questions[0].name = 'elsewhere.example';
        server.send(wrong.toBuffer(), rinfo.port, rinfo.address);
        return;
      }
      const real = Packet.createResponseFromRequest(req);
      real.answers.push({ name: req.questions[0].name, type: 1, class: 1, ttl: 60, address: '192.0.2.1' });
      setTimeout(() => server.send(real.toBuffer(), rinfo.port, rinfo.address), 20);
    });
    try {
      const pool = new UdpPool();
      const ok = await pool.query('127.0.0.1', port, 'real.example', 1, 1000);
      expect(ok.answers.map((a: any) => a.address)).toEqual(['192.0.2.1']);
      await expect(pool.query('127.0.0.1', port, 'other.example', 1, 300)).rejects.toMatchObject({ code: 'ETIMEDOUT', message: expect.stringMatching(/not the question asked/) });
    } finally {
      server.close();
      forger.close();
    }
  });
});

describe('sweep scheduling under the cap', () => {
  it('asks a listing\'s TXT reason before the lookups still waiting, and the self-test points last', async () => {
    const { sweep } = await import('../../src/dnsbl/sweep.ts');
    const { selectZones } = await import('../../src/dnsbl/zones.ts');
    const lab = await FixtureDns.start({
      zone: parseZone({
        '2.0.0.127.bl.spamcop.net': { A: ['127.0.0.2'] },
        '1.2.0.192.bl.spamcop.net': { A: ['127.0.0.2'], TXT: ['Blocked - see https://www.spamcop.net/bl.shtml?192.0.2.1'] },
      }),
    });
    try {
      const { zones } = await selectZones({ zone: ['bl.spamcop.net'] });
      // one query at a time, so the wire order is the queue order: the slot A 1.2.0.192
      // frees goes to the lookup already waiting for it; the TXT takes the next one,
      // ahead of every lookup still queued, and the test points come last
      const dns = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: lab.port }], concurrency: 1, timeoutMs: 2000, retries: 0, trace: true });
      const targets = ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((ip) => ({ value: ip, kind: 'ip4' as const, sources: ['argument'] }));
      const r = await sweep({ dns, zones, targets, maxQueries: 100 });
      expect(dns.trace.map((t) => `${t.type} ${t.name}`)).toEqual([
        'A 1.2.0.192.bl.spamcop.net',
        'A 2.2.0.192.bl.spamcop.net',
        'TXT 1.2.0.192.bl.spamcop.net',
        'A 3.2.0.192.bl.spamcop.net',
        'A 2.0.0.127.bl.spamcop.net',
        'A 1.0.0.127.bl.spamcop.net',
      ]);
      expect(r.targets[0]!.results[0]).toMatchObject({ status: 'listed', txt: ['Blocked - see https://www.spamcop.net/bl.shtml?192.0.2.1'] });
      expect(r.zones[0]!.selfTest.ipv4!.status).toBe('ok');
    } finally {
      await lab.stop();
    }
  });
});
