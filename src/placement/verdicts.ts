// inboxlens's own verdicts on each copy a placement run finds — the same analysis
// `inboxlens analyze` runs (src/analyze/local.ts: SPF for the receiver hop's IP and
// the Return-Path, every DKIM signature verified with its key judged, DMARC with
// its alignment; src/analyze/compare.ts: where the receiver and inboxlens disagree)
// — so that a seed row can say why it landed where it did. DNS goes through the
// run's client (its cache); a part whose lookups fail is unknown (temperror, or
// left out with the reason), never a failed run. whyLine() (./why.ts) is the one-line reading.
import type { DnsClient } from '../dns/resolver.ts';
import { localVerdicts } from '../analyze/local.ts';
import { compareVerdicts, envelopeOf, innocentDkimCauses, type Disagreement } from '../analyze/compare.ts';
import { receiverView, type ReceiverViewOptions } from '../analyze/receiver.ts';
import type { ReceiverAuth } from './types.ts';

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

export { whyLine } from './why.ts';
