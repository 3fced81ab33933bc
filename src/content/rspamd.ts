// A client for rspamd's HTTP API (the normal worker, usually port 11333):
// POST the message to /checkv2 and read the score, the action rspamd would
// take, and every symbol with its score.
import { registerSecret } from '../util/redact.ts';
import type { SpamRule } from './spamd.ts';

export interface RspamdResult {
  filter: 'rspamd';
  /** rspamd's own verdict: its action is one that lands the message in spam or rejects it */
  isSpam: boolean;
  score: number;
  /** required_score: the score of rspamd's "reject" action */
  threshold: number;
  action: string;
  /** rspamd's message to the sending MTA, when it has one (e.g. "Gtube pattern") */
  note?: string;
  rules: SpamRule[];
  ms: number;
}

export class RspamdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RspamdError';
  }
}

// the actions that send a message to the spam folder or refuse it (rspamd's actions.conf)
const SPAM_ACTIONS = new Set(['reject', 'add header', 'rewrite subject', 'soft reject']);

/** Validate `--rspamd URL`; a password in the URL is registered as a secret at once. */
export function parseRspamdUrl(spec: string): URL {
  let u: URL;
  try {
    u = new URL(spec.trim());
  } catch {
    throw new Error(`'${spec}' is not a URL (e.g. http://127.0.0.1:11333)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`'${spec}': use an http:// or https:// URL of rspamd's normal worker (e.g. http://127.0.0.1:11333)`);
  if (u.password) registerSecret(decodeURIComponent(u.password));
  return u;
}

function endpoint(base: URL): { url: string; password?: string } {
  const u = new URL(base.href);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.username = '';
  u.password = '';
  // the URL may be the worker's root or already name /checkv2
  if (!/\/checkv2\/?$/.test(u.pathname)) u.pathname = `${u.pathname.replace(/\/$/, '')}/checkv2`;
  return { url: u.href, ...(password ? { password } : {}) };
}

export async function rspamdCheck(raw: Buffer, base: URL, opts: { timeoutMs?: number; ip?: string; signal?: AbortSignal } = {}): Promise<RspamdResult> {
  const t0 = performance.now();
  const { url, password } = endpoint(base);
  const headers: Record<string, string> = { 'content-type': 'message/rfc822' };
  // the sending IP, when known, lets rspamd judge the message as it would arrive
  if (opts.ip) headers.ip = opts.ip;
  if (password) headers.password = password;
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 60_000);
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body: new Uint8Array(raw), headers, signal: opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError') throw new RspamdError(`rspamd ${url} did not answer within ${opts.timeoutMs ?? 60_000} ms`);
    throw new RspamdError(`rspamd ${url}: ${err.cause?.code === 'ECONNREFUSED' ? 'connection refused (is rspamd running and listening there?)' : err.cause?.code ?? err.cause?.message ?? err.message}`);
  }
  const body = await res.text();
  if (!res.ok) throw new RspamdError(`rspamd ${url} answered HTTP ${res.status}${body ? `: ${body.slice(0, 200)}` : ''}`);
  let doc: any;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new RspamdError(`rspamd ${url} did not answer with JSON (is this rspamd's normal worker?)`);
  }
  if (typeof doc?.score !== 'number' || typeof doc?.action !== 'string') throw new RspamdError(`rspamd ${url} answered without a score and action${doc?.error ? `: ${doc.error}` : ''}`);
  const rules: SpamRule[] = Object.entries((doc.symbols ?? {}) as Record<string, { name?: string; score?: number; description?: string; options?: string[] }>)
    .map(([name, s]) => ({ name: s.name ?? name, score: Number(s.score ?? 0), description: [s.description, s.options?.length ? `(${s.options.join(', ')})` : ''].filter(Boolean).join(' ') }))
    .sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
  return {
    filter: 'rspamd',
    isSpam: SPAM_ACTIONS.has(doc.action),
    score: doc.score,
    threshold: Number(doc.required_score ?? NaN),
    action: doc.action,
    ...(typeof doc.messages?.smtp_message === 'string' ? { note: doc.messages.smtp_message } : {}),
    rules,
    ms: Math.round(performance.now() - t0),
  };
}
