// The receiver's verdicts in the shape placement rows carry (ReceiverAuth): the
// trusted Authentication-Results headers of a receiver view merged into one
// result per method (every dkim result), with domains taken from the properties
// RFC 8601 §2.7 defines for each method.
import type { AuthMethodResult, ReceiverAuth } from '../placement/types.ts';
import { propertyOf, type AuthResult } from './auth-results.ts';
import type { ReceiverView } from './receiver.ts';

function domainOf(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const s = v.replace(/^.*@/, '').replace(/[<>]/g, '').trim().toLowerCase();
  // Microsoft writes header.d=none for unsigned mail
  return s && s !== 'none' ? s : undefined;
}

const DOMAIN_PROPS: Record<string, [string, string][]> = {
  spf: [['smtp', 'mailfrom'], ['smtp', 'helo']],
  dkim: [['header', 'd'], ['header', 'i']],
  dmarc: [['header', 'from']],
  arc: [],
};

export function methodResult(r: AuthResult): AuthMethodResult {
  const out: AuthMethodResult = { result: r.result };
  for (const [ptype, prop] of DOMAIN_PROPS[r.method] ?? []) {
    const d = domainOf(propertyOf(r, ptype, prop));
    if (d) {
      out.domain = d;
      break;
    }
  }
  const sel = propertyOf(r, 'header', 's');
  if (r.method === 'dkim' && sel) out.selector = sel;
  if (r.comments.length) out.comment = r.comments.join('; ');
  if (r.reason !== undefined) out.reason = r.reason;
  return out;
}

/** The merged verdicts of the receiver's headers, or undefined when none of its own is there. */
export function receiverAuthOf(view: ReceiverView): ReceiverAuth | undefined {
  const headers = view.authResults;
  if (!headers.length) return undefined;
  const results = headers.flatMap((h) => h.results);
  const first = (m: string) => results.find((r) => r.method === m);
  const ids = [...new Set(headers.map((h) => h.authservId).filter((x): x is string => !!x))];
  const out: ReceiverAuth = {
    ...(ids[0] ? { authservId: ids[0] } : {}),
    ...(ids.length ? { authservIds: ids } : {}),
    headers: headers.length,
    dkim: results.filter((r) => r.method === 'dkim').map(methodResult),
    raw: headers.map((h) => h.value).join('\n'),
  };
  for (const m of ['spf', 'dmarc', 'arc'] as const) {
    const r = first(m);
    if (r) out[m] = methodResult(r);
  }
  const ignored = view.ignored.filter((i) => i.name === 'authentication-results');
  if (ignored.length) out.ignored = ignored.map((i) => ({ ...(i.authservId ? { authservId: i.authservId } : {}), reason: i.reason }));
  return out;
}
