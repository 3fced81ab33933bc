// Our verdicts on a found copy (src/placement/verdicts.ts) through a real DNS
// server on loopback: a receiver that failed a signature that verifies now (the
// disagreement and its reading in the seed row's "why"), and a DNS that fails every
// lookup — the verdicts are unknown (temperror, the reason kept), never a pass and
// never a thrown error. The limiter keeps at most n verifications running.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dkimSign } from 'mailauth';
import type { FixtureDns } from '../../src/dns/fixture-server.ts';
import { DnsClient } from '../../src/dns/resolver.ts';
import { copyVerdicts, limiter, whyLine } from '../../src/placement/verdicts.ts';
import { receiverAuth } from '../../src/placement/classify.ts';
import type { PlacementRow } from '../../src/placement/types.ts';
import { startDns } from '../helpers/dns.ts';

const D = 'verdicts.placement-test.example';
const IP = '192.0.2.44';
const RECEIVER = { provider: 'generic' as const, authservIds: ['mx.receiver.example'] };
let dns: FixtureDns;
let dead: FixtureDns;
let PEM: string;
let PUB: string;

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  PUB = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  dns = await startDns({
    [D]: { TXT: [`v=spf1 ip4:${IP} -all`] },
    [`_dmarc.${D}`]: { TXT: ['v=DMARC1; p=reject'] },
    [`s1._domainkey.${D}`]: { TXT: [`v=DKIM1; k=rsa; p=${PUB}`] },
  }, { zonesDir: null });
  // the same names, every answer a SERVFAIL
  dead = await startDns({ [D]: { behavior: 'servfail' }, [`_dmarc.${D}`]: { behavior: 'servfail' }, [`s1._domainkey.${D}`]: { behavior: 'servfail' } }, { zonesDir: null });
});
afterAll(async () => {
  await dns?.stop();
  await dead?.stop();
});

const client = (f: FixtureDns) => new DnsClient({ resolvers: [{ host: '127.0.0.1', port: f.port }], timeoutMs: 1500, retries: 1 });

/** A signed copy as the receiver stored it: its Authentication-Results (saying dkim=fail) and Received on top. */
async function copy(): Promise<Buffer> {
  const msg = [`From: News <news@${D}>`, 'To: seed@receiver.example', 'Subject: why', 'Date: Mon, 07 Dec 2026 10:00:00 +0000', `Message-ID: <w1@${D}>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', 'Hello.', ''].join('\r\n');
  const s = await dkimSign(msg, { signatureData: [{ signingDomain: D, selector: 's1', privateKey: PEM }] } as any);
  expect(s.errors).toEqual([]);
  const top = [
    `Return-Path: <bounces@${D}>`,
    `Authentication-Results: mx.receiver.example; spf=pass smtp.mailfrom=bounces@${D}; dkim=fail (body hash did not verify) header.d=${D} header.s=s1; dmarc=fail header.from=${D}`,
    `Received: from out.${D} (out.${D} [${IP}]) by mx.receiver.example with ESMTPS id abc; Mon, 07 Dec 2026 10:00:01 +0000`,
  ].join('\r\n');
  return Buffer.from(`${top}\r\n${s.signatures}${msg}`);
}

describe('our verdicts on a found copy', () => {
  it('verifies SPF for the hop IP and Return-Path, the signature and its key, DMARC; names the disagreement in the why', async () => {
    const src = await copy();
    const ra = receiverAuth(src, RECEIVER);
    expect(ra?.dkim[0]).toMatchObject({ result: 'fail', domain: D });
    const ours = await copyVerdicts(src, client(dns), RECEIVER, ra);
    expect(ours.spf).toMatchObject({ result: 'pass', ip: IP, sender: `bounces@${D}`, domain: D });
    expect(ours.dkim).toEqual([expect.objectContaining({ domain: D, selector: 's1', result: 'pass', aligned: true, key: expect.objectContaining({ state: 'found', keyType: 'rsa', bits: 2048 }) })]);
    expect(ours.dmarc).toMatchObject({ result: 'pass', fromDomain: D });
    expect(ours.disagreements?.map((d) => [d.method, d.receiver, d.inboxlens])).toEqual([['dkim', 'fail', 'pass'], ['dmarc', 'fail', 'pass']]);
    const row: PlacementRow = { seed: 'seed@receiver.example', provider: 'generic', protocol: 'imap', placement: 'spam', receiverAuth: ra!, ours };
    expect(whyLine(row)).toBe('spam · receiver: spf=pass dkim=fail(body hash) dmarc=fail · ours: spf=pass dkim=pass dmarc=pass — the receiver failed a signature that verifies now: the copy changed in transit, or a key lookup failed there?');
  });

  it('a DNS that fails every lookup: unknown parts, never a pass, never a throw', async () => {
    const src = await copy();
    const ra = receiverAuth(src, RECEIVER);
    const ours = await copyVerdicts(src, client(dead), RECEIVER, ra);
    expect(ours.spf?.result).toBe('temperror');
    expect(ours.dkim.map((d) => d.result)).toEqual(['temperror']);
    expect(ours.dmarc?.result ?? 'temperror').not.toBe('pass');
    const why = whyLine({ seed: 's', provider: 'generic', protocol: 'imap', placement: 'spam', receiverAuth: ra!, ours })!;
    expect(why).toMatch(/ours: spf=temperror dkim=temperror dmarc=\S+/);
    expect(why).not.toMatch(/ours:[^—]*=pass/);
  });

  it('a copy that is not a message at all: the verdicts say why, nothing thrown', async () => {
    const ours = await copyVerdicts(Buffer.from('not a message'), client(dns), RECEIVER, undefined);
    expect(ours.dkim).toEqual([]);
    expect(ours.spf).toBeUndefined();
    expect(ours.spfUnknown).toMatch(/no sending IP|not evaluated/);
  });

  it('the limiter runs at most n at once and runs them all', async () => {
    const limit = limiter(3);
    let active = 0;
    let peak = 0;
    const done = await Promise.all(Array.from({ length: 12 }, (_, i) => limit(async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return i;
    })));
    expect(done).toEqual([...Array(12).keys()]);
    expect(peak).toBe(3);
  });
});
