// The SPF include/redirect tree walker: fetches a domain's SPF record, follows
// every include and redirect (all the children of a node at once), resolves the
// a/mx/exists terms, expanding the macros that do not depend on the connection
// (%{d}, %{o}, and %{s}/%{l} when the sender's local part is known: RFC 7208 §7.2),
// and records per node what it costs under RFC 7208 §4.6.4 (DNS-querying terms,
// void lookups per address family). It only gathers facts over the DnsClient
// (which de-duplicates and caches per run); turning them into findings is the spf
// check's job. Never throws.
import { createRequire } from 'node:module';
import type { DnsClient, DnsResponse } from '../dns/resolver.ts';
import { addresses, answersOf, describe, isFailure, mxRecords, normalizeName } from '../dns/resolver.ts';
import { registrableDomain } from '../dns/orgdomain.ts';
import { isSpfRecord, parseSpf, type Qualifier, type SpfTerm } from './parser.ts';

// mailauth's own macro expansion (RFC 7208 §7.3) and target-name rules, so that the
// walk expands a domain-spec exactly as the --ip evaluation (mailauth) does
const require = createRequire(import.meta.url);
const expandMacro = require('mailauth/lib/spf/macro.js') as (input: string, values: { sender: string; domain: string }) => string;
const { normalizeTargetName, isValidTargetName } = require('mailauth/lib/spf/syntax.js') as { normalizeTargetName: (n: string) => string; isValidTargetName: (n: string) => boolean };
const { toALabel } = require('mailauth/lib/tools.js') as { toALabel: (n: string) => string };

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
  /** its lookup returned NXDOMAIN or no records whatever the client's address family (counted towards the void limit) */
  void?: boolean;
  /**
   * the address families for which its lookup is void: an `a` term queries A for an
   * IPv4 client and AAAA for an IPv6 one (RFC 7208 §5.3), so an IPv6-only host is a
   * void lookup for IPv4 clients. [4, 6] when `void`.
   */
  voidFamilies?: (4 | 6)[];
  /** the domain-spec as written, when its macros were expanded into `target` (RFC 7208 §7.3) */
  expandedFrom?: string;
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
  /** mx: how many MX records the answer has (a name listed twice counts twice; no null MX) */
  mxRecords?: number;
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
  /**
   * the MAIL FROM address, when its local part is known: %{s} and %{l} are then
   * expanded too. Its domain must be the walked domain (else it is ignored).
   */
  sender?: string;
}

/** Macro letters the walk can expand: the current domain, and the sender's domain (the walked domain). */
const STATIC_MACROS = new Set(['d', 'o']);
const SENDER_MACROS = new Set(['s', 'l']);

const MACRO_NEEDS: Record<string, string> = {
  i: 'the connecting IP', v: 'the connecting IP', p: "the connecting IP's validated host name",
  s: 'the sender address', l: 'the sender address', o: 'the sender domain', h: 'the HELO name', d: 'the current domain',
};

function macroNote(t: SpfTerm, expandable: (m: string) => boolean): string {
  const missing = t.macros.filter((m) => !expandable(m));
  const needs = [...new Set(missing.map((m) => MACRO_NEEDS[m] ?? `%{${m}}`))];
  const local = missing.some((m) => SENDER_MACROS.has(m)) ? ' (give --mail-from a full address to expand it)' : '';
  return `not resolved: uses ${missing.map((m) => `%{${m}}`).join(' ')} (needs ${needs.join(', ')})${local}; counted, not queried`;
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
  /** the sender address macros expand with: local@root (the local part only when known) */
  private readonly sender: string;
  private readonly localKnown: boolean;

  constructor(dns: DnsClient, domain: string, maxDepth: number, maxNodes: number, sender?: string) {
    this.dns = dns;
    this.top = registrableDomain(domain);
    this.maxDepth = maxDepth;
    this.maxNodes = maxNodes;
    const at = sender ? sender.lastIndexOf('@') : -1;
    this.localKnown = !!sender && at > 0 && normalizeName(sender.slice(at + 1)) === domain;
    this.sender = this.localKnown ? `${sender!.slice(0, at)}@${domain}` : `postmaster@${domain}`;
  }

  private expandable = (m: string): boolean => STATIC_MACROS.has(m) || (this.localKnown && SENDER_MACROS.has(m));

  /** The domain-spec with its macros expanded for this node, as mailauth does (§7.3: over 253 octets, cut from the left). */
  private expand(spec: string, domain: string, lowercase: boolean): string {
    if (lowercase) spec = spec.replace(/%\{[^}]*\}|%[%_-]|[^%]+|%/g, (part) => (part.charAt(0) === '%' ? part : part.toLowerCase()));
    return normalizeTargetName(toALabel(expandMacro(spec, { sender: this.sender, domain }).replace(/\.$/, '')));
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
      if (t.macros.length && !t.macros.every(this.expandable)) {
        Object.assign(info, { status: 'not-resolved', note: macroNote(t, this.expandable) });
        continue;
      }
      if (t.name === 'ptr') {
        if (t.domainSpec) info.target = t.macros.length ? this.expand(t.domainSpec, node.domain, false) : normalizeName(t.domainSpec);
        Object.assign(info, { status: 'not-resolved', note: 'not resolved: ptr needs the connecting IP (its PTR names, validated); counted, not queried' });
        continue;
      }
      let target: string;
      if (t.macros.length) {
        target = this.expand(t.domainSpec!, node.domain, t.name === 'a' || t.name === 'mx');
        info.expandedFrom = t.domainSpec!;
        info.target = target;
        // RFC 7208 §4.8: a name the expansion makes invalid is not queried and the term does not match
        if (!isValidTargetName(target)) {
          Object.assign(info, { note: `never matches: "${t.domainSpec}" expands to '${target}', which is not a valid domain name` });
          continue;
        }
        target = normalizeName(target);
        info.target = target;
      } else {
        target = normalizeName(t.domainSpec ?? node.domain);
        info.target = target;
      }
      const bad = t.macros.length ? null : invalidName(target);
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
        if (child.rcode === 'NXDOMAIN' || (child.rcode === 'NOERROR' && child.txt.length === 0)) Object.assign(info, { void: true, voidFamilies: [4, 6] });
        if (child.errors.some((e) => e.kind === 'dns' && e.query === `TXT ${target}`)) info.status = 'unknown';
        return;
      }
      case 'a': {
        const [a, aaaa] = await Promise.all([this.dns.query(target, 'A'), this.dns.query(target, 'AAAA')]);
        const bad = [a, aaaa].find(isFailure);
        if (bad) return this.fail(node, info, bad);
        info.addresses = [...addresses(a), ...addresses(aaaa)];
        // RFC 7208 §5.3: an IPv4 client's check queries A, an IPv6 client's AAAA; each empty answer is void for that family
        const families = [...(isVoid(a, 'A') ? [4 as const] : []), ...(isVoid(aaaa, 'AAAA') ? [6 as const] : [])];
        if (families.length) info.voidFamilies = families;
        if (families.length === 2) info.void = true;
        return;
      }
      case 'exists': {
        const a = await this.dns.query(target, 'A');
        if (isFailure(a)) return this.fail(node, info, a);
        info.addresses = addresses(a);
        // exists queries A whatever the client's family (RFC 7208 §5.7)
        if (isVoid(a, 'A')) Object.assign(info, { void: true, voidFamilies: [4, 6] });
        return;
      }
      case 'mx': {
        const mx = await this.dns.query(target, 'MX');
        if (isFailure(mx)) return this.fail(node, info, mx);
        if (isVoid(mx, 'MX')) {
          Object.assign(info, { void: true, voidFamilies: [4, 6], mx: [], mxRecords: 0 });
          return;
        }
        // a null MX ("0 .") has no hosts
        const names = mxRecords(mx).sort((x, y) => x.priority - y.priority).map((r) => r.exchange).filter((e) => e && e !== '.');
        const hosts = [...new Set(names)];
        info.mxRecords = names.length;
        // RFC 7208 §4.6.4: more than 10 MX names is a permerror whatever the client's IP (docs/spf.md:
        // the reading pyspf and the OpenSPF suite's mx-limit take; a name listed twice counts twice)
        if (names.length > MX_ADDRESS_LIMIT) {
          const distinct = hosts.length === names.length ? '' : ` (${hosts.length} distinct)`;
          node.errors.push({ kind: 'mx-too-many-addresses', term: t.raw, query: `MX ${target}`, message: `${target} has ${names.length} MX records${distinct}: evaluating "${t.raw}" needs ${names.length} address lookups (limit ${MX_ADDRESS_LIMIT})` });
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
  const walk = new Walk(dns, d, opts.maxDepth ?? 12, opts.maxNodes ?? 100, opts.sender);
  const root = await walk.node(d, 'root', undefined, [], false);
  const failures: SpfTree['failures'] = [];
  collectFailures(root, failures);
  return { domain: d, root, lookups: root.subtreeLookups, voidLookups: root.subtreeVoidLookups, failures, truncated: walk.truncated };
}
