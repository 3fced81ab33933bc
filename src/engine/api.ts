// The library's functions: typed options in, the versioned report out (the same
// document `--json` prints, valid against schema/report.schema.json). No stdout,
// no process.exit, no argv, no colour: errors in the options are UsageError
// naming the option; `stream` carries the engine's live events.
import { checkSettings, combineExit, exitCodeFor, ResultStream, runTarget, type TargetResult } from '../engine.ts';
import { buildReport, type Report } from '../report/json.ts';
import { checkMetadata, loadChecksById } from '../check-registry.ts';
import type { Check, RunOptions } from '../types.ts';
import { UsageError } from '../util/errors.ts';
import { parseDomain, parseIp } from '../util/validate.ts';
import { buildPlan, checkActionArgs, phaseOf, placementTarget, type PlacementAction, type PlanArgs } from '../placement/plan.ts';
import { baseRunOptions, checkDomain, createDnsSetup, makeDns, prepareChecks, selectChecks, type BaseRunInput, type DnsSetupOptions } from './run.ts';

export interface RunCommon extends DnsSetupOptions {
  /** the severity at or above which the report's exitCode is 1 (default 'error') */
  failOn?: 'error' | 'warn';
  /** live engine events (check-start, check-done, progress, partial) */
  stream?: ResultStream;
  signal?: AbortSignal;
}

export interface CheckOptions extends RunCommon, BaseRunInput {
  /** run only these checks (ids, as `--only`); default: every check that is not opt-in */
  only?: string[];
  /**
   * Options of individual checks, by the name the CLI gives them (`{ 'smtp-probe': true,
   * rcpt: ['a@example.com'] }`); naming one of an opt-in check's options opts it in, as on the CLI.
   */
  checkOptions?: Record<string, unknown>;
}

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * The pre-flight of one or more sending domains, as `inboxlens check` runs it.
 *
 *   const report = await check('example.com', { only: ['spf', 'dmarc'], resolvers: ['192.0.2.53'] });
 *   report.summary.status; // 'pass' | 'warn' | 'fail' | 'unknown'
 */
export async function check(domains: string | string[], o: CheckOptions = {}): Promise<Report> {
  const list = (Array.isArray(domains) ? domains : [domains]).map((d) => parseDomain(String(d), 'domain'));
  if (!list.length) throw new UsageError('check: give at least one domain');
  const meta = await checkMetadata();
  const extra = o.checkOptions ?? {};
  const known = new Set([...meta.values()].flatMap((c) => Object.keys(c.cliOptions ?? {})));
  for (const k of Object.keys(extra)) {
    if (!known.has(k)) throw new UsageError(`checkOptions: '${k}' is not an option of any check (known: ${[...known].sort().join(', ')})`);
  }
  const selected = selectChecks(meta, o.only, extra);
  const registry = await loadChecksById(selected.map((c) => c.id));
  const checks = selected.map((c) => registry.get(c.id)!);
  const opts: RunOptions = baseRunOptions(o);
  if (o.only?.length) opts.only = o.only;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) opts[camel(k)] = v;
  await prepareChecks(checks, registry, opts);
  const setup = await createDnsSetup(o);
  const t0 = performance.now();
  const targets: TargetResult[] = [];
  const skipped: { check: string; reason: string }[] = [];
  const traces = [];
  for (const d of list) {
    const r = await checkDomain(d, checks, registry, opts, setup, o.stream, o.signal);
    targets.push(r.result);
    for (const s of r.skipped) if (!skipped.some((x) => x.check === s.check)) skipped.push(s);
    if (setup.trace) traces.push(...r.dns.trace);
  }
  const exitCode = combineExit(targets.map((t) => exitCodeFor(t.checks, o.failOn ?? 'error')));
  return buildReport({ command: 'check', targets, skipped, durationMs: Math.round(performance.now() - t0), exitCode, ...(setup.trace ? { trace: traces } : {}) });
}

export interface BlacklistOptions extends RunCommon {
  /** only these zones (names from the built-in list, or ZONE=KIND for one of your own) */
  zones?: string[];
  /** a YAML zones file replacing the built-in list */
  zonesFile?: string;
  maxQueries?: number;
}

/**
 * IPs, IPv4 ranges (up to a /24), domains, links or email addresses looked up on
 * DNS blacklists with each list's self-test, as `inboxlens blacklist` does.
 *
 *   const report = await blacklist(['192.0.2.10', 'example.com']);
 *   report.targets[0].checks[0].data.listings;
 */
export async function blacklist(targets: string | string[], o: BlacklistOptions = {}): Promise<Report> {
  const list = (Array.isArray(targets) ? targets : [targets]).flatMap((t) => String(t).split(',')).map((t) => t.trim()).filter(Boolean);
  if (!list.length) throw new UsageError('blacklist: give an IP, a CIDR range or a domain');
  const { default: blacklistCheck } = await import('../../checks/blacklist.ts');
  const opts: RunOptions = {
    ips: [],
    selectors: [],
    blacklistTargets: list,
    ...(o.zones ? { zone: o.zones } : {}),
    ...(o.zonesFile ? { zonesFile: o.zonesFile } : {}),
    ...(o.maxQueries !== undefined ? { maxQueries: o.maxQueries } : {}),
  };
  await checkSettings(blacklistCheck, opts);
  const setup = await createDnsSetup(o);
  const dns = makeDns(setup);
  const registry = new Map<string, Check>([[blacklistCheck.id, blacklistCheck]]);
  const t0 = performance.now();
  const result = await runTarget({ target: list.join(' '), checks: [blacklistCheck], registry, opts, dns, ...(o.stream ? { stream: o.stream } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  return buildReport({ command: 'blacklist', targets: [result], durationMs: Math.round(performance.now() - t0), exitCode: exitCodeFor(result.checks, o.failOn ?? 'error'), ...(setup.trace ? { trace: dns.trace } : {}) });
}

export interface ContentOptions extends RunCommon {
  /** score with SpamAssassin's spamd at HOST[:PORT] */
  spamd?: string;
  /** score with rspamd's HTTP API at this URL */
  rspamd?: string;
  /** also request every link (never unsubscribe links) */
  checkLinks?: boolean;
  /** the IP the message will be sent from (rspamd judges it as coming from there) */
  ip?: string;
  /** a PEM CA file to trust for --check-links */
  caFile?: string;
}

/**
 * A message's structure, links, one-click unsubscribe, DKIM signatures and their
 * coverage, and a spam score from a real filter, as `inboxlens content` judges it.
 *
 *   const report = await content('campaign.eml', { spamd: '127.0.0.1:783' });
 *   report.targets[0].checks[0].findings; // content.* codes
 *
 * `message` is a file path or the raw bytes of the message.
 */
export async function content(message: string | Buffer, o: ContentOptions = {}): Promise<Report> {
  const { default: contentCheck } = await import('../../checks/content.ts');
  const opts: RunOptions = {
    ips: o.ip ? [parseIp(o.ip, 'ip')] : [],
    selectors: [],
    ...(Buffer.isBuffer(message) ? { messageRaw: message } : { message: String(message), messageFlag: 'content' }),
    ...(o.spamd !== undefined ? { spamd: o.spamd } : {}),
    ...(o.rspamd !== undefined ? { rspamd: o.rspamd } : {}),
    ...(o.checkLinks ? { checkLinks: true } : {}),
    ...(o.caFile !== undefined ? { caFile: o.caFile } : {}),
  };
  if (!Buffer.isBuffer(message) && !String(message)) throw new UsageError('content: give the message (a file path or its bytes)');
  await checkSettings(contentCheck, opts);
  const setup = await createDnsSetup(o);
  const dns = makeDns(setup);
  const registry = new Map<string, Check>([[contentCheck.id, contentCheck]]);
  const t0 = performance.now();
  const target = Buffer.isBuffer(message) ? 'message' : String(message);
  const result = await runTarget({ target, checks: [contentCheck], registry, opts, dns, ...(o.stream ? { stream: o.stream } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  return buildReport({ command: 'content', targets: [result], durationMs: Math.round(performance.now() - t0), exitCode: exitCodeFor(result.checks, o.failOn ?? 'error'), ...(setup.trace ? { trace: dns.trace } : {}) });
}

export interface PlacementOptions extends RunCommon {
  /** the seeds file (YAML): the mailboxes to read, which you own */
  seeds: string;
  /** collect: this run's token (il-…, as send printed it) */
  token?: string;
  /** watch: match a real campaign's copies */
  matchSubject?: string;
  matchHeader?: string;
  matchFrom?: string;
  /** watch: only mail since this ISO time or duration ago ('2h') */
  since?: string;
  /** how long to wait for copies (a duration: '90s', '10m'; default 5m) */
  timeout?: string;
  pollInterval?: string;
  /** IMAP IDLE on INBOX and spam (default true) */
  idle?: boolean;
  /** connections open at once to one IMAP/POP3 host:port (default 16) */
  maxConnections?: number;
  /** a YAML file of the mailbox receiving bounces (DSNs) */
  bounces?: string;
  /** afterwards delete this run's copies (only those, proven by token); never for watch */
  cleanup?: boolean;
  /** send, run: the test message and how it is sent */
  from?: string;
  envelopeFrom?: string;
  /** smtp://user@host:587 or smtps://user@host:465; the password from INBOXLENS_SMTP_PASS */
  smtp?: string;
  smtpCa?: string;
  smtpInsecure?: boolean;
  smtpPlaintext?: boolean;
  dkimKey?: string;
  dkimSelector?: string;
  dkimDomain?: string;
  message?: string;
  subject?: string;
  html?: string;
  text?: string;
  listUnsubscribe?: string[];
  tokenSubject?: boolean;
  /** warnings about the seeds file (unknown keys, …); default: sent to `stream` as log events */
  onWarning?: (message: string) => void;
}

/**
 * Seed-inbox placement, as `inboxlens placement <action>` runs it: send a test to
 * seed mailboxes, find each copy over IMAP/POP3, or watch a real campaign's copies.
 * Mailboxes are only read (EXAMINE, BODY.PEEK) unless `cleanup` is asked for.
 *
 *   const report = await placement('collect', { seeds: 'seeds.yaml', token: 'il-mabc12-0123456789', timeout: '2m' });
 *   report.targets[0].checks[0].data.rows; // one row per seed: inbox, tab:…, spam, missing, bounced, error
 */
export async function placement(action: PlacementAction, o: PlacementOptions): Promise<Report> {
  const a: PlanArgs = {
    seeds: o.seeds,
    ...(o.token !== undefined ? { token: o.token } : {}),
    ...(o.matchSubject !== undefined ? { 'match-subject': o.matchSubject } : {}),
    ...(o.matchHeader !== undefined ? { 'match-header': o.matchHeader } : {}),
    ...(o.matchFrom !== undefined ? { 'match-from': o.matchFrom } : {}),
    ...(o.since !== undefined ? { since: o.since } : {}),
    deadline: o.timeout ?? '5m',
    ...(o.pollInterval !== undefined ? { 'poll-interval': o.pollInterval } : {}),
    idle: o.idle ?? true,
    ...(o.maxConnections !== undefined ? { 'max-connections': o.maxConnections } : {}),
    ...(o.bounces !== undefined ? { bounces: o.bounces } : {}),
    cleanup: o.cleanup ?? false,
    ...(o.from !== undefined ? { from: o.from } : {}),
    ...(o.envelopeFrom !== undefined ? { 'envelope-from': o.envelopeFrom } : {}),
    ...(o.smtp !== undefined ? { smtp: o.smtp } : {}),
    ...(o.smtpCa !== undefined ? { 'smtp-ca': o.smtpCa } : {}),
    ...(o.smtpInsecure !== undefined ? { 'smtp-insecure': o.smtpInsecure } : {}),
    ...(o.smtpPlaintext !== undefined ? { 'smtp-plaintext': o.smtpPlaintext } : {}),
    ...(o.dkimKey !== undefined ? { 'dkim-key': o.dkimKey } : {}),
    ...(o.dkimSelector !== undefined ? { 'dkim-selector': o.dkimSelector } : {}),
    ...(o.dkimDomain !== undefined ? { 'dkim-domain': o.dkimDomain } : {}),
    ...(o.message !== undefined ? { message: o.message } : {}),
    ...(o.subject !== undefined ? { subject: o.subject } : {}),
    ...(o.html !== undefined ? { html: o.html } : {}),
    ...(o.text !== undefined ? { text: o.text } : {}),
    ...(o.listUnsubscribe !== undefined ? { 'list-unsubscribe': o.listUnsubscribe } : {}),
    'token-subject': o.tokenSubject ?? true,
  };
  checkActionArgs(action, a);
  const plan = await buildPlan(a, phaseOf(action));
  const { default: placementCheck, PLAN_KEY } = await import('../../checks/placement.ts');
  const setup = await createDnsSetup(o);
  for (const w of plan.seedsFile.warnings) {
    if (o.onWarning) o.onWarning(w);
    else o.stream?.emitEvent({ type: 'log', target: 'placement', check: 'placement', message: `warning: ${w}` });
  }
  const opts: RunOptions = { ips: [], selectors: [], [PLAN_KEY]: plan };
  const registry = new Map<string, Check>([[placementCheck.id, placementCheck]]);
  const target = placementTarget(plan);
  const dns = makeDns(setup);
  const t0 = performance.now();
  const result = await runTarget({ target, checks: [placementCheck], registry, opts, dns, ...(o.stream ? { stream: o.stream } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  return buildReport({ command: `placement ${action}`, targets: [result], durationMs: Math.round(performance.now() - t0), exitCode: exitCodeFor(result.checks, o.failOn ?? 'error'), ...(setup.trace ? { trace: dns.trace } : {}) });
}

export { ResultStream };
