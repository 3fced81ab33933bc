// Draws an SPF tree for the human output: one line per record with its lookup
// counts, the record under it, and a leaf for every term that costs a lookup.
// Pure: reads the tree from the check's data, no I/O.
import type { ViewStyle } from '../types.ts';
import { LOOKUP_LIMIT, VOID_LIMIT, type SpfNode, type SpfTree, type TermInfo } from './walker.ts';

function plural(n: number, w: string): string {
  return `${n} ${w}${n === 1 ? '' : 's'}`;
}

/** What an include/redirect costs: its own lookup plus everything below it. */
function counts(n: SpfNode): string {
  const parts = [plural(1 + n.subtreeLookups, 'lookup')];
  if (n.subtreeVoidLookups) parts.push(`${n.subtreeVoidLookups} void`);
  if (n.shared) parts.push('shared');
  return parts.join(', ');
}

function leaf(t: TermInfo): string {
  if (t.note) return t.note;
  if (t.name === 'mx') {
    const hosts = t.mx ?? [];
    if (t.void) return 'no MX records (void lookup)';
    const shown = hosts.slice(0, 4).map((h) => `${h.exchange} ${h.addresses.join(' ') || '(no address)'}`);
    if (hosts.length > 4) shown.push(`… ${hosts.length - 4} more`);
    return `${plural(hosts.length, 'host')}: ${shown.join(', ')}`;
  }
  if (t.name === 'a' || t.name === 'exists') {
    if (t.void) return 'no address (void lookup)';
    const fam = t.voidFamilies?.length === 1 ? t.voidFamilies[0] : undefined;
    // RFC 7208 §5.3: the lookup an IPv4 client's check makes is A, an IPv6 client's AAAA
    const partly = fam ? ` (no ${fam === 4 ? 'A' : 'AAAA'}: void lookup for IPv${fam} senders)` : '';
    return `${(t.addresses ?? []).join(' ')}${partly}`;
  }
  return '';
}

function nodeErrors(n: SpfNode, s: ViewStyle): string[] {
  // why a node has no record or no children; term-level problems are in the findings
  return n.errors.filter((e) => e.kind === 'missing' || e.kind === 'multiple-records' || (e.kind === 'dns' && !e.term)).map((e) => s.red(`${e.kind}: ${e.message}`));
}

function drawChildren(n: SpfNode, prefix: string, s: ViewStyle, out: string[]): void {
  const children = [...n.children];
  type Item = { kind: 'node'; node: SpfNode } | { kind: 'term'; term: TermInfo };
  const items: Item[] = [];
  for (const t of n.terms) {
    if (t.name === 'include' || t.name === 'redirect') {
      const i = children.findIndex((c) => c.term === t.term);
      if (i >= 0) {
        items.push({ kind: 'node', node: children.splice(i, 1)[0]! });
        continue;
      }
    }
    if (t.lookups > 0 || t.status === 'loop' || t.status === 'not-walked' || (t.name === 'redirect' && t.status === 'ignored')) items.push({ kind: 'term', term: t });
  }
  items.forEach((it, i) => {
    const last = i === items.length - 1;
    const branch = prefix + (last ? '└─ ' : '├─ ');
    const cont = prefix + (last ? '   ' : '│  ');
    if (it.kind === 'term') {
      const t = it.term;
      const text = leaf(t);
      const colour = t.status === 'loop' || t.status === 'unknown' ? s.red : s.dim;
      const expanded = t.expandedFrom && t.target ? ` → ${t.target}` : '';
      out.push(`${branch}${t.term}${expanded} ${s.dim(`(${plural(t.lookups, 'lookup')})`)}${text ? ` ${colour(text)}` : ''}`);
      return;
    }
    const c = it.node;
    const expanded = c.term?.includes('%') ? ` → ${c.domain}` : '';
    out.push(`${branch}${c.term ?? c.domain}${expanded} ${s.dim(`(${counts(c)})`)}`);
    if (c.record !== null) out.push(`${cont}${s.dim(JSON.stringify(c.record))}`);
    for (const e of nodeErrors(c, s)) out.push(`${cont}${e}`);
    drawChildren(c, cont, s, out);
  });
}

/**
 * The tree as lines, headed by the domain and its totals against the RFC 7208 §4.6.4
 * limits; void lookups per address family when they differ (an unlisted sender's count).
 */
export function drawTree(tree: Pick<SpfTree, 'root' | 'lookups' | 'voidLookups' | 'truncated'>, s: ViewStyle, unmatched?: { ipv4: { voidLookups: number }; ipv6: { voidLookups: number } }): string[] {
  const r = tree.root;
  const over = tree.lookups > LOOKUP_LIMIT;
  const total = `${tree.truncated ? '≥' : ''}${tree.lookups}/${LOOKUP_LIMIT} lookups`;
  const [v4, v6] = unmatched ? [unmatched.ipv4.voidLookups, unmatched.ipv6.voidLookups] : [tree.voidLookups, tree.voidLookups];
  const voidText = (n: number, label: string) => (n > VOID_LIMIT ? s.red : s.dim)(`${n}/${VOID_LIMIT} void${label}`);
  const voids = v4 === v6 ? voidText(Math.max(v4, tree.voidLookups), '') : `${voidText(v4, ' (IPv4)')}${s.dim(',')} ${voidText(v6, ' (IPv6)')}`;
  const out = [`${s.bold(r.domain)} ${over ? s.red(total) : s.dim(total)}${s.dim(',')} ${voids}`];
  if (r.record !== null) out.push(s.dim(JSON.stringify(r.record)));
  for (const e of nodeErrors(r, s)) out.push(e);
  drawChildren(r, '', s, out);
  return out;
}
