// What changed between two runs: findings added or resolved, blacklist listings
// gained or lost, check statuses, placement rates per provider and time-to-inbox.
// Used by `inboxlens diff`, `--against`, `--baseline` and the dashboard.
import type { CheckResult, Finding, Severity, Status } from '../types.ts';
import type { Report } from '../report/json.ts';
import { SEVERITY_RANK } from '../engine.ts';
import type { ReceiversReported } from '../reports/receivers.ts';

export interface RunRef {
  id?: string;
  label?: string | null;
  generatedAt: string;
}

export interface ProviderRate {
  provider: string;
  seeds: number;
  inbox: number;
  spam: number;
  missing: number;
  inboxRate: number;
}

export interface PlacementStats {
  providers: ProviderRate[];
  overall: ProviderRate;
  medianMs: number | null;
  maxMs: number | null;
}

export interface TargetDiff {
  target: string;
  statusBefore: Status | 'absent';
  statusAfter: Status | 'absent';
  checks: { check: string; before: Status | 'absent'; after: Status | 'absent' }[];
  added: Finding[];
  resolved: Finding[];
  listed: Finding[];
  delisted: Finding[];
  placement?: {
    providers: { provider: string; before: number | null; after: number | null; delta: number | null }[];
    overallBefore: number | null;
    overallAfter: number | null;
    medianMsBefore: number | null;
    medianMsAfter: number | null;
  };
  /** what receivers reported in DMARC aggregate reports between the two runs (`inboxlens diff` adds it from the history database: src/reports/receivers.ts) */
  receivers?: ReceiversReported;
}

export interface ReportDiff {
  schemaVersion: '1.0';
  before: RunRef;
  after: RunRef;
  targets: TargetDiff[];
  regressions: string[];
  improvements: string[];
}

const STATUS_RANK: Record<Status, number> = { pass: 0, warn: 1, unknown: 1, fail: 2 };

/** Identity of a finding across runs: its code, what it is about, and the query that proved it. */
function key(f: Finding): string {
  return [f.check, f.code, f.subject ?? '', f.evidence?.[0]?.query ?? ''].join('|');
}

const LISTED = new Set(['dnsbl.listed']);

/** Placement counts from a placement check's data (rows of {provider, placement, timeToArrivalMs}). */
export function placementStats(c: CheckResult | undefined): PlacementStats | undefined {
  const rows = (c?.data as any)?.rows;
  if (!Array.isArray(rows) || !rows.length) return undefined;
  const by = new Map<string, ProviderRate>();
  const times: number[] = [];
  const bump = (p: string, placement: string) => {
    const r = by.get(p) ?? { provider: p, seeds: 0, inbox: 0, spam: 0, missing: 0, inboxRate: 0 };
    r.seeds++;
    if (placement === 'inbox' || placement.startsWith('tab:') || placement === 'not-spam') r.inbox++;
    else if (placement === 'spam') r.spam++;
    else if (placement === 'missing' || placement === 'bounced' || placement === 'not-in-inbox') r.missing++;
    by.set(p, r);
  };
  const overall: ProviderRate = { provider: 'all', seeds: 0, inbox: 0, spam: 0, missing: 0, inboxRate: 0 };
  for (const row of rows) {
    const placement = String(row.placement ?? 'missing');
    // a seed that could not be read, or a copy the submission server never queued, says nothing about placement
    if (placement === 'error' || placement === 'deferred') continue;
    bump(String(row.provider ?? 'generic'), placement);
    overall.seeds++;
    if (placement === 'inbox' || placement.startsWith('tab:') || placement === 'not-spam') overall.inbox++;
    else if (placement === 'spam') overall.spam++;
    else overall.missing++;
    // time to inbox: only copies that reached the inbox (or a tab) count
    const ms = Number(row.timeToArrivalMs ?? NaN);
    if (Number.isFinite(ms) && (placement === 'inbox' || placement.startsWith('tab:') || placement === 'not-spam')) times.push(ms);
  }
  for (const r of [...by.values(), overall]) r.inboxRate = r.seeds ? r.inbox / r.seeds : 0;
  times.sort((a, b) => a - b);
  return {
    providers: [...by.values()].sort((a, b) => a.provider.localeCompare(b.provider)),
    overall,
    medianMs: times.length ? times[Math.floor((times.length - 1) / 2)]! : null,
    maxMs: times.length ? times[times.length - 1]! : null,
  };
}

function pct(n: number | null): string {
  return n === null ? '—' : `${Math.round(n * 100)}%`;
}

export function diffReports(before: Report, after: Report, refs: { before?: Partial<RunRef>; after?: Partial<RunRef> } = {}, failOn: Severity = 'error'): ReportDiff {
  const regressions: string[] = [];
  const improvements: string[] = [];
  const targets = new Set([...before.targets.map((t) => t.target), ...after.targets.map((t) => t.target)]);
  const out: TargetDiff[] = [];
  for (const target of targets) {
    const tb = before.targets.find((t) => t.target === target);
    const ta = after.targets.find((t) => t.target === target);
    const fb = new Map((tb?.checks ?? []).flatMap((c) => c.findings).map((f) => [key(f), f] as const));
    const fa = new Map((ta?.checks ?? []).flatMap((c) => c.findings).map((f) => [key(f), f] as const));
    // only checks that ran both times can add or resolve findings: a check left out of one run says nothing.
    // A target the earlier run (a --baseline) does not have at all is new: every finding of it is new
    // (and one missing from the later run resolves nothing: it was not looked at)
    const ranBoth = tb
      ? new Set(tb.checks.map((c) => c.check).filter((id) => ta?.checks.some((c) => c.check === id)))
      : new Set((ta?.checks ?? []).map((c) => c.check));
    const added = [...fa.entries()].filter(([k, f]) => !fb.has(k) && ranBoth.has(f.check) && f.severity !== 'pass').map(([, f]) => f);
    const resolved = [...fb.entries()].filter(([k, f]) => !fa.has(k) && ranBoth.has(f.check) && f.severity !== 'pass').map(([, f]) => f);
    const listed = added.filter((f) => LISTED.has(f.code));
    const delisted = resolved.filter((f) => LISTED.has(f.code));
    const checkIds = [...new Set([...(tb?.checks ?? []), ...(ta?.checks ?? [])].map((c) => c.check))];
    const checks = checkIds.map((id) => ({
      check: id,
      before: (tb?.checks.find((c) => c.check === id)?.status ?? 'absent') as Status | 'absent',
      after: (ta?.checks.find((c) => c.check === id)?.status ?? 'absent') as Status | 'absent',
    }));
    const d: TargetDiff = { target, statusBefore: tb?.status ?? 'absent', statusAfter: ta?.status ?? 'absent', checks, added, resolved, listed, delisted };

    const pb = placementStats(tb?.checks.find((c) => c.check === 'placement'));
    const pa = placementStats(ta?.checks.find((c) => c.check === 'placement'));
    if (pb || pa) {
      const providers = [...new Set([...(pb?.providers ?? []), ...(pa?.providers ?? [])].map((p) => p.provider))].sort();
      d.placement = {
        providers: providers.map((p) => {
          const b = pb?.providers.find((x) => x.provider === p)?.inboxRate ?? null;
          const a = pa?.providers.find((x) => x.provider === p)?.inboxRate ?? null;
          return { provider: p, before: b, after: a, delta: a !== null && b !== null ? a - b : null };
        }),
        overallBefore: pb?.overall.inboxRate ?? null,
        overallAfter: pa?.overall.inboxRate ?? null,
        medianMsBefore: pb?.medianMs ?? null,
        medianMsAfter: pa?.medianMs ?? null,
      };
      for (const p of d.placement.providers) {
        if (p.delta !== null && p.delta < 0) regressions.push(`${target}: inbox placement at ${p.provider} fell from ${pct(p.before)} to ${pct(p.after)}`);
        if (p.delta !== null && p.delta > 0) improvements.push(`${target}: inbox placement at ${p.provider} rose from ${pct(p.before)} to ${pct(p.after)}`);
      }
    }
    const threshold = SEVERITY_RANK[failOn];
    for (const f of listed) regressions.push(`${target}: newly listed — ${f.summary}`);
    for (const f of delisted) improvements.push(`${target}: delisted — ${f.summary}`);
    for (const f of added) if (!LISTED.has(f.code) && SEVERITY_RANK[f.severity] >= threshold) regressions.push(`${target}: new ${f.severity} ${f.code} — ${f.summary}`);
    for (const f of resolved) if (!LISTED.has(f.code) && SEVERITY_RANK[f.severity] >= threshold) improvements.push(`${target}: resolved ${f.code} — ${f.summary}`);
    for (const c of checks) {
      if (c.before === 'absent' || c.after === 'absent' || c.before === c.after) continue;
      if (c.after === 'fail' && STATUS_RANK[c.before] < 2 && !added.some((f) => f.check === c.check && SEVERITY_RANK[f.severity] >= threshold)) {
        regressions.push(`${target}: ${c.check} went from ${c.before} to ${c.after}`);
      }
    }
    out.push(d);
  }
  return {
    schemaVersion: '1.0',
    before: { generatedAt: before.generatedAt, ...refs.before },
    after: { generatedAt: after.generatedAt, ...refs.after },
    targets: out,
    regressions,
    improvements,
  };
}
