// DMARC failure reports: the ARF form (RFC 5965 message/feedback-report with
// Feedback-Type: auth-failure, RFC 6591; RFC 9991 for DMARC) and the plain-text
// forms some receivers send instead (Exim's "DMARC Forensic Report", Netease's).
// They carry no report id, so a dedupe key is made from what identifies the
// incident: reporter, reported domain, source IP, arrival time, the original
// Message-ID, envelope sender and recipient. The same report saved with CRLF
// or LF line ends, or imported twice, gets the same key.
// The "Name: value" lines of a feedback-report part are read here: they are
// RFC 5322 header syntax, a few lines, and mailparser hands the part over raw.
import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { FailureReport } from './types.ts';

export interface MailView {
  /** the report e-mail's From domain */
  fromDomain: string;
  subject: string;
  /** text/plain body (with inline message/rfc822 parts excluded) */
  text: string;
  /** attachments by content type */
  parts: { contentType: string; content: Buffer }[];
}

/** Header-style fields (unfolded), names lower case; repeated names keep every value. */
export function parseFields(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const unfolded = text.replace(/\r\n/g, '\n').split(/\n\n/)[0]!.replace(/\n[ \t]+/g, ' ');
  for (const line of unfolded.split('\n')) {
    const m = /^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$/.exec(line);
    if (!m) continue;
    const k = m[1]!.toLowerCase();
    out.set(k, [...(out.get(k) ?? []), m[2]!.trim()]);
  }
  return out;
}

const first = (f: Map<string, string[]>, k: string): string | undefined => f.get(k)?.find((v) => v !== '') ?? undefined;
const addr = (s?: string): string | undefined => {
  if (!s) return undefined;
  const m = /<([^>]*)>/.exec(s);
  const a = (m ? m[1]! : s).trim();
  return a || undefined;
};
const domainOf = (a?: string): string | undefined => a?.split('@').pop()?.toLowerCase().replace(/[>\s]/g, '') || undefined;

function isoTime(s?: string): string | undefined {
  if (!s) return undefined;
  const t = Date.parse(s.replace(/\s*\([^)]*\)\s*$/, ''));
  return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
}

function ip(s?: string): string | undefined {
  if (!s) return undefined;
  const v = s.trim().replace(/^\[|\]$/g, '');
  return ipaddr.isValid(v) ? ipaddr.process(v).toString() : undefined;
}

/** Is this a failure report at all? An ARF part, or the words receivers use in a plain-text one. */
export function looksLikeFailureReport(m: MailView): boolean {
  if (m.parts.some((p) => p.contentType === 'message/feedback-report')) return true;
  return /\b(dmarc|forensic|auth(entication)?[- ]failure)\b/i.test(m.subject) && /\b(failure|forensic)\b/i.test(`${m.subject}\n${m.text}`) && textSourceIp(m) !== undefined;
}

function textSourceIp(m: MailView): string | undefined {
  const t = `${m.subject}\n${m.text}`;
  const pats = [/Sender IP Address:\s*([0-9a-fA-F:.]+)/i, /Source-IP:\s*([0-9a-fA-F:.]+)/i, /\bip=([0-9a-fA-F:.]+)/i, /\bfrom IP\s+\[?([0-9a-fA-F:.]+[0-9a-fA-F])\]?/i, /\bIP:?\s*\[?(\d{1,3}(?:\.\d{1,3}){3})\b/];
  for (const p of pats) {
    const v = ip(p.exec(t)?.[1]);
    if (v) return v;
  }
  return undefined;
}

/** The original message's identifying headers, from its message/rfc822 or text/rfc822-headers part, or the text. */
function originalHeaders(m: MailView): Map<string, string[]> {
  const part = m.parts.find((p) => p.contentType === 'message/rfc822' || p.contentType === 'text/rfc822-headers' || p.contentType === 'message/rfc822-headers');
  if (part) return parseFields(part.content.toString('utf8'));
  // mailparser folds an inline message/rfc822 into the text, and plain-text reports paste the headers
  // below the explanation: take the first block that has a Message-ID line
  const text = m.text.replace(/\r\n/g, '\n');
  for (const block of text.split(/\n\s*\n/)) {
    const f = parseFields(block);
    if (f.has('message-id') && (f.has('from') || f.has('subject') || f.has('date'))) return f;
  }
  return new Map();
}

export function parseFailureReport(m: MailView): FailureReport {
  const arfPart = m.parts.find((p) => p.contentType === 'message/feedback-report');
  const orig = originalHeaders(m);
  const warnings: string[] = [];
  let r: Omit<FailureReport, 'dedupeKey'>;
  if (arfPart) {
    const f = parseFields(arfPart.content.toString('utf8'));
    const feedbackType = first(f, 'feedback-type')?.toLowerCase();
    if (feedbackType && feedbackType !== 'auth-failure') warnings.push(`Feedback-Type is '${feedbackType}', not auth-failure (RFC 6591): stored as a failure report all the same`);
    const ofrom = first(orig, 'from');
    const reported = first(f, 'reported-domain')?.toLowerCase() ?? domainOf(addr(ofrom)) ?? domainOf(addr(first(f, 'original-mail-from')));
    r = {
      kind: 'failure',
      format: 'arf',
      domain: reported ?? '',
      reporter: m.fromDomain,
      ...(feedbackType ? { feedbackType } : {}),
      ...opt('sourceIp', ip(first(f, 'source-ip'))),
      ...opt('arrival', isoTime(first(f, 'arrival-date') ?? first(f, 'received-date'))),
      ...opt('authFailure', first(f, 'auth-failure')?.toLowerCase()),
      ...opt('deliveryResult', first(f, 'delivery-result')?.toLowerCase()),
      ...opt('originalMailFrom', addr(first(f, 'original-mail-from'))),
      ...opt('originalRcptTo', addr(first(f, 'original-rcpt-to'))),
      ...opt('authenticationResults', first(f, 'authentication-results')),
      ...opt('dkimDomain', first(f, 'dkim-domain')?.toLowerCase()),
      ...opt('identityAlignment', first(f, 'identity-alignment')?.toLowerCase()),
      ...opt('messageId', first(f, 'message-id') ?? first(orig, 'message-id')),
      ...opt('subject', first(orig, 'subject')),
      ...opt('from', ofrom),
      warnings,
    };
  } else {
    const t = m.text;
    const grab = (re: RegExp) => re.exec(t)?.[1]?.trim() || undefined;
    const ofrom = first(orig, 'from');
    const domain =
      grab(/Sender Domain:\s*(\S+)/i)?.toLowerCase() ??
      /\bfor\s+([a-z0-9.-]+\.[a-z]{2,})\b/i.exec(m.subject)?.[1]?.toLowerCase() ??
      domainOf(addr(ofrom));
    r = {
      kind: 'failure',
      format: 'text',
      domain: domain ?? '',
      reporter: m.fromDomain,
      ...opt('sourceIp', textSourceIp(m)),
      ...opt('arrival', isoTime(grab(/Received date:\s*(.+)/i) ?? grab(/received from IP \S+ on (.+?)\.?\s*$/im))),
      ...opt('authFailure', 'dmarc'),
      ...opt('messageId', first(orig, 'message-id')),
      ...opt('subject', first(orig, 'subject')),
      ...opt('from', ofrom),
      ...opt('identityAlignment', [/SPF Alignment:\s*yes/i.test(t) ? 'spf' : '', /DKIM Alignment:\s*yes/i.test(t) ? 'dkim' : ''].filter(Boolean).join(',') || (/SPF Alignment:/i.test(t) ? 'none' : undefined)),
      warnings,
    };
    warnings.push('not in ARF (RFC 6591): read from the receiver\'s own plain-text wording');
  }
  if (!r.domain) r.warnings.push('the reported domain could not be determined');
  return { ...r, dedupeKey: dedupeKey(r, m) };
}

function opt<K extends string>(k: K, v: string | undefined): { [P in K]?: string } {
  return (v ? { [k]: v } : {}) as { [P in K]?: string };
}

function dedupeKey(r: Omit<FailureReport, 'dedupeKey'>, m: MailView): string {
  const parts = [r.reporter, r.domain, r.sourceIp, r.arrival, r.messageId, r.originalMailFrom, r.originalRcptTo, r.authFailure];
  const h = createHash('sha256');
  if (r.sourceIp || r.messageId || r.arrival) h.update(`failure\n${parts.map((p) => p ?? '').join('\n')}`);
  // nothing identifies the incident: the report's own words do (line ends and spacing aside)
  else h.update(`failure-text\n${r.reporter}\n${m.subject}\n${m.text.replace(/\s+/g, ' ').trim()}`);
  return h.digest('hex');
}
