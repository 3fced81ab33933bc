// `reports show`: what receivers reported about one domain in a window, from
// the history database alone (PTR names and services from the ip_info cache,
// never a lookup). Aggregate reports per source IP — volume, SPF/DKIM pass and
// aligned rates, DMARC pass rate, dispositions, reporters — with the sources
// that fail and are not the user's (spoofing) picked out, and the domain's
// total; failure reports; TLS reports about mail to the domain's MX hosts.
import type { ReportStore } from './store.ts';

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
  /** cached PTR status: ok, none (no PTR), error (the lookup failed: tried again next import), invalid, or null (not looked up yet) */
  ptrStatus: string | null;
  rates: Rates;
  dispositions: Record<string, number>;
  reporters: { org: string; messages: number; dmarcPass: number }[];
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
  // a report counts when its date range overlaps the window
  const groups = db
    .prepare(
      `SELECT source_ip AS ip, reporter, disposition, sum(count) AS n, sum(count * spf_pass) AS sp, sum(count * spf_aligned) AS sa, sum(count * dkim_pass) AS dp, sum(count * dkim_aligned) AS da,
              sum(CASE WHEN dkim_aligned = 1 OR spf_aligned = 1 THEN count ELSE 0 END) AS dm
       FROM dmarc_records INDEXED BY dmarc_records_show
       WHERE domain = ? AND begin_ts <= ? AND end_ts >= ?
       GROUP BY source_ip, reporter, disposition`,
    )
    .all(domain, until, since) as { ip: string; reporter: string; disposition: string; n: number; sp: number; sa: number; dp: number; da: number; dm: number }[];
  const sources = new Map<string, SourceRow>();
  const reporters = new Map<string, Counts>();
  const total = zero();
  for (const g of groups) {
    const c: Counts = { messages: g.n, spfPass: g.sp, spfAligned: g.sa, dkimPass: g.dp, dkimAligned: g.da, dmarcPass: g.dm };
    let s = sources.get(g.ip);
    if (!s) {
      s = { ip: g.ip, ptr: null, service: null, ptrStatus: null, ...zero(), rates: ratesOf(zero()), dispositions: {}, reporters: [], spoofing: false };
      sources.set(g.ip, s);
    }
    add(s, c);
    s.dispositions[g.disposition] = (s.dispositions[g.disposition] ?? 0) + g.n;
    const rep = s.reporters.find((r) => r.org === g.reporter);
    if (rep) {
      rep.messages += g.n;
      rep.dmarcPass += g.dm;
    } else s.reporters.push({ org: g.reporter, messages: g.n, dmarcPass: g.dm });
    let rc = reporters.get(g.reporter);
    if (!rc) reporters.set(g.reporter, (rc = zero()));
    add(rc, c);
    add(total, c);
    res.aggregate.total.dispositions[g.disposition] = (res.aggregate.total.dispositions[g.disposition] ?? 0) + g.n;
  }
  const info = db.prepare('SELECT ptr, service, status FROM ip_info WHERE ip = ?');
  for (const s of sources.values()) {
    s.rates = ratesOf(s);
    s.reporters.sort((a, b) => b.messages - a.messages || a.org.localeCompare(b.org));
    const i = info.get(s.ip) as { ptr: string | null; service: string | null; status: string } | undefined;
    if (i) {
      s.ptr = i.ptr;
      s.service = i.service;
      s.ptrStatus = i.status;
    }
    // the user's own sources pass DMARC at least sometimes (their DKIM or SPF is aligned); one that
    // never does, and is no known sending service, is someone else using the domain
    s.spoofing = s.dmarcPass === 0 && !s.service;
  }
  res.aggregate.sources = [...sources.values()].sort((a, b) => b.messages - a.messages || a.ip.localeCompare(b.ip));
  res.aggregate.spoofing = res.aggregate.sources.filter((s) => s.spoofing).map((s) => ({ ip: s.ip, messages: s.messages, ptr: s.ptr, reporters: s.reporters.map((r) => r.org) }));
  res.aggregate.total = { ...total, rates: ratesOf(total), dispositions: res.aggregate.total.dispositions, sources: sources.size };
  const reps = db.prepare('SELECT org, count(*) AS n, sum(authenticated = 0) AS unauth FROM dmarc_reports WHERE domain = ? AND begin_ts <= ? AND end_ts >= ? GROUP BY org').all(domain, until, since) as { org: string; n: number; unauth: number }[];
  res.aggregate.reports = reps.reduce((a, r) => a + r.n, 0);
  res.aggregate.unauthenticated = reps.reduce((a, r) => a + r.unauth, 0);
  const reportsBy = new Map(reps.map((r) => [r.org, r.n]));
  res.aggregate.reporters = [...reporters.entries()]
    .map(([org, c]) => ({ org, reports: reportsBy.get(org) ?? 0, messages: c.messages, dmarcPass: c.dmarcPass, rates: ratesOf(c) }))
    .sort((a, b) => b.messages - a.messages || a.org.localeCompare(b.org));

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
