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
