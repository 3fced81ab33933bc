// Seed and submission host names resolve through the run's DNS client (--resolver),
// like every other name inboxlens looks up, instead of the system resolver: the
// connection goes to the address found, and TLS still names the host (SNI and the
// certificate check use `servername`). A name DNS says has no address is then
// looked up as the system would (getaddrinfo: /etc/hosts, mDNS, …), so a seed host
// that exists only in /etc/hosts still works; a DNS lookup that failed stays a
// failure. `localhost` never goes to DNS (RFC 6761 §6.3).
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { addresses, describe, isFailure, type DnsClient } from '../dns/resolver.ts';
import type { Access } from './types.ts';

export class HostResolveError extends Error {}

/** The address to connect to for `host`: itself when it is an IP, else its first A (then AAAA) record. */
export async function resolveHost(host: string, dns: DnsClient): Promise<string> {
  if (net.isIP(host)) return host;
  if (/^(.+\.)?localhost\.?$/i.test(host)) return '127.0.0.1';
  const [a, aaaa] = await Promise.all([dns.query(host, 'A'), dns.query(host, 'AAAA')]);
  const found = [...addresses(a), ...addresses(aaaa)];
  if (found.length) return found[0]!;
  if (isFailure(a) || isFailure(aaaa)) throw new HostResolveError(`${host} could not be resolved: ${describe(isFailure(a) ? a : aaaa)}`);
  // not in DNS: the system's own names (/etc/hosts) may still know it
  const local = await lookup(host).catch(() => undefined);
  if (local?.address) return local.address;
  throw new HostResolveError(`${host} has no address (no A or AAAA record, and not in /etc/hosts)`);
}

/** The seed's access with the host replaced by its address and the name kept for TLS; unchanged without a DNS client. */
export async function resolveAccess(access: Access, dns: DnsClient | undefined): Promise<Access> {
  if (!dns || net.isIP(access.host)) return access;
  const ip = await resolveHost(access.host, dns);
  return { ...access, host: ip, servername: access.servername ?? access.host };
}
