// The sending side: the submission server a user's app or ESP relay sends through
// (`--smtp smtp://user@host:587` or `smtps://user@host:465`). Reachable, TLS where
// it must be (STARTTLS on 587, implicit TLS on 465), the certificate, AUTH offered
// only under TLS, and whether the credentials are accepted. Never MAIL, never DATA.
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { DnsClient } from '../dns/resolver.ts';
import { addresses, describe, isFailure } from '../dns/resolver.ts';
import { registerSecret } from '../util/redact.ts';
import { UsageError } from '../util/errors.ts';
import { SmtpFailure, SmtpSession, bannerHost, ehloName, parseEhlo, type TranscriptLine } from './probe.ts';
import { statusOf, type FailureInfo, type ProbeStatus } from './receive.ts';
import type { TlsInfo } from './tls.ts';

export const PASSWORD_ENV = 'INBOXLENS_SMTP_PASS';

export interface SubmissionTarget {
  scheme: 'smtp' | 'smtps';
  host: string;
  port: number;
  user?: string;
  /** the URL as it may be shown (never a password) */
  display: string;
}

/** Parse `smtp://user@host:587` / `smtps://user@host:465`; a password in the URL is refused. */
export function parseSubmissionUrl(spec: string, what = '--smtp'): SubmissionTarget {
  let u: URL;
  try {
    u = new URL(String(spec).trim());
  } catch {
    throw new UsageError(`${what}: not a URL; use smtp://USER@HOST:587 (STARTTLS) or smtps://USER@HOST:465 (implicit TLS)`);
  }
  if (u.password) {
    // mask it before anything can print it, then refuse: URLs end up in shell history and CI logs
    registerSecret(u.password);
    registerSecret(decodeURIComponent(u.password));
    throw new UsageError(`${what}: do not put the password in the URL; give smtp://USER@HOST:PORT and set ${PASSWORD_ENV} in the environment`);
  }
  const scheme = u.protocol.replace(/:$/, '').toLowerCase();
  if (scheme !== 'smtp' && scheme !== 'smtps') throw new UsageError(`${what}: scheme '${scheme}' is not supported; use smtp:// (STARTTLS, port 587) or smtps:// (implicit TLS, port 465)`);
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (!host) throw new UsageError(`${what}: the URL has no host; e.g. smtp://USER@smtp.example.com:587`);
  if (u.pathname && u.pathname !== '/') throw new UsageError(`${what}: the URL must not have a path ('${u.pathname}'); e.g. smtp://USER@smtp.example.com:587`);
  const port = u.port ? Number(u.port) : scheme === 'smtps' ? 465 : 587;
  const user = u.username ? decodeURIComponent(u.username) : undefined;
  const hostPart = net.isIPv6(host) ? `[${host}]` : host;
  return { scheme, host, port, ...(user ? { user } : {}), display: `${scheme}://${user ? `${encodeURIComponent(user)}@` : ''}${hostPart}:${port}` };
}

export function isLoopback(ip: string): boolean {
  try {
    const a = ipaddr.process(ip);
    return a.range() === 'loopback';
  } catch {
    return false;
  }
}

export interface AuthOutcome {
  attempted: boolean;
  mechanism?: string;
  ok?: boolean;
  code?: number;
  enhanced?: string;
  text?: string;
  /** why no attempt was made, or why the outcome is unknown */
  reason?: string;
  /** the TLS certificate failed verification: the password was withheld (or, with insecureAuth, sent anyway) */
  unverifiedTls?: boolean;
}

export interface SubmissionProbe {
  url: string;
  host: string;
  port: number;
  ip?: string;
  mode: 'implicit-tls' | 'starttls';
  status: ProbeStatus | 'unresolved';
  failure?: FailureInfo;
  loopback?: boolean;
  banner?: string;
  bannerHost?: string;
  extensions?: Record<string, string>;
  extensionsTls?: Record<string, string>;
  /** SASL mechanisms offered before TLS (RFC 4954 §4: they should not be) */
  authBeforeTls: string[];
  /** SASL mechanisms offered under TLS */
  authMechanisms: string[];
  starttls: { offered: boolean; ok: boolean; error?: string };
  tls?: TlsInfo;
  auth: AuthOutcome;
  timings: Record<string, number>;
  transcript: TranscriptLine[];
}

function mechanisms(ext: Record<string, string> | undefined): string[] {
  return ext && 'AUTH' in ext ? ext.AUTH!.toUpperCase().split(/\s+/).filter(Boolean) : [];
}

async function authenticate(s: SmtpSession, mechs: string[], user: string, password: string): Promise<AuthOutcome> {
  const b64 = (x: string) => Buffer.from(x, 'utf8').toString('base64');
  registerSecret(password);
  registerSecret(b64(password));
  let r;
  let mechanism: string;
  if (mechs.includes('PLAIN')) {
    mechanism = 'PLAIN';
    const token = b64(`\0${user}\0${password}`);
    registerSecret(token);
    r = await s.command(`AUTH PLAIN ${token}`, 'auth', { shown: 'AUTH PLAIN [redacted]', secret: true });
  } else if (mechs.includes('LOGIN')) {
    mechanism = 'LOGIN';
    r = await s.command('AUTH LOGIN', 'auth');
    if (r.code === 334) r = await s.command(b64(user), 'auth', { shown: `[username ${user}, base64]` });
    if (r.code === 334) r = await s.command(b64(password), 'auth', { shown: '[redacted]', secret: true });
  } else {
    return { attempted: false, reason: `the server offers ${mechs.join(' ') || 'no mechanism'}; inboxlens tests PLAIN and LOGIN` };
  }
  const out: AuthOutcome = { attempted: true, mechanism, code: r.code, ...(r.enhanced ? { enhanced: r.enhanced } : {}), text: r.text };
  if (r.code === 235) out.ok = true;
  else if (r.code >= 500) out.ok = false;
  // 4xx (454 temporary failure): the answer is unknown, not a failure
  else out.reason = `the server answered ${r.code}${r.enhanced ? ` ${r.enhanced}` : ''} ${r.text}: try again later`;
  return out;
}

export interface SubmissionOptions {
  timeoutMs: number;
  ca?: string[];
  helo?: string;
  password?: string;
  /**
   * Send the password even when the server's certificate fails verification
   * (untrusted chain, wrong name). For a lab only: `--smtp-insecure-auth`.
   */
  insecureAuth?: boolean;
  signal?: AbortSignal;
}

/** Why a TLS session does not authenticate the server, or undefined when it does. */
export function unverifiedReason(tls: TlsInfo | undefined): string | undefined {
  if (!tls) return 'no TLS session';
  const why: string[] = [];
  if (!tls.authorized) why.push(`the chain is not trusted (${tls.authorizationError ?? 'unknown reason'})`);
  if (!tls.nameMatch) why.push(tls.nameError ?? 'the certificate does not name the host');
  return why.length ? why.join('; ') : undefined;
}

/** Probe a submission server: connect (trying its addresses in turn), TLS, EHLO, AUTH, QUIT. */
export async function probeSubmission(t: SubmissionTarget, dns: DnsClient, o: SubmissionOptions): Promise<SubmissionProbe> {
  const p: SubmissionProbe = {
    url: t.display, host: t.host, port: t.port, mode: t.scheme === 'smtps' ? 'implicit-tls' : 'starttls', status: 'ok',
    authBeforeTls: [], authMechanisms: [], starttls: { offered: false, ok: false }, auth: { attempted: false }, timings: {}, transcript: [],
  };
  let ips: string[];
  if (net.isIP(t.host)) ips = [t.host];
  else {
    const [a, aaaa] = await Promise.all([dns.query(t.host, 'A'), dns.query(t.host, 'AAAA')]);
    ips = [...addresses(a), ...addresses(aaaa)];
    if (!ips.length) {
      p.status = 'unresolved';
      p.failure = { kind: 'network', step: 'resolve', message: isFailure(a) || isFailure(aaaa) ? `address lookup failed: ${describe(isFailure(a) ? a : aaaa)}` : `${t.host} has no A or AAAA record`, ms: Math.max(a.ms, aaaa.ms) };
      return p;
    }
  }
  // like a mail client: the addresses in turn until one accepts the connection
  let s: SmtpSession | undefined;
  for (const ip of ips) {
    p.ip = ip;
    p.loopback = isLoopback(ip);
    try {
      s = await SmtpSession.connect({ host: t.host, ip, port: t.port, timeoutMs: o.timeoutMs, ca: o.ca, signal: o.signal }, t.scheme === 'smtps');
      break;
    } catch (e) {
      if (!(e instanceof SmtpFailure)) throw e;
      p.failure = { kind: e.kind, step: e.step, message: e.message, ms: e.ms };
      p.transcript.push({ t: e.ms, dir: '*', line: `${ip}: ${e.message}` });
      // implicit TLS that fails its handshake is a TLS problem, not an unreachable host
      p.status = e.step === 'tls' && e.kind !== 'timeout' ? 'error' : statusOf(e);
    }
  }
  if (!s) return p;
  delete p.failure;
  p.status = 'ok';
  try {
    if (t.scheme === 'smtps') p.tls = s.tls;
    const g = await s.greeting();
    p.banner = g.lines.map((l) => l.slice(4)).join(' ').trim();
    const bh = bannerHost(g);
    if (bh) p.bannerHost = bh;
    if (g.code !== 220) {
      p.status = 'refused-greeting';
      return p;
    }
    const name = ehloName(o.helo, s.localAddress);
    let e = await s.command(`EHLO ${name}`, 'ehlo');
    if (e.code !== 250) {
      p.status = 'error';
      p.failure = { kind: 'protocol', step: 'ehlo', message: `EHLO answered ${e.code} ${e.text}: submission needs ESMTP (RFC 6409)`, ms: e.ms };
      return p;
    }
    p.extensions = parseEhlo(e);
    if (t.scheme === 'smtp') {
      p.authBeforeTls = mechanisms(p.extensions);
      p.starttls.offered = 'STARTTLS' in p.extensions;
      if (p.starttls.offered) {
        try {
          const r = await s.starttls();
          if (r.code === 220) {
            p.starttls.ok = true;
            p.tls = s.tls;
            e = await s.command(`EHLO ${name}`, 'ehlo-tls');
            if (e.code === 250) p.extensionsTls = parseEhlo(e);
          } else p.starttls.error = `STARTTLS answered ${r.code} ${r.text}`;
        } catch (err) {
          if (!(err instanceof SmtpFailure)) throw err;
          p.starttls.error = err.message;
          return p;
        }
      }
      p.authMechanisms = mechanisms(p.extensionsTls);
    } else {
      p.authMechanisms = mechanisms(p.extensions);
    }
    const secure = t.scheme === 'smtps' || p.starttls.ok;
    if (!t.user) p.auth = { attempted: false, reason: 'no user in the URL (smtp://USER@HOST:PORT)' };
    else if (!o.password) p.auth = { attempted: false, reason: `${PASSWORD_ENV} is not set` };
    else if (!secure) p.auth = { attempted: false, reason: 'no TLS: inboxlens does not send a password in the clear' };
    else if (unverifiedReason(p.tls) && !o.insecureAuth) {
      // an unverified certificate means anyone in the path may be the far end: the password would be theirs
      p.auth = { attempted: false, unverifiedTls: true, reason: `the certificate did not verify (${unverifiedReason(p.tls)}): inboxlens sends no password over TLS it cannot authenticate` };
    } else {
      p.auth = await authenticate(s, p.authMechanisms, t.user, o.password);
      if (unverifiedReason(p.tls)) p.auth.unverifiedTls = true;
    }
  } catch (e) {
    if (!(e instanceof SmtpFailure)) throw e;
    p.status = statusOf(e);
    p.failure = { kind: e.kind, step: e.step, message: e.message, ms: e.ms };
    if (p.auth.attempted === false && e.step === 'auth') p.auth = { attempted: true, reason: e.message };
  } finally {
    await s.quit();
    Object.assign(p.timings, s.timings);
    p.transcript.push(...s.transcript);
  }
  return p;
}
