// Organizational (registrable) domains from the Public Suffix List, via tldts.
// Used by DMARC's RFC 7489 fallback, alignment, and the domain blacklists
// (which list registrable domains).
import { getDomain, getPublicSuffix } from 'tldts';

/** The registrable domain (public suffix + one label), or null for a public suffix itself. */
export function registrableDomain(name: string): string | null {
  const n = name.trim().replace(/\.$/, '').toLowerCase();
  // an empty label (".example.com", "a..b") is not a domain name: the PSL test vectors expect null
  if (!n || n.split('.').some((l) => !l)) return null;
  return getDomain(n, { allowPrivateDomains: true, extractHostname: false, validateHostname: false }) ?? null;
}

export function publicSuffix(name: string): string | null {
  return getPublicSuffix(name.trim().replace(/\.$/, '').toLowerCase(), { allowPrivateDomains: true, extractHostname: false, validateHostname: false }) ?? null;
}

/** Relaxed alignment (RFC 7489 §3.1): same organizational domain. */
export function relaxedAligned(a: string, b: string): boolean {
  const ra = registrableDomain(a);
  return ra !== null && ra === registrableDomain(b);
}
