// `reports show`: what receivers reported about one domain in a window, from
// the history database alone (PTR names and services from the ip_info cache,
// never a lookup). Aggregate reports per source IP — volume, SPF/DKIM pass and
// aligned rates, DMARC pass rate, dispositions, reporters — with the sources
// that fail and are not the user's (spoofing) picked out, and the domain's
// total; failure reports; TLS reports about mail to the domain's MX hosts.
import type { StatementSync } from 'node:sqlite';
import type { ReportStore } from './store.ts';
import { serviceFor } from './services.ts';
import { hasSourceTotals } from './schema-sql.ts';

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

/** A statement's rows as arrays (no object with named keys for each of 20,000 rows), where node:sqlite can (Node 24). */
function rowsAsArrays(st: StatementSync, args: (string | number)[]): unknown[][] {
  const s = st as StatementSync & { setReturnArrays?: (on: boolean) => void };
  if (typeof s.setReturnArrays === 'function') {
    s.setReturnArrays(true);
    return s.all(...args) as unknown as unknown[][];
  }
  return (st.all(...args) as Record<string, unknown>[]).map((r) => Object.values(r));
}

const iso = (t?: number) => (t === undefined ? null : new Date(t * 1000).toISOString());
const MAX_TS = 2 ** 48;

export function showReports(store: ReportStore | undefined, domain: string, w: Window = {}, opts: { failureLimit?: number } = {}): ShowResult {
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
  // no database yet, or one from before reports: nothing imported
  if (!store?.hasTables) return res;
  const db = store.db;
  // a report counts when its date range overlaps the window. Per reporter and in total: the
  // report-level totals stored at import; per source: the per-source totals (no window), or one
  // pass over the records' covering index, in its order (no sort, no table reads)
  const windowed = w.since !== undefined || w.until !== undefined;
  const reps = db
    .prepare(
      `SELECT org, count(*) AS reports, sum(authenticated = 0) AS unauth, sum(messages) AS n, sum(spf_pass) AS sp, sum(spf_aligned) AS sa, sum(dkim_pass) AS dp, sum(dkim_aligned) AS da, sum(dmarc_pass) AS dm, group_concat(dispositions, ',') AS disp
       FROM dmarc_reports WHERE domain = ? AND begin_ts <= ? AND end_ts >= ? GROUP BY org`,
    )
    .all(domain, until, since) as { org: string; reports: number; unauth: number; n: number; sp: number; sa: number; dp: number; da: number; dm: number; disp: string }[];
  // group_concat(DISTINCT …) takes no separator: a reporter's own commas travel as U+001F, and only
  // when one of the window's reporters has one (replace() on each of a million rows costs a third
  // of the query). A record's reporter is its report's org, so the reporters above are all there are
  const commas = reps.some((r) => r.org.includes(','));
  const reporterCol = commas ? "replace(reporter, ',', char(31))" : 'reporter';
  const sums = 'sum(count), sum(spf_pass), sum(spf_aligned), sum(dkim_pass), sum(dkim_aligned), sum(dmarc_pass), sum(d_none), sum(d_quarantine), sum(d_reject), sum(d_pass)';
  // no window: the per-source totals kept at import, a row per source and reporter (a database
  // from before them, opened read-only, has only the records); a window: the records themselves
  const totals = !windowed && hasSourceTotals(db);
  const groupSql = totals
    ? `SELECT source_ip, ${sums}, group_concat(${reporterCol}) FROM dmarc_sources WHERE domain = ? GROUP BY source_ip`
    : `SELECT source_ip, ${sums}, group_concat(DISTINCT ${reporterCol})
       FROM dmarc_records INDEXED BY dmarc_records_show
       WHERE domain = ?${windowed ? ' AND begin_ts <= ? AND end_ts >= ?' : ''}
       GROUP BY source_ip`;
  const groups = reps.length ? rowsAsArrays(db.prepare(groupSql), windowed ? [domain, until, since] : [domain]) : [];
  const info = new Map<string, { ptr: string | null; service: string | null; status: string }>();
  if (groups.length) for (const i of db.prepare('SELECT ip, ptr, service, status FROM ip_info').all() as { ip: string; ptr: string | null; service: string | null; status: string }[]) info.set(i.ip, i);
  const spf = new Map<string, string>();
  if (groups.length) for (const x of db.prepare('SELECT ip, via FROM spf_sources WHERE domain = ?').all(domain) as { ip: string; via: string }[]) spf.set(x.ip, x.via);
  // most sources share a set of reporters: one sorted array for each set
  const reporterSets = new Map<string, string[]>();
  const sources = new Array<SourceRow>(groups.length);
  for (let k = 0; k < groups.length; k++) {
    const g = groups[k]!;
    const ip = g[0] as string;
    const n = g[1] as number;
    const dm = g[6] as number;
    const dNone = g[7] as number;
    const dQuarantine = g[8] as number;
    const dReject = g[9] as number;
    const dPass = g[10] as number;
    const dispositions: Record<string, number> = {};
    if (dNone) dispositions.none = dNone;
    if (dQuarantine) dispositions.quarantine = dQuarantine;
    if (dReject) dispositions.reject = dReject;
    if (dPass) dispositions.pass = dPass;
    const other = n - dNone - dQuarantine - dReject - dPass;
    if (other) dispositions.other = other;
    const concat = g[11] as string;
    let reporters = reporterSets.get(concat);
    if (!reporters) {
      reporters = concat.split(',');
      if (commas) reporters = reporters.map((r) => r.replaceAll('\u001f', ','));
      reporters.sort();
      reporterSets.set(concat, reporters);
    }
    const i = info.get(ip);
    const via = spf.get(ip) ?? null;
    const service = i?.service ?? (via && via !== domain ? serviceFor(via) ?? null : null);
    const c: Counts = { messages: n, spfPass: g[2] as number, spfAligned: g[3] as number, dkimPass: g[4] as number, dkimAligned: g[5] as number, dmarcPass: dm };
    sources[k] = {
      ip,
      ptr: i?.ptr ?? null,
      service,
      ptrStatus: i?.status ?? null,
      spfAuthorizedBy: via,
      ...c,
      rates: ratesOf(c),
      dispositions,
      reporters,
      // the user's own sources pass DMARC at least sometimes (their DKIM or SPF is aligned); one
      // that never does, is no known sending service and is not in the domain's SPF record, is
      // someone else using the domain (or a forwarder)
      spoofing: dm === 0 && !service && !via,
    };
  }
  res.aggregate.sources = sources.sort((a, b) => b.messages - a.messages || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  res.aggregate.spoofing = res.aggregate.sources.filter((s) => s.spoofing).map((s) => ({ ip: s.ip, messages: s.messages, ptr: s.ptr, reporters: s.reporters }));
  const total = zero();
  const dispositions: Record<string, number> = {};
  res.aggregate.reporters = reps
    .map((r) => {
      const c: Counts = { messages: r.n, spfPass: r.sp, spfAligned: r.sa, dkimPass: r.dp, dkimAligned: r.da, dmarcPass: r.dm };
      add(total, c);
      // each report's dispositions, a JSON object: the reporter's as one JSON array, parsed once
      for (const d of JSON.parse(`[${r.disp}]`) as Record<string, number>[]) for (const k in d) dispositions[k] = (dispositions[k] ?? 0) + d[k]!;
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
