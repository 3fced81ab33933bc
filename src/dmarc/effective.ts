// The policy a receiver applies to mail from the name checked, two ways:
//
// RFC 9989 §4.10.1 and §4.7: the record found at the name itself gives p=. A record
// found for it at the organizational domain (or a public suffix domain, psd=y) gives
// np= when the name does not exist (NXDOMAIN, RFC 8020; NODATA is an existing name),
// else sp=, each falling back to sp= and then p=. Then t=y asks for one step less
// (reject → quarantine, quarantine → none).
//
// RFC 7489 §6.6.3 (receivers not yet on RFC 9989): the record at the name, else at its
// PSL organizational domain; sp= (falling back to p=) for an inherited record. They
// know neither np= nor t=.
import type { PolicyValue, ParsedDmarc } from './record.ts';

const LOWER: Record<PolicyValue, PolicyValue> = { reject: 'quarantine', quarantine: 'none', none: 'none' };

export interface Effective {
  /** RFC 9989; null when no policy applies or it is not known (see `unknown`) */
  policy: PolicyValue | null;
  /** the tag the policy came from, before t=y */
  tag: 'p' | 'sp' | 'np' | null;
  /** t=y lowered it one step */
  lowered: boolean;
  /** why the policy is not known (the existence of the name could not be looked up) */
  unknown?: string;
}

/**
 * RFC 9989 effective policy. `applied` is what receivers read from the record (ParsedDmarc.applied),
 * `atName` whether it was found at the name itself, `exists` whether the name exists (null: the
 * lookup failed, `reason` says why; only asked for an inherited record).
 */
export function rfc9989Policy(applied: ParsedDmarc['applied'], t: 'y' | 'n', atName: boolean, exists: boolean | null, reason?: string): Effective {
  if (!applied) return { policy: null, tag: null, lowered: false };
  let tag: Effective['tag'] = 'p';
  if (!atName) {
    const fallback: Effective['tag'] = applied.sp ? 'sp' : 'p';
    if (applied.np && applied.np !== applied[fallback]) {
      if (exists === null) return { policy: null, tag: null, lowered: false, unknown: `np=${applied.np} applies if ${reason ? `the name does not exist, and its lookup failed: ${reason}` : 'the name does not exist, which could not be told'}` };
      tag = exists ? fallback : 'np';
    } else tag = fallback;
  }
  const base = applied[tag]!;
  const lowered = t === 'y' && base !== 'none';
  return { policy: t === 'y' ? LOWER[base] : base, tag, lowered };
}

/** RFC 7489 effective policy of the record RFC 7489 discovery found (null: none found or none applies). */
export function rfc7489Policy(parsed: ParsedDmarc | null, atName: boolean): PolicyValue | null {
  if (!parsed?.isDmarc) return null;
  const { p, sp, rua } = parsed.policy;
  // §6.6.3 step 6: no valid p= or an invalid sp=: p=none if rua= has a valid URI, else nothing
  const spValid = !('sp' in parsed.tags) || sp !== null;
  if (!p || !spValid) return rua.length ? 'none' : null;
  return atName ? p : (sp ?? p);
}
