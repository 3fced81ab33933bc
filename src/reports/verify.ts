// How a report e-mail is authenticated: its DKIM signatures verified with
// mailauth (src/content/dkim.ts) against the run's resolver. Reports are
// unauthenticated mail by nature (anyone can mail an XML file to a rua=
// address); a report counts as authenticated only when a signature passes
// and its d= is aligned with the e-mail's From domain (RFC 7489 §3.1).
import type { DnsClient } from '../dns/resolver.ts';
import type { MailVerifier } from './unpack.ts';

const RANK: Record<string, number> = { pass: 6, fail: 5, policy: 4, neutral: 3, temperror: 2, permerror: 1, none: 0 };

export function dkimVerifier(dns: DnsClient): MailVerifier {
  return async (raw, fromDomain) => {
    let facts;
    try {
      // mailauth is loaded for the first report e-mail, not for an import of XML files
      const { verifyDkim } = await import('../content/dkim.ts');
      facts = await verifyDkim(raw, dns.mailauthResolver, fromDomain ? [fromDomain] : []);
    } catch (e) {
      return { dkim: 'temperror', authenticated: false };
    }
    const sigs = facts.signatures;
    if (!sigs.length) return { dkim: 'none', authenticated: false };
    const good = sigs.find((s) => s.result === 'pass' && s.aligned) ?? sigs.find((s) => s.result === 'pass');
    if (good) return { dkim: 'pass', domain: good.domain, authenticated: good.aligned };
    const best = [...sigs].sort((a, b) => (RANK[b.result] ?? 0) - (RANK[a.result] ?? 0))[0]!;
    return { dkim: best.result, ...(best.domain ? { domain: best.domain } : {}), authenticated: false };
  };
}
