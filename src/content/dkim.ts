// The message's own DKIM signatures, verified (src/auth/verify.ts) against the run's
// resolver: which verify, which domain signed (d=) and which header fields
// each signature covers (h=). RFC 8058 §4 needs List-Unsubscribe and
// List-Unsubscribe-Post inside a valid signature's h=; DMARC needs a passing
// d= aligned with the From domain (RFC 7489 §3.1).
import { relaxedAligned } from '../dns/orgdomain.ts';
import { verifyMessage } from '../auth/verify.ts';

export interface DkimSignatureFacts {
  domain: string;
  selector: string;
  /** mailauth's result: pass, fail, neutral, policy, temperror, permerror */
  result: string;
  /** why it did not pass, as mailauth words it */
  comment?: string;
  /** the signed header field names (h=), lower case, in order */
  headers: string[];
  /** d= is relaxed-aligned with a From domain (RFC 7489 §3.1) */
  aligned: boolean;
}

export interface DkimFacts {
  signatures: DkimSignatureFacts[];
}

/** The DKIM verification of a message (its signatures, the From header, the ARC sets found): mailauth's verifier with our stricter rules (src/auth/verify.ts: k= defaults to rsa). */
export async function dkimVerifyMessage(raw: Buffer, resolver: (name: string, type: string) => Promise<any>): Promise<any> {
  return verifyMessage(raw, resolver);
}

/** The signatures of a dkimVerifyMessage() result as facts. */
export function signatureFacts(r: any, fromDomains: string[]): DkimSignatureFacts[] {
  const signatures: DkimSignatureFacts[] = [];
  for (const s of r.results ?? []) {
    // mailauth reports an unsigned message as one result "none" without a domain
    if (s.status?.result === 'none' && !s.signingDomain) continue;
    const domain = (s.signingDomain ?? '').toLowerCase();
    const keys = s.signingHeaders?.keys ?? '';
    signatures.push({
      domain,
      selector: s.selector ?? '',
      result: s.status?.result ?? 'neutral',
      ...((s.status as any)?.comment ? { comment: String((s.status as any).comment) } : {}),
      headers: keys.split(":").map((k: string) => k.trim().toLowerCase()).filter(Boolean),
      aligned: Boolean(domain) && fromDomains.some((f) => relaxedAligned(f, domain)),
    });
  }
  return signatures;
}

export async function verifyDkim(raw: Buffer, resolver: (name: string, type: string) => Promise<any>, fromDomains: string[]): Promise<DkimFacts> {
  return { signatures: signatureFacts(await dkimVerifyMessage(raw, resolver), fromDomains) };
}
