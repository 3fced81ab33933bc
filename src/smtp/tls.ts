// What a TLS session to a mail server tells us, and how to judge it: protocol and
// cipher, the certificate chain (trust, expiry, name) and DANE TLSA matching
// (RFC 7672). The probe accepts anything so it can see it; the judging is here.
import crypto from 'node:crypto';
import tls from 'node:tls';

export interface CertInfo {
  subject: string;
  /** DNS names of the subjectAltName extension */
  altNames: string[];
  issuer: string;
  validFrom: string;
  validTo: string;
  /** whole days until validTo (negative once expired) */
  daysLeft: number;
  fingerprint256: string;
  selfSigned: boolean;
}

export interface TlsInfo {
  protocol: string;
  cipher: { name: string; standardName?: string; version?: string };
  /** the chain verifies against the trusted roots (Node's store plus any --smtp-ca) */
  authorized: boolean;
  authorizationError?: string;
  /** the certificate covers the host name we connected for (RFC 6125 via tls.checkServerIdentity) */
  nameMatch: boolean;
  nameError?: string;
  cert?: CertInfo;
  /** the issuers the server sent after the leaf, in order */
  chain: CertInfo[];
}

const DAY = 86_400_000;

function dn(x: Record<string, string | string[]> | undefined): string {
  if (!x) return '';
  const cn = x.CN;
  if (cn) return Array.isArray(cn) ? cn.join(', ') : cn;
  return Object.entries(x).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(', ');
}

function certInfo(c: tls.PeerCertificate, now: number): CertInfo {
  const validTo = new Date(c.valid_to);
  const altNames = (c.subjectaltname ?? '').split(/,\s*/).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
  return {
    subject: dn(c.subject as unknown as Record<string, string>),
    altNames,
    issuer: dn(c.issuer as unknown as Record<string, string>),
    validFrom: new Date(c.valid_from).toISOString(),
    validTo: validTo.toISOString(),
    daysLeft: Math.floor((validTo.getTime() - now) / DAY),
    fingerprint256: c.fingerprint256,
    selfSigned: c.fingerprint256 === (c as tls.DetailedPeerCertificate).issuerCertificate?.fingerprint256 || JSON.stringify(c.subject) === JSON.stringify(c.issuer),
  };
}

/** Read protocol, cipher and certificates off an established TLS socket. */
export function describeTls(sock: tls.TLSSocket, host: string, now = Date.now()): { info: TlsInfo; der: Buffer[] } {
  const cipher = sock.getCipher();
  const peer = sock.getPeerCertificate(true);
  const info: TlsInfo = {
    protocol: sock.getProtocol() ?? 'unknown',
    cipher: { name: cipher.name, ...(cipher.standardName ? { standardName: cipher.standardName } : {}), ...(cipher.version ? { version: cipher.version } : {}) },
    authorized: sock.authorized,
    ...(sock.authorizationError ? { authorizationError: String(sock.authorizationError) } : {}),
    nameMatch: false,
    chain: [],
  };
  const der: Buffer[] = [];
  if (peer && peer.raw) {
    info.cert = certInfo(peer, now);
    der.push(peer.raw);
    const err = tls.checkServerIdentity(host, peer);
    info.nameMatch = !err;
    if (err) info.nameError = err.message;
    // walk the chain the server sent; the root points at itself
    let c = peer.issuerCertificate;
    const seen = new Set([peer.fingerprint256]);
    while (c && c.raw && !seen.has(c.fingerprint256) && der.length < 10) {
      seen.add(c.fingerprint256);
      info.chain.push(certInfo(c, now));
      der.push(c.raw);
      c = c.issuerCertificate;
    }
  } else {
    info.nameError = 'the server sent no certificate';
  }
  return { info, der };
}

/** TLS versions below 1.2 (RFC 8996 deprecates TLS 1.0 and 1.1). */
export function isOldTls(protocol: string): boolean {
  return protocol === 'TLSv1' || protocol === 'TLSv1.1' || protocol === 'SSLv3';
}

export interface CertVerdict {
  /** problems that make the certificate fail PKIX validation for this host */
  problems: string[];
  expired: boolean;
  /** valid now but expires within `soonDays` */
  expiringSoon: boolean;
}

export function judgeCert(info: TlsInfo, soonDays = 14): CertVerdict {
  const problems: string[] = [];
  const c = info.cert;
  if (!c) return { problems: ['the server presented no certificate'], expired: false, expiringSoon: false };
  const expired = c.daysLeft < 0 || info.authorizationError === 'CERT_HAS_EXPIRED';
  if (expired) problems.push(`it expired on ${c.validTo.slice(0, 10)}`);
  if (!info.authorized && info.authorizationError && info.authorizationError !== 'CERT_HAS_EXPIRED') {
    problems.push(`the chain does not verify: ${info.authorizationError}${c.selfSigned ? ' (self-signed)' : ''}`);
  }
  if (!info.nameMatch) problems.push(info.nameError ?? 'it does not cover the host name');
  return { problems, expired, expiringSoon: !expired && c.daysLeft <= soonDays };
}

export interface TlsaRecord {
  usage: number;
  selector: number;
  matchingType: number;
  data: string;
}

export interface DaneResult {
  /** usages 2 (DANE-TA) and 3 (DANE-EE); RFC 7672 §3.1.3: 0 and 1 are unusable for SMTP */
  usable: TlsaRecord[];
  matched?: TlsaRecord;
  /** for a DANE-TA match: the trust anchor came from DNS (a full `2 0 0` certificate or `2 1 0` key), not from the chain */
  anchorFromDns?: boolean;
}

function selected(der: Buffer, selector: number): Buffer | undefined {
  if (selector === 0) return der;
  if (selector === 1) return Buffer.from(new crypto.X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' }));
  return undefined;
}

function matches(rec: TlsaRecord, der: Buffer): boolean {
  const sel = selected(der, rec.selector);
  if (!sel) return false;
  const want = rec.data.toLowerCase();
  switch (rec.matchingType) {
    case 0:
      return sel.toString('hex') === want;
    case 1:
      return crypto.createHash('sha256').update(sel).digest('hex') === want;
    case 2:
      return crypto.createHash('sha512').update(sel).digest('hex') === want;
    default:
      return false;
  }
}

/** `child` names `parent` as its issuer and carries its signature (OpenSSL's X509_check_issued, then the signature). */
function signedBy(child: crypto.X509Certificate, parentKey: crypto.KeyObject, parent?: crypto.X509Certificate): boolean {
  try {
    if (parent && !child.checkIssued(parent)) return false;
    return child.verify(parentKey);
  } catch {
    return false;
  }
}

/** Each certificate of der[0..upTo] is signed by the next one: the path from the leaf up to der[upTo] holds. */
function pathHolds(certs: crypto.X509Certificate[], upTo: number): boolean {
  for (let i = 0; i < upTo; i++) if (!signedBy(certs[i]!, certs[i + 1]!.publicKey, certs[i + 1])) return false;
  return true;
}

/** The trust anchor a full DANE-TA record carries: a certificate (`2 0 0`) or a public key (`2 1 0`). */
function anchorOf(rec: TlsaRecord): { key: crypto.KeyObject; cert?: crypto.X509Certificate } | undefined {
  if (rec.usage !== 2 || rec.matchingType !== 0) return undefined;
  const bytes = Buffer.from(rec.data, 'hex');
  try {
    if (rec.selector === 0) {
      const cert = new crypto.X509Certificate(bytes);
      return { key: cert.publicKey, cert };
    }
    if (rec.selector === 1) return { key: crypto.createPublicKey({ key: bytes, format: 'der', type: 'spki' }) };
  } catch {
    // not a certificate or key: matches nothing
  }
  return undefined;
}

/**
 * Match TLSA records against the certificates the server presented (leaf first,
 * each issued by the next; exactly what it sent, never completed from a local trust
 * store). RFC 7672 §3.1, RFC 7671 §5.2:
 * - DANE-EE (3): the leaf.
 * - DANE-TA (2) with a digest (`2 x 1`, `2 x 2`): a certificate the server sent
 *   above its leaf, with a valid path from the leaf up to it (§5.2.2: the server
 *   must include the trust anchor in its chain).
 * - DANE-TA with the full anchor in DNS (`2 0 0` certificate, `2 1 0` key): as
 *   above, or the top certificate sent is signed by that anchor (§5.2.2, §5.2.3).
 */
export function daneMatch(records: TlsaRecord[], presented: Buffer[]): DaneResult {
  const usable = records.filter((r) => r.usage === 2 || r.usage === 3);
  let certs: crypto.X509Certificate[];
  try {
    certs = presented.map((d) => new crypto.X509Certificate(d));
  } catch {
    // an unparsable certificate matches nothing
    return { usable };
  }
  for (const r of usable) {
    try {
      if (r.usage === 3) {
        if (presented.length && matches(r, presented[0]!)) return { usable, matched: r };
        continue;
      }
      for (let i = 1; i < presented.length; i++) {
        if (matches(r, presented[i]!) && pathHolds(certs, i)) return { usable, matched: r };
      }
      const anchor = anchorOf(r);
      const top = certs.length - 1;
      if (anchor && top >= 0 && pathHolds(certs, top) && signedBy(certs[top]!, anchor.key, anchor.cert)) return { usable, matched: r, anchorFromDns: true };
    } catch {
      // a record whose data does not parse matches nothing
    }
  }
  return { usable };
}

/** The TLSA record that pins a certificate: "3 1 1 <sha256 of SPKI>" (what most DANE MX hosts publish). */
export function tlsaFor(certPem: string): string {
  const x = new crypto.X509Certificate(certPem);
  const spki = x.publicKey.export({ type: 'spki', format: 'der' });
  return `3 1 1 ${crypto.createHash('sha256').update(spki).digest('hex')}`;
}
