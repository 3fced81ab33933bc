// The time window of `reports show`: --since/--until (ISO dates or times, Unix
// seconds, or a duration ago such as 7d or 12h), or --around RUN, the span of a
// saved before/after pair of runs — the campaign went out between them, so the
// reports whose date range overlaps it are the receivers' view of it.
import { UsageError } from '../util/errors.ts';
import type { HistoryStore, RunSummary } from '../history/store.ts';
import type { Window } from './show.ts';

export function parseTime(input: string, what: string, now = Date.now()): number {
  const s = String(input).trim();
  const ago = /^(\d+(?:\.\d+)?)(m|h|d|w)$/.exec(s);
  if (ago) return Math.floor((now - Number(ago[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[ago[2] as 'm' | 'h' | 'd' | 'w']) / 1000);
  if (/^\d{9,11}$/.test(s)) return Number(s);
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) {
    const t = Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s.replace(' ', 'T'));
    if (Number.isFinite(t)) return Math.floor(t / 1000);
  }
  throw new UsageError(`${what}: '${s}' is not a time (use an ISO date or time such as 2026-05-01 or 2026-05-01T12:00:00Z, Unix seconds, or a duration ago such as 7d, 12h)`);
}

export function windowFromFlags(a: { since?: string; until?: string; around?: string }, history: () => HistoryStore | undefined): Window {
  if (a.around !== undefined && (a.since !== undefined || a.until !== undefined)) throw new UsageError('--around takes the window of a before/after pair of runs: give either --around RUN or --since/--until, not both');
  if (a.around !== undefined) return windowAround(a.around, history());
  const w: Window = {};
  if (a.since !== undefined) w.since = parseTime(a.since, '--since');
  if (a.until !== undefined) w.until = parseTime(a.until, '--until');
  if (w.since !== undefined && w.until !== undefined && w.until < w.since) throw new UsageError(`--until (${a.until}) is before --since (${a.since})`);
  return w;
}

/**
 * RUN is one run of a before/after pair (an id, "last", "last:after"): the
 * other one is the run of the same target just before it (or, for a run
 * labelled "before", just after it). "A..B" names both.
 */
export function windowAround(ref: string, history: HistoryStore | undefined): Window {
  if (!history) throw new UsageError(`--around ${ref}: there is no history database yet, so no saved run (runs are saved by check, placement and the other commands unless --no-save)`);
  let before: RunSummary;
  let after: RunSummary;
  if (ref.includes('..')) {
    const [a, b] = ref.split('..');
    before = history.get(a!);
    after = history.get(b!);
  } else {
    const run = history.get(ref);
    const runs = history.list({ target: run.target, limit: 100_000 }).sort((x, y) => x.createdAt.localeCompare(y.createdAt) || x.id.localeCompare(y.id));
    const i = runs.findIndex((r) => r.id === run.id);
    const pairWithNext = run.label === 'before';
    const other = pairWithNext ? runs[i + 1] : runs[i - 1];
    if (!other) throw new UsageError(`--around ${ref}: run ${run.id} (${run.target}) has no saved run ${pairWithNext ? 'after' : 'before'} it to pair with; give both as --around BEFORE..AFTER`);
    [before, after] = pairWithNext ? [run, other] : [other, run];
  }
  if (after.createdAt < before.createdAt) [before, after] = [after, before];
  const pick = (r: RunSummary) => ({ id: r.id, createdAt: r.createdAt, label: r.label });
  return { since: Math.floor(Date.parse(before.createdAt) / 1000), until: Math.ceil(Date.parse(after.createdAt) / 1000), around: { before: pick(before), after: pick(after) } };
}
