// What the receiver said against what inboxlens finds now, method by method, and
// the envelope of a received copy (Return-Path as the delivering server wrote it,
// the From domain). A DKIM disagreement often has an innocent cause, named from
// the copy itself: line endings changed when it was saved (LF instead of CRLF),
// mbox ">From " quoting of body lines, or a key rotated since the send.
import type { ReceiverAuth } from '../placement/types.ts';
import type { LocalVerdicts } from './local.ts';
import type { ReceiverView } from './receiver.ts';
import { headerFields } from './headers.ts';

export interface Disagreement {
  method: 'spf' | 'dkim' | 'dmarc' | 'arc';
  /** the domain (d=, the envelope or From domain) compared */
  subject?: string;
  receiver: string;
  inboxlens: string;
  /** likely causes, in words */
  causes: string[];
}

export function addressDomain(addr: string | undefined): string | undefined {
  if (!addr) return undefined;
  const m = /@([^\s>@]+)\s*>?\s*$/.exec(addr.replace(/\([^)]*\)/g, '').trim());
  return m ? m[1]!.toLowerCase().replace(/\.$/, '') : undefined;
}

/** The envelope sender the delivering server recorded, and the From address. */
export function envelopeOf(raw: Buffer, view: ReceiverView): { returnPath?: string; from?: string; fromDomain?: string } {
  const fields = headerFields(raw);
  const rp = (view.receiverFields.find((f) => f.name === 'return-path') ?? fields.find((f) => f.name === 'return-path'))?.value;
  const returnPath = rp !== undefined ? rp.replace(/^\s*<|>\s*$/g, '').trim() : view.receivedSpf?.envelopeFrom;
  const from = fields.find((f) => f.name === 'from')?.value;
  const fromDomain = addressDomain(from?.match(/<[^>]*>/)?.[0] ?? from);
  return { ...(returnPath !== undefined ? { returnPath } : {}), ...(from ? { from } : {}), ...(fromDomain ? { fromDomain } : {}) };
}

/** What in the saved copy itself can break a signature that verified on arrival. */
export function innocentDkimCauses(raw: Buffer): string[] {
  const text = raw.toString('latin1');
  const causes: string[] = [];
  const crlf = (text.match(/\r\n/g) ?? []).length;
  const lf = (text.match(/\n/g) ?? []).length;
  if (lf > 0 && crlf === 0) causes.push('The saved copy has LF line endings, not the CRLF it was signed with: a "simple" body canonicalization breaks, and some tools change the bytes when converting.');
  else if (crlf > 0 && crlf < lf) causes.push('The saved copy mixes CRLF and LF line endings: it was edited or converted after delivery.');
  const body = text.slice(Math.max(0, text.search(/\r?\n\r?\n/)));
  if (/\n>From /.test(body)) causes.push('Body lines start with ">From ": mbox quoting added when the copy was stored in or exported from an mbox file changes the signed body.');
  return causes;
}

const norm = (r: string) => (r === 'hardfail' ? 'fail' : r);

export function compareVerdicts(recv: ReceiverAuth | undefined, local: LocalVerdicts, view: ReceiverView, copyCauses: string[]): Disagreement[] {
  const out: Disagreement[] = [];
  if (!recv) return out;
  if (recv.spf && local.spf && local.spf.result !== 'temperror' && norm(recv.spf.result) !== local.spf.result) {
    const causes = ['The SPF record may have changed since the send.'];
    if (recv.spf.domain && recv.spf.domain !== local.spf.domain) causes.unshift(`The receiver checked ${recv.spf.domain}, inboxlens checked ${local.spf.domain} (the Return-Path it recorded).`);
    if (view.receivedSpf?.clientIp && view.receivedSpf.clientIp !== local.spf.ip) causes.unshift(`The receiver evaluated ${view.receivedSpf.clientIp}, the hop records ${local.spf.ip}.`);
    out.push({ method: 'spf', subject: local.spf.domain, receiver: recv.spf.result, inboxlens: local.spf.result, causes });
  }
  for (const r of recv.dkim) {
    if (!r.domain || r.result === 'none') continue;
    const mine = local.dkim.filter((d) => d.domain === r.domain && (!r.selector || d.selector === r.selector));
    if (!mine.length) continue;
    const best = mine.find((d) => d.result === r.result) ?? mine[0]!;
    if (best.result === norm(r.result) || best.result === 'temperror') continue;
    const causes = [...copyCauses];
    if (best.key && (best.key.state !== 'found' || best.key.revoked)) causes.push(`The key at ${best.selector}._domainkey.${best.domain} is no longer published as it was: rotated or revoked since the send.`);
    if (r.result === 'pass' && !causes.length) causes.push('The copy was changed after delivery (a client, an archive, a forwarding step), or the key was rotated since the send.');
    if (r.result !== 'pass' && best.result === 'pass') causes.push('The receiver saw the message before a change that inboxlens does not see, or its DNS lookup of the key failed at the time.');
    out.push({ method: 'dkim', subject: r.domain, receiver: r.result, inboxlens: best.result, causes });
  }
  if (recv.dmarc && local.dmarc && local.dmarc.result !== 'temperror' && norm(recv.dmarc.result) !== local.dmarc.result) {
    out.push({ method: 'dmarc', subject: local.dmarc.fromDomain ?? recv.dmarc.domain, receiver: recv.dmarc.result, inboxlens: local.dmarc.result, causes: ['DMARC follows SPF and DKIM: see those results; the DMARC record may also have changed since the send.'] });
  }
  if (recv.arc && local.arc.result !== 'none' && norm(recv.arc.result) !== local.arc.result) {
    out.push({ method: 'arc', receiver: recv.arc.result, inboxlens: local.arc.result, causes: ['The receiver validated the chain before it added its own ARC set; a set added since (by the receiver itself) is part of what inboxlens validates.', ...copyCauses] });
  }
  return out;
}
