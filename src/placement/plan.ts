// Turning command-line options into a placement plan (what to send, how to find
// the copies, for how long), validated once with errors that name the option.
import { readInputFile, INPUT_LIMITS } from '../util/read-input.ts';
import path from 'node:path';
import { UsageError } from '../util/errors.ts';
import { isDuration, parseDuration, refuseControl } from '../util/validate.ts';
import { loadMailboxSpec, loadSeeds, type SeedsFile } from './seeds.ts';
import { loadDkim, makeToken, messageFromEml, parseSmtpUrl, validateUnsubscribe, type MessageSpec, type SmtpTarget } from './send.ts';
import type { Matcher, Seed, SendResult } from './types.ts';
import { RUN_TOKEN } from './token.ts';
import { IDLE_RECHECK_MS } from './types.ts';

export type Phase = 'send' | 'collect' | 'run';

/** What `placement` does: send copies, collect them by token, watch a real campaign, or send then collect. */
export const PLACEMENT_ACTIONS = ['send', 'collect', 'watch', 'run'] as const;
export type PlacementAction = (typeof PLACEMENT_ACTIONS)[number];

export function phaseOf(action: PlacementAction): Phase {
  return action === 'watch' ? 'collect' : action;
}

/** What a placement run's report is about: the From domain of what is sent, else how copies are matched. */
export function placementTarget(plan: PlacementPlan): string {
  const fromDomain = plan.send ? (/<([^>]+)>/.exec(plan.send.spec.from)?.[1] ?? plan.send.spec.from).split('@')[1]!.toLowerCase() : undefined;
  return fromDomain ?? plan.token ?? plan.matcher.from ?? plan.matcher.subject ?? plan.matcher.header?.value ?? 'placement';
}

/** Options that do not belong to the action are refused before anything is read or sent. */
export function checkActionArgs(action: PlacementAction, a: PlanArgs): void {
  if (!PLACEMENT_ACTIONS.includes(action)) throw new UsageError(`placement: '${action}' is not an action (choose one of ${PLACEMENT_ACTIONS.join(', ')})`);
  if (action === 'watch' && a.cleanup) throw new UsageError('placement watch never deletes: the copies of a real campaign are your own mail (--cleanup is for inboxlens test sends, with placement collect --token or placement run)');
  if (action === 'watch' && a.token) throw new UsageError('placement watch matches your own campaign by --match-header, --match-subject or --match-from; for inboxlens test sends use placement collect --token');
  if (action === 'collect' || action === 'watch') {
    for (const k of ['from', 'smtp', 'message', 'subject', 'html', 'text', 'dkim-key'] as const) {
      if (a[k]) throw new UsageError(`--${k} is for sending (placement send / run), not placement ${action}`);
    }
  }
  if (action === 'send' && (a.token || a['match-subject'] || a['match-header'] || a['match-from'] || a.cleanup)) {
    throw new UsageError('placement send only sends: collect the copies afterwards with placement collect --token T (or use placement run)');
  }
}

export interface PlacementPlan {
  phase: Phase;
  seedsFile: SeedsFile;
  seeds: Seed[];
  matcher: Matcher;
  token?: string;
  timeoutMs: number;
  pollMs: number;
  /** a folder watched with IDLE is searched anyway this often: --poll-interval when given, else 10 s */
  idleRecheckMs: number;
  idle: boolean;
  /** connections open at once to one IMAP/POP3 host:port (--max-connections, default 16) */
  maxConnections: number;
  bounces?: Seed;
  cleanup: boolean;
  send?: { spec: MessageSpec; smtp: SmtpTarget };
  /** filled by the send step, read by collect */
  sent?: SendResult[];
}

export interface PlanArgs {
  seeds?: string;
  token?: string;
  'match-subject'?: string;
  'match-header'?: string;
  'match-from'?: string;
  since?: string;
  /** the collect deadline (`--timeout` in `placement`, `--placement-timeout` in `check`) */
  deadline?: string;
  'poll-interval'?: string;
  idle?: boolean;
  'max-connections'?: number | string;
  bounces?: string;
  cleanup?: boolean;
  from?: string;
  'envelope-from'?: string;
  smtp?: string;
  'smtp-ca'?: string;
  'smtp-insecure'?: boolean;
  'smtp-plaintext'?: boolean;
  'dkim-key'?: string;
  'dkim-selector'?: string;
  'dkim-domain'?: string;
  message?: string;
  subject?: string;
  html?: string;
  text?: string;
  'list-unsubscribe'?: string[];
  'token-subject'?: boolean;
}

const ADDRESS = /^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/;

function parseAddress(v: string | undefined, what: string): string {
  const raw = refuseControl(String(v ?? '').trim(), what);
  const m = /<([^>]+)>\s*$/.exec(raw);
  const addr = m ? m[1]!.trim() : raw;
  if (!ADDRESS.test(addr)) throw new UsageError(`${what}: '${raw}' is not an email address (e.g. news@example.com)`);
  return raw;
}

/** `--since`: an ISO time, or a duration back from now ("2h"). */
export function parseSince(v: string): Date {
  const s = String(v).trim();
  if (isDuration(s) && !/^\d+$/.test(s)) return new Date(Date.now() - parseDuration(s, '--since'));
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--since: '${v}' is not a time (use an ISO time like 2025-06-03T10:00:00Z, or a duration back from now like 2h)`);
  return d;
}

export function buildMatcher(a: PlanArgs, phase: Phase, token: string | undefined): Matcher {
  if (phase !== 'collect') return { token: token! };
  const given = ['token', 'match-subject', 'match-header', 'match-from'].filter((k) => a[k as keyof PlanArgs]);
  if (!given.length) throw new UsageError('placement collect: say how to find the copies: --token T (printed by `placement send`), or --match-subject S / --match-header NAME=VALUE / --match-from ADDR with --since TIME');
  if (a.token) {
    if (given.length > 1) throw new UsageError('--token finds the copies by itself: do not combine it with --match-subject/--match-header/--match-from');
    if (!RUN_TOKEN.test(a.token)) throw new UsageError(`--token: '${a.token}' is not an inboxlens run token: give the token placement send printed (il-<time>-<10 hex digits>, e.g. il-mkq3x1a0-3f9c2e71d4)`);
    return { token: a.token };
  }
  const m: Matcher = {};
  if (a['match-subject']) m.subject = refuseControl(String(a['match-subject']), '--match-subject');
  if (a['match-header']) {
    const h = /^([A-Za-z0-9-]+)=(.+)$/.exec(refuseControl(String(a['match-header']), '--match-header'));
    if (!h) throw new UsageError(`--match-header: '${a['match-header']}' must be NAME=VALUE (e.g. X-Campaign-Id=spring-2025)`);
    m.header = { name: h[1]!, value: h[2]! };
  }
  if (a['match-from']) m.from = refuseControl(String(a['match-from']).trim(), '--match-from');
  if (a.since) m.since = parseSince(a.since);
  else if (m.subject || m.from) throw new UsageError('--match-subject / --match-from need --since TIME (when the campaign went out), so older mail with the same subject or sender is not taken for this run');
  return m;
}

function readPem(file: string, what: string): string {
  const pem = readInputFile(file, { what, maxBytes: INPUT_LIMITS.pem, encoding: 'utf8' });
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`${what}: '${file}' holds no PEM certificate`);
  return pem;
}

export async function buildPlan(a: PlanArgs, phase: Phase, env: NodeJS.ProcessEnv = process.env): Promise<PlacementPlan> {
  if (!a.seeds) throw new UsageError('--seeds FILE is required: the YAML file listing the seed mailboxes (see fixtures/seeds/example.yaml)');
  const seedsFile = loadSeeds(a.seeds, { env });
  const timeoutMs = parseDuration(a.deadline ?? '5m', phase === 'send' ? '--timeout' : '--timeout');
  if (timeoutMs < 1000 || timeoutMs > 24 * 3600_000) throw new UsageError(`--timeout: '${a.deadline}' must be between 1s and 24h (how long to wait for the copies)`);
  const pollMs = parseDuration(a['poll-interval'] ?? '2s', '--poll-interval');
  if (pollMs < 200 || pollMs > 600_000) throw new UsageError(`--poll-interval: '${a['poll-interval']}' must be between 200ms and 10m`);
  const maxConnections = a['max-connections'] === undefined ? 16 : Number(a['max-connections']);
  if (!Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > 1000) throw new UsageError(`--max-connections: '${a['max-connections']}' must be a whole number from 1 to 1000 (connections open at once to one mail server)`);
  const token = phase === 'collect' ? a.token : makeToken();
  const matcher = buildMatcher(a, phase, token);
  const bounces = a.bounces ? loadMailboxSpec(a.bounces, '--bounces', { env }) : seedsFile.bounces;
  if (a.cleanup && !matcher.token) throw new UsageError('--cleanup deletes only copies carrying this run\'s token: use it with --token (or with placement run)');
  const plan: PlacementPlan = {
    phase,
    seedsFile,
    seeds: seedsFile.seeds,
    matcher,
    ...(matcher.token ? { token: matcher.token } : {}),
    timeoutMs,
    pollMs,
    idleRecheckMs: a['poll-interval'] === undefined ? IDLE_RECHECK_MS : pollMs,
    idle: a.idle !== false,
    maxConnections,
    ...(bounces ? { bounces } : {}),
    cleanup: Boolean(a.cleanup),
  };
  if (phase !== 'collect') {
    if (!a.from) throw new UsageError('--from ADDR is required: the From address of the test message (e.g. news@example.com)');
    const from = parseAddress(a.from, '--from');
    if (!a.smtp) throw new UsageError('--smtp URL is required: the server that sends the copies (smtp://user@host:587 or smtps://user@host:465; password in INBOXLENS_SMTP_PASS)');
    const smtp = parseSmtpUrl(a.smtp, env);
    if (a['smtp-ca']) smtp.ca = readPem(a['smtp-ca'], '--smtp-ca');
    smtp.insecure = Boolean(a['smtp-insecure']);
    // the opt-out is loud: a finding in the report and a line on stderr
    if (smtp.insecure) seedsFile.warnings.push(`--smtp-insecure: the certificate of ${smtp.host} is not verified${smtp.user ? `, so the password of ${smtp.user} goes to whoever answers` : ''} (meant for a lab on loopback)`);
    smtp.allowPlaintext = Boolean(a['smtp-plaintext']);
    if (a.message && (a.subject || a.html || a.text)) throw new UsageError('--message FILE.eml is the whole message: do not combine it with --subject/--html/--text');
    const body = a.message ? await messageFromEml(a.message) : {
      subject: a.subject === undefined ? 'inboxlens placement test' : refuseControl(String(a.subject), '--subject'),
      ...(a.text ? { text: String(a.text) } : {}),
      ...(a.html ? { html: a.html.startsWith('@') ? readBody(a.html.slice(1), '--html') : String(a.html) } : {}),
    };
    const fromAddr = (/<([^>]+)>/.exec(from)?.[1] ?? from).trim();
    const fromDomain = fromAddr.split('@')[1]!.toLowerCase();
    const spec: MessageSpec = {
      from,
      ...(a['envelope-from'] ? { mailFrom: (/<([^>]+)>/.exec(parseAddress(a['envelope-from'], '--envelope-from'))?.[1] ?? a['envelope-from']).trim() } : {}),
      ...body,
      tokenInSubject: a['token-subject'] !== false,
      ...(a['list-unsubscribe']?.length ? { listUnsubscribe: validateUnsubscribe(a['list-unsubscribe'].map(String)) } : {}),
      ...(a['dkim-key'] ? { dkim: loadDkim(a['dkim-key'], a['dkim-selector'], a['dkim-domain'] ?? fromDomain) } : {}),
    };
    if (!a['dkim-key'] && a['dkim-selector']) throw new UsageError('--dkim-selector needs --dkim-key FILE (the private key to sign with)');
    plan.send = { spec, smtp };
  }
  return plan;
}

function readBody(file: string, what: string): string {
  return readInputFile(file === '-' ? file : path.resolve(file), { what, maxBytes: INPUT_LIMITS.message, encoding: 'utf8', stdin: true });
}
