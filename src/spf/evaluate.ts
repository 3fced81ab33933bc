// check_host() for one connecting IP (RFC 7208 §4): mailauth's evaluator in strict
// mode (RFC 7208 exactly; it passes the whole OpenSPF suite), reading DNS through
// the run's DnsClient, with the one reading of the RFC where inboxlens decides
// differently from mailauth: an MX answer of more than 10 names makes the mx term
// a permerror whatever the IP (RFC 7208 §4.6.4; docs/spf.md says why), as pyspf
// and the static spf.mx-too-many-addresses finding have it. Never throws.
import { spf as mailauthSpf } from 'mailauth/lib/spf/index.js';
import { MX_ADDRESS_LIMIT } from './walker.ts';
import type { DnsClient } from '../dns/resolver.ts';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

/** mailauth's resolver interface: answers, or an Error with a Node DNS code (ENOTFOUND, ENODATA…) */
// any: the answers vary by type (address strings, MX objects, TXT string lists), as mailauth takes them
export type SpfResolver = (name: string, type: string) => Promise<any[]>;

export interface SpfEvaluationInput {
  ip: string;
  /** the MAIL FROM address (local@domain); '' to check the HELO identity alone */
  sender: string;
  helo?: string;
  resolver: SpfResolver;
}

export interface SpfCheckHost {
  result: SpfResult;
  comment?: string;
  /** the exp= text of a fail */
  explanation?: string;
  lookups?: number;
  voidLookups?: number;
}

/** Wraps a resolver so that an MX answer of more than 10 names ends the evaluation in permerror. */
export function mxLimitResolver(resolver: SpfResolver): SpfResolver {
  return async (name, type) => {
    const answer = await resolver(name, type);
    if (type.toUpperCase() === 'MX' && answer.length > MX_ADDRESS_LIMIT) {
      const err = new Error(`${name} has ${answer.length} MX records: more than ${MX_ADDRESS_LIMIT} (RFC 7208 §4.6.4)`) as Error & { spfResult?: unknown };
      // mailauth keeps a thrown error's spfResult as the evaluation's result
      err.spfResult = { error: 'permerror', text: err.message };
      throw err;
    }
    return answer;
  };
}

export async function checkHost(i: SpfEvaluationInput): Promise<SpfCheckHost> {
  const r = await mailauthSpf({
    sender: i.sender, ip: i.ip, ...(i.helo ? { helo: i.helo } : {}), mta: 'inboxlens', resolver: mxLimitResolver(i.resolver), strict: true,
  });
  const lookups = (r as { lookups?: { count?: number; void?: number } }).lookups;
  const explanation = (r as { explanation?: string }).explanation;
  return {
    result: r.status.result as SpfResult,
    ...(r.status.comment ? { comment: String(r.status.comment).replace(/^inboxlens: /, '') } : {}),
    ...(explanation !== undefined ? { explanation } : {}),
    ...(lookups?.count !== undefined ? { lookups: lookups.count } : {}),
    ...(lookups?.void !== undefined ? { voidLookups: lookups.void } : {}),
  };
}

/** check_host() for one connection, as `analyze` asks it: the identity checked and where. */
export interface SpfConnectionCheck extends SpfCheckHost {
  ip: string;
  /** the identity checked: the envelope sender, or postmaster@HELO for a null sender (RFC 7208 §2.4) */
  sender: string;
  /** the domain SPF was evaluated at */
  domain: string;
  helo?: string;
}

/** check_host() through the run's DNS client for a connection: IP, envelope sender (with its local part), HELO. */
export async function checkConnection(dns: DnsClient, o: { ip: string; sender?: string; helo?: string }): Promise<SpfConnectionCheck> {
  const helo = o.helo?.replace(/^\[|\]$/g, '');
  const sender = o.sender && o.sender.includes('@') ? o.sender : `postmaster@${o.sender || helo || 'unknown'}`;
  const r = await checkHost({ ip: o.ip, sender, ...(o.helo ? { helo: o.helo } : {}), resolver: dns.mailauthResolver });
  return { ip: o.ip, sender, domain: sender.slice(sender.lastIndexOf('@') + 1).toLowerCase(), ...(o.helo ? { helo: o.helo } : {}), ...r };
}
