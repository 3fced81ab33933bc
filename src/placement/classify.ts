// From a found copy to a result row: the placement its folder means, when it
// arrived, what the receiver said about it (Authentication-Results, spam
// headers), and our own DKIM/ARC re-verification of the received bytes.
import type { DnsClient } from '../dns/resolver.ts';
import { verifyMessage } from '../auth/verify.ts';
import { arcOf } from '../auth/arc.ts';
import type { Found } from './watch-imap.ts';
import type { LocalAuth, Placement, PlacementRow, ReceiverAuth, Seed, SpamHeaders } from './types.ts';
import { decodeSpamHeaders } from '../analyze/spam.ts';
import { headerFields } from '../analyze/headers.ts';
import { receiverView, type ReceiverViewOptions } from '../analyze/receiver.ts';
import { receiverAuthOf } from '../analyze/verdicts.ts';


/** The placement a folder stands for. */
export function placementOf(found: Found, protocol: 'imap' | 'pop3', provider: Seed['provider']): Placement {
  if (protocol === 'pop3') return provider === 'gmail' ? 'not-spam' : 'inbox';
  const f = found.folder;
  if (f.role === 'inbox') return found.tab && found.tab !== 'primary' ? `tab:${found.tab}` : 'inbox';
  if (f.role === 'tab') return `tab:${f.tab}`;
  if (f.role === 'junk') return 'spam';
  return `other:${f.path}`;
}

export { headerFields } from '../analyze/headers.ts';

/** The receiver's verdicts: every Authentication-Results it added (see src/analyze/receiver.ts for which are its own). */
export function receiverAuth(source: Buffer | string, o: ReceiverViewOptions = {}): ReceiverAuth | undefined {
  return receiverAuthOf(receiverView(source, o));
}

/** The receiver's spam headers: only those it wrote (above its hop, src/analyze/receiver.ts); all of them when the copy has no Received header. */
export function spamHeaders(source: Buffer | string, o: ReceiverViewOptions = {}): SpamHeaders | undefined {
  const all = headerFields(source);
  const fields = all.some((f) => f.name === 'received') ? receiverView(all, o).receiverFields : all;
  const verdicts = decodeSpamHeaders(fields).map(({ headers: _h, rules: _r, notes, ...v }) => ({ ...v, ...(notes.length ? { notes } : {}) }));
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
  if (verdicts.length) out.verdicts = verdicts;
  return Object.keys(out).length ? out : undefined;
}

/** The receiver's arrival hop of a copy, for a placement row. */
export function receiverHop(source: Buffer | string, o: ReceiverViewOptions = {}): PlacementRow['receiverHop'] | undefined {
  const v = receiverView(source, o);
  const a = v.arrival;
  if (!a) return undefined;
  return { ...(a.by ? { by: a.by } : {}), ...(a.ip ? { ip: a.ip } : {}), ...(a.helo ? { helo: a.helo } : {}), profile: v.profile };
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

/** Re-verify DKIM and ARC of the received copy (src/auth/: mailauth and our stricter rules), through the run's DNS client; `verified`: verifyMessage's result when the caller has it. */
export async function localAuth(source: Buffer, dns: DnsClient, verified?: any): Promise<LocalAuth> {
  try {
    const dkim = verified ?? (await verifyMessage(source, dns.mailauthResolver));
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
