// The run API: which checks run, their options prepared once, one domain run
// with a fresh per-run cache. The `check` command, the dashboard, the demo, the
// benchmarks and the library (src/engine/api.ts) all run checks through here;
// nothing in this file knows argv, the terminal or exit codes.
import { checkSettings, runTarget, type ResultStream } from '../engine.ts';
import type { Check, RunOptions } from '../types.ts';
import { DnsClient, DEFAULT_CONCURRENCY, parseResolver, systemResolvers, type ResolverAddress } from '../dns/resolver.ts';
import { Semaphore } from '../util/semaphore.ts';
import { UsageError } from '../util/errors.ts';
import { parseDomain, parseIp, parseMailFrom } from '../util/validate.ts';
import { expandRange } from '../dnsbl/names.ts';

/** The order checks are shown in; checks not named here follow alphabetically. */
export const CHECK_ORDER = ['spf', 'dkim', 'dmarc', 'alignment', 'mx', 'ptr', 'mta-sts', 'tls-rpt', 'bimi', 'bulk-sender', 'blacklist', 'smtp', 'content', 'placement'];

export function orderChecks<C extends Pick<Check, 'id'>>(checks: C[]): C[] {
  const rank = (id: string) => {
    const i = CHECK_ORDER.indexOf(id);
    return i === -1 ? CHECK_ORDER.length : i;
  };
  return [...checks].sort((a, b) => rank(a.id) - rank(b.id) || a.id.localeCompare(b.id));
}

function given(v: unknown): boolean {
  return v !== undefined && v !== false && v !== '' && !(Array.isArray(v) && v.length === 0);
}

type Selectable = Pick<Check, 'id' | 'optIn' | 'optInWith'>;

/**
 * Which checks run: `only` (validated against the registry), else every check
 * that is not opt-in, or is opted in by one of its `optInWith` options in `given`.
 */
export function selectChecks<C extends Selectable = Check>(registry: Map<string, C>, only: string[] | undefined, options: Record<string, unknown> = {}, what = 'only'): C[] {
  const names = (only ?? []).flatMap((o) => String(o).split(',')).map((s) => s.trim()).filter(Boolean);
  if (names.length) {
    const unknown = names.filter((n) => !registry.has(n));
    if (unknown.length) throw new UsageError(`${what}: no check named ${unknown.map((u) => `'${u}'`).join(', ')}; the checks are: ${orderChecks([...registry.values()]).map((c) => c.id).join(', ')}`);
    return orderChecks(names.map((n) => registry.get(n)!));
  }
  return orderChecks([...registry.values()].filter((c) => !c.optIn || (c.optInWith ?? []).some((o) => given(options[o]))));
}

/** Let every selected check (and what it depends on) validate and normalise its options, once per run. */
export async function prepareChecks(checks: Check[], registry: Map<string, Check>, opts: RunOptions): Promise<void> {
  const withDeps = new Set<Check>();
  const add = (c: Check) => {
    if (withDeps.has(c)) return;
    withDeps.add(c);
    for (const d of c.dependsOn ?? []) {
      const dep = registry.get(d);
      if (dep) add(dep);
    }
  };
  checks.forEach(add);
  for (const c of withDeps) await checkSettings(c, opts);
}

/** How the DNS of a run is set up: resolvers, per-query timeout, retries, one global cap. */
export interface DnsSetup {
  resolvers: ResolverAddress[];
  timeoutMs: number;
  retries: number;
  concurrency: number;
  trace: boolean;
  semaphore: Semaphore;
}

export interface DnsSetupOptions {
  /** HOST[:PORT] or DoH https:// URLs, failover in order (default: /etc/resolv.conf) */
  resolvers?: string[];
  timeoutMs?: number;
  retries?: number;
  concurrency?: number;
  trace?: boolean;
}

/** Validate DNS settings (errors name the value) and share one query cap across a run. */
export async function createDnsSetup(o: DnsSetupOptions = {}): Promise<DnsSetup> {
  const concurrency = o.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 4096) throw new UsageError(`concurrency: '${concurrency}' must be a whole number from 1 to 4096`);
  const timeoutMs = o.timeoutMs ?? 2500;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 10) throw new UsageError(`timeout: '${timeoutMs}' ms is too short (at least 10ms)`);
  const retries = o.retries ?? 2;
  if (!Number.isInteger(retries) || retries < 0 || retries > 10) throw new UsageError(`retries: '${retries}' must be a whole number from 0 to 10`);
  return { resolvers: await resolveResolvers(o.resolvers), timeoutMs, retries, concurrency, trace: Boolean(o.trace), semaphore: new Semaphore(concurrency) };
}

/** Resolver specs (HOST[:PORT], DoH URLs; comma-separated too), else the system's; `how` says how to give one. */
export async function resolveResolvers(specs: string[] | undefined, how = 'give one (HOST[:PORT])'): Promise<ResolverAddress[]> {
  const list = (specs ?? []).flatMap((r) => String(r).split(',')).filter(Boolean);
  if (list.length) {
    return list.map((s) => {
      try {
        return parseResolver(s);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    });
  }
  const sys = await systemResolvers();
  if (!sys.length) throw new UsageError(`no DNS resolver: /etc/resolv.conf lists none; ${how}`);
  return sys;
}

export function makeDns(s: DnsSetup): DnsClient {
  return new DnsClient({ resolvers: s.resolvers, timeoutMs: s.timeoutMs, retries: s.retries, concurrency: s.concurrency, trace: s.trace, semaphore: s.semaphore });
}

/** Run the selected checks on one domain with a fresh per-run cache. */
export async function checkDomain(domain: string, checks: Check[], registry: Map<string, Check>, opts: RunOptions, setup: DnsSetup, stream?: ResultStream, signal?: AbortSignal) {
  const dns = makeDns(setup);
  const applicable = checks.filter((c) => (c.applies ? c.applies(opts) === true : true));
  const skipped = checks.filter((c) => !applicable.includes(c)).map((c) => ({ check: c.id, reason: String(c.applies!(opts)) }));
  // does the domain exist at all? asked beside the checks (one more query, usually cached)
  const exists = dns.query(domain, 'SOA').catch(() => undefined);
  const result = await runTarget({ target: domain, checks: applicable, registry, opts, dns, ...(stream ? { stream } : {}), ...(signal ? { signal } : {}) });
  const soa = await exists;
  // a name that does not exist: publishing SPF, DMARC or MTA-STS for it is not the first thing to do
  if (soa?.rcode === 'NXDOMAIN') result.headline = `${domain} does not exist: NXDOMAIN (no DNS name, so no mail can be sent from or to it; register or delegate it first — the advice below assumes it exists)`;
  return { result, skipped, dns };
}

/** The options every run shares, in RunOptions form: sending IPs, DKIM selectors, the envelope domain. */
export interface BaseRunInput {
  ips?: string[];
  selectors?: string[];
  mailFrom?: string;
  dkimDomain?: string;
}

export function baseRunOptions(i: BaseRunInput, what: { ip: string; selector: string; mailFrom: string; dkimDomain: string } = { ip: 'ip', selector: 'selector', mailFrom: 'mailFrom', dkimDomain: 'dkimDomain' }): RunOptions {
  const ipsIn = (i.ips ?? []).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);
  const ranges = [...new Set(ipsIn.filter((s) => s.includes('/')))];
  // a range is validated once, for every check, and each of its addresses is judged (SPF, PTR);
  // the blacklist check keeps the range itself, to name it in its grid
  const fromRanges = ranges.flatMap((spec) => {
    const r = expandRange(spec);
    if (!r.ok) throw new UsageError(`${what.ip} ${r.message}`);
    return r.ips;
  });
  const opts: RunOptions = {
    ips: [...new Set([...ipsIn.filter((s) => !s.includes('/')).map((s) => parseIp(s, what.ip)), ...fromRanges])],
    ipRanges: ranges,
    selectors: [...new Set((i.selectors ?? []).flatMap((s) => String(s).split(',')).map((s) => s.trim().toLowerCase()).filter(Boolean))],
  };
  for (const s of opts.selectors) {
    if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(s)) throw new UsageError(`${what.selector}: '${s}' is not a valid DKIM selector (letters, digits, '-', '_' and dots)`);
  }
  if (i.mailFrom) {
    // a domain, or a full address whose local part SPF's %{l} and %{s} use
    const mf = parseMailFrom(i.mailFrom, what.mailFrom);
    opts.mailFrom = mf.domain;
    if (mf.address) opts.mailFromAddress = mf.address;
  }
  if (i.dkimDomain) opts.dkimDomain = parseDomain(i.dkimDomain, what.dkimDomain);
  return opts;
}
