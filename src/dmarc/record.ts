// Reading a DMARC policy record (RFC 9989 §4.7) the way a strict receiver would,
// and listing everything a lenient one would forgive. What a receiver actually
// applies comes from mailauth's own parser and policy rules, so the two agree.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const dmarcLib = require('mailauth/lib/dmarc/get-dmarc-record.js') as {
  parseDmarcRecord(txt: string, opts?: { strict?: boolean; warnings?: Set<string> }): Record<string, unknown> | null;
  getPolicyTags(rec: Record<string, unknown>): { p: string; sp?: string; np?: string } | null;
};
const { parseTagList } = require('mailauth/lib/parse-dkim-headers.js') as {
  parseTagList(value: string, opts?: { strict?: boolean }): { tags: { name: string; value: string }[]; syntaxErrors: string[] };
};

export type PolicyValue = 'none' | 'quarantine' | 'reject';

/** What receivers check first: a record must start with v=DMARC1 exactly (mailauth's rule, RFC 9989 §4.7). */
export const DMARC_VERSION_RE = /^[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)/;
/** Something that was meant to be a DMARC record (used to explain why one is ignored). */
export const DMARC_LOOKALIKE_RE = /^\s*v\s*=\s*dmarc/i;

export interface DmarcProblem {
  /** error: receivers ignore the record or a policy tag; warn: strict receivers differ from lenient ones */
  severity: 'error' | 'warn';
  tag?: string;
  message: string;
}

export interface DmarcPolicy {
  p: PolicyValue | null;
  sp: PolicyValue | null;
  np: PolicyValue | null;
  adkim: 'r' | 's';
  aspf: 'r' | 's';
  t: 'y' | 'n';
  pct: number | null;
  fo: string | null;
  psd: 'y' | 'n' | 'u' | null;
  rua: string[];
  ruf: string[];
}

export interface ParsedDmarc {
  isDmarc: boolean;
  tags: Record<string, string>;
  problems: DmarcProblem[];
  /** historic tags present (pct, rf, ri: RFC 9989 dropped them) */
  deprecated: string[];
  policy: DmarcPolicy;
  /** the policy receivers apply (RFC 9989 §4.10.1): null when they ignore the record */
  applied: { p: PolicyValue; sp?: PolicyValue; np?: PolicyValue } | null;
}

const POLICY = new Set(['none', 'quarantine', 'reject']);
const KNOWN = new Set(['v', 'p', 'sp', 'np', 'adkim', 'aspf', 'fo', 'rua', 'ruf', 'rf', 'ri', 'pct', 't', 'psd']);
const HISTORIC = new Set(['pct', 'rf', 'ri']);
// RFC 3986 URI, commas and "!" percent-encoded; an obsolete "!size" suffix is tolerated
const URI_RE = /^[a-z][a-z0-9+.-]*:(?:[a-z0-9\-._~:/?#[\]@$&'()*+;=]|%[0-9a-f]{2})*$/i;
const SIZE_SUFFIX = /![0-9]+[kmgt]?$/i;

export function parseUriList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** The mailbox domain of a mailto: reporting URI, or null. */
export function mailtoDomain(uri: string): string | null {
  const m = /^mailto:([^?]*)/i.exec(uri.trim().replace(SIZE_SUFFIX, ''));
  if (!m) return null;
  let addr = m[1]!;
  try { addr = decodeURIComponent(addr); } catch { /* keep as written */ }
  const at = addr.lastIndexOf('@');
  if (at < 1) return null;
  const domain = addr.slice(at + 1).trim().toLowerCase().replace(/\.$/, '');
  return /^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(domain) ? domain : null;
}

export const RANK: Record<PolicyValue, number> = { none: 0, quarantine: 1, reject: 2 };

/** Parse one DMARC record (TXT strings joined). Never throws. */
export function parseDmarc(record: string): ParsedDmarc {
  const text = String(record ?? '').trim();
  const out: ParsedDmarc = {
    isDmarc: DMARC_VERSION_RE.test(text), tags: {}, problems: [], deprecated: [], applied: null,
    policy: { p: null, sp: null, np: null, adkim: 'r', aspf: 'r', t: 'n', pct: null, fo: null, psd: null, rua: [], ruf: [] },
  };
  if (!out.isDmarc) {
    if (DMARC_LOOKALIKE_RE.test(text)) {
      out.problems.push({ severity: 'error', tag: 'v', message: 'the record must start with exactly "v=DMARC1" (upper case, first tag); receivers do not read this one as a DMARC record' });
    }
    return out;
  }
  let tl: { tags: { name: string; value: string }[]; syntaxErrors: string[] };
  try {
    tl = parseTagList(text, { strict: true });
  } catch (e) {
    out.problems.push({ severity: 'error', message: `not a tag-list: ${(e as Error).message}` });
    return out;
  }
  const seen = new Set<string>();
  for (const t of tl.tags) {
    const name = t.name;
    const lower = name.toLowerCase();
    if (seen.has(lower)) {
      out.problems.push({ severity: 'error', tag: lower, message: `the tag ${lower}= appears twice: strict receivers discard the whole record, lenient ones use the last value` });
    }
    seen.add(lower);
    out.tags[lower] = t.value;
    if (name !== lower && KNOWN.has(lower) && name !== 'V') {
      out.problems.push({ severity: 'warn', tag: lower, message: `tag names are case-sensitive: write ${lower}=, not ${name}=` });
    }
    if (!KNOWN.has(lower)) {
      out.problems.push({ severity: 'warn', tag: lower, message: `unknown tag ${name}= is ignored by receivers (a typo?)` });
    }
    if (HISTORIC.has(lower)) out.deprecated.push(lower);
  }
  for (const s of tl.syntaxErrors) {
    if (/duplicate/.test(s)) continue; // reported above with its consequence
    out.problems.push({ severity: 'warn', message: `tag-list syntax: ${s}` });
  }

  const tags = out.tags;
  const pol = (name: 'p' | 'sp' | 'np') => {
    if (!(name in tags)) return;
    const v = tags[name]!.trim().toLowerCase();
    if (POLICY.has(v)) out.policy[name] = v as PolicyValue;
    else out.problems.push({ severity: 'error', tag: name, message: `${name}=${tags[name]} is not none, quarantine or reject` });
  };
  pol('p');
  pol('sp');
  pol('np');
  for (const name of ['adkim', 'aspf'] as const) {
    if (!(name in tags)) continue;
    const v = tags[name]!.trim().toLowerCase();
    if (v === 'r' || v === 's') out.policy[name] = v;
    else out.problems.push({ severity: 'warn', tag: name, message: `${name}=${tags[name]} is not r (relaxed) or s (strict); receivers use r` });
  }
  if ('t' in tags) {
    const v = tags.t!.trim().toLowerCase();
    if (v === 'y' || v === 'n') out.policy.t = v;
    else out.problems.push({ severity: 'warn', tag: 't', message: `t=${tags.t} is not y or n` });
  }
  if ('psd' in tags) {
    const v = tags.psd!.trim().toLowerCase();
    if (v === 'y' || v === 'n' || v === 'u') out.policy.psd = v;
    else out.problems.push({ severity: 'warn', tag: 'psd', message: `psd=${tags.psd} is not y, n or u` });
  }
  if ('fo' in tags) {
    out.policy.fo = tags.fo!;
    const bad = tags.fo!.split(':').map((s) => s.trim().toLowerCase()).filter((s) => !['0', '1', 'd', 's'].includes(s));
    if (bad.length) out.problems.push({ severity: 'warn', tag: 'fo', message: `fo=${tags.fo}: ${bad.join(', ')} not one of 0, 1, d, s` });
  }
  if ('pct' in tags) {
    const n = /^\s*\d{1,3}\s*$/.test(tags.pct!) ? Number(tags.pct) : NaN;
    if (Number.isInteger(n) && n >= 0 && n <= 100) out.policy.pct = n;
    else out.problems.push({ severity: 'warn', tag: 'pct', message: `pct=${tags.pct} is not a whole number from 0 to 100` });
  }
  for (const kind of ['rua', 'ruf'] as const) {
    if (!(kind in tags)) continue;
    const uris = parseUriList(tags[kind]);
    if (!uris.length) out.problems.push({ severity: 'warn', tag: kind, message: `${kind}= is empty` });
    for (const u of uris) {
      if (!URI_RE.test(u.replace(SIZE_SUFFIX, ''))) {
        out.problems.push({ severity: 'warn', tag: kind, message: `${kind}: '${u}' is not a URI (write mailto:reports@example.com; commas and ! inside must be %-encoded)` });
      } else if (!/^mailto:/i.test(u)) {
        out.problems.push({ severity: 'warn', tag: kind, message: `${kind}: '${u}' is not a mailto: URI; receivers only send reports by email` });
        out.policy[kind].push(u);
      } else if (!mailtoDomain(u)) {
        out.problems.push({ severity: 'warn', tag: kind, message: `${kind}: '${u}' has no valid mailbox (user@domain)` });
      } else out.policy[kind].push(u);
    }
  }

  // what a receiver applies: mailauth's reading of the record and of RFC 9989 §4.10.1
  try {
    const rec = dmarcLib.parseDmarcRecord(text);
    const applied = rec ? dmarcLib.getPolicyTags(rec) : null;
    out.applied = applied ? (applied as ParsedDmarc['applied']) : null;
  } catch {
    out.applied = null;
  }
  if (!('p' in tags)) {
    out.problems.push(out.applied
      ? { severity: 'warn', tag: 'p', message: 'no p= tag: receivers apply p=none because the record asks for aggregate reports' }
      : { severity: 'error', tag: 'p', message: 'no p= tag and no valid rua=: receivers ignore this record' });
  } else if (!out.applied) {
    out.problems.push({ severity: 'error', message: 'with an invalid p=, sp= or np= and no valid rua=, receivers apply no DMARC policy at all' });
  } else if (out.policy.p === null || ('sp' in tags && out.policy.sp === null) || ('np' in tags && out.policy.np === null)) {
    out.problems.push({ severity: 'error', message: 'an invalid p=, sp= or np= makes receivers fall back to p=none (the record asks for reports)' });
  }
  return out;
}
