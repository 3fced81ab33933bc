// Pure reading of a walked SPF tree: the authorized sending ranges, record sizes
// (RFC 7208 §3.4), which subtrees cost the most lookups, what an unmatched IP
// gets. No I/O; the spf check turns these answers into findings.
import ipaddr from 'ipaddr.js';
import type { Qualifier } from './parser.ts';
import type { SpfNode, SpfTree, TermInfo } from './walker.ts';

export interface AuthorizedRange {
  range: string;
  family: 4 | 6;
  /** the domain whose record holds the term */
  source: string;
  term: string;
  /** found inside an include/redirect of another organisation (ESP, mailbox provider) */
  shared: boolean;
}

export function toCidr(ip: string, prefix?: number): { range: string; family: 4 | 6 } | null {
  if (!ipaddr.isValid(ip)) return null;
  const family = ipaddr.parse(ip).kind() === 'ipv4' ? 4 : 6;
  const len = prefix ?? (family === 4 ? 32 : 128);
  const net = family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(`${ip}/${len}`) : ipaddr.IPv6.networkAddressFromCIDR(`${ip}/${len}`);
  return { range: `${net.toString()}/${len}`, family };
}

/** Every node of the tree, depth first, with its parent's term info. */
export function* nodes(root: SpfNode): Generator<SpfNode> {
  yield root;
  for (const c of root.children) yield* nodes(c);
}

function childTerm(parent: SpfNode, child: SpfNode): TermInfo | undefined {
  return parent.terms.find((t) => t.term === child.term && (t.name === 'include' || t.name === 'redirect'));
}

/**
 * The ranges the tree authorizes: ip4/ip6 terms and the resolved addresses of
 * a/mx terms, when the term (and every include on the way to it) has the `+`
 * qualifier and the term is ever tested. Ranges from `-ip4:` or `~a` are not
 * authorizations.
 */
export function authorizedRanges(tree: SpfTree): AuthorizedRange[] {
  const out: AuthorizedRange[] = [];
  const seen = new Set<string>();
  const add = (node: SpfNode, t: TermInfo, ip: string) => {
    const c = toCidr(ip, ip.includes(':') ? t.cidr6 : t.cidr4);
    if (!c) return;
    const key = `${c.range} ${node.domain} ${t.term}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ ...c, source: node.domain, term: t.term, shared: node.shared });
  };
  const visit = (node: SpfNode, passes: boolean) => {
    for (const t of node.terms) {
      if (t.status === 'ignored' || t.qualifier !== '+' || !passes) continue;
      if (t.name === 'ip4' || t.name === 'ip6') {
        if (t.ip) add(node, t, t.ip);
      } else if (t.name === 'a') {
        for (const ip of t.addresses ?? []) add(node, t, ip);
      } else if (t.name === 'mx') {
        for (const h of t.mx ?? []) for (const ip of h.addresses) add(node, t, ip);
      }
    }
    for (const c of node.children) {
      const via = childTerm(node, c);
      // an include only passes what its target passes when the include itself is "+"
      visit(c, passes && (c.via === 'redirect' || via?.qualifier === '+'));
    }
  };
  visit(tree.root, true);
  return out;
}

export interface RecordSize {
  /** RFC 7208 §3.4's guideline measure: the name plus the text of every TXT record there */
  nameAndText: number;
  /** the TXT answer as a classic DNS message (header, question, answers; no EDNS) */
  message: number;
  /** the longest character-string of the SPF record */
  longestString: number;
}

/** Sizes are in octets (UTF-8), computed from what the DNS returned. */
export function recordSize(node: SpfNode): RecordSize {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  const nameWire = node.domain.split('.').reduce((n, l) => n + 1 + bytes(l), 1);
  // each other TXT record is counted as if split into 255-octet strings (one length octet each)
  const rdata = (text: string, strings?: string[]) =>
    strings ? strings.reduce((n, s) => n + 1 + bytes(s), 0) : bytes(text) + Math.max(1, Math.ceil(bytes(text) / 255));
  let message = 12 + nameWire + 4;
  let spfCounted = false;
  for (const t of node.txt) {
    const own = !spfCounted && t === node.record;
    if (own) spfCounted = true;
    // owner name compressed to a 2-octet pointer, then type, class, TTL, rdlength
    message += 2 + 10 + rdata(t, own ? node.strings : undefined);
  }
  return {
    nameAndText: bytes(node.domain) + node.txt.reduce((n, t) => n + bytes(t), 0),
    message,
    longestString: node.strings.reduce((n, s) => Math.max(n, bytes(s)), 0),
  };
}

/** RFC 7208 §3.4: "under 450 octets" of name plus text; a 512-octet UDP message; a character-string holds 255 octets (RFC 1035 §3.3). */
export const SIZE_GUIDELINE = 450;
export const UDP_LIMIT = 512;
export const STRING_LIMIT = 255;

export function sizeProblems(s: RecordSize): string[] {
  const out: string[] = [];
  if (s.longestString > STRING_LIMIT) out.push(`a character-string of ${s.longestString} octets (a TXT string holds at most ${STRING_LIMIT}; RFC 1035 §3.3)`);
  if (s.nameAndText >= SIZE_GUIDELINE) out.push(`name plus TXT text is ${s.nameAndText} octets (RFC 7208 §3.4 guideline: under ${SIZE_GUIDELINE})`);
  if (s.message > UDP_LIMIT) out.push(`the TXT answer is ${s.message} octets, over the ${UDP_LIMIT}-octet UDP limit: resolvers without EDNS0 must retry over TCP`);
  return out;
}

/**
 * What an IP that no mechanism matches gets from this node: the `all`
 * qualifier, else its redirect target's, else neutral (RFC 7208 §4.7).
 * Returns the qualifier and the node that decides it.
 */
export function defaultResult(node: SpfNode): { qualifier: Qualifier | 'none'; at: SpfNode; explicit: boolean } {
  const all = node.terms.find((t) => t.name === 'all' && t.status !== 'ignored');
  if (all) return { qualifier: all.qualifier ?? '+', at: node, explicit: true };
  const redirect = node.terms.find((t) => t.name === 'redirect' && t.status !== 'ignored');
  if (redirect) {
    const child = node.children.find((c) => c.via === 'redirect' && c.term === redirect.term);
    if (child?.record) return defaultResult(child);
    return { qualifier: 'none', at: child ?? node, explicit: false };
  }
  return { qualifier: '?', at: node, explicit: false };
}

/** The top-level include/redirect subtrees, most lookups first: where to cut. */
export function costliest(tree: SpfTree): { term: string; domain: string; lookups: number }[] {
  const root = tree.root;
  const children = [...root.children];
  return root.terms
    .filter((t) => t.lookups > 0)
    .map((t) => {
      const i = children.findIndex((c) => c.term === t.term);
      const child = i >= 0 ? children.splice(i, 1)[0] : undefined;
      return { term: t.term, domain: child?.domain ?? root.domain, lookups: t.lookups + (child?.subtreeLookups ?? 0) };
    })
    .sort((a, b) => b.lookups - a.lookups);
}

/** The path of terms from the root to a node, e.g. "include:a.example → include:b.example". */
export function pathTo(root: SpfNode, target: SpfNode): string[] {
  const walk = (n: SpfNode, acc: string[]): string[] | null => {
    if (n === target) return acc;
    for (const c of n.children) {
      const r = walk(c, [...acc, c.term ?? c.domain]);
      if (r) return r;
    }
    return null;
  };
  return walk(root, []) ?? [];
}

export type Family = 4 | 6;

/** The result check_host() gives a client that no address term matches, per address family. */
export interface UnmatchedResult {
  family: Family;
  /** unknown: a term needs the connecting IP (%{i}, %{p}, %{h}…) or the tree is incomplete */
  result: 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror' | 'unknown';
  /** why, in words: the term and record that decide it */
  reason: string;
  /** the deciding term, and the domain whose record holds it */
  term?: string;
  domain?: string;
  /** the limit that ends the evaluation in permerror */
  limit?: 'lookups' | 'void' | 'mx';
  /** DNS-querying terms and void lookups counted up to the end, for this family */
  lookups: number;
  voidLookups: number;
  /** the void lookups, in evaluation order: `"a:gone.example" in example.com` */
  voidTerms: string[];
}

const QUALIFIER_RESULT = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' } as const;

class Stop {
  readonly r: Omit<UnmatchedResult, 'family' | 'lookups' | 'voidLookups' | 'voidTerms'>;
  constructor(r: Stop['r']) {
    this.r = r;
  }
}

/**
 * check_host() over the walked tree, for a client of one address family whose
 * IP no ip4/ip6/a/mx range lists (a range of prefix length 0 does list it):
 * the terms in evaluation order (RFC 7208 §4.6, redirect last §6.1), counting
 * lookups (§4.6.4: the 11th DNS-querying term is a permerror) and void lookups
 * for the family (an `a` term queries A for IPv4, AAAA for IPv6, §5.3; the third
 * void lookup is a permerror). That is the verdict for every sender the record
 * does not list, and the limit a listed sender passes only if matched before.
 */
export function unmatchedResult(tree: SpfTree, family: Family): UnmatchedResult {
  const st = { lookups: 0, voids: 0, voidTerms: [] as string[] };
  const count = (n: SpfNode, t: TermInfo) => {
    st.lookups++;
    if (st.lookups > 10) throw new Stop({ result: 'permerror', limit: 'lookups', term: t.term, domain: n.domain, reason: `"${t.term}" in ${n.domain}'s record is the ${st.lookups}th DNS-querying term (limit 10)` });
  };
  const voidFor = (t: TermInfo) => !!t.void || !!t.voidFamilies?.includes(family);
  const addVoid = (n: SpfNode, t: TermInfo) => {
    st.voids++;
    st.voidTerms.push(`"${t.term}" in ${n.domain}`);
    if (st.voids > 2) throw new Stop({ result: 'permerror', limit: 'void', term: t.term, domain: n.domain, reason: `"${t.term}" in ${n.domain}'s record is the ${st.voids}rd void lookup for IPv${family} senders (limit 2): ${st.voidTerms.join(', ')}` });
  };
  const addressesOf = (t: TermInfo) => [...(t.addresses ?? []), ...(t.mx ?? []).flatMap((h) => h.addresses)].filter((a) => (family === 6) === a.includes(':'));
  const wholeFamily = (t: TermInfo) => (family === 4 ? t.cidr4 : t.cidr6) === 0;
  type Decided = { result: UnmatchedResult['result']; term?: string; domain?: string; reason: string };

  const evalNode = (n: SpfNode, depth: number): Decided => {
    const failed = n.errors.find((e) => e.kind === 'dns' && !e.term);
    if (failed) return { result: 'temperror', domain: n.domain, reason: `the TXT lookup of ${n.domain} failed: ${failed.message}` };
    const missing = n.errors.find((e) => e.kind === 'missing' || e.kind === 'multiple-records');
    if (missing) return { result: missing.kind === 'missing' ? 'none' : 'permerror', domain: n.domain, reason: missing.message };
    const syntax = n.errors.find((e) => e.kind === 'syntax');
    if (syntax) return { result: 'permerror', domain: n.domain, term: syntax.term, reason: `syntax error in ${n.domain}'s record: "${syntax.term}": ${syntax.message}` };
    let redirect: TermInfo | undefined;
    for (const t of n.terms) {
      if (t.status === 'ignored') continue;
      if (t.name === 'redirect') {
        redirect = t;
        continue;
      }
      const match = (why: string): Decided => ({ result: QUALIFIER_RESULT[t.qualifier ?? '+'], term: t.term, domain: n.domain, reason: `"${t.term}" in ${n.domain}'s record ${why}` });
      if (t.name === 'all') return match('matches every IP');
      if (t.name === 'ip4' || t.name === 'ip6') {
        if ((t.name === 'ip4') === (family === 4) && wholeFamily(t)) return match(`lists every IPv${family} address`);
        continue;
      }
      count(n, t);
      const stuck = (reason: string): Decided => ({ result: 'unknown', term: t.term, domain: n.domain, reason: `"${t.term}" in ${n.domain}'s record: ${reason}` });
      if (t.status === 'unknown') return { ...stuck(t.note ?? 'its lookup failed'), result: 'temperror' };
      if (t.status === 'not-walked') return stuck(t.note ?? 'not walked');
      if (t.name === 'ptr') continue; // an IP without validated PTR names (RFC 7208 §5.5)
      if (t.status === 'not-resolved') return stuck(t.note ?? 'not resolved');
      if (t.status === 'loop') throw new Stop({ result: 'permerror', limit: 'lookups', term: t.term, domain: n.domain, reason: `"${t.term}" in ${n.domain}'s record loops back (${t.note ?? ''}): evaluation runs into the 10-lookup limit` });
      if (t.name === 'include') {
        if (voidFor(t)) addVoid(n, t);
        const child = n.children.find((c) => c.via === 'include' && c.term === t.term);
        if (!child) {
          // an invalid target name (a syntax error above) or an expansion that is no valid name: no match
          continue;
        }
        const r = evalNode(child, depth + 1);
        if (r.result === 'pass') return match(`passes: ${r.reason}`);
        if (r.result === 'none') return { result: 'permerror', term: t.term, domain: n.domain, reason: `"${t.term}" in ${n.domain}'s record: ${r.reason} (an include of a name without SPF is a permerror, RFC 7208 §5.2)` };
        if (r.result === 'permerror' || r.result === 'temperror' || r.result === 'unknown') return r;
        continue;
      }
      if (t.name === 'mx') {
        const err = n.errors.find((e) => e.kind === 'mx-too-many-addresses' && e.term === t.term);
        if (voidFor(t)) addVoid(n, t);
        if (err) throw new Stop({ result: 'permerror', limit: 'mx', term: t.term, domain: n.domain, reason: err.message });
      } else if (voidFor(t)) addVoid(n, t);
      if (t.name === 'exists') {
        if ((t.addresses ?? []).length) return match(`matches every IP (${t.target} has an address)`);
        continue;
      }
      // a and mx
      if (wholeFamily(t) && addressesOf(t).length) return match(`lists every IPv${family} address (prefix length 0)`);
    }
    if (redirect) {
      count(n, redirect);
      if (redirect.status === 'unknown') return { result: 'temperror', term: redirect.term, domain: n.domain, reason: redirect.note ?? 'its lookup failed' };
      if (redirect.status === 'not-resolved' || redirect.status === 'not-walked') return { result: 'unknown', term: redirect.term, domain: n.domain, reason: redirect.note ?? '' };
      if (redirect.status === 'loop') throw new Stop({ result: 'permerror', limit: 'lookups', term: redirect.term, domain: n.domain, reason: `"${redirect.term}" loops back: evaluation runs into the 10-lookup limit` });
      if (voidFor(redirect)) addVoid(n, redirect);
      const child = n.children.find((c) => c.via === 'redirect' && c.term === redirect.term);
      // RFC 7208 §6.1: a redirect to a name that does not exist or has no record is a permerror
      if (!child) return { result: 'permerror', term: redirect.term, domain: n.domain, reason: `"${redirect.term}" does not name a valid domain` };
      const r = evalNode(child, depth + 1);
      if (r.result === 'none') return { ...r, result: 'permerror', reason: `${r.reason} (a redirect to a name without SPF is a permerror, RFC 7208 §6.1)` };
      return r;
    }
    return { result: 'neutral', domain: n.domain, reason: `nothing in ${n.domain}'s record matches and it has no "all" and no redirect (RFC 7208 §4.7)` };
  };

  let out: Decided;
  try {
    out = evalNode(tree.root, 0);
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    out = e.r;
  }
  if (tree.truncated && out.result !== 'permerror') out = { ...out, result: 'unknown', reason: `the walk was cut short (depth or size cap): ${out.reason}` };
  return { family, ...out, lookups: st.lookups, voidLookups: st.voids, voidTerms: st.voidTerms } as UnmatchedResult;
}
