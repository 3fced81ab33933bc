// DNSBL query names (RFC 5782 §2.1 reversed IPv4 octets, §2.4 IPv6 nibbles,
// §2.3 domain names) and the targets they are built from: IPs, IPv4 ranges up
// to a /24 expanded, registrable domains.
import ipaddr from 'ipaddr.js';
import { domainToASCII } from 'node:url';
import { registrableDomain } from '../dns/orgdomain.ts';

export type TargetKind = 'ip4' | 'ip6' | 'domain';

/** The widest IPv4 range that is expanded address by address. */
export const MAX_EXPANDED_PREFIX = 24;

/** An address in canonical form; IPv4-mapped IPv6 (::ffff:192.0.2.1) becomes IPv4. */
export function canonicalIp(ip: string): { ip: string; kind: 'ip4' | 'ip6' } | null {
  if (!ipaddr.isValid(ip)) return null;
  let a = ipaddr.parse(ip);
  if (a.kind() === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(ip)) return null;
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  return a.kind() === 'ipv4' ? { ip: a.toString(), kind: 'ip4' } : { ip: a.toString(), kind: 'ip6' };
}

/** 192.0.2.10 → 10.2.0.192; 2001:db8::1 → 1.0.0.0.…8.b.d.0.1.0.0.2 (32 nibbles). */
export function reverseIp(ip: string): string {
  const a = ipaddr.parse(ip);
  if (a.kind() === 'ipv4') return (a as ipaddr.IPv4).octets.slice().reverse().join('.');
  const hex = (a as ipaddr.IPv6).toByteArray().map((b) => b.toString(16).padStart(2, '0')).join('');
  return [...hex].reverse().join('.');
}

/** The name to look up: `<reversed ip | domain>.<zone suffix>`. */
export function queryName(item: string, kind: TargetKind, suffix: string): string {
  return `${kind === 'domain' ? item : reverseIp(item)}.${suffix}`;
}

export type RangeParse =
  | { ok: true; kind: 'ip4' | 'ip6'; ips: string[]; prefix: number; network: string }
  | { ok: false; reason: 'invalid' | 'too-large' | 'ipv6-prefix'; message: string };

/**
 * A CIDR range (or a bare address) → the addresses to query. IPv4 ranges up to a
 * /24 are expanded (a /24 is 256 queries per zone: wider needs a budget nobody
 * wants); IPv6 prefixes are not expanded (2^64 addresses in a /64).
 */
export function expandRange(spec: string): RangeParse {
  const s = spec.trim();
  if (!s.includes('/')) {
    const c = canonicalIp(s);
    return c ? { ok: true, kind: c.kind, ips: [c.ip], prefix: c.kind === 'ip4' ? 32 : 128, network: c.ip } : { ok: false, reason: 'invalid', message: `'${s}' is not an IPv4 or IPv6 address` };
  }
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  let prefix: number;
  try {
    [addr, prefix] = ipaddr.parseCIDR(s);
  } catch {
    return { ok: false, reason: 'invalid', message: `'${s}' is not a CIDR range (e.g. 192.0.2.0/28)` };
  }
  if (addr.kind() === 'ipv6') {
    if (prefix === 128) return { ok: true, kind: 'ip6', ips: [addr.toString()], prefix, network: addr.toString() };
    return { ok: false, reason: 'ipv6-prefix', message: `'${s}' is an IPv6 prefix: blacklists list single IPv6 addresses and a /${prefix} is too many to query; give the addresses you send from` };
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(s.split('/')[0]!)) return { ok: false, reason: 'invalid', message: `'${s}' is not a CIDR range (e.g. 192.0.2.0/28)` };
  if (prefix < MAX_EXPANDED_PREFIX) {
    return { ok: false, reason: 'too-large', message: `'${s}' is a /${prefix}: ranges larger than /${MAX_EXPANDED_PREFIX} (${2 ** (32 - prefix)} addresses) are not expanded; give a /${MAX_EXPANDED_PREFIX} or smaller, or the addresses you send from` };
  }
  const net = ipaddr.IPv4.networkAddressFromCIDR(s);
  const base = net.toByteArray().reduce((n, b) => n * 256 + b, 0);
  const ips: string[] = [];
  for (let i = 0; i < 2 ** (32 - prefix); i++) {
    const v = base + i;
    ips.push([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.'));
  }
  return { ok: true, kind: 'ip4', ips, prefix, network: `${net.toString()}/${prefix}` };
}

/**
 * A host name as a domain list wants it: A-labels (IDNA), registrable domain
 * (URIBL and SURBL list registrable domains, not host names). Null when it has
 * no registrable part (a bare public suffix) or is not a valid name.
 */
export function listDomain(host: string): string | null {
  const h = host.trim().replace(/\.$/, '').toLowerCase();
  if (!h || canonicalIp(h.replace(/^\[|\]$/g, ''))) return null;
  const ascii = domainToASCII(h);
  if (!ascii || !ascii.includes('.')) return null;
  return registrableDomain(ascii);
}
