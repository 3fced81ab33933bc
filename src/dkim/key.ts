// Parsing a DKIM key record (RFC 6376 §3.6.1, RFC 8463 for ed25519) into what a
// verifier would make of it: the key type and size, revoked/testing flags, and
// every syntax problem, graded by whether a verifier can still use the key.
// The tag-list grammar comes from mailauth's parser; the key data is decoded
// with node:crypto, so the reported size is the real modulus length.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// mailauth is CommonJS without types for this helper
const { parseTagList } = require('mailauth/lib/parse-dkim-headers.js') as {
  parseTagList(value: string, opts?: { strict?: boolean }): { tags: { name: string; value: string }[]; syntaxErrors: string[] };
};

export interface KeyProblem {
  /** error: no verifier can use the key; warn: lenient verifiers accept it, strict ones do not */
  severity: 'error' | 'warn';
  message: string;
}

export interface DkimKeyInfo {
  /** the record reads as a DKIM key record (v=DKIM1 or a p= tag) */
  isDkim: boolean;
  /** a verifier can verify signatures with it (not revoked, decodable, meant for email) */
  usable: boolean;
  problems: KeyProblem[];
  keyType: 'rsa' | 'ed25519' | null;
  /** RSA modulus length; 256 for ed25519 */
  bits: number | null;
  revoked: boolean;
  /** t=y */
  testing: boolean;
  /** t=s: i= must not be a subdomain of d= */
  strictSubdomains: boolean;
  /** h= list, null when absent (every algorithm allowed) */
  hashes: string[] | null;
  /** s= list, null when absent (every service) */
  services: string[] | null;
  notForEmail: boolean;
  /** h= allows only sha1, which RFC 8301 forbids for signing and verifying */
  sha1Only: boolean;
  /** p= is an Ed25519 key but the record has no k=, which means k=rsa (RFC 6376 §3.6.1): unusable */
  ed25519WithoutK: boolean;
  tags: Record<string, string>;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
// SubjectPublicKeyInfo prefix of a raw ed25519 key (RFC 8410)
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function splitList(v: string | undefined): string[] {
  return (v ?? '').split(':').map((s) => s.trim().toLowerCase()).filter(Boolean);
}

/** A bare RSAPublicKey (SEQUENCE of two INTEGERs) rather than a SubjectPublicKeyInfo. */
function isBareRsa(der: Buffer): boolean {
  if (der.length < 3 || der[0] !== 0x30) return false;
  const header = der[1]! < 0x80 ? 2 : 2 + (der[1]! & 0x7f);
  return der[header] === 0x02;
}

function decodeKey(raw: Buffer): KeyObject | null {
  const attempts: Parameters<typeof createPublicKey>[0][] = [];
  if (raw.length === 32) attempts.push({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  else if (isBareRsa(raw)) attempts.push({ key: raw, format: 'der', type: 'pkcs1' });
  else attempts.push({ key: raw, format: 'der', type: 'spki' });
  for (const a of attempts) {
    try {
      return createPublicKey(a);
    } catch {
      /* not this encoding */
    }
  }
  return null;
}

/** Parse one DKIM key record (the TXT strings already joined). Never throws. */
export function parseDkimKey(record: string): DkimKeyInfo {
  const info: DkimKeyInfo = {
    isDkim: false, usable: false, problems: [], keyType: null, bits: null, revoked: false, testing: false,
    strictSubdomains: false, hashes: null, services: null, notForEmail: false, sha1Only: false, ed25519WithoutK: false, tags: {},
  };
  const text = String(record ?? '');
  let parsed: { tags: { name: string; value: string }[]; syntaxErrors: string[] };
  try {
    parsed = parseTagList(text, { strict: true });
  } catch (e) {
    info.problems.push({ severity: 'error', message: `not a tag-list: ${(e as Error).message}` });
    return info;
  }
  for (const t of parsed.tags) if (!(t.name in info.tags)) info.tags[t.name] = t.value;
  const tags = info.tags;
  const hasV = 'v' in tags;
  const hasP = 'p' in tags;
  info.isDkim = hasV ? /^dkim1$/i.test(tags.v!.trim()) || /dkim/i.test(tags.v!) : hasP;
  if (!info.isDkim) return info;

  for (const s of parsed.syntaxErrors) {
    // RFC 6376 §3.2: a duplicate tag invalidates the whole tag-list
    info.problems.push({ severity: /duplicate/.test(s) ? 'error' : 'warn', message: `tag-list syntax: ${s}` });
  }
  for (const name of Object.keys(tags)) {
    if (name !== name.toLowerCase() && ['v', 'h', 'k', 'n', 'p', 's', 't'].includes(name.toLowerCase())) {
      info.problems.push({ severity: 'warn', message: `tag names are case-sensitive: '${name}=' is not '${name.toLowerCase()}=' to a strict verifier` });
    }
  }

  if (hasV) {
    const v = tags.v!;
    if (v.trim().toLowerCase() !== 'dkim1') {
      info.problems.push({ severity: 'error', message: `v=${JSON.stringify(v)} is not "DKIM1": verifiers ignore this key` });
    } else if (v !== 'DKIM1') {
      info.problems.push({ severity: 'warn', message: `v=${v} must be written exactly "DKIM1"` });
    } else if (parsed.tags[0]?.name !== 'v') {
      info.problems.push({ severity: 'warn', message: 'v=DKIM1 must be the first tag of the record' });
    }
  }

  const k = (tags.k ?? 'rsa').trim().toLowerCase();
  if (k !== 'rsa' && k !== 'ed25519') {
    info.problems.push({ severity: 'error', message: `k=${tags.k} is not a key type verifiers know (rsa or ed25519): they ignore this key` });
  }

  info.hashes = 'h' in tags ? splitList(tags.h) : null;
  if (info.hashes) {
    const known = info.hashes.filter((h) => h === 'sha1' || h === 'sha256');
    if (!known.length) info.problems.push({ severity: 'error', message: `h=${tags.h} allows no hash algorithm verifiers support (sha256)` });
    else if (!known.includes('sha256')) info.sha1Only = true;
  }
  info.services = 's' in tags ? splitList(tags.s) : null;
  if (info.services && !info.services.includes('email') && !info.services.includes('*')) info.notForEmail = true;
  const flags = splitList(tags.t);
  info.testing = flags.includes('y');
  info.strictSubdomains = flags.includes('s');

  if (!hasP) {
    info.problems.push({ severity: 'error', message: 'the record has no p= tag (the public key): it is not a usable DKIM key' });
    return info;
  }
  const p = tags.p!.replace(/\s+/g, '');
  if (!p) {
    info.revoked = true;
    return info;
  }
  if (!B64.test(p)) {
    info.problems.push({ severity: 'error', message: 'p= is not valid base64' });
    return info;
  }
  const raw = Buffer.from(p, 'base64');
  const key = decodeKey(raw);
  if (!key) {
    info.problems.push({ severity: 'error', message: `p= does not decode to an RSA or ed25519 public key (${raw.length} bytes: truncated or mangled?)` });
    return info;
  }
  const actual = key.asymmetricKeyType;
  if (actual !== 'rsa' && actual !== 'ed25519') {
    info.problems.push({ severity: 'error', message: `p= holds a ${actual} key; DKIM keys are RSA or ed25519` });
    return info;
  }
  info.keyType = actual;
  info.bits = actual === 'rsa' ? (key.asymmetricKeyDetails?.modulusLength ?? null) : 256;
  if (actual === 'ed25519' && !('k' in tags)) {
    // k= defaults to rsa (RFC 6376 §3.6.1): a verifier reads p= as an RSA key, which it
    // is not (dkimpy fails the signature; only lenient verifiers such as mailauth's guess the type)
    info.ed25519WithoutK = true;
  } else if ((k === 'rsa' || k === 'ed25519') && actual !== k) {
    info.problems.push({ severity: 'error', message: `p= holds an ${actual} key but the record says k=${tags.k}: write k=${actual}` });
  }
  if (actual === 'ed25519' && raw.length !== 32) {
    // RFC 8463 §4 publishes the bare 32-byte key, not a DER structure
    info.problems.push({ severity: 'warn', message: 'an ed25519 key must be published as the bare 32-byte key (RFC 8463 §4), not wrapped in SubjectPublicKeyInfo' });
  }
  // RFC 8301 §3.2: verifiers must not accept RSA keys under 1024 bits
  const tooShort = actual === 'rsa' && (info.bits ?? 0) < 1024;
  info.usable = !tooShort && !info.ed25519WithoutK && !info.problems.some((x) => x.severity === 'error') && !info.notForEmail && !info.sha1Only && !(info.hashes && !info.hashes.some((h) => h === 'sha1' || h === 'sha256'));
  return info;
}
