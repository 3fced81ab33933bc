// The SMTP client of the smtp check: a small explicit state machine on node:net and
// node:tls that can only diagnose. It keeps a transcript of every line (credentials
// masked), times every step, bounds every wait, and refuses to send DATA or BDAT, so
// a probe can never deliver a message. nodemailer's SMTPConnection was not used: it
// hides the conversation and cannot be told to stop before DATA.
import net from 'node:net';
import tls from 'node:tls';
import { registerSecret } from '../util/redact.ts';
import { describeTls, type TlsInfo } from './tls.ts';

export interface TranscriptLine {
  /** ms since the session started */
  t: number;
  /** C: what we sent, S: what the server sent, '*': an event (connected, TLS up, timeout) */
  dir: 'C' | 'S' | '*';
  line: string;
}

export interface Reply {
  code: number;
  /** RFC 3463 enhanced status code from the first line, when there is one */
  enhanced?: string;
  /** the text of every line, code and enhanced code removed, joined with a space */
  text: string;
  lines: string[];
  ms: number;
}

export type FailureKind = 'timeout' | 'refused' | 'unreachable' | 'no-ipv6' | 'closed' | 'network' | 'tls' | 'protocol' | 'aborted';

/** A step that did not complete: what kind of failure, in which step, after how long. */
export class SmtpFailure extends Error {
  kind: FailureKind;
  step: string;
  ms: number;
  constructor(kind: FailureKind, step: string, message: string, ms: number) {
    super(message);
    this.name = 'SmtpFailure';
    this.kind = kind;
    this.step = step;
    this.ms = ms;
  }
}

export interface SessionOptions {
  /** the host name we expect to talk to: SNI and certificate name checks */
  host: string;
  /** the address actually connected to */
  ip: string;
  port: number;
  /** bound on every single step (connect, banner, each command, TLS handshake) */
  timeoutMs: number;
  /** extra trusted CA certificates (PEM), added to Node's root store */
  ca?: string[];
  /**
   * trust nothing during the handshake: Node completes the peer's chain from its trust
   * store (root store, --smtp-ca), so only with an empty store do the certificates read
   * back (`peerCertsDer`) show exactly what the server sent (for DANE-TA)
   */
  emptyTrustStore?: boolean;
  signal?: AbortSignal;
}

/** RFC 5321 §4.2: a reply line is a 3-digit code, then '-' (more follows) or ' ' / end. */
const REPLY_LINE = /^(\d{3})([ -]|$)(.*)$/;
const ENHANCED = /^([245]\.\d{1,3}\.\d{1,3})(?:\s+|$)/;
// RFC 5321 §4.5.3.1.5 caps a reply line at 512 octets; we allow slack but not a flood
const MAX_LINE = 4096;
const MAX_REPLY_LINES = 200;

export function parseReplyLines(lines: string[], ms = 0): Reply {
  const code = Number(lines[0]!.slice(0, 3));
  const texts = lines.map((l) => l.slice(4));
  const m = ENHANCED.exec(texts[0] ?? '');
  const enhanced = m?.[1];
  const strip = (t: string) => (enhanced && t.startsWith(enhanced) ? t.slice(enhanced.length).trimStart() : t);
  return { code, ...(enhanced ? { enhanced } : {}), text: texts.map(strip).join(' ').trim(), lines, ms };
}

/** The failure kind of a socket error code. */
function kindOf(err: NodeJS.ErrnoException, family: number): FailureKind {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      // an IPv6 address on a host without IPv6 routing says nothing about the server
      return family === 6 ? 'no-ipv6' : 'unreachable';
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return 'network';
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => SmtpFailure, cleanup?: () => void): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_r, reject) => {
      timer = setTimeout(() => {
        cleanup?.();
        reject(onTimeout());
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export class SmtpSession {
  readonly opts: SessionOptions;
  readonly transcript: TranscriptLine[] = [];
  /** ms per step: connect, tls, banner, ehlo, starttls, ehlo-tls, auth, mail, rcpt:N, rset, quit */
  readonly timings: Record<string, number> = {};
  tls?: TlsInfo;
  /**
   * the certificates read back after the handshake (leaf first): what the server sent,
   * completed up to a root from the trust store when the chain verified (Node's
   * getPeerCertificate does that); exactly what it sent only with `emptyTrustStore`
   */
  peerCertsDer: Buffer[] = [];
  private sock?: net.Socket;
  private readonly t0 = performance.now();
  private buf = '';
  private lines: string[] = [];
  private wake?: () => void;
  private ended?: SmtpFailure;
  private currentStep = 'connect';
  private onAbort = () => this.fail(new SmtpFailure('aborted', this.currentStep, 'the run was cancelled', this.elapsed()));

  private constructor(opts: SessionOptions) {
    this.opts = opts;
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.t0);
  }

  private note(dir: TranscriptLine['dir'], line: string): void {
    this.transcript.push({ t: this.elapsed(), dir, line });
  }

  /** Open a TCP connection (and, for implicit TLS on 465, the TLS session). */
  static async connect(opts: SessionOptions, implicitTls = false): Promise<SmtpSession> {
    const s = new SmtpSession(opts);
    opts.signal?.addEventListener('abort', s.onAbort, { once: true });
    const family = net.isIPv6(opts.ip) ? 6 : 4;
    const t = performance.now();
    const sock = net.connect({ host: opts.ip, port: opts.port, family });
    s.sock = sock;
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          sock.once('connect', resolve);
          sock.once('error', (e: NodeJS.ErrnoException) => reject(new SmtpFailure(kindOf(e, family), 'connect', `${e.code ?? 'error'}: ${e.message}`, Math.round(performance.now() - t))));
        }),
        opts.timeoutMs,
        () => new SmtpFailure('timeout', 'connect', `no TCP connection within ${opts.timeoutMs} ms`, Math.round(performance.now() - t)),
        () => sock.destroy(),
      );
    } catch (e) {
      sock.destroy();
      opts.signal?.removeEventListener('abort', s.onAbort);
      throw e;
    }
    s.timings.connect = Math.round(performance.now() - t);
    s.note('*', `connected to ${net.isIPv6(opts.ip) ? `[${opts.ip}]` : opts.ip}:${opts.port}`);
    s.attach(sock);
    if (implicitTls) {
      try {
        await s.upgrade('tls');
      } catch (e) {
        s.close();
        throw e;
      }
    }
    return s;
  }

  private attach(sock: net.Socket): void {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('error', (e) => this.fail(new SmtpFailure('network', this.currentStep, `connection error: ${e.message}`, this.elapsed())));
    sock.on('close', () => this.fail(new SmtpFailure('closed', this.currentStep, 'the server closed the connection', this.elapsed())));
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf('\n')) !== -1) {
      const line = this.buf.slice(0, i).replace(/\r$/, '');
      this.buf = this.buf.slice(i + 1);
      this.note('S', line);
      this.lines.push(line);
    }
    if (this.buf.length > MAX_LINE) {
      this.fail(new SmtpFailure('protocol', this.currentStep, `a reply line longer than ${MAX_LINE} octets`, this.elapsed()));
      this.sock?.destroy();
    }
    this.wake?.();
  }

  private fail(err: SmtpFailure): void {
    if (this.ended) return;
    this.ended = err;
    this.wake?.();
  }

  /** Wait for one complete (possibly multi-line) reply, bounded by the step timeout. */
  private async readReply(step: string): Promise<Reply> {
    this.currentStep = step;
    const t = performance.now();
    const collected: string[] = [];
    const deadline = t + this.opts.timeoutMs;
    for (;;) {
      while (this.lines.length) {
        const line = this.lines.shift()!;
        const m = REPLY_LINE.exec(line);
        if (!m || (collected.length && m[1] !== collected[0]!.slice(0, 3))) {
          throw new SmtpFailure('protocol', step, `not an SMTP reply line: ${JSON.stringify(line.slice(0, 120))}`, Math.round(performance.now() - t));
        }
        collected.push(line);
        if (collected.length > MAX_REPLY_LINES) throw new SmtpFailure('protocol', step, `a reply of more than ${MAX_REPLY_LINES} lines`, Math.round(performance.now() - t));
        if (m[2] !== '-') {
          const ms = Math.round(performance.now() - t);
          this.timings[step] = (this.timings[step] ?? 0) + ms;
          return parseReplyLines(collected, ms);
        }
      }
      if (this.ended) {
        const e = this.ended;
        throw new SmtpFailure(e.kind, step, e.message, Math.round(performance.now() - t));
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        const ms = Math.round(performance.now() - t);
        this.note('*', `no complete reply within ${this.opts.timeoutMs} ms: gave up`);
        throw new SmtpFailure('timeout', step, `no reply within ${this.opts.timeoutMs} ms`, ms);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** The 220 greeting (RFC 5321 §4.3.1). A tar-pit shows up here as a timeout. */
  greeting(): Promise<Reply> {
    return this.readReply('banner');
  }

  /**
   * Send one command line and read its reply. `secret` lines (SASL data) go to the
   * transcript as `shown` only; DATA and BDAT are refused outright.
   */
  async command(line: string, step: string, opts: { shown?: string; secret?: boolean } = {}): Promise<Reply> {
    if (/^\s*(DATA|BDAT)\b/i.test(line)) throw new Error('inboxlens never sends DATA or BDAT: a probe must not deliver a message');
    if (/[\r\n]/.test(line)) throw new Error('an SMTP command cannot contain a line break');
    if (this.ended) throw new SmtpFailure(this.ended.kind, step, this.ended.message, 0);
    if (opts.secret) registerSecret(line);
    this.note('C', opts.shown ?? line);
    this.sock!.write(`${line}\r\n`);
    return this.readReply(step);
  }

  /** Send STARTTLS and, on 220, run the TLS handshake. Returns the reply (and sets `tls`). */
  async starttls(): Promise<Reply> {
    const r = await this.command('STARTTLS', 'starttls');
    if (r.code !== 220) return r;
    // RFC 3207 §4.2: anything sent before the handshake is discarded
    if (this.lines.length || this.buf) {
      this.note('*', `discarded ${this.lines.length + (this.buf ? 1 : 0)} line(s) the server sent after 220 and before TLS`);
      this.lines = [];
      this.buf = '';
    }
    await this.upgrade('starttls');
    return r;
  }

  /**
   * Wrap the socket in TLS. The probe accepts TLS 1.0 and weak ciphers and does not
   * reject untrusted certificates, so it can *see* old or broken TLS; the chain is
   * judged afterwards from `authorized` / `authorizationError` and the certificate.
   */
  private async upgrade(step: string): Promise<void> {
    this.currentStep = step;
    const plain = this.sock!;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    plain.on('error', () => {});
    const t = performance.now();
    const servername = net.isIP(this.opts.host) ? undefined : this.opts.host;
    const sock = tls.connect({
      socket: plain,
      ...(servername ? { servername } : {}),
      rejectUnauthorized: false,
      // names are checked separately (describeTls), so `authorized` speaks of the chain alone
      checkServerIdentity: () => undefined,
      minVersion: 'TLSv1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
      ...(this.opts.emptyTrustStore ? { ca: [] } : this.opts.ca?.length ? { ca: [...tls.rootCertificates, ...this.opts.ca] } : {}),
    });
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          sock.once('secureConnect', resolve);
          sock.once('error', (e) => reject(new SmtpFailure('tls', step, `TLS handshake failed: ${e.message}`, Math.round(performance.now() - t))));
          sock.once('close', () => reject(new SmtpFailure('tls', step, 'the server closed the connection during the TLS handshake', Math.round(performance.now() - t))));
        }),
        this.opts.timeoutMs,
        () => new SmtpFailure('timeout', step, `no TLS handshake within ${this.opts.timeoutMs} ms`, Math.round(performance.now() - t)),
      );
    } catch (e) {
      sock.destroy();
      this.note('*', (e as Error).message);
      this.fail(e as SmtpFailure);
      throw e;
    }
    sock.removeAllListeners('error');
    sock.removeAllListeners('close');
    const ms = Math.round(performance.now() - t);
    this.timings[step === 'tls' ? 'tls' : 'handshake'] = ms;
    const { info, der } = describeTls(sock, this.opts.host);
    this.tls = info;
    this.peerCertsDer = der;
    this.note('*', `TLS up: ${info.protocol} ${info.cipher.name}, certificate ${info.cert?.subject ?? '(none)'}${info.authorized ? '' : ` (${info.authorizationError ?? 'not trusted'})`}`);
    this.sock = sock;
    this.attach(sock);
  }

  /** Best-effort QUIT (bounded), then close. Safe to call at any point. */
  async quit(): Promise<Reply | undefined> {
    let r: Reply | undefined;
    if (!this.ended && this.sock && !this.sock.destroyed) {
      try {
        r = await this.command('QUIT', 'quit');
      } catch {
        // the server may just hang up after QUIT, which is fine
      }
    }
    this.close();
    return r;
  }

  close(): void {
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.fail(new SmtpFailure('closed', this.currentStep, 'closed by inboxlens', this.elapsed()));
    this.sock?.destroy();
  }

  get alive(): boolean {
    return !this.ended;
  }

  /** our side of the connection, for the EHLO address literal */
  get localAddress(): string | undefined {
    return this.sock?.localAddress;
  }
}

/** EHLO keywords and their parameters (RFC 5321 §4.1.1.1): `{ SIZE: '35882577', AUTH: 'PLAIN LOGIN', STARTTLS: '' }`. */
export function parseEhlo(r: Reply): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of r.lines.slice(1)) {
    const t = l.slice(4).trim();
    if (!t) continue;
    const [kw, ...rest] = t.split(/\s+/);
    // some servers also send "AUTH=LOGIN PLAIN" (pre-RFC 4954 clients); merge it
    const key = kw!.toUpperCase().replace(/=.*$/, '');
    const val = [kw!.includes('=') ? kw!.slice(kw!.indexOf('=') + 1) : '', ...rest].filter(Boolean).join(' ');
    out[key] = out[key] ? [...new Set(`${out[key]} ${val}`.trim().split(/\s+/))].join(' ') : val;
  }
  return out;
}

/** The host name a banner announces: the first word after the code (RFC 5321 §4.3.1). */
export function bannerHost(r: Reply): string | undefined {
  const first = r.lines[0]?.slice(4).trim().split(/\s+/)[0];
  if (!first || !/^[a-z0-9][a-z0-9.-]*\.[a-z0-9-]+\.?$/i.test(first)) return undefined;
  return first.replace(/\.$/, '').toLowerCase();
}

/** The EHLO name: a configured one, else an address literal of our side (RFC 5321 §4.1.3). */
export function ehloName(configured: string | undefined, localAddress: string | undefined): string {
  if (configured) return configured;
  if (localAddress && net.isIPv4(localAddress)) return `[${localAddress}]`;
  if (localAddress && net.isIPv6(localAddress)) return `[IPv6:${localAddress}]`;
  return '[127.0.0.1]';
}
