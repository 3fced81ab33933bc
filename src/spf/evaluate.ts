// check_host() (RFC 7208 §4) for one connection: the client IP, the envelope sender
// with its local part (%{l}, %{s} and %{o} expand from it), and the HELO name, through
// mailauth in strict mode (it passes the OpenSPF suite, test/conformance-spf) and the
// run's resolver. A null sender (<>) is checked as postmaster@HELO (RFC 7208 §2.4).
import { spf as mailauthSpf } from 'mailauth/lib/spf/index.js';
import type { DnsClient } from '../dns/resolver.ts';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

export interface SpfCheckHost {
  ip: string;
  /** the identity checked: the envelope sender, or postmaster@HELO for a null sender */
  sender: string;
  /** the domain SPF was evaluated at */
  domain: string;
  helo?: string;
  result: SpfResult;
  comment?: string;
  lookups?: number;
  voidLookups?: number;
}

export async function checkHost(dns: DnsClient, o: { ip: string; sender?: string; helo?: string }): Promise<SpfCheckHost> {
  const helo = o.helo?.replace(/^\[|\]$/g, '');
  const sender = o.sender && o.sender.includes('@') ? o.sender : `postmaster@${o.sender || helo || 'unknown'}`;
  const r = await mailauthSpf({ sender, ip: o.ip, helo: o.helo, mta: 'inboxlens', resolver: dns.mailauthResolver, strict: true });
  const lookups = (r as { lookups?: { count?: number; void?: number } }).lookups;
  return {
    ip: o.ip,
    sender,
    domain: sender.slice(sender.lastIndexOf('@') + 1).toLowerCase(),
    ...(o.helo ? { helo: o.helo } : {}),
    result: r.status.result as SpfResult,
    ...(r.status.comment ? { comment: String(r.status.comment).replace(/^inboxlens: /, '') } : {}),
    ...(lookups?.count !== undefined ? { lookups: lookups.count } : {}),
    ...(lookups?.void !== undefined ? { voidLookups: lookups.void } : {}),
  };
}
