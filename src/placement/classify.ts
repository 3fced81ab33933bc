// From a found copy to a result row: the placement its folder means, when it
// arrived, what the receiver said about it (Authentication-Results, spam
// headers), and our own DKIM/ARC re-verification of the received bytes.
import { createRequire } from 'node:module';
import type { DnsClient } from '../dns/resolver.ts';
import { verifyMessage } from '../auth/verify.ts';
import { arcOf } from '../auth/arc.ts';
import type { Found } from './watch-imap.ts';
import type { AuthMethodResult, LocalAuth, Placement, ReceiverAuth, Seed, SpamHeaders } from './types.ts';

const require = createRequire(import.meta.url);
// mailauth parses Authentication-Results (RFC 8601) with the same parser it uses for ARC's AAR;
// loaded on first use, so commands that never read a message do not carry it
const parseAuthHeader = (h: string): { parsed: any } => (require('mailauth/lib/parse-dkim-headers.js') as (h: string) => { parsed: any })(h);

/** The placement a folder stands for. */
export function placementOf(found: Found, protocol: 'imap' | 'pop3', provider: Seed['provider']): Placement {
  if (protocol === 'pop3') return provider === 'gmail' ? 'not-spam' : 'inbox';
  const f = found.folder;
  if (f.role === 'inbox') return found.tab && found.tab !== 'primary' ? `tab:${found.tab}` : 'inbox';
  if (f.role === 'tab') return `tab:${f.tab}`;
  if (f.role === 'junk') return 'spam';
  return `other:${f.path}`;
}

/** The header block of a message (up to the first empty line), unfolded, as [name, value] pairs in order. */
export function headerFields(source: Buffer | string): { name: string; value: string; raw: string }[] {
  const text = typeof source === 'string' ? source : source.toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  const block = end < 0 ? text : text.slice(0, end);
  const out: { name: string; value: string; raw: string }[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length) {
      const last = out[out.length - 1]!;
      last.raw += `\r\n${line}`;
      last.value += ` ${line.trim()}`;
      continue;
    }
    const i = line.indexOf(':');
    if (i > 0) out.push({ name: line.slice(0, i).trim().toLowerCase(), value: line.slice(i + 1).trim(), raw: line });
  }
  return out;
}

function domainOf(v: unknown): string | undefined {
  if (typeof v !== 'string' || !v) return undefined;
  const s = v.replace(/^.*@/, '').replace(/[<>]/g, '').trim().toLowerCase();
  // Microsoft writes header.d=none for unsigned mail
  return s && s !== 'none' ? s : undefined;
}

function method(entry: any, domainKeys: [string, string][]): AuthMethodResult | undefined {
  if (!entry) return undefined;
  const r: AuthMethodResult = { result: String(entry.value ?? entry.result ?? '').toLowerCase() };
  for (const [ptype, prop] of domainKeys) {
    const d = domainOf(entry[ptype]?.[prop]);
    if (d) {
      r.domain = d;
      break;
    }
  }
  if (entry.header?.s) r.selector = String(entry.header.s);
  if (entry.comment) r.comment = String(entry.comment);
  return r;
}

/** The receiver's verdicts: the topmost Authentication-Results (the last hop, nearest the mailbox). */
export function receiverAuth(source: Buffer | string): ReceiverAuth | undefined {
  const h = headerFields(source).find((x) => x.name === 'authentication-results');
  if (!h) return undefined;
  let parsed: any;
  try {
    parsed = parseAuthHeader(`Authentication-Results: ${h.value}`).parsed;
  } catch {
    return { dkim: [], raw: h.value };
  }
  const dkimList = Array.isArray(parsed.dkim) ? parsed.dkim : parsed.dkim ? [parsed.dkim] : [];
  const out: ReceiverAuth = {
    ...(typeof parsed.value === 'string' ? { authservId: parsed.value } : {}),
    dkim: dkimList.map((d: any) => method(d, [['header', 'd'], ['header', 'i']])!).filter(Boolean),
    raw: h.value,
  };
  const spf = method(Array.isArray(parsed.spf) ? parsed.spf[0] : parsed.spf, [['smtp', 'mailfrom'], ['smtp', 'helo']]);
  const dmarc = method(Array.isArray(parsed.dmarc) ? parsed.dmarc[0] : parsed.dmarc, [['header', 'from']]);
  const arcR = method(Array.isArray(parsed.arc) ? parsed.arc[0] : parsed.arc, []);
  if (spf) out.spf = spf;
  if (dmarc) out.dmarc = dmarc;
  if (arcR) out.arc = arcR;
  return out;
}

export function spamHeaders(source: Buffer | string): SpamHeaders | undefined {
  const fields = headerFields(source);
  const get = (n: string) => fields.find((f) => f.name === n)?.value;
  const out: SpamHeaders = {};
  const status = get('x-spam-status');
  if (status) {
    out.spamStatus = status;
    const m = /score=(-?\d+(?:\.\d+)?)/i.exec(status);
    if (m) out.spamScore = Number(m[1]);
  }
  const score = get('x-spam-score');
  if (score && out.spamScore === undefined && /^-?\d+(\.\d+)?/.test(score)) out.spamScore = parseFloat(score);
  const flag = get('x-spam-flag');
  if (flag) out.spamFlag = flag;
  const scl = get('x-ms-exchange-organization-scl');
  if (scl && /^-?\d+$/.test(scl)) out.scl = Number(scl);
  const ff = get('x-forefront-antispam-report');
  if (ff) {
    out.forefront = ff;
    const m = /(?:^|;)\s*SCL:(-?\d+)/i.exec(ff);
    if (out.scl === undefined && m) out.scl = Number(m[1]);
  }
  return Object.keys(out).length ? out : undefined;
}

/** The date of the topmost Received header: when the last hop (the mailbox's MX) took the message. */
export function receivedDate(source: Buffer | string): Date | undefined {
  const r = headerFields(source).find((f) => f.name === 'received');
  if (!r) return undefined;
  const semi = r.value.lastIndexOf(';');
  if (semi < 0) return undefined;
  const d = new Date(r.value.slice(semi + 1).trim().replace(/\s*\([^)]*\)\s*$/, ''));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function headerDate(source: Buffer | string): Date | undefined {
  const v = headerFields(source).find((f) => f.name === 'date')?.value;
  if (!v) return undefined;
  const d = new Date(v.replace(/\s*\([^)]*\)\s*$/, ''));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function headerValue(source: Buffer | string, name: string): string | undefined {
  return headerFields(source).find((f) => f.name === name.toLowerCase())?.value;
}

/** Re-verify DKIM and ARC of the received copy (src/auth/: mailauth and our stricter rules), through the run's DNS client. */
export async function localAuth(source: Buffer, dns: DnsClient): Promise<LocalAuth> {
  try {
    const dkim = await verifyMessage(source, dns.mailauthResolver);
    const out: LocalAuth = {
      dkim: dkim.results.map((r: any) => ({
        result: String(r.status?.result ?? 'none'),
        ...(r.signingDomain ? { domain: String(r.signingDomain) } : {}),
        ...(r.selector ? { selector: String(r.selector) } : {}),
        ...(r.status?.comment ? { comment: String(r.status.comment) } : {}),
      })),
    };
    const a = await arcOf(dkim, dns.mailauthResolver);
    out.arc = { result: a.result, ...(a.comment ? { comment: a.comment } : {}) };
    return out;
  } catch (e) {
    return { dkim: [], error: `local verification failed: ${(e as Error).message}` };
  }
}

/** Does the receiver's verdict show an authentication failure worth a finding? */
export function authFailures(a: ReceiverAuth | undefined): string[] {
  if (!a) return [];
  const bad: string[] = [];
  if (a.dmarc && /^(fail|permerror|temperror)$/.test(a.dmarc.result)) bad.push(`dmarc=${a.dmarc.result}${a.dmarc.domain ? ` (header.from=${a.dmarc.domain})` : ''}`);
  if (a.spf && /^(fail|softfail|permerror|temperror)$/.test(a.spf.result)) bad.push(`spf=${a.spf.result}${a.spf.domain ? ` (smtp.mailfrom=${a.spf.domain})` : ''}`);
  if (!a.dkim.some((d) => d.result === 'pass')) {
    const failed = a.dkim.filter((d) => /^(fail|permerror|temperror|neutral|policy)$/.test(d.result));
    if (failed.length) bad.push(...failed.map((d) => `dkim=${d.result}${d.domain ? ` (d=${d.domain})` : ''}`));
  }
  return bad;
}
