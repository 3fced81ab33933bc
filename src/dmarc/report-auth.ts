// External report destinations (RFC 9990 §4, formerly RFC 7489 §7.1): a receiver
// sends aggregate or failure reports to a mailbox outside the policy's domain only
// when that mailbox's domain publishes "<policy domain>._report._dmarc.<dest>" TXT
// "v=DMARC1". Every destination is checked at once.
import type { DnsClient, DnsResponse } from '../dns/resolver.ts';
import { isFailure, txtRecords } from '../dns/resolver.ts';
import { registrableDomain } from '../dns/orgdomain.ts';
import { DMARC_VERSION_RE, mailtoDomain } from './record.ts';

export interface ReportDestination {
  kind: 'rua' | 'ruf';
  uri: string;
  /** the mailbox's domain */
  domain: string;
  external: boolean;
  /** the authorization name queried, for external destinations */
  query?: string;
  /** true/false for external destinations; null when the lookup failed */
  authorized: boolean | null;
  resp?: DnsResponse;
  reason?: string;
}

export function isInternal(dest: string, policyDomain: string, orgDomain: string | null): boolean {
  const under = (d: string, parent: string) => d === parent || d.endsWith(`.${parent}`);
  if (under(dest, policyDomain)) return true;
  if (orgDomain && under(dest, orgDomain)) return true;
  const a = registrableDomain(dest);
  return a !== null && a === registrableDomain(policyDomain);
}

export async function checkDestinations(
  dns: DnsClient,
  policyDomain: string,
  orgDomain: string | null,
  uris: { kind: 'rua' | 'ruf'; uri: string }[],
): Promise<ReportDestination[]> {
  return Promise.all(
    uris.map(async ({ kind, uri }): Promise<ReportDestination | null> => {
      const domain = mailtoDomain(uri);
      if (!domain) return null;
      if (isInternal(domain, policyDomain, orgDomain)) return { kind, uri, domain, external: false, authorized: true };
      const query = `${policyDomain}._report._dmarc.${domain}`;
      const resp = await dns.query(query, 'TXT');
      if (isFailure(resp)) return { kind, uri, domain, external: true, query, authorized: null, resp, reason: `lookup failed: ${resp.rcode}` };
      const recs = txtRecords(resp);
      const dmarc = recs.filter((r) => DMARC_VERSION_RE.test(r.trim()));
      // no record, or several, means no positive determination (RFC 9990 §4)
      if (recs.length !== 1 || dmarc.length !== 1) {
        const reason = !recs.length ? (resp.rcode === 'NXDOMAIN' ? 'the name does not exist' : 'no TXT record') : recs.length > 1 ? `${recs.length} TXT records (exactly one is required)` : 'the TXT record does not start with v=DMARC1';
        return { kind, uri, domain, external: true, query, authorized: false, resp, reason };
      }
      return { kind, uri, domain, external: true, query, authorized: true, resp };
    }),
  ).then((l) => l.filter((x): x is ReportDestination => x !== null));
}
