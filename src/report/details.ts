// Draws the generic detail blocks checks fill (src/types.ts Detail: list, table,
// grid, tree) as lines of toned spans. Every front end starts here: the text
// report styles the spans for a terminal, the dashboard colours whole lines, and
// a renderer that wants plain text joins them. Pure: no I/O, no colour library.
import type { BarRow, Detail, Rich, Span, Tone, TreeNode } from '../types.ts';
import { toneStyle, type ViewStyle } from './style.ts';

/** One drawn line: spans in order. */
export type Line = Span[];

export const spans = (r: Rich | undefined): Span[] => (r === undefined ? [] : typeof r === 'string' ? (r ? [{ text: r }] : []) : r);
export const plain = (r: Rich | Line | undefined): string => spans(r).map((x) => x.text).join('');
/** Shorthands for checks filling details. */
export const span = (text: string, tone?: Tone): Span => (tone ? { text, tone } : { text });
export const muted = (text: string): Span => ({ text, tone: 'muted' });

/** Display columns of a string: wide (East Asian, emoji) characters count two, combining marks none. */
export function width(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || (c >= 0x7f && c < 0xa0)) continue;
    if (/\p{Mn}|\p{Me}|\u200b|\u200d/u.test(ch)) continue;
    const wide =
      (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) || (c >= 0x3041 && c <= 0x33ff) ||
      (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) ||
      (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) ||
      (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
      (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd);
    w += wide ? 2 : 1;
  }
  return w;
}

const pad = (l: Line, w: number, right = false): Line => {
  const n = Math.max(0, w - width(plain(l)));
  if (!n) return l;
  return right ? [{ text: ' '.repeat(n) }, ...l] : [...l, { text: ' '.repeat(n) }];
};

function listLines(items: Rich[]): Line[] {
  return items.map((i) => spans(i));
}

function tableLines(columns: string[], rows: Rich[][], align: ('left' | 'right')[] = []): Line[] {
  const cells = rows.map((r) => r.map((c) => spans(c)));
  const widths = columns.map((h, i) => Math.max(width(h), ...cells.map((r) => (r[i] ? width(plain(r[i])) : 0))));
  const last = columns.length - 1;
  const join = (row: Line[], head = false): Line => {
    const out: Line = [];
    row.forEach((c, i) => {
      if (i) out.push({ text: '  ' });
      // the last column is not padded: no trailing blanks
      out.push(...(i === last && align[i] !== 'right' ? c : pad(c, widths[i]!, align[i] === 'right')));
    });
    return head ? out.map((x) => ({ ...x, tone: x.text.trim() ? 'strong' as const : x.tone })) : out;
  };
  return [join(columns.map((h) => [{ text: h }]), true), ...cells.map((r) => join(r))];
}

function gridLines(columns: Rich[], rows: Rich[][]): Line[] {
  const head = columns.map((c) => spans(c));
  const body = rows.map((r) => r.map((c) => spans(c)));
  const widths = head.map((h, i) => Math.max(width(plain(h)), ...body.map((r) => (r[i] ? width(plain(r[i])) : 0))));
  const rule = (l: string, m: string, r: string): Line => [{ text: `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}` }];
  const row = (cells: Line[]): Line => {
    const out: Line = [{ text: '│' }];
    widths.forEach((w, i) => out.push({ text: ' ' }, ...pad(cells[i] ?? [], w), { text: ' │' }));
    return out;
  };
  return [rule('┌', '┬', '┐'), row(head), rule('├', '┼', '┤'), ...body.map(row), rule('└', '┴', '┘')];
}

function treeLines(root: TreeNode): Line[] {
  const out: Line[] = [spans(root.label), ...(root.lines ?? []).map(spans)];
  const walk = (n: TreeNode, prefix: string) => {
    const kids = n.children ?? [];
    kids.forEach((k, i) => {
      const lastKid = i === kids.length - 1;
      out.push([{ text: prefix + (lastKid ? '└─ ' : '├─ ') }, ...spans(k.label)]);
      const cont = prefix + (lastKid ? '   ' : '│  ');
      for (const l of k.lines ?? []) out.push([{ text: cont }, ...spans(l)]);
      walk(k, cont);
    });
  };
  walk(root, '');
  return out;
}

/** The glyph of each part, in order: a bar reads without colour too. */
const GLYPHS = ['█', '▓', '▒', '░', '▚', '▞'];
const BAR_WIDTH = 30;

function barLines(rows: BarRow[], legend: boolean): Line[] {
  const lw = Math.max(0, ...rows.map((r) => width(r.label)));
  const names: string[] = [];
  for (const r of rows) for (const p of r.parts) if (!names.includes(p.name)) names.push(p.name);
  const out: Line[] = rows.map((r) => {
    const of = r.of ?? r.parts.reduce((a, p) => a + p.value, 0);
    const line: Line = [{ text: `${r.label}${' '.repeat(lw - width(r.label))}  ` }];
    let used = 0;
    let acc = 0;
    for (const p of r.parts) {
      acc += p.value;
      // cumulative rounding: the parts add up to the whole bar, none lost to rounding
      const end = of > 0 ? Math.round((acc / of) * BAR_WIDTH) : 0;
      const n = Math.max(0, end - used);
      used += n;
      if (n) line.push({ text: GLYPHS[names.indexOf(p.name) % GLYPHS.length]!.repeat(n), ...(p.tone ? { tone: p.tone } : {}) });
    }
    if (used < BAR_WIDTH) line.push({ text: ' '.repeat(BAR_WIDTH - used) });
    const text = r.text ?? r.parts.filter((p) => p.value > 0).map((p) => `${p.name} ${of > 0 ? Math.round((p.value / of) * 100) : 0}%`).join(' · ');
    line.push({ text: `  ${text}`, tone: 'muted' });
    return line;
  });
  if (legend && names.length > 1) out.push([{ text: names.map((n, i) => `${GLYPHS[i % GLYPHS.length]} ${n}`).join('  '), tone: 'muted' }]);
  return out;
}

/** The blocks as lines of spans, in order; each block's title above it and its note below. */
export function layoutDetails(ds: Detail[]): Line[] {
  const out: Line[] = [];
  for (const d of ds) {
    if (d.title !== undefined) out.push(spans(d.title));
    switch (d.kind) {
      case 'list': out.push(...listLines(d.items)); break;
      case 'table': if (d.rows.length) out.push(...tableLines(d.columns, d.rows, d.align)); break;
      case 'grid': if (d.rows.length) out.push(...gridLines(d.columns, d.rows)); break;
      case 'tree': out.push(...treeLines(d.root)); break;
      case 'bars': if (d.rows.length) out.push(...barLines(d.rows, d.legend ?? true)); break;
    }
    if ('note' in d && d.note !== undefined) out.push(spans(d.note));
  }
  return out;
}

/** Lines for a terminal (or plain text when the style has no colour). */
export function drawDetails(ds: Detail[], s: ViewStyle): string[] {
  return layoutDetails(ds).map((l) => l.map((x) => (x.tone ? toneStyle(s, x.tone, x.text) : x.text)).join(''));
}

const RANK: Record<Tone, number> = { alarm: 7, bad: 6, warn: 5, unknown: 4, info: 3, good: 2, strong: 1, muted: 0 };
/** The tone a whole line reads with where only one colour fits (a dashboard row): its most serious. */
export function lineTone(l: Line): Tone | undefined {
  let best: Tone | undefined;
  for (const x of l) if (x.tone && x.text.trim() && (best === undefined || RANK[x.tone] > RANK[best])) best = x.tone;
  return best;
}
