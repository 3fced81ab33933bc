// Gathering DKIM key records: every selector on every domain queried at once,
// plus one random selector per domain to detect a wildcard TXT under _domainkey
// (which would make every guessed selector "answer" with the same record).
import { randomBytes } from 'node:crypto';
import type { DnsClient, DnsResponse } from '../dns/resolver.ts';
import { cnameChain, isFailure, txtRecords } from '../dns/resolver.ts';
import { parseDkimKey, type DkimKeyInfo } from './key.ts';

export type SelectorState =
  /** a TXT record that reads as a DKIM key */
  | 'found'
  /** NXDOMAIN or NODATA */
  | 'absent'
  /** a CNAME whose target has no TXT record */
  | 'dangling-cname'
  /** TXT records, none of them a DKIM key */
  | 'not-dkim'
  /** a guessed selector that only returned the wildcard's record */
  | 'wildcard'
  /** the lookup failed (timeout, SERVFAIL…) */
  | 'failed';

export interface SelectorLookup {
  selector: string;
  domain: string;
  name: string;
  source: 'user' | 'guessed';
  state: SelectorState;
  resp: DnsResponse;
  /** the CNAME chain followed, in order (a key delegated to an ESP) */
  cname: string[];
  /** every TXT record at the name, strings joined */
  records: string[];
  /** the records that read as DKIM keys */
  dkimRecords: string[];
  /** the first DKIM record, parsed */
  key?: DkimKeyInfo;
}

export interface DomainKeys {
  domain: string;
  probe: { name: string; resp: DnsResponse };
  /** the records a non-existent selector returns: a wildcard; null when none; undefined when the probe failed */
  wildcard: string[] | null | undefined;
  selectors: SelectorLookup[];
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

export function classify(sel: Omit<SelectorLookup, 'state' | 'cname' | 'records' | 'dkimRecords' | 'key'>, wildcard: string[] | null | undefined): SelectorLookup {
  const { resp } = sel;
  const cname = cnameChain(resp);
  const records = txtRecords(resp);
  const dkimRecords = records.filter((r) => parseDkimKey(r).isDkim);
  const base = { ...sel, cname, records, dkimRecords };
  if (isFailure(resp)) return { ...base, state: 'failed' };
  if (!records.length) return { ...base, state: cname.length ? 'dangling-cname' : 'absent' };
  // a guessed name that only echoes the wildcard proves nothing about that selector
  if (sel.source === 'guessed' && wildcard && sameSet(records, wildcard)) return { ...base, state: 'wildcard' };
  if (!dkimRecords.length) return { ...base, state: 'not-dkim' };
  return { ...base, state: 'found', key: parseDkimKey(dkimRecords[0]!) };
}

/** Query every selector on every domain in parallel (the DnsClient caps concurrency). */
export async function lookupKeys(dns: DnsClient, domains: string[], user: string[], guessed: string[]): Promise<DomainKeys[]> {
  const userSet = new Set(user);
  const selectors = [...user, ...guessed.filter((g) => !userSet.has(g))];
  return Promise.all(
    domains.map(async (domain): Promise<DomainKeys> => {
      const probeName = `inboxlens-${randomBytes(6).toString('hex')}._domainkey.${domain}`;
      const [probeResp, ...resps] = await Promise.all([
        dns.query(probeName, 'TXT'),
        ...selectors.map((s) => dns.query(`${s}._domainkey.${domain}`, 'TXT')),
      ]);
      const wildcard = isFailure(probeResp!) ? undefined : txtRecords(probeResp!).length ? txtRecords(probeResp!) : null;
      return {
        domain,
        probe: { name: probeName, resp: probeResp! },
        wildcard,
        selectors: selectors.map((s, i) =>
          classify({ selector: s, domain, name: `${s}._domainkey.${domain}`, source: userSet.has(s) ? 'user' : 'guessed', resp: resps[i]! }, wildcard),
        ),
      };
    }),
  );
}
