// What receivers reported about a before/after pair: the DMARC aggregate reports
// for a diff target's domain whose date range overlaps the window between the two
// runs (--around's window, src/reports/window.ts), summed by showReports — the one
// query of `reports show` — and cut down to what sits beside the seeds and the
// listings in `inboxlens diff`: messages, DMARC pass and SPF/DKIM aligned rates,
// the failing sources that are not the user's, and the count per reporter.
import type { HistoryStore } from '../history/store.ts';
import type { ReportDiff } from '../history/diff.ts';
import type { Detail } from '../types.ts';
import { ReportStore } from './store.ts';
import { showReports, type ShowResult, type Window } from './show.ts';
import { windowAround } from './window.ts';
import { UsageError } from '../util/errors.ts';

export interface ReceiversReported {
  domain: string;
  window: ShowResult['window'];
  /** aggregate reports overlapping the window; 0: none imported for it (yet) */
  reports: number;
  /** of them, arrived unauthenticated (files, or report e-mails without an aligned DKIM pass) */
  unauthenticated: number;
  messages: number;
  sources: number;
  rates: { dmarcPass: number | null; spfAligned: number | null; dkimAligned: number | null };
  /** sources that never passed DMARC and are no known service nor in the domain's SPF: spoofing, or a forwarder */
  notOurs: { ip: string; messages: number; ptr: string | null; reporters: string[] }[];
  reporters: { org: string; reports: number; messages: number; dmarcPass: number | null }[];
}

/** The receivers' view of `domain` in window `w`; with no report store (no database yet), an empty one. */
export function receiversReported(store: ReportStore | undefined, domain: string, w: Window): ReceiversReported {
  const iso = (t?: number) => (t === undefined ? null : new Date(t * 1000).toISOString());
  if (!store) {
    return { domain, window: { since: iso(w.since), until: iso(w.until), ...(w.around ? { around: w.around } : {}) }, reports: 0, unauthenticated: 0, messages: 0, sources: 0, rates: { dmarcPass: null, spfAligned: null, dkimAligned: null }, notOurs: [], reporters: [] };
  }
  const r = showReports(store, domain, w, { failureLimit: 0 });
  const a = r.aggregate;
  return {
    domain,
    window: r.window,
    reports: a.reports,
    unauthenticated: a.unauthenticated,
    messages: a.total.messages,
    sources: a.total.sources,
    rates: { dmarcPass: a.total.rates.dmarcPass, spfAligned: a.total.rates.spfAligned, dkimAligned: a.total.rates.dkimAligned },
    notOurs: a.spoofing,
    reporters: a.reporters.map((x) => ({ org: x.org, reports: x.reports, messages: x.messages, dmarcPass: x.rates.dmarcPass })),
  };
}

const IS_DOMAIN = /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i;

/**
 * The window of the diff's pair: the saved runs' own (windowAround BEFORE..AFTER,
 * as `reports show --around` takes it), else — a JSON report file on either side —
 * the span between the two reports' generatedAt.
 */
export function diffWindow(d: ReportDiff, history: HistoryStore | undefined): Window {
  if (history && d.before.id && d.after.id) return windowAround(`${d.before.id}..${d.after.id}`, history);
  const a = Date.parse(d.before.generatedAt);
  const b = Date.parse(d.after.generatedAt);
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new UsageError(`diff: a report's generatedAt is not a time (${d.before.generatedAt}, ${d.after.generatedAt})`);
  return { since: Math.floor(Math.min(a, b) / 1000), until: Math.ceil(Math.max(a, b) / 1000) };
}

/**
 * Adds `receivers` to every target of the diff that is a domain: what its receivers
 * reported in the pair's window (reports: 0 when none, so a renderer says so). The
 * history database is only read; without one every target gets the empty view.
 */
export function addReceivers(d: ReportDiff, history: HistoryStore | undefined): ReportDiff {
  const store = history ? new ReportStore(history) : undefined;
  const w = diffWindow(d, history);
  for (const t of d.targets) {
    if (!IS_DOMAIN.test(t.target)) continue;
    t.receivers = receiversReported(store?.hasTables ? store : undefined, t.target.toLowerCase(), w);
  }
  return d;
}

/** The one line for a window without reports (text, Markdown and HTML say the same). */
export const NO_REPORTS_LINE = 'no DMARC aggregate reports in the window yet — receivers send them daily; import them with `inboxlens reports import`';

function pct(r: number | null): string {
  if (r === null) return '–';
  if (r === 1 || r === 0) return `${r * 100}%`;
  const t = (r * 100).toFixed(1);
  return t === '100.0' ? '99.9%' : t === '0.0' ? '0.1%' : `${t}%`;
}

/** One sentence of totals: "6 message(s) in 5 report(s) from 5 reporter(s): DMARC pass 100% · SPF aligned …". */
export function receiversHeadline(r: ReceiversReported): string {
  if (!r.reports) return NO_REPORTS_LINE;
  return `${r.messages} message(s) from ${r.sources} source IP(s) in ${r.reports} report(s) from ${r.reporters.length} reporter(s): DMARC pass ${pct(r.rates.dmarcPass)} · SPF aligned ${pct(r.rates.spfAligned)} · DKIM aligned ${pct(r.rates.dkimAligned)}${r.unauthenticated ? ` · ${r.unauthenticated} report(s) unauthenticated` : ''}`;
}

/** The receivers' view as generic detail blocks (drawn by the text diff, the dashboard, any renderer). */
export function receiversDetails(r: ReceiversReported): Detail[] {
  if (!r.reports) return [{ kind: 'list', items: [[{ text: NO_REPORTS_LINE, tone: 'muted' }]] }];
  const out: Detail[] = [{ kind: 'list', items: [receiversHeadline(r)] }];
  if (r.notOurs.length) {
    out.push({
      kind: 'list',
      title: [{ text: 'failing sources that are not yours (spoofing, or a forwarder):', tone: 'bad' }],
      items: [
        ...r.notOurs.slice(0, 10).map((s) => [{ text: `  ${s.ip}`, tone: 'bad' as const }, { text: `${s.ptr ? ` (${s.ptr})` : ''}: ${s.messages} message(s), reported by ${s.reporters.join(', ')}` }]),
        ...(r.notOurs.length > 10 ? [[{ text: `  … ${r.notOurs.length - 10} more (inboxlens reports show --domain ${r.domain} --json lists them all)`, tone: 'muted' as const }]] : []),
      ],
    });
  }
  out.push({
    kind: 'table',
    title: 'per reporter:',
    columns: ['reporter', 'reports', 'messages', 'DMARC pass'],
    align: ['left', 'right', 'right', 'right'],
    rows: r.reporters.map((x) => [x.org, String(x.reports), String(x.messages), [{ text: pct(x.dmarcPass), ...(x.dmarcPass === null ? {} : { tone: x.dmarcPass === 1 ? ('good' as const) : x.dmarcPass === 0 ? ('bad' as const) : ('warn' as const) }) }]]),
  });
  return out;
}

/**
 * The reports panel (the dashboard's, `reports show --dashboard`): one line of
 * totals, then a bar per source IP on one scale (the biggest sender fills it),
 * split into the messages that passed DMARC and those that failed, with the
 * volume and pass rate after it; sources not the user's are marked.
 */
export function sourcesDetails(r: ShowResult, max = 12): Detail[] {
  const a = r.aggregate;
  if (!a.reports) return [{ kind: 'list', items: [[{ text: `no DMARC aggregate reports for ${r.domain} in this window — import them with \`inboxlens reports import\``, tone: 'muted' }]] }];
  const t = a.total;
  const head: Detail = {
    kind: 'list',
    items: [[
      { text: `${a.reports} report(s), ${a.reporters.length} reporter(s) · ${t.messages} msg from ${t.sources} IP(s) · DMARC pass ` },
      { text: pct(t.rates.dmarcPass), tone: t.rates.dmarcPass === 1 ? 'good' : t.rates.dmarcPass === 0 ? 'bad' : 'warn' },
      ...(a.spoofing.length ? [{ text: ` · ${a.spoofing.length} failing not yours`, tone: 'bad' as const }] : []),
    ]],
  };
  const top = Math.max(1, ...a.sources.map((s) => s.messages));
  const shown = a.sources.slice(0, max);
  const bars: Detail = {
    kind: 'bars',
    rows: shown.map((s) => ({
      label: `${s.spoofing ? '!' : ' '}${s.ip}`,
      of: top,
      parts: [
        { name: 'DMARC pass', value: s.dmarcPass, tone: 'good' as const },
        { name: 'fail', value: s.messages - s.dmarcPass, tone: 'bad' as const },
      ],
      text: `${s.messages} msg · DMARC ${pct(s.rates.dmarcPass)}${s.service ? ` · ${s.service}` : s.ptr ? ` · ${s.ptr}` : ''}`,
    })),
    legend: true,
    ...(a.sources.length > max ? { note: [{ text: `… ${a.sources.length - max} more source(s) (inboxlens reports show --domain ${r.domain})`, tone: 'muted' as const }] } : {}),
  };
  return [head, bars];
}

/** Reporters and failing sources not the user's, as blocks (the other panels of `reports show --dashboard`). */
export function reportersDetails(r: ShowResult): Detail[] {
  const a = r.aggregate;
  if (!a.reports) return [];
  const out: Detail[] = [
    {
      kind: 'table',
      columns: ['reporter', 'reports', 'messages', 'DMARC pass'],
      align: ['left', 'right', 'right', 'right'],
      rows: a.reporters.map((x) => [x.org, String(x.reports), String(x.messages), [{ text: pct(x.rates.dmarcPass), tone: x.rates.dmarcPass === 1 ? ('good' as const) : x.rates.dmarcPass === 0 ? ('bad' as const) : ('warn' as const) }]]),
    },
  ];
  if (a.spoofing.length) out.push({ kind: 'list', title: [{ text: 'failing sources that are not yours (spoofing, or a forwarder):', tone: 'bad' }], items: a.spoofing.map((s) => `  ${s.ip}${s.ptr ? ` (${s.ptr})` : ''}: ${s.messages} message(s), reported by ${s.reporters.join(', ')}`) });
  if (r.tls.reports) out.push({ kind: 'list', items: [`SMTP TLS reports: ${r.tls.reports}, ${r.tls.total.successful} session(s) ok, ${r.tls.total.failed} failed`] });
  return out;
}

/** How far back the dashboard's reports panel looks: reporters send a day's report a day late, and a campaign's are in within a week. */
export const RECENT_DAYS = 30;

/**
 * The reports panel of `inboxlens dashboard D` (and `check D --dashboard`): what receivers
 * reported about D in the last RECENT_DAYS, from the history database (read only; no
 * database, or one from before reports, is "none imported yet", said so).
 */
export function recentReportsDetails(history: HistoryStore | undefined, domain: string, now = Date.now()): Detail[] {
  const since = Math.floor(now / 1000) - RECENT_DAYS * 86_400;
  const r = showReports(history && new ReportStore(history), domain, { since });
  if (!r.aggregate.reports) {
    return [{ kind: 'list', items: [[{ text: `no DMARC aggregate reports about ${domain} from the last ${RECENT_DAYS} days in the history database — import them with \`inboxlens reports import FILES\` (or --imap URL)`, tone: 'muted' }]] }];
  }
  return [{ kind: 'list', items: [[{ text: `the last ${RECENT_DAYS} days (since ${r.window.since?.slice(0, 10)}) · all: inboxlens reports show --domain ${domain}`, tone: 'muted' }]] }, ...sourcesDetails(r), ...reportersDetails(r)];
}
