// The SPF include/redirect tree walker: fetches a domain's SPF record, follows
// every include and redirect (all the children of a node at once), resolves the
// a/mx/exists terms that need no macro expansion, and records per node what it
// costs under RFC 7208 §4.6.4 (DNS-querying terms, void lookups). It only gathers
// facts over the DnsClient (which de-duplicates and caches per run); turning
// them into findings is the spf check's job. Never throws.
import type { DnsClient, DnsResponse } from '../dns/resolver.ts';
import { addresses, answersOf, describe, isFailure, mxRecords, normalizeName } from '../dns/resolver.ts';
import { registrableDomain } from '../dns/orgdomain.ts';
import { isSpfRecord, parseSpf, type Qualifier, type SpfTerm } from './parser.ts';

/** RFC 7208 §4.6.4 limits */
export const LOOKUP_LIMIT = 10;
export const VOID_LIMIT = 2;
export const MX_ADDRESS_LIMIT = 10;

export type NodeErrorKind = 'missing' | 'multiple-records' | 'syntax' | 'loop' | 'dns' | 'mx-too-many-addresses';

export interface NodeError {
  kind: NodeErrorKind;
  message: string;
  /** the term the problem is in (syntax, loop, mx limit, a failed lookup of a term) */
  term?: string;
  /** the query that failed or came back empty, "TYPE name" */
  query?: string;
  rcode?: string;
}

export interface MxHostInfo {
  exchange: string;
  addresses: string[];
}

export interface TermInfo {
  term: string;
  name: string;
  qualifier?: Qualifier;
  /** 1 when the term is one of the DNS-querying terms counted by RFC 7208 §4.6.4 */
  lookups: number;
  /** its lookup returned NXDOMAIN or no records (counted towards the void limit) */
  void?: boolean;
  /**
   * resolved: looked up (or nothing to look up); not-resolved: needs the connecting
   * IP or sender (macros, ptr); ignored: never tested (after `all`, or a redirect
   * beside an `all`); loop; not-walked (tree limits); unknown: its lookup failed
   */
  status: 'resolved' | 'not-resolved' | 'ignored' | 'loop' | 'not-walked' | 'unknown';
  note?: string;
  /** the target name (include/redirect/a/mx/exists/ptr), when it has no macro */
  target?: string;
  /** a and exists: the addresses found */
  addresses?: string[];
  /** mx: the MX hosts and their addresses */
  mx?: MxHostInfo[];
  /** ip4/ip6: the network as written */
  ip?: string;
  cidr4?: number;
  cidr6?: number;
}

export interface SpfNode {
  domain: string;
  via: 'root' | 'include' | 'redirect';
  /** the parent's term that led here */
  term?: string;
  /** the selected record, strings joined without spaces (RFC 7208 §3.3) */
  record: string | null;
  /** the record's TXT character-strings as published */
  strings: string[];
  /** every TXT record at the name (joined), for the size rule and evidence */
  txt: string[];
  rcode: string;
  /** the TXT answer came over TCP: it did not fit the UDP payload */
  tcp?: boolean;
  terms: TermInfo[];
  /** DNS-querying terms in this record */
  lookups: number;
  /** this record's plus every descendant's */
  subtreeLookups: number;
  voidLookups: number;
  subtreeVoidLookups: number;
  /** the include/redirect target belongs to another organisation than the checked domain (or sits below one that does) */
  shared: boolean;
  children: SpfNode[];
  errors: NodeError[];
}

export interface SpfTree {
  domain: string;
  root: SpfNode;
  /** DNS-querying terms across the whole tree (RFC 7208 §4.6.4) */
  lookups: number;
  voidLookups: number;
  /** lookups that failed (timeout, SERVFAIL…): the tree is incomplete and the result unknown */
  failures: { node: string; query: string; rcode: string; message: string }[];
  /** the walk stopped expanding somewhere (depth or size): counts are lower bounds */
  truncated: boolean;
}

export interface WalkOptions {
  /** include/redirect nesting beyond which nothing is walked (each level costs a lookup, so 11 is already over the limit) */
  maxDepth?: number;
  /** records fetched in one tree at most: a runaway tree cannot hold the run */
  maxNodes?: number;
}

const MACRO_NEEDS: Record<string, string> = {
  i: 'the connecting IP', v: 'the connecting IP', p: "the connecting IP's validated host name",
  s: 'the sender address', l: 'the sender address', o: 'the sender domain', h: 'the HELO name', d: 'the current domain',
};

function macroNote(t: SpfTerm): string {
  const needs = [...new Set(t.macros.map((m) => MACRO_NEEDS[m] ?? `%{${m}}`))];
  return `not resolved: uses ${t.macros.map((m) => `%{${m}}`).join(' ')} (needs ${needs.join(', ')}); counted, not queried`;
}

/** Why a name cannot be looked up (RFC 1035 §2.3.4 sizes), or null when it can. */
export function invalidName(name: string): string | null {
  const labels = name.split('.');
  if (labels.length < 2) return `'${name}' is not a fully qualified domain name`;
  if (labels.some((l) => l.length === 0)) return `'${name}' has an empty label`;
  if (labels.some((l) => Buffer.byteLength(l) > 63)) return `'${name}' has a label over 63 octets`;
  if (Buffer.byteLength(name) > 253) return `'${name}' is over 253 octets`;
  return null;
}

function isVoid(r: DnsResponse, type: string): boolean {
  return r.rcode === 'NXDOMAIN' || (r.rcode === 'NOERROR' && answersOf(r, type).length === 0);
}

class Walk {
  private nodes = 0;
  truncated = false;
  private readonly top: string | null;
  private readonly dns: DnsClient;
  private readonly maxDepth: number;
  private readonly maxNodes: number;

  constructor(dns: DnsClient, domain: string, maxDepth: number, maxNodes: number) {
    this.dns = dns;
    this.top = registrableDomain(domain);
    this.maxDepth = maxDepth;
    this.maxNodes = maxNodes;
  }

  async node(domain: string, via: SpfNode['via'], parentTerm: string | undefined, ancestors: readonly string[], parentShared: boolean): Promise<SpfNode> {
    this.nodes++;
    const node: SpfNode = {
      domain, via, ...(parentTerm ? { term: parentTerm } : {}), record: null, strings: [], txt: [], rcode: 'NOERROR',
      terms: [], lookups: 0, subtreeLookups: 0, voidLookups: 0, subtreeVoidLookups: 0,
      shared: via !== 'root' && (parentShared || registrableDomain(domain) !== this.top), children: [], errors: [],
    };
    const resp = await this.dns.query(domain, 'TXT');
    node.rcode = resp.rcode;
    if (resp.transport === 'tcp') node.tcp = true;
    if (isFailure(resp)) {
      node.errors.push({ kind: 'dns', query: `TXT ${domain}`, rcode: resp.rcode, message: describe(resp) });
      return node;
    }
    const txt = answersOf(resp, 'TXT').map((a) => a.data as string[]);
    node.txt = txt.map((s) => s.join(''));
    const spf = txt.filter((s) => isSpfRecord(s.join('')));
    if (spf.length === 0) {
      node.errors.push({
        kind: 'missing', query: `TXT ${domain}`, rcode: resp.rcode,
        message: resp.rcode === 'NXDOMAIN' ? `${domain} does not exist (NXDOMAIN)` : txt.length ? `${domain} has ${txt.length} TXT record(s), none starting with v=spf1` : `${domain} has no TXT records`,
      });
      return node;
    }
    if (spf.length > 1) {
      node.errors.push({ kind: 'multiple-records', query: `TXT ${domain}`, message: `${domain} publishes ${spf.length} v=spf1 records: ${spf.map((s) => JSON.stringify(s.join(''))).join(', ')}` });
      return node;
    }
    node.strings = spf[0]!;
    node.record = node.strings.join('');
    const parsed = parseSpf(node.record);
    for (const e of parsed.errors) node.errors.push({ kind: 'syntax', term: e.term, message: e.message });
    await this.terms(node, parsed.terms, [...ancestors, normalizeName(domain)]);
    return node;
  }

  private async terms(node: SpfNode, terms: SpfTerm[], path: string[]): Promise<void> {
    // RFC 7208 §5.1: mechanisms after "all" are never tested, and a redirect beside an "all" is ignored
    const allAt = terms.find((t) => t.type === 'mechanism' && t.name === 'all')?.index;
    const depth = path.length;
    const tasks: Promise<void>[] = [];
    for (const t of terms) {
      if (t.type === 'modifier' && t.name !== 'redirect') continue;
      if (t.type === 'mechanism' && (t.name === 'ip4' || t.name === 'ip6' || t.name === 'all')) {
        const info: TermInfo = { term: t.raw, name: t.name, qualifier: t.qualifier, lookups: 0, status: 'resolved' };
        if (t.ip) info.ip = t.ip;
        if (t.cidr4 !== undefined) info.cidr4 = t.cidr4;
        if (t.cidr6 !== undefined) info.cidr6 = t.cidr6;
        if (allAt !== undefined && t.index > allAt) Object.assign(info, { status: 'ignored', note: 'never tested: it comes after "all"' });
        node.terms.push(info);
        continue;
      }
      const info: TermInfo = { term: t.raw, name: t.name, ...(t.qualifier ? { qualifier: t.qualifier } : {}), lookups: 0, status: 'resolved' };
      if (t.cidr4 !== undefined) info.cidr4 = t.cidr4;
      if (t.cidr6 !== undefined) info.cidr6 = t.cidr6;
      node.terms.push(info);
      if (t.name === 'redirect' && allAt !== undefined) {
        Object.assign(info, { status: 'ignored', note: 'ignored: the record has an "all" mechanism (RFC 7208 §6.1)' });
        continue;
      }
      if (allAt !== undefined && t.index > allAt) {
        Object.assign(info, { status: 'ignored', note: 'never tested: it comes after "all"' });
        continue;
      }
      info.lookups = 1;
      if (t.macros.length) {
        Object.assign(info, { status: 'not-resolved', note: macroNote(t) });
        continue;
      }
      if (t.name === 'ptr') {
        if (t.domainSpec) info.target = normalizeName(t.domainSpec);
        Object.assign(info, { status: 'not-resolved', note: 'not resolved: ptr needs the connecting IP (its PTR names, validated); counted, not queried' });
        continue;
      }
      const target = normalizeName(t.domainSpec ?? node.domain);
      info.target = target;
      const bad = invalidName(target);
      if (bad) {
        // RFC 7208 §4.3, §4.8: such a name is never queried; an include or redirect of it is a permerror
        Object.assign(info, { note: `never matches: ${bad}` });
        if (t.name === 'include' || t.name === 'redirect') node.errors.push({ kind: 'syntax', term: t.raw, message: bad });
        continue;
      }
      tasks.push(this.term(node, t, info, target, path, depth));
    }
    await Promise.all(tasks);
    node.lookups = node.terms.reduce((n, t) => n + t.lookups, 0);
    node.voidLookups = node.terms.filter((t) => t.void).length;
    node.subtreeLookups = node.lookups + node.children.reduce((n, c) => n + c.subtreeLookups, 0);
    node.subtreeVoidLookups = node.voidLookups + node.children.reduce((n, c) => n + c.subtreeVoidLookups, 0);
  }

  private fail(node: SpfNode, info: TermInfo, resp: DnsResponse): void {
    info.status = 'unknown';
    info.note = `lookup failed: ${describe(resp)}`;
    node.errors.push({ kind: 'dns', term: info.term, query: `${resp.type} ${resp.name}`, rcode: resp.rcode, message: describe(resp) });
  }

  private async term(node: SpfNode, t: SpfTerm, info: TermInfo, target: string, path: string[], depth: number): Promise<void> {
    switch (t.name) {
      case 'include':
      case 'redirect': {
        if (path.includes(target)) {
          Object.assign(info, { status: 'loop', note: `loop: ${target} is already being evaluated above (${[...path, target].join(' → ')})` });
          node.errors.push({ kind: 'loop', term: t.raw, message: `${[...path, target].join(' → ')}` });
          return;
        }
        if (depth >= this.maxDepth || this.nodes >= this.maxNodes) {
          this.truncated = true;
          Object.assign(info, { status: 'not-walked', note: depth >= this.maxDepth ? `not walked: deeper than ${this.maxDepth} levels` : `not walked: the tree already has ${this.maxNodes} records` });
          return;
        }
        const child = await this.node(target, t.name, t.raw, path, node.shared);
        node.children.push(child);
        // the child's TXT query is this term's lookup: empty means void (RFC 7208 §4.6.4)
        if (child.rcode === 'NXDOMAIN' || (child.rcode === 'NOERROR' && child.txt.length === 0)) info.void = true;
        if (child.errors.some((e) => e.kind === 'dns' && e.query === `TXT ${target}`)) info.status = 'unknown';
        return;
      }
      case 'a': {
        const [a, aaaa] = await Promise.all([this.dns.query(target, 'A'), this.dns.query(target, 'AAAA')]);
        const bad = [a, aaaa].find(isFailure);
        if (bad) return this.fail(node, info, bad);
        info.addresses = [...addresses(a), ...addresses(aaaa)];
        // an IPv4-only (or IPv6-only) host is not void: only no address at all is
        if (isVoid(a, 'A') && isVoid(aaaa, 'AAAA')) info.void = true;
        return;
      }
      case 'exists': {
        const a = await this.dns.query(target, 'A');
        if (isFailure(a)) return this.fail(node, info, a);
        info.addresses = addresses(a);
        if (isVoid(a, 'A')) info.void = true;
        return;
      }
      case 'mx': {
        const mx = await this.dns.query(target, 'MX');
        if (isFailure(mx)) return this.fail(node, info, mx);
        if (isVoid(mx, 'MX')) {
          info.void = true;
          info.mx = [];
          return;
        }
        // a null MX ("0 .") has no hosts
        const hosts = [...new Set(mxRecords(mx).sort((x, y) => x.priority - y.priority).map((r) => r.exchange).filter((e) => e && e !== '.'))];
        if (hosts.length > MX_ADDRESS_LIMIT) {
          node.errors.push({ kind: 'mx-too-many-addresses', term: t.raw, query: `MX ${target}`, message: `${target} has ${hosts.length} MX hosts: evaluating "${t.raw}" needs ${hosts.length} address lookups (limit ${MX_ADDRESS_LIMIT})` });
        }
        const resolved = await Promise.all(hosts.map(async (h) => {
          const [a, aaaa] = await Promise.all([this.dns.query(h, 'A'), this.dns.query(h, 'AAAA')]);
          return { h, a, aaaa };
        }));
        info.mx = [];
        for (const { h, a, aaaa } of resolved) {
          const bad = [a, aaaa].find(isFailure);
          if (bad) {
            this.fail(node, info, bad);
            continue;
          }
          info.mx.push({ exchange: h, addresses: [...addresses(a), ...addresses(aaaa)] });
        }
        return;
      }
    }
  }
}

function collectFailures(n: SpfNode, out: SpfTree['failures']): void {
  for (const e of n.errors) if (e.kind === 'dns') out.push({ node: n.domain, query: e.query ?? '', rcode: e.rcode ?? '', message: e.message });
  for (const c of n.children) collectFailures(c, out);
}

/** Walk the SPF tree of one domain. */
export async function walkSpf(dns: DnsClient, domain: string, opts: WalkOptions = {}): Promise<SpfTree> {
  const d = normalizeName(domain);
  const walk = new Walk(dns, d, opts.maxDepth ?? 12, opts.maxNodes ?? 100);
  const root = await walk.node(d, 'root', undefined, [], false);
  const failures: SpfTree['failures'] = [];
  collectFailures(root, failures);
  return { domain: d, root, lookups: root.subtreeLookups, voidLookups: root.subtreeVoidLookups, failures, truncated: walk.truncated };
}
