// The human view of a sweep: a grid of targets × zones (transposed when there
// are few targets), listings highlighted, errors marked apart from listings.
import { createRequire } from 'node:module';
import type { ViewStyle } from '../types.ts';
import type { Cell, SweepResult, TargetRow, ZoneReport } from './sweep.ts';

const require = createRequire(import.meta.url);
const Table = require('cli-table3') as typeof import('cli-table3');

const SHORT: Record<Cell['status'], string> = {
  listed: 'LISTED', clean: 'ok', allowlisted: 'allow', error: 'ERR', refused: 'REFUSED', 'rate-limited': 'RATELIM', unknown: '?', unreliable: 'UNRELIA',
};

function paint(c: Cell | undefined, s: ViewStyle, text: string): string {
  if (!c) return s.dim('·');
  switch (c.status) {
    case 'listed': return c.severity === 'warn' ? s.yellow(s.bold(text)) : s.red(s.bold(text));
    case 'clean': return s.dim(text);
    case 'allowlisted': return s.green(text);
    case 'unreliable': return s.dim(s.yellow(text));
    default: return s.yellow(text);
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

function table(head: string[]): InstanceType<typeof Table> {
  return new Table({ head, style: { head: [], border: [], compact: true }, wordWrap: false });
}

function cellOf(r: TargetRow, zone: string): Cell | undefined {
  return r.results.find((c) => c.zone === zone);
}

function section(label: string, rows: TargetRow[], zones: ZoneReport[], s: ViewStyle): string[] {
  if (!rows.length || !zones.length) return [];
  const out: string[] = [s.bold(label)];
  if (rows.length <= 4) {
    // few targets: one line per zone reads better than 25 narrow columns
    const t = table(['zone', ...rows.map((r) => r.target)]);
    for (const z of zones) t.push([`${z.short} ${s.dim(z.name)}${z.kind === 'allow' ? s.dim(' (allow-list)') : ''}`, ...rows.map((r) => paint(cellOf(r, z.name), s, longText(cellOf(r, z.name))))]);
    t.push([s.bold('listed on'), ...rows.map((r) => (r.listedOn ? s.red(s.bold(`${r.listedOn} of ${r.answering}`)) : `0 of ${r.answering}`) + (r.answering < r.zones ? s.yellow(` (${r.zones - r.answering} no answer)`) : ''))]);
    out.push(...t.toString().split('\n'));
  } else {
    const t = table(['target', 'listed', ...zones.map((z) => z.short)]);
    for (const r of rows) {
      t.push([
        r.target,
        (r.listedOn ? s.red(s.bold(`${r.listedOn}/${r.answering}`)) : `0/${r.answering}`) + (r.answering < r.zones ? s.yellow('*') : ''),
        ...zones.map((z) => paint(cellOf(r, z.name), s, cellOf(r, z.name) ? SHORT[cellOf(r, z.name)!.status] : '·')),
      ]);
    }
    out.push(...t.toString().split('\n'));
    out.push(s.dim(`columns: ${zones.map((z) => `${z.short}=${z.name}`).join(', ')}; * = some lists gave no answer`));
  }
  return out;
}

/** Lines for the human report (the check's `view`). */
export function renderGrid(r: Pick<SweepResult, 'targets' | 'zones'>, s: ViewStyle): string[] {
  const ipRows = r.targets.filter((t) => t.kind !== 'domain');
  const domRows = r.targets.filter((t) => t.kind === 'domain');
  const used = (kind: 'ip' | 'domain', rows: TargetRow[]) => r.zones.filter((z) => z.type === kind && rows.some((row) => cellOf(row, z.name)));
  const out = [
    ...section(`IP addresses × IP lists`, ipRows, used('ip', ipRows), s),
    ...section(`domains × domain lists`, domRows, used('domain', domRows), s),
  ];
  if (out.length) {
    out.push(s.dim(`LISTED = on the list · ok = not listed · allow = on an allow-list (reputation, not a listing) · ERR/REFUSED/RATELIM/? = the list gave no usable answer (not a listing, not clean) · UNRELIA = the list failed its self-test`));
  }
  return out;
}
