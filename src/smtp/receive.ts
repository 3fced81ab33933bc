// The receiving side: one diagnostic session per MX address (banner, EHLO,
// STARTTLS, certificate, timings), and recipient verification (MAIL FROM / RCPT TO,
// rate-limited per host, always RSET and QUIT, never DATA).
import crypto from 'node:crypto';
import { SmtpFailure, SmtpSession, bannerHost, ehloName, parseEhlo, type FailureKind, type Reply, type TranscriptLine } from './probe.ts';
import type { TlsInfo } from './tls.ts';

export interface MxAddress {
  host: string;
  priority: number;
  ip: string;
}

export interface ProbeOptions {
  port: number;
  timeoutMs: number;
  ca?: string[];
  /** EHLO name; default an address literal of our side */
  helo?: string;
  signal?: AbortSignal;
}

export interface FailureInfo {
  kind: FailureKind;
  step: string;
  message: string;
  ms: number;
}

export type ProbeStatus = 'ok' | 'unreachable' | 'no-ipv6' | 'slow' | 'refused-greeting' | 'error';

export interface MxProbe extends MxAddress {
  port: number;
  status: ProbeStatus;
  failure?: FailureInfo;
  greetingCode?: number;
  banner?: string;
  bannerHost?: string;
  esmtp?: boolean;
  /** EHLO keywords before TLS, with their parameters */
  extensions?: Record<string, string>;
  /** EHLO keywords after STARTTLS */
  extensionsTls?: Record<string, string>;
  starttls: { offered: boolean; attempted: boolean; ok: boolean; reply?: string; error?: string };
  tls?: TlsInfo;
  timings: Record<string, number>;
  transcript: TranscriptLine[];
  /** certificates read back after the handshake (DER, leaf first; completed from the trust store); not serialised */
  certsDer?: Buffer[];
}

/**
 * The certificates the server itself sends in its TLS handshake (leaf first), from a
 * second, short session whose handshake trusts nothing: the probe's own session
 * completes the chain from the local trust store, and DANE-TA may only match what
 * the server presented (RFC 7671 §5.2.2). Connect, EHLO, STARTTLS, QUIT.
 */
export async function presentedChain(a: MxAddress, o: ProbeOptions): Promise<{ der: Buffer[] } | { error: string }> {
  let s: SmtpSession;
  try {
    s = await SmtpSession.connect({ host: a.host, ip: a.ip, port: o.port, timeoutMs: o.timeoutMs, emptyTrustStore: true, signal: o.signal });
  } catch (e) {
    if (!(e instanceof SmtpFailure)) throw e;
    return { error: e.message };
  }
  try {
    const g = await s.greeting();
    if (g.code !== 220) return { error: `${a.host} refused the session: ${g.code} ${g.text}` };
    const name = ehloName(o.helo, s.localAddress);
    const e = await s.command(`EHLO ${name}`, 'ehlo');
    if (e.code !== 250 || !('STARTTLS' in parseEhlo(e))) return { error: 'the second session offered no STARTTLS' };
    const r = await s.starttls();
    if (r.code !== 220) return { error: `STARTTLS answered ${r.code} ${r.text}` };
    return { der: s.peerCertsDer };
  } catch (e) {
    if (!(e instanceof SmtpFailure)) throw e;
    return { error: `${e.step}: ${e.message}` };
  } finally {
    await s.quit();
  }
}

function failureInfo(e: SmtpFailure): FailureInfo {
  return { kind: e.kind, step: e.step, message: e.message, ms: e.ms };
}

/** Where a failed step leaves the address: never a silent pass. */
export function statusOf(e: SmtpFailure): ProbeStatus {
  if (e.step === 'connect') return e.kind === 'no-ipv6' ? 'no-ipv6' : 'unreachable';
  if (e.kind === 'timeout') return 'slow';
  return 'error';
}

/** One diagnostic session: connect, banner, EHLO, STARTTLS, EHLO again, QUIT. */
export async function probeMx(a: MxAddress, o: ProbeOptions): Promise<MxProbe> {
  const p: MxProbe = { ...a, port: o.port, status: 'ok', starttls: { offered: false, attempted: false, ok: false }, timings: {}, transcript: [] };
  let s: SmtpSession;
  try {
    s = await SmtpSession.connect({ host: a.host, ip: a.ip, port: o.port, timeoutMs: o.timeoutMs, ca: o.ca, signal: o.signal });
  } catch (e) {
    if (!(e instanceof SmtpFailure)) throw e;
    p.status = statusOf(e);
    p.failure = failureInfo(e);
    p.timings.connect = e.ms;
    p.transcript.push({ t: e.ms, dir: '*', line: `connect failed: ${e.message}` });
    return p;
  }
  try {
    const g = await s.greeting();
    p.greetingCode = g.code;
    p.banner = g.lines.map((l) => l.slice(4)).join(' ').trim();
    const bh = bannerHost(g);
    if (bh) p.bannerHost = bh;
    if (g.code !== 220) {
      // 554 instead of 220 (RFC 5321 §3.1): this server will not talk to us
      p.status = 'refused-greeting';
      return p;
    }
    const name = ehloName(o.helo, s.localAddress);
    let e = await s.command(`EHLO ${name}`, 'ehlo');
    if (e.code !== 250) {
      p.esmtp = false;
      await s.command(`HELO ${name}`, 'helo');
      p.extensions = {};
      return p;
    }
    p.esmtp = true;
    p.extensions = parseEhlo(e);
    if ('STARTTLS' in p.extensions) {
      p.starttls.offered = true;
      p.starttls.attempted = true;
      try {
        const r = await s.starttls();
        p.starttls.reply = r.lines.join(' ');
        if (r.code === 220) {
          p.starttls.ok = true;
          p.tls = s.tls;
          p.certsDer = s.peerCertsDer;
          e = await s.command(`EHLO ${name}`, 'ehlo-tls');
          if (e.code === 250) p.extensionsTls = parseEhlo(e);
        } else {
          p.starttls.error = `STARTTLS answered ${r.code} ${r.text}`;
        }
      } catch (err) {
        if (!(err instanceof SmtpFailure) || (err.step !== 'starttls' && err.kind !== 'tls')) throw err;
        p.starttls.error = err.message;
        if (err.kind === 'timeout') {
          p.status = 'slow';
          p.failure = failureInfo(err);
        }
      }
    }
  } catch (e) {
    if (!(e instanceof SmtpFailure)) throw e;
    p.status = statusOf(e);
    p.failure = failureInfo(e);
  } finally {
    await s.quit();
    Object.assign(p.timings, s.timings);
    p.transcript = s.transcript;
  }
  return p;
}

// ---- recipient verification ----

export type RcptStatus = 'accepted' | 'rejected' | 'greylisted' | 'deferred' | 'unknown';

/**
 * What a 4xx reply means, told by its enhanced code and its words together:
 * greylisting (the text says so), postscreen (450 4.3.2 after its greeting tests:
 * a retry from the same client passes), policy (4.7.x without greylisting words:
 * a temporary policy refusal), misconfigured (4.3.5: the receiver's own set-up is
 * broken, e.g. Postfix's policy service is unreachable), mailbox-full (4.2.2).
 */
export type TempKind = 'greylisting' | 'postscreen' | 'policy' | 'misconfigured' | 'mailbox-full' | 'other';

export interface RcptResult {
  address: string;
  status: RcptStatus;
  code?: number;
  enhanced?: string;
  text?: string;
  /** for rejections: a mailbox problem (5.1.x, 5.2.1) or a policy refusal (5.7.x) that says nothing about the mailbox */
  rejectKind?: 'mailbox' | 'policy' | 'other';
  /** for 4xx replies (greylisted, deferred): what kind of temporary failure */
  tempKind?: TempKind;
  /** why the status is unknown */
  reason?: string;
}

export interface RcptRun {
  host: string;
  ip: string;
  port: number;
  tls: boolean;
  mailFrom: string;
  mailFromReply?: { code: number; enhanced?: string; text: string };
  results: RcptResult[];
  /** the random local part probe (catch-all detection), when it was made */
  catchAll?: RcptResult;
  reset: boolean;
  quit: boolean;
  failure?: FailureInfo;
  timings: Record<string, number>;
  transcript: TranscriptLine[];
}

/**
 * The kind of a 4xx reply, by enhanced code and words. A reply code or an enhanced
 * code alone does not say greylisting: `450 4.7.1 Policy service unavailable` is
 * Postfix deferring because its policy service is down, `451 4.3.5 Server
 * configuration problem` a broken receiver. Greylisting says so in its text
 * (postgrey: "Greylisted, see …", its action DEFER_IF_PERMIT; milter-greylist:
 * "Greylisting in action"); without an enhanced code that means something else,
 * "try again later" counts too (OpenBSD spamd: "451 Temporary failure, please try
 * again later").
 */
export function tempKindOf(r: Pick<Reply, 'code' | 'enhanced' | 'text'>): TempKind | undefined {
  if (r.code < 400 || r.code >= 500) return undefined;
  const e = r.enhanced ?? /^([45]\.\d{1,3}\.\d{1,3})\b/.exec(r.text)?.[1];
  if (e === '4.3.5') return 'misconfigured';
  if (/gr[ae]y[- ]?list|DEFER_IF_PERMIT/i.test(r.text)) return 'greylisting';
  if (e === '4.3.2' && r.code === 450 && /service currently unavailable/i.test(r.text)) return 'postscreen';
  if (e === '4.2.2') return 'mailbox-full';
  if (e?.startsWith('4.7.')) return 'policy';
  if ((!e || /^4\.[02]\.0$/.test(e)) && /try again later|please (retry|try again|come back)|temporarily (deferred|rejected)/i.test(r.text)) return 'greylisting';
  return 'other';
}

/** Greylisting (RFC 6647), or postscreen's after-greeting deferral: a retrying sender gets through. */
export function isGreylisting(r: Pick<Reply, 'code' | 'enhanced' | 'text'>): boolean {
  const k = tempKindOf(r);
  return k === 'greylisting' || k === 'postscreen';
}

export function classifyRcpt(address: string, r: Reply): RcptResult {
  const base = { address, code: r.code, ...(r.enhanced ? { enhanced: r.enhanced } : {}), text: r.text };
  if (r.code >= 200 && r.code < 300) return { ...base, status: 'accepted' };
  if (r.code >= 400 && r.code < 500) {
    const tempKind = tempKindOf(r)!;
    return { ...base, status: tempKind === 'greylisting' || tempKind === 'postscreen' ? 'greylisted' : 'deferred', tempKind };
  }
  if (r.code >= 500) {
    const e = r.enhanced ?? '';
    const rejectKind = /^5\.7\./.test(e) ? 'policy' : /^5\.1\.|^5\.2\.1$/.test(e) || (!e && (r.code === 550 || r.code === 551 || r.code === 553)) ? 'mailbox' : 'other';
    return { ...base, status: 'rejected', rejectKind };
  }
  return { ...base, status: 'unknown', reason: `unexpected reply ${r.code}` };
}

/**
 * Per-address pacing of RCPT commands, shared by every session of this process: a
 * caller returns only when `intervalMs` has passed since the last RCPT to that
 * address, and sends its own right away (the slot is taken synchronously).
 */
const lastRcpt = new Map<string, number>();
async function paced(ip: string, intervalMs: number, signal?: AbortSignal): Promise<void> {
  for (;;) {
    const now = performance.now();
    const next = (lastRcpt.get(ip) ?? -Infinity) + intervalMs;
    if (now >= next || signal?.aborted) {
      lastRcpt.set(ip, now);
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.ceil(next - now));
      signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    });
  }
}

export function randomLocalPart(): string {
  return `inboxlens-probe-${crypto.randomBytes(6).toString('hex')}`;
}

export interface VerifyOptions extends ProbeOptions {
  /** the reverse-path: '' for the null sender <> (RFC 5321 §4.5.5, what callout verifiers use) */
  mailFrom: string;
  /** minimum ms between two RCPT commands to the same address */
  intervalMs: number;
  /** the domain whose catch-all behaviour to test with a random local part; none: no test */
  catchAllDomain?: string;
}

/**
 * MAIL FROM, one RCPT TO per address (paced), a random local part for catch-all
 * detection, then RSET and QUIT, whatever happened in between. Never DATA.
 */
export async function verifyRecipients(a: MxAddress, rcpts: string[], o: VerifyOptions): Promise<RcptRun> {
  const run: RcptRun = { host: a.host, ip: a.ip, port: o.port, tls: false, mailFrom: o.mailFrom, results: [], reset: false, quit: false, timings: {}, transcript: [] };
  const unknown = (reason: string) => {
    for (const addr of rcpts) if (!run.results.some((r) => r.address === addr)) run.results.push({ address: addr, status: 'unknown', reason });
  };
  let s: SmtpSession;
  try {
    s = await SmtpSession.connect({ host: a.host, ip: a.ip, port: o.port, timeoutMs: o.timeoutMs, ca: o.ca, signal: o.signal });
  } catch (e) {
    if (!(e instanceof SmtpFailure)) throw e;
    run.failure = failureInfo(e);
    unknown(`could not connect to ${a.host} [${a.ip}]:${o.port}: ${e.message}`);
    return run;
  }
  let mailSent = false;
  try {
    const g = await s.greeting();
    if (g.code !== 220) {
      unknown(`${a.host} refused the session: ${g.code} ${g.text}`);
      return run;
    }
    const name = ehloName(o.helo, s.localAddress);
    const e = await s.command(`EHLO ${name}`, 'ehlo');
    if (e.code !== 250) {
      await s.command(`HELO ${name}`, 'helo');
    } else if ('STARTTLS' in parseEhlo(e)) {
      // recipients go over TLS when the server offers it, as a real sender's would
      const r = await s.starttls();
      if (r.code === 220) {
        run.tls = true;
        await s.command(`EHLO ${name}`, 'ehlo-tls');
      }
    }
    mailSent = true;
    const m = await s.command(`MAIL FROM:<${o.mailFrom}>`, 'mail');
    run.mailFromReply = { code: m.code, ...(m.enhanced ? { enhanced: m.enhanced } : {}), text: m.text };
    if (m.code < 200 || m.code >= 300) {
      unknown(`MAIL FROM:<${o.mailFrom}> was refused: ${m.code}${m.enhanced ? ` ${m.enhanced}` : ''} ${m.text}`);
      return run;
    }
    for (const [i, addr] of rcpts.entries()) {
      await paced(a.ip, o.intervalMs, o.signal);
      const r = await s.command(`RCPT TO:<${addr}>`, `rcpt:${i + 1}`);
      run.results.push(classifyRcpt(addr, r));
      // 421: the server is closing the session (often: too many probes from this IP)
      if (r.code === 421) {
        unknown(`${a.host} closed the session (421 ${r.text}) before this address was tried`);
        return run;
      }
    }
    if (o.catchAllDomain) {
      await paced(a.ip, o.intervalMs, o.signal);
      const addr = `${randomLocalPart()}@${o.catchAllDomain}`;
      run.catchAll = classifyRcpt(addr, await s.command(`RCPT TO:<${addr}>`, 'rcpt:random'));
    }
  } catch (e) {
    if (!(e instanceof SmtpFailure)) throw e;
    run.failure = failureInfo(e);
    unknown(e.kind === 'timeout' ? `${a.host} did not answer within the timeout (${e.step}): ${e.message}` : `${e.step}: ${e.message}`);
  } finally {
    // the transaction always ends with RSET and the session with QUIT, whatever happened
    if (mailSent && s.alive) {
      try {
        const r = await s.command('RSET', 'rset');
        run.reset = r.code >= 200 && r.code < 300;
      } catch {
        // the session died; nothing more to end
      }
    }
    const q = await s.quit();
    run.quit = Boolean(q);
    Object.assign(run.timings, s.timings);
    run.transcript = s.transcript;
  }
  return run;
}
