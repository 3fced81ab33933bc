// `reports show`: what receivers reported about one domain in a window, from
// the history database alone (PTR names and services from the ip_info cache,
// never a lookup). Aggregate reports per source IP — volume, SPF/DKIM pass and
// aligned rates, DMARC pass rate, dispositions, reporters — with the sources
// that fail and are not the user's (spoofing) picked out, and the domain's
// total; failure reports; TLS reports about mail to the domain's MX hosts.
import type { ReportStore } from './store.ts';
import { serviceFor } from './services.ts';

export interface Window {
  /** Unix seconds, inclusive; undefined: open */
  since?: number;
  until?: number;
  /** --around: the pair of runs the window comes from */
  around?: { before: { id: string; createdAt: string; label: string | null }; after: { id: string; createdAt: string; label: string | null } };
}

export interface Counts {
  messages: number;
  spfPass: number;
  spfAligned: number;
  dkimPass: number;
  dkimAligned: number;
  dmarcPass: number;
}

export interface Rates {
  spfPass: number | null;
  spfAligned: number | null;
  dkimPass: number | null;
  dkimAligned: number | null;
  dmarcPass: number | null;
}

export interface SourceRow extends Counts {
  ip: string;
  ptr: string | null;
  service: string | null;
  /** the record of the domain's SPF that authorizes this IP (the domain, or an include), when the last import walked it; null: not authorized, or not checked */
  spfAuthorizedBy: string | null;
  /** cached PTR status: ok, none (no PTR), error (the lookup failed: tried again next import), invalid, or null (not looked up yet) */
  ptrStatus: string | null;
  rates: Rates;
  dispositions: Record<string, number>;
  /** the reporting organisations that saw it */
  reporters: string[];
  /** fails DMARC for every message and is not the user's: spoofing (or a forwarder) */
  spoofing: boolean;
}

export interface ShowResult {
  schemaVersion: '1.0';
  kind: 'reports';
  domain: string;
  window: { since: string | null; until: string | null; around?: Window['around'] };
  aggregate: {
    reports: number;
    unauthenticated: number;
    total: Counts & { rates: Rates; dispositions: Record<string, number>; sources: number };
    reporters: { org: string; reports: number; messages: number; dmarcPass: number; rates: Rates }[];
    sources: SourceRow[];
    spoofing: { ip: string; messages: number; ptr: string | null; reporters: string[] }[];
  };
  conflicts: { kind: string; org: string; reportId: string; outcome: string; offeredAuthenticated: boolean; source: string; seenAt: string }[];
  failure: {
    reports: number;
    items: { format: string; reporter: string; sourceIp: string | null; arrival: string | null; authFailure: string | null; deliveryResult: string | null; originalMailFrom: string | null; subject: string | null; authenticated: boolean }[];
  };
  tls: {
    reports: number;
    total: { successful: number; failed: number };
    policies: { org: string; policyType: string; reports: number; successful: number; failed: number }[];
    failures: { org: string; policyType: string; resultType: string; receivingMx: string | null; failed: number }[];
  };
}

const rate = (n: number, d: number): number | null => (d ? n / d : null);
function ratesOf(c: Counts): Rates {
  return { spfPass: rate(c.spfPass, c.messages), spfAligned: rate(c.spfAligned, c.messages), dkimPass: rate(c.dkimPass, c.messages), dkimAligned: rate(c.dkimAligned, c.messages), dmarcPass: rate(c.dmarcPass, c.messages) };
}
const zero = (): Counts => ({ messages: 0, spfPass: 0, spfAligned: 0, dkimPass: 0, dkimAligned: 0, dmarcPass: 0 });
function add(a: Counts, b: Counts): void {
  a.messages += b.messages;
  a.spfPass += b.spfPass;
  a.spfAligned += b.spfAligned;
  a.dkimPass += b.dkimPass;
  a.dkimAligned += b.dkimAligned;
  a.dmarcPass += b.dmarcPass;
}

const iso = (t?: number) => (t === undefined ? null : new Date(t * 1000).toISOString());
const MAX_TS = 2 ** 48;

export function showReports(store: ReportStore, domain: string, w: Window = {}, opts: { failureLimit?: number } = {}): ShowResult {
  const since = w.since ?? 0;
  const until = w.until ?? MAX_TS;
  const res: ShowResult = {
    schemaVersion: '1.0',
    kind: 'reports',
    domain,
    window: { since: iso(w.since), until: iso(w.until), ...(w.around ? { around: w.around } : {}) },
    aggregate: { reports: 0, unauthenticated: 0, total: { ...zero(), rates: ratesOf(zero()), dispositions: {}, sources: 0 }, reporters: [], sources: [], spoofing: [] },
    conflicts: [],
    failure: { reports: 0, items: [] },
    tls: { reports: 0, total: { successful: 0, failed: 0 }, policies: [], failures: [] },
  };
  if (!store.hasTables) return res;
  const db = store.db;
  // a report counts when its date range overlaps the window. Per source: one pass over the
  // covering index, in its order (no sort, no table reads); per reporter and in total: the
  // report-level totals stored at import
  const groups = db
    .prepare(
      `SELECT source_ip AS ip, sum(count) AS n, sum(spf_pass) AS sp, sum(spf_aligned) AS sa, sum(dkim_pass) AS dp, sum(dkim_aligned) AS da, sum(dmarc_pass) AS dm,
              sum(d_none) AS d_none, sum(d_quarantine) AS d_quarantine, sum(d_reject) AS d_reject, sum(d_pass) AS d_pass,
              group_concat(DISTINCT replace(reporter, ',', char(31))) AS reporters
       FROM dmarc_records INDEXED BY dmarc_records_show
       WHERE domain = ? AND begin_ts <= ? AND end_ts >= ?
       GROUP BY source_ip`,
    )
    .all(domain, until, since) as { ip: string; n: number; sp: number; sa: number; dp: number; da: number; dm: number; d_none: number; d_quarantine: number; d_reject: number; d_pass: number; reporters: string }[];
  const info = new Map<string, { ptr: string | null; service: string | null; status: string }>();
  if (groups.length) for (const i of db.prepare('SELECT ip, ptr, service, status FROM ip_info').all() as { ip: string; ptr: string | null; service: string | null; status: string }[]) info.set(i.ip, i);
  const spf = new Map<string, string>();
  if (groups.length) for (const x of db.prepare('SELECT ip, via FROM spf_sources WHERE domain = ?').all(domain) as { ip: string; via: string }[]) spf.set(x.ip, x.via);
  const sources: SourceRow[] = groups.map((g) => {
    const c: Counts = { messages: g.n, spfPass: g.sp, spfAligned: g.sa, dkimPass: g.dp, dkimAligned: g.da, dmarcPass: g.dm };
    const dispositions: Record<string, number> = {};
    if (g.d_none) dispositions.none = g.d_none;
    if (g.d_quarantine) dispositions.quarantine = g.d_quarantine;
    if (g.d_reject) dispositions.reject = g.d_reject;
    if (g.d_pass) dispositions.pass = g.d_pass;
    const other = g.n - g.d_none - g.d_quarantine - g.d_reject - g.d_pass;
    if (other) dispositions.other = other;
    const i = info.get(g.ip);
    const via = spf.get(g.ip) ?? null;
    const service = i?.service ?? (via && via !== domain ? serviceFor(via) ?? null : null);
    return {
      ip: g.ip,
      ptr: i?.ptr ?? null,
      service,
      ptrStatus: i?.status ?? null,
      spfAuthorizedBy: via,
      ...c,
      rates: ratesOf(c),
      dispositions,
      // (a reporter's own commas travel as U+001F: group_concat(DISTINCT …) takes no separator)
      reporters: g.reporters.split(',').map((r) => r.replaceAll('\u001f', ',')).sort(),
      // the user's own sources pass DMARC at least sometimes (their DKIM or SPF is aligned); one
      // that never does, is no known sending service and is not in the domain's SPF record, is
      // someone else using the domain (or a forwarder)
      spoofing: g.dm === 0 && !service && !via,
    };
  });
  res.aggregate.sources = sources.sort((a, b) => b.messages - a.messages || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  res.aggregate.spoofing = res.aggregate.sources.filter((s) => s.spoofing).map((s) => ({ ip: s.ip, messages: s.messages, ptr: s.ptr, reporters: s.reporters }));
  const reps = db
    .prepare(
      `SELECT org, count(*) AS reports, sum(authenticated = 0) AS unauth, sum(messages) AS n, sum(spf_pass) AS sp, sum(spf_aligned) AS sa, sum(dkim_pass) AS dp, sum(dkim_aligned) AS da, sum(dmarc_pass) AS dm, group_concat(dispositions, '\n') AS disp
       FROM dmarc_reports WHERE domain = ? AND begin_ts <= ? AND end_ts >= ? GROUP BY org`,
    )
    .all(domain, until, since) as { org: string; reports: number; unauth: number; n: number; sp: number; sa: number; dp: number; da: number; dm: number; disp: string }[];
  const total = zero();
  const dispositions: Record<string, number> = {};
  res.aggregate.reporters = reps
    .map((r) => {
      const c: Counts = { messages: r.n, spfPass: r.sp, spfAligned: r.sa, dkimPass: r.dp, dkimAligned: r.da, dmarcPass: r.dm };
      add(total, c);
      for (const line of r.disp.split('\n')) for (const [k, v] of Object.entries(JSON.parse(line) as Record<string, number>)) dispositions[k] = (dispositions[k] ?? 0) + v;
      return { org: r.org, reports: r.reports, messages: r.n, dmarcPass: r.dm, rates: ratesOf(c) };
    })
    .sort((a, b) => b.messages - a.messages || a.org.localeCompare(b.org));
  res.aggregate.reports = reps.reduce((a, r) => a + r.reports, 0);
  res.aggregate.unauthenticated = reps.reduce((a, r) => a + r.unauth, 0);
  res.aggregate.total = { ...total, rates: ratesOf(total), dispositions, sources: sources.length };

  res.conflicts = (db.prepare('SELECT kind, org_key, report_id, outcome, offered_authenticated, source, seen_at FROM report_conflicts WHERE domain = ? ORDER BY seen_at').all(domain) as any[]).map((c) => ({
    kind: c.kind, org: c.org_key, reportId: c.report_id, outcome: c.outcome, offeredAuthenticated: Boolean(c.offered_authenticated), source: c.source, seenAt: c.seen_at,
  }));

  // a failure report is about one message: it is in the window when it arrived there (one without a readable date only when there is no window)
  const windowed = w.since !== undefined || w.until !== undefined;
  const fWhere = windowed ? 'domain = ? AND arrival_ts BETWEEN ? AND ?' : 'domain = ?';
  const fArgs = windowed ? [domain, since, until] : [domain];
  res.failure.reports = (db.prepare(`SELECT count(*) AS n FROM failure_reports WHERE ${fWhere}`).get(...fArgs) as { n: number }).n;
  res.failure.items = (db.prepare(`SELECT format, reporter, source_ip, arrival, auth_failure, delivery_result, original_mail_from, subject, authenticated FROM failure_reports WHERE ${fWhere} ORDER BY arrival_ts DESC, id DESC LIMIT ?`).all(...fArgs, opts.failureLimit ?? 50) as any[]).map((r) => ({
    format: r.format, reporter: r.reporter, sourceIp: r.source_ip, arrival: r.arrival, authFailure: r.auth_failure, deliveryResult: r.delivery_result, originalMailFrom: r.original_mail_from, subject: r.subject, authenticated: Boolean(r.authenticated),
  }));

  const pol = db.prepare('SELECT org, policy_type, count(DISTINCT report) AS reports, sum(successful) AS ok, sum(failed) AS bad FROM tls_policies WHERE policy_domain = ? AND begin_ts <= ? AND end_ts >= ? GROUP BY org, policy_type ORDER BY org, policy_type').all(domain, until, since) as any[];
  res.tls.policies = pol.map((p) => ({ org: p.org, policyType: p.policy_type, reports: p.reports, successful: p.ok, failed: p.bad }));
  res.tls.total = { successful: pol.reduce((a, p) => a + p.ok, 0), failed: pol.reduce((a, p) => a + p.bad, 0) };
  res.tls.reports = (db.prepare('SELECT count(DISTINCT report) AS n FROM tls_policies WHERE policy_domain = ? AND begin_ts <= ? AND end_ts >= ?').get(domain, until, since) as { n: number }).n;
  res.tls.failures = (db.prepare('SELECT org, policy_type, result_type, receiving_mx, sum(failed) AS n FROM tls_failures WHERE policy_domain = ? AND begin_ts <= ? AND end_ts >= ? GROUP BY org, policy_type, result_type, receiving_mx ORDER BY n DESC, org').all(domain, until, since) as any[]).map((f) => ({
    org: f.org, policyType: f.policy_type, resultType: f.result_type, receivingMx: f.receiving_mx, failed: f.n,
  }));
  return res;
}
