// The dashboard's state, fed by the engine's result stream, and the pure functions
// that turn it into panel lines. No blessed here: the same lines are testable and
// could feed another front end.
import type { Check, CheckResult, Detail, EngineEvent, Finding, Status, Tone } from '../types.ts';
import { layoutDetails, lineTone, plain } from '../report/details.ts';
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
  /** an extra panel's generic detail blocks, filled by the caller (the receivers' reports in the demo and `dashboard`) */
  extra?: Detail[];
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

/** What the model reads of each check to draw it: its generic details and headline, never its private data. */
export type CheckViews = Map<string, Pick<Check, 'details' | 'headline'>>;

const TONE_COLOR: Record<Tone, PanelLine['color']> = { alarm: 'red', bad: 'red', warn: 'yellow', unknown: 'magenta', info: 'cyan', good: 'green', strong: undefined, muted: 'gray' };

/** Detail blocks as panel lines, each coloured by its most serious part. */
export function detailPanelLines(ds: Detail[]): PanelLine[] {
  return layoutDetails(ds).map((l) => {
    const t = lineTone(l);
    const color = t ? TONE_COLOR[t] : undefined;
    return color ? { text: plain(l), color } : { text: plain(l) };
  });
}

function safeDetails(views: CheckViews | undefined, id: string, r: Pick<CheckResult, 'check' | 'target' | 'status' | 'data'>): Detail[] {
  try {
    return views?.get(id)?.details?.(r) ?? [];
  } catch {
    return [];
  }
}

function statusLine(id: string, label: string, m: DashboardModel, views?: CheckViews): PanelLine {
  const c = m.checks.get(id);
  if (!c) return { text: `${label.padEnd(9)} ${m.running.has(id) ? '… running' : '·'}`, color: 'gray' };
  let head: string | undefined;
  try {
    head = views?.get(id)?.headline?.(c);
  } catch {
    head = undefined;
  }
  const d = c.status === 'unknown' ? c.reason ?? 'unknown' : head ?? worst(c)?.summary ?? '';
  return { text: `${label.padEnd(9)} ${c.status.toUpperCase().padEnd(7)} ${d}`, color: STATUS_COLOR[c.status] };
}

const AUTH_PANEL: [string, string][] = [
  ['spf', 'SPF'], ['dkim', 'DKIM'], ['dmarc', 'DMARC'], ['alignment', 'Align'], ['mx', 'MX'], ['ptr', 'PTR'],
  ['mta-sts', 'MTA-STS'], ['tls-rpt', 'TLS-RPT'], ['bimi', 'BIMI'], ['bulk-sender', 'Bulk'],
];

/** The authentication panel: one line per check with its headline, the SPF tree under SPF. */
export function authLines(m: DashboardModel, views?: CheckViews): PanelLine[] {
  const lines: PanelLine[] = [];
  for (const [id, label] of AUTH_PANEL) {
    lines.push(statusLine(id, label, m, views));
    const c = m.checks.get(id);
    if (id === 'spf' && c) {
      // the include tree, as the check draws it (its first tree block), indented under its line
      const tree = safeDetails(views, id, c).find((d) => d.kind === 'tree');
      if (tree) for (const l of detailPanelLines([tree]).slice(1, 14)) lines.push({ text: `  ${l.text}`, color: 'gray' });
    }
  }
  for (const id of ['smtp', 'content']) if (m.checks.has(id) || m.running.has(id)) lines.push(statusLine(id, id === 'smtp' ? 'SMTP' : 'Content', m, views));
  return lines;
}

/** The blacklist panel: the blacklist check's own grid, listings apart from lists that gave no answer. */
export function blacklistLines(m: DashboardModel, views?: CheckViews): PanelLine[] {
  const c = m.checks.get('blacklist');
  if (!c) return [{ text: m.running.has('blacklist') ? '… querying lists' : 'not run (add --ip, or the domain has no SPF ranges)', color: 'gray' }];
  const lines = detailPanelLines(safeDetails(views, 'blacklist', c));
  if (!lines.length) {
    if (c.status === 'unknown') return [{ text: c.reason ?? 'unknown', color: 'magenta' }];
    for (const f of c.findings.filter((x) => x.code.startsWith('dnsbl.'))) lines.push({ text: f.summary, color: f.severity === 'error' ? 'red' : f.severity === 'pass' ? 'green' : 'yellow' });
  }
  return lines.length ? lines : [{ text: `${c.status}: no targets`, color: 'gray' }];
}

/** The placement panel: the check's seed table, from live partial rows while collecting, then the final ones. */
export function placementLines(m: DashboardModel, views?: CheckViews): PanelLine[] {
  const done = m.checks.get('placement');
  const data = done?.data ?? m.partial.get('placement');
  if (!data) return [];
  return detailPanelLines(safeDetails(views, 'placement', { check: 'placement', target: m.target, status: done?.status ?? 'unknown', data }));
}

/** The extra panel: its detail blocks as lines, or what it waits for. */
export function extraLines(m: DashboardModel, placeholder = '…'): PanelLine[] {
  if (!m.extra) return [{ text: placeholder, color: 'gray' }];
  const lines = detailPanelLines(m.extra);
  return lines.length ? lines : [{ text: placeholder, color: 'gray' }];
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
