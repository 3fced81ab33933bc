// k= defaults to rsa (RFC 6376 §3.6.1): a key record without k=ed25519 whose p= is
// an Ed25519 key is unusable. `check` reports it as an error, and a message signed
// with that key fails wherever inboxlens verifies it (the content check, placement's
// local re-check, ARC), while the same key with k=ed25519 passes. Before, `check`
// called the key usable (a warning) and the message "passes and aligns".
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dkimSign, sealMessage } from 'mailauth';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { DnsClient } from '../../src/dns/resolver.ts';
import { localAuth } from '../../src/placement/classify.ts';
import { parseDkimKey } from '../../src/dkim/key.ts';
import { validateReport } from '../../src/report/validate.ts';
import { runCli } from '../helpers/cli.ts';
import { dnsArgs, startDns } from '../helpers/dns.ts';
import { runOnly } from '../helpers/run-only.ts';

const D = 'ktype.dkim.example';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
// RFC 8463 §4: the bare 32-byte key
const RAW = publicKey.export({ type: 'spki', format: 'der' }).subarray(12).toString('base64');

let dns: FixtureDns;
let client: DnsClient;
let tmp: string;
beforeAll(async () => {
  dns = await startDns({
    [`nok._domainkey.${D}`]: { TXT: [`v=DKIM1; p=${RAW}`] },
    [`ok._domainkey.${D}`]: { TXT: [`v=DKIM1; k=ed25519; p=${RAW}`] },
  });
  client = new DnsClient({ resolvers: [{ host: '127.0.0.1', port: dns.port }], timeoutMs: 2000, retries: 1 });
  tmp = await mkdtemp(path.join(tmpdir(), 'inboxlens-ktype-'));
});
afterAll(async () => {
  await dns?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const MESSAGE = [`From: News <news@${D}>`, 'To: someone@example.net', 'Subject: k= test', 'Date: Mon, 07 Dec 2026 10:00:00 +0000', `Message-ID: <k1@${D}>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', 'Hello.', ''].join('\r\n');

async function signed(selector: string): Promise<string> {
  const s = await dkimSign(MESSAGE, { signatureData: [{ signingDomain: D, selector, privateKey: PEM, algorithm: 'ed25519-sha256' }] } as any);
  expect(s.errors).toEqual([]);
  expect(s.signatures).toMatch(/a=ed25519-sha256/);
  return s.signatures + MESSAGE;
}

describe('a key record without k= whose p= is an Ed25519 key', () => {
  it('parseDkimKey: unusable', () => {
    expect(parseDkimKey(`v=DKIM1; p=${RAW}`)).toMatchObject({ keyType: 'ed25519', usable: false, ed25519WithoutK: true });
    expect(parseDkimKey(`v=DKIM1; k=ed25519; p=${RAW}`)).toMatchObject({ keyType: 'ed25519', usable: true, ed25519WithoutK: false });
  });

  it('check: dkim.ed25519-without-k, an error, and no dkim.key-found', async () => {
    const { code, doc } = await runOnly(dns, 'dkim', [D, '--no-dkim-guess', '--selector', 'nok,ok']);
    expect(validateReport(doc)).toEqual([]);
    const res = doc.targets[0].checks.find((c: any) => c.check === 'dkim');
    const bad = res.findings.filter((x: any) => x.code === 'dkim.ed25519-without-k');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ severity: 'error', subject: `nok._domainkey.${D}` });
    expect(bad[0].fix).toContain('k=ed25519');
    expect(res.findings.filter((x: any) => x.code === 'dkim.key-found').map((x: any) => x.subject)).toEqual([`ok._domainkey.${D}`]);
    expect(res.data.keys.find((k: any) => k.selector === 'nok')).toMatchObject({ usable: false, keyType: 'ed25519' });
    expect(res.status).toBe('fail');
    expect(code).not.toBe(0);
  });

  it("placement's local re-check: the signature does not pass (the k=ed25519 one does)", async () => {
    const bad = await localAuth(Buffer.from(await signed('nok')), client);
    expect(bad.dkim).toHaveLength(1);
    expect(bad.dkim[0]).toMatchObject({ result: 'permerror', selector: 'nok' });
    expect(bad.dkim[0]!.comment).toMatch(/k=rsa/);
    const good = await localAuth(Buffer.from(await signed('ok')), client);
    expect(good.dkim[0]).toMatchObject({ result: 'pass', selector: 'ok' });
  });

  it('content check: content.dkim-fail, not "passes and aligns"', async () => {
    const file = path.join(tmp, 'nok.eml');
    await writeFile(file, await signed('nok'));
    const r = await runCli(['content', file, '--json', ...dnsArgs(dns, '1500ms')]);
    const doc = r.json();
    expect(validateReport(doc)).toEqual([]);
    const codes = doc.targets[0].checks[0].findings.map((x: any) => x.code);
    expect(codes).toContain('content.dkim-fail');
    expect(codes).not.toContain('content.dkim-aligned');
    expect(doc.targets[0].checks[0].data.dkim[0]).toMatchObject({ result: 'permerror', selector: 'nok' });
  });

  it('ARC: a chain sealed with that key fails (sealed with k=ed25519, it passes)', async () => {
    const seal = async (selector: string) => {
      const headers = await sealMessage(Buffer.from(MESSAGE), {
        signingDomain: D, selector, privateKey: PEM, algorithm: 'ed25519-sha256', authResults: `mx.${D}; spf=pass`, cv: 'none',
      } as any);
      expect(headers.toString()).toMatch(/^ARC-Seal:/);
      return Buffer.concat([headers, Buffer.from(MESSAGE)]);
    };
    const bad = await localAuth(await seal('nok'), client);
    expect(bad.arc?.result).toBe('fail');
    const good = await localAuth(await seal('ok'), client);
    expect(good.arc).toMatchObject({ result: 'pass' });
  });
});
