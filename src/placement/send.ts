// Send: one copy per seed through the user's SMTP server with nodemailer (one
// message to all seeds at once places differently), each carrying the run token
// in a header, the body and by default the Subject, with a proper Message-ID and
// Date, optional List-Unsubscribe + List-Unsubscribe-Post (RFC 8058) covered by
// the DKIM signature's h= (§4), and the SMTP server's answer recorded per seed.
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readInputFile, INPUT_LIMITS } from '../util/read-input.ts';
import type { SendMailOptions } from 'nodemailer';
import { registerCredentials, registerSecret } from '../util/redact.ts';
import { UsageError } from '../util/errors.ts';
import { refuseControl } from '../util/validate.ts';
import type { DnsClient } from '../dns/resolver.ts';
import { HostResolveError, resolveHost } from './hosts.ts';
import type { Seed, SendResult } from './types.ts';

export interface SmtpTarget {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  pass?: string;
  /** PEM of a CA to trust (a lab or private relay) */
  ca?: string;
  insecure: boolean;
  /** allow AUTH without TLS (a lab on loopback) */
  allowPlaintext: boolean;
}

/** `smtp://user@host:587` (STARTTLS) or `smtps://user@host:465`; the password comes from the environment. */
export function parseSmtpUrl(spec: string, env: NodeJS.ProcessEnv = process.env, passVar = 'INBOXLENS_SMTP_PASS'): SmtpTarget {
  let u: URL;
  try {
    u = new URL(spec);
  } catch {
    throw new UsageError(`--smtp: '${spec}' is not a URL (use smtp://user@host:587 or smtps://user@host:465)`);
  }
  if (u.password) {
    const p = decodeURIComponent(u.password);
    registerSecret(p);
    registerSecret(u.password);
    throw new UsageError(`--smtp: do not put the password in the URL (it ends up in shell history and process lists); set ${passVar} in the environment instead`);
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') throw new UsageError(`--smtp: '${u.protocol}' is not supported; use smtp:// (STARTTLS) or smtps:// (implicit TLS)`);
  const secure = u.protocol === 'smtps:';
  if (!u.hostname) throw new UsageError('--smtp: the URL names no host (e.g. smtp://user@smtp.example.com:587)');
  const port = u.port ? Number(u.port) : secure ? 465 : 587;
  const user = u.username ? decodeURIComponent(u.username) : undefined;
  const pass = env[passVar];
  if (pass) registerCredentials(user, pass);
  if (user && !pass) throw new UsageError(`--smtp: the URL names user '${user}' but ${passVar} is not set; export the password as ${passVar}`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port, secure, ...(user ? { user, pass } : {}), insecure: false, allowPlaintext: false };
}

/** A run token: unique, short, safe in a header, a subject and IMAP SEARCH. */
export function makeToken(): string {
  return `il-${Date.now().toString(36)}-${randomBytes(5).toString('hex')}`;
}

export interface DkimOptions {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

export function loadDkim(file: string, selector: string | undefined, domain: string): DkimOptions {
  if (!selector) throw new UsageError('--dkim-key needs --dkim-selector (the selector whose DNS record holds the public key)');
  const pem = readInputFile(file, { what: '--dkim-key', maxBytes: INPUT_LIMITS.key, encoding: 'utf8' });
  try {
    createPrivateKey(pem);
  } catch {
    throw new UsageError(`--dkim-key: '${file}' is not a PEM private key (RSA or Ed25519)`);
  }
  registerSecret(pem.trim());
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/i.test(selector)) throw new UsageError(`--dkim-selector: '${selector}' is not a valid selector`);
  return { domainName: domain, keySelector: selector, privateKey: pem };
}

/**
 * Every header the signature should cover: RFC 6376 §5.4.1's list plus both
 * List-Unsubscribe headers, which RFC 8058 §4 requires to be signed.
 */
export const DKIM_HEADERS = 'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:In-Reply-To:References:List-Id:List-Unsubscribe:List-Unsubscribe-Post:X-Inboxlens-Token';

export interface MessageSpec {
  from: string;
  /** envelope sender (bounces); defaults to from */
  mailFrom?: string;
  subject: string;
  text?: string;
  html?: string;
  attachments?: { filename?: string; content: Buffer; contentType?: string; cid?: string }[];
  /** https: and mailto: URIs for List-Unsubscribe; an https one adds List-Unsubscribe-Post (one-click) */
  listUnsubscribe?: string[];
  /** put the token in the Subject (default true) */
  tokenInSubject: boolean;
  dkim?: DkimOptions;
  /** extra headers from --message */
  headers?: Record<string, string>;
}

const DEFAULT_TEXT = 'This is a deliverability test message sent by inboxlens to seed mailboxes you control.\n';

/** Read a message (.eml) as the body to send: subject, text, html and attachments. */
export async function messageFromEml(file: string): Promise<Pick<MessageSpec, 'subject' | 'text' | 'html' | 'attachments'>> {
  const raw = readInputFile(file, { what: '--message', maxBytes: INPUT_LIMITS.message, stdin: true });
  // loaded on demand: most runs never parse an .eml, and every command pays for what is loaded at start
  const { simpleParser } = await import('mailparser');
  const m = await simpleParser(raw);
  if (!m.text && !m.html) throw new UsageError(`--message: '${file}' has no text or HTML body`);
  return {
    subject: m.subject ?? 'inboxlens placement test',
    ...(m.text ? { text: m.text } : {}),
    ...(typeof m.html === 'string' ? { html: m.html } : {}),
    attachments: m.attachments.map((a) => ({ content: a.content, ...(a.filename ? { filename: a.filename } : {}), contentType: a.contentType, ...(a.cid ? { cid: a.cid } : {}) })),
  };
}

export function validateUnsubscribe(uris: string[]): string[] {
  return uris.map((u) => {
    refuseControl(u, '--list-unsubscribe');
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new UsageError(`--list-unsubscribe: '${u}' is not a URI (use https://… for one-click, or mailto:…)`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'mailto:') throw new UsageError(`--list-unsubscribe: '${u}' must be https: (one-click, RFC 8058) or mailto:`);
    return url.toString();
  });
}

function domainOf(addr: string): string {
  return addr.replace(/^.*@/, '').replace(/>.*$/, '').toLowerCase();
}

/** The nodemailer message for one seed. */
export function buildMessage(spec: MessageSpec, seed: Seed, token: string, n: number): SendMailOptions {
  const fromDomain = domainOf(spec.from);
  const messageId = `<${token}.${n}.${randomBytes(4).toString('hex')}@${fromDomain}>`;
  const footerText = `\n\n--\ninboxlens test ${token}\n`;
  const footerHtml = `<p style="color:#888;font-size:11px">inboxlens test ${token}</p>`;
  const headers: Record<string, string> = { ...(spec.headers ?? {}), 'X-Inboxlens-Token': token };
  if (spec.listUnsubscribe?.length) {
    headers['List-Unsubscribe'] = spec.listUnsubscribe.map((u) => `<${u}>`).join(', ');
    if (spec.listUnsubscribe.some((u) => u.startsWith('https:'))) headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  const text = spec.text ?? (spec.html ? undefined : DEFAULT_TEXT);
  return {
    from: spec.from,
    to: seed.address,
    envelope: { from: spec.mailFrom ?? spec.from, to: [seed.address] },
    subject: spec.tokenInSubject ? `${spec.subject} [${token}]` : spec.subject,
    messageId,
    date: new Date(),
    headers,
    ...(text !== undefined ? { text: `${text.replace(/\s+$/, '')}${footerText}` } : {}),
    ...(spec.html ? { html: /<\/body>/i.test(spec.html) ? spec.html.replace(/<\/body>/i, `${footerHtml}</body>`) : `${spec.html}${footerHtml}` } : {}),
    ...(spec.attachments?.length ? { attachments: spec.attachments } : {}),
    ...(spec.dkim ? { dkim: { ...spec.dkim, headerFieldNames: DKIM_HEADERS } } : {}),
  };
}

/**
 * The exact bytes one seed's copy will carry (headers, body, DKIM signature), built
 * by nodemailer without sending: what the content check judges for `placement
 * send --content` and the demo.
 */
export async function composeCopy(spec: MessageSpec, seed: Seed, token: string, n = 1): Promise<Buffer> {
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' } as any);
  const info: any = await transport.sendMail(buildMessage(spec, seed, token, n));
  return info.message as Buffer;
}

function outcomeOf(code: number | undefined): SendResult['status'] {
  if (code === undefined) return 'error';
  if (code >= 500) return 'rejected';
  if (code >= 400) return 'deferred';
  return 'accepted';
}

/** The nodemailer SMTP connection's own callback API, as promises. */
type Conn = import('nodemailer/lib/smtp-connection').default;

/**
 * One step of the session: done when nodemailer calls back, or fails when the
 * connection errs or ends first (some failures are only emitted as events).
 */
function step<T>(c: Conn, start: (cb: (err?: Error | null, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: Error | null, v?: T) => {
      if (done) return;
      done = true;
      c.off('error', finish);
      c.off('end', onEnd);
      if (err) reject(err);
      else resolve(v as T);
    };
    const onEnd = () => finish(Object.assign(new Error('the SMTP server closed the connection'), { code: 'ECONNECTION' }));
    c.on('error', finish);
    c.on('end', onEnd);
    try {
      start(finish);
    } catch (e) {
      finish(e as Error);
    }
  });
}
const connectConn = (c: Conn) => step<void>(c, (cb) => c.connect((err?: unknown) => cb(err as Error | undefined)));
const loginConn = (c: Conn, user: string, pass: string) => step<void>(c, (cb) => c.login({ user, pass }, (err?: Error | null) => cb(err)));
const sendConn = (c: Conn, envelope: { from: string; to: string[] }, raw: Buffer) => step<any>(c, (cb) => c.send(envelope, raw, (err: Error | null, info: unknown) => cb(err, info)));
const resetConn = (c: Conn) => step<boolean>(c, (cb) => c.reset((err?: Error | null) => cb(null, !err))).catch(() => false);

/** QUIT, then wait (bounded) for the server to close; a session is never just dropped. */
async function quitConn(c: Conn): Promise<void> {
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      c.close();
      resolve();
    }, 5000);
    c.once('end', () => {
      clearTimeout(t);
      resolve();
    });
    try {
      c.quit();
    } catch {
      clearTimeout(t);
      c.close();
      resolve();
    }
  });
}

/**
 * Send one copy per seed over a few SMTP sessions of our own (nodemailer's
 * SMTPConnection): each copy is composed by nodemailer (MIME, DKIM), a refused copy
 * is followed by RSET and the session goes on, and every session ends with QUIT
 * (nodemailer's pool and transport close their sockets without it). The submission
 * host resolves through `dns` (--resolver) when given; TLS still names the host.
 */
export async function sendCopies(spec: MessageSpec, seeds: Seed[], token: string, smtp: SmtpTarget, opts: { onSent?(r: SendResult): void; maxConnections?: number; dns?: DnsClient } = {}): Promise<SendResult[]> {
  const [{ default: SMTPConnection }, { default: nodemailer }] = await Promise.all([import('nodemailer/lib/smtp-connection'), import('nodemailer')]);
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' } as any);
  const results: SendResult[] = new Array(seeds.length);
  const record = (i: number, r: SendResult) => {
    results[i] = r;
    opts.onSent?.(r);
  };
  let address = smtp.host;
  let resolveError: string | undefined;
  if (opts.dns) {
    try {
      address = await resolveHost(smtp.host, opts.dns);
    } catch (e) {
      if (!(e instanceof HostResolveError)) throw e;
      resolveError = `the SMTP server ${e.message}`;
    }
  }
  const options = {
    host: address,
    port: smtp.port,
    secure: smtp.secure,
    ...(address !== smtp.host ? { servername: smtp.host } : {}),
    // credentials never cross the network in clear unless the user allowed it for a lab
    requireTLS: Boolean(smtp.user) && !smtp.secure && !smtp.allowPlaintext,
    tls: { rejectUnauthorized: !smtp.insecure, minVersion: 'TLSv1.2', ...(smtp.ca ? { ca: smtp.ca } : {}), ...(address !== smtp.host ? { servername: smtp.host } : {}) },
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
    logger: false,
  };
  // sessions the server has not closed (an idle session may be dropped between copies)
  const alive = new WeakSet<Conn>();
  const open = async (): Promise<Conn> => {
    const c = new SMTPConnection(options as any);
    // failures surface through the awaited calls; an unheard 'error' event would end the process
    c.on('error', () => {});
    alive.add(c);
    c.once('end', () => alive.delete(c));
    try {
      await connectConn(c);
    } catch (e) {
      c.close();
      throw e;
    }
    try {
      if (smtp.user && c.allowsAuth) await loginConn(c, smtp.user, smtp.pass ?? '');
    } catch (e) {
      // the login was refused, the session is still up: end it properly
      await quitConn(c);
      throw e;
    }
    return c;
  };
  let next = 0;
  const worker = async () => {
    let conn: Conn | undefined;
    while (next < seeds.length) {
      const i = next++;
      const seed = seeds[i]!;
      const msg = buildMessage(spec, seed, token, i + 1);
      const composed: any = await composer.sendMail(msg);
      const messageId = msg.messageId as string;
      const envelope = { from: composed.envelope.from || '', to: [seed.address] };
      if (resolveError) {
        record(i, { seed: seed.address, status: 'error', messageId, sentAt: new Date().toISOString(), error: resolveError });
        continue;
      }
      try {
        if (conn && !alive.has(conn)) conn = undefined;
        conn ??= await open();
        const info = await sendConn(conn, envelope, composed.message as Buffer);
        const rejected = (info.rejected ?? []).length > 0;
        const m = /^(\d{3})/.exec(String(info.response ?? ''));
        const code = m ? Number(m[1]) : 250;
        record(i, { seed: seed.address, status: rejected ? 'rejected' : 'accepted', code: rejected ? (info.rejectedErrors?.[0]?.responseCode ?? 550) : code, response: String(rejected ? info.rejectedErrors?.[0]?.response ?? info.response : info.response ?? ''), messageId, sentAt: new Date().toISOString() });
      } catch (e) {
        const err = e as any;
        const code = typeof err.responseCode === 'number' ? err.responseCode : undefined;
        // only a reply about this copy (RCPT, DATA) says where it went; a refused login or a broken
        // session says nothing about the receiver: the copy was not sent
        const aboutCopy = err.code === 'EENVELOPE' || err.code === 'EMESSAGE';
        const status = aboutCopy ? outcomeOf(code) : 'error';
        record(i, {
          seed: seed.address,
          status,
          ...(code !== undefined ? { code } : {}),
          ...(err.response ? { response: String(err.response) } : {}),
          messageId,
          sentAt: new Date().toISOString(),
          ...(status === 'error' ? { error: `${err.code === 'EAUTH' ? `the SMTP server refused the login of ${smtp.user}` : err.code ?? 'failed'}: ${err.response ?? err.message}` } : {}),
        });
        // the server refused this copy but the session is fine: RSET and go on; otherwise start a new session
        const refused = (err.code === 'EENVELOPE' || err.code === 'EMESSAGE') && code !== 421;
        if (conn && !(refused && (await resetConn(conn)))) {
          const c = conn;
          conn = undefined;
          if (code !== undefined && code !== 421) await quitConn(c);
          else c.close();
        }
      }
    }
    if (conn) await quitConn(conn);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.maxConnections ?? 5, seeds.length)) }, worker));
  return results;
}
