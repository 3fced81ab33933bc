// The dashboard's state, fed by the engine's result stream, and the pure functions
// that turn it into panel lines. No blessed here: the same lines are testable and
// could feed another front end.
import type { CheckResult, EngineEvent, Finding, Status } from '../types.ts';
import { SEVERITY_RANK } from '../engine.ts';

export interface PanelLine {
  text: string;
  color?: 'red' | 'green' | 'yellow' | 'magenta' | 'gray' | 'cyan' | 'white';
}

export interface DashboardModel {
  target: string;
  startedAt: number;
  finishedAt?: number;
  runId?: string;
  label?: string;
  checks: Map<string, CheckResult>;
  running: Set<string>;
  partial: Map<string, Record<string, unknown>>;
  progress: Map<string, { message: string; done?: number; total?: number }>;
  logs: string[];
}

export function newModel(target: string): DashboardModel {
  return { target, startedAt: Date.now(), checks: new Map(), running: new Set(), partial: new Map(), progress: new Map(), logs: [] };
}

export function applyEvent(m: DashboardModel, ev: EngineEvent): void {
  if (ev.target !== m.target) return;
  const stamp = new Date().toISOString().slice(11, 19);
  switch (ev.type) {
    case 'check-start':
      m.running.add(ev.check);
      m.logs.push(`${stamp} ${ev.check}: started`);
      break;
    case 'check-done':
      m.running.delete(ev.result.check);
      m.progress.delete(ev.result.check);
      m.checks.set(ev.result.check, ev.result);
      m.logs.push(`${stamp} ${ev.result.check}: ${ev.result.status}${ev.result.reason ? ` — ${ev.result.reason}` : ''} (${ev.result.ms} ms)`);
      break;
    case 'progress':
      m.progress.set(ev.check, { message: ev.message, done: ev.done, total: ev.total });
      break;
    case 'log':
      m.logs.push(`${stamp} ${ev.check}: ${ev.message}`);
      break;
    case 'partial':
      m.partial.set(ev.check, { ...(m.partial.get(ev.check) ?? {}), ...ev.data });
      break;
  }
  if (m.logs.length > 500) m.logs.splice(0, m.logs.length - 500);
}

const STATUS_COLOR: Record<Status, PanelLine['color']> = { pass: 'green', warn: 'yellow', fail: 'red', unknown: 'magenta' };

export function verdict(m: DashboardModel): { status: Status | 'running'; color: PanelLine['color'] } {
  if (m.running.size) return { status: 'running', color: 'cyan' };
  const all = [...m.checks.values()];
  const s: Status = all.some((c) => c.status === 'fail') ? 'fail' : all.some((c) => c.status === 'unknown') ? 'unknown' : all.some((c) => c.status === 'warn') ? 'warn' : 'pass';
  return { status: s, color: STATUS_COLOR[s] };
}

/** The finding that best sums up a check: its worst problem, else what it found in order. */
function worst(c: CheckResult): Finding | undefined {
  const sorted = [...c.findings].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
  const problem = sorted.find((f) => f.severity === 'error' || f.severity === 'warn');
  return problem ?? c.findings.find((f) => f.severity === 'pass') ?? sorted[0];
}

function statusLine(id: string, label: string, m: DashboardModel, detail: (c: CheckResult) => string): PanelLine {
  const c = m.checks.get(id);
  if (!c) return { text: `${label.padEnd(9)} ${m.running.has(id) ? '… running' : '·'}`, color: 'gray' };
  const d = c.status === 'unknown' ? c.reason ?? 'unknown' : detail(c);
  return { text: `${label.padEnd(9)} ${c.status.toUpperCase().padEnd(7)} ${d}`, color: STATUS_COLOR[c.status] };
}

/** The authentication panel: SPF (lookups, tree), DKIM keys, DMARC policy, MX/PTR/MTA-STS/TLS-RPT/BIMI. */
export function authLines(m: DashboardModel): PanelLine[] {
  const lines: PanelLine[] = [];
  const sum = (c: CheckResult) => worst(c)?.summary ?? '';
  lines.push(statusLine('spf', 'SPF', m, (c) => {
    const d = c.data as any;
    return `${d?.lookups !== undefined ? `${d.lookups}/10 lookups` : ''}${d?.record ? `  ${d.record}` : ''}`.trim() || sum(c);
  }));
  const spf = m.checks.get('spf')?.data as any;
  const tree = spf?.tree;
  if (tree) {
    const walk = (n: any, depth: number) => {
      if (depth > 3 || lines.length > 14) return;
      for (const ch of n.children ?? []) {
        lines.push({ text: `${'  '.repeat(depth + 1)}└ ${ch.mechanism ?? ch.via ?? ''} ${ch.domain ?? ''} ${ch.lookups !== undefined ? `(${ch.subtreeLookups ?? ch.lookups})` : ''}`.replace(/\s+/g, ' '), color: 'gray' });
        walk(ch, depth + 1);
      }
    };
    walk(tree, 0);
  }
  lines.push(statusLine('dkim', 'DKIM', m, (c) => {
    const keys = ((c.data as any)?.keys ?? []).filter((k: any) => k.found);
    return keys.length ? keys.map((k: any) => `${k.selector} ${k.keyType ?? ''}${k.bits ? `/${k.bits}` : ''}`).join(', ') : sum(c);
  }));
  lines.push(statusLine('dmarc', 'DMARC', m, (c) => {
    const p = (c.data as any)?.policy;
    return p ? `p=${p.p}${p.sp ? ` sp=${p.sp}` : ''}${p.rua?.length ? ' rua' : ''}` : sum(c);
  }));
  lines.push(statusLine('alignment', 'Align', m, sum));
  lines.push(statusLine('mx', 'MX', m, (c) => ((c.data as any)?.hosts ?? []).map((h: any) => h.exchange).join(', ') || sum(c)));
  lines.push(statusLine('ptr', 'PTR', m, sum));
  lines.push(statusLine('mta-sts', 'MTA-STS', m, sum));
  lines.push(statusLine('tls-rpt', 'TLS-RPT', m, sum));
  lines.push(statusLine('bimi', 'BIMI', m, sum));
  lines.push(statusLine('bulk-sender', 'Bulk', m, sum));
  for (const id of ['smtp', 'content']) if (m.checks.has(id) || m.running.has(id)) lines.push(statusLine(id, id === 'smtp' ? 'SMTP' : 'Content', m, sum));
  return lines;
}

/** The blacklist grid: one line per target with its listings; errors kept apart from listings. */
export function blacklistLines(m: DashboardModel): PanelLine[] {
  const c = m.checks.get('blacklist');
  if (!c) return [{ text: m.running.has('blacklist') ? '… querying lists' : 'not run (add --ip, or the domain has no SPF ranges)', color: 'gray' }];
  if (c.status === 'unknown' && !(c.data as any)?.rows) return [{ text: c.reason ?? 'unknown', color: 'magenta' }];
  const rows: any[] = Array.isArray((c.data as any)?.targets) ? (c.data as any).targets : [];
  const lines: PanelLine[] = [];
  const ERR = new Set(['error', 'refused', 'rate-limited', 'unknown', 'unreliable']);
  for (const r of rows) {
    const results: any[] = r.results ?? [];
    const listed = results.filter((z) => z.status === 'listed');
    const errs = results.filter((z) => ERR.has(z.status));
    const allow = results.filter((z) => z.status === 'allowlisted');
    const head = `${String(r.target).padEnd(18)} listed on ${r.listedOn ?? listed.length} of ${r.answering ?? '?'} answering`;
    lines.push({ text: `${head}${errs.length ? `  · ${errs.length} not answering` : ''}${allow.length ? '  · allow-listed' : ''}`, color: listed.length ? 'red' : errs.length ? 'magenta' : 'green' });
    for (const z of listed) lines.push({ text: `   ✗ ${z.zone}${z.meanings?.length ? ` — ${z.meanings.join('; ')}` : ''}`, color: 'red' });
    for (const z of errs.slice(0, 3)) lines.push({ text: `   ? ${z.zone}: ${z.status}${z.reason ? ` — ${z.reason}` : ''}`, color: 'magenta' });
    if (errs.length > 3) lines.push({ text: `   ? … and ${errs.length - 3} more`, color: 'magenta' });
  }
  if (!lines.length) {
    for (const f of c.findings.filter((x) => x.code.startsWith('dnsbl.'))) lines.push({ text: f.summary, color: f.severity === 'error' ? 'red' : f.severity === 'pass' ? 'green' : 'yellow' });
  }
  return lines.length ? lines : [{ text: `${c.status}: no targets`, color: 'gray' }];
}

export interface PlacementRow {
  seed: string;
  provider: string;
  placement: string;
  folder?: string;
  timeToInboxMs?: number;
  auth?: string;
}

/** Placement rows: live partial rows while collecting, then the final ones. */
export function placementRows(m: DashboardModel): PlacementRow[] {
  const data = (m.checks.get('placement')?.data ?? m.partial.get('placement')) as any;
  const rows: any[] = Array.isArray(data?.rows) ? data.rows : [];
  const result = (v: any) => (Array.isArray(v) ? v.map((x) => x?.result).join('/') || 'none' : v?.result ?? 'none');
  return rows.map((r) => ({
    seed: String(r.seed ?? '?'),
    provider: String(r.provider ?? ''),
    placement: String(r.placement ?? 'waiting'),
    folder: r.folder,
    timeToInboxMs: typeof r.timeToArrivalMs === 'number' ? r.timeToArrivalMs : undefined,
    auth: r.receiverAuth ? ['spf', 'dkim', 'dmarc'].map((k) => `${k}=${result(r.receiverAuth[k])}`).join(' ') : r.error ?? '',
  }));
}

export function placementColor(p: string): PanelLine['color'] {
  if (p === 'inbox' || p === 'not-spam') return 'green';
  if (p.startsWith('tab:')) return 'cyan';
  if (p === 'spam' || p === 'bounced' || p === 'missing') return 'red';
  if (p === 'error' || p === 'not-in-inbox' || p === 'deferred') return 'magenta';
  return 'gray';
}

/** Every non-pass finding, worst first: the navigable list. */
export function findingList(m: DashboardModel): Finding[] {
  return [...m.checks.values()]
    .flatMap((c) => c.findings)
    .filter((f) => f.severity !== 'pass')
    .sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
}

export function progressText(m: DashboardModel): string {
  const parts = [...m.progress.entries()].map(([id, p]) => `${id}: ${p.message}${p.total ? ` (${p.done ?? 0}/${p.total})` : ''}`);
  if (m.running.size) parts.push(`running: ${[...m.running].join(', ')}`);
  return parts.join('  ·  ') || (m.finishedAt ? `done in ${((m.finishedAt - m.startedAt) / 1000).toFixed(1)} s — Enter: details · d: what changed · r: re-run · e: export JSON · q: quit` : 'starting…');
}
