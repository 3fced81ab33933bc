// ARC chain validation (RFC 8617 §5.2) of a message: the one entry point analyze and
// placement's local re-check go through. It is src/auth/arc.ts (mailauth's ARC
// verification behind the RFC 8617/6376 tag-list checks mailauth leaves out), over
// the run's resolver.
import type { DnsClient } from '../dns/resolver.ts';
import { verifyArc as verifyArcWith, type ArcVerdict as AuthArcVerdict } from '../auth/arc.ts';

export interface ArcVerdict {
  /** none (no ARC set), pass, fail */
  result: string;
  comment?: string;
  /** the highest instance (i=) of the chain, when there is one */
  instance?: number;
}

export async function verifyArc(raw: Buffer, dns: DnsClient): Promise<ArcVerdict> {
  const a: AuthArcVerdict = await verifyArcWith(raw, dns.mailauthResolver);
  return { result: a.result, ...(a.comment ? { comment: a.comment } : {}), ...(a.instance > 0 ? { instance: a.instance } : {}) };
}
