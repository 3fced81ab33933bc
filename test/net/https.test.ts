// src/net/https.ts against a real node:https server on loopback and the real fixture DNS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { DnsClient } from '../../src/dns/resolver.ts';
import { httpsGet, httpsSettings, parsePortMap, type HttpsSettings } from '../../src/net/https.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { startDns } from '../helpers/dns.ts';
import { startHttpsLab, type HttpsLab } from '../helpers/https-lab.ts';

const H = (s: string) => `${s}.https.sts.example`;
let dns: FixtureDns;
let lab: HttpsLab;
let closedPort: number;

beforeAll(async () => {
  dns = await startDns({
    [H('ok')]: { A: ['127.0.0.1'] },
    [H('v6only')]: { AAAA: ['::1'] },
    [H('self')]: { A: ['127.0.0.1'] },
    [H('wrong')]: { A: ['127.0.0.1'] },
    [H('broken')]: { behavior: 'servfail' },
    [H('closed')]: { A: ['127.0.0.1'] },
  });
  lab = await startHttpsLab({ hosts: [H('ok'), H('v6only')], selfSigned: [H('self')], wrongName: [H('wrong')] });
  lab.route(H('ok'), '/hello.txt', { type: 'text/plain; charset=utf-8', body: 'hello\n' });
  lab.route(H('ok'), '/big', { type: 'application/octet-stream', body: Buffer.alloc(70_000, 0x61) });
  lab.route(H('ok'), '/moved', { status: 301, headers: { location: '/hello.txt' } });
  lab.route(H('ok'), '/to-http', { status: 302, headers: { location: 'http://example.com/x' } });
  lab.route(H('ok'), '/hang', { hang: true });
  lab.route(H('v6only'), '/x', { type: 'text/plain', body: 'v6\n' });
  lab.route(H('self'), '/x', { type: 'text/plain', body: 'x' });
  lab.route(H('wrong'), '/x', { type: 'text/plain', body: 'x' });
  // a port with nothing listening: bind, note it, close
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closedPort = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
});
afterAll(async () => {
  await lab?.stop();
  await dns?.stop();
});

function client(trace = false) {
  return new DnsClient({ resolvers: [{ host: '127.0.0.1', port: dns.port }], timeoutMs: 400, retries: 1, trace });
}
function settings(extra: Partial<HttpsSettings> = {}): HttpsSettings {
  return {
    extraCa: [lab.caPem],
    timeoutMs: 3000,
    portMap: parsePortMap(`${lab.portMap},${H('closed')}:443=127.0.0.1:${closedPort}`),
    ...extra,
  };
}

describe('httpsGet', () => {
  it('fetches through the run DNS, trusting an extra CA, and the trace shows the lookups', async () => {
    const d = client(true);
    const r = await httpsGet(`https://${H('ok')}/hello.txt`, { dns: d, settings: settings() });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.status).toBe(200);
    expect(r.mediaType).toBe('text/plain');
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.body.toString()).toBe('hello\n');
    expect(r.address).toBe('127.0.0.1');
    expect(d.trace.map((t) => `${t.type} ${t.name}`).sort()).toEqual([`A ${H('ok')}`, `AAAA ${H('ok')}`]);
    expect(lab.hits).toContain(`${H('ok')} /hello.txt`);
  });
  it('uses an IPv6-only answer', async () => {
    const r = await httpsGet(`https://${H('v6only')}/x`, { dns: client(), settings: settings() });
    expect(r.ok && r.body.toString()).toBe('v6\n');
  });
  it('verifies TLS by default: the lab CA is not trusted without --ca-file', async () => {
    const r = await httpsGet(`https://${H('ok')}/hello.txt`, { dns: client(), settings: settings({ extraCa: [] }) });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.kind).toBe('tls');
    expect(r.unknown).toBe(false);
    expect(r.tlsError).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
    expect(r.error).toContain(H('ok'));
  });
  it('rejects a self-signed certificate and a certificate for another name, even with the lab CA trusted', async () => {
    const self = await httpsGet(`https://${H('self')}/x`, { dns: client(), settings: settings() });
    expect(!self.ok && self.kind).toBe('tls');
    expect(!self.ok && self.tlsError).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    const wrong = await httpsGet(`https://${H('wrong')}/x`, { dns: client(), settings: settings() });
    expect(!wrong.ok && wrong.tlsError).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });
  it('a server that never answers is a timeout, marked unknown', async () => {
    const r = await httpsGet(`https://${H('ok')}/hang`, { dns: client(), settings: settings(), timeoutMs: 300 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.kind).toBe('timeout');
    expect(r.unknown).toBe(true);
  });
  it('stops reading at the size limit', async () => {
    const r = await httpsGet(`https://${H('ok')}/big`, { dns: client(), settings: settings(), maxBytes: 64 * 1024 });
    expect(!r.ok && r.kind).toBe('too-large');
  });
  it('does not follow redirects unless asked, and never to plain http', async () => {
    const r = await httpsGet(`https://${H('ok')}/moved`, { dns: client(), settings: settings() });
    expect(r.ok && r.status).toBe(301);
    const f = await httpsGet(`https://${H('ok')}/moved`, { dns: client(), settings: settings(), maxRedirects: 2 });
    expect(f.ok && f.body.toString()).toBe('hello\n');
    expect(f.redirects).toEqual([`https://${H('ok')}/moved`]);
    const h = await httpsGet(`https://${H('ok')}/to-http`, { dns: client(), settings: settings(), maxRedirects: 2 });
    expect(!h.ok && h.kind).toBe('protocol');
  });
  it('tells a name without addresses (a fact) from a DNS failure (unknown)', async () => {
    const nx = await httpsGet(`https://${H('nothere')}/x`, { dns: client(), settings: settings() });
    expect(!nx.ok && nx.kind).toBe('no-address');
    expect(!nx.ok && nx.unknown).toBe(false);
    const sf = await httpsGet(`https://${H('broken')}/x`, { dns: client(), settings: settings() });
    expect(!sf.ok && sf.kind).toBe('dns-failure');
    expect(!sf.ok && sf.unknown).toBe(true);
  });
  it('reports a refused connection', async () => {
    const r = await httpsGet(`https://${H('closed')}/x`, { dns: client(), settings: settings() });
    expect(!r.ok && r.kind).toBe('connect');
    expect(!r.ok && r.error).toMatch(/ECONNREFUSED/);
  });
  it('refuses non-https URLs', async () => {
    const r = await httpsGet('http://example.com/', { dns: client(), settings: settings() });
    expect(!r.ok && r.kind).toBe('bad-url');
  });
});

describe('HTTPS settings', () => {
  it('parses INBOXLENS_HTTPS_PORT_MAP entries, wildcards included', () => {
    expect(parsePortMap('mta-sts.a.example:443=127.0.0.1:40123, *.b.example:443=[::1]:8443')).toEqual([
      { host: 'mta-sts.a.example', fromPort: 443, address: '127.0.0.1', port: 40123 },
      { host: '*.b.example', fromPort: 443, address: '::1', port: 8443 },
    ]);
    expect(() => parsePortMap('mta-sts.a.example=127.0.0.1')).toThrow(UsageError);
    expect(() => parsePortMap('a.example:443=not-an-ip:1')).toThrow(/INBOXLENS_HTTPS_PORT_MAP/);
  });
  it('reads --ca-file once and rejects a missing or non-PEM file', () => {
    expect(httpsSettings({ ips: [], selectors: [], caFile: lab.caFile }).extraCa).toHaveLength(1);
    expect(() => httpsSettings({ ips: [], selectors: [], caFile: '/nonexistent/ca.pem' })).toThrow(/--ca-file: cannot read/);
    expect(() => httpsSettings({ ips: [], selectors: [], caFile: '/etc/hostname' })).toThrow(/no PEM certificate/);
    expect(() => httpsSettings({ ips: [], selectors: [], httpsTimeout: 'soon' })).toThrow(/--https-timeout/);
  });
});
