// Reports in the history database: each one stored once (reporting org +
// report id; a failure report by its dedupe key), with how its e-mail was
// authenticated. A second copy with the same id never silently replaces or
// shadows an authenticated one: the same content is a duplicate (an
// authenticated copy upgrades an unauthenticated one's record), different
// content is a conflict, recorded, and the authenticated copy — else the first —
// is kept; an authenticated copy replaces an unauthenticated one, and says so.
import { createHash } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { HistoryStore } from '../history/store.ts';
import { beginSourceTotals, flushSourceTotals, hasReportTables } from './schema-sql.ts';
import type { AggregateReport, FailureReport, FoundReport, ReportAuth, TlsReport } from './types.ts';

export type SaveOutcome = 'imported' | 'duplicate' | 'auth-upgraded' | 'replaced' | 'conflict';

export interface SaveResult {
  outcome: SaveOutcome;
  kind: 'aggregate' | 'failure' | 'tls';
  /** org + report id, or the failure report's dedupe key */
  key: string;
  domain: string;
  /** for conflicts and replacements: what happened, in words */
  note?: string;
}

function sha(o: unknown): string {
  return createHash('sha256').update(JSON.stringify(o)).digest('hex');
}

const orgKey = (org: string) => org.trim().toLowerCase();
/** 19 parameters a row: 50 rows stay far below SQLite's 32,766 */
const ROWS_PER_INSERT = 50;

export class ReportStore {
  readonly db: DatabaseSync;
  private stmts = new Map<string, StatementSync>();
  private now = new Date().toISOString();

  constructor(history: HistoryStore) {
    this.db = history.sqlite;
  }

  /** false for a database from before reports, opened read-only */
  get hasTables(): boolean {
    return hasReportTables(this.db);
  }

  private st(sql: string): StatementSync {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** A write transaction: aggregate records written in it reach the per-source totals at commit() (one pass in key order). */
  begin(): void {
    this.db.exec('BEGIN IMMEDIATE');
    beginSourceTotals(this.db);
  }
  commit(): void {
    flushSourceTotals(this.db);
    this.db.exec('COMMIT');
  }
  rollback(): void {
    if (this.db.isTransaction) this.db.exec('ROLLBACK');
  }

  save(f: FoundReport): SaveResult {
    this.now = new Date().toISOString();
    switch (f.report.kind) {
      case 'aggregate':
        return this.saveAggregate(f.report, f.auth);
      case 'tls':
        return this.saveTls(f.report, f.auth);
      case 'failure':
        return this.saveFailure(f.report, f.auth);
    }
  }

  /** The same id already stored: decide between duplicate, upgrade, replacement and conflict. */
  private settle(kind: 'aggregate' | 'tls', table: string, existing: { id: number; sha256: string; authenticated: number }, r: { org: string; reportId: string }, domain: string, digest: string, auth: ReportAuth): { outcome: SaveOutcome; note?: string; replace: boolean } {
    const key = `${r.org} ${r.reportId}`;
    if (existing.sha256 === digest) {
      if (auth.authenticated && !existing.authenticated) {
        this.st(`UPDATE ${table} SET dkim = ?, dkim_domain = ?, authenticated = 1, source = ? WHERE id = ?`).run(auth.dkim, auth.domain ?? null, auth.source, existing.id);
        return { outcome: 'auth-upgraded', note: `${key}: already stored unauthenticated; this copy is DKIM-authenticated (d=${auth.domain}), so the stored report is now marked authenticated`, replace: false };
      }
      return { outcome: 'duplicate', replace: false };
    }
    const replace = auth.authenticated && !existing.authenticated;
    const outcome = replace ? 'replaced' : 'kept';
    this.st('INSERT INTO report_conflicts (kind, org_key, report_id, domain, outcome, kept_sha256, offered_sha256, offered_dkim, offered_dkim_domain, offered_authenticated, source, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      kind, orgKey(r.org), r.reportId, domain, outcome, replace ? digest : existing.sha256, digest, auth.dkim, auth.domain ?? null, auth.authenticated ? 1 : 0, auth.source, this.now,
    );
    if (replace) return { outcome: 'replaced', note: `${key}: a DKIM-authenticated copy (d=${auth.domain}) with different content replaced the unauthenticated one stored before`, replace: true };
    const why = existing.authenticated ? 'the stored copy is DKIM-authenticated, so it is kept' : auth.authenticated ? 'kept' : 'neither copy is authenticated, so the first one stored is kept';
    return { outcome: 'conflict', note: `${key}: a second report with the same id but different content was refused (${why}); recorded as a conflict`, replace: false };
  }

  private saveAggregate(r: AggregateReport, auth: ReportAuth): SaveResult {
    // one serialisation: stored as the records' detail, and hashed (with the metadata) to tell copies apart
    const detail = JSON.stringify(r.records.map((x) => ({ dkim: x.dkim, spf: x.spf, ...(x.reasons.length ? { reasons: x.reasons } : {}), ...(x.envelopeTo ? { envelopeTo: x.envelopeTo } : {}) })));
    const { records, warnings: _w, ...meta } = r;
    const digest = sha([{ ...meta, org: orgKey(r.org) }, records.map((x) => [x.sourceIp, x.count, x.disposition, x.dkimAligned, x.spfAligned, x.headerFrom, x.envelopeFrom ?? null]), detail]);
    const base = { kind: 'aggregate' as const, key: `${r.org} ${r.reportId}`, domain: r.policy.domain };
    const existing = this.st('SELECT id, sha256, authenticated FROM dmarc_reports WHERE org_key = ? AND report_id = ?').get(orgKey(r.org), r.reportId) as { id: number; sha256: string; authenticated: number } | undefined;
    if (existing) {
      const s = this.settle('aggregate', 'dmarc_reports', existing, r, r.policy.domain, digest, auth);
      if (!s.replace) return { ...base, outcome: s.outcome, ...(s.note ? { note: s.note } : {}) };
      this.st('DELETE FROM dmarc_records WHERE report = ?').run(existing.id);
      this.st('DELETE FROM dmarc_reports WHERE id = ?').run(existing.id);
      this.insertAggregate(r, auth, digest, detail);
      return { ...base, outcome: 'replaced', note: s.note! };
    }
    this.insertAggregate(r, auth, digest, detail);
    return { ...base, outcome: 'imported' };
  }

  private insertAggregate(r: AggregateReport, auth: ReportAuth, digest: string, detail: string): void {
    const t = { messages: 0, spfPass: 0, spfAligned: 0, dkimPass: 0, dkimAligned: 0, dmarcPass: 0 };
    const disp: Record<string, number> = {};
    for (const x of r.records) {
      t.messages += x.count;
      if (x.spfPass) t.spfPass += x.count;
      if (x.spfAligned) t.spfAligned += x.count;
      if (x.dkimPass) t.dkimPass += x.count;
      if (x.dkimAligned) t.dkimAligned += x.count;
      if (x.spfAligned || x.dkimAligned) t.dmarcPass += x.count;
      disp[x.disposition] = (disp[x.disposition] ?? 0) + x.count;
    }
    const res = this.st('INSERT INTO dmarc_reports (org_key, org, report_id, domain, begin_ts, end_ts, email, schema, policy, errors, warnings, records_detail, records, messages, spf_pass, spf_aligned, dkim_pass, dkim_aligned, dmarc_pass, dispositions, sha256, dkim, dkim_domain, authenticated, source, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      orgKey(r.org), r.org, r.reportId, r.policy.domain, r.begin, r.end, r.email ?? null, r.schema, JSON.stringify(r.policy), r.errors.length ? JSON.stringify(r.errors) : null, r.warnings.length ? JSON.stringify(r.warnings) : null,
      detail, r.records.length, t.messages, t.spfPass, t.spfAligned, t.dkimPass, t.dkimAligned, t.dmarcPass, JSON.stringify(disp), digest, auth.dkim, auth.domain ?? null, auth.authenticated ? 1 : 0, auth.source, this.now,
    );
    const id = Number(res.lastInsertRowid);
    // many rows a statement: one step of SQLite's VM per record instead of one statement each
    const cols = '(report, domain, begin_ts, end_ts, reporter, source_ip, count, disposition, spf_pass, spf_aligned, dkim_pass, dkim_aligned, dmarc_pass, d_none, d_quarantine, d_reject, d_pass, header_from, envelope_from)';
    const one = `(${new Array(19).fill('?').join(', ')})`;
    for (let i = 0; i < r.records.length; i += ROWS_PER_INSERT) {
      const chunk = r.records.slice(i, i + ROWS_PER_INSERT);
      const args: (string | number | null)[] = [];
      for (const x of chunk) {
        const n = x.count;
        const d = x.disposition;
        args.push(id, r.policy.domain, r.begin, r.end, r.org, x.sourceIp, n, d, x.spfPass ? n : 0, x.spfAligned ? n : 0, x.dkimPass ? n : 0, x.dkimAligned ? n : 0, x.spfAligned || x.dkimAligned ? n : 0, d === 'none' ? n : 0, d === 'quarantine' ? n : 0, d === 'reject' ? n : 0, d === 'pass' ? n : 0, x.headerFrom, x.envelopeFrom ?? null);
      }
      this.st(`INSERT INTO dmarc_records ${cols} VALUES ${new Array(chunk.length).fill(one).join(', ')}`).run(...args);
    }
  }

  private saveTls(r: TlsReport, auth: ReportAuth): SaveResult {
    // the org as the key folds it: "Mail Co" and "MAIL CO" are one reporter
    const digest = sha({ ...r, org: orgKey(r.org), warnings: undefined });
    const domain = r.policies[0]?.policyDomain ?? '';
    const base = { kind: 'tls' as const, key: `${r.org} ${r.reportId}`, domain };
    const existing = this.st('SELECT id, sha256, authenticated FROM tls_reports WHERE org_key = ? AND report_id = ?').get(orgKey(r.org), r.reportId) as { id: number; sha256: string; authenticated: number } | undefined;
    if (existing) {
      const s = this.settle('tls', 'tls_reports', existing, r, domain, digest, auth);
      if (!s.replace) return { ...base, outcome: s.outcome, ...(s.note ? { note: s.note } : {}) };
      for (const t of ['tls_policies', 'tls_failures']) this.st(`DELETE FROM ${t} WHERE report = ?`).run(existing.id);
      this.st('DELETE FROM tls_reports WHERE id = ?').run(existing.id);
      this.insertTls(r, auth, digest);
      return { ...base, outcome: 'replaced', note: s.note! };
    }
    this.insertTls(r, auth, digest);
    return { ...base, outcome: 'imported' };
  }

  private insertTls(r: TlsReport, auth: ReportAuth, digest: string): void {
    const res = this.st('INSERT INTO tls_reports (org_key, org, report_id, begin_ts, end_ts, contact, sha256, dkim, dkim_domain, authenticated, source, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      orgKey(r.org), r.org, r.reportId, r.begin, r.end, r.contactInfo ?? null, digest, auth.dkim, auth.domain ?? null, auth.authenticated ? 1 : 0, auth.source, this.now,
    );
    const id = Number(res.lastInsertRowid);
    for (const p of r.policies) {
      this.st('INSERT INTO tls_policies (report, policy_domain, begin_ts, end_ts, org, policy_type, mx_host, successful, failed, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        id, p.policyDomain, r.begin, r.end, r.org, p.policyType, p.mxHost?.join(' ') ?? null, p.successful, p.failed, JSON.stringify({ policyString: p.policyString ?? [] }),
      );
      for (const d of p.failureDetails) {
        this.st('INSERT INTO tls_failures (report, policy_domain, begin_ts, end_ts, org, policy_type, result_type, sending_mta_ip, receiving_mx, receiving_ip, failed, reason_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
          id, p.policyDomain, r.begin, r.end, r.org, p.policyType, d.resultType, d.sendingMtaIp ?? null, d.receivingMxHostname ?? null, d.receivingIp ?? null, d.failedSessionCount, d.failureReasonCode ?? null,
        );
      }
    }
  }

  private saveFailure(r: FailureReport, auth: ReportAuth): SaveResult {
    const base = { kind: 'failure' as const, key: r.dedupeKey, domain: r.domain };
    const existing = this.st('SELECT id, authenticated FROM failure_reports WHERE dedupe_key = ?').get(r.dedupeKey) as { id: number; authenticated: number } | undefined;
    if (existing) {
      if (auth.authenticated && !existing.authenticated) {
        this.st('UPDATE failure_reports SET dkim = ?, dkim_domain = ?, authenticated = 1, source = ? WHERE id = ?').run(auth.dkim, auth.domain ?? null, auth.source, existing.id);
        return { ...base, outcome: 'auth-upgraded', note: `failure report from ${r.reporter} about ${r.domain}: already stored unauthenticated; this copy is DKIM-authenticated (d=${auth.domain})` };
      }
      return { ...base, outcome: 'duplicate' };
    }
    const t = r.arrival ? Math.floor(Date.parse(r.arrival) / 1000) : null;
    const { kind: _k, dedupeKey: _d, warnings, ...detail } = r;
    this.st('INSERT INTO failure_reports (dedupe_key, format, domain, reporter, source_ip, arrival, arrival_ts, auth_failure, delivery_result, original_mail_from, original_rcpt_to, message_id, subject, detail, dkim, dkim_domain, authenticated, source, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      r.dedupeKey, r.format, r.domain, r.reporter, r.sourceIp ?? null, r.arrival ?? null, t, r.authFailure ?? null, r.deliveryResult ?? null, r.originalMailFrom ?? null, r.originalRcptTo ?? null, r.messageId ?? null, r.subject ?? null,
      JSON.stringify({ ...detail, ...(warnings.length ? { warnings } : {}) }), auth.dkim, auth.domain ?? null, auth.authenticated ? 1 : 0, auth.source, this.now,
    );
    return { ...base, outcome: 'imported' };
  }

  /** Are any aggregate reports about the domain stored (of any date)? */
  hasAggregateFor(domain: string): boolean {
    return this.hasTables && Boolean(this.st('SELECT 1 AS x FROM dmarc_reports WHERE domain = ? LIMIT 1').get(domain));
  }

  /** Source IPs of the aggregate reports that have no PTR/service entry yet. */
  unresolvedIps(limit: number): string[] {
    return (this.st('SELECT DISTINCT r.source_ip AS ip FROM dmarc_records r LEFT JOIN ip_info i ON i.ip = r.source_ip WHERE i.ip IS NULL LIMIT ?').all(limit) as { ip: string }[]).map((x) => x.ip);
  }

  /** The distinct source IPs of a domain's aggregate reports (the covering index's order). */
  domainIps(domain: string): string[] {
    return (this.st('SELECT DISTINCT source_ip AS ip FROM dmarc_records INDEXED BY dmarc_records_show WHERE domain = ?').all(domain) as { ip: string }[]).map((x) => x.ip);
  }

  /** Replace what the domain's SPF record authorizes (a new walk supersedes the old one). */
  saveSpfSources(domain: string, found: { ip: string; via: string }[]): void {
    this.st('DELETE FROM spf_sources WHERE domain = ?').run(domain);
    const at = new Date().toISOString();
    for (const f of found) this.st('INSERT OR REPLACE INTO spf_sources (domain, ip, via, checked_at) VALUES (?, ?, ?, ?)').run(domain, f.ip, f.via, at);
  }

  saveIpInfo(ip: string, info: { ptr?: string; service?: string; status: string }): void {
    this.st('INSERT OR REPLACE INTO ip_info (ip, ptr, service, status, resolved_at) VALUES (?, ?, ?, ?, ?)').run(ip, info.ptr ?? null, info.service ?? null, info.status, new Date().toISOString());
  }
}
