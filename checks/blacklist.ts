// Blacklists: the sending IPs (given, and those the domain's own SPF authorizes)
// and the sending and linked domains, looked up on DNS blacklists (RFC 5782) —
// where an error answer is never mistaken for a listing, and a list that fails
// its self-test is never taken for a clean bill of health.
// The same code serves `inboxlens check` (this check) and `inboxlens blacklist`.
import type { Check, CheckContext, CheckOutput, CheckResult, Evidence, Finding, RunOptions, Severity } from '../src/types.ts';
import { UsageError } from '../src/util/errors.ts';
import { parseDomain, parsePositiveInt } from '../src/util/validate.ts';
import { canonicalIp, expandRange, listDomain, type TargetKind } from '../src/dnsbl/names.ts';
import { selectZones, type ZoneSelection } from '../src/dnsbl/zones.ts';
import { sweep, type Cell, type SweepResult, type Target, type TargetRow, type ZoneReport } from '../src/dnsbl/sweep.ts';
import { UNDETERMINED } from '../src/dnsbl/decode.ts';
import { gridDetails } from '../src/dnsbl/grid.ts';
import ipaddr from 'ipaddr.js';
import { extractLinks } from '../src/content/links.ts';
import { messageFor, messageFlag, readMessageFile } from '../src/content/parse.ts';
import { BLACKLIST_FINDINGS } from '../src/catalog/blacklist.ts';

export const DEFAULT_MAX_QUERIES = 4000;
const ID = 'blacklist';

/** Findings of this check carry the issue's `dnsbl.*` codes (the names users know from the lists' own docs). */
function f(code: string, severity: Severity, summary: string, extra: Omit<Finding, 'check' | 'code' | 'severity' | 'summary'> = {}): Finding {
  const out: Finding = { check: ID, code, severity, summary };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) (out as any)[k] = v;
  return out;
}

export interface Prepared {
  selection: ZoneSelection;
  maxQueries: number;
  /** --ip ranges (check) */
  ranges: { spec: string; ips: string[]; kind: 'ip4' | 'ip6' }[];
  /** `inboxlens blacklist` arguments, already parsed */
  explicit?: Target[];
  includeShared: boolean;
}

/** Parse one `inboxlens blacklist` argument (IP, CIDR, domain) into targets. */
export function parseTargetArg(arg: string): Target[] {
  const s = String(arg).trim();
  // a pasted link: check its host, as a link in a message would be
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    let host: string;
    try {
      host = new URL(s).hostname.replace(/^\[|\]$/g, '');
    } catch {
      throw new UsageError(`target '${s}' is not a valid URL; give an IP, a CIDR range or a domain`);
    }
    if (!host) throw new UsageError(`target '${s}' has no host name; give an IP, a CIDR range or a domain`);
    return parseTargetArg(host).map((t) => ({ ...t, sources: [`argument ${s.length > 80 ? `${s.slice(0, 77)}...` : s}`] }));
  }
  // an address (a From or envelope address, a mailto: link): check its domain
  const at = /^(?:mailto:)?[^@\s/]+@([^@\s/?]+)$/i.exec(s);
  if (at) return parseTargetArg(at[1]!.replace(/^\[|\]$/g, '')).map((t) => ({ ...t, sources: [`argument ${s}`] }));
  if (s.includes('/')) {
    const r = expandRange(s);
    if (!r.ok) throw new UsageError(`target ${r.message}`);
    return r.ips.map((ip) => ({ value: ip, kind: r.kind, sources: [r.ips.length > 1 ? `argument ${r.network}` : 'argument'] }));
  }
  const ip = canonicalIp(s.replace(/^\[|\]$/g, ''));
  if (ip) return [{ value: ip.ip, kind: ip.kind, sources: ['argument'] }];
  if (/^[\d.]+$/.test(s)) throw new UsageError(`target '${s}' is not a valid IPv4 address (four numbers 0-255, e.g. 192.0.2.10)`);
  if (s.includes(':') && /^[0-9a-f:.]+$/i.test(s)) throw new UsageError(`target '${s}' is not a valid IPv6 address (e.g. 2001:db8::10)`);
  const d = parseDomain(s, 'target');
  const reg = listDomain(d);
  if (!reg) throw new UsageError(`target '${s}' is a public suffix (like com or co.uk), not a domain anyone registers; give a domain such as example.com`);
  return [{ value: reg, kind: 'domain', sources: [reg === d ? 'argument' : `argument ${d}`] }];
}

/** Validate the options once per run (throws UsageError), and pick the zones. */
export async function prepareBlacklist(opts: RunOptions): Promise<Prepared> {
  const maxQueries = opts.maxQueries === undefined ? DEFAULT_MAX_QUERIES : parsePositiveInt(opts.maxQueries, '--max-queries', 1_000_000);
  const ranges: Prepared['ranges'] = [];
  for (const spec of (opts.ipRanges as string[] | undefined) ?? []) {
    const r = expandRange(spec);
    if (!r.ok) throw new UsageError(`--ip ${r.message}`);
    ranges.push({ spec: r.network, ips: r.ips, kind: r.kind });
  }
  let explicit: Target[] | undefined;
  if (Array.isArray(opts.blacklistTargets)) explicit = (opts.blacklistTargets as string[]).flatMap(parseTargetArg);
  if (typeof opts.message === 'string' && opts.message) await readMessageFile(opts.message, messageFlag(opts));
  const selection = await selectZones({
    zone: opts.zone as string[] | undefined,
    zonesFile: opts.zonesFile as string | undefined,
    keys: opts.dnsblKeys as Record<string, string> | undefined,
  });
  if (!selection.zones.length) throw new UsageError('--zone/--zones-file: no blacklist zone is left to query');
  return { selection, maxQueries, ranges, explicit, includeShared: Boolean(opts.includeShared) };
}

class TargetList {
  private map = new Map<string, Target>();
  add(value: string, kind: TargetKind, source: string): void {
    const t = this.map.get(value);
    if (t) {
      if (!t.sources.includes(source)) t.sources.push(source);
    } else this.map.set(value, { value, kind, sources: [source] });
  }
  get list(): Target[] {
    return [...this.map.values()];
  }
}

interface SpfRange { range: string; family?: number; source?: string; term?: string; shared?: boolean }

interface Gathered {
  targets: Target[];
  findings: Finding[];
  shared: { range: string; term?: string; source?: string }[];
  notExpanded: { range: string; source: string; reason: string }[];
  message?: { urls: number; domains: number; ips: number };
}

async function spfRanges(ctx: CheckContext): Promise<{ ranges: SpfRange[]; problem?: Finding }> {
  let res: CheckResult;
  try {
    res = await ctx.result('spf');
  } catch (e) {
    // no SPF check in this build (or not runnable): only the given IPs are checked
    return { ranges: [], problem: f('dnsbl.spf-unavailable', 'info', `the domain's own sending IPs were not gathered: ${(e as Error).message}`, { fix: 'Pass the IPs you send from with --ip.' }) };
  }
  const data = res.data as { authorizedRanges?: SpfRange[]; domains?: Record<string, { authorizedRanges?: SpfRange[] }> } | undefined;
  const ranges = [...(data?.authorizedRanges ?? [])];
  const mf = ctx.opts.mailFrom;
  if (mf && data?.domains?.[mf]?.authorizedRanges) ranges.push(...data.domains[mf]!.authorizedRanges!);
  if (!data?.authorizedRanges && res.status === 'unknown') {
    return { ranges, problem: f('dnsbl.spf-unavailable', 'warn', `the domain's own sending IPs could not be gathered: the SPF check is unknown (${res.reason ?? 'no reason given'})`, { fix: 'Fix the SPF lookup problem, or pass the IPs you send from with --ip.', ref: 'RFC 7208 §4' }) };
  }
  return { ranges };
}

async function gather(ctx: CheckContext, prep: Prepared): Promise<Gathered> {
  const list = new TargetList();
  const g: Gathered = { targets: [], findings: [], shared: [], notExpanded: [] };
  const o = ctx.opts;
  // priority order (the budget cuts from the end): what the user named, the domains, then SPF's ranges
  if (prep.explicit) {
    for (const t of prep.explicit) for (const s of t.sources) list.add(t.value, t.kind, s);
  } else {
    for (const ip of o.ips ?? []) {
      const c = canonicalIp(ip);
      if (c) list.add(c.ip, c.kind, '--ip');
    }
    for (const r of prep.ranges) for (const ip of r.ips) list.add(ip, r.kind, `--ip ${r.spec}`);
    const domainSources: [string | undefined, string][] = [[ctx.target, 'From domain'], [o.mailFrom, 'envelope domain (--mail-from)'], [o.dkimDomain, 'DKIM domain (--dkim-domain)']];
    for (const [d, label] of domainSources) {
      if (!d) continue;
      const reg = listDomain(d);
      if (reg) list.add(reg, 'domain', reg === d ? label : `${label} ${d}`);
    }
  }
  const [spf, links] = await Promise.all([
    prep.explicit ? Promise.resolve({ ranges: [] as SpfRange[], problem: undefined }) : spfRanges(ctx),
    (typeof o.message === 'string' && o.message) || Buffer.isBuffer(o.messageRaw) ? messageFor(ctx).then((m) => extractLinks(m)) : Promise.resolve(undefined),
  ]);
  if (links) {
    let ips = 0;
    for (const l of links) {
      const src = `link in message: ${l.url.length > 80 ? `${l.url.slice(0, 77)}...` : l.url}`;
      if (l.ip) {
        // an IP literal goes to the IP lists only: domain lists answer an error to it (DBL: 127.0.1.255)
        const c = canonicalIp(l.ip);
        if (c) { list.add(c.ip, c.kind, src); ips++; }
      } else if (l.registrableDomain) list.add(l.registrableDomain, 'domain', src);
    }
    g.message = { urls: links.length, domains: new Set(links.filter((l) => !l.ip && l.registrableDomain).map((l) => l.registrableDomain)).size, ips };
  }
  if (spf.problem) g.findings.push(spf.problem);
  const own: [string, TargetKind, string][] = [];
  const expanded: [string, TargetKind, string][] = [];
  for (const r of spf.ranges) {
    const label = `SPF ${r.term ?? r.range}${r.source && r.source !== ctx.target ? ` in ${r.source}` : ''}`;
    if (r.shared && !prep.includeShared) {
      g.shared.push({ range: r.range, term: r.term, source: r.source });
      continue;
    }
    const e = expandRange(r.range);
    if (!e.ok) {
      g.notExpanded.push({ range: r.range, source: label, reason: e.message });
      continue;
    }
    for (const ip of e.ips) (e.ips.length === 1 ? own : expanded).push([ip, e.kind, `${label}${r.shared ? ' (shared)' : ''}`]);
  }
  for (const [v, k, s] of [...own, ...expanded]) list.add(v, k, s);
  g.targets = list.list;

  if (g.shared.length) {
    const by = [...new Set(g.shared.map((s) => s.source ?? '?'))];
    g.findings.push(f('dnsbl.shared-skipped', 'info', `${g.shared.length} SPF range(s) of shared infrastructure (${by.slice(0, 5).join(', ')}${by.length > 5 ? ', …' : ''}) were not checked`, {
      detail: 'These ranges come from includes of ESPs or mailbox providers: their IPs are shared by many senders and are not yours to get delisted.',
      evidence: g.shared.slice(0, 20).map((s) => ({ record: `${s.term ?? s.range} (in ${s.source ?? '?'})` })),
      fix: 'Add --include-shared to check them anyway (they count against --max-queries).',
    }));
  }
  if (g.notExpanded.length) {
    g.findings.push(f('dnsbl.range-not-expanded', 'info', `${g.notExpanded.length} SPF range(s) too large to check address by address`, {
      detail: g.notExpanded.map((n) => `${n.source}: ${n.reason}`).join('\n'),
      fix: 'Pass the addresses you actually send from with --ip (IPv4 ranges up to a /24 are expanded).',
      ref: 'RFC 5782 §2',
    }));
  }
  return g;
}

function listedFinding(row: TargetRow, cell: Cell, zone: ZoneReport): Finding {
  const ev: Evidence[] = [{ query: cell.query, type: 'A', rcode: 'NOERROR', answers: cell.answers ?? [] }];
  if (cell.txt?.length) ev.push({ query: cell.query, type: 'TXT', rcode: 'NOERROR', answers: cell.txt });
  const what = row.kind === 'domain'
    ? 'Find why the domain is listed (links to it in mail to purchased or stale lists, a compromised site, or an abused redirector) and fix that first'
    : 'Find why the address is listed (a compromised host, an open relay, mail to purchased or stale lists, a spam-trap hit) and fix that first';
  return f('dnsbl.listed', cell.severity === 'warn' ? 'warn' : 'error', `${row.target} is listed on ${zone.title} (${zone.name}): ${(cell.meanings ?? [])[0] ?? cell.answers?.join(', ')}`, {
    detail: [
      ...(cell.meanings ?? []).slice(1).map((m) => `also: ${m}`),
      cell.txt?.length ? `the list says: ${cell.txt.join(' ')}` : 'the list gave no TXT reason',
      `checked because: ${row.sources.join('; ')}`,
    ].join('\n'),
    evidence: ev,
    fix: `${what}; then request removal${zone.delist ? ` at ${zone.delist}` : ' from the list operator'}.`,
    ref: zone.doc?.url ?? 'RFC 5782',
    subject: row.target,
  });
}

function zoneFindings(r: SweepResult): Finding[] {
  const out: Finding[] = [];
  for (const z of r.zones) {
    const hint = z.refusesPublicResolvers
      ? `This list refuses queries from public resolvers (8.8.8.8, 1.1.1.1, …): use your own recursive resolver (--resolver)${z.keyEnv ? ` or a key in ${z.keyEnv}` : ''}.`
      : 'Retry later; if it persists, check the resolver (--resolver) or leave this list out (--zone).';
    for (const [fam, st] of Object.entries(z.selfTest)) {
      if (!st || st.status === 'ok' || st.status === 'none') continue;
      if (st.status === 'failed') {
        out.push(f('dnsbl.zone-unreliable', 'warn', `${z.name} failed its self-test (${fam}): its answers were not used`, {
          detail: st.reason, evidence: st.evidence,
          fix: z.access === 'registration' ? `Register your resolver's IP with the list operator, or leave it out (--zone). ${hint}` : `Leave this list out (--zone), or check that your resolver reaches it. ${hint}`,
          ref: 'RFC 5782 §5', subject: z.name,
        }));
      } else {
        out.push(f('dnsbl.zone-error', 'warn', `${z.name}: ${st.status} — no verdict from this list`, {
          detail: st.reason, evidence: st.evidence,
          fix: st.status === 'refused' || st.status === 'rate-limited' ? hint : `Retry later, or raise --timeout. ${hint}`,
          ref: z.doc?.url ?? 'RFC 5782', subject: z.name,
        }));
      }
    }
    // lookups that failed on their own, in a zone whose self-test was fine
    const failed = r.targets.flatMap((row) => row.results.filter((c) => c.zone === z.name && UNDETERMINED.has(c.status) && c.status !== 'unreliable' && !(c.reason ?? '').startsWith('zone self-test')).map((c) => ({ row, c })));
    if (failed.length) {
      const reasons = [...new Set(failed.map(({ c }) => `${c.status}: ${c.reason ?? ''}`))];
      out.push(f('dnsbl.zone-error', 'warn', `${z.name}: ${failed.length} lookup(s) got no usable answer (${[...new Set(failed.map(({ c }) => c.status))].join(', ')}) — not listings, not clean`, {
        detail: reasons.slice(0, 5).join('\n'),
        // each lookup's reason only when they differ: one reason is already the detail
        evidence: failed.slice(0, 5).map(({ c }) => ({ query: c.query, type: 'A', answers: c.answers ?? [], ...(reasons.length > 1 ? { note: c.reason } : {}) })),
        fix: failed.some(({ c }) => c.status === 'refused' || c.status === 'rate-limited') ? hint : 'Retry later, or raise --timeout/--retries.',
        ref: z.doc?.url ?? 'RFC 5782', subject: z.name,
      }));
    }
  }
  return out;
}

function judge(r: SweepResult, g: Gathered, prep: Prepared): CheckOutput {
  const findings: Finding[] = [...g.findings];
  const zoneBy = new Map(r.zones.map((z) => [z.name, z] as const));
  for (const row of r.targets) {
    for (const c of row.results) {
      const z = zoneBy.get(c.zone)!;
      if (c.status === 'listed') findings.push(listedFinding(row, c, z));
      if (c.status === 'allowlisted') {
        findings.push(f('dnsbl.allowlisted', 'pass', `${row.target} is on the ${z.title} allow-list: ${(c.meanings ?? [])[0] ?? c.answers?.join(', ')}`, {
          detail: 'An allow-list entry is reputation, not a listing: receivers may trust this sender more.',
          evidence: [{ query: c.query, type: 'A', answers: c.answers ?? [] }], ref: z.doc?.url, subject: row.target,
        }));
      }
    }
  }
  findings.push(...zoneFindings(r));
  for (const s of prep.selection.skipped) findings.push(f('dnsbl.zone-skipped', 'info', `${s.zone} was not queried: it ${s.reason}`, { fix: 'Set the key in the environment (or the config file) to use it.', subject: s.zone }));
  if (r.leftOut.targets.length) {
    findings.push(f('dnsbl.budget-exceeded', 'warn', `query budget reached: ${r.leftOut.targets.length} target(s) (${r.leftOut.queries} lookups) were not checked`, {
      detail: `--max-queries ${r.queries.budget}: ${r.queries.planned} lookups were made, including ${r.queries.selfTest} self-test queries. Left out: ${r.leftOut.targets.slice(0, 10).map((t) => t.value).join(', ')}${r.leftOut.targets.length > 10 ? ', …' : ''}`,
      fix: `Raise --max-queries (to about ${r.queries.planned + r.leftOut.queries}), or check fewer ranges.`,
    }));
  }
  const unchecked = r.targets.filter((t) => !t.results.length);
  if (unchecked.length) {
    findings.push(f('dnsbl.not-checked', 'info', `${unchecked.length} target(s) were not looked up: none of the selected lists takes them (${unchecked.slice(0, 5).map((t) => t.target).join(', ')}${unchecked.length > 5 ? ', …' : ''})`, {
      fix: 'Add lists of that kind with --zone (IPv4, IPv6 or domain lists), or leave --zone out for the default set.',
    }));
  }
  const clean = r.targets.filter((t) => t.listedOn === 0 && t.answering > 0);
  if (clean.length) {
    const zonesAnswering = Math.max(...clean.map((t) => t.answering));
    findings.push(f('dnsbl.clean', 'pass', `${clean.length} of ${r.targets.length} target(s) are not listed on any answering list (up to ${zonesAnswering} lists each)`));
  }

  const undetermined = r.targets.flatMap((t) => t.results.filter((c) => UNDETERMINED.has(c.status)));
  const hasError = findings.some((x) => x.severity === 'error');
  if (!hasError && undetermined.length) {
    const zones = [...new Set(undetermined.map((c) => c.zone))];
    return { status: 'unknown', reason: `${undetermined.length} lookup(s) on ${zones.length} list(s) got no usable answer (${zones.slice(0, 4).join(', ')}${zones.length > 4 ? ', …' : ''}): those lists gave no verdict`, findings };
  }
  if (!r.targets.some((t) => t.results.length) && !hasError) {
    return { status: 'unknown', reason: r.targets.length ? 'no selected list takes these targets' : 'nothing to look up: no IPs or domains were gathered', findings };
  }
  return { findings };
}

/** RFC 5782 §5: the test points every list must answer, queried whatever range they sit in. */
const TEST_POINTS = new Set(['127.0.0.2', '::ffff:7f00:2']);

/**
 * Address space no list judges (RFC 6890, as ipaddr.js names it): loopback, private,
 * link-local, shared (CGNAT), unspecified, broadcast, multicast, IPv6 unique-local.
 * Documentation ranges (RFC 5737, 'reserved') are looked up: they are what examples
 * and the lab stand in for public addresses with, and a lookup of them is harmless.
 */
const NOT_LISTABLE = new Set(['loopback', 'private', 'linkLocal', 'carrierGradeNat', 'unspecified', 'broadcast', 'multicast', 'uniqueLocal']);

/** The special-purpose range an address is in when no blacklist can judge it, else undefined. */
export function specialRange(ip: string): string | undefined {
  if (TEST_POINTS.has(ip.toLowerCase())) return undefined;
  try {
    let addr = ipaddr.parse(ip);
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
    const range = addr.range();
    return NOT_LISTABLE.has(range) ? range : undefined;
  } catch {
    return undefined;
  }
}

/** Run a whole blacklist sweep for a context: gather targets, sweep, judge. */
export async function runBlacklist(ctx: CheckContext<Prepared>): Promise<CheckOutput> {
  const prep = ctx.settings ?? (await prepareBlacklist(ctx.opts));
  const g = await gather(ctx, prep);
  // loopback, private and other special-purpose addresses: no list judges them, so they are
  // not looked up and never called clean (the RFC 5782 test points still are)
  const notListable: { target: string; range: string }[] = [];
  const listable = g.targets.filter((t) => {
    if (t.kind === 'domain') return true;
    const range = specialRange(t.value);
    if (range) notListable.push({ target: t.value, range });
    return !range;
  });
  if (notListable.length) {
    g.findings.push(f('dnsbl.not-listable', 'info', `${notListable.length} address(es) no blacklist can judge were not looked up: ${notListable.slice(0, 5).map((x) => `${x.target} (${x.range})`).join(', ')}${notListable.length > 5 ? ', …' : ''}`, {
      detail: 'Blacklists list the public addresses mail comes from. Loopback, private (RFC 1918), link-local, shared (CGNAT) and documentation addresses are never listed, so a lookup would say nothing: they are reported here, not as clean.',
      fix: 'Check the public address your mail leaves from: the connecting IP in the Received header a receiver adds.',
      ref: 'RFC 6890; RFC 5782 §5',
    }));
  }
  let last = 0;
  const r = await sweep({
    dns: ctx.dns,
    zones: prep.selection.zones,
    targets: listable,
    maxQueries: prep.maxQueries,
    progress: (done, total) => {
      // a progress event per lookup would flood the stream: about every 5%
      if (done === total || done - last >= Math.max(1, Math.floor(total / 20))) {
        last = done;
        ctx.progress(`blacklists: ${done}/${total} lookups`, done, total);
      }
    },
  });
  const out = judge(r, g, prep);
  if (notListable.length && !listable.length && !out.findings.some((x) => x.severity === 'error')) {
    out.status = 'unknown';
    out.reason = `no blacklist can judge ${notListable.length === 1 ? notListable[0]!.target : `these ${notListable.length} addresses`}: ${[...new Set(notListable.map((x) => x.range))].join(', ')} address space (dnsbl.not-listable)`;
  }
  out.data = {
    ...(notListable.length ? { notListable } : {}),
    targets: r.targets,
    zones: r.zones,
    queries: r.queries,
    leftOut: { count: r.leftOut.targets.length, queries: r.leftOut.queries, targets: r.leftOut.targets.map((t) => t.value) },
    ...(g.shared.length ? { shared: g.shared } : {}),
    ...(g.notExpanded.length ? { notExpanded: g.notExpanded } : {}),
    ...(prep.selection.skipped.length ? { skippedZones: prep.selection.skipped } : {}),
    ...(g.message ? { message: g.message } : {}),
    catalog: prep.selection.catalog,
  };
  return out;
}

const check: Check<Prepared> = {
  findings: BLACKLIST_FINDINGS,
  docs: 'docs/checks/blacklist.md',
  id: ID,
  title: 'Blacklists',
  needs: ['dns'],
  dependsOn: ['spf'],
  cliOptions: {
    zone: { type: 'string', array: true, describe: 'blacklist zone to query (repeatable): replaces the default set; "default" stands for it (--zone default --zone dnsbl-2.uceprotect.net adds one)' },
    'zones-file': { type: 'string', describe: 'more zones (YAML or JSON, the format of checks/dnsbl-zones.yaml); with `replace: true` in it, only those' },
    'include-shared': { type: 'boolean', describe: 'also check SPF ranges of ESPs and mailbox providers (shared infrastructure)' },
    'max-queries': { type: 'number', describe: `blacklist query budget (default ${DEFAULT_MAX_QUERIES}); what does not fit is reported` },
    message: { type: 'string', describe: 'an .eml message: the domains it links to are looked up on domain blacklists' },
  },
  // a batch of thousands of domains (--domains-file) runs blacklists only when asked (issue 2: ≥ 100 domains/s)
  applies: (opts) => {
    if (!opts.batch) return true;
    const asked = (opts.only as string[] | undefined)?.includes(ID) || opts.ips.length || (opts.ipRanges as string[] | undefined)?.length
      || ['zone', 'zonesFile', 'includeShared', 'maxQueries', 'message'].some((k) => opts[k] !== undefined && opts[k] !== false);
    return asked ? true : 'with --domains-file, blacklists run only when asked (--only blacklist, --ip, --zone or --message)';
  },
  parse: prepareBlacklist,
  run: runBlacklist,
  details: (r) => {
    const d = r.data as unknown as SweepResult | undefined;
    if (!d?.targets) return [];
    return gridDetails(d);
  },
};
export default check;
