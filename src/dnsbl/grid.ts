// The human view of a sweep: a grid of targets × zones (transposed when there
// are few targets), listings highlighted, errors marked apart from listings, as
// generic detail blocks every renderer draws.
import type { Detail, Rich, Span } from '../types.ts';
import { muted, span } from '../report/details.ts';
import type { Cell, SweepResult, TargetRow, ZoneReport } from './sweep.ts';

const SHORT: Record<Cell['status'], string> = {
  listed: 'LISTED', clean: 'ok', allowlisted: 'allow', error: 'ERR', refused: 'REFUSED', 'rate-limited': 'RATELIM', unknown: '?', unreliable: 'UNRELIA',
};

function paint(c: Cell | undefined, text: string): Span {
  if (!c) return muted('·');
  switch (c.status) {
    case 'listed': return span(text, c.severity === 'warn' ? 'warn' : 'alarm');
    case 'clean': return muted(text);
    case 'allowlisted': return span(text, 'good');
    case 'unreliable': return span(text, 'unknown');
    default: return span(text, 'warn');
  }
}

function longText(c: Cell | undefined): string {
  if (!c) return '';
  const clip = (t: string, n = 60) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);
  switch (c.status) {
    case 'clean': return 'ok';
    case 'listed':
    case 'allowlisted': return `${SHORT[c.status]} ${clip((c.meanings ?? c.answers ?? []).join('; '))}`;
    default: return `${SHORT[c.status]} ${clip(c.reason ?? '')}`;
  }
}

function cellOf(r: TargetRow, zone: string): Cell | undefined {
  return r.results.find((c) => c.zone === zone);
}

function section(label: string, rows: TargetRow[], zones: ZoneReport[]): Detail[] {
  if (!rows.length || !zones.length) return [];
  const title: Rich = [span(label, 'strong')];
  const listedOn = (r: TargetRow, short: boolean): Span[] => [
    r.listedOn ? span(short ? `${r.listedOn}/${r.answering}` : `${r.listedOn} of ${r.answering}`, 'alarm') : span(short ? `0/${r.answering}` : `0 of ${r.answering}`),
    ...(r.answering < r.zones ? [span(short ? '*' : ` (${r.zones - r.answering} no answer)`, 'warn')] : []),
  ];
  if (rows.length <= 4) {
    // few targets: one line per zone reads better than 25 narrow columns
    return [{
      kind: 'grid',
      title,
      columns: ['zone', ...rows.map((r) => r.target)],
      rows: [
        ...zones.map((z) => [
          [span(`${z.short} `), muted(z.name), ...(z.kind === 'allow' ? [muted(' (allow-list)')] : [])],
          ...rows.map((r) => [paint(cellOf(r, z.name), longText(cellOf(r, z.name)))]),
        ]),
        [[span('listed on', 'strong')], ...rows.map((r) => listedOn(r, false))],
      ],
    }];
  }
  return [{
    kind: 'grid',
    title,
    columns: ['target', 'listed', ...zones.map((z) => z.short)],
    rows: rows.map((r) => [r.target, listedOn(r, true), ...zones.map((z) => [paint(cellOf(r, z.name), cellOf(r, z.name) ? SHORT[cellOf(r, z.name)!.status] : '·')])]),
    note: [muted(`columns: ${zones.map((z) => `${z.short}=${z.name}`).join(', ')}; * = some lists gave no answer`)],
  }];
}

const NO_ANSWER = new Set<Cell['status']>(['error', 'refused', 'rate-limited', 'unknown', 'unreliable']);

/**
 * One line per target that is listed or that some list did not answer for, its
 * listings under it (errors kept apart, never counted as listings), and one line
 * for all the clean ones: what fits a narrow panel, read before the grid.
 */
function listingSummary(r: Pick<SweepResult, 'targets'>): Detail {
  const items: Rich[] = [];
  let clean = 0;
  for (const t of r.targets) {
    const listed = t.results.filter((z) => z.status === 'listed');
    const errs = t.results.filter((z) => NO_ANSWER.has(z.status));
    const allow = t.results.some((z) => z.status === 'allowlisted');
    if (!listed.length && !errs.length) {
      clean++;
      continue;
    }
    items.push([
      span(`${t.target.padEnd(18)} listed on ${t.listedOn ?? listed.length} of ${t.answering} answering`, listed.length ? 'bad' : 'unknown'),
      ...(errs.length ? [span(`  · ${errs.length} not answering`, 'unknown')] : []),
      ...(allow ? [span('  · allow-listed', 'good')] : []),
    ]);
    for (const z of listed) items.push([span(`   ✗ ${z.zone}${z.meanings?.length ? ` — ${z.meanings.join('; ')}` : ''}`, z.severity === 'warn' ? 'warn' : 'bad')]);
    for (const z of errs.slice(0, 3)) items.push([span(`   ? ${z.zone}: ${z.status}${z.reason ? ` — ${z.reason}` : ''}`, 'unknown')]);
    if (errs.length > 3) items.push([span(`   ? … and ${errs.length - 3} more`, 'unknown')]);
  }
  if (clean) items.push([span(`${items.length ? `${clean} other target(s)` : `${clean} target(s)`}: listed on none of the lists that answered`, 'good')]);
  return { kind: 'list', items };
}

/** The sweep as detail blocks (the blacklist check's `details`): the listings in short, a grid per kind of target, the legend. */
export function gridDetails(r: Pick<SweepResult, 'targets' | 'zones'>): Detail[] {
  const ipRows = r.targets.filter((t) => t.kind !== 'domain');
  const domRows = r.targets.filter((t) => t.kind === 'domain');
  const used = (kind: 'ip' | 'domain', rows: TargetRow[]) => r.zones.filter((z) => z.type === kind && rows.some((row) => cellOf(row, z.name)));
  const out = [...section(`IP addresses × IP lists`, ipRows, used('ip', ipRows)), ...section(`domains × domain lists`, domRows, used('domain', domRows))];
  if (out.length) {
    out.unshift(listingSummary(r));
    out.push({ kind: 'list', items: [[muted(`LISTED = on the list · ok = not listed · allow = on an allow-list (reputation, not a listing) · ERR/REFUSED/RATELIM/? = the list gave no usable answer (not a listing, not clean) · UNRELIA = the list failed its self-test`)]] });
  }
  return out;
}
