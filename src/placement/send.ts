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

/** Send one copy per seed (a small connection pool, all seeds queued at once). */
export async function sendCopies(spec: MessageSpec, seeds: Seed[], token: string, smtp: SmtpTarget, opts: { onSent?(r: SendResult): void; maxConnections?: number } = {}): Promise<SendResult[]> {
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: opts.maxConnections ?? 5,
    maxMessages: Infinity,
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    // credentials never cross the network in clear unless the user allowed it for a lab
    requireTLS: Boolean(smtp.user) && !smtp.secure && !smtp.allowPlaintext,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.pass ?? '' } } : {}),
    tls: { rejectUnauthorized: !smtp.insecure, minVersion: 'TLSv1.2', ...(smtp.ca ? { ca: smtp.ca } : {}) },
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
    logger: false,
  } as any);
  try {
    return await Promise.all(seeds.map(async (seed, i) => {
      const msg = buildMessage(spec, seed, token, i + 1);
      let r: SendResult;
      try {
        const info: any = await transport.sendMail(msg);
        const rejected = (info.rejected ?? []).length > 0;
        const m = /^(\d{3})/.exec(String(info.response ?? ''));
        const code = m ? Number(m[1]) : 250;
        r = { seed: seed.address, status: rejected ? 'rejected' : 'accepted', code: rejected ? (info.rejectedErrors?.[0]?.responseCode ?? 550) : code, response: String(rejected ? info.rejectedErrors?.[0]?.response ?? info.response : info.response ?? ''), messageId: msg.messageId as string, sentAt: new Date().toISOString() };
      } catch (e) {
        const err = e as any;
        const code = typeof err.responseCode === 'number' ? err.responseCode : undefined;
        r = {
          seed: seed.address,
          status: outcomeOf(code),
          ...(code !== undefined ? { code } : {}),
          ...(err.response ? { response: String(err.response) } : {}),
          messageId: msg.messageId as string,
          sentAt: new Date().toISOString(),
          ...(code === undefined ? { error: `${err.code ? `${err.code}: ` : ''}${err.message}` } : {}),
        };
      }
      opts.onSent?.(r);
      return r;
    }));
  } finally {
    transport.close();
  }
}
