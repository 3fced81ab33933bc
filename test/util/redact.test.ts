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
});
