// Placement in a form the report renderers draw (the Markdown summary's tables and
// Mermaid chart, the HTML report's stacked bars): per provider, how many copies
// landed where, from the placement check's rows. Pure data, no drawing.
import type { CheckResult } from '../types.ts';
import { median } from '../placement/summary.ts';
import { whyLine } from '../placement/why.ts';
import type { PlacementRow } from '../placement/types.ts';

/** Where a copy landed, in the few buckets a chart shows (bottom to top in a stacked bar). */
export const BUCKETS = ['inbox', 'tab', 'spam', 'other', 'missing'] as const;
export type Bucket = (typeof BUCKETS)[number];

export const BUCKET_LABEL: Record<Bucket, string> = {
  inbox: 'inbox',
  tab: 'tab',
  spam: 'spam',
  other: 'other folder',
  missing: 'missing / not delivered',
};

/** Colours that read on light and dark backgrounds (GitHub's Primer palette). */
export const BUCKET_COLOUR: Record<Bucket, string> = {
  inbox: '#2da44e',
  tab: '#218bff',
  spam: '#cf222e',
  other: '#8250df',
  missing: '#bf8700',
};

export interface ProviderBar {
  provider: string;
  /** every seed of this provider */
  seeds: number;
  /** seeds that gave an answer (the rest could not be checked): the bar's 100% */
  answered: number;
  counts: Record<Bucket, number>;
  /** seeds that could not be checked (login refused, unreachable, never reached in line) */
  notChecked: number;
  medianMs: number | null;
}

export interface SeedLine {
  seed: string;
  provider: string;
  protocol: string;
  placement: string;
  folder?: string;
  timeToArrivalMs?: number;
  /** the receiver's verdicts (spf=… dkim=… dmarc=…), a bounce's status, or why the seed could not be checked */
  note?: string;
  /** why the copy landed where it did: the receiver's verdicts, ours on the same copy, and the reading (src/placement/why.ts) */
  why?: string;
}

export interface PlacementView {
  providers: ProviderBar[];
  overall: ProviderBar;
  seeds: SeedLine[];
}

/** The bucket of one placement value (the row schema's `placement`), or undefined for `error`. */
export function bucketOf(placement: string): Bucket | undefined {
  if (placement === 'error') return undefined;
  if (placement === 'inbox' || placement === 'not-spam') return 'inbox';
  if (placement.startsWith('tab:')) return 'tab';
  if (placement === 'spam') return 'spam';
  if (placement.startsWith('other:')) return 'other';
  return 'missing'; // missing, bounced, POP3 not-in-inbox
}

function bar(provider: string, rows: any[]): ProviderBar {
  const counts: Record<Bucket, number> = { inbox: 0, tab: 0, spam: 0, other: 0, missing: 0 };
  let notChecked = 0;
  const times: number[] = [];
  for (const r of rows) {
    const b = bucketOf(String(r.placement ?? 'missing'));
    if (!b) {
      notChecked++;
      continue;
    }
    counts[b]++;
    if ((b === 'inbox' || b === 'tab') && Number.isFinite(r.timeToArrivalMs)) times.push(Number(r.timeToArrivalMs));
  }
  return { provider, seeds: rows.length, answered: rows.length - notChecked, counts, notChecked, medianMs: times.length ? median(times) : null };
}

function noteOf(r: any): string | undefined {
  if (r.placement === 'error') return r.error;
  if (r.placement === 'bounced' && r.bounce) return [r.bounce.status, r.bounce.diagnostic].filter(Boolean).join(' ');
  const a = r.receiverAuth;
  if (!a) return undefined;
  const parts = [a.spf ? `spf=${a.spf.result}` : '', ...(a.dkim ?? []).map((d: any) => `dkim=${d.result}`), a.dmarc ? `dmarc=${a.dmarc.result}` : ''].filter(Boolean);
  return parts.join(' ') || undefined;
}

function whyOf(r: any): string | undefined {
  try {
    return whyLine(r as PlacementRow);
  } catch {
    // a row from an older or foreign document, without the fields the reading needs
    return undefined;
  }
}

/** The placement check's picture, or undefined when it has no rows (not run, or send only). */
export function placementView(c: CheckResult | undefined): PlacementView | undefined {
  const rows = (c?.data as { rows?: unknown[] } | undefined)?.rows;
  if (!Array.isArray(rows) || !rows.length) return undefined;
  const by = new Map<string, any[]>();
  for (const r of rows as any[]) {
    const p = String(r.provider ?? 'generic');
    const list = by.get(p);
    if (list) list.push(r);
    else by.set(p, [r]);
  }
  return {
    providers: [...by.keys()].sort().map((p) => bar(p, by.get(p)!)),
    overall: bar('all', rows as any[]),
    seeds: (rows as any[]).map((r) => seedLine(r)),
  };
}

function seedLine(r: any): SeedLine {
  const note = noteOf(r);
  const why = whyOf(r);
  return {
    seed: String(r.seed),
    provider: String(r.provider ?? 'generic'),
    protocol: String(r.protocol ?? ''),
    placement: String(r.placement ?? 'missing'),
    ...(r.folder ? { folder: String(r.folder) } : {}),
    ...(Number.isFinite(r.timeToArrivalMs) ? { timeToArrivalMs: Number(r.timeToArrivalMs) } : {}),
    ...(note ? { note: String(note) } : {}),
    ...(why ? { why } : {}),
  };
}

/** A share of the answered seeds, as a whole percentage ('—' when none answered). */
export function share(n: number, of: number): string {
  return of ? `${Math.round((n / of) * 100)}%` : '—';
}

/** Arrival times are whole seconds on most servers: shown as such. */
export function fmtArrival(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return '<1 s';
  return ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}
