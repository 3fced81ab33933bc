// The reports' tables in the history database. Each migration runs once, in
// order, inside HistoryStore.open's transaction; PRAGMA user_version records
// how far a database has come, so a database made before reports existed gains
// the tables the first time a newer inboxlens opens it for writing, and one
// opened read-only without them simply holds no reports.
import type { DatabaseSync } from 'node:sqlite';

/** user_version of a database that has the runs table only (inboxlens before reports). */
export const BASE_VERSION = 1;

export const MIGRATIONS: string[] = [
  // 2: DMARC aggregate, failure and TLS reports; the PTR/service cache
  `
  CREATE TABLE IF NOT EXISTS dmarc_reports (
    id INTEGER PRIMARY KEY,
    org_key TEXT NOT NULL,
    org TEXT NOT NULL,
    report_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    begin_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    email TEXT,
    schema TEXT NOT NULL,
    policy TEXT NOT NULL,
    errors TEXT,
    warnings TEXT,
    -- each record's auth_results, reasons and envelope_to, in record order (JSON array)
    records_detail TEXT NOT NULL,
    records INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    -- the report's totals (messages), so per-reporter and domain totals read this table, not the rows
    spf_pass INTEGER NOT NULL,
    spf_aligned INTEGER NOT NULL,
    dkim_pass INTEGER NOT NULL,
    dkim_aligned INTEGER NOT NULL,
    dmarc_pass INTEGER NOT NULL,
    dispositions TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    dkim TEXT NOT NULL,
    dkim_domain TEXT,
    authenticated INTEGER NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    UNIQUE (org_key, report_id)
  );
  CREATE INDEX IF NOT EXISTS dmarc_reports_domain ON dmarc_reports (domain, begin_ts);
  -- one row per report record; the pass/aligned/disposition columns hold message counts (count
  -- when the record passed, else 0), so reports show adds columns instead of evaluating
  -- expressions for each of a million rows
  CREATE TABLE IF NOT EXISTS dmarc_records (
    report INTEGER NOT NULL,
    domain TEXT NOT NULL,
    begin_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    reporter TEXT NOT NULL,
    source_ip TEXT NOT NULL,
    count INTEGER NOT NULL,
    disposition TEXT NOT NULL,
    spf_pass INTEGER NOT NULL,
    spf_aligned INTEGER NOT NULL,
    dkim_pass INTEGER NOT NULL,
    dkim_aligned INTEGER NOT NULL,
    dmarc_pass INTEGER NOT NULL,
    d_none INTEGER NOT NULL,
    d_quarantine INTEGER NOT NULL,
    d_reject INTEGER NOT NULL,
    d_pass INTEGER NOT NULL,
    header_from TEXT NOT NULL,
    envelope_from TEXT
  );
  -- covering index for reports show: the domain, then the grouping in order (no sort), then
  -- the window and every column summed, so the query never touches the table
  CREATE INDEX IF NOT EXISTS dmarc_records_show ON dmarc_records (domain, source_ip, reporter, begin_ts, end_ts, count, spf_pass, spf_aligned, dkim_pass, dkim_aligned, dmarc_pass, d_none, d_quarantine, d_reject, d_pass);
  CREATE INDEX IF NOT EXISTS dmarc_records_report ON dmarc_records (report);
  CREATE TABLE IF NOT EXISTS report_conflicts (
    kind TEXT NOT NULL,
    org_key TEXT NOT NULL,
    report_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    outcome TEXT NOT NULL,
    kept_sha256 TEXT NOT NULL,
    offered_sha256 TEXT NOT NULL,
    offered_dkim TEXT NOT NULL,
    offered_dkim_domain TEXT,
    offered_authenticated INTEGER NOT NULL,
    source TEXT NOT NULL,
    seen_at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS report_conflicts_domain ON report_conflicts (domain, seen_at);
  CREATE TABLE IF NOT EXISTS failure_reports (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    format TEXT NOT NULL,
    domain TEXT NOT NULL,
    reporter TEXT NOT NULL,
    source_ip TEXT,
    arrival TEXT,
    arrival_ts INTEGER,
    auth_failure TEXT,
    delivery_result TEXT,
    original_mail_from TEXT,
    original_rcpt_to TEXT,
    message_id TEXT,
    subject TEXT,
    detail TEXT NOT NULL,
    dkim TEXT NOT NULL,
    dkim_domain TEXT,
    authenticated INTEGER NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS failure_reports_domain ON failure_reports (domain, arrival_ts);
  CREATE TABLE IF NOT EXISTS tls_reports (
    id INTEGER PRIMARY KEY,
    org_key TEXT NOT NULL,
    org TEXT NOT NULL,
    report_id TEXT NOT NULL,
    begin_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    contact TEXT,
    sha256 TEXT NOT NULL,
    dkim TEXT NOT NULL,
    dkim_domain TEXT,
    authenticated INTEGER NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    UNIQUE (org_key, report_id)
  );
  CREATE TABLE IF NOT EXISTS tls_policies (
    report INTEGER NOT NULL,
    policy_domain TEXT NOT NULL,
    begin_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    org TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    mx_host TEXT,
    successful INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    detail TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS tls_policies_domain ON tls_policies (policy_domain, begin_ts);
  CREATE INDEX IF NOT EXISTS tls_policies_report ON tls_policies (report);
  CREATE TABLE IF NOT EXISTS tls_failures (
    report INTEGER NOT NULL,
    policy_domain TEXT NOT NULL,
    begin_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    org TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    result_type TEXT NOT NULL,
    sending_mta_ip TEXT,
    receiving_mx TEXT,
    receiving_ip TEXT,
    failed INTEGER NOT NULL,
    reason_code TEXT
  );
  CREATE INDEX IF NOT EXISTS tls_failures_domain ON tls_failures (policy_domain, begin_ts);
  CREATE INDEX IF NOT EXISTS tls_failures_report ON tls_failures (report);
  -- source IPs the domain's own SPF record authorizes (via: the record that holds the range: the
  -- domain itself, or an include such as _spf.google.com), as of checked_at
  CREATE TABLE IF NOT EXISTS spf_sources (
    domain TEXT NOT NULL,
    ip TEXT NOT NULL,
    via TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    PRIMARY KEY (domain, ip)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS ip_info (
    ip TEXT PRIMARY KEY,
    ptr TEXT,
    service TEXT,
    status TEXT NOT NULL,
    resolved_at TEXT NOT NULL
  );
  `,
  // 3: the per-source totals of each domain over all its reports (reports show without a window
  // reads these, a row per source and reporter, instead of every record), kept by triggers on
  // dmarc_records — so whatever writes the records, this inboxlens or an older one, keeps them
  // right — and rebuilt from the records here (run again, it rebuilds: idempotent). A record's
  // row is updated as it is written, except inside a bulk write (an import's transaction): there
  // the records of reports from dmarc_sources_pending.from_report on are added up once, in key
  // order, before the commit (flushSourceTotals) — one random B-tree update per record costs
  // more than the rest of the import's writes together
  `
  DROP TRIGGER IF EXISTS dmarc_sources_insert;
  DROP TRIGGER IF EXISTS dmarc_sources_delete;
  DROP TRIGGER IF EXISTS dmarc_sources_update;
  DROP TABLE IF EXISTS dmarc_sources;
  DROP TABLE IF EXISTS dmarc_sources_pending;
  CREATE TABLE dmarc_sources (
    domain TEXT NOT NULL,
    source_ip TEXT NOT NULL,
    reporter TEXT NOT NULL,
    -- the records added up here (the row goes when the last one is deleted)
    rows INTEGER NOT NULL,
    count INTEGER NOT NULL,
    spf_pass INTEGER NOT NULL,
    spf_aligned INTEGER NOT NULL,
    dkim_pass INTEGER NOT NULL,
    dkim_aligned INTEGER NOT NULL,
    dmarc_pass INTEGER NOT NULL,
    d_none INTEGER NOT NULL,
    d_quarantine INTEGER NOT NULL,
    d_reject INTEGER NOT NULL,
    d_pass INTEGER NOT NULL,
    PRIMARY KEY (domain, source_ip, reporter)
  ) WITHOUT ROWID;
  -- a row only inside a bulk write's transaction (never committed): records of reports from this id on are added at its end
  CREATE TABLE dmarc_sources_pending (from_report INTEGER NOT NULL);
  INSERT INTO dmarc_sources (domain, source_ip, reporter, rows, count, spf_pass, spf_aligned, dkim_pass, dkim_aligned, dmarc_pass, d_none, d_quarantine, d_reject, d_pass)
    SELECT domain, source_ip, reporter, count(*), sum(count), sum(spf_pass), sum(spf_aligned), sum(dkim_pass), sum(dkim_aligned), sum(dmarc_pass), sum(d_none), sum(d_quarantine), sum(d_reject), sum(d_pass) FROM dmarc_records INDEXED BY dmarc_records_show GROUP BY domain, source_ip, reporter;
  CREATE TRIGGER dmarc_sources_insert AFTER INSERT ON dmarc_records WHEN NOT EXISTS (SELECT 1 FROM dmarc_sources_pending WHERE NEW.report >= from_report) BEGIN
    INSERT INTO dmarc_sources (domain, source_ip, reporter, rows, count, spf_pass, spf_aligned, dkim_pass, dkim_aligned, dmarc_pass, d_none, d_quarantine, d_reject, d_pass) VALUES (NEW.domain, NEW.source_ip, NEW.reporter, 1, NEW.count, NEW.spf_pass, NEW.spf_aligned, NEW.dkim_pass, NEW.dkim_aligned, NEW.dmarc_pass, NEW.d_none, NEW.d_quarantine, NEW.d_reject, NEW.d_pass)
      ON CONFLICT (domain, source_ip, reporter) DO UPDATE SET rows = rows + 1, count = count + excluded.count, spf_pass = spf_pass + excluded.spf_pass, spf_aligned = spf_aligned + excluded.spf_aligned, dkim_pass = dkim_pass + excluded.dkim_pass, dkim_aligned = dkim_aligned + excluded.dkim_aligned, dmarc_pass = dmarc_pass + excluded.dmarc_pass, d_none = d_none + excluded.d_none, d_quarantine = d_quarantine + excluded.d_quarantine, d_reject = d_reject + excluded.d_reject, d_pass = d_pass + excluded.d_pass;
  END;
  CREATE TRIGGER dmarc_sources_delete AFTER DELETE ON dmarc_records WHEN NOT EXISTS (SELECT 1 FROM dmarc_sources_pending WHERE OLD.report >= from_report) BEGIN
    UPDATE dmarc_sources SET rows = rows - 1, count = count - OLD.count, spf_pass = spf_pass - OLD.spf_pass, spf_aligned = spf_aligned - OLD.spf_aligned, dkim_pass = dkim_pass - OLD.dkim_pass, dkim_aligned = dkim_aligned - OLD.dkim_aligned, dmarc_pass = dmarc_pass - OLD.dmarc_pass, d_none = d_none - OLD.d_none, d_quarantine = d_quarantine - OLD.d_quarantine, d_reject = d_reject - OLD.d_reject, d_pass = d_pass - OLD.d_pass WHERE domain = OLD.domain AND source_ip = OLD.source_ip AND reporter = OLD.reporter;
    DELETE FROM dmarc_sources WHERE domain = OLD.domain AND source_ip = OLD.source_ip AND reporter = OLD.reporter AND rows <= 0;
  END;
  CREATE TRIGGER dmarc_sources_update AFTER UPDATE ON dmarc_records BEGIN
    UPDATE dmarc_sources SET rows = rows - 1, count = count - OLD.count, spf_pass = spf_pass - OLD.spf_pass, spf_aligned = spf_aligned - OLD.spf_aligned, dkim_pass = dkim_pass - OLD.dkim_pass, dkim_aligned = dkim_aligned - OLD.dkim_aligned, dmarc_pass = dmarc_pass - OLD.dmarc_pass, d_none = d_none - OLD.d_none, d_quarantine = d_quarantine - OLD.d_quarantine, d_reject = d_reject - OLD.d_reject, d_pass = d_pass - OLD.d_pass WHERE domain = OLD.domain AND source_ip = OLD.source_ip AND reporter = OLD.reporter AND NOT EXISTS (SELECT 1 FROM dmarc_sources_pending WHERE OLD.report >= from_report);
    DELETE FROM dmarc_sources WHERE domain = OLD.domain AND source_ip = OLD.source_ip AND reporter = OLD.reporter AND rows <= 0;
    INSERT INTO dmarc_sources (domain, source_ip, reporter, rows, count, spf_pass, spf_aligned, dkim_pass, dkim_aligned, dmarc_pass, d_none, d_quarantine, d_reject, d_pass) SELECT NEW.domain, NEW.source_ip, NEW.reporter, 1, NEW.count, NEW.spf_pass, NEW.spf_aligned, NEW.dkim_pass, NEW.dkim_aligned, NEW.dmarc_pass, NEW.d_none, NEW.d_quarantine, NEW.d_reject, NEW.d_pass WHERE NOT EXISTS (SELECT 1 FROM dmarc_sources_pending WHERE NEW.report >= from_report)
      ON CONFLICT (domain, source_ip, reporter) DO UPDATE SET rows = rows + 1, count = count + excluded.count, spf_pass = spf_pass + excluded.spf_pass, spf_aligned = spf_aligned + excluded.spf_aligned, dkim_pass = dkim_pass + excluded.dkim_pass, dkim_aligned = dkim_aligned + excluded.dkim_aligned, dmarc_pass = dmarc_pass + excluded.dmarc_pass, d_none = d_none + excluded.d_none, d_quarantine = d_quarantine + excluded.d_quarantine, d_reject = d_reject + excluded.d_reject, d_pass = d_pass + excluded.d_pass;
  END;
  `,
];

/** The user_version a fully migrated database has. */
export const SCHEMA_VERSION = BASE_VERSION + MIGRATIONS.length;

/** Run the migrations a database has not had yet (the caller holds the write transaction). */
export function migrate(db: DatabaseSync): void {
  const v = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  // a database newer than this inboxlens: leave its schema alone (its tables are a superset)
  if (v >= SCHEMA_VERSION) return;
  for (let i = Math.max(0, v - BASE_VERSION); i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]!);
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
}

/**
 * Start a bulk write of aggregate records (inside the caller's transaction): the per-source
 * totals of the records written from here on are added up by flushSourceTotals, before the commit.
 */
export function beginSourceTotals(db: DatabaseSync): void {
  db.exec('DELETE FROM dmarc_sources_pending; INSERT INTO dmarc_sources_pending SELECT coalesce(max(id), 0) + 1 FROM dmarc_reports');
}

/** Add up the records written since beginSourceTotals, in key order, and end the bulk write. */
export function flushSourceTotals(db: DatabaseSync): void {
  const from = db.prepare('SELECT from_report AS f FROM dmarc_sources_pending').get() as { f: number } | undefined;
  if (!from) return;
  db.prepare(`INSERT INTO dmarc_sources (domain, source_ip, reporter, rows, count, spf_pass, spf_aligned, dkim_pass, dkim_aligned, dmarc_pass, d_none, d_quarantine, d_reject, d_pass)
    SELECT domain, source_ip, reporter, count(*), sum(count), sum(spf_pass), sum(spf_aligned), sum(dkim_pass), sum(dkim_aligned), sum(dmarc_pass), sum(d_none), sum(d_quarantine), sum(d_reject), sum(d_pass) FROM dmarc_records INDEXED BY dmarc_records_report WHERE report >= ? GROUP BY domain, source_ip, reporter ORDER BY domain, source_ip, reporter
    ON CONFLICT (domain, source_ip, reporter) DO UPDATE SET rows = rows + excluded.rows, count = count + excluded.count, spf_pass = spf_pass + excluded.spf_pass, spf_aligned = spf_aligned + excluded.spf_aligned, dkim_pass = dkim_pass + excluded.dkim_pass, dkim_aligned = dkim_aligned + excluded.dkim_aligned, dmarc_pass = dmarc_pass + excluded.dmarc_pass, d_none = d_none + excluded.d_none, d_quarantine = d_quarantine + excluded.d_quarantine, d_reject = d_reject + excluded.d_reject, d_pass = d_pass + excluded.d_pass`).run(from.f);
  db.exec('DELETE FROM dmarc_sources_pending');
}

/** Does a database (perhaps opened read-only, perhaps older) have the per-source totals (migration 3)? */
export function hasSourceTotals(db: DatabaseSync): boolean {
  return Boolean(db.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'dmarc_sources'").get());
}

/** Does a database (perhaps opened read-only, perhaps older) have the reports tables? */
export function hasReportTables(db: DatabaseSync): boolean {
  return Boolean(db.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'dmarc_records'").get());
}
