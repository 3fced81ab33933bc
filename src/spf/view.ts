// The SPF tree as a generic detail block (src/types.ts Detail): one node per record
// with its lookup counts, the record under it, and a leaf for every term that
// costs a lookup. Pure: reads the tree from the check's data, no I/O.
import type { Detail, Rich, TreeNode } from '../types.ts';
import { muted, span } from '../report/details.ts';
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

function nodeErrors(n: SpfNode): Rich[] {
  // why a node has no record or no children; term-level problems are in the findings
  return n.errors.filter((e) => e.kind === 'missing' || e.kind === 'multiple-records' || (e.kind === 'dns' && !e.term)).map((e) => [span(`${e.kind}: ${e.message}`, 'bad')]);
}

function nodeLines(n: SpfNode): Rich[] {
  return [...(n.record !== null ? [[muted(JSON.stringify(n.record))]] : []), ...nodeErrors(n)];
}

function children(n: SpfNode): TreeNode[] {
  const kids = [...n.children];
  const out: TreeNode[] = [];
  for (const t of n.terms) {
    if (t.name === 'include' || t.name === 'redirect') {
      const i = kids.findIndex((c) => c.term === t.term);
      if (i >= 0) {
        const c = kids.splice(i, 1)[0]!;
        // a macro's expansion (include:_spf.%{d}) is shown beside it
        const expanded = c.term?.includes('%') ? ` → ${c.domain}` : '';
        out.push({ label: [span(`${c.term ?? c.domain}${expanded}`), span(' '), muted(`(${counts(c)})`)], lines: nodeLines(c), children: children(c) });
        continue;
      }
    }
    if (t.lookups > 0 || t.status === 'loop' || t.status === 'not-walked' || (t.name === 'redirect' && t.status === 'ignored')) {
      const text = leaf(t);
      const expanded = t.expandedFrom && t.target ? ` → ${t.target}` : '';
      out.push({ label: [span(`${t.term}${expanded} `), muted(`(${plural(t.lookups, 'lookup')})`), ...(text ? [span(' '), span(text, t.status === 'loop' || t.status === 'unknown' ? 'bad' : 'muted')] : [])] });
    }
  }
  return out;
}

/**
 * The tree as a detail block, headed by the domain and its totals against the RFC 7208
 * §4.6.4 limits; void lookups per address family when they differ (an unlisted sender's count).
 */
export function spfTreeDetail(tree: Pick<SpfTree, 'root' | 'lookups' | 'voidLookups' | 'truncated'>, title?: Rich, unmatched?: { ipv4: { voidLookups: number }; ipv6: { voidLookups: number } }): Detail {
  const r = tree.root;
  const over = tree.lookups > LOOKUP_LIMIT;
  const total = `${tree.truncated ? '≥' : ''}${tree.lookups}/${LOOKUP_LIMIT} lookups`;
  const [v4, v6] = unmatched ? [unmatched.ipv4.voidLookups, unmatched.ipv6.voidLookups] : [tree.voidLookups, tree.voidLookups];
  const voidSpan = (n: number, label: string) => span(`${n}/${VOID_LIMIT} void${label}`, n > VOID_LIMIT ? 'bad' : 'muted');
  const voids = v4 === v6 ? [voidSpan(Math.max(v4, tree.voidLookups), '')] : [voidSpan(v4, ' (IPv4)'), muted(','), span(' '), voidSpan(v6, ' (IPv6)')];
  const label: Rich = [span(r.domain, 'strong'), span(' '), span(total, over ? 'bad' : 'muted'), muted(','), span(' '), ...voids];
  return { kind: 'tree', ...(title !== undefined ? { title } : {}), root: { label, lines: nodeLines(r), children: children(r) } };
}
