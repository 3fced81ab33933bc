// The bimi check through the real CLI, against the fixture DNS and a real HTTPS
// server on loopback serving logos and mark certificates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { runCli } from '../helpers/cli.ts';
import { check } from '../../src/engine/api.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { makeLeaf, startHttpsLab, type HttpsLab } from '../helpers/https-lab.ts';
import { validateReport } from '../../src/report/validate.ts';
import { dmarcProblems, logoWarnings, parseBimiRecord } from '../../checks/bimi.ts';

const IMG = 'img.bimi.example';
const svg = (attrs: string, inner = '<title>Brand</title><rect width="100" height="100" fill="#0a6"/>') =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" ${attrs}>${inner}</svg>\n`;
const GOOD_SVG = svg('version="1.2" baseProfile="tiny-ps" viewBox="0 0 100 100"');

let dns: FixtureDns;
let lab: HttpsLab;
beforeAll(async () => {
  dns = await startDns();
  lab = await startHttpsLab({ hosts: [IMG] });
  const [good, other] = await Promise.all([makeLeaf(['good.bimi.example']), makeLeaf(['other.example'])]);
  const SVG = 'image/svg+xml';
  lab.route(IMG, '/good.svg', { type: SVG, body: GOOD_SVG });
  lab.route(IMG, '/script.svg', { type: SVG, body: svg('version="1.2" baseProfile="tiny-ps" viewBox="0 0 100 100"', '<title>Brand</title><script>alert(1)</script>') });
  lab.route(IMG, '/plain.svg', { type: SVG, body: svg('viewBox="0 0 100 100"') });
  lab.route(IMG, '/wide.svg', { type: SVG, body: svg('version="1.2" baseProfile="tiny-ps" viewBox="0 0 200 100"') });
  lab.route(IMG, '/logo.png', { type: 'image/png', body: Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex') });
  lab.route(IMG, '/slow.svg', { hang: true });
  lab.route(IMG, '/good.pem', { type: 'application/x-pem-file', body: good.cert });
  lab.route(IMG, '/other.pem', { type: 'application/x-pem-file', body: other.cert });
});
afterAll(async () => {
  await lab?.stop();
  await dns?.stop();
});

async function runCheck(domain: string, only: string, flags: string[]) {
  const checkOptions: Record<string, string> = {};
  for (let i = 0; i < flags.length; i += 2) checkOptions[flags[i]!.replace(/^--/, '')] = flags[i + 1]!;
  // the lab's HTTPS servers listen on loopback ports: the run reads the map from the environment, as the CLI does
  process.env.INBOXLENS_HTTPS_PORT_MAP = lab.portMap;
  return check(domain, { only: [only], checkOptions, resolvers: [dns.address], timeoutMs: 400, retries: 1 });
}

/** The check in-process through the library (what `check --only bimi --json` prints); flags as `--name value` pairs. */
async function bimi(domain: string, extra: string[] = []) {
  const doc: any = await runCheck(domain, 'bimi', ['--ca-file', lab.caFile, ...extra]);
  const r = { code: doc.summary.exitCode as number };
  expect(validateReport(doc)).toEqual([]);
  const res = doc.targets[0].checks[0];
  return { r, res, codes: (res.findings.map((f: any) => f.code) as string[]).sort(), find: (code: string) => res.findings.find((f: any) => f.code === code) };
}

describe('BIMI helpers', () => {
  it('parses the record tag list', () => {
    expect(parseBimiRecord('v=BIMI1; l=https://x.example/a.svg; a=https://x.example/a.pem;')).toEqual({ tags: { v: 'BIMI1', l: 'https://x.example/a.svg', a: 'https://x.example/a.pem' } });
    expect(parseBimiRecord('l=https://x; v=BIMI1')).toMatchObject({ error: expect.stringMatching(/begin with/) });
    expect(parseBimiRecord('v=BIMI1; junk')).toMatchObject({ error: expect.stringMatching(/tag=value/) });
  });
  it('judges DMARC enforcement as the draft does', () => {
    expect(dmarcProblems('a.example', { p: 'reject' })).toEqual([]);
    expect(dmarcProblems('a.example', { p: 'quarantine', pct: 100 })).toEqual([]);
    expect(dmarcProblems('a.example', { p: 'none' })).toEqual(['p=none at _dmarc.a.example']);
    expect(dmarcProblems('a.example', { p: 'reject', sp: 'none', t: 'y', pct: 20 })).toHaveLength(3);
  });
  it('checks the logo beyond mailauth: type, size, square, version', () => {
    expect(logoWarnings(Buffer.from(GOOD_SVG), 'image/svg+xml')).toEqual([]);
    expect(logoWarnings(Buffer.from(GOOD_SVG), 'text/plain')[0]).toMatch(/text\/plain/);
    expect(logoWarnings(Buffer.from(svg('version="1.2" baseProfile="tiny-ps" width="64" height="32"')), 'image/svg+xml')[0]).toMatch(/64×32.*square/);
    expect(logoWarnings(Buffer.from(GOOD_SVG + ' '.repeat(40_000)), 'image/svg+xml')[0]).toMatch(/32 KB/);
  });
});

describe('bimi check', () => {
  it('passes a valid SVG Tiny PS logo with a certificate and DMARC at enforcement', async () => {
    const { r, res, codes } = await bimi('good.bimi.example');
    expect(codes).toEqual(['bimi.ok']);
    expect(res.data.logo).toMatchObject({ svgTinyPs: true, square: true, mediaType: 'image/svg+xml', problems: [] });
    expect(res.data.certificate.names).toEqual(['good.bimi.example']);
    expect(res.data.dmarc).toMatchObject({ enforced: true });
    expect(r.code).toBe(0);
  });
  it('a missing a= is a provider warning, not a syntax error', async () => {
    const { r, codes, find } = await bimi('nocert.bimi.example');
    expect(codes).toEqual(['bimi.no-certificate']);
    expect(find('bimi.no-certificate').severity).toBe('warn');
    expect(find('bimi.no-certificate').summary).toMatch(/Gmail and Apple/);
    expect(r.code).toBe(0);
  });
  it('flags DMARC that is not at enforcement: p=none, pct<100, t=y, no record', async () => {
    const cases = [['lax', /p=none/], ['pct', /pct=50/], ['testing', /t=y/], ['nodmarc', /no DMARC record/]] as const;
    const runs = await Promise.all(cases.map(([d]) => bimi(`${d}.bimi.example`)));
    for (const [i, [d, why]] of cases.entries()) {
      expect(runs[i]!.codes, d).toContain('bimi.dmarc-not-enforced');
      expect(runs[i]!.find('bimi.dmarc-not-enforced').summary, d).toMatch(why);
    }
  });
  it('checks the organizational domain too, and finds the BIMI record there', async () => {
    const { res, find } = await bimi('sub.org.bimi.example');
    expect(res.data.recordDomain).toBe('org.bimi.example');
    expect(res.data.dmarc.orgDomain).toBe('org.bimi.example');
    expect(find('bimi.dmarc-not-enforced').summary).toMatch(/sp=none at _dmarc\.org\.bimi\.example/);
  });
  it('a DMARC lookup failure makes the result unknown, not pass', async () => {
    const { r, res } = await bimi('dmarcfail.bimi.example');
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/DMARC/);
    expect(r.code).toBe(3);
  });
  it('rejects logos that are not SVG Tiny PS', async () => {
    const script = await bimi('badsvg.bimi.example');
    expect(script.codes).toContain('bimi.logo-invalid');
    expect(script.find('bimi.logo-invalid').summary).toMatch(/script/);
    const plain = await bimi('notiny.bimi.example');
    expect(plain.find('bimi.logo-invalid').summary).toMatch(/Tiny PS/);
    expect(plain.r.code).toBe(1);
    const png = await bimi('png.bimi.example');
    expect(png.res.findings.filter((x: any) => x.code === 'bimi.logo-invalid').map((x: any) => x.severity).sort()).toEqual(['error', 'warn']);
  });
  it('warns about a logo that is not square', async () => {
    const { codes, find, r } = await bimi('notsquare.bimi.example');
    expect(codes).toEqual(['bimi.logo-invalid', 'bimi.no-certificate']);
    expect(find('bimi.logo-invalid').severity).toBe('warn');
    expect(find('bimi.logo-invalid').summary).toMatch(/square/);
    expect(r.code).toBe(0);
  });
  it('reports a logo that cannot be fetched (404, no address, untrusted certificate)', async () => {
    const missing = await bimi('nologo.bimi.example');
    expect(missing.find('bimi.logo-unreachable').summary).toMatch(/404/);
    const nohost = await bimi('nohost.bimi.example');
    expect(nohost.find('bimi.logo-unreachable').summary).toMatch(/no A or AAAA/);
    const r = await runCli(['check', 'good.bimi.example', '--only', 'bimi', '--json', ...dnsArgs(dns)], { env: { INBOXLENS_HTTPS_PORT_MAP: lab.portMap } });
    const res = r.json().targets[0].checks[0];
    expect(res.findings.find((x: any) => x.code === 'bimi.logo-unreachable').summary).toMatch(/TLS .* failed/);
  });
  it('a logo fetch that times out is unknown', async () => {
    const { res, r } = await bimi('slowlogo.bimi.example', ['--https-timeout', '500ms']);
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/logo could not be fetched.*500 ms/);
    expect(r.code).toBe(3);
  });
  it('checks the mark certificate names the domain and is a certificate', async () => {
    const other = await bimi('badcert.bimi.example');
    expect(other.codes).toEqual(['bimi.certificate-invalid']);
    expect(other.find('bimi.certificate-invalid').summary).toMatch(/other\.example/);
    const notpem = await bimi('notpem.bimi.example');
    expect(notpem.find('bimi.certificate-invalid').summary).toMatch(/PEM/);
  });
  it('reports record syntax: http logo, no l=, several records, another version', async () => {
    const names = ['httplogo', 'nol', 'multi', 'wrongver'];
    const runs = await Promise.all(names.map((d) => bimi(`${d}.bimi.example`)));
    for (const [i, d] of names.entries()) {
      expect(runs[i]!.codes, d).toEqual(['bimi.syntax']);
      expect(runs[i]!.r.code).toBe(1);
    }
  });
  it('a declination (empty l=) and a missing record are info', async () => {
    expect((await bimi('declined.bimi.example')).codes).toEqual(['bimi.declined']);
    const none = await bimi('nobimi.bimi.example');
    expect(none.codes).toEqual(['bimi.missing']);
    expect(none.r.code).toBe(0);
  });
  it('a failed BIMI lookup is unknown', async () => {
    const { res } = await bimi('bimifail.bimi.example');
    expect(res.status).toBe('unknown');
    expect(res.reason).toMatch(/SERVFAIL/);
  });
});
