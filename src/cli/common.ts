// Options every command shares (resolver, concurrency, output, exit policy) and
// the code that turns them into a DNS client and a finished report.
import { DnsClient, endpoint, type ResolverAddress } from '../dns/resolver.ts';
import { resolveResolvers } from '../engine/run.ts';
import { Semaphore } from '../util/semaphore.ts';
import { UsageError } from './errors.ts';
import { parsePositiveInt, parseDuration } from './validate.ts';
import { exitCodeFor } from '../engine.ts';
import type { CheckResult } from '../types.ts';
import type { DnsSetup } from '../engine/run.ts';
import type { CommonArgs } from './options.ts';

// the options, stdout and the progress line need no DNS code: a command that does no
// lookups (reports show) imports them from ./options.ts
export { withCommonOptions, out, progressLine, type CommonArgs } from './options.ts';

export function resolversFrom(args: Pick<CommonArgs, 'resolver'>): Promise<ResolverAddress[]> {
  return resolveResolvers(args.resolver, 'pass one with --resolver HOST[:PORT]');
}

export type { DnsSetup } from '../engine/run.ts';
export { makeDns } from '../engine/run.ts';

/** The DNS set-up from the command line's strings (errors name the flag). */
export async function dnsSetup(args: CommonArgs): Promise<DnsSetup> {
  const concurrency = parsePositiveInt(args.concurrency, '--concurrency', 4096);
  const raw = args['dns-timeout'] ?? args.timeout ?? '2500ms';
  // the flag as the user typed it
  const flag = process.argv.some((a) => a === '--timeout' || a.startsWith('--timeout=')) && args['dns-timeout'] === args.timeout ? '--timeout' : '--dns-timeout';
  const timeoutMs = parseDuration(raw, flag);
  if (timeoutMs < 10) throw new UsageError(`${flag}: '${raw}' is too short (at least 10ms)`);
  if (timeoutMs > 300_000) throw new UsageError(`${flag}: '${raw}' is longer than 5m: a DNS answer that takes that long is not coming`);
  const retries = Number(args.retries);
  if (!Number.isInteger(retries) || retries < 0 || retries > 10) throw new UsageError(`--retries: '${args.retries}' must be a whole number from 0 to 10`);
  const resolvers = await resolversFrom(args);
  return { resolvers, timeoutMs, retries, concurrency, trace: args.trace, semaphore: new Semaphore(concurrency) };
}

/**
 * Does any resolver answer at all? A name under .invalid (RFC 6761) gets a fast
 * NXDOMAIN from any working resolver. Only silence from every one of them fails.
 */
export async function probeResolvers(s: DnsSetup): Promise<string | undefined> {
  const probe = new DnsClient({ resolvers: s.resolvers, timeoutMs: Math.max(s.timeoutMs, 1000), retries: Math.max(s.resolvers.length - 1, 1) });
  const r = await probe.query(`inboxlens-probe-${Date.now().toString(36)}.invalid`, 'A');
  if (r.rcode === 'TIMEOUT' || r.rcode === 'NETERR') {
    return `no DNS resolver answered (${s.resolvers.map((x) => x.doh ?? endpoint(x.host, x.port)).join(', ')}): ${r.error}. Check --resolver, or your network's DNS`;
  }
  return undefined;
}

/**
 * Wait for a run, but a dead resolver is an input error: fail fast (exit 2) as
 * soon as the probe says no resolver answers, and when the run ends with
 * checks unknown, ask the probe before blaming the domain.
 */
export async function guardResolver<T>(work: Promise<T>, probe: Promise<string | undefined>, checksOf: (t: T) => CheckResult[]): Promise<T> {
  const first = await Promise.race([work.then(() => undefined), probe]);
  if (first) throw new UsageError(first);
  const done = await work;
  if (checksOf(done).some((c) => c.status === 'unknown')) {
    const bad = await probe;
    if (bad) throw new UsageError(bad);
  }
  return done;
}

export function exitCode(checks: CheckResult[], failOn: 'error' | 'warn'): number {
  return exitCodeFor(checks, failOn);
}

