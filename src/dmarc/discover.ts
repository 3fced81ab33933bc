// DMARC policy discovery by the DNS Tree Walk of RFC 9989 §4.10, using mailauth's
// own walk over our DNS layer. The walk is sequential by nature, but every name it
// can visit is known up front (_dmarc.<each parent>), so all of them are queried at
// once first and the walk then reads the per-run cache: one round trip, not eight.
// The RFC 7489 answer (Public Suffix List) is computed alongside for comparison.
import { createRequire } from 'node:module';
import type { DnsClient, DnsResponse } from '../dns/resolver.ts';
import type { CheckContext } from '../types.ts';
import { describe, isFailure, txtRecords } from '../dns/resolver.ts';
import { registrableDomain } from '../dns/orgdomain.ts';
import { DMARC_VERSION_RE } from './record.ts';

const require = createRequire(import.meta.url);
const dmarcLib = require('mailauth/lib/dmarc/get-dmarc-record.js') as {
  parseDmarcRecord(txt: string, opts?: { strict?: boolean }): Record<string, unknown> | null;
  discoverPolicy(domain: string, lookup: (name: string) => Promise<unknown>): Promise<{
    record: Record<string, unknown> | false; recordDomain: string | null; orgDomain: string | null; orgRecord: unknown; error?: Error;
  }>;
  getOrgDomain(domain: string, lookup: (name: string) => Promise<unknown>): Promise<string>;
};

// RFC 9989 §4.10 step 4: a name of eight or more labels is shortened straight to seven
const WALK_MAX_LABELS = 7;

export interface WalkEntry {
  /** the domain whose _dmarc record was looked up */
  domain: string;
  resp: DnsResponse;
  /** every TXT record at _dmarc.<domain> */
  records: string[];
  /** the ones that start with v=DMARC1 */
  dmarc: string[];
}

export interface Discovery {
  domain: string;
  /** the names the walk can visit, longest first, each with its answer */
  walk: WalkEntry[];
  /** the raw record that applies, or null */
  record: string | null;
  recordDomain: string | null;
  /** RFC 9989 organizational domain (Tree Walk); null when the walk failed */
  orgDomain: string | null;
  /** RFC 7489 organizational domain (Public Suffix List) */
  pslOrgDomain: string | null;
  /** where RFC 7489 discovery (author domain, then PSL org domain) finds a record */
  rfc7489RecordDomain: string | null;
  /** a DNS failure that leaves the policy (or the organizational domain) unknown */
  error?: string;
}

/** The names a Tree Walk from `domain` can query, longest first (RFC 9989 §4.10). */
export function walkNames(domain: string): string[] {
  const out: string[] = [];
  let labels = domain.split('.');
  while (labels.length) {
    out.push(labels.join('.'));
    labels = labels.length > WALK_MAX_LABELS ? labels.slice(-WALK_MAX_LABELS) : labels.slice(1);
  }
  return out;
}

class WalkDnsError extends Error {
  code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

/** A record lookup for mailauth's walk, reading our DnsClient (queries already in flight). */
function makeLookup(dns: DnsClient, entries: Map<string, Promise<WalkEntry>>) {
  const get = (name: string) => {
    let e = entries.get(name);
    if (!e) {
      e = dns.query(`_dmarc.${name}`, 'TXT').then((resp) => {
        const records = txtRecords(resp);
        return { domain: name, resp, records, dmarc: records.map((r) => r.trim()).filter((r) => DMARC_VERSION_RE.test(r)) };
      });
      entries.set(name, e);
    }
    return e;
  };
  const lookup = async (name: string) => {
    const e = await get(name);
    if (isFailure(e.resp)) throw new WalkDnsError(`the lookup of _dmarc.${name} failed: ${describe(e.resp)}`, e.resp.rcode === 'TIMEOUT' ? 'ETIMEOUT' : 'ESERVFAIL');
    // a set of several records counts as none (RFC 9989 §4.10 steps 2 and 6)
    if (e.dmarc.length !== 1) return false;
    return dmarcLib.parseDmarcRecord(e.dmarc[0]!) || false;
  };
  return { get, lookup };
}

/**
 * RFC 7489 §6.6.3: the record at the domain, else the one at its PSL organizational
 * domain. A name with several DMARC records ends discovery there ("If the remaining set
 * contains multiple records or no records, policy discovery terminates and DMARC
 * processing is not applied"): no policy applies, and the organizational domain is not
 * asked. (RFC 9989 discards such a set and walks on, §4.10.)
 */
export function rfc7489Discovery(domain: string, pslOrgDomain: string | null, byName: Map<string, Pick<WalkEntry, 'dmarc'>>): string | null {
  for (const name of [domain, ...(pslOrgDomain && pslOrgDomain !== domain ? [pslOrgDomain] : [])]) {
    const n = byName.get(name)?.dmarc.length ?? 0;
    if (n === 1) return name;
    if (n > 1) return null;
  }
  return null;
}

/**
 * Does `domain` exist (RFC 8020: only NXDOMAIN says it does not; NODATA is an existing
 * name without records of that type)? The A query follows a CNAME, and an NXDOMAIN then
 * speaks of the chain's last name (RFC 6604 §3), so a name that is itself a CNAME exists.
 * null with the reason when the lookup failed.
 */
export async function nameExists(dns: DnsClient, domain: string): Promise<{ exists: boolean | null; resp: DnsResponse; reason?: string }> {
  const resp = await dns.query(domain, 'A');
  if (isFailure(resp)) return { exists: null, resp, reason: describe(resp) };
  if (resp.rcode !== 'NXDOMAIN') return { exists: true, resp };
  const ownCname = resp.answers.some((a) => a.type === 'CNAME' && a.name.replace(/\.$/, '').toLowerCase() === domain);
  return { exists: ownCname, resp };
}

/** Discover the DMARC policy of `domain` (normalized, A-labels). Never throws. */
export async function discoverDmarc(dns: DnsClient, domain: string): Promise<Discovery> {
  const names = walkNames(domain);
  const entries = new Map<string, Promise<WalkEntry>>();
  const { get, lookup } = makeLookup(dns, entries);
  // every name at once: the walk below then reads answers already cached
  const walk = await Promise.all(names.map(get));
  const pslOrgDomain = registrableDomain(domain);
  const byName = new Map(walk.map((w) => [w.domain, w]));
  const rfc7489RecordDomain = rfc7489Discovery(domain, pslOrgDomain, byName);
  const base = { domain, walk, pslOrgDomain, rfc7489RecordDomain };
  try {
    const r = await dmarcLib.discoverPolicy(domain, lookup);
    const recordDomain = r.record ? r.recordDomain : null;
    return {
      ...base,
      record: recordDomain ? byName.get(recordDomain)!.dmarc[0]! : null,
      recordDomain,
      orgDomain: r.orgDomain,
      ...(r.error ? { error: r.error.message } : {}),
    };
  } catch (e) {
    return { ...base, record: null, recordDomain: null, orgDomain: null, error: (e as Error).message };
  }
}

/** The RFC 9989 organizational domain of any domain (for alignment); throws on DNS failure. */
export async function treeWalkOrgDomain(dns: DnsClient, domain: string): Promise<string> {
  const entries = new Map<string, Promise<WalkEntry>>();
  const { get, lookup } = makeLookup(dns, entries);
  await Promise.all(walkNames(domain).map(get));
  return dmarcLib.getOrgDomain(domain, lookup);
}

/** Discovery shared by the checks of one run (dmarc, alignment, bulk-sender, bimi). */
export function sharedDiscovery(ctx: Pick<CheckContext, 'memo' | 'dns'>, domain: string): Promise<Discovery> {
  return ctx.memo(`dmarc:discovery:${domain}`, () => discoverDmarc(ctx.dns, domain));
}

/** The Tree Walk organizational domain, shared by the checks of one run; rejects on DNS failure. */
export function sharedOrgDomain(ctx: Pick<CheckContext, 'memo' | 'dns'>, domain: string): Promise<string> {
  return ctx.memo(`dmarc:orgdomain:${domain}`, () => treeWalkOrgDomain(ctx.dns, domain));
}
