// After an import: the PTR name of every source IP not seen before, and the
// sending service it belongs to, recognised from the PTR name, cached in the
// history database (ip_info) so `reports show` never waits on DNS and import
// never does either. A failed lookup is cached as 'error' and tried again next
// time; "no PTR" is an answer and stays. And for each domain imported, its SPF
// record walked (src/spf/): which source IPs it authorizes, and through which
// include (a service's name: _spf.google.com, sendgrid.net), so a source that
// fails DMARC but is the user's own (a DKIM set-up gone wrong) is not taken
// for spoofing.
import ipaddr from 'ipaddr.js';
import { answersOf, isFailure, type DnsClient } from '../dns/resolver.ts';
import { walkSpf } from '../spf/walker.ts';
import { authorizedRanges } from '../spf/analyze.ts';
import { reverseName } from '../../checks/ptr.ts';
import { mapLimit } from '../util/semaphore.ts';
import type { ReportStore } from './store.ts';
import { serviceFor } from './services.ts';

export { SERVICES, serviceFor } from './services.ts';

export interface ResolveSummary {
  resolved: number;
  noPtr: number;
  failed: number;
  /** IPs left for next time (over the limit) */
  left: number;
}

export async function resolveSources(store: ReportStore, dns: DnsClient, limit = 5000): Promise<ResolveSummary> {
  const ips = store.unresolvedIps(limit + 1);
  const todo = ips.slice(0, limit);
  const sum: ResolveSummary = { resolved: 0, noPtr: 0, failed: 0, left: ips.length - todo.length };
  const lookup = async (ip: string) => {
    let name: string;
    try {
      name = reverseName(ip);
    } catch {
      return { ip, status: 'invalid' as const };
    }
    const r = await dns.query(name, 'PTR');
    if (isFailure(r)) return { ip, status: 'error' as const };
    const ptr = answersOf(r, 'PTR').map((a) => String(a.data).replace(/\.$/, '').toLowerCase())[0];
    return { ip, status: ptr ? ('ok' as const) : ('none' as const), ptr };
  };
  // a resolver that answers nothing would make thousands of lookups wait out their timeouts: a few first tell
  const head = await mapLimit(todo.slice(0, 8), 8, lookup);
  const dead = head.length > 0 && head.every((x) => x.status === 'error');
  const results = dead ? head : [...head, ...(await mapLimit(todo.slice(8), 64, lookup))];
  if (dead) sum.left += todo.length - head.length;
  store.begin();
  try {
    for (const x of results) {
      if (x.status === 'error') {
        sum.failed++;
        continue;
      }
      if (x.status === 'ok') sum.resolved++;
      else sum.noPtr++;
      const service = serviceFor(x.ptr);
      store.saveIpInfo(x.ip, { status: x.status, ...(x.ptr ? { ptr: x.ptr } : {}), ...(service ? { service } : {}) });
    }
    store.commit();
  } catch (e) {
    store.rollback();
    throw e;
  }
  return sum;
}

export interface SpfSummary {
  /** domains whose SPF record was walked completely */
  domains: number;
  /** source IPs it authorizes */
  authorized: number;
  /** domains whose walk failed or was incomplete: left as they were */
  unknown: string[];
}

/** Which of each domain's source IPs its SPF record authorizes, and via which record. */
export async function checkSpfSources(store: ReportStore, dns: DnsClient, domains: string[]): Promise<SpfSummary> {
  const sum: SpfSummary = { domains: 0, authorized: 0, unknown: [] };
  for (const domain of domains) {
    const ips = store.domainIps(domain);
    // TLS and failure reports' domains have no source IPs to place
    if (!ips.length) continue;
    const tree = await walkSpf(dns, domain);
    // an incomplete walk is unknown, not "authorizes nothing": what was stored stays
    if (tree.failures.length || tree.truncated) {
      sum.unknown.push(domain);
      continue;
    }
    const ranges = authorizedRanges(tree).map((r) => ({ cidr: ipaddr.parseCIDR(r.range), via: r.source }));
    const found: { ip: string; via: string }[] = [];
    for (const ip of ips) {
      if (!ipaddr.isValid(ip)) continue;
      const a = ipaddr.process(ip);
      const hit = ranges.find((r) => r.cidr[0].kind() === a.kind() && a.match(r.cidr as [typeof a, number]));
      if (hit) found.push({ ip, via: hit.via });
    }
    store.begin();
    try {
      store.saveSpfSources(domain, found);
      store.commit();
    } catch (e) {
      store.rollback();
      throw e;
    }
    sum.domains++;
    sum.authorized += found.length;
  }
  return sum;
}
