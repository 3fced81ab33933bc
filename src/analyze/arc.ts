// ARC chain validation (RFC 8617 §5.2) of a message: the one entry point every
// caller goes through (analyze, placement's local re-check), so the verifier
// behind it can be replaced in one place. Today: mailauth's ARC verification over
// the run's resolver.
import { createRequire } from 'node:module';
import type { DnsClient } from '../dns/resolver.ts';
import { dkimVerifyMessage } from '../content/dkim.ts';

export interface ArcVerdict {
  /** none (no ARC set), pass, fail */
  result: string;
  comment?: string;
  /** the highest instance (i=) of the chain, when there is one */
  instance?: number;
}

const mailauthArc = () => (createRequire(import.meta.url)('mailauth/lib/arc') as { arc: (data: any, o: any) => Promise<any> }).arc;

export async function verifyArc(raw: Buffer, dns: DnsClient): Promise<ArcVerdict> {
  const d = await dkimVerifyMessage(raw, dns.mailauthResolver);
  if (!d.arc) return { result: 'none' };
  const a = await mailauthArc()(d.arc, { resolver: dns.mailauthResolver });
  const result = String(a?.status?.result ?? 'none');
  const instance = Number(a?.i ?? d.arc?.i ?? NaN);
  return { result, ...(a?.status?.comment ? { comment: String(a.status.comment) } : {}), ...(Number.isFinite(instance) && instance > 0 ? { instance } : {}) };
}
