// `analyze`: a received copy judged as a whole — the receiver's hop and verdicts
// and inboxlens's own (the `received` check), the sending IP's reverse DNS (`ptr`)
// and blacklist listings with the domains of the message's links and of its From
// and envelope (`blacklist`), and the content check on the message — one engine
// run, one versioned report (schema/report.schema.json). Library code: no stdout,
// no argv; bad options are UsageError naming the option.
import { combineExit, exitCodeFor, runTarget, type ResultStream } from '../engine.ts';
import { buildReport, type Report } from '../report/json.ts';
import { loadChecksById } from '../check-registry.ts';
import type { Check, RunOptions } from '../types.ts';
import { PROVIDERS } from '../placement/types.ts';
import { UsageError } from '../util/errors.ts';
import { createDnsSetup, makeDns, prepareChecks, type DnsSetupOptions } from '../engine/run.ts';
import { receiverView } from './receiver.ts';
import { envelopeOf, addressDomain } from './compare.ts';
import { registrableDomain } from '../dns/orgdomain.ts';

export { receiverView, type ReceiverView, type ReceiverViewOptions } from './receiver.ts';
export { parseAuthResults, type ParsedAuthResults, type AuthResult } from './auth-results.ts';
export { receiverAuthOf } from './verdicts.ts';
export { decodeSpamHeaders, type SpamFilterVerdict } from './spam.ts';
export { verifyArc, type ArcVerdict } from './arc.ts';

/** The checks of an analysis, in report order. */
export const ANALYZE_CHECKS = ['received', 'ptr', 'blacklist', 'content'] as const;

export interface AnalyzeOptions extends DnsSetupOptions {
  /** the name the report gives the message (a file name); default "message" */
  label?: string;
  /** authserv-ids the receiver writes (when it is none of the known providers and not named under its `by` hosts' domain) */
  authservIds?: string[];
  /** the mailbox provider, when the Received headers name none inboxlens knows (gmail, outlook, yahoo, icloud, generic) */
  provider?: string;
  /** also score the body with spamd (HOST[:PORT]) or rspamd (URL), as `inboxlens content` does */
  spamd?: string;
  rspamd?: string;
  /** leave out blacklists and reverse DNS (no DNSBL queries) */
  offline?: boolean;
  failOn?: 'error' | 'warn';
  stream?: ResultStream;
  signal?: AbortSignal;
}

export interface PreparedAnalysis {
  checks: Check[];
  registry: Map<string, Check>;
  opts: RunOptions;
  skipped: { check: string; reason: string }[];
}

/** Validate the options and the message, and choose the checks and their options (no DNS yet). */
export async function prepareAnalysis(input: Buffer, o: AnalyzeOptions = {}): Promise<PreparedAnalysis> {
  if (!Buffer.isBuffer(input) || input.length === 0) throw new UsageError('analyze: give the message (the bytes of an .eml file, headers, a blank line, the body)');
  // a copy cut from an mbox file starts with its "From sender date" separator: not part of the message
  const sep = /^From [^\n]*\n/.exec(input.subarray(0, 1000).toString('latin1'));
  const raw = sep ? input.subarray(sep[0].length) : input;
  if (!/^[\x21-\x39\x3b-\x7e]+:/.test(raw.subarray(0, 1000).toString('latin1'))) {
    throw new UsageError(`analyze: ${o.label ?? 'the message'} does not start with a header field (Name: value): give an .eml file as the mailbox stores it`);
  }
  for (const id of o.authservIds ?? []) {
    if (!/^(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(id)) throw new UsageError(`authserv-id: '${id}' is not a host name (e.g. mx.example.org or *.example.org)`);
  }
  if (o.provider !== undefined && !PROVIDERS.includes(o.provider as never)) throw new UsageError(`provider: '${o.provider}' is not one of ${PROVIDERS.join(', ')}`);
  const view = receiverView(raw, { ...(o.provider ? { provider: o.provider } : {}), ...(o.authservIds ? { authservIds: o.authservIds } : {}) });
  const env = envelopeOf(raw, view);
  const ip = view.arrival?.ip;
  const domains = [...new Set([env.fromDomain, addressDomain(env.returnPath)].filter((d): d is string => !!d).map((d) => registrableDomain(d)).filter((d): d is string => !!d))];
  const opts: RunOptions = {
    ips: ip && !o.offline ? [ip] : [],
    selectors: [],
    messageRaw: raw,
    receivedCopy: true,
    ...(sep ? { mboxSeparator: true } : {}),
    blacklistTargets: [...(ip ? [ip] : []), ...domains],
    ...(o.authservIds ? { authservIds: o.authservIds.map((x) => x.toLowerCase()) } : {}),
    ...(o.provider ? { provider: o.provider } : {}),
    ...(o.spamd !== undefined ? { spamd: o.spamd } : {}),
    ...(o.rspamd !== undefined ? { rspamd: o.rspamd } : {}),
  };
  const ids: string[] = o.offline ? ['received', 'content'] : [...ANALYZE_CHECKS];
  const registry = await loadChecksById(ids);
  const all = ids.map((id) => registry.get(id)!).filter(Boolean);
  await prepareChecks(all, registry, opts);
  const checks = all.filter((c) => (c.applies ? c.applies(opts) === true : true));
  const skipped = all.filter((c) => !checks.includes(c)).map((c) => ({ check: c.id, reason: String(c.applies!(opts)) }));
  if (o.offline) skipped.push({ check: 'blacklist', reason: 'offline: no blacklist queries' }, { check: 'ptr', reason: 'offline: no reverse DNS' });
  return { checks, registry, opts, skipped };
}

/**
 * Judge a received copy (the raw bytes of an .eml as the mailbox stores it).
 *
 *   const report = await analyze(readFileSync('copy.eml'), { resolvers: ['192.0.2.53'] });
 *   report.targets[0].checks.find((c) => c.check === 'received').data.hop.ip;
 */
export async function analyze(raw: Buffer, o: AnalyzeOptions = {}): Promise<Report> {
  const p = await prepareAnalysis(raw, o);
  const setup = await createDnsSetup(o);
  const dns = makeDns(setup);
  const t0 = performance.now();
  const result = await runTarget({ target: o.label ?? 'message', checks: p.checks, registry: p.registry, opts: p.opts, dns, ...(o.stream ? { stream: o.stream } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  return buildReport({
    command: 'analyze',
    targets: [result],
    skipped: p.skipped,
    durationMs: Math.round(performance.now() - t0),
    exitCode: combineExit([exitCodeFor(result.checks, o.failOn ?? 'error')]),
    ...(setup.trace ? { trace: dns.trace } : {}),
  });
}
