// DANE-TA (TLSA usage 2) in the smtp check (issue 12, "Real servers"): a digest
// record (2 x 1, 2 x 2) matches only a certificate in the chain the server itself
// presented (RFC 7671 §5.2.2), never one from the local trust store or --smtp-ca;
// a full `2 0 0` record carries the anchor in DNS and the presented chain is
// verified against it; for `2 1 0` the top certificate's signature is checked with
// the key in DNS (§5.2.3). Certificates made in the test, TLSA on the fixture DNS,
// lab MX servers on loopback, the real CLI.
import crypto from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { labCa, labCert, startLabSmtp, type LabSmtp, type Pem } from '../../src/smtp/lab.ts';
import { daneMatch, type TlsaRecord } from '../../src/smtp/tls.ts';
import { validateReport } from '../../src/report/validate.ts';
import { runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';

const D = 'daneta.h-smtp.lab.test';
let dns: FixtureDns;
let dir: string;
let caFile: string;
let ca: Pem;
let otherCa: Pem;
let leaf: Pem;
let leafOnly: LabSmtp;
let withChain: LabSmtp;
let wrongName: LabSmtp;

const der = (pem: string) => new crypto.X509Certificate(pem).raw;
const spki = (pem: string) => new crypto.X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const sha512 = (b: Buffer) => crypto.createHash('sha512').update(b).digest('hex');

beforeAll(async () => {
  ca = await labCa();
  otherCa = await labCa();
  leaf = await labCert([`mx.leaf.${D}`, `mx.chain.${D}`], { ca });
  dir = await mkdtemp(path.join(tmpdir(), 'inboxlens-daneta-'));
  caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, ca.cert);
  const zone: Record<string, unknown> = {};
  for (const h of ['leaf', 'chain', 'wrongname']) {
    zone[`${h}.${D}`] = { MX: [`10 mx.${h}.${D}`] };
    zone[`mx.${h}.${D}`] = { A: ['127.0.0.1'] };
    zone[`_25._tcp.mx.${h}.${D}`] = { TLSA: [`3 1 1 ${'00'.repeat(32)}`], secure: true };
  }
  dns = await startDns(zone);
  [leafOnly, withChain, wrongName] = await Promise.all([
    // sends its own certificate only
    startLabSmtp({ name: `mx.leaf.${D}`, tls: leaf }),
    // sends its certificate and the CA's
    startLabSmtp({ name: `mx.chain.${D}`, tls: { key: leaf.key, cert: `${leaf.cert.trim()}\n${ca.cert.trim()}\n` } }),
    // the same chain under a name its certificate does not cover
    startLabSmtp({ name: `mx.wrongname.${D}`, tls: { key: leaf.key, cert: `${leaf.cert.trim()}\n${ca.cert.trim()}\n` } }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([leafOnly?.stop(), withChain?.stop(), wrongName?.stop()]);
  await dns?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function smtp(host: 'leaf' | 'chain' | 'wrongname', tlsa: string[], o: { trustCa?: boolean } = {}) {
  dns.set(`_25._tcp.mx.${host}.${D}`, 'TLSA', tlsa);
  const server = host === 'leaf' ? leafOnly : host === 'chain' ? withChain : wrongName;
  const r = await runCli(['smtp', `${host}.${D}`, '--json', '--smtp-port', String(server.port), ...(o.trustCa ? ['--smtp-ca', caFile] : []), ...dnsArgs(dns, '1s')], { timeoutMs: 60_000 });
  const doc = r.json();
  expect(validateReport(doc)).toEqual([]);
  const res = doc.targets[0].checks.find((c: any) => c.check === 'smtp');
  const codes: string[] = res.findings.map((x: any) => x.code);
  return { code: r.code, res, codes, dane: res.data.receive.probes[0].dane, f: (c: string) => res.findings.find((x: any) => x.code === c) };
}

describe('DANE-TA digest records', () => {
  it('a TLSA record for a private CA does not match a server that sends only its leaf, even with that CA in --smtp-ca', async () => {
    for (const rec of [`2 0 1 ${sha256(der(ca.cert))}`, `2 1 1 ${sha256(spki(ca.cert))}`, `2 1 2 ${sha512(spki(ca.cert))}`]) {
      const r = await smtp('leaf', [rec], { trustCa: true });
      // the chain is trusted through --smtp-ca, but DANE senders do not have that CA
      expect(r.res.data.receive.probes[0].tls.authorized).toBe(true);
      expect(r.dane.matched).toBeUndefined();
      expect(r.f('smtp.dane-mismatch')).toMatchObject({ severity: 'error' });
      expect(r.f('smtp.dane-mismatch').detail).toMatch(/matches only a certificate mx\.leaf\.daneta\.h-smtp\.lab\.test sends in its own chain.* sent 1 certificate\(s\): mx\.leaf/);
      expect(r.code).toBe(1);
    }
  }, 120_000);

  it('the same records match when the server sends the CA certificate in its chain', async () => {
    for (const rec of [`2 0 1 ${sha256(der(ca.cert))}`, `2 1 1 ${sha256(spki(ca.cert))}`]) {
      const r = await smtp('chain', [rec]);
      expect(r.dane.matched).toBe(rec);
      expect(r.codes).not.toContain('smtp.dane-mismatch');
    }
  }, 120_000);
});

describe('a DANE-TA match stands in for the WebPKI chain only', () => {
  it('the certificate must still cover the MX name (RFC 7672 §3.2.2): a name mismatch stays an error under DANE', async () => {
    const rec = `2 0 1 ${sha256(der(ca.cert))}`;
    const r = await smtp('wrongname', [rec]);
    expect(r.dane.matched).toBe(rec);
    expect(r.f('smtp.cert-invalid')).toMatchObject({ severity: 'error' });
    expect(r.f('smtp.cert-invalid').detail).toMatch(/DANE-TA senders still check the name and the expiry/);
    // the untrusted chain alone is what the match excuses (the CA is not in any store here)
    const ok = await smtp('chain', [rec]);
    expect(ok.f('smtp.cert-invalid')).toMatchObject({ severity: 'info' });
  }, 120_000);
});

describe('DANE-TA with the trust anchor in DNS', () => {
  it('2 0 0 (the CA certificate itself) verifies the leaf the server sent against it; another CA\'s does not', async () => {
    const ok = await smtp('leaf', [`2 0 0 ${der(ca.cert).toString('hex')}`]);
    expect(ok.dane.matched).toMatch(/^2 0 0 /);
    expect(ok.codes).not.toContain('smtp.dane-mismatch');
    const other = await smtp('leaf', [`2 0 0 ${der(otherCa.cert).toString('hex')}`]);
    expect(other.dane.matched).toBeUndefined();
    expect(other.f('smtp.dane-mismatch')).toMatchObject({ severity: 'error' });
  }, 120_000);

  it('2 1 0 (the CA public key) checks the top certificate\'s signature with that key (RFC 7671 §5.2.3); another key does not', async () => {
    const ok = await smtp('leaf', [`2 1 0 ${spki(ca.cert).toString('hex')}`]);
    expect(ok.dane.matched).toMatch(/^2 1 0 /);
    expect(ok.codes).not.toContain('smtp.dane-mismatch');
    const other = await smtp('leaf', [`2 1 0 ${spki(otherCa.cert).toString('hex')}`]);
    expect(other.f('smtp.dane-mismatch')).toMatchObject({ severity: 'error' });
  }, 120_000);
});

describe('daneMatch', () => {
  const rec = (s: string): TlsaRecord => {
    const [usage, selector, matchingType, data] = s.split(' ');
    return { usage: Number(usage), selector: Number(selector), matchingType: Number(matchingType), data: data! };
  };
  it('a digest matches an issuer only along a valid path from the leaf; the leaf itself is no trust anchor', () => {
    const ta = rec(`2 0 1 ${sha256(der(ca.cert))}`);
    expect(daneMatch([ta], [der(leaf.cert), der(ca.cert)]).matched).toEqual(ta);
    expect(daneMatch([ta], [der(leaf.cert)]).matched).toBeUndefined();
    // a certificate of the other CA placed after the leaf: it did not sign the leaf
    const otherTa = rec(`2 0 1 ${sha256(der(otherCa.cert))}`);
    expect(daneMatch([otherTa], [der(leaf.cert), der(otherCa.cert)]).matched).toBeUndefined();
    expect(daneMatch([rec(`2 0 1 ${sha256(der(leaf.cert))}`)], [der(leaf.cert)]).matched).toBeUndefined();
    // DANE-EE still pins the leaf
    const ee = rec(`3 0 1 ${sha256(der(leaf.cert))}`);
    expect(daneMatch([ee], [der(leaf.cert)]).matched).toEqual(ee);
  });
  it('a full record in DNS is an anchor the server need not send', () => {
    expect(daneMatch([rec(`2 0 0 ${der(ca.cert).toString('hex')}`)], [der(leaf.cert)])).toMatchObject({ anchorFromDns: true });
    expect(daneMatch([rec(`2 1 0 ${spki(ca.cert).toString('hex')}`)], [der(leaf.cert)])).toMatchObject({ anchorFromDns: true });
    expect(daneMatch([rec(`2 1 0 ${spki(otherCa.cert).toString('hex')}`)], [der(leaf.cert)]).matched).toBeUndefined();
    expect(daneMatch([rec('2 1 0 00ff')], [der(leaf.cert)]).matched).toBeUndefined();
  });
});
