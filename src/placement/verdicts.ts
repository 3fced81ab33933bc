// inboxlens's own verdicts on each copy a placement run finds — the same analysis
// `inboxlens analyze` runs (src/analyze/local.ts: SPF for the receiver hop's IP and
// the Return-Path, every DKIM signature verified with its key judged, DMARC with
// its alignment; src/analyze/compare.ts: where the receiver and inboxlens disagree)
// — so that a seed row can say why it landed where it did. DNS goes through the
// run's client (its cache); a part whose lookups fail is unknown (temperror, or
// left out with the reason), never a failed run. whyLine() is the one-line reading.
import type { DnsClient } from '../dns/resolver.ts';
import { localVerdicts } from '../analyze/local.ts';
import { compareVerdicts, envelopeOf, innocentDkimCauses, type Disagreement } from '../analyze/compare.ts';
import { receiverView, type ReceiverViewOptions } from '../analyze/receiver.ts';
import type { PlacementRow, ReceiverAuth } from './types.ts';

export interface CopyVerdicts {
  /** SPF for the receiver hop's IP and the envelope sender it recorded */
  spf?: { result: string; ip: string; sender: string; domain: string; comment?: string };
  /** why SPF was not evaluated (no IP on the receiver's hop, or the evaluation failed) */
  spfUnknown?: string;
  dkim: { domain: string; selector: string; result: string; aligned: boolean; comment?: string; key?: { state: string; keyType: string | null; bits: number | null; revoked: boolean; testing: boolean } }[];
  dmarc?: { result: string; fromDomain?: string; policy?: string; spfAligned?: string | false; dkimAligned?: string | false; comment?: string };
  /** where the receiver's verdict and inboxlens's differ, with the likely causes */
  disagreements?: Disagreement[];
  /** parts that could not be judged (DNS failures), in words */
  errors?: string[];
}

/** Our verdicts on one received copy (its full bytes). Never throws: a failure is an `errors` entry. */
export async function copyVerdicts(src: Buffer, dns: DnsClient, receiver: ReceiverViewOptions, recv: ReceiverAuth | undefined, dkimResult?: any): Promise<CopyVerdicts> {
  try {
    const view = receiverView(src, receiver);
    const env = envelopeOf(src, view);
    const local = await localVerdicts({
      raw: src,
      dns,
      ...(view.arrival?.ip ? { ip: view.arrival.ip } : {}),
      ...(view.arrival?.helo ? { helo: view.arrival.helo } : {}),
      ...(env.returnPath !== undefined ? { returnPath: env.returnPath } : {}),
      fromDomains: env.fromDomain ? [env.fromDomain] : [],
      ...(dkimResult ? { dkimResult } : {}),
    });
    const disagreements = compareVerdicts(recv, local, view, innocentDkimCauses(src));
    const out: CopyVerdicts = {
      ...(local.spf
        ? { spf: { result: local.spf.result, ip: local.spf.ip, sender: local.spf.sender, domain: local.spf.domain, ...(local.spf.comment ? { comment: local.spf.comment } : {}) } }
        : { spfUnknown: local.spfSkipped ?? 'SPF could not be evaluated' }),
      dkim: local.dkim.map((d) => ({
        domain: d.domain,
        selector: d.selector,
        result: d.result,
        aligned: d.aligned,
        ...(d.comment ? { comment: d.comment } : {}),
        ...(d.key ? { key: { state: d.key.state, keyType: d.key.keyType, bits: d.key.bits, revoked: d.key.revoked, testing: d.key.testing } } : {}),
      })),
      ...(local.dmarc ? { dmarc: local.dmarc } : {}),
      ...(disagreements.length ? { disagreements } : {}),
      ...(local.errors.length ? { errors: local.errors } : {}),
    };
    return out;
  } catch (e) {
    return { dkim: [], spfUnknown: 'not evaluated', errors: [`our verification failed: ${(e as Error).message}`] };
  }
}

/** A small semaphore: at most `n` copies verified at once (each does a handful of DNS queries). */
export function limiter(n: number): <T>(f: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(f: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await f();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

const UNKNOWN = /^(temperror|unknown)$/;
const dkimWord = (results: string[]) => (results.length ? results.join('/') : 'none');

function dkimReason(c: string | undefined): string {
  if (!c) return '';
  if (/body ?hash/i.test(c)) return '(body hash)';
  if (/signature/i.test(c)) return '(signature)';
  if (/key/i.test(c)) return '(key)';
  return '';
}

/**
 * Why the copy landed where it did, in one line: the placement, the receiver's
 * verdicts, ours, and the reading of the two ("— the copy changed in transit?").
 * Undefined for a row without a found copy.
 */
export function whyLine(r: PlacementRow): string | undefined {
  const o = r.ours;
  if (!o && !r.receiverAuth) return undefined;
  const parts: string[] = [r.placement];
  const ra = r.receiverAuth;
  if (ra) {
    const rd = ra.dkim.filter((d) => d.result !== 'none');
    parts.push(`receiver: ${[ra.spf ? `spf=${ra.spf.result}` : '', `dkim=${rd.length ? rd.map((d) => `${d.result}${d.result === 'pass' ? '' : dkimReason(`${d.comment ?? ''} ${d.reason ?? ''}`)}`).join('/') : 'none'}`, ra.dmarc ? `dmarc=${ra.dmarc.result}` : ''].filter(Boolean).join(' ')}`);
  } else parts.push('receiver: no Authentication-Results');
  const score = r.spam?.verdicts?.find((v) => v.score !== undefined);
  if (score) parts.push(`${score.filter} ${score.verdict}${score.score !== undefined ? ` ${score.score}${score.threshold !== undefined ? `/${score.threshold}` : ''}` : ''}`);
  let reading = '';
  if (o) {
    const spf = o.spf ? `spf=${o.spf.result}` : 'spf=unknown';
    const dkim = `dkim=${dkimWord(o.dkim.map((d) => `${d.result}${d.result === 'pass' ? '' : dkimReason(d.comment)}`))}`;
    const dmarc = `dmarc=${o.dmarc?.result ?? 'unknown'}`;
    parts.push(`ours: ${spf} ${dkim} ${dmarc}`);
    const dis = o.disagreements ?? [];
    const dkimDis = dis.find((d) => d.method === 'dkim');
    if (dkimDis && dkimDis.inboxlens === 'pass' && dkimDis.receiver !== 'pass') reading = 'the receiver failed a signature that verifies now: the copy changed in transit, or a key lookup failed there?';
    else if (dkimDis && dkimDis.receiver === 'pass') reading = 'a signature the receiver verified fails now: the copy changed since, or the key was rotated?';
    else if (dis.some((d) => d.method === 'spf')) reading = `SPF differs from the receiver's: the record changed since the send, or another identity was checked`;
    else if (o.dmarc?.result === 'fail') {
      const why: string[] = [];
      if (!o.spf || o.spf.result !== 'pass') why.push(o.spf ? `SPF ${o.spf.result} for ${o.spf.ip} at ${o.spf.domain}` : 'SPF not evaluated');
      else if (o.dmarc.spfAligned === false) why.push(`SPF passes for ${o.spf.domain}, not aligned with the From domain`);
      if (!o.dkim.length) why.push('no DKIM signature');
      else if (!o.dkim.some((d) => d.result === 'pass')) why.push('no DKIM signature verifies');
      else if (!o.dkim.some((d) => d.result === 'pass' && d.aligned)) why.push('no passing DKIM signature is aligned with the From domain');
      reading = `DMARC fails${o.dmarc.fromDomain ? ` for ${o.dmarc.fromDomain}` : ''}: ${why.join(', ') || 'no aligned pass'}`;
    } else if (o.dmarc?.result === 'pass' && (r.placement === 'spam' || r.placement === 'not-in-inbox')) reading = 'authentication passes: look at the content, the sending IP\'s and domain\'s reputation';
    else if ((o.dmarc && UNKNOWN.test(o.dmarc.result)) || (o.spf && UNKNOWN.test(o.spf.result)) || o.errors?.length) reading = `partly unknown: ${o.errors?.[0] ?? 'a DNS lookup failed'}`;
  }
  return `${parts.join(' · ')}${reading ? ` — ${reading}` : ''}`;
}
