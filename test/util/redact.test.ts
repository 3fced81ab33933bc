// Secrets masked in every form they travel in: as typed, IMAP-quoted, JSON-escaped,
// URL-encoded, base64 alone and inside the SASL blobs that carry the user too.
import { describe, expect, it } from 'vitest';
import { redact, registerCredentials, registerSecret } from '../../src/util/redact.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('redact', () => {
  it('masks the encoded forms of a registered secret', () => {
    const p = 'q"u\\ote-secret 9';
    registerSecret(p);
    for (const form of [p, 'q\\"u\\\\ote-secret 9', JSON.stringify({ e: p }).slice(6, -2), encodeURIComponent(p), b64(p)]) {
      expect(redact(`server said: ${form}!`)).toBe('server said: [redacted]!');
    }
  });

  it('masks the SASL blobs of a user and secret: PLAIN with and without authzid, XOAUTH2', () => {
    registerCredentials('alice@example.com', 'S3cret-pass');
    for (const blob of ['\0alice@example.com\0S3cret-pass', 'alice@example.com\0alice@example.com\0S3cret-pass', 'user=alice@example.com\x01auth=Bearer S3cret-pass\x01\x01']) {
      expect(redact(`NO ${b64(blob)} refused`)).toBe('NO [redacted] refused');
    }
    // the user alone is not a secret
    expect(redact('login as alice@example.com')).toBe('login as alice@example.com');
  });

  it('with thousands of secrets (one per seed), masks in one pass over the text: every form, overlaps whole, in time linear in the text', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => `seed-pass-${i}-${(i * 7919).toString(36)}`);
    for (const [i, p] of many.entries()) registerCredentials(`s${i}@example.com`, p);
    expect(redact(`a ${many[0]} b ${many[19_999]} c`)).toBe('a [redacted] b [redacted] c');
    expect(redact(`NO ${b64(`\0s7@example.com\0${many[7]}`)} refused; ${encodeURIComponent(many[8]!)}`)).toBe('NO [redacted] refused; [redacted]');
    // a secret that another contains, and two that overlap: masked whole, nothing of either left
    registerSecret('overlap-abcdef');
    registerSecret('abcdef-tail-xyz');
    expect(redact('x overlap-abcdef-tail-xyz y')).toBe('x [redacted] y');
    expect(redact('nothing here, and short ab')).toBe('nothing here, and short ab');
    expect(redact(`${many[1]}${many[2]}`)).toBe('[redacted][redacted]');
    // 1 MB of output against 180,000 registered forms
    const big = `${'row: inbox ok; '.repeat(70_000)}${many[123]}`;
    const t0 = performance.now();
    expect(redact(big).endsWith('ok; [redacted]')).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1500);
  });
});
